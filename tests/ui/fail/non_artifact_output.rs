use mlflow::prelude::*;

struct Model {
    weights: Vec<f64>,
}

#[step]
fn train(rows: &Vec<f64>) -> Model {
    Model { weights: rows.clone() }
}

fn main() {
    let _ = TrainStep;
}
