use mlflow::prelude::*;

#[step(retries = -1)]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
