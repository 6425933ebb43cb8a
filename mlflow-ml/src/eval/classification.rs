//! Classification with any number of classes, equal to scikit-learn's `sklearn.metrics`.
//!
//! Classes are indices `0..n_classes`; the class count is always explicit, so the label order is
//! `0, 1, ..., n_classes - 1` (scikit-learn's `labels=range(n_classes)`) and a class absent from
//! the data still has its row and column. Everything computed from predicted classes goes through
//! a [`ConfusionMatrix`]; the probability metrics ([`log_loss`], [`brier_score`],
//! [`roc_auc_ovr`], [`roc_auc_ovo`], [`average_precision_ovr`]) take a `(samples, n_classes)`
//! matrix of probabilities, columns in class order. [`ClassificationReport`] computes them all.
//!
//! # Conventions (scikit-learn 1.9's defaults)
//! - **Zero division**: a precision with no predicted sample of the class, a recall with no true
//!   sample, an F-beta whose precision and recall are both 0/0, a specificity with no negative
//!   sample are **0.0** (`zero_division="warn"`, which returns 0.0 and warns; we do not warn).
//!   Macro averages include those zeros.
//! - **Balanced accuracy** is the mean recall over the classes **present in `y_true`** (scikit-learn
//!   drops the others, warning "y_pred contains classes not in y_true").
//! - **Matthews correlation** is 0.0 when its denominator is 0 (one class predicted or true).
//! - **Cohen's kappa** is undefined (scikit-learn: NaN with a warning) when `y_true` and `y_pred`
//!   share a single class: [`EvalError::Undefined`] here.
//! - **Decision rules**: multiclass predictions are the argmax of the probabilities, the first
//!   class on ties (scikit-learn's `predict` = `classes_[argmax(predict_proba)]`), see
//!   [`predict_argmax`]. For two classes, [`predict_binary`] with an explicit [`Threshold`]:
//!   `Threshold::Above(0.5)` (`score > 0.5`) is argmax of `[1 - p, p]` and the rule of
//!   [`evaluate`](super::evaluate); `Threshold::AtLeast(t)` is `score >= t`.
//!
//! ```
//! use mlflow_ml::eval::{Average, ConfusionMatrix};
//! let y_true = [0, 1, 2, 2, 1, 0];
//! let y_pred = [0, 2, 2, 2, 1, 1];
//! let m = ConfusionMatrix::compute(&y_true, &y_pred, 3)?;
//! assert_eq!(m.rows(), vec![vec![1, 1, 0], vec![0, 1, 1], vec![0, 0, 2]]);
//! assert_eq!(m.accuracy(), 4.0 / 6.0);
//! assert_eq!(m.recall(Average::Macro)?, (0.5 + 0.5 + 1.0) / 3.0);
//! # Ok::<(), mlflow_ml::eval::EvalError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::probability::{check_proba, row_sums_off};
use super::{Average, EvalError, MulticlassAverage, Scores};

pub use super::probability::{
    average_precision_ovr, average_precision_per_class, binary_average_precision, binary_brier_score,
    brier_score, log_loss, roc_auc_ovo, roc_auc_ovr, unnormalized_rows,
};

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// Checks `y_true` and `y_pred` against each other and `n_classes`.
fn check_labels(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<(), EvalError> {
    if y_true.len() != y_pred.len() {
        return Err(EvalError::RowsMismatch { y_true: y_true.len(), other: "y_pred", got: y_pred.len() });
    }
    check_classes(y_true, "y_true", n_classes)?;
    check_classes(y_pred, "y_pred", n_classes)
}

pub(super) fn check_classes(y: &[usize], what: &'static str, n_classes: usize) -> Result<(), EvalError> {
    if y.is_empty() {
        return Err(EvalError::Empty);
    }
    if let Some((row, &value)) = y.iter().enumerate().find(|&(_, &c)| c >= n_classes) {
        return Err(EvalError::ClassOutOfRange { what, row, value, n_classes });
    }
    Ok(())
}

/// A decision rule turning a binary score `P(class 1)` into a class.
///
/// ```
/// use mlflow_ml::eval::Threshold;
/// assert_eq!(Threshold::Above(0.5).class_of(0.5), 0); // 0.5 is not above 0.5
/// assert_eq!(Threshold::AtLeast(0.5).class_of(0.5), 1);
/// assert_eq!(Threshold::default(), Threshold::Above(0.5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Threshold {
    /// Class 1 when `score > t`: with `t = 0.5` the argmax of `[1 - p, p]` (first class on a
    /// tie), i.e. what scikit-learn's `predict` gives for a probabilistic binary classifier, and
    /// the rule of [`evaluate`](super::evaluate). The default, at 0.5.
    Above(f64),
    /// Class 1 when `score >= t` (the convention of scikit-learn's ROC and PR curves).
    AtLeast(f64),
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::Above(0.5)
    }
}

impl Threshold {
    /// The class (0 or 1) of one score.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::Threshold::Above(0.3).class_of(0.4), 1);
    /// ```
    pub fn class_of(self, score: f64) -> usize {
        match self {
            Threshold::Above(t) => usize::from(score > t),
            Threshold::AtLeast(t) => usize::from(score >= t),
        }
    }

    fn value(self) -> f64 {
        match self {
            Threshold::Above(t) | Threshold::AtLeast(t) => t,
        }
    }
}

/// Classes 0/1 from binary scores by an explicit rule.
///
/// Scores must be finite; the threshold must be finite too ([`EvalError::BadThreshold`]).
///
/// ```
/// use mlflow_ml::eval::classification::predict_binary;
/// use mlflow_ml::eval::Threshold;
/// let s = [0.2, 0.5, 0.9];
/// assert_eq!(predict_binary(&s, Threshold::Above(0.5))?, vec![0, 0, 1]);
/// assert_eq!(predict_binary(&s, Threshold::AtLeast(0.5))?, vec![0, 1, 1]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn predict_binary(scores: &[f64], rule: Threshold) -> Result<Vec<usize>, EvalError> {
    if !rule.value().is_finite() {
        return Err(EvalError::BadThreshold { value: rule.value() });
    }
    if let Some((row, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(EvalError::NotFinite { what: "scores", row, value });
    }
    Ok(scores.iter().map(|&s| rule.class_of(s)).collect())
}

/// The predicted class of each row: the column of the largest value, the **first** one on ties
/// (numpy's `argmax`, so scikit-learn's `predict` for a probabilistic classifier).
///
/// Values must be finite ([`EvalError::NotFinite`]); rows need not sum to 1.
///
/// ```
/// use mlflow_ml::eval::classification::predict_argmax;
/// use ndarray::array;
/// let p = array![[0.2, 0.5, 0.3], [0.4, 0.2, 0.4], [0.5, 0.5, 0.0]];
/// assert_eq!(predict_argmax(p.view())?, vec![1, 0, 0]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn predict_argmax(proba: ArrayView2<'_, f64>) -> Result<Vec<usize>, EvalError> {
    if proba.ncols() == 0 {
        return Err(EvalError::ProbaWidth { columns: 0, n_classes: 1 });
    }
    if let Some(((row, _), &value)) = proba.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(EvalError::NotFinite { what: "proba", row, value });
    }
    Ok(crate::models::argmax_rows(proba).to_vec())
}

/// Weights of Cohen's kappa (scikit-learn's `weights=`).
///
/// ```
/// use mlflow_ml::eval::{ConfusionMatrix, KappaWeights};
/// let m = ConfusionMatrix::compute(&[0, 1, 2, 2], &[0, 2, 2, 1], 3)?;
/// assert!(m.cohen_kappa(KappaWeights::Quadratic)? > m.cohen_kappa(KappaWeights::None)?);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum KappaWeights {
    /// Every disagreement costs 1 (`weights=None`).
    #[default]
    None,
    /// A disagreement between classes `i` and `j` costs `|i - j|`.
    Linear,
    /// A disagreement costs `(i - j)^2`.
    Quadratic,
}

/// An N x N confusion matrix: `get(actual, predicted)` counts the samples of true class `actual`
/// predicted as `predicted` (rows = actual, columns = predicted, classes in index order, as
/// scikit-learn's `confusion_matrix(y_true, y_pred, labels=range(n_classes))`).
///
/// Every metric of predicted classes is a method. It serialises as the list of rows and
/// deserialises only from a non-empty square list ([`EvalError::NotSquare`]).
///
/// ```
/// use mlflow_ml::eval::ConfusionMatrix;
/// let m = ConfusionMatrix::compute(&[0, 1, 1, 2], &[0, 1, 2, 2], 4)?;
/// assert_eq!(m.n_classes(), 4);
/// assert_eq!((m.get(1, 2), m.get(2, 2), m.get(3, 3)), (1, 1, 0));
/// assert_eq!((m.true_positives(1), m.false_negatives(1), m.false_positives(2)), (1, 1, 1));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Vec<u64>>", into = "Vec<Vec<u64>>")]
pub struct ConfusionMatrix {
    n: usize,
    /// Row-major, `n * n`.
    counts: Vec<u64>,
}

impl TryFrom<Vec<Vec<u64>>> for ConfusionMatrix {
    type Error = EvalError;

    /// From rows (actual class) of counts by predicted class.
    ///
    /// ```
    /// use mlflow_ml::eval::{ConfusionMatrix, EvalError};
    /// let m = ConfusionMatrix::try_from(vec![vec![3, 1], vec![0, 2]])?;
    /// assert_eq!(m.accuracy(), 5.0 / 6.0);
    /// assert!(matches!(ConfusionMatrix::try_from(vec![vec![1, 2]]), Err(EvalError::NotSquare { .. })));
    /// # Ok::<(), EvalError>(())
    /// ```
    fn try_from(rows: Vec<Vec<u64>>) -> Result<Self, Self::Error> {
        let n = rows.len();
        if n == 0 {
            return Err(EvalError::NotSquare { rows: 0, row: 0, len: 0 });
        }
        if let Some((row, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != n) {
            return Err(EvalError::NotSquare { rows: n, row, len: r.len() });
        }
        Ok(ConfusionMatrix { n, counts: rows.into_iter().flatten().collect() })
    }
}

impl From<ConfusionMatrix> for Vec<Vec<u64>> {
    fn from(m: ConfusionMatrix) -> Self {
        m.rows()
    }
}

impl ConfusionMatrix {
    /// Counts `(y_true[i], y_pred[i])` pairs over classes `0..n_classes`.
    ///
    /// Errors: empty input, different lengths, a class `>= n_classes` in either (with its row).
    ///
    /// ```
    /// use mlflow_ml::eval::{ConfusionMatrix, EvalError};
    /// let err = ConfusionMatrix::compute(&[0, 1], &[0, 3], 3).unwrap_err();
    /// assert!(matches!(err, EvalError::ClassOutOfRange { what: "y_pred", row: 1, value: 3, n_classes: 3 }));
    /// ```
    pub fn compute(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<Self, EvalError> {
        check_labels(y_true, y_pred, n_classes)?;
        let mut counts = vec![0u64; n_classes * n_classes];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            counts[t * n_classes + p] += 1;
        }
        Ok(ConfusionMatrix { n: n_classes, counts })
    }

    /// The number of classes (rows and columns).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0], &[0], 3)?.n_classes(), 3);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn n_classes(&self) -> usize {
        self.n
    }

    /// Samples of true class `actual` predicted `predicted`; 0 outside the matrix.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[1], &[0], 2)?;
    /// assert_eq!((m.get(1, 0), m.get(0, 1), m.get(5, 5)), (1, 0, 0));
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn get(&self, actual: usize, predicted: usize) -> u64 {
        if actual < self.n && predicted < self.n { self.counts[actual * self.n + predicted] } else { 0 }
    }

    /// The matrix as rows (actual class) of counts by predicted class.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 1], &[1, 1], 2)?;
    /// assert_eq!(m.rows(), vec![vec![0, 1], vec![0, 1]]);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn rows(&self) -> Vec<Vec<u64>> {
        self.counts.chunks(self.n).map(<[u64]>::to_vec).collect()
    }

    /// Number of samples.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.total(), 3);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// True samples of class `c` (its support; row sum).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.support(1), 2);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn support(&self, c: usize) -> u64 {
        (0..self.n).map(|p| self.get(c, p)).sum()
    }

    /// Samples predicted as class `c` (column sum).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.predicted(1), 2);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn predicted(&self, c: usize) -> u64 {
        (0..self.n).map(|a| self.get(a, c)).sum()
    }

    /// Samples of class `c` predicted `c`.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.true_positives(1), 1);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn true_positives(&self, c: usize) -> u64 {
        self.get(c, c)
    }

    /// Samples of another class predicted `c`.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.false_positives(1), 1);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn false_positives(&self, c: usize) -> u64 {
        self.predicted(c) - self.true_positives(c)
    }

    /// Samples of class `c` predicted another class.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.false_negatives(1), 1);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn false_negatives(&self, c: usize) -> u64 {
        self.support(c) - self.true_positives(c)
    }

    /// Samples neither of class `c` nor predicted `c`.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 0], 2)?.true_negatives(1), 0);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn true_negatives(&self, c: usize) -> u64 {
        // tp is counted in both the support and the predicted count.
        self.total() + self.true_positives(c) - self.support(c) - self.predicted(c)
    }

    /// Fraction of samples on the diagonal (`accuracy_score`).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 2, 2], &[0, 1, 1, 2], 3)?.accuracy(), 0.75);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.n).map(|c| self.get(c, c)).sum();
        ratio(correct as f64, self.total() as f64)
    }

    /// Mean recall over the classes present in `y_true` (`balanced_accuracy_score`; classes only
    /// predicted are skipped, as scikit-learn does with a warning).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// // Class 2 is never true: the mean is over classes 0 (recall 1/2) and 1 (recall 1).
    /// assert_eq!(ConfusionMatrix::compute(&[0, 0, 1], &[0, 2, 1], 3)?.balanced_accuracy(), 0.75);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.n)
            .filter(|&c| self.support(c) > 0)
            .map(|c| self.true_positives(c) as f64 / self.support(c) as f64)
            .collect();
        ratio(recalls.iter().sum(), recalls.len() as f64)
    }

    /// Precision of each class: tp / predicted, 0.0 when nothing is predicted `c`.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 3)?;
    /// assert_eq!(m.precision_per_class(), vec![0.0, 2.0 / 3.0, 0.0]);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn precision_per_class(&self) -> Vec<f64> {
        (0..self.n).map(|c| ratio(self.true_positives(c) as f64, self.predicted(c) as f64)).collect()
    }

    /// Recall of each class: tp / support, 0.0 when the class is never true.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 3)?;
    /// assert_eq!(m.recall_per_class(), vec![0.0, 1.0, 0.0]);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn recall_per_class(&self) -> Vec<f64> {
        (0..self.n).map(|c| ratio(self.true_positives(c) as f64, self.support(c) as f64)).collect()
    }

    /// F-beta of each class: `(1 + b^2) tp / (b^2 support + predicted)` (scikit-learn's form),
    /// 0.0 when the denominator is 0; `beta = 0` is precision, `beta = inf` recall.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.f_beta_per_class(1.0)?, vec![0.0, 0.8]);
    /// assert_eq!(m.f_beta_per_class(0.0)?, m.precision_per_class());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn f_beta_per_class(&self, beta: f64) -> Result<Vec<f64>, EvalError> {
        check_beta(beta)?;
        Ok((0..self.n).map(|c| self.f_beta_of(beta, self.tp_pred_true(c))).collect())
    }

    /// F1 of each class (`f_beta_per_class(1.0)`).
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.f1_per_class(), vec![0.0, 0.8]);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn f1_per_class(&self) -> Vec<f64> {
        (0..self.n).map(|c| self.f_beta_of(1.0, self.tp_pred_true(c))).collect()
    }

    /// Specificity of each class: tn / (tn + fp), 0.0 when every sample is of class `c`.
    /// (Not a scikit-learn function; computed from its `multilabel_confusion_matrix` in the
    /// fixtures, with its zero-division value.)
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 0, 1, 2], &[0, 1, 1, 2], 3)?;
    /// assert_eq!(m.specificity_per_class(), vec![1.0, 2.0 / 3.0, 1.0]);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn specificity_per_class(&self) -> Vec<f64> {
        (0..self.n)
            .map(|c| {
                let tn = self.true_negatives(c) as f64;
                ratio(tn, tn + self.false_positives(c) as f64)
            })
            .collect()
    }

    /// Mean specificity over all classes.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// let m = ConfusionMatrix::compute(&[0, 0, 1, 2], &[0, 1, 1, 2], 3)?;
    /// assert!((m.specificity_macro() - 8.0 / 9.0).abs() < 1e-15);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn specificity_macro(&self) -> f64 {
        mean(&self.specificity_per_class())
    }

    /// Precision averaged as `average` says (`precision_score`).
    ///
    /// ```
    /// use mlflow_ml::eval::{Average, ConfusionMatrix};
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.precision(Average::Weighted)?, (0.0 * 1.0 + (2.0 / 3.0) * 2.0) / 3.0);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn precision(&self, average: Average) -> Result<f64, EvalError> {
        self.averaged(average, |(tp, pred, _)| ratio(tp, pred))
    }

    /// Recall averaged as `average` says (`recall_score`).
    ///
    /// ```
    /// use mlflow_ml::eval::{Average, ConfusionMatrix};
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.recall(Average::Macro)?, 0.5);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn recall(&self, average: Average) -> Result<f64, EvalError> {
        self.averaged(average, |(tp, _, truth)| ratio(tp, truth))
    }

    /// F1 averaged as `average` says (`f1_score`). Macro F1 is the mean of per-class F1 (not the
    /// F1 of macro precision and recall), as in scikit-learn.
    ///
    /// ```
    /// use mlflow_ml::eval::{Average, ConfusionMatrix};
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.f1(Average::Macro)?, 0.4);
    /// assert_eq!(m.f1(Average::Micro)?, m.accuracy());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn f1(&self, average: Average) -> Result<f64, EvalError> {
        self.averaged(average, |counts| self.f_beta_of(1.0, counts))
    }

    /// F-beta averaged as `average` says (`fbeta_score`); `beta` must be `>= 0` (infinity allowed).
    ///
    /// ```
    /// use mlflow_ml::eval::{Average, ConfusionMatrix, EvalError};
    /// let m = ConfusionMatrix::compute(&[0, 1, 1], &[1, 1, 1], 2)?;
    /// assert_eq!(m.f_beta(f64::INFINITY, Average::Macro)?, m.recall(Average::Macro)?);
    /// assert!(matches!(m.f_beta(-1.0, Average::Macro), Err(EvalError::BadBeta { .. })));
    /// # Ok::<(), EvalError>(())
    /// ```
    pub fn f_beta(&self, beta: f64, average: Average) -> Result<f64, EvalError> {
        check_beta(beta)?;
        self.averaged(average, |counts| self.f_beta_of(beta, counts))
    }

    /// Matthews correlation coefficient, multiclass form (`matthews_corrcoef`):
    /// `(c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t))` with `c` correct, `s` samples, `t` / `p` the
    /// true / predicted counts per class; 0.0 when the denominator is 0.
    ///
    /// ```
    /// # use mlflow_ml::eval::ConfusionMatrix;
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 2], &[0, 1, 2], 3)?.matthews(), 1.0);
    /// assert_eq!(ConfusionMatrix::compute(&[0, 1, 2], &[1, 1, 1], 3)?.matthews(), 0.0);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn matthews(&self) -> f64 {
        let t: Vec<f64> = (0..self.n).map(|c| self.support(c) as f64).collect();
        let p: Vec<f64> = (0..self.n).map(|c| self.predicted(c) as f64).collect();
        let correct: f64 = (0..self.n).map(|c| self.get(c, c) as f64).sum();
        let s: f64 = p.iter().sum();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let cov_ytyp = correct * s - dot(&t, &p);
        let cov_ypyp = s * s - dot(&p, &p);
        let cov_ytyt = s * s - dot(&t, &t);
        let den = cov_ypyp * cov_ytyt;
        if den == 0.0 { 0.0 } else { cov_ytyp / den.sqrt() }
    }

    /// Cohen's kappa between `y_true` and `y_pred` (`cohen_kappa_score(labels=range(n))`):
    /// `1 - sum(w * C) / sum(w * E)` with `E` the outer product of the marginals over the total.
    ///
    /// Undefined ([`EvalError::Undefined`]; scikit-learn: NaN with a warning) when `sum(w * E)`
    /// is 0, i.e. when `y_true` and `y_pred` use the same single class.
    ///
    /// ```
    /// use mlflow_ml::eval::{ConfusionMatrix, EvalError, KappaWeights};
    /// let m = ConfusionMatrix::compute(&[0, 0, 1, 1], &[0, 1, 1, 1], 2)?;
    /// assert_eq!(m.cohen_kappa(KappaWeights::None)?, 0.5);
    /// let one = ConfusionMatrix::compute(&[1, 1], &[1, 1], 3)?;
    /// assert!(matches!(one.cohen_kappa(KappaWeights::None), Err(EvalError::Undefined { .. })));
    /// # Ok::<(), EvalError>(())
    /// ```
    pub fn cohen_kappa(&self, weights: KappaWeights) -> Result<f64, EvalError> {
        let n = self.n;
        let sum0: Vec<f64> = (0..n).map(|c| self.predicted(c) as f64).collect();
        let sum1: Vec<f64> = (0..n).map(|c| self.support(c) as f64).collect();
        let total: f64 = sum0.iter().sum();
        let undefined =
            |reason: &str| EvalError::Undefined { metric: "cohen_kappa", reason: reason.to_owned() };
        if total == 0.0 {
            return Err(undefined("no samples"));
        }
        let w = |i: usize, j: usize| -> f64 {
            let d = i.abs_diff(j) as f64;
            match weights {
                KappaWeights::None => f64::from(u8::from(i != j)),
                KappaWeights::Linear => d,
                KappaWeights::Quadratic => d * d,
            }
        };
        let (mut num, mut den) = (0.0, 0.0);
        for (i, s0) in sum0.iter().enumerate() {
            for (j, s1) in sum1.iter().enumerate() {
                num += w(i, j) * self.get(i, j) as f64;
                den += w(i, j) * (s0 * s1 / total);
            }
        }
        if den == 0.0 {
            return Err(undefined(
                "y_true and y_pred share a single class, so agreement by chance is certain; evaluate on samples of several classes",
            ));
        }
        Ok(1.0 - num / den)
    }

    /// `(tp, predicted, true)` of class `c` as floats.
    fn tp_pred_true(&self, c: usize) -> (f64, f64, f64) {
        (self.true_positives(c) as f64, self.predicted(c) as f64, self.support(c) as f64)
    }

    fn f_beta_of(&self, beta: f64, (tp, pred, truth): (f64, f64, f64)) -> f64 {
        if beta.is_infinite() {
            return ratio(tp, truth);
        }
        if beta == 0.0 {
            return ratio(tp, pred);
        }
        let b2 = beta * beta;
        ratio((1.0 + b2) * tp, b2 * truth + pred)
    }

    fn averaged(&self, average: Average, score: impl Fn((f64, f64, f64)) -> f64) -> Result<f64, EvalError> {
        Ok(match average {
            Average::Binary { positive } => {
                if positive >= self.n {
                    return Err(EvalError::ClassOutOfRange {
                        what: "positive class",
                        row: 0,
                        value: positive,
                        n_classes: self.n,
                    });
                }
                score(self.tp_pred_true(positive))
            }
            Average::Micro => {
                let (mut tp, mut pred, mut truth) = (0.0, 0.0, 0.0);
                for c in 0..self.n {
                    let (a, b, d) = self.tp_pred_true(c);
                    tp += a;
                    pred += b;
                    truth += d;
                }
                score((tp, pred, truth))
            }
            Average::Macro => mean(&(0..self.n).map(|c| score(self.tp_pred_true(c))).collect::<Vec<_>>()),
            Average::Weighted => {
                let (mut sum, mut weights) = (0.0, 0.0);
                for c in 0..self.n {
                    let counts = self.tp_pred_true(c);
                    sum += score(counts) * counts.2;
                    weights += counts.2;
                }
                ratio(sum, weights)
            }
        })
    }
}

fn check_beta(beta: f64) -> Result<(), EvalError> {
    if beta.is_nan() || beta < 0.0 {
        return Err(EvalError::BadBeta { value: beta });
    }
    Ok(())
}

pub(super) fn mean(v: &[f64]) -> f64 {
    ratio(v.iter().sum(), v.len() as f64)
}

/// Precision, recall, F1, specificity and support of one class.
///
/// ```
/// use mlflow_ml::eval::ClassificationReport;
/// let r = ClassificationReport::compute(&[0, 1, 1], &[0, 1, 0], None, 2)?;
/// assert_eq!((r.per_class[1].recall, r.per_class[1].support), (0.5, 2));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    /// tp / predicted (0.0 when never predicted).
    pub precision: f64,
    /// tp / support (0.0 when never true).
    pub recall: f64,
    /// F1 (0.0 when precision and recall are 0).
    pub f1: f64,
    /// tn / (tn + fp) (0.0 when there are no other classes' samples).
    pub specificity: f64,
    /// Number of true samples of the class.
    pub support: u64,
}

/// Precision, recall and F1 under one [`Average`].
///
/// ```
/// use mlflow_ml::eval::ClassificationReport;
/// let r = ClassificationReport::compute(&[0, 1, 1], &[0, 1, 0], None, 2)?;
/// assert_eq!(r.micro.precision, r.accuracy);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Averaged {
    /// Averaged precision.
    pub precision: f64,
    /// Averaged recall.
    pub recall: f64,
    /// Averaged F1.
    pub f1: f64,
}

/// The probability metrics of a [`ClassificationReport`]. A ranking metric is `None` where it is
/// undefined (a class never true, a single class) or where the rows do not sum to 1 (scikit-learn
/// raises for multiclass ROC AUC then); call [`roc_auc_ovr`] etc. for the reason.
///
/// ```
/// use mlflow_ml::eval::ClassificationReport;
/// use ndarray::array;
/// let p = array![[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]];
/// let r = ClassificationReport::compute(&[0, 1, 1], &[0, 1, 0], Some(p.view()), 2)?;
/// let probs = r.probability.unwrap();
/// assert_eq!(probs.roc_auc_ovr_macro, Some(1.0));
/// assert_eq!(probs.unnormalized_rows, 0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbabilityScores {
    /// [`log_loss`].
    pub log_loss: f64,
    /// [`brier_score`] (halved for two classes, as scikit-learn's default).
    pub brier: f64,
    /// [`roc_auc_ovr`], macro.
    pub roc_auc_ovr_macro: Option<f64>,
    /// [`roc_auc_ovr`], weighted.
    pub roc_auc_ovr_weighted: Option<f64>,
    /// [`roc_auc_ovo`], macro.
    pub roc_auc_ovo_macro: Option<f64>,
    /// [`roc_auc_ovo`], weighted.
    pub roc_auc_ovo_weighted: Option<f64>,
    /// [`average_precision_ovr`], macro.
    pub average_precision_macro: f64,
    /// [`average_precision_ovr`], weighted.
    pub average_precision_weighted: f64,
    /// Rows whose probabilities do not sum to 1 within scikit-learn's tolerance (see
    /// [`unnormalized_rows`]); scikit-learn warns about them in log loss and Brier.
    pub unnormalized_rows: usize,
}

/// Every classification metric of one model on one evaluation set.
///
/// ```
/// use mlflow_ml::eval::{ClassificationReport, ClassMetric};
/// use ndarray::array;
/// let p = array![[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]];
/// let y_pred = mlflow_ml::eval::classification::predict_argmax(p.view())?;
/// let r = ClassificationReport::compute(&[0, 1, 2, 1], &y_pred, Some(p.view()), 3)?;
/// assert_eq!(r.accuracy, 0.75);
/// assert_eq!(r.get(ClassMetric::Accuracy), Some(0.75));
/// assert!(r.get(ClassMetric::LogLoss).is_some());
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Number of classes.
    pub n_classes: usize,
    /// Number of samples.
    pub samples: u64,
    /// Rows = actual, columns = predicted.
    pub confusion: ConfusionMatrix,
    /// Fraction correct.
    pub accuracy: f64,
    /// Mean recall over classes present in `y_true`.
    pub balanced_accuracy: f64,
    /// One entry per class, in class order.
    pub per_class: Vec<ClassScores>,
    /// [`Average::Macro`].
    #[serde(rename = "macro")]
    pub macro_: Averaged,
    /// [`Average::Micro`].
    pub micro: Averaged,
    /// [`Average::Weighted`].
    pub weighted: Averaged,
    /// Mean specificity over classes.
    pub specificity_macro: f64,
    /// Matthews correlation.
    pub matthews: f64,
    /// Unweighted Cohen's kappa; `None` where undefined.
    pub cohen_kappa: Option<f64>,
    /// The probability metrics, when probabilities were given.
    pub probability: Option<ProbabilityScores>,
}

impl ClassificationReport {
    /// Computes every metric of `y_pred` against `y_true`, and with `proba` (rows = samples,
    /// columns = classes) the probability metrics too.
    ///
    /// Errors: empty input, different lengths, a class `>= n_classes`, and with `proba`: a width
    /// other than `n_classes`, fewer than 2 classes, a value outside `[0, 1]` or not finite.
    ///
    /// ```
    /// use mlflow_ml::eval::{ClassificationReport, EvalError};
    /// use ndarray::array;
    /// let p = array![[0.5, 0.5]];
    /// let err = ClassificationReport::compute(&[0], &[0], Some(p.view()), 3).unwrap_err();
    /// assert_eq!(err, EvalError::ProbaWidth { columns: 2, n_classes: 3 });
    /// ```
    pub fn compute(
        y_true: &[usize],
        y_pred: &[usize],
        proba: Option<ArrayView2<'_, f64>>,
        n_classes: usize,
    ) -> Result<Self, EvalError> {
        let confusion = ConfusionMatrix::compute(y_true, y_pred, n_classes)?;
        let probability = match proba {
            Some(p) => Some(probability_scores(y_true, p, n_classes)?),
            None => None,
        };
        let (precision, recall, f1, specificity) = (
            confusion.precision_per_class(),
            confusion.recall_per_class(),
            confusion.f1_per_class(),
            confusion.specificity_per_class(),
        );
        let per_class = (0..n_classes)
            .map(|c| ClassScores {
                precision: precision[c],
                recall: recall[c],
                f1: f1[c],
                specificity: specificity[c],
                support: confusion.support(c),
            })
            .collect();
        let averaged = |average| -> Result<Averaged, EvalError> {
            Ok(Averaged {
                precision: confusion.precision(average)?,
                recall: confusion.recall(average)?,
                f1: confusion.f1(average)?,
            })
        };
        Ok(ClassificationReport {
            n_classes,
            samples: y_true.len() as u64,
            accuracy: confusion.accuracy(),
            balanced_accuracy: confusion.balanced_accuracy(),
            per_class,
            macro_: averaged(Average::Macro)?,
            micro: averaged(Average::Micro)?,
            weighted: averaged(Average::Weighted)?,
            specificity_macro: confusion.specificity_macro(),
            matthews: confusion.matthews(),
            cohen_kappa: confusion.cohen_kappa(KappaWeights::None).ok(),
            confusion,
            probability,
        })
    }

    /// The value of one metric; `None` when undefined or when it needs probabilities that were
    /// not given.
    ///
    /// ```
    /// use mlflow_ml::eval::{ClassificationReport, ClassMetric};
    /// let r = ClassificationReport::compute(&[0, 1], &[0, 1], None, 2)?;
    /// assert_eq!(r.get(ClassMetric::F1Macro), Some(1.0));
    /// assert_eq!(r.get(ClassMetric::LogLoss), None);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn get(&self, metric: ClassMetric) -> Option<f64> {
        let p = self.probability.as_ref();
        match metric {
            ClassMetric::Accuracy => Some(self.accuracy),
            ClassMetric::BalancedAccuracy => Some(self.balanced_accuracy),
            ClassMetric::PrecisionMacro => Some(self.macro_.precision),
            ClassMetric::RecallMacro => Some(self.macro_.recall),
            ClassMetric::F1Macro => Some(self.macro_.f1),
            ClassMetric::F1Micro => Some(self.micro.f1),
            ClassMetric::F1Weighted => Some(self.weighted.f1),
            ClassMetric::SpecificityMacro => Some(self.specificity_macro),
            ClassMetric::Matthews => Some(self.matthews),
            ClassMetric::CohenKappa => self.cohen_kappa,
            ClassMetric::LogLoss => p.map(|p| p.log_loss),
            ClassMetric::Brier => p.map(|p| p.brier),
            ClassMetric::RocAucOvr => p.and_then(|p| p.roc_auc_ovr_macro),
            ClassMetric::RocAucOvrWeighted => p.and_then(|p| p.roc_auc_ovr_weighted),
            ClassMetric::RocAucOvo => p.and_then(|p| p.roc_auc_ovo_macro),
            ClassMetric::RocAucOvoWeighted => p.and_then(|p| p.roc_auc_ovo_weighted),
            ClassMetric::AveragePrecision => p.map(|p| p.average_precision_macro),
        }
    }
}

impl Scores<ClassMetric> for ClassificationReport {
    fn score(&self, metric: ClassMetric) -> Option<f64> {
        self.get(metric)
    }
}

fn probability_scores(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
) -> Result<ProbabilityScores, EvalError> {
    check_proba(y_true, proba, n_classes, "probability metrics")?;
    let unnormalized = row_sums_off(proba).len();
    let auc = |r: Result<f64, EvalError>| match r {
        Ok(v) => Ok(Some(v)),
        Err(EvalError::Undefined { .. } | EvalError::RowSum { .. }) => Ok(None),
        Err(e) => Err(e),
    };
    Ok(ProbabilityScores {
        log_loss: log_loss(y_true, proba, n_classes)?,
        brier: brier_score(y_true, proba, n_classes)?,
        roc_auc_ovr_macro: auc(roc_auc_ovr(y_true, proba, n_classes, MulticlassAverage::Macro))?,
        roc_auc_ovr_weighted: auc(roc_auc_ovr(y_true, proba, n_classes, MulticlassAverage::Weighted))?,
        roc_auc_ovo_macro: auc(roc_auc_ovo(y_true, proba, n_classes, MulticlassAverage::Macro))?,
        roc_auc_ovo_weighted: auc(roc_auc_ovo(y_true, proba, n_classes, MulticlassAverage::Weighted))?,
        average_precision_macro: average_precision_ovr(y_true, proba, n_classes, MulticlassAverage::Macro)?,
        average_precision_weighted: average_precision_ovr(
            y_true,
            proba,
            n_classes,
            MulticlassAverage::Weighted,
        )?,
        unnormalized_rows: unnormalized,
    })
}

/// A classification metric to rank models by, knowing its direction.
///
/// ```
/// use mlflow_ml::eval::ClassMetric;
/// let m: ClassMetric = "f1_macro".parse()?;
/// assert_eq!(m, ClassMetric::F1Macro);
/// assert!(m.higher_is_better());
/// assert!(!ClassMetric::LogLoss.higher_is_better() && !ClassMetric::Brier.higher_is_better());
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClassMetric {
    /// Fraction correct.
    Accuracy,
    /// Mean recall over present classes.
    BalancedAccuracy,
    /// Macro precision.
    PrecisionMacro,
    /// Macro recall.
    RecallMacro,
    /// Macro F1.
    F1Macro,
    /// Micro F1 (= accuracy).
    F1Micro,
    /// Support-weighted F1.
    F1Weighted,
    /// Macro specificity.
    SpecificityMacro,
    /// Matthews correlation.
    Matthews,
    /// Unweighted Cohen's kappa.
    CohenKappa,
    /// Log loss (lower is better).
    LogLoss,
    /// Brier score (lower is better).
    Brier,
    /// One-vs-rest ROC AUC, macro.
    RocAucOvr,
    /// One-vs-rest ROC AUC, weighted.
    RocAucOvrWeighted,
    /// One-vs-one ROC AUC, macro (Hand & Till).
    RocAucOvo,
    /// One-vs-one ROC AUC, weighted.
    RocAucOvoWeighted,
    /// Macro average precision, one-vs-rest.
    AveragePrecision,
}

const CLASS_METRIC_NAMES: &str = "accuracy, balanced_accuracy, precision_macro, recall_macro, f1_macro, f1_micro, \
     f1_weighted, specificity_macro, matthews, cohen_kappa, log_loss, brier, roc_auc_ovr, roc_auc_ovr_weighted, \
     roc_auc_ovo, roc_auc_ovo_weighted, average_precision";

impl ClassMetric {
    /// Every metric, in declaration order.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::ClassMetric::ALL.len(), 17);
    /// ```
    pub const ALL: [ClassMetric; 17] = [
        ClassMetric::Accuracy,
        ClassMetric::BalancedAccuracy,
        ClassMetric::PrecisionMacro,
        ClassMetric::RecallMacro,
        ClassMetric::F1Macro,
        ClassMetric::F1Micro,
        ClassMetric::F1Weighted,
        ClassMetric::SpecificityMacro,
        ClassMetric::Matthews,
        ClassMetric::CohenKappa,
        ClassMetric::LogLoss,
        ClassMetric::Brier,
        ClassMetric::RocAucOvr,
        ClassMetric::RocAucOvrWeighted,
        ClassMetric::RocAucOvo,
        ClassMetric::RocAucOvoWeighted,
        ClassMetric::AveragePrecision,
    ];

    /// The canonical name, as `from_str` accepts it and `Display` prints it.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::ClassMetric::RocAucOvo.name(), "roc_auc_ovo");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ClassMetric::Accuracy => "accuracy",
            ClassMetric::BalancedAccuracy => "balanced_accuracy",
            ClassMetric::PrecisionMacro => "precision_macro",
            ClassMetric::RecallMacro => "recall_macro",
            ClassMetric::F1Macro => "f1_macro",
            ClassMetric::F1Micro => "f1_micro",
            ClassMetric::F1Weighted => "f1_weighted",
            ClassMetric::SpecificityMacro => "specificity_macro",
            ClassMetric::Matthews => "matthews",
            ClassMetric::CohenKappa => "cohen_kappa",
            ClassMetric::LogLoss => "log_loss",
            ClassMetric::Brier => "brier",
            ClassMetric::RocAucOvr => "roc_auc_ovr",
            ClassMetric::RocAucOvrWeighted => "roc_auc_ovr_weighted",
            ClassMetric::RocAucOvo => "roc_auc_ovo",
            ClassMetric::RocAucOvoWeighted => "roc_auc_ovo_weighted",
            ClassMetric::AveragePrecision => "average_precision",
        }
    }

    /// Whether a larger value is better: every metric but the losses (log loss, Brier).
    ///
    /// ```
    /// assert!(mlflow_ml::eval::ClassMetric::Matthews.higher_is_better());
    /// ```
    pub fn higher_is_better(self) -> bool {
        !matches!(self, ClassMetric::LogLoss | ClassMetric::Brier)
    }
}

impl fmt::Display for ClassMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ClassMetric {
    type Err = EvalError;

    /// The canonical names, case-insensitive, `-` and space read as `_`.
    ///
    /// ```
    /// use mlflow_ml::eval::ClassMetric;
    /// assert_eq!("Balanced-Accuracy".parse::<ClassMetric>()?, ClassMetric::BalancedAccuracy);
    /// assert!("r2".parse::<ClassMetric>().is_err());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = normalise(s);
        ClassMetric::ALL
            .into_iter()
            .find(|m| m.name() == key)
            .ok_or_else(|| EvalError::UnknownMetricName { name: s.to_owned(), expected: CLASS_METRIC_NAMES })
    }
}

pub(super) fn normalise(s: &str) -> String {
    s.trim().chars().map(|c| if c == '-' || c == ' ' { '_' } else { c.to_ascii_lowercase() }).collect()
}

/// Guards a promotion by this metric, in its direction.
///
/// ```
/// use mlflow_core::registry::Promotion;
/// use mlflow_ml::eval::ClassMetric;
/// let guard = Promotion::by(ClassMetric::Brier);
/// assert_eq!((guard.metric.as_str(), guard.higher_is_better), ("brier", false));
/// ```
impl mlflow_core::registry::PromotionMetric for ClassMetric {
    fn metric_name(&self) -> &str {
        self.name()
    }

    fn higher_is_better(&self) -> bool {
        ClassMetric::higher_is_better(*self)
    }
}
