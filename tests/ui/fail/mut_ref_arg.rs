use mlflow::prelude::*;

#[step]
fn shuffle(rows: &mut Vec<u32>) -> usize {
    rows.reverse();
    rows.len()
}

fn main() {
    let _ = shuffle;
}
