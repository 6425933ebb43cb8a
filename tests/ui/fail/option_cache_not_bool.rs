use mlflow::prelude::*;

#[step(cache = "no")]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
