//! The demo's second pipeline: the forest tuned by a grid and the SVM by TPE, both with stratified
//! 5-fold cross-validation on the training rows (the features fitted inside each fold), each
//! refitted and scored on the hold-out rows (the SVM's trials pruned by the median pruner); the
//! tuned forest analysed by `Sex` and `Pclass` (slices), calibration and permutation importance,
//! and packaged.

use mlflow::analysis::{Binning, Slicing, calibration_curve, permutation_importance, slice_metrics};
use mlflow::blocks::{self, BlockError, Candidate, Prepared, Study, Trained, Tuned};
use mlflow::data::{CsvOptions, DataFile, Ingested};
use mlflow::eval::{Metric, roc_auc};
use mlflow::features::CrossValidation;
use mlflow::models::{ForestParams, SvmParams};
use mlflow::prelude::*;
use mlflow::tune::{Pruner, Space};

use super::pipeline;

/// The tuned forest and SVM, and the forest's analysis.
pub struct Handles {
    /// The forest's grid study.
    pub forest: Tuned,
    /// The SVM's TPE study.
    pub svm: Tuned,
    /// The tuned forest's analysis.
    pub analysis: Node<Analysis>,
    /// The tuned forest, packaged (to register and promote through the gate).
    pub package: Node<mlflow::serve::ModelPackage>,
}

/// What [`analyse`] found.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// `(slicing, slice, rows, ROC AUC or why there is none)`.
    pub slices: Vec<(String, String, usize, Result<f64, String>)>,
    /// Expected calibration error over 10 uniform bins.
    pub calibration_error: f64,
    /// `(feature, mean ROC AUC drop, std)`, largest first.
    pub importances: Vec<(String, f64, f64)>,
}

/// Slices of the hold-out rows by `Sex`, `Pclass` and both, the calibration of P(survived), and
/// permutation importance (5 repeats, seed 0) of the tuned model, each logged with the run.
#[step]
fn analyse(trained: &Trained, prepared: &Prepared, raw: &Ingested) -> Result<Analysis, BlockError> {
    let y = prepared.test_classes().unwrap_or(&[]);
    let proba = trained.predict_proba(&prepared.test)?;
    let holdout = raw.table.take(&prepared.split.test);
    let by_sex = Slicing::by_value(&holdout, "Sex")?;
    let by_class = Slicing::by_value(&holdout, "Pclass")?;
    let crossed = by_sex.cross(&by_class)?;
    let mut slices = Vec::new();
    for slicing in [&by_sex, &by_class, &crossed] {
        for s in slice_metrics(slicing, y, proba.view(), 10)? {
            let auc = match (s.metrics.as_ref().and_then(|m| m.binary()), s.note) {
                (Some(b), _) => Ok(b.roc_auc),
                (None, note) => Err(note.unwrap_or_default()),
            };
            if let Ok(v) = auc {
                let _ = mlflow::track::log_metric(&format!("slice.{}.{}.roc_auc", slicing.name, s.slice), v);
            }
            slices.push((slicing.name.clone(), s.slice, s.count, auc));
        }
    }
    let p1: Vec<f64> = proba.column(1).to_vec();
    let calibration_error = calibration_curve(y, &p1, 10, Binning::Uniform)?.expected_calibration_error();
    let _ = mlflow::track::log_metric("calibration.ece", calibration_error);
    let score = |x: mlflow::ndarray::ArrayView2<'_, f64>| -> Result<f64, BlockError> {
        let features =
            mlflow::features::FeatureMatrix { names: prepared.test.names.clone(), x: x.to_owned() };
        let p = trained.predict_proba(&features)?;
        Ok(roc_auc(y, &p.column(1).to_vec())?)
    };
    let found = permutation_importance(prepared.test.x.view(), score, 5, 0, true)?;
    let mut importances: Vec<(String, f64, f64)> =
        found.iter().map(|i| (prepared.test.names[i.feature].clone(), i.mean, i.std)).collect();
    importances.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, mean, _) in &importances {
        let _ = mlflow::track::log_metric(&format!("importance.{name}"), *mean);
    }
    Ok(Analysis { slices, calibration_error, importances })
}

/// The tuning pipeline over `file`.
pub fn build(file: DataFile) -> Result<(Pipeline, Handles), BlockError> {
    let mut p = Pipeline::new("titanic-tuning");
    let file = p.param("train_file", file);
    let options = p.param("csv", CsvOptions::default());
    let raw = p.step(blocks::IngestStep, (file, options));
    let setup = p.param("setup", pipeline::setup(pipeline::SPLIT_SEED));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let cv = CrossValidation::stratified(5);
    let forest_space = Space::new().choice("max_depth", [4, 6, 8]).choice("min_samples_leaf", [1, 3]);
    let forest =
        Study::grid(Candidate::new("forest", ForestParams::default()), forest_space, Metric::RocAuc).cv(cv);
    let svm_space = Space::new().float_log("c", 0.01, 100.0);
    // The median pruner stops an SVM trial after a fold when its running score is behind the
    // trials of earlier batches.
    let svm =
        Study::tpe(Candidate::new("svm", SvmParams::default()).scaled(), svm_space, 12, 4, 0, Metric::RocAuc)
            .cv(cv)
            .pruner(Pruner::median());
    let forest = blocks::tune(&mut p, raw, setup, prepared, "forest", &forest)?;
    let svm = blocks::tune(&mut p, raw, setup, prepared, "svm", &svm)?;
    let analysis = p.step(AnalyseStep, (forest.trained, prepared, raw));
    let package = p.step(blocks::PackageModelStep, (forest.trained, prepared, raw));
    Ok((p, Handles { forest, svm, analysis, package }))
}
