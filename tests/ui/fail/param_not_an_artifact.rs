use mlflow::prelude::*;

struct Config {
    depth: usize,
}

fn main() {
    let mut p = Pipeline::new("ui");
    p.param("config", Config { depth: 3 });
}
