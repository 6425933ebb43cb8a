use mlflow::prelude::*;

#[step(retry = 3)]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
