//! The Kaggle Titanic pipeline end to end: ingest and version the data, validate it, engineer the
//! demo's 13 features with fitted transformers, train five models in parallel, evaluate them on a
//! stratified hold-out, select and package the champion, and score the demo passenger.
//!
//! ```sh
//! cargo run --release --example titanic                   # first run: every step runs
//! cargo run --release --example titanic                   # second run: every step is cached
//! cargo run --release --example titanic -- --metric f1    # select the champion by another metric
//! ```
//!
//! The store is `./.mlflow` (or `$MLFLOW_HOME`). The data ships in `examples/data/titanic/`.

mod pipeline;

use std::process::ExitCode;

use mlflow::data::DataFile;
use mlflow::eval::{self, Metric};
use mlflow::prelude::*;
use mlflow::registry::{Promotion, RegisterRequest, Registry, RegistryError};
use mlflow::serve::Scorer;

/// The demo passenger, as the 13 features in order: Pclass, Sex, Age bin, SibSp, Parch, Fare bin,
/// Embarked, relatives, not_alone, Deck, Title, Age_Class, Fare_Per_Person.
const DEMO_PASSENGER: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Registers the packaged champion as a version of the `titanic` model and promotes it to
/// `production` only if it is at least as good as the current holder on the selection metric.
fn register_and_promote(
    store: &Store,
    report: &RunReport,
    metrics: &eval::BinaryMetrics,
    metric: Metric,
) -> mlflow::Result<()> {
    let registry = Registry::new(store)?;
    let request = RegisterRequest::new(report.run_id(), "package")
        .metrics(Metric::ALL.map(|m| (m.name(), metrics.get(m))))
        .description("Titanic champion selected by the example pipeline");
    let version = registry.register("titanic", request)?;
    let mut promotion = Promotion::new(metric.name()).reason("example pipeline champion");
    if !metric.higher_is_better() {
        promotion = promotion.lower_is_better();
    }
    match registry.promote("titanic", version.version, "production", promotion) {
        Ok(Some(_)) => println!("registered titanic/{} and promoted it to production", version.version),
        Ok(None) => println!("titanic/{} is already production", version.version),
        Err(refused @ RegistryError::PromotionRefused { .. }) => {
            println!("registered titanic/{}; not promoted: {refused}", version.version)
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn run() -> mlflow::Result<ExitCode> {
    let metric = match std::env::args().skip_while(|a| a != "--metric").nth(1) {
        Some(name) => name.parse::<Metric>()?,
        None => Metric::RocAuc,
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/titanic/train.csv");
    let file = DataFile::open(path)?;
    let store = Store::open_default()?;
    let (pipeline, nodes) = pipeline::build(file.clone(), metric);
    let report = pipeline
        .run_with(&store, mlflow::exec::RunOptions::new().observe(mlflow::progress::Progress::stderr()))?;

    if report.is_success() {
        let raw = report.get(nodes.raw)?;
        println!(
            "data: {} (version {}), {} rows, {} columns",
            file.path,
            file.version.short(),
            raw.rows,
            raw.schema.fields.len()
        );
        let data = report.get(nodes.data)?;
        println!(
            "split: {} training rows, {} hold-out rows (stratified, seed {})",
            data.train.rows(),
            data.test.rows(),
            pipeline::SPLIT_SEED
        );
        let scored: Vec<_> = nodes
            .scored
            .iter()
            .map(|n| report.get(*n).map(|s| (s.name.clone(), s.metrics.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        print!("{}", eval::comparison_table(&scored));
        let champion = report.get(nodes.champion)?;
        let scorer = Scorer::new(report.get(nodes.package)?.clone());
        let proba = scorer.score_row(&DEMO_PASSENGER)?.probability;
        println!("champion: {} ({} {:.4})", champion.name, champion.metric, champion.value);
        register_and_promote(&store, &report, &scored[champion.index].1, champion.metric)?;
        println!(
            "demo passenger {:?}: predicted {} with P(survived) = {proba:.3}",
            DEMO_PASSENGER.map(|v| v as i64),
            if proba > 0.5 { "survived" } else { "did not survive" },
        );
    } else {
        for step in report.steps().iter().filter(|s| s.status == StepStatus::Failed) {
            eprintln!("step {} failed: {}", step.node, step.error.as_deref().unwrap_or(""));
        }
    }
    println!("{report}");
    println!("total {}", mlflow::exec::format_duration(report.duration()));
    if report.is_success() {
        println!("serve it: cargo run --release --bin mlflow-pipelines -- serve titanic@production");
    }
    Ok(if report.is_success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
