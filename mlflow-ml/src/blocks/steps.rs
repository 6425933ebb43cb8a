//! The block steps: plain functions, each a `#[step]`.

use mlflow_macros::step;

use super::types::{BlockError, Candidate, FeatureChoice, Prepare, Prepared, Scored, Trained};
use crate::data::{self, CsvOptions, DataError, DataFile, Ingested};
use crate::eval::{self, Champion, EvalError, Metric};
use crate::features::{StandardScaler, class_labels, infer_spec, stratified_split};
use crate::models::Model;
use crate::validate::{self, Suite, ValidationError, ValidationReport};

/// Reads the CSV `file` was opened on ([`data::read_csv`]: refuses changed bytes, records the
/// data version with the run).
#[step(crate = mlflow_core)]
pub fn ingest(file: &DataFile, options: &CsvOptions) -> Result<Ingested, DataError> {
    data::read_csv(file, options)
}

/// Validates the table against `suite`; fails the step (and everything waiting for it) when an
/// error-level expectation fails. Warnings are in the report.
#[step(crate = mlflow_core)]
pub fn check(raw: &Ingested, suite: &Suite) -> Result<ValidationReport, ValidationError> {
    let report = validate::validate(&raw.table, suite);
    report.check()?;
    Ok(report)
}

/// Splits the rows (stratified, seeded), fits the features on the training rows only (a given
/// spec, or one inferred from the training rows' columns), and builds train and hold-out
/// matrices with their labels.
#[step(crate = mlflow_core)]
pub fn prepare(raw: &Ingested, setup: &Prepare) -> Result<Prepared, BlockError> {
    let labels = class_labels(&raw.table, &setup.label)?;
    let split = stratified_split(&labels, setup.test_fraction, setup.seed)?;
    let (spec, dropped) = match &setup.features {
        FeatureChoice::Spec(spec) => (spec.clone(), Vec::new()),
        FeatureChoice::Infer(rules) => {
            let inferred = infer_spec(&raw.table, &split.train, rules);
            if inferred.spec.features.is_empty() {
                return Err(BlockError::NoFeatures { dropped: inferred.dropped });
            }
            (inferred.spec, inferred.dropped)
        }
    };
    let features = spec.fit(&raw.table, &split.train)?;
    let all = features.transform(&raw.table)?;
    let pick = |rows: &[usize]| rows.iter().map(|&i| labels[i]).collect::<Vec<usize>>();
    Ok(Prepared {
        label: setup.label.clone(),
        train: all.select_rows(&split.train)?,
        train_y: pick(&split.train),
        test: all.select_rows(&split.test)?,
        test_y: pick(&split.test),
        split,
        features,
        dropped,
    })
}

/// Fits `candidate` on the training rows (standardized first if it says so).
#[step(crate = mlflow_core)]
pub fn train(prepared: &Prepared, candidate: &Candidate) -> Result<Trained, BlockError> {
    let rows: Vec<usize> = (0..prepared.train.rows()).collect();
    let scaler = match candidate.scaled {
        true => Some(StandardScaler.fit_matrix(&prepared.train, &rows)?),
        false => None,
    };
    let model = match &scaler {
        Some(scaler) => {
            Model::fit(scaler.transform(&prepared.train)?.x.view(), &prepared.train_y, &candidate.params)?
        }
        None => Model::fit(prepared.train.x.view(), &prepared.train_y, &candidate.params)?,
    };
    Ok(Trained { name: candidate.name.clone(), model, scaler })
}

/// Scores the hold-out rows and logs the metrics, the ROC curve and the confusion matrix with
/// the run ([`eval::log_binary_metrics`]).
#[step(crate = mlflow_core)]
pub fn evaluate(trained: &Trained, prepared: &Prepared) -> Result<Scored, BlockError> {
    let scores = trained.predict_proba(&prepared.test)?;
    let metrics = eval::evaluate(&prepared.test_y, &scores)?;
    // Finite metrics, named by the library: logging cannot refuse them.
    let _ = eval::log_binary_metrics(&metrics);
    Ok(Scored { name: trained.name.clone(), metrics })
}

/// The best of `scored` by `metric` ([`eval::select_champion`]; ties go to the first).
#[step(crate = mlflow_core)]
pub fn select(scored: &Vec<Scored>, metric: &Metric) -> Result<Champion, EvalError> {
    let candidates: Vec<_> = scored.iter().map(|s| (s.name.clone(), s.metrics.clone())).collect();
    eval::select_champion(&candidates, *metric)
}
