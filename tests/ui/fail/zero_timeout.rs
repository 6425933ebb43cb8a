use mlflow::prelude::*;

#[step(timeout = "0s")]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
