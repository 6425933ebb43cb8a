use mlflow::prelude::*;

#[step]
fn label(name: &String, count: &u32, scale: &f64) -> String {
    format!("{name}: {}", *count as f64 * scale)
}

fn main() {
    let mut p = Pipeline::new("ui");
    let name = p.param("name", "n".to_string());
    let count = p.param("count", 3u32);
    let scale = p.param("scale", 1.5f64);
    // Inputs 2 and 3 are swapped: only input 2 is reported.
    p.step(LabelStep, (name, scale, count));
    // Input 1 is wrong, input 3 too: only input 1 is reported.
    p.step(LabelStep, (count, count, name));
}
