use mlflow::prelude::*;

#[helper]
fn normalize(x: f64) -> f64 {
    x / 2.0
}

#[step(deps = normalize)]
fn features(xs: &Vec<f64>) -> Vec<f64> {
    xs.iter().map(|&x| normalize(x)).collect()
}

fn main() {
    let _ = FeaturesStep;
}
