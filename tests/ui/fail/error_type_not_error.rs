use mlflow::prelude::*;

struct Oops;

#[step]
fn parse(text: &String) -> Result<u32, Oops> {
    text.parse().map_err(|_| Oops)
}

fn main() {
    let _ = ParseStep;
}
