// `collect` gathers nodes of one type: a `Node<String>` among `Node<u32>`s does not compile.
use mlflow::prelude::*;

fn main() {
    let mut p = Pipeline::new("mixed");
    let a = p.param("a", 1u32);
    let b = p.param("b", String::from("two"));
    let _all = p.collect([a, b]);
}
