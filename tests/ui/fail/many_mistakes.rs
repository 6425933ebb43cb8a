use mlflow::prelude::*;

#[step(colour = "red", retries = 1.5, timeout = "soon", cache = true, cache = false)]
async fn train<T>(rows: &mut Vec<T>, seed: impl Into<u64>) -> impl Send {
    let _ = (rows, seed.into());
}

fn main() {}
