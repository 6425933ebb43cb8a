//! The Kaggle Titanic pipeline end to end: ingest and version the data, validate it, engineer the
//! demo's 13 features with fitted transformers, train five models in parallel, evaluate them on a
//! stratified hold-out, select and package the champion, register it, and score the demo
//! passenger. Then a second pipeline tunes the forest (grid) and the SVM (TPE, pruned) with
//! stratified 5-fold cross-validation, analyses the tuned forest by `Sex` and `Pclass`,
//! calibration and permutation importance, and offers it to production through a promotion gate.
//!
//! ```sh
//! cargo run --release --example titanic                   # first run: every step runs
//! cargo run --release --example titanic                   # second run: every step is cached
//! cargo run --release --example titanic -- --metric f1    # select the champion by another metric
//! cargo run --release --example titanic -- plan           # the execution plan of the first pipeline
//! cargo run --release --example titanic -- export kfp --image IMAGE -o titanic.kfp.yaml
//! cargo run --release --example titanic -- export argo --image IMAGE -o titanic.argo.yaml
//! ```
//!
//! The store is `./.mlflow` (or `$MLFLOW_HOME`). The data ships in `examples/data/titanic/`.
//! `plan`, `export` and `step` are the commands [`mlflow::run_command`] gives any pipeline's
//! binary: each pod of an exported workflow runs `titanic step --node ID ...` on one node.

mod pipeline;
mod tuning;

use mlflow::blocks;
use mlflow::data::DataFile;
use mlflow::eval::Metric;
use mlflow::prelude::*;
use mlflow::registry::{MetricThreshold, Promotion, Registry};
use mlflow::serve::Scorer;

/// The demo passenger, as the 13 features in order: Pclass, Sex, Age bin, SibSp, Parch, Fare bin,
/// Embarked, relatives, not_alone, Deck, Title, Age_Class, Fare_Per_Person.
const DEMO_PASSENGER: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];

fn main() -> mlflow::Result<()> {
    let metric = match std::env::args().skip_while(|a| a != "--metric").nth(1) {
        Some(name) => name.parse::<Metric>()?,
        None => Metric::RocAuc,
    };
    let file = DataFile::open(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/titanic/train.csv"))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if matches!(args.first().map(String::as_str), Some("plan" | "export" | "step" | "help")) {
        let (pipeline, _) = pipeline::build(file, metric);
        if let Err(e) = mlflow::run_command(&pipeline, &args, &mut std::io::stdout()) {
            eprintln!("{e}");
            std::process::exit(if matches!(e, mlflow::CommandError::Usage(_)) { 2 } else { 1 });
        }
        return Ok(());
    }
    let store = Store::open_default()?;
    let (pipeline, nodes) = pipeline::build(file.clone(), metric);
    let progress = mlflow::exec::RunOptions::new().observe(mlflow::progress::Progress::stderr());
    let report = pipeline.run_with(&store, progress)?;
    println!("{report}");
    let report = report.into_result()?;

    let (raw, prepared) = (report.get(nodes.raw)?, report.get(nodes.prepared)?);
    println!(
        "data: {} (version {}), {} rows, {} columns",
        file.path,
        file.version.short(),
        raw.rows,
        raw.schema.fields.len()
    );
    println!(
        "split: {} training rows, {} hold-out rows (stratified)",
        prepared.train.rows(),
        prepared.test.rows()
    );
    print!("{}", blocks::comparison_table(report.get(nodes.compared.scored)?));
    let champion = report.get(nodes.compared.champion)?;
    println!("champion: {} ({} {:.4})", champion.name, champion.metric, champion.value);
    let registry = Registry::new(&store)?;
    println!(
        "{}",
        blocks::register_champion(
            &registry,
            "titanic",
            &report,
            nodes.package,
            &nodes.compared,
            "production"
        )?
    );
    let proba = Scorer::new(report.get(nodes.package)?.clone()).score_row(&DEMO_PASSENGER)?.probability;
    let verdict = if proba > 0.5 { "survived" } else { "did not survive" };
    println!(
        "demo passenger {:?}: predicted {verdict} with P(survived) = {proba:.3}",
        DEMO_PASSENGER.map(|v| v as i64)
    );
    println!("serve it: cargo run --release --bin mlflow-pipelines -- serve titanic@production");

    // Tuning: the forest by a grid, the SVM by TPE, 5-fold CV on the training rows.
    let untuned: Vec<(String, f64)> = report
        .get(nodes.compared.scored)?
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.metrics.binary()?.roc_auc)))
        .collect();
    let (tuning, tuned) = tuning::build(file)?;
    let tuned_report = tuning
        .run_with(&store, mlflow::exec::RunOptions::new().observe(mlflow::progress::Progress::stderr()))?;
    println!("{tuned_report}");
    let tuned_report = tuned_report.into_result()?;
    println!(
        "{:<8} {:>14} {:>10} {:>12}  best trial",
        "model", "untuned roc_auc", "cv roc_auc", "tuned roc_auc"
    );
    for (name, study) in [("forest", &tuned.forest), ("svm", &tuned.svm)] {
        let results = tuned_report.get(study.results)?;
        let best = results.results.best();
        let holdout = tuned_report.get(study.scored)?.metrics.binary().map_or(f64::NAN, |b| b.roc_auc);
        let before = untuned.iter().find(|(n, _)| n == name).map_or(f64::NAN, |(_, v)| *v);
        println!("{name:<8} {before:>14.4} {:>10.4} {holdout:>12.4}  {}", best.mean, results.best().name);
    }
    let analysis = tuned_report.get(tuned.analysis)?;
    println!("tuned forest on the hold-out rows, by slice (ROC AUC):");
    for (slicing, slice, rows, auc) in &analysis.slices {
        match auc {
            Ok(v) => println!("  {slicing:<14} {slice:<12} {rows:>4} rows  {v:.4}"),
            Err(why) => println!("  {slicing:<14} {slice:<12} {rows:>4} rows  ({why})"),
        }
    }
    println!("expected calibration error: {:.4}", analysis.calibration_error);
    let top: Vec<String> =
        analysis.importances.iter().take(4).map(|(n, m, s)| format!("{n} {m:.4} ± {s:.4}")).collect();
    println!("permutation importance (ROC AUC drop): {}", top.join(", "));

    // The tuned forest replaces production only through the gate: ROC AUC at least 0.80 and at
    // most 0.01 below production's, log loss at most 5% worse than production's.
    let gate = Promotion::by(Metric::RocAuc)
        .at_least(0.80)
        .margin(-0.01)
        .and(MetricThreshold::by(Metric::LogLoss).relative_change(0.05))
        .reason(format!("tuned forest of run {}", tuned_report.run_id()));
    let registration = blocks::register_and_promote(
        &registry,
        "titanic",
        &tuned_report,
        tuned.package,
        tuned.forest.scored,
        "production",
        gate,
    )?;
    println!("{registration}");
    if let Some(guard) = registry.alias_history("titanic", "production")?.last().and_then(|m| m.guard.clone())
    {
        for check in &guard.thresholds {
            println!("  gate: {check}");
        }
    }
    println!(
        "the run report, with the studies: cargo run --release --bin mlflow-pipelines -- report {}",
        tuned_report.run_id()
    );
    Ok(())
}
