//! Steps returning `Result<T, E>` and one-argument `Result` aliases: the output is `T`, an `Err`
//! becomes the step's error.
#![deny(warnings)]

use std::fmt;

use mlflow::prelude::*;

#[derive(Debug)]
struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot parse {:?}", self.0)
    }
}

impl std::error::Error for ParseError {}

#[step]
fn parse(text: &String) -> Result<u64, ParseError> {
    text.trim().parse().map_err(|_| ParseError(text.clone()))
}

#[step]
fn read_len(path: &String) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

mod boxed {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

mod alias {
    pub type Result<T> = std::result::Result<T, String>;
}

#[step]
fn halve(x: &u64) -> alias::Result<u64> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(format!("{x} is odd"))
    }
}

#[step]
fn boxed(x: &u64) -> boxed::Result<u64> {
    Ok(*x)
}

fn main() {
    let _: fn() -> <ParseStep as Step>::Output = || 0u64;
    assert_eq!(ParseStep.call((&" 42 ".to_string(),)).unwrap(), 42);
    let err = ParseStep.call((&"x".to_string(),)).unwrap_err();
    assert_eq!(err.to_string(), "cannot parse \"x\"");

    let err = ReadLenStep.call((&"/definitely/not/here".to_string(),)).unwrap_err();
    assert!(err.inner().downcast_ref::<std::io::Error>().is_some());

    assert_eq!(HalveStep.call((&8,)).unwrap(), 4);
    assert_eq!(HalveStep.call((&7,)).unwrap_err().to_string(), "7 is odd");
    assert_eq!(BoxedStep.call((&5,)).unwrap(), 5);
    assert_eq!(boxed(&6).unwrap(), 6);
}
