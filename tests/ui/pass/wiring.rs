use mlflow::prelude::*;

#[step]
fn constant() -> u32 {
    42
}

#[step]
fn double(x: &u32) -> u64 {
    *x as u64 * 2
}

#[step]
fn join(a: &u32, b: &u64, label: String) -> String {
    format!("{label}: {a} {b}")
}

fn main() {
    let mut p = Pipeline::new("ui");
    let c = p.step(ConstantStep, ());
    let d = p.step(DoubleStep, c);
    let d1 = p.step(DoubleStep, (c,));
    let label = p.param("label", "values".to_string());
    let j: Node<String> = p.step(JoinStep, (c, d, label));
    let _ = (d1, j);
}
