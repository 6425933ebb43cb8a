//! Every `#[step]` option at once, and the consts they produce.
#![deny(warnings)]

use std::time::Duration;

use mlflow::prelude::*;
use mlflow::step::{Resources, StepOptions};

mod helpers {
    use mlflow::prelude::*;

    #[helper]
    pub fn square(x: f64) -> f64 {
        x * x
    }
}

#[helper]
fn halve(x: f64) -> f64 {
    x / 2.0
}

#[step(
    name = "sum_of_squares",
    version = 3,
    deps = [helpers::square, halve],
    cache = false,
    retries = 2,
    backoff = "1.5s",
    timeout = "2m",
    cpu = "1500m",
    memory = "512Mi",
)]
fn sum_squares(xs: &Vec<f64>) -> f64 {
    halve(xs.iter().map(|&x| helpers::square(x)).sum())
}

#[step(backoff = "500us", timeout = "250ms", cpu = 2, memory = "1G")]
fn quick() -> u8 {
    1
}

#[step(timeout = "1h", backoff = "0s", retries = 4294967295, version = 0u32, cpu = 0.25, memory = "1.5Ki")]
fn patient() -> u8 {
    1
}

fn main() {
    assert_eq!(SumSquaresStep::NAME, "sum_of_squares");
    assert_eq!(SumSquaresStep::VERSION, 3);
    assert_eq!(
        SumSquaresStep::OPTIONS,
        StepOptions {
            cache: false,
            retries: 2,
            backoff: Duration::from_millis(1500),
            timeout: Some(Duration::from_secs(120)),
            resources: Resources { cpu_millis: Some(1500), memory_bytes: Some(512 << 20) },
        }
    );
    let deps: Vec<ContentHash> = SumSquaresStep::DEPS.iter().map(|d| d()).collect();
    assert_eq!(deps.len(), 2);
    assert_ne!(deps[0], deps[1]);
    assert_eq!(SumSquaresStep.call((&vec![1.0, 3.0],)).unwrap(), 5.0);

    assert_eq!(QuickStep::OPTIONS.backoff, Duration::from_micros(500));
    assert_eq!(QuickStep::OPTIONS.timeout, Some(Duration::from_millis(250)));
    const { assert!(QuickStep::OPTIONS.cache) };
    assert_eq!(QuickStep::NAME, "quick");
    assert_eq!(QuickStep::OPTIONS.resources, Resources { cpu_millis: Some(2000), memory_bytes: Some(1_000_000_000) });
    assert_eq!(PatientStep::OPTIONS.resources.cpu_quantity().as_deref(), Some("250m"));
    assert_eq!(PatientStep::OPTIONS.resources.memory_bytes, Some(1536));
    assert_eq!(PatientStep::OPTIONS.timeout, Some(Duration::from_secs(3600)));
    assert_eq!(PatientStep::OPTIONS.backoff, Duration::ZERO);
    assert_eq!(PatientStep::OPTIONS.retries, u32::MAX);
    assert_eq!(QuickStep.call(()).unwrap() + PatientStep.call(()).unwrap(), 2);
}
