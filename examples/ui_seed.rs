//! A store for trying the web UI (and for its browser test), seeded oldest first:
//! - a TPE study of a decision tree on Iris (12 trials in batches of 4, stratified 3-fold
//!   cross-validation), ranked by `blocks::tune`;
//! - a served model `demo` (two versions of a Naive Bayes package with a reference profile,
//!   `production` on 1) with logged predictions: 1000 as trained, then 1000 with the age shifted
//!   by 15 years, for its monitoring page;
//! - twelve runs of a small pipeline with params and metrics (one param holding a `<script>` tag,
//!   to show it is escaped), newest, and a registered model `demo-model` with three versions whose
//!   `production` alias moved twice.
//!
//! `cargo run --features serve --example ui_seed -- DIR`, then `mlflow-pipelines --store DIR ui`.

#[path = "../tests/support/monitored.rs"]
mod monitored;

use mlflow::blocks::{self, Candidate, Prepare, Study};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::ClassMetric;
use mlflow::features::CrossValidation;
use mlflow::models::TreeParams;
use mlflow::prelude::*;
use mlflow::registry::{Promotion, RegisterRequest, Registry};
use mlflow::serve::{LogOptions, PredictionLog, Role};
use mlflow::track::{log_metric, log_metric_at};
use mlflow::tune::Space;

const IRIS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris/iris.csv");
const IRIS_COLUMNS: [&str; 5] = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];
/// The first logged prediction's time (ms since the Unix epoch): 2023-11-14.
const LOGGED_FROM: i64 = 1_700_000_000_000;

/// A pretend training step: its metrics follow from the params.
#[step]
fn train(seed: &u64, c: &f64, label: &String) -> Result<Vec<f64>, mlflow::track::TrackError> {
    let auc = 0.6 + 0.03 * (*seed as f64) - 0.01 * c;
    log_metric("auc", auc)?;
    log_metric("log_loss", 1.0 - auc)?;
    // A training curve, and a ROC curve the way `mlflow::eval` logs one.
    for epoch in 0..20u64 {
        log_metric_at("loss", epoch, (1.0 - auc) + 1.0 / (epoch as f64 + 1.0 + *seed as f64))?;
    }
    for (i, fpr) in [0.0, 0.1, 0.3, 0.6, 1.0].into_iter().enumerate() {
        log_metric_at("roc.fpr", i as u64, fpr)?;
        log_metric_at("roc.tpr", i as u64, if fpr == 0.0 { 0.0 } else { f64::powf(fpr, 1.0 - auc) })?;
    }
    Ok(vec![*seed as f64, *c, label.len() as f64])
}

/// The Iris study: a decision tree's depth and leaf size searched by TPE.
fn iris_study(store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    let mut p = Pipeline::new("iris-study");
    let file = p.param("data", DataFile::open(IRIS)?);
    let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(IRIS_COLUMNS));
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let space = Space::new().int("max_depth", 1, 8).int("min_samples_leaf", 1, 10);
    let study =
        Study::tpe(Candidate::new("tree", TreeParams::default()), space, 12, 4, 11, ClassMetric::Accuracy)
            .cv(CrossValidation::stratified(3));
    blocks::tune(&mut p, raw, setup, prepared, "tree", &study)?;
    p.run(store)?.into_result()?;
    Ok(())
}

/// The served model `demo` and its prediction log: as trained, then drifted.
fn served_model(store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    monitored::register(store);
    let (model, _) = monitored::package();
    let log = PredictionLog::open(PredictionLog::dir_in(store, "demo"), LogOptions::default())?;
    log.append(&monitored::records(&model, 21, 0, 1000, LOGGED_FROM, 1, Role::Champion, 0.0))?;
    log.append(&monitored::records(
        &model,
        22,
        1000,
        1000,
        LOGGED_FROM + 1_000_000,
        1,
        Role::Champion,
        15.0,
    ))?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: ui_seed DIR")?;
    let store = Store::open(&dir)?;
    iris_study(&store)?;
    served_model(&store)?;
    let mut ids = Vec::new();
    for seed in 1..=12u64 {
        let mut p = Pipeline::new(if seed % 4 == 0 { "churn" } else { "titanic-demo" });
        let s = p.param("seed", seed);
        let c = p.param("c", (seed % 3) as f64 + 0.5);
        let label = if seed == 5 { "<script>alert('x')</script>".to_owned() } else { format!("try {seed}") };
        let l = p.param("label", label);
        p.step(TrainStep, (s, c, l));
        let report = p.run(&store)?;
        ids.push(report.run_id().to_owned());
    }
    let registry = Registry::new(&store)?;
    for (version, at) in [(1u32, 2usize), (2, 6), (3, 10)] {
        let auc = 0.6 + 0.03 * (at as f64 + 1.0);
        registry.register(
            "demo-model",
            RegisterRequest::new(&ids[at], "train")
                .metric("auc", auc)
                .description(format!("trained in run {}", at + 1)),
        )?;
        let _ = version;
    }
    registry.promote("demo-model", 1, "production", Promotion::new("auc").reason("first model"))?;
    registry.promote("demo-model", 2, "production", Promotion::new("auc").reason("better auc"))?;
    registry.promote("demo-model", 3, "staging", Promotion::new("auc").reason("candidate"))?;
    println!(
        "{dir}: an Iris study, model demo with 2000 logged predictions, {} runs, model demo-model with 3 versions",
        ids.len()
    );
    Ok(())
}
