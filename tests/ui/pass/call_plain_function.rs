//! `#[step]` leaves the function as written: unit-test it by calling it.
#![deny(warnings)]

use mlflow::prelude::*;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub mean: f64,
    pub n: usize,
}

/// Mean of the values.
#[step(retries = 1)]
pub fn stats(xs: &Vec<f64>, label: String) -> Result<(String, Stats), String> {
    if xs.is_empty() {
        return Err(format!("{label}: no values"));
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    Ok((label, Stats { mean, n: xs.len() }))
}

mod tests_like {
    use super::*;

    pub fn stats_of_three() {
        let (label, s) = stats(&vec![1.0, 2.0, 3.0], "x".into()).unwrap();
        assert_eq!(label, "x");
        assert_eq!(s, Stats { mean: 2.0, n: 3 });
    }

    pub fn stats_of_none() {
        assert_eq!(stats(&vec![], "y".into()).unwrap_err(), "y: no values");
    }
}

fn main() {
    tests_like::stats_of_three();
    tests_like::stats_of_none();
    let _ = StatsStep;
}
