//! Whether a packaged model is fit to deploy: how big it is and how fast it answers, measured in
//! the pipeline on the hold-out rows.

use std::time::{Duration, Instant};

use mlflow_macros::step;
use mlflow_ml::blocks::Prepared;
use serde::{Deserialize, Serialize};

use crate::{ModelPackage, Scorer, ServeError};

/// Size and speed of a package, as [`measure`] found them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployability {
    /// The package file's size.
    pub size_bytes: u64,
    /// Median time of one single-row prediction.
    pub latency_p50: Duration,
    /// 99th percentile of it.
    pub latency_p99: Duration,
    /// Rows scored per second in batches of the hold-out rows.
    pub batch_rows_per_sec: f64,
    /// Single-row predictions timed.
    pub samples: usize,
}

/// Single-row predictions timed by [`measure`] (after 20 untimed ones).
pub const LATENCY_SAMPLES: usize = 1000;

/// Measures `package` on the hold-out rows of `prepared`: its size as a file, the median and
/// 99th-percentile time of one single-row prediction (the rows in turn), and batch throughput
/// (the hold-out rows scored as one batch, repeated for at least 50 ms). Logs them as
/// `deploy.size_bytes`, `deploy.latency_p50_us`, `deploy.latency_p99_us` and
/// `deploy.batch_rows_per_sec`. Never cached: every run measures the machine it runs on.
///
/// ```
/// # use mlflow_serve::{Lineage, ModelPackage};
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default())).unwrap();
/// # let package = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default()).unwrap();
/// use mlflow_serve::measure_rows;
/// let d = measure_rows(&package, x.view())?;
/// assert!(d.size_bytes > 0 && d.latency_p50 <= d.latency_p99 && d.batch_rows_per_sec > 0.0);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[step(crate = mlflow_core, cache = false)]
pub fn measure(package: &ModelPackage, prepared: &Prepared) -> Result<Deployability, ServeError> {
    let measured = measure_rows(package, prepared.test.x.view())?;
    let log = |key: &str, value: f64| {
        // Finite figures under names the library makes: logging cannot refuse them.
        let _ = mlflow_core::track::log_metric(key, value);
    };
    log("deploy.size_bytes", measured.size_bytes as f64);
    log("deploy.latency_p50_us", measured.latency_p50.as_secs_f64() * 1e6);
    log("deploy.latency_p99_us", measured.latency_p99.as_secs_f64() * 1e6);
    log("deploy.batch_rows_per_sec", measured.batch_rows_per_sec);
    Ok(measured)
}

/// [`measure`] on any rows of the package's features.
pub fn measure_rows(
    package: &ModelPackage,
    rows: ndarray::ArrayView2<'_, f64>,
) -> Result<Deployability, ServeError> {
    if rows.nrows() == 0 {
        return Err(ServeError::Build(
            "no rows to measure the package on: give at least one hold-out row".into(),
        ));
    }
    let size_bytes = package.to_bytes()?.len() as u64;
    let scorer = Scorer::new(package.clone());
    let row = |i: usize| rows.row(i % rows.nrows()).to_vec();
    for i in 0..20 {
        scorer.score_row(&row(i))?;
    }
    let mut times = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let input = row(i);
        let started = Instant::now();
        std::hint::black_box(scorer.score_row(&input)?);
        times.push(started.elapsed());
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let (mut scored, started) = (0usize, Instant::now());
    while scored == 0 || started.elapsed() < Duration::from_millis(50) {
        std::hint::black_box(scorer.score_batch(rows)?);
        scored += rows.nrows();
    }
    Ok(Deployability {
        size_bytes,
        latency_p50: at(0.5),
        latency_p99: at(0.99),
        batch_rows_per_sec: scored as f64 / started.elapsed().as_secs_f64(),
        samples: LATENCY_SAMPLES,
    })
}
