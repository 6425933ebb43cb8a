use mlflow::prelude::*;

#[step]
fn total(xs: &[f64]) -> f64 {
    xs.iter().sum()
}

fn main() {
    let mut p = Pipeline::new("ui");
    let xs = p.param("xs", vec![1.0, 2.0]);
    p.step(TotalStep, xs);
}
