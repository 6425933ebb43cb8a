use mlflow::prelude::*;

// Signature errors: only these are reported, not "cannot find `ShuffleStep`" and the like at the
// uses below. The placeholder step has the types the functions mean (`Vec<u32>` for
// `&mut Vec<u32>`, `String` for `Result<String, _>`), so wiring written for them type-checks.
#[step]
fn shuffle(rows: &mut Vec<u32>) -> usize {
    rows.reverse();
    rows.len()
}

#[step(retries = 2)]
async fn describe(n: &usize, label: &String) -> Result<String, std::io::Error> {
    Ok(format!("{label}: {n}"))
}

#[step]
fn first<T: Clone>(items: &Vec<T>) -> T {
    items[0].clone()
}

#[step]
fn shout(text: &String) -> String {
    text.to_uppercase()
}

fn main() {
    let mut p = Pipeline::new("ui");
    let rows = p.param("rows", vec![3u32, 1, 2]);
    let label = p.param("label", "rows".to_string());
    let n: Node<usize> = p.step(ShuffleStep, rows);
    let d = p.step(DescribeStep, (n, label));
    let loud: Node<String> = p.step(ShoutStep, d);
    let _ = (loud, FirstStep, ShuffleStep::NAME, <DescribeStep as Step>::OPTIONS);
}
