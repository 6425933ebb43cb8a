use mlflow::prelude::*;

struct Model;

impl Model {
    #[step]
    fn predict(&self, x: &f64) -> f64 {
        *x
    }
}

fn main() {
    let _ = Model.predict(&1.0);
}
