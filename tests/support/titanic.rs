//! The Titanic demo for tests and benches: the canonical pipeline module
//! (`examples/titanic/pipeline.rs`) and its data, read and split exactly as the pipeline does by
//! calling its block steps directly.
//!
//! Include it with `#[path = "../support/titanic.rs"] mod titanic;` (from a test binary's
//! folder in `tests/`) or `#[path = "../tests/support/titanic.rs"] mod titanic;` (from
//! `benches/`).
#![allow(dead_code)]

use std::path::PathBuf;

use mlflow::blocks::{self, Prepared};
use mlflow::data::{CsvOptions, DataFile, Ingested, Table};
use mlflow::features::{Split, StandardScaler};

#[path = "../../examples/titanic/pipeline.rs"]
pub mod pipeline;

/// A file of the Kaggle data in `examples/data/titanic/` (`train.csv` or `test.csv`), found from
/// the package being tested (the top of the checkout, or one of its member folders).
pub fn path(name: &str) -> PathBuf {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("examples/data/titanic"))
        .find(|dir| dir.is_dir())
        .expect("examples/data/titanic above the package");
    data.join(name)
}

/// A fresh store in a temporary folder (removed when the guard drops).
pub fn temp_store() -> (tempfile::TempDir, mlflow::store::Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = mlflow::store::Store::open(dir.path().join("store")).expect("open store");
    (dir, store)
}

/// Runs the demo pipeline (champion by ROC AUC) on `train.csv` into `store`; fails the test
/// unless every step succeeded.
pub fn run_demo(store: &mlflow::store::Store) -> (mlflow::exec::RunReport, pipeline::Handles) {
    let (p, handles) = pipeline::build(train_file(), mlflow::eval::Metric::RocAuc);
    let report = p.run(store).expect("run the titanic pipeline");
    assert!(report.is_success(), "{report}");
    (report, handles)
}

/// Runs the demo and registers its packaged champion as the next version of the model `titanic`.
pub fn register_demo(store: &mlflow::store::Store) -> (mlflow::exec::RunReport, pipeline::Handles, u32) {
    let (report, handles) = run_demo(store);
    let registry = mlflow::registry::Registry::new(store).expect("open the registry");
    let request =
        mlflow::registry::RegisterRequest::for_output(&report, handles.package).expect("the package node");
    let version = registry.register("titanic", request).expect("register the champion").version;
    (report, handles, version)
}

/// `train.csv` as the pipeline's data file param.
pub fn train_file() -> DataFile {
    DataFile::open(path("train.csv")).expect("titanic train.csv")
}

/// The file read by the pipeline's `ingest` step with the pipeline's CSV options.
pub fn ingested(name: &str) -> Ingested {
    let file = DataFile::open(path(name)).expect("titanic data file");
    blocks::ingest(&file, &CsvOptions::default()).expect("titanic csv")
}

/// The file's table, as the pipeline ingests it.
pub fn table(name: &str) -> Table {
    ingested(name).table
}

/// The pipeline's training and hold-out features: `ingest`, `check` and `prepare` on
/// `train.csv`, as in `pipeline::build`.
pub fn dataset() -> Prepared {
    let raw = ingested("train.csv");
    blocks::check(&raw, &pipeline::suite()).expect("the training file is valid");
    blocks::prepare(&raw, &pipeline::setup(pipeline::SPLIT_SEED)).expect("prepare")
}

/// The pipeline's split of `train.csv`'s rows.
pub fn split() -> Split {
    dataset().split
}

/// `data` standardized as the pipeline's scaled candidates see it (fitted on the training rows).
pub fn scaled(data: &Prepared) -> Prepared {
    let rows: Vec<usize> = (0..data.train.rows()).collect();
    let scaler = StandardScaler.fit_matrix(&data.train, &rows).expect("fit scaler");
    Prepared {
        train: scaler.transform(&data.train).expect("scale training rows"),
        test: scaler.transform(&data.test).expect("scale hold-out rows"),
        ..data.clone()
    }
}
