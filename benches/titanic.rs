//! Titanic benchmarks: fit + predict of each of the five classifiers, and the whole demo pipeline
//! as a process.
//!
//! `cargo bench --bench titanic`. The data is the demo pipeline's own
//! (`examples/titanic/pipeline.rs`): its 13 features and stratified split (seed
//! `pipeline::SPLIT_SEED`: 713 training rows, 178 hold-out rows), made by calling its block
//! steps; the SVM gets the features standardized on the training rows, as its `train_svm` does.
//!
//! - `models`: each iteration fits one model on the training rows and predicts probabilities and
//!   labels for the hold-out rows.
//! - `monitor/reference_profile`: the reference profile a package carries, of the 713 training
//!   rows (12 raw columns, 13 features, the forest's two output columns, the label).
//! - `pipeline`: each iteration re-executes this binary with `MLFLOW_BENCH_TITANIC_STORE` set to a
//!   store folder; the child builds `pipeline::build` over `train.csv`, runs it against that
//!   store and exits. `cold` uses a fresh store folder per iteration (every step runs), `cached`
//!   one folder warmed once (every step is a cache hit), so both include process start, opening
//!   the store and hashing the data file.

#[path = "../tests/support/titanic.rs"]
mod titanic;

use std::hint::black_box;
use std::path::Path;
use std::process::Command;

use criterion::{BatchSize, Criterion, criterion_group};
use mlflow::blocks::Prepared as Dataset;
use mlflow::data::DataFile;
use mlflow::eval::Metric;
use mlflow::models::*;
use mlflow::prelude::*;
use titanic::pipeline;

const CHILD_VAR: &str = "MLFLOW_BENCH_TITANIC_STORE";

fn models(c: &mut Criterion) {
    let data = titanic::dataset();
    let scaled = titanic::scaled(&data);

    let mut group = c.benchmark_group("models");
    let mut bench = |name: &str, params: ModelParams, d: &Dataset| {
        group.bench_function(name, |b| {
            b.iter(|| {
                let model =
                    Model::fit(black_box(d.train.x.view()), black_box(d.train_classes().unwrap()), &params)
                        .unwrap();
                let p = model.predict_positive(d.test.x.view()).unwrap();
                let labels = model.predict(d.test.x.view()).unwrap();
                black_box((p, labels))
            })
        });
    };
    bench("decision_tree", ModelParams::Tree(TreeParams::default()), &data);
    bench("random_forest_100", ModelParams::Forest(ForestParams::default()), &data);
    bench(
        "random_forest_100_1thread",
        ModelParams::Forest(ForestParams { threads: 1, ..Default::default() }),
        &data,
    );
    bench("logistic_regression", ModelParams::Logistic(LogisticParams::default()), &data);
    bench("gaussian_nb", ModelParams::NaiveBayes(NaiveBayesParams::default()), &data);
    bench("svm_rbf_scaled", ModelParams::Svm(SvmParams::default()), &scaled);
    bench(
        "svm_rbf_scaled_platt_5fold",
        ModelParams::Svm(SvmParams { platt_folds: 5, ..Default::default() }),
        &scaled,
    );
    group.finish();
}

fn profile(c: &mut Criterion) {
    let data = titanic::dataset();
    let raw = titanic::ingested("train.csv");
    let candidate = mlflow::blocks::Candidate::new("forest", ForestParams::default());
    let trained = mlflow::blocks::train(&data, &candidate).unwrap();
    let mut group = c.benchmark_group("monitor");
    group.bench_function("reference_profile", |b| {
        b.iter(|| black_box(mlflow::blocks::reference_profile(&raw, &data, &trained).unwrap()))
    });
    group.finish();
}

/// Runs this binary as the pipeline child against the store in `store`.
fn run_child(exe: &Path, store: &Path) {
    let status = Command::new(exe).env(CHILD_VAR, store).status().unwrap();
    assert!(status.success(), "titanic pipeline child failed: {status}");
}

fn whole_pipeline(c: &mut Criterion) {
    let exe = std::env::current_exe().unwrap();
    let mut group = c.benchmark_group("pipeline");
    group.sample_size(10);
    group.bench_function("cold", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                run_child(&exe, &dir.path().join("store"));
                dir // dropped (the folder removed) outside the timed part
            },
            BatchSize::PerIteration,
        )
    });
    let warm = tempfile::tempdir().unwrap();
    let store = warm.path().join("store");
    run_child(&exe, &store);
    group.bench_function("cached", |b| b.iter(|| run_child(&exe, &store)));
    group.finish();
}

/// The child process of `whole_pipeline`: build the demo pipeline, run it against the store at
/// `store`, exit. A cold store runs every step; a warm one serves them all from the cache.
fn child(store: &str) {
    let store = Store::open(store).unwrap();
    let file = DataFile::open(titanic::path("train.csv")).unwrap();
    let (pipeline, handles) = pipeline::build(file, Metric::RocAuc);
    let report = pipeline.run(&store).unwrap();
    assert!(report.is_success(), "{report}");
    black_box(report.get(handles.compared.champion).unwrap());
}

criterion_group!(benches, models, profile, whole_pipeline);

fn main() {
    if let Ok(store) = std::env::var(CHILD_VAR) {
        child(&store);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
