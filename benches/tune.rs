//! Tuning benchmark: a 36-candidate random-forest grid with stratified 5-fold cross-validation on
//! the Titanic demo's training rows (180 fits of 100 trees), the features fitted inside each fold,
//! then the refit of the best; and the rerun of the finished study.
//!
//! `cargo bench --bench tune`. Each `cold` iteration runs the study in a fresh store (every task
//! runs); `rerun` runs it again in a store that holds it (every step is a cache hit). The
//! scikit-learn reference (`GridSearchCV(n_jobs=2)` on the same rows and grid) is
//! `benches/reference/grid_search.py`.

#[path = "../tests/support/titanic.rs"]
mod titanic;

use criterion::{BatchSize, Criterion, criterion_group};
use mlflow::blocks::{self, Candidate, Study};
use mlflow::data::CsvOptions;
use mlflow::eval::Metric;
use mlflow::features::CrossValidation;
use mlflow::models::ForestParams;
use mlflow::prelude::*;
use mlflow::tune::Space;
use titanic::pipeline;

/// The grid: 3 x 4 x 3 = 36 forests of 100 trees.
fn study() -> Study {
    let space = Space::new()
        .choice("max_depth", [3, 5, 8, 12])
        .choice("min_samples_leaf", [1, 2, 4])
        .choice("min_samples_split", [2, 5, 10]);
    Study::grid(Candidate::new("forest", ForestParams::default()), space, Metric::RocAuc)
        .cv(CrossValidation::stratified(5))
}

fn build() -> Pipeline {
    let mut p = Pipeline::new("titanic-tune");
    let file = p.param("data", titanic::train_file());
    let csv = p.param("csv", CsvOptions::default());
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", pipeline::setup(pipeline::SPLIT_SEED));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    blocks::tune(&mut p, raw, setup, prepared, "forest", &study()).expect("the study's trials");
    p
}

fn tune(c: &mut Criterion) {
    let mut group = c.benchmark_group("titanic_forest_grid36_cv5");
    group.sample_size(10);
    group.bench_function("cold", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = Store::open(dir.path()).unwrap();
                let report = build().run(&store).unwrap();
                assert!(report.is_success(), "{report}");
            },
            BatchSize::PerIteration,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    build().run(&store).unwrap().into_result().unwrap();
    group.bench_function("rerun", |b| {
        b.iter(|| {
            let report = build().run(&store).unwrap();
            assert!(report.steps().iter().all(|s| s.status == StepStatus::Cached));
        })
    });
    group.finish();
}

criterion_group!(benches, tune);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
