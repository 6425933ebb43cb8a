use mlflow::prelude::*;

struct Config {
    depth: usize,
}

#[step]
fn train(rows: &Vec<f64>, config: &Config) -> usize {
    rows.len() * config.depth
}

fn main() {
    let _ = TrainStep;
}
