use mlflow::prelude::*;

#[step]
fn total(xs: impl IntoIterator<Item = u32>) -> u32 {
    xs.into_iter().sum()
}

fn main() {
    let _ = total(vec![1u32]);
}
