use mlflow::prelude::*;

#[step]
fn greet(name: &str) -> String {
    format!("hello {name}")
}

fn main() {
    let mut p = Pipeline::new("ui");
    let name = p.param("name", "world".to_string());
    p.step(GreetStep, name);
}
