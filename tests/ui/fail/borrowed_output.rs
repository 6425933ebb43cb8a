use mlflow::prelude::*;

#[step]
fn first_word(text: &String) -> &str {
    text.split(' ').next().unwrap_or("")
}

fn main() {
    let _ = first_word;
}
