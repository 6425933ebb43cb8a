//! A step without inputs, and steps without an output (`()`).
#![deny(warnings)]

use mlflow::prelude::*;

#[step]
fn seed() -> u64 {
    42
}

#[step]
fn check(x: &u64) {
    assert!(*x > 0);
}

#[step]
fn nothing() -> () {}

fn main() {
    let _: <SeedStep as Step>::Inputs = ();
    assert_eq!(SeedStep.call(()).unwrap(), 42);
    let () = CheckStep.call((&1,)).unwrap();
    let () = NothingStep.call(()).unwrap();
}
