//! The block steps: plain functions, each a `#[step]`.

use mlflow_macros::step;

use super::types::{
    BlockError, Candidate, FeatureChoice, Prepare, Prepared, Scored, TargetKind, Targets, Trained,
};
use crate::data::{self, CsvOptions, DataError, DataFile, Ingested, Table};
use crate::eval::{self, Best, EvalError, Evaluation, TaskMetric};
use crate::features::{
    ClassLabels, Split, StandardScaler, infer_spec, regression_target, shuffled_split, stratified_split,
};
use crate::models::Estimator;
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

/// Reads the target (class labels, or values for [`Prepare::regression`]), splits the rows
/// (stratified by class, or shuffled; seeded), fits the features on the training rows only (a
/// given spec, or one inferred from the training rows' columns), and builds train and hold-out
/// matrices with their targets.
#[step(crate = mlflow_core)]
pub fn prepare(raw: &Ingested, setup: &Prepare) -> Result<Prepared, BlockError> {
    let table = &raw.table;
    let (split, targets) = match setup.target {
        TargetKind::Classes => {
            let all: Vec<usize> = (0..table.rows()).collect();
            let (classes, labels) = ClassLabels::fit(table, &setup.label, &all)?;
            let split = stratified_split(&labels, setup.test_fraction, setup.seed)?;
            let pick = |rows: &[usize]| rows.iter().map(|&i| labels[i]).collect::<Vec<usize>>();
            let targets = Targets::Classes { train: pick(&split.train), test: pick(&split.test), classes };
            (split, targets)
        }
        TargetKind::Values => {
            let values = regression_target(table, &setup.label)?;
            let split = shuffled_split(values.len(), setup.test_fraction, setup.seed)?;
            let pick = |rows: &[usize]| rows.iter().map(|&i| values[i]).collect::<Vec<f64>>();
            let targets = Targets::Values { train: pick(&split.train), test: pick(&split.test) };
            (split, targets)
        }
    };
    fit_features(table, setup, split, targets)
}

/// Fits the features of `setup` on the training rows of `split` (a given spec, or one inferred
/// from those rows) and builds both sides' matrices: [`prepare`]'s work once the split and the
/// targets are known, and each cross-validation fold's.
pub(super) fn fit_features(
    table: &Table,
    setup: &Prepare,
    split: Split,
    targets: Targets,
) -> Result<Prepared, BlockError> {
    let (spec, dropped) = match &setup.features {
        FeatureChoice::Spec(spec) => (spec.clone(), Vec::new()),
        FeatureChoice::Infer(rules) => {
            let inferred = infer_spec(table, &split.train, rules);
            if inferred.spec.features.is_empty() {
                return Err(BlockError::NoFeatures { dropped: inferred.dropped });
            }
            (inferred.spec, inferred.dropped)
        }
    };
    let features = spec.fit(table, &split.train)?;
    let all = features.transform(table)?;
    Ok(Prepared {
        label: setup.label.clone(),
        train: all.select_rows(&split.train)?,
        test: all.select_rows(&split.test)?,
        targets,
        split,
        features,
        dropped,
    })
}

/// Fits `candidate` on the training rows (standardized first if it says so): a classifier on
/// class targets, a regressor on values ([`ModelError::WrongTask`](crate::models::ModelError)
/// for the other).
#[step(crate = mlflow_core)]
pub fn train(prepared: &Prepared, candidate: &Candidate) -> Result<Trained, BlockError> {
    let rows: Vec<usize> = (0..prepared.train.rows()).collect();
    let scaler = match candidate.scaled {
        true => Some(StandardScaler.fit_matrix(&prepared.train, &rows)?),
        false => None,
    };
    let scaled;
    let x = match &scaler {
        Some(scaler) => {
            scaled = scaler.transform(&prepared.train)?;
            &scaled
        }
        None => &prepared.train,
    };
    let model = match &prepared.targets {
        Targets::Classes { train, .. } => Estimator::fit_classes(x.x.view(), train, &candidate.params)?,
        Targets::Values { train, .. } => Estimator::fit_values(x.x.view(), train, &candidate.params)?,
    };
    Ok(Trained { name: candidate.name.clone(), model, scaler })
}

/// Scores the hold-out rows and logs the metrics ([`Evaluation::log`]: for a binary task the
/// ROC curve and confusion matrix the run report draws; N x N confusion for more classes).
#[step(crate = mlflow_core)]
pub fn evaluate(trained: &Trained, prepared: &Prepared) -> Result<Scored, BlockError> {
    let metrics = holdout_metrics(trained, prepared)?;
    // Finite metrics, named by the library: logging cannot refuse them.
    let _ = metrics.log();
    Ok(Scored { name: trained.name.clone(), metrics })
}

/// The metrics of `trained` on the hold-out rows of `prepared` (a fold's validation rows too).
pub(super) fn holdout_metrics(trained: &Trained, prepared: &Prepared) -> Result<Evaluation, BlockError> {
    Ok(match &prepared.targets {
        Targets::Classes { test, .. } => {
            Evaluation::of_classes(test, trained.predict_proba(&prepared.test)?.view())?
        }
        Targets::Values { test, .. } => {
            Evaluation::of_values(test, trained.predict_values(&prepared.test)?.as_slice().unwrap_or(&[]))?
        }
    })
}

/// The best of `scored` by `metric` ([`eval::select_best`]: in the metric's direction; ties go
/// to the first).
#[step(crate = mlflow_core)]
pub fn select(scored: &Vec<Scored>, metric: &TaskMetric) -> Result<Best<TaskMetric>, EvalError> {
    let candidates: Vec<_> = scored.iter().map(|s| (s.name.clone(), s.metrics.clone())).collect();
    eval::select_best(&candidates, *metric)
}
