use mlflow::prelude::*;

#[step]
fn add(a: &u32, b: &u32) -> u32 {
    a + b
}

fn main() {
    let mut p = Pipeline::new("ui");
    let a = p.param("a", 1u32);
    let b = p.param("b", 2u32);
    let c = p.param("c", 3u32);
    p.step(AddStep, a);
    p.step(AddStep, (a, b, c));
    p.step(AddStep, ());
}
