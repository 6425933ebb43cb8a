//! Regression on scikit-learn's diabetes data (disease progression one year after baseline):
//! least squares, ridge, a tree, a forest, gradient boosting and linfa's elastic net (through the
//! `linfa` feature's adapter) trained in parallel, the champion chosen by RMSE (lower is better),
//! packaged, registered, and asked for one patient's value.
//!
//! ```sh
//! cargo run --release --features linfa --example diabetes
//! ```
//!
//! Run it twice: the second run is served from the cache. The store is `./.mlflow` (or
//! `$MLFLOW_HOME`); the model is registered as `diabetes`.

use mlflow::blocks::{self, Candidate, Prepare, Registration};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::RegressionMetric;
use mlflow::linfa::LinfaElasticNetParams;
use mlflow::models::{BoostingParams, ForestParams, LinearParams, RegressionParams, TreeParams};
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::serve::Scorer;

fn main() -> mlflow::Result<()> {
    let store = Store::open_default()?;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/diabetes/diabetes.csv");
    let registered = diabetes(&store, path)?;
    println!("{registered}");
    let scorer = Scorer::from_registry(&Registry::new(&store)?, "diabetes@production")?;
    let patient = mlflow::ndarray::array![[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]];
    println!("patient 0 -> predicted progression {:.1}", scorer.score_batch(patient.view())?[0].probability);
    Ok(())
}

/// Ingests, prepares (shuffled 20% hold-out), trains, evaluates, selects, packages, registers.
pub fn diabetes(store: &Store, path: &str) -> mlflow::Result<Registration> {
    let mut p = Pipeline::new("diabetes");
    let file = p.param("data", DataFile::open(path)?);
    let csv = p.param("csv", CsvOptions::default());
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", Prepare::regression("target").test_fraction(0.2).seed(7));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let candidates = [
        Candidate::new("ols", LinearParams::default()),
        Candidate::new("ridge", LinearParams::ridge(1.0)).scaled(),
        Candidate::new(
            "tree",
            RegressionParams::Tree(TreeParams { max_depth: Some(4), ..Default::default() }),
        ),
        Candidate::new("forest", RegressionParams::Forest(ForestParams::regression())),
        Candidate::new("boosting", RegressionParams::Boosting(BoostingParams::default())),
        // scikit-learn's ElasticNet(alpha=0.01, l1_ratio=0.5) on the standardized features.
        Candidate::new("linfa elastic net", LinfaElasticNetParams::new(0.01)).scaled(),
    ];
    let compared = blocks::compare(&mut p, prepared, candidates, RegressionMetric::Rmse);
    let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));

    let report = p.run(store)?;
    println!("{report}");
    let report = report.into_result()?;
    print!("{}", blocks::comparison_table(report.get(compared.scored)?));
    let champion = report.get(compared.champion)?;
    println!("champion: {} ({} {:.4})", champion.name, champion.metric, champion.value);
    Ok(blocks::register_champion(
        &Registry::new(store)?,
        "diabetes",
        &report,
        package,
        &compared,
        "production",
    )?)
}
