//! A binary classifier for any CSV with a 0/1 label column, end to end: ingest and version the
//! data, validate it, split it and infer features, train three models in parallel, evaluate them
//! on the hold-out rows, select and package the champion, register it and promote it.
//!
//! ```sh
//! cargo run --release --example classify -- examples/data/titanic/train.csv Survived PassengerId
//! cargo run --release --example classify -- FILE.csv LABEL [COLUMN_TO_LEAVE_OUT...]
//! ```
//!
//! Run it twice: the second run is served from the cache. The store is `./.mlflow` (or
//! `$MLFLOW_HOME`); the model is registered as `classify` and promoted to `production` only if
//! it beats the current holder.

use mlflow::blocks::{self, Candidate, Prepare, Registration};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::Metric;
use mlflow::models::{ForestParams, LogisticParams, SvmParams};
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::validate::{Expectation, Suite};

fn main() -> mlflow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, label, exclude @ ..] = &args[..] else {
        eprintln!("usage: classify FILE.csv LABEL [COLUMN_TO_LEAVE_OUT...]");
        std::process::exit(2);
    };
    let registered = classify(&Store::open_default()?, path, label, exclude)?;
    println!("{registered}");
    Ok(())
}

/// The whole path on `path`, predicting `label` from every other column but `exclude`.
pub fn classify(store: &Store, path: &str, label: &str, exclude: &[String]) -> mlflow::Result<Registration> {
    let mut p = Pipeline::new("classify");
    let file = p.param("data", DataFile::open(path)?);
    let csv = p.param("csv", CsvOptions::default());
    let raw = p.step(blocks::IngestStep, (file, csv));
    let suite = p.param("suite", Suite::new("input").with(Expectation::binary_label(label)));
    let checked = p.step(blocks::CheckStep, (raw, suite));
    let setup = p.param("setup", Prepare::label(label).exclude(exclude).test_fraction(0.2));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    p.wait_for(prepared, checked);
    let candidates = [
        Candidate::new("logistic", LogisticParams::default()).scaled(),
        Candidate::new("forest", ForestParams::default()),
        Candidate::new("svm", SvmParams::default()).scaled(),
    ];
    let compared = blocks::compare(&mut p, prepared, candidates, Metric::RocAuc);
    let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));

    let report = p.run(store)?;
    println!("{report}");
    let report = report.into_result()?;
    for (column, why) in &report.get(prepared)?.dropped {
        println!("left out `{column}`: {why}");
    }
    print!("{}", blocks::comparison_table(report.get(compared.scored)?));
    let champion = report.get(compared.champion)?;
    println!("champion: {} ({} {:.4})", champion.name, champion.metric, champion.value);
    let registry = Registry::new(store)?;
    Ok(blocks::register_champion(&registry, "classify", &report, package, &compared, "production")?)
}
