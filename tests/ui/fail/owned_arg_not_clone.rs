use mlflow::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct Rows(Vec<f64>);

#[step]
fn consume(rows: Rows) -> usize {
    rows.0.len()
}

fn main() {
    let _ = ConsumeStep;
}
