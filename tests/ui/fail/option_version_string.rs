use mlflow::prelude::*;

#[step(version = "2")]
fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = FetchStep;
}
