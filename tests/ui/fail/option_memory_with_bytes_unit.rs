use mlflow::prelude::*;

#[step(memory = "1 GB")]
fn train(rows: &Vec<f64>) -> f64 {
    rows.iter().sum()
}

fn main() {
    let _ = TrainStep;
}
