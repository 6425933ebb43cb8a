// A `Node<Vec<u32>>` from `collect` wired into a step that takes `&Vec<String>`.
use mlflow::prelude::*;

#[step]
fn join(words: &Vec<String>) -> String {
    words.join(" ")
}

fn main() {
    let mut p = Pipeline::new("lists");
    let a = p.param("a", 1u32);
    let b = p.param("b", 2u32);
    let all = p.collect([a, b]);
    p.step(JoinStep, all);
}
