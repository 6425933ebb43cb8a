use mlflow::prelude::*;

#[step]
fn shout(text: &String) -> String {
    text.to_uppercase()
}

fn main() {
    let mut p = Pipeline::new("ui");
    let n = p.param("n", 3u32);
    p.step(ShoutStep, n);
}
