use mlflow::prelude::*;

#[step]
fn constant() -> u32 {
    42
}

fn main() {
    let mut p = Pipeline::new("ui");
    let x = p.param("x", 1u32);
    p.step(ConstantStep, x);
}
