//! Trees and forests: fit + predict on iris (150 rows, 4 features, 3 classes) and diabetes (442
//! rows, 10 raw features, a real target).
//!
//! `cargo bench --bench trees`. Each iteration fits on all rows and predicts them, as
//! `tests/fixtures/trees/timing.py` times scikit-learn's same fits on the same data, for a ratio
//! on one machine. The forests train on one thread (`threads: 1`), as scikit-learn's do by
//! default (`n_jobs=None`).
//!
//! - `iris/tree`, `iris/forest`: `DecisionTree` and `RandomForest` (100 trees), 3 classes.
//! - `iris/forest_binary`: the same forest on the same rows with the labels virginica / other
//!   (2 classes): the baseline of the "multiclass per class" ratio.
//! - `diabetes/tree`, `diabetes/forest`: `TreeRegressor` and `ForestRegressor` (100 trees, every
//!   feature at every split).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use mlflow::models::{
    Classifier, DecisionTree, ForestParams, ForestRegressor, RandomForest, Regressor, TreeParams,
    TreeRegressor,
};
use ndarray::Array2;

/// A CSV of numbers after one line (iris: scikit-learn's count line; diabetes: the header): the
/// features, and the last column.
fn read(rel: &str) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    let p = rows[0].len() - 1;
    (Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]), rows.iter().map(|r| r[p]).collect())
}

fn iris(c: &mut Criterion) {
    let (x, y) = read("examples/data/iris/iris.csv");
    let classes: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let binary: Vec<usize> = classes.iter().map(|&c| usize::from(c == 2)).collect();
    let forest = ForestParams { threads: 1, ..Default::default() };
    let mut group = c.benchmark_group("iris");
    group.bench_function("tree", |b| {
        b.iter(|| {
            let m =
                DecisionTree::fit(black_box(x.view()), black_box(&classes), &TreeParams::default()).unwrap();
            black_box(m.predict_proba(x.view()).unwrap())
        })
    });
    for (name, labels) in [("forest", &classes), ("forest_binary", &binary)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let m = RandomForest::fit(black_box(x.view()), black_box(labels), &forest).unwrap();
                black_box(m.predict_proba(x.view()).unwrap())
            })
        });
    }
    group.finish();
}

fn diabetes(c: &mut Criterion) {
    let (x, y) = read("examples/data/diabetes/diabetes.csv");
    let forest = ForestParams { threads: 1, ..ForestParams::regression() };
    let mut group = c.benchmark_group("diabetes");
    group.bench_function("tree", |b| {
        b.iter(|| {
            let m = TreeRegressor::fit(black_box(x.view()), black_box(&y), &TreeParams::default()).unwrap();
            black_box(m.predict(x.view()).unwrap())
        })
    });
    group.bench_function("forest", |b| {
        b.iter(|| {
            let m = ForestRegressor::fit(black_box(x.view()), black_box(&y), &forest).unwrap();
            black_box(m.predict(x.view()).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, iris, diabetes);
criterion_main!(benches);
