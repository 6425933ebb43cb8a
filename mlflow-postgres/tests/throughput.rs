//! Tracking writes per second, PostgreSQL against SQLite: the median of 5 runs of one step that
//! logs N metric points (N from `MLFLOW_BENCH_METRICS`, default 10,000), and of 5 batches of 20
//! one-step runs (each run: its row, a cache entry, its record). Ignored by default:
//!
//! ```text
//! cargo test --release -p mlflow-postgres --test throughput -- --ignored --nocapture
//! ```

mod support;

use std::time::Instant;

use mlflow_core::prelude::*;
use mlflow_core::track::{TrackError, log_metric_at};

#[mlflow_macros::step(crate = mlflow_core)]
fn log_many(spec: &(u64, u64)) -> Result<u64, TrackError> {
    let (run, n) = *spec;
    for i in 0..n {
        log_metric_at("loss", i, 1.0 / (1 + i + run) as f64)?;
    }
    Ok(n)
}

#[mlflow_macros::step(crate = mlflow_core)]
fn tiny(x: &u64) -> u64 {
    x + 1
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn tracking_writes_per_second_on_each_backend() {
    let n: u64 = std::env::var("MLFLOW_BENCH_METRICS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    for ts in support::stores("throughput") {
        let store = &ts.store;
        let mut metric_rates = Vec::new();
        for rep in 0..5u64 {
            let mut p = Pipeline::new("bench");
            let spec = p.param("spec", (rep, n));
            p.step(LogManyStep, spec);
            let start = Instant::now();
            let report = p.run(store).unwrap();
            metric_rates.push(n as f64 / start.elapsed().as_secs_f64());
            assert_eq!(report.count(StepStatus::Ran), 1);
        }
        let mut run_rates = Vec::new();
        for rep in 0..5u64 {
            let start = Instant::now();
            for i in 0..20u64 {
                let mut p = Pipeline::new("tiny");
                let x = p.param("x", rep * 100 + i);
                p.step(TinyStep, x);
                p.run(store).unwrap();
            }
            run_rates.push(20.0 / start.elapsed().as_secs_f64());
        }
        println!(
            "{:?}: {:.0} metric points/s (median of 5 runs of {n}), {:.1} runs/s (median of 5 batches of 20 one-step runs)",
            ts.backend,
            median(metric_rates),
            median(run_rates)
        );
    }
}
