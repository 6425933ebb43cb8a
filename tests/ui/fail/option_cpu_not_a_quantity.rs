use mlflow::prelude::*;

#[step(cpu = "lots")]
fn train(rows: &Vec<f64>) -> f64 {
    rows.iter().sum()
}

fn main() {
    let _ = TrainStep;
}
