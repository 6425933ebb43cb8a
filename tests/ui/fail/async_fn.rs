use mlflow::prelude::*;

#[step]
async fn fetch(url: &String) -> String {
    url.clone()
}

fn main() {
    let _ = fetch;
}
