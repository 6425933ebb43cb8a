//! Quickstart: a small pipeline with a param, a fan-out into two parallel branches and a fan-in.
//!
//! ```sh
//! cargo run --release --example quickstart   # first run: every step runs
//! cargo run --release --example quickstart   # second run: every step is cached
//! ```
//!
//! The store is `./.mlflow` (or `$MLFLOW_HOME`). Edit a step's body, or the `samples` param, and
//! run again: only what depends on the change reruns.

use mlflow::prelude::*;
use serde::{Deserialize, Serialize};

/// Summary statistics of a sample.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Moments {
    mean: f64,
    std_dev: f64,
}

/// Generates `n` pseudo-random draws from a fixed-seed xorshift generator, roughly normal.
#[step]
fn generate(n: &usize) -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    // The sum of 12 uniforms minus 6 is approximately standard normal.
    (0..*n).map(|_| (0..12).map(|_| uniform()).sum::<f64>() - 6.0).collect()
}

/// Mean and standard deviation (one branch).
#[step]
fn moments(xs: &Vec<f64>) -> Moments {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Moments { mean, std_dev: var.sqrt() }
}

/// Counts per unit-wide bin from -4 to 4 (the other branch).
#[step]
fn histogram(xs: &Vec<f64>) -> Vec<usize> {
    let mut bins = vec![0; 8];
    for x in xs {
        let bin = (x + 4.0).floor();
        if (0.0..8.0).contains(&bin) {
            bins[bin as usize] += 1;
        }
    }
    bins
}

/// Joins both branches into a report.
#[step]
fn summarize(m: &Moments, bins: &Vec<usize>) -> String {
    let peak = bins.iter().enumerate().max_by_key(|(_, c)| **c).map(|(i, _)| i as i64 - 4).unwrap_or(0);
    format!("mean {:+.4}, std dev {:.4}, fullest bin [{peak}, {})", m.mean, m.std_dev, peak + 1)
}

fn main() -> mlflow::Result<()> {
    let store = Store::open_default()?;
    let mut p = Pipeline::new("quickstart");
    let samples = p.param("samples", 2_000_000usize);
    let xs = p.step(GenerateStep, samples);
    let m = p.step(MomentsStep, xs); // fan-out: both branches read the same Arc'd samples
    let h = p.step(HistogramStep, xs);
    let summary = p.step(SummarizeStep, (m, h)); // fan-in

    let report =
        p.run_with(&store, mlflow::exec::RunOptions::new().observe(mlflow::progress::Progress::stderr()))?;
    match report.get(summary) {
        Ok(text) => println!("summary: {text}"),
        Err(e) => eprintln!("{e}"),
    }
    println!("{report}");
    Ok(())
}
