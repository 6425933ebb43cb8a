//! In-process scoring benchmarks on the Titanic champion (the ROC AUC champion of
//! `examples/titanic/pipeline.rs`: the RBF SVM on standardized features).
//!
//! `cargo bench --bench serve`. Setup runs the whole demo pipeline once into a temporary store
//! whose `package` step outputs the champion as a `ModelPackage`, as a user would.
//!
//! - `score_row`: one demo-passenger row through `Scorer::score_row` (input checks, scaling,
//!   the model). The target is under 20 µs.
//! - `score_named`: the same row given as feature name to value.
//! - `score_batch_100`: 100 hold-out rows (the 178 hold-out rows, first 100) through
//!   `Scorer::score_batch`.
//! - `load_package`: reading a package from bytes, including the hash check and the self-test.

#[path = "../tests/support/titanic.rs"]
mod titanic;

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use mlflow::data::DataFile;
use mlflow::eval::Metric;
use mlflow::prelude::*;
use mlflow::serve::{ModelPackage, Scorer};

const DEMO: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

fn scoring(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("store")).expect("store");
    let file = DataFile::open(titanic::path("train.csv")).expect("train.csv");
    let (pipeline, nodes) = titanic::pipeline::build(file, Metric::RocAuc);
    let report = pipeline.run(&store).expect("pipeline run");
    let package = report.get(nodes.package).expect("champion").clone();
    let data = report.get(nodes.data).expect("dataset");
    let bytes = package.to_bytes().expect("package bytes");
    let scorer = Scorer::new(package);
    let batch = data.test.x.slice(ndarray::s![..100, ..]).to_owned();
    let named: BTreeMap<String, f64> = data.train.names.iter().cloned().zip(DEMO).collect();

    let mut group = c.benchmark_group("serve");
    group.bench_function("score_row", |b| b.iter(|| scorer.score_row(black_box(&DEMO)).unwrap()));
    group.bench_function("score_named", |b| b.iter(|| scorer.score_named(black_box(&named)).unwrap()));
    group.bench_function("score_batch_100", |b| {
        b.iter(|| scorer.score_batch(black_box(batch.view())).unwrap())
    });
    group.bench_function("load_package", |b| b.iter(|| ModelPackage::from_bytes(black_box(&bytes)).unwrap()));
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
