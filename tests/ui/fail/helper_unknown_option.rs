use mlflow::prelude::*;

#[helper(version = 2)]
fn normalize(x: f64) -> f64 {
    x / 2.0
}

fn main() {
    let _ = normalize(1.0);
}
