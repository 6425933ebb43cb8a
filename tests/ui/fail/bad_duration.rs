use mlflow::prelude::*;

#[step(backoff = "2 seconds")]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
