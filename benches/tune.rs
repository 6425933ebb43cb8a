//! Tuning benchmark: a 36-candidate random-forest grid with stratified 5-fold cross-validation on
//! the Titanic demo's training rows (180 fits of 100 trees), the features fitted inside each fold,
//! then the refit of the best; and the rerun of the finished study.
//!
//! `cargo bench --bench tune`. Each `cold` iteration runs the study in a fresh store (every task
//! runs); `rerun` runs it again in a store that holds it (every step is a cache hit). The
//! scikit-learn reference (`GridSearchCV(n_jobs=2)` on the same rows and grid) is
//! `tests/fixtures/tune/timing.py`; the same search as a whole process is
//! `examples/grid_search.rs`.

#[path = "../examples/grid_search.rs"]
mod grid_search;

use criterion::{BatchSize, Criterion, criterion_group};
use mlflow::data::DataFile;
use mlflow::prelude::*;

fn build() -> Pipeline {
    let train = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/titanic/train.csv");
    grid_search::build(DataFile::open(train).expect("titanic train.csv")).0
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
