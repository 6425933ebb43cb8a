//! The tuning benchmark's search as a whole process: a 36-candidate random-forest grid (100 trees
//! each) with stratified 5-fold cross-validation on the Titanic demo's training rows (180 fits,
//! the features fitted inside each fold), then the refit of the best, in a fresh store.
//!
//! ```sh
//! cargo build --release --example grid_search
//! time target/release/examples/grid_search            # ours, cold: every task runs
//! time /tmp/venv-sk/bin/python tests/fixtures/tune/timing.py --once   # GridSearchCV(n_jobs=2)
//! ```
//!
//! `benches/tune.rs` times the same pipeline in-process (`cargo bench --bench tune`).
#![allow(dead_code)] // `benches/tune.rs` includes this file for `build` and leaves `main` unused.

#[path = "titanic/pipeline.rs"]
mod pipeline;

use mlflow::blocks::{self, Candidate, Study};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::Metric;
use mlflow::features::CrossValidation;
use mlflow::models::ForestParams;
use mlflow::prelude::*;
use mlflow::tune::Space;

/// The grid: 4 depths x 3 leaf sizes x 3 split sizes = 36 forests of 100 trees.
pub fn study() -> Study {
    let space = Space::new()
        .choice("max_depth", [3, 5, 8, 12])
        .choice("min_samples_leaf", [1, 2, 4])
        .choice("min_samples_split", [2, 5, 10]);
    Study::grid(Candidate::new("forest", ForestParams::default()), space, Metric::RocAuc)
        .cv(CrossValidation::stratified(5))
}

/// The Titanic training file, split and featurized as the demo does, tuned by [`study`].
pub fn build(train: DataFile) -> (Pipeline, blocks::Tuned) {
    let mut p = Pipeline::new("titanic-tune");
    let file = p.param("data", train);
    let csv = p.param("csv", CsvOptions::default());
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", pipeline::setup(pipeline::SPLIT_SEED));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let tuned = blocks::tune(&mut p, raw, setup, prepared, "forest", &study()).expect("the study's trials");
    (p, tuned)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let train = DataFile::open(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/titanic/train.csv"))?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let (p, tuned) = build(train);
    let report = p.run(&store)?.into_result()?;
    let results = report.get(tuned.results)?;
    println!(
        "best of {} trials: {} (cv roc_auc {:.4})",
        results.trials.len(),
        results.best().name,
        results.results.best().mean
    );
    Ok(())
}
