use mlflow::prelude::*;

#[step]
fn repeat(text: &String, times: &usize) -> String {
    text.repeat(*times)
}

fn main() {
    let mut p = Pipeline::new("ui");
    let text = p.param("text", "ab".to_string());
    let times = p.param("times", 3usize);
    p.step(RepeatStep, (times, text));
}
