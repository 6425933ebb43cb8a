use mlflow::prelude::*;

#[step]
fn double(x: &u64) -> u64 {
    x * 2
}

fn main() {
    let mut p = Pipeline::new("ui");
    let words = p.param("words", vec![String::from("a")]);
    p.map(DoubleStep, words);
}
