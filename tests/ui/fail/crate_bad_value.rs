use mlflow::prelude::*;

#[helper(crate = 1)]
fn offset(x: u64) -> u64 {
    x + 1
}

#[step(crate = "mlflow")]
fn shifted(x: &u64) -> u64 {
    offset(*x)
}

fn main() {
    let _ = ShiftedStep;
}
