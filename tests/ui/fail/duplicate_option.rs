use mlflow::prelude::*;

#[step(cache = false, retries = 1, cache = true)]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
