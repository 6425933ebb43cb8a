use mlflow::prelude::*;

#[step(cpu = "0.0005")]
fn train(rows: &Vec<f64>) -> f64 {
    rows.iter().sum()
}

fn main() {
    let _ = TrainStep;
}
