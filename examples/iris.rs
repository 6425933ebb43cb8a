//! Multiclass classification on scikit-learn's iris data (three species): seven models trained
//! in parallel (five of ours, and linfa's multinomial logistic regression and decision tree through
//! the `linfa` feature's adapters), the champion chosen by macro F1, packaged with its classes,
//! registered, and asked for one flower's species with every class's probability.
//!
//! ```sh
//! cargo run --release --features linfa --example iris
//! ```
//!
//! Run it twice: the second run is served from the cache. The store is `./.mlflow` (or
//! `$MLFLOW_HOME`); the model is registered as `iris`. The file's first line is scikit-learn's
//! count line, not a header, so the CSV options skip it and name the columns.

use mlflow::blocks::{self, Candidate, Prepare, Registration};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::ClassMetric;
use mlflow::linfa::{LinfaLogisticParams, LinfaTreeParams};
use mlflow::models::{BoostingParams, ForestParams, LogisticParams, NaiveBayesParams, Outputs, SvmParams};
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::serve::Scorer;

const COLUMNS: [&str; 5] = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];

fn main() -> mlflow::Result<()> {
    let store = Store::open_default()?;
    let registered = iris(&store, concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/iris/iris.csv"))?;
    println!("{registered}");
    let scorer = Scorer::from_registry(&Registry::new(&store)?, "iris@production")?;
    let Outputs::Probabilities(p) = scorer.predict(mlflow::ndarray::array![[6.1, 2.8, 4.7, 1.2]].view())?
    else {
        unreachable!("a classifier answers probabilities")
    };
    println!("6.1, 2.8, 4.7, 1.2 -> P(species) = {:.3}", p.row(0));
    Ok(())
}

/// Ingests, prepares (stratified 25% hold-out), trains, evaluates, selects, packages, registers.
pub fn iris(store: &Store, path: &str) -> mlflow::Result<Registration> {
    let mut p = Pipeline::new("iris");
    let file = p.param("data", DataFile::open(path)?);
    let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(COLUMNS));
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let candidates = [
        Candidate::new("logistic", LogisticParams::default()).scaled(),
        Candidate::new("naive bayes", NaiveBayesParams::default()),
        Candidate::new("forest", ForestParams::default()),
        Candidate::new("svm", SvmParams::default()).scaled(),
        Candidate::new("boosting", BoostingParams::default()),
        Candidate::new("linfa logistic", LinfaLogisticParams::default()).scaled(),
        Candidate::new("linfa tree", LinfaTreeParams::default()),
    ];
    let compared = blocks::compare(&mut p, prepared, candidates, ClassMetric::F1Macro);
    let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));

    let report = p.run(store)?;
    println!("{report}");
    let report = report.into_result()?;
    print!("{}", blocks::comparison_table(report.get(compared.scored)?));
    let champion = report.get(compared.champion)?;
    println!("champion: {} ({} {:.4})", champion.name, champion.metric, champion.value);
    Ok(blocks::register_champion(&Registry::new(store)?, "iris", &report, package, &compared, "production")?)
}
