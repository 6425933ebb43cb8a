use mlflow::prelude::*;

#[step]
struct Train {
    depth: usize,
}

fn main() {
    let _ = Train { depth: 1 }.depth;
}
