//! Monitoring benchmark: one pass over a window of 1,000,000 logged predictions of the Titanic
//! forest (13 inputs), against its package's reference profile.
//!
//! `cargo bench --features serve --bench monitor`. Setup (not measured): the demo pipeline's
//! data and split (`tests/support/titanic.rs`), the random forest trained and packaged with its
//! profile (`blocks::package_model`: format 3), and a prediction log of 1,000,000 records written
//! once into a temporary folder: each record a training row drawn at random (its 13 features
//! and the forest's P(survived) for it), one request of one row every 3.6 ms (an hour), latency
//! 150-450 µs.
//!
//! - `monitor/pass_1m`: `monitor_log` with one window of the newest 1,000,000 records: read and
//!   decode every record, window it, count each input's and the output's values, the drift of
//!   13 features and of the output (Evidently's preset: 713 reference rows, so the KS test for
//!   continuous inputs and the z- or chi-square test for the others), dataset drift and health
//!   (latency percentiles over a million requests).
//! - `monitor/pass_1m_continuous`: the same with `Age`, `Fare` and the output jittered so that
//!   each takes about a million distinct values (the value counts' worst case: a sort per column).
//! - `monitor/read_1m`: decoding the log alone, for the share of the pass that is I/O and decoding.
//!
//! Measured on the 2-core development machine (shared with other builds), medians of 10:
//! `pass_1m` 0.34-0.38 s, of which `read_1m` 0.28-0.29 s; `pass_1m_continuous` 0.69-0.71 s. The
//! drift itself is cheap because each column is counted by value while the log streams (the KS
//! and Wasserstein statistics then walk the sorted distinct values, not a million sorted rows);
//! decoding a million records (three allocations each) is most of the pass.

#[path = "../tests/support/titanic.rs"]
mod titanic;

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::monitor::{MonitorOptions, RecordFilter, WindowSpec, monitor_log};
use mlflow::serve::{LogOptions, LogReader, ModelPackage, PredictionLog, PredictionRecord, Role};

const RECORDS: usize = 1_000_000;
const T0: i64 = 1_700_000_000_000;

/// A 64-bit LCG's high bits in [0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The packaged forest and its training rows with the forest's P(class 1) for each.
fn titanic_model() -> (ModelPackage, Vec<Vec<f64>>, Vec<f64>, Vec<String>) {
    let data = titanic::dataset();
    let raw = titanic::ingested("train.csv");
    let candidate = mlflow::blocks::Candidate::new("forest", mlflow::models::ForestParams::default());
    let trained = mlflow::blocks::train(&data, &candidate).unwrap();
    let package = mlflow::blocks::package_model(&trained, &data, &raw).unwrap();
    assert!(package.profile().is_some(), "a format-3 package with its profile");
    let p = trained.predict_proba(&data.train).unwrap();
    let rows: Vec<Vec<f64>> = data.train.x.rows().into_iter().map(|r| r.to_vec()).collect();
    let p1: Vec<f64> = p.column(1).to_vec();
    (package, rows, p1, data.train.names.clone())
}

/// Writes `RECORDS` predictions into a log in `dir`; `jitter` adds noise to Age, Fare and the
/// output so they take about a million distinct values.
fn write_log(dir: &Path, rows: &[Vec<f64>], p1: &[f64], names: &[String], jitter: bool) {
    let log = PredictionLog::open(dir, LogOptions::default()).unwrap();
    let noisy: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.contains("Age") || n.contains("Fare"))
        .map(|(i, _)| i)
        .collect();
    let mut u = Uniform(42);
    let mut chunk = Vec::with_capacity(10_000);
    for i in 0..RECORDS {
        let k = ((u.next() * rows.len() as f64) as usize).min(rows.len() - 1);
        let mut inputs = rows[k].clone();
        let mut probability = p1[k];
        if jitter {
            for &j in &noisy {
                inputs[j] += (u.next() - 0.5) * 0.5;
            }
            probability = (probability + (u.next() - 0.5) * 0.01).clamp(0.0, 1.0);
        }
        chunk.push(PredictionRecord {
            request_id: format!("req-{i}"),
            row: 0,
            time_ms: T0 + (i as i64 * 36) / 10,
            model: "titanic".into(),
            version: 1,
            role: Role::Champion,
            inputs,
            label: u32::from(probability >= 0.5),
            probability,
            latency_us: 150 + (u.next() * 300.0) as u64,
        });
        if chunk.len() == 10_000 {
            log.append(&chunk).unwrap();
            chunk.clear();
        }
    }
    log.append(&chunk).unwrap();
}

fn pass(dir: &Path, package: &ModelPackage) -> usize {
    let report = monitor_log(
        dir,
        WindowSpec::Count(RECORDS as u64),
        &RecordFilter::default(),
        Some(1),
        &MonitorOptions::default(),
        |_| Ok(package.clone()),
    )
    .unwrap();
    assert_eq!(report.windows[0].rows, RECORDS as u64);
    assert_eq!(report.windows[0].features.len(), 13);
    report.windows.len()
}

fn monitor(c: &mut Criterion) {
    let (package, rows, p1, names) = titanic_model();
    let plain = tempfile::tempdir().unwrap();
    write_log(plain.path(), &rows, &p1, &names, false);
    let continuous = tempfile::tempdir().unwrap();
    write_log(continuous.path(), &rows, &p1, &names, true);

    let mut group = c.benchmark_group("monitor");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("pass_1m", |b| b.iter(|| black_box(pass(plain.path(), &package))));
    group.bench_function("pass_1m_continuous", |b| b.iter(|| black_box(pass(continuous.path(), &package))));
    group.bench_function("read_1m", |b| {
        b.iter(|| {
            let files = PredictionLog::segment_files(plain.path()).unwrap();
            black_box(LogReader::new(files).filter(|r| r.is_ok()).count())
        })
    });
    group.finish();
}

criterion_group!(benches, monitor);
criterion_main!(benches);
