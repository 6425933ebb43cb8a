//! Histogram gradient boosting fits: iris (150 x 4, 3 classes), diabetes (442 x 10, regression)
//! and the synthetic binary set of `tests/fixtures/boosting/synthetic.py` (20,000 x 20, seed 0;
//! early stopping "auto" is on there).
//!
//! `cargo bench --bench boosting -- --warm-up-time 1 --measurement-time 3`. Each iteration fits
//! with the default params (scikit-learn's), as `tests/fixtures/boosting/timing.py` times
//! scikit-learn's `HistGradientBoostingClassifier()` / `HistGradientBoostingRegressor()` on the
//! same data, for a ratio on one machine.
//!
//! On the 2-core build machine (2026-12-06, scikit-learn on 2 OpenMP threads, ours on 2 threads),
//! medians: iris 3.67 ms vs scikit-learn 80.5 ms (0.05x), diabetes 12.0 ms vs 75.8 ms (0.16x),
//! synthetic 20,000 x 20 256 ms vs 365 ms (0.70x; scikit-learn stopped after 83 rounds).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::models::{BoostingParams, GradientBoosting, GradientBoostingRegressor};
use ndarray::Array2;

/// Rows of a CSV of numbers after `skip` first lines: (features, last column).
fn csv(path: &str, skip: usize) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(skip)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let p = rows[0].len() - 1;
    let x =
        Array2::from_shape_vec((rows.len(), p), rows.iter().flat_map(|r| r[..p].to_vec()).collect()).unwrap();
    (x, rows.iter().map(|r| r[p]).collect())
}

/// The generator of `tests/fixtures/boosting/synthetic.py`.
fn synthetic(rows: usize, features: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let (mut x, mut score) = (Vec::new(), Vec::new());
    for _ in 0..rows {
        let row: Vec<f64> = (0..features).map(|_| ((next() % 2001) as f64 - 1000.0) / 100.0).collect();
        let noise = ((next() % 1001) as f64 - 500.0) / 100.0;
        score.push(((row[0] - row[1]) + (0.05 * row[2]) * row[3]) + noise);
        x.extend(row);
    }
    (Array2::from_shape_vec((rows, features), x).unwrap(), score)
}

fn boosting(c: &mut Criterion) {
    let params = BoostingParams::default();
    let mut group = c.benchmark_group("boosting");
    group.sample_size(10);
    let (x, y) = csv("examples/data/iris/iris.csv", 1);
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    group.bench_function("iris_fit", |b| {
        b.iter(|| black_box(GradientBoosting::fit(black_box(x.view()), &labels, &params).unwrap()))
    });
    let (x, y) = csv("examples/data/diabetes/diabetes.csv", 1);
    group.bench_function("diabetes_fit", |b| {
        b.iter(|| black_box(GradientBoostingRegressor::fit(black_box(x.view()), &y, &params).unwrap()))
    });
    let (x, score) = synthetic(20_000, 20, 0);
    let labels: Vec<usize> = score.iter().map(|&s| usize::from(s > 0.0)).collect();
    group.bench_function("synthetic_20000x20_fit", |b| {
        b.iter(|| black_box(GradientBoosting::fit(black_box(x.view()), &labels, &params).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, boosting);
criterion_main!(benches);
