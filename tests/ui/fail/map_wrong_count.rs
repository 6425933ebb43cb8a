use mlflow::prelude::*;

#[step]
fn power(x: &u64, exponent: &u32) -> u64 {
    x.pow(*exponent)
}

fn main() {
    let mut p = Pipeline::new("ui");
    let xs = p.param("xs", vec![1u64, 2]);
    let two = p.param("two", 2u32);
    p.map(PowerStep, (xs, two, two));
}
