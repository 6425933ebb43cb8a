use mlflow::prelude::*;

#[step]
fn first<T: Clone>(items: &Vec<T>) -> T {
    items[0].clone()
}

fn main() {
    let _ = first::<u8>;
}
