use mlflow::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct Trial {
    depth: u32,
}

#[step]
fn fit(trial: &Trial) -> u32 {
    trial.depth
}

fn main() {
    let mut p = Pipeline::new("ui");
    let trials = p.param("trials", vec![Trial { depth: 2 }]);
    p.map(FitStep, trials);
}
