//! Histogram-based gradient-boosted trees, as scikit-learn's `HistGradientBoostingClassifier` and
//! `HistGradientBoostingRegressor`: [`GradientBoosting`] (binary and multiclass) and
//! [`GradientBoostingRegressor`], both fitted with [`BoostingParams`].
//!
//! Unlike the other models, these accept **NaN** in `x` as a missing value (each split learns
//! which side missing values go); infinite values are still refused.
//!
//! | file | job |
//! |---|---|
//! | `binning.rs` | feature values to at most `max_bins` quantile bins, NaN its own bin |
//! | `histogram.rs` | per-node gradient/hessian histograms, the subtraction trick |
//! | `grower.rs` | one tree, grown leaf-wise (best first) |
//! | `loss.rs` | baselines, gradients and hessians, the loss early stopping scores |
//! | `ensemble.rs` | the boosting rounds, the validation split, early stopping |
//! | `predictor.rs` | a fitted tree, evaluated on raw values |
//! | `parallel.rs` | deterministic work splitting over threads |

use ndarray::{Array1, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Classifier, ModelError, Regressor, check_classes_with, invalid};

mod binning;
mod ensemble;
mod grower;
mod histogram;
mod loss;
mod parallel;
mod predictor;

use ensemble::Ensemble;
use loss::{Loss, softmax_into};

pub(super) const CLASSIFIER: &str = "gradient boosting";
pub(super) const REGRESSOR: &str = "gradient boosting regressor";
const TRAINING: &str = "training data";
const INPUT: &str = "prediction input";

/// When to stop adding trees before `max_iter` rounds, scoring the loss on a held-out validation
/// part of the training data.
///
/// ```
/// use mlflow_ml::models::{BoostingParams, EarlyStopping};
/// assert_eq!(BoostingParams::default().early_stopping, EarlyStopping::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EarlyStopping {
    /// On when the training data have more than 10,000 rows (scikit-learn's `"auto"`).
    Auto,
    /// Always on.
    On,
    /// Never: exactly `max_iter` rounds on all the training rows.
    Off,
}

/// Hyperparameters of [`GradientBoosting`] and [`GradientBoostingRegressor`]; `Default` is
/// scikit-learn's `HistGradientBoostingClassifier()` / `HistGradientBoostingRegressor()`: 100
/// rounds at learning rate 0.1, trees of at most 31 leaves of at least 20 samples, 255 bins, no L2
/// penalty, early stopping on above 10,000 rows with a 10% validation part, 10 rounds of patience
/// and tolerance `1e-7`.
///
/// ```
/// use mlflow_ml::models::BoostingParams;
/// let p = BoostingParams::default();
/// assert_eq!((p.max_iter, p.max_leaf_nodes, p.min_samples_leaf, p.max_bins), (100, Some(31), 20, 255));
/// assert_eq!((p.learning_rate, p.l2_regularization, p.max_depth), (0.1, 0.0, None));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostingParams {
    /// Shrinkage of every leaf value, finite and `> 0` (default `0.1`).
    pub learning_rate: f64,
    /// Boosting rounds, at least 1 (default 100); a multiclass model grows one tree per class per
    /// round.
    pub max_iter: usize,
    /// Leaves per tree, at least 2, or `None` for no limit (default `Some(31)`).
    pub max_leaf_nodes: Option<usize>,
    /// Depth limit (edges from the root to the deepest leaf), at least 1, or `None` (default).
    pub max_depth: Option<usize>,
    /// Samples every leaf keeps, at least 1 (default 20).
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values, finite and `>= 0` (default 0).
    pub l2_regularization: f64,
    /// Bins for each feature's non-missing values, 2 to 255 (default 255); NaN has one more.
    pub max_bins: usize,
    /// When to stop early (default [`EarlyStopping::Auto`]).
    pub early_stopping: EarlyStopping,
    /// Share of the training rows held out to score early stopping, strictly between 0 and 1
    /// (default 0.1); stratified by class for the classifier.
    pub validation_fraction: f64,
    /// Early stopping stops when the last `n_iter_no_change` rounds did not improve the
    /// validation loss by more than `tol`; at least 1 (default 10).
    pub n_iter_no_change: usize,
    /// The improvement that counts, finite and `>= 0` (default `1e-7`).
    pub tol: f64,
    /// Seed of the validation split and of the binning sample (rows beyond 200,000).
    pub seed: u64,
    /// Threads for binning and histograms; `0` means all available cores. The fitted model is
    /// the same for any value.
    pub threads: usize,
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            seed: 0,
            threads: 0,
        }
    }
}

impl BoostingParams {
    /// Checks every parameter's range; `model` names the model in the error.
    fn check(&self, model: &'static str) -> Result<(), ModelError> {
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid(model, "learning_rate", self.learning_rate, "a finite number > 0"));
        }
        if self.max_iter == 0 {
            return Err(invalid(model, "max_iter", 0, "at least 1 round"));
        }
        if let Some(m) = self.max_leaf_nodes.filter(|&m| m < 2) {
            return Err(invalid(model, "max_leaf_nodes", m, "at least 2 leaves, or None for no limit"));
        }
        if self.max_depth == Some(0) {
            return Err(invalid(model, "max_depth", 0, "at least 1, or None for no limit"));
        }
        if self.min_samples_leaf == 0 {
            return Err(invalid(model, "min_samples_leaf", 0, "at least 1 sample"));
        }
        if !(self.l2_regularization.is_finite() && self.l2_regularization >= 0.0) {
            return Err(invalid(model, "l2_regularization", self.l2_regularization, "a finite number >= 0"));
        }
        if !(2..=255).contains(&self.max_bins) {
            return Err(invalid(model, "max_bins", self.max_bins, "2 to 255 bins"));
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return Err(invalid(
                model,
                "validation_fraction",
                self.validation_fraction,
                "a share strictly between 0 and 1",
            ));
        }
        if self.n_iter_no_change == 0 {
            return Err(invalid(model, "n_iter_no_change", 0, "at least 1 round"));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(invalid(model, "tol", self.tol, "a finite number >= 0"));
        }
        Ok(())
    }
}

/// A fitted gradient-boosted classifier (binary or multiclass), as scikit-learn's
/// `HistGradientBoostingClassifier`.
///
/// Binary models grow one tree per round on the binary log loss and start from the log-odds of
/// class 1; with `k > 2` classes, `k` trees per round on the multinomial log loss, starting from
/// the logs of the class rates. Probabilities are the sigmoid (binary) or the softmax of the raw
/// sums. NaN in `x` is a missing value; see [`BoostingParams`] for the settings.
///
/// ```
/// use mlflow_ml::models::{BoostingParams, Classifier, GradientBoosting};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((90, 2), |(i, j)| if j == 0 { (i % 30) as f64 } else { f64::NAN });
/// let y: Vec<usize> = (0..90).map(|i| (i % 30) / 10).collect();
/// let model = GradientBoosting::fit(x.view(), &y, &BoostingParams::default())?;
/// assert_eq!(model.n_classes(), 3);
/// assert_eq!(model.predict(x.view())?.to_vec(), y);
/// let p = model.predict_proba(x.view())?;
/// assert!((p.row(0).sum() - 1.0).abs() < 1e-12);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoosting {
    n_features: usize,
    n_classes: usize,
    ensemble: Ensemble,
}

impl GradientBoosting {
    /// Fits on `x` (rows = samples, NaN allowed) and class indices `y` in `0..k` (every class
    /// present, `k >= 2`).
    ///
    /// Errors: [`ModelError::InvalidParam`] for a parameter out of range, [`ModelError::Empty`],
    /// [`ModelError::LengthMismatch`], [`ModelError::NonFinite`] for an infinite value,
    /// [`ModelError::MissingClass`] and [`ModelError::SingleClass`] for the labels.
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoosting, ModelError};
    /// use ndarray::array;
    /// let x = array![[0.0], [f64::INFINITY]];
    /// let err = GradientBoosting::fit(x.view(), &[0, 1], &BoostingParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::NonFinite { row: 1, column: 0, .. }));
    /// let bad = BoostingParams { learning_rate: 0.0, ..Default::default() };
    /// let err = GradientBoosting::fit(array![[0.0], [1.0]].view(), &[0, 1], &bad).unwrap_err();
    /// assert!(matches!(err, ModelError::InvalidParam { param: "learning_rate", .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[usize], params: &BoostingParams) -> Result<Self, ModelError> {
        params.check(CLASSIFIER)?;
        let classes = check_classes_with(x, y, check_no_infinity)?.len();
        let loss = if classes == 2 { Loss::Binary } else { Loss::Multinomial(classes) };
        let targets: Vec<f64> = y.iter().map(|&c| c as f64).collect();
        let ensemble = Ensemble::fit(x, &targets, loss, params);
        Ok(GradientBoosting { n_features: x.ncols(), n_classes: classes, ensemble })
    }

    /// Boosting rounds fitted (fewer than `max_iter` when early stopping stopped).
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoosting};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0], [2.0], [3.0]];
    /// let m = GradientBoosting::fit(x.view(), &[0, 0, 1, 1], &BoostingParams { max_iter: 7, ..Default::default() })?;
    /// assert_eq!(m.n_iter(), 7);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_iter(&self) -> usize {
        self.ensemble.rounds.len()
    }

    /// Each feature's bin thresholds (increasing; a value `v` is in bin `i` when
    /// `thresholds[i - 1] < v <= thresholds[i]`), as scikit-learn's `_bin_mapper.bin_thresholds_`.
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoosting};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0], [1.0], [3.0]];
    /// let m = GradientBoosting::fit(x.view(), &[0, 0, 1, 1], &BoostingParams::default())?;
    /// assert_eq!(m.bin_thresholds(), [vec![0.5, 2.0]]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn bin_thresholds(&self) -> &[Vec<f64>] {
        &self.ensemble.thresholds
    }

    /// The mean validation loss at the baseline and after each round, when early stopping was on
    /// (empty otherwise), as scikit-learn's `-validation_score_`.
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, EarlyStopping, GradientBoosting};
    /// use ndarray::Array2;
    /// let x = Array2::from_shape_fn((200, 1), |(i, _)| i as f64);
    /// let y: Vec<usize> = (0..200).map(|i| usize::from(i >= 100)).collect();
    /// let p = BoostingParams { early_stopping: EarlyStopping::On, max_iter: 5, ..Default::default() };
    /// let m = GradientBoosting::fit(x.view(), &y, &p)?;
    /// assert_eq!(m.validation_loss().len(), m.n_iter() + 1);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn validation_loss(&self) -> &[f64] {
        &self.ensemble.validation_loss
    }

    /// Total number of leaves over all trees.
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoosting};
    /// use ndarray::array;
    /// let x = array![[0.0], [1.0]];
    /// // Fewer than 2 * min_samples_leaf rows: every tree is a single leaf.
    /// let m = GradientBoosting::fit(x.view(), &[0, 1], &BoostingParams { max_iter: 3, ..Default::default() })?;
    /// assert_eq!(m.n_leaves(), 3);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_leaves(&self) -> usize {
        self.ensemble.rounds.iter().flatten().map(|t| t.n_leaves()).sum()
    }
}

impl Classifier for GradientBoosting {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Class probabilities; NaN in `x` is a missing value, infinities are a
    /// [`ModelError::NonFinite`].
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        check_input(x, self.n_features)?;
        let raw = self.ensemble.raw_predict(x, CLASSIFIER)?;
        match (self.n_classes, raw.ncols()) {
            (2, 1) => Ok(super::two_columns(raw.column(0).mapv(super::sigmoid))),
            (k, c) if k > 2 && c == k => {
                let mut out = Array2::zeros(raw.dim());
                let mut p = vec![0.0; k];
                for (mut o, r) in out.rows_mut().into_iter().zip(raw.rows()) {
                    softmax_into(r.iter().copied(), &mut p);
                    o.iter_mut().zip(&p).for_each(|(o, p)| *o = *p);
                }
                Ok(out)
            }
            (k, c) => Err(ModelError::Corrupt {
                model: CLASSIFIER,
                detail: format!("{k} classes but {c} trees per round"),
            }),
        }
    }
}

/// A fitted gradient-boosted regressor on the squared error, as scikit-learn's
/// `HistGradientBoostingRegressor`: the mean of `y` plus the sum of the trees' leaf values.
///
/// ```
/// use mlflow_ml::models::{BoostingParams, GradientBoostingRegressor, Regressor};
/// use ndarray::Array2;
/// let x = Array2::from_shape_fn((100, 1), |(i, _)| if i % 10 == 0 { f64::NAN } else { i as f64 });
/// let y: Vec<f64> = (0..100).map(|i| if i < 50 { 1.0 } else { 5.0 }).collect();
/// let m = GradientBoostingRegressor::fit(x.view(), &y, &BoostingParams::default())?;
/// let p = m.predict(Array2::from_shape_vec((2, 1), vec![10.0, 90.0]).unwrap().view())?;
/// assert!((p[0] - 1.0).abs() < 0.05 && (p[1] - 5.0).abs() < 0.05);
/// # Ok::<(), mlflow_ml::models::ModelError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientBoostingRegressor {
    n_features: usize,
    ensemble: Ensemble,
}

impl GradientBoostingRegressor {
    /// Fits on `x` (rows = samples, NaN allowed) and finite targets `y`.
    ///
    /// Errors: [`ModelError::InvalidParam`], [`ModelError::Empty`], [`ModelError::TargetCount`],
    /// [`ModelError::NonFinite`] for an infinite feature value, [`ModelError::NonFiniteTarget`].
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoostingRegressor, ModelError};
    /// use ndarray::array;
    /// let x = array![[0.0], [f64::NAN]];
    /// let err = GradientBoostingRegressor::fit(x.view(), &[1.0, f64::NAN], &BoostingParams::default()).unwrap_err();
    /// assert!(matches!(err, ModelError::NonFiniteTarget { row: 1, .. }));
    /// ```
    pub fn fit(x: ArrayView2<'_, f64>, y: &[f64], params: &BoostingParams) -> Result<Self, ModelError> {
        params.check(REGRESSOR)?;
        let (rows, columns) = x.dim();
        if rows == 0 || columns == 0 {
            return Err(ModelError::Empty { what: TRAINING, rows, columns });
        }
        if y.len() != rows {
            return Err(ModelError::TargetCount { rows, targets: y.len() });
        }
        check_no_infinity(x, TRAINING)?;
        if let Some((row, &value)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NonFiniteTarget { row, value });
        }
        let ensemble = Ensemble::fit(x, y, Loss::Squared, params);
        Ok(GradientBoostingRegressor { n_features: columns, ensemble })
    }

    /// Boosting rounds fitted (fewer than `max_iter` when early stopping stopped).
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoostingRegressor};
    /// use ndarray::array;
    /// let m = GradientBoostingRegressor::fit(array![[0.0], [1.0]].view(), &[0.0, 1.0], &BoostingParams { max_iter: 4, ..Default::default() })?;
    /// assert_eq!(m.n_iter(), 4);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn n_iter(&self) -> usize {
        self.ensemble.rounds.len()
    }

    /// Each feature's bin thresholds, as [`GradientBoosting::bin_thresholds`].
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoostingRegressor};
    /// use ndarray::array;
    /// let x = array![[1.0, f64::NAN], [2.0, 5.0]];
    /// let m = GradientBoostingRegressor::fit(x.view(), &[0.0, 1.0], &BoostingParams::default())?;
    /// assert_eq!(m.bin_thresholds(), [vec![1.5], vec![]]);
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn bin_thresholds(&self) -> &[Vec<f64>] {
        &self.ensemble.thresholds
    }

    /// The mean validation loss (half squared error) at the baseline and after each round, when
    /// early stopping was on (empty otherwise).
    ///
    /// ```
    /// use mlflow_ml::models::{BoostingParams, GradientBoostingRegressor};
    /// use ndarray::array;
    /// let m = GradientBoostingRegressor::fit(array![[0.0], [1.0]].view(), &[0.0, 1.0], &BoostingParams::default())?;
    /// assert!(m.validation_loss().is_empty());
    /// # Ok::<(), mlflow_ml::models::ModelError>(())
    /// ```
    pub fn validation_loss(&self) -> &[f64] {
        &self.ensemble.validation_loss
    }
}

impl Regressor for GradientBoostingRegressor {
    fn n_features(&self) -> usize {
        self.n_features
    }

    /// Predictions; NaN in `x` is a missing value, infinities are a [`ModelError::NonFinite`].
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>, ModelError> {
        check_input(x, self.n_features)?;
        let raw = self.ensemble.raw_predict(x, REGRESSOR)?;
        if raw.ncols() != 1 {
            return Err(ModelError::Corrupt {
                model: REGRESSOR,
                detail: format!("{} trees per round instead of 1", raw.ncols()),
            });
        }
        Ok(raw.column(0).to_owned())
    }
}

fn check_input(x: ArrayView2<'_, f64>, expected: usize) -> Result<(), ModelError> {
    if x.ncols() != expected {
        return Err(ModelError::FeatureCount { expected, found: x.ncols() });
    }
    check_no_infinity(x, INPUT)
}

/// NaN is a missing value here; only infinities are refused.
fn check_no_infinity(x: ArrayView2<'_, f64>, what: &'static str) -> Result<(), ModelError> {
    for (row, values) in x.rows().into_iter().enumerate() {
        for (column, &value) in values.iter().enumerate() {
            if value.is_infinite() {
                return Err(ModelError::NonFinite { what, row, column, value });
            }
        }
    }
    Ok(())
}
