//! Evaluation: classification and regression metrics, computed here (no ML crate), and champion
//! selection.
//!
//! This room has one job: given true labels `y_true` (each 0 or 1) and scores (each the model's
//! probability of class 1, in `[0, 1]`), say how good the scores are, and pick the best of several
//! models by one metric. It knows nothing of tables, features or models.
//!
//! Beyond binary scores, equal to scikit-learn 1.9's `sklearn.metrics` (checked against committed
//! fixtures, `tests/fixtures/metrics`):
//! - [`classification`]: any number of classes, given as indices `0..n_classes` with the count
//!   explicit: [`ConfusionMatrix`] (accuracy, balanced accuracy, precision / recall / F-beta per
//!   class and by [`Average`], specificity, Matthews, Cohen's kappa), probability metrics (log
//!   loss, Brier, one-vs-rest and one-vs-one ROC AUC, average precision), all in a
//!   [`ClassificationReport`], ranked by [`ClassMetric`].
//! - [`regression`]: MAE, MSE, RMSE, R², explained variance, MAPE, median and max error, in a
//!   [`RegressionReport`], ranked by [`RegressionMetric`].
//! - [`select_best`] picks a champion by any metric in its direction (losses and errors lower).
//!
//! # Conventions
//! - **Predicted class** at threshold `t`: 1 when `score > t`, else 0. A score of exactly 0.5 is
//!   class 0 at the default threshold, as scikit-learn's `predict` breaks a 50/50 vote toward 0.
//! - **Confusion matrix** `[[tn, fp], [fn_, tp]]`: rows are the *actual* class (0 then 1), columns
//!   the *predicted* class (0 then 1), as in scikit-learn. So `m[1][0]` counts actual positives
//!   predicted negative (false negatives).
//! - **Zero denominators**: precision with no predicted positives, recall with no actual positives
//!   and F1 when precision + recall = 0 are 0.0 (scikit-learn's `zero_division=0`), never NaN.
//! - **ROC AUC** is the Mann-Whitney statistic: the fraction of (positive, negative) pairs where
//!   the positive scores higher, ties counting half. It is computed from integer pair counts, so
//!   all-equal scores give exactly 0.5. It is undefined with a single class: an error.
//! - **Curves** ([`roc_curve`], [`pr_curve`]) have one point per distinct score, taken as the
//!   threshold with "positive when `score >= threshold`" (scikit-learn's curve convention), in
//!   decreasing threshold order. The ROC curve starts at `(0, 0)` with threshold `+inf`.
//! - **Log loss** clips probabilities to `[eps, 1 - eps]` with `eps` the machine epsilon of `f64`
//!   ([`LOG_LOSS_EPS`]), as current scikit-learn does (checked with 1.9.1; old versions clipped
//!   at a fixed 1e-15).
//! - **A single class present**: [`evaluate`] fails with [`EvalError::SingleClass`] (ROC AUC,
//!   average precision and the curves are undefined). The standalone [`accuracy`], [`precision`],
//!   [`recall`], [`f1`], [`confusion_matrix`] and [`log_loss`] still work, by the rules above.
//! - Bad input is an error, never NaN: empty input, different lengths, a label other than 0 or 1,
//!   a score outside `[0, 1]` or not finite, a threshold outside `[0, 1]`.
//!
//! ```
//! use mlflow_ml::eval::{evaluate, select_champion, Metric};
//!
//! let y = [0, 0, 1, 1];
//! let good = evaluate(&y, &[0.1, 0.4, 0.35, 0.8])?;
//! let perfect = evaluate(&y, &[0.1, 0.2, 0.7, 0.9])?;
//! assert_eq!(good.roc_auc, 0.75);
//! assert_eq!(perfect.roc_auc, 1.0);
//! assert_eq!(perfect.confusion, [[2, 0], [0, 2]]);
//!
//! let candidates = vec![("good".to_string(), good), ("perfect".to_string(), perfect)];
//! let champion = select_champion(&candidates, Metric::RocAuc)?;
//! assert_eq!(champion.name, "perfect");
//! # Ok::<(), mlflow_ml::eval::EvalError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

mod metrics;

pub mod average;
pub mod classification;
mod probability;
pub mod regression;
mod select;
mod task;

pub use average::{Average, MulticlassAverage};
pub use classification::{
    Averaged, ClassMetric, ClassScores, ClassificationReport, ConfusionMatrix, KappaWeights,
    ProbabilityScores, Threshold,
};
pub use regression::{RegressionMetric, RegressionReport};
pub use select::{Best, Scores, select_best};
pub use task::{Evaluation, TaskMetric, evaluation_table};

pub use metrics::{
    accuracy, average_precision, confusion_matrix, f1, log_loss, pr_curve, precision, recall, roc_auc,
    roc_curve,
};
use metrics::{ap_of, check_both, ratio};

/// The threshold [`evaluate`] uses: class 1 when `score > 0.5`.
///
/// ```
/// assert_eq!(mlflow_ml::eval::DEFAULT_THRESHOLD, 0.5);
/// ```
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Probabilities are clipped to `[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]` in [`log_loss`] and in
/// [`classification::log_loss`]: `f64::EPSILON` (2.2e-16), the machine epsilon scikit-learn's
/// `log_loss` clips with (checked with 1.9.1; old versions used a fixed 1e-15).
///
/// ```
/// use mlflow_ml::eval::{log_loss, LOG_LOSS_EPS};
/// // A confident wrong answer costs -ln(eps) = 36.04..., not infinity.
/// assert_eq!(log_loss(&[1], &[0.0])?, -LOG_LOSS_EPS.ln());
/// assert_eq!(LOG_LOSS_EPS, f64::EPSILON);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// What can go wrong computing metrics or selecting a champion.
///
/// ```
/// use mlflow_ml::eval::{accuracy, EvalError};
/// let err = accuracy(&[0, 2], &[0.1, 0.9], 0.5).unwrap_err();
/// assert!(matches!(err, EvalError::BadLabel { index: 1, value: 2 }));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// No samples.
    #[error("no samples to evaluate: labels and scores are empty; evaluate on a non-empty hold-out set")]
    Empty,
    /// Labels and scores differ in length.
    #[error("{labels} labels but {scores} scores; pass one score per label")]
    LengthMismatch {
        /// Number of labels.
        labels: usize,
        /// Number of scores.
        scores: usize,
    },
    /// A label other than 0 or 1.
    #[error(
        "label {value} at index {index} is not 0 or 1; binary metrics need labels 0 (negative) and 1 (positive)"
    )]
    BadLabel {
        /// 0-based position.
        index: usize,
        /// The label.
        value: usize,
    },
    /// A score outside `[0, 1]`, NaN or infinite.
    #[error("score {value} at index {index} is not a probability in [0, 1]; pass P(class 1) for each sample")]
    BadScore {
        /// 0-based position.
        index: usize,
        /// The score.
        value: f64,
    },
    /// A threshold outside `[0, 1]` or not finite.
    #[error("threshold {value} is not in [0, 1]")]
    BadThreshold {
        /// The threshold.
        value: f64,
    },
    /// Only one class is present, so ROC AUC, average precision and the curves are undefined.
    #[error(
        "only class {class} is present ({count} samples): ROC AUC and the curves need both classes; evaluate on a hold-out set with both classes (use a stratified split)"
    )]
    SingleClass {
        /// The one class present.
        class: usize,
        /// Number of samples.
        count: usize,
    },
    /// [`select_champion`] got no candidates.
    #[error("no candidates to select a champion from; train at least one model")]
    NoCandidates,
    /// [`select_champion`]: the metric is NaN for every candidate.
    #[error("no candidate has a usable {metric} value (all NaN)")]
    NoUsableValue {
        /// The metric.
        metric: Metric,
    },
    /// [`Metric::from_str`] got an unknown name.
    #[error("unknown metric `{name}`; use one of: accuracy, precision, recall, f1, roc_auc, log_loss")]
    UnknownMetric {
        /// The name given.
        name: String,
    },
    /// `y_true` and another input (predictions, probabilities) differ in length.
    #[error(
        "y_true has {y_true} rows but {other} has {got}; pass one {other} value (or row) per element of y_true"
    )]
    RowsMismatch {
        /// Length of `y_true`.
        y_true: usize,
        /// What the other input is (`y_pred`, `proba`, `scores`).
        other: &'static str,
        /// Its length.
        got: usize,
    },
    /// A value that must be a finite number is NaN or infinite.
    #[error("{what} at row {row} is {value}, not a finite number; drop or impute that row before evaluating")]
    NotFinite {
        /// Which input (`y_true`, `y_pred`, `scores`).
        what: &'static str,
        /// 0-based row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// A class index not below the number of classes.
    #[error(
        "{what} at row {row} is class {value}, but there are {n_classes} classes (0 to {n_classes} - 1); encode the labels as 0..n_classes or pass the right class count"
    )]
    ClassOutOfRange {
        /// Which input (`y_true`, `y_pred`, `positive class`).
        what: &'static str,
        /// 0-based row (0 for a parameter such as the positive class).
        row: usize,
        /// The class index.
        value: usize,
        /// The number of classes.
        n_classes: usize,
    },
    /// A probability matrix whose width is not the number of classes.
    #[error(
        "the probabilities have {columns} columns but there are {n_classes} classes; pass one column per class, in class order (predict_proba output)"
    )]
    ProbaWidth {
        /// Columns given.
        columns: usize,
        /// Classes expected.
        n_classes: usize,
    },
    /// A probability outside `[0, 1]`, NaN or infinite.
    #[error(
        "probability {value} at row {row}, column {column} is not in [0, 1]; pass predicted probabilities (predict_proba output), not raw scores"
    )]
    BadProbability {
        /// 0-based row.
        row: usize,
        /// 0-based column (class).
        column: usize,
        /// The value.
        value: f64,
    },
    /// A probability row that does not sum to 1, where the metric requires it (multiclass ROC AUC).
    #[error(
        "the probabilities of row {row} sum to {sum}, not 1; {metric} needs each row to be a probability distribution (normalise the rows)"
    )]
    RowSum {
        /// The metric.
        metric: &'static str,
        /// 0-based row.
        row: usize,
        /// The row's sum.
        sum: f64,
    },
    /// Fewer classes than the metric needs.
    #[error("{metric} needs at least {min} classes, got n_classes = {n_classes}")]
    TooFewClasses {
        /// The metric.
        metric: &'static str,
        /// Classes given.
        n_classes: usize,
        /// Classes needed.
        min: usize,
    },
    /// An F-beta `beta` that is negative or NaN.
    #[error("beta {value} is not a number >= 0 (0 gives precision, infinity gives recall)")]
    BadBeta {
        /// The value.
        value: f64,
    },
    /// A confusion matrix that is not square (see [`ConfusionMatrix`]'s `TryFrom`).
    #[error(
        "a confusion matrix must be square with at least one class: {rows} rows, row {row} has {len} entries"
    )]
    NotSquare {
        /// Number of rows.
        rows: usize,
        /// The first bad row.
        row: usize,
        /// Its length.
        len: usize,
    },
    /// The metric is undefined on this input (scikit-learn returns NaN with a warning there).
    #[error("{metric} is undefined here: {reason}")]
    Undefined {
        /// The metric.
        metric: &'static str,
        /// Why, and what to do.
        reason: String,
    },
    /// [`select_best`]: the metric is undefined (or NaN) for every candidate.
    #[error("no candidate has a usable {metric} value (all undefined or NaN)")]
    NoUsableScore {
        /// The metric's name.
        metric: String,
    },
    /// [`ClassMetric`] or [`RegressionMetric`] parsed from an unknown name.
    #[error("unknown metric `{name}`; use one of: {expected}")]
    UnknownMetricName {
        /// The name given.
        name: String,
        /// The names accepted.
        expected: &'static str,
    },
}

/// One point of the ROC curve: at `threshold` ("positive when `score >= threshold`"), the false
/// and true positive rates.
///
/// ```
/// use mlflow_ml::eval::roc_curve;
/// let points = roc_curve(&[0, 1], &[0.2, 0.8])?;
/// assert_eq!((points[0].fpr, points[0].tpr, points[0].threshold), (0.0, 0.0, f64::INFINITY));
/// assert_eq!((points[1].fpr, points[1].tpr, points[1].threshold), (0.0, 1.0, 0.8));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// False positive rate: fp / negatives.
    pub fpr: f64,
    /// True positive rate (recall): tp / positives.
    pub tpr: f64,
    /// The score threshold (`+inf` for the first point, where nothing is positive).
    pub threshold: f64,
}

/// One point of the precision-recall curve, at `threshold` ("positive when `score >= threshold`").
///
/// ```
/// use mlflow_ml::eval::pr_curve;
/// let points = pr_curve(&[0, 1], &[0.2, 0.8])?;
/// assert_eq!((points[0].recall, points[0].precision, points[0].threshold), (1.0, 1.0, 0.8));
/// assert_eq!((points[1].recall, points[1].precision, points[1].threshold), (1.0, 0.5, 0.2));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrPoint {
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / positives.
    pub recall: f64,
    /// The score threshold.
    pub threshold: f64,
}

/// Every metric of one model on one evaluation set: the artifact an evaluate step returns.
///
/// ```
/// use mlflow_ml::eval::{evaluate, Metric};
/// let m = evaluate(&[0, 1, 1], &[0.2, 0.6, 0.4])?;
/// assert_eq!(m.confusion, [[1, 0], [1, 1]]); // rows = actual class, columns = predicted
/// assert_eq!(m.get(Metric::Recall), 0.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    /// Number of samples.
    pub samples: u64,
    /// Number of actual positives (label 1).
    pub positives: u64,
    /// The threshold used for the thresholded metrics (class 1 when `score > threshold`).
    pub threshold: f64,
    /// (tp + tn) / samples.
    pub accuracy: f64,
    /// tp / (tp + fp); 0 with no predicted positives.
    pub precision: f64,
    /// tp / (tp + fn); 0 with no actual positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Area under the ROC curve (Mann-Whitney, ties count half).
    pub roc_auc: f64,
    /// Average precision: sum over thresholds of (recall step) x precision (scikit-learn's definition).
    pub average_precision: f64,
    /// Mean negative log-likelihood, probabilities clipped to `[eps, 1 - eps]` ([`LOG_LOSS_EPS`]).
    pub log_loss: f64,
    /// `[[tn, fp], [fn, tp]]`: rows = actual class 0/1, columns = predicted class 0/1.
    pub confusion: [[u64; 2]; 2],
    /// ROC curve, decreasing threshold, starting at `(0, 0)`.
    pub roc: Vec<RocPoint>,
    /// Precision-recall curve, decreasing threshold.
    pub pr: Vec<PrPoint>,
}

impl BinaryMetrics {
    /// The value of one metric.
    ///
    /// ```
    /// use mlflow_ml::eval::{evaluate, Metric};
    /// let m = evaluate(&[0, 1], &[0.2, 0.8])?;
    /// assert_eq!(m.get(Metric::Accuracy), m.accuracy);
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Accuracy => self.accuracy,
            Metric::Precision => self.precision,
            Metric::Recall => self.recall,
            Metric::F1 => self.f1,
            Metric::RocAuc => self.roc_auc,
            Metric::LogLoss => self.log_loss,
        }
    }
}

impl fmt::Display for BinaryMetrics {
    /// One line: every scalar metric and the confusion matrix.
    ///
    /// ```
    /// let m = mlflow_ml::eval::evaluate(&[0, 1], &[0.2, 0.8])?;
    /// assert!(m.to_string().starts_with("accuracy 1.0000, precision 1.0000"));
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [[tn, fp], [fn_, tp]] = self.confusion;
        write!(
            f,
            "accuracy {:.4}, precision {:.4}, recall {:.4}, f1 {:.4}, roc_auc {:.4}, log_loss {:.4}, \
             confusion [[tn {tn}, fp {fp}], [fn {fn_}, tp {tp}]]",
            self.accuracy, self.precision, self.recall, self.f1, self.roc_auc, self.log_loss
        )
    }
}

/// A metric to rank models by.
///
/// ```
/// use mlflow_ml::eval::Metric;
/// let m: Metric = "roc_auc".parse()?;
/// assert_eq!(m, Metric::RocAuc);
/// assert!(m.higher_is_better());
/// assert!(!Metric::LogLoss.higher_is_better());
/// assert_eq!(Metric::default(), Metric::RocAuc);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum Metric {
    /// Fraction correct at the threshold.
    Accuracy,
    /// tp / (tp + fp) at the threshold.
    Precision,
    /// tp / (tp + fn) at the threshold.
    Recall,
    /// F1 at the threshold.
    F1,
    /// Area under the ROC curve (the default).
    #[default]
    RocAuc,
    /// Log loss: lower is better.
    LogLoss,
}

impl Metric {
    /// Every metric, in declaration order.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::Metric::ALL.len(), 6);
    /// ```
    pub const ALL: [Metric; 6] =
        [Metric::Accuracy, Metric::Precision, Metric::Recall, Metric::F1, Metric::RocAuc, Metric::LogLoss];

    /// The canonical name, as [`Metric::from_str`] accepts it and [`fmt::Display`] prints it.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::eval::Metric::LogLoss.name(), "log_loss");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
        }
    }

    /// Whether a larger value is better (every metric but log loss).
    ///
    /// ```
    /// assert!(mlflow_ml::eval::Metric::F1.higher_is_better());
    /// ```
    pub fn higher_is_better(self) -> bool {
        self != Metric::LogLoss
    }

    /// Whether `a` is strictly better than `b` for this metric. NaN is never better.
    ///
    /// ```
    /// use mlflow_ml::eval::Metric;
    /// assert!(Metric::LogLoss.is_better(0.3, 0.4));
    /// assert!(Metric::Accuracy.is_better(0.8, 0.7));
    /// assert!(!Metric::Accuracy.is_better(0.8, 0.8));
    /// ```
    pub fn is_better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() { a > b } else { a < b }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Guards a promotion by this metric, in its direction: `Promotion::by(Metric::LogLoss)` compares
/// `log_loss`, lower is better.
///
/// ```
/// use mlflow_core::registry::Promotion;
/// use mlflow_ml::eval::Metric;
/// let guard = Promotion::by(Metric::LogLoss);
/// assert_eq!((guard.metric.as_str(), guard.higher_is_better), ("log_loss", false));
/// assert!(Promotion::by(Metric::RocAuc).higher_is_better);
/// ```
impl mlflow_core::registry::PromotionMetric for Metric {
    fn metric_name(&self) -> &str {
        self.name()
    }

    fn higher_is_better(&self) -> bool {
        Metric::higher_is_better(*self)
    }
}

impl FromStr for Metric {
    type Err = EvalError;

    /// Case-insensitive; `-`, space and `_` are interchangeable; `auc` and `logloss` are accepted.
    ///
    /// ```
    /// use mlflow_ml::eval::Metric;
    /// assert_eq!("ROC-AUC".parse::<Metric>()?, Metric::RocAuc);
    /// assert_eq!("logloss".parse::<Metric>()?, Metric::LogLoss);
    /// assert!("r2".parse::<Metric>().is_err());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .map(|c| if c == '-' || c == ' ' { '_' } else { c.to_ascii_lowercase() })
            .collect();
        Ok(match key.as_str() {
            "accuracy" | "acc" => Metric::Accuracy,
            "precision" => Metric::Precision,
            "recall" => Metric::Recall,
            "f1" | "f1_score" => Metric::F1,
            "roc_auc" | "auc" | "rocauc" => Metric::RocAuc,
            "log_loss" | "logloss" => Metric::LogLoss,
            _ => return Err(EvalError::UnknownMetric { name: s.to_owned() }),
        })
    }
}

/// The best candidate by one metric.
///
/// ```
/// use mlflow_ml::eval::{evaluate, select_champion, Metric};
/// let m = evaluate(&[0, 1], &[0.2, 0.8])?;
/// let c = select_champion(&[("only".to_string(), m)], Metric::F1)?;
/// assert_eq!((c.index, c.name.as_str(), c.metric, c.value), (0, "only", Metric::F1, 1.0));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Champion {
    /// Position in the candidate list.
    pub index: usize,
    /// The candidate's name.
    pub name: String,
    /// The metric it was selected by.
    pub metric: Metric,
    /// Its value of that metric.
    pub value: f64,
}

/// The metric series holding a logged ROC curve's false-positive rates (see [`log_binary_metrics`]).
pub const ROC_FPR_SERIES: &str = "roc.fpr";
/// The metric series holding a logged ROC curve's true-positive rates.
pub const ROC_TPR_SERIES: &str = "roc.tpr";
/// The metrics holding a logged confusion matrix.
pub const CONFUSION_METRICS: [&str; 4] = ["confusion.tn", "confusion.fp", "confusion.fn", "confusion.tp"];

/// Logs `metrics` on the running pipeline step, in the form the run report draws: the six
/// scalar metrics by [`Metric::name`], the confusion matrix as `confusion.tn|fp|fn|tp`, and the
/// ROC curve as the series `roc.fpr` / `roc.tpr`.
///
/// Outside a running step it records nothing (see [`mlflow_core::track`]); a test sees what it
/// logs with [`capture`](mlflow_core::track::capture).
///
/// ```
/// use mlflow_ml::eval::{evaluate, log_binary_metrics};
/// let m = evaluate(&[0, 1, 1], &[0.2, 0.7, 0.9]).unwrap();
/// let (result, log) = mlflow_core::track::capture(|| log_binary_metrics(&m));
/// assert!(result.is_ok());
/// assert_eq!(log.metric("roc_auc"), Some(m.roc_auc));
/// assert!(log_binary_metrics(&m).is_ok(), "outside a step: nothing recorded, no error");
/// ```
pub fn log_binary_metrics(metrics: &BinaryMetrics) -> Result<(), mlflow_core::track::TrackError> {
    use mlflow_core::track::{log_metric, log_metric_at};
    for metric in Metric::ALL {
        let value = metrics.get(metric);
        if value.is_finite() {
            log_metric(metric.name(), value)?;
        }
    }
    let [[tn, fp], [fn_, tp]] = metrics.confusion;
    for (key, count) in CONFUSION_METRICS.iter().zip([tn, fp, fn_, tp]) {
        log_metric(key, count as f64)?;
    }
    for (i, point) in metrics.roc.iter().enumerate() {
        log_metric_at(ROC_FPR_SERIES, i as u64, point.fpr)?;
        log_metric_at(ROC_TPR_SERIES, i as u64, point.tpr)?;
    }
    Ok(())
}

/// Picks the candidate with the best value of `metric` (lowest for log loss, highest otherwise).
///
/// Ties go to the **first** candidate in input order, so the choice is deterministic. A NaN value
/// never wins; if every value is NaN the result is [`EvalError::NoUsableValue`].
///
/// ```
/// use mlflow_ml::eval::{evaluate, select_champion, EvalError, Metric};
/// let y = [0, 1, 1];
/// let a = evaluate(&y, &[0.3, 0.7, 0.6])?;
/// let b = evaluate(&y, &[0.1, 0.9, 0.8])?; // same AUC (1.0), lower log loss
/// let c = vec![("a".to_string(), a), ("b".to_string(), b)];
/// assert_eq!(select_champion(&c, Metric::RocAuc)?.name, "a"); // tie: first wins
/// assert_eq!(select_champion(&c, Metric::LogLoss)?.name, "b");
/// assert_eq!(select_champion(&[], Metric::F1), Err(EvalError::NoCandidates));
/// # Ok::<(), EvalError>(())
/// ```
pub fn select_champion(
    candidates: &[(String, BinaryMetrics)],
    metric: Metric,
) -> Result<Champion, EvalError> {
    if candidates.is_empty() {
        return Err(EvalError::NoCandidates);
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, (_, m)) in candidates.iter().enumerate() {
        let v = m.get(metric);
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| metric.is_better(v, b)) {
            best = Some((i, v));
        }
    }
    let (index, value) = best.ok_or(EvalError::NoUsableValue { metric })?;
    Ok(Champion { index, name: candidates[index].0.clone(), metric, value })
}

/// A plain-text table comparing candidates, one row each, in input order.
///
/// ```
/// use mlflow_ml::eval::{comparison_table, evaluate};
/// let m = evaluate(&[0, 1], &[0.2, 0.8])?;
/// let text = comparison_table(&[("tree".to_string(), m)]);
/// assert!(text.lines().next().unwrap().starts_with("model"));
/// assert!(text.contains("tree"));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn comparison_table(candidates: &[(String, BinaryMetrics)]) -> String {
    let width = candidates.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(5);
    let mut out = format!(
        "{:<width$}  {:>8}  {:>9}  {:>6}  {:>6}  {:>7}  {:>8}  {:>14}\n",
        "model", "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "tn fp fn tp"
    );
    for (name, m) in candidates {
        let [[tn, fp], [fn_, tp]] = m.confusion;
        out += &format!(
            "{name:<width$}  {:>8.4}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7.4}  {:>8.4}  {:>14}\n",
            m.accuracy,
            m.precision,
            m.recall,
            m.f1,
            m.roc_auc,
            m.log_loss,
            format!("{tn} {fp} {fn_} {tp}")
        );
    }
    out
}

/// Every metric at the default threshold ([`DEFAULT_THRESHOLD`], class 1 when `score > 0.5`).
///
/// Fails on bad input and when only one class is present ([`EvalError::SingleClass`]).
///
/// ```
/// use mlflow_ml::eval::evaluate;
/// let m = evaluate(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// assert_eq!((m.accuracy, m.precision, m.recall, m.roc_auc), (0.75, 1.0, 0.5, 0.75));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn evaluate(y_true: &[usize], scores: &[f64]) -> Result<BinaryMetrics, EvalError> {
    evaluate_at(y_true, scores, DEFAULT_THRESHOLD)
}

/// Every metric, the thresholded ones at `threshold` (class 1 when `score > threshold`).
///
/// ```
/// use mlflow_ml::eval::evaluate_at;
/// let m = evaluate_at(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], 0.3)?;
/// assert_eq!(m.confusion, [[1, 1], [0, 2]]);
/// assert_eq!(m.threshold, 0.3);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn evaluate_at(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<BinaryMetrics, EvalError> {
    let (pos, _) = check_both(y_true, scores)?;
    let confusion = confusion_matrix(y_true, scores, threshold)?;
    let [[tn, fp], [fn_, tp]] = confusion;
    let pr = pr_curve(y_true, scores)?;
    Ok(BinaryMetrics {
        samples: y_true.len() as u64,
        positives: pos,
        threshold,
        accuracy: ratio(tn + tp, y_true.len() as u64),
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        f1: ratio(2 * tp, 2 * tp + fp + fn_),
        roc_auc: roc_auc(y_true, scores)?,
        average_precision: ap_of(&pr),
        log_loss: log_loss(y_true, scores)?,
        confusion,
        roc: roc_curve(y_true, scores)?,
        pr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_zero_groups_with_zero() {
        // -0.0 is a valid score equal to 0.0: one tie group, AUC 0.5.
        assert_eq!(roc_auc(&[0, 1], &[-0.0, 0.0]).unwrap(), 0.5);
        assert_eq!(roc_curve(&[0, 1], &[-0.0, 0.0]).unwrap().len(), 2);
    }

    #[test]
    fn input_errors() {
        assert_eq!(evaluate(&[], &[]), Err(EvalError::Empty));
        assert_eq!(evaluate(&[0], &[]), Err(EvalError::LengthMismatch { labels: 1, scores: 0 }));
        assert_eq!(evaluate(&[0, 3], &[0.1, 0.2]), Err(EvalError::BadLabel { index: 1, value: 3 }));
        assert!(matches!(evaluate(&[0, 1], &[0.1, f64::NAN]), Err(EvalError::BadScore { index: 1, .. })));
        assert_eq!(evaluate(&[0, 1], &[1.5, 0.2]), Err(EvalError::BadScore { index: 0, value: 1.5 }));
        assert_eq!(evaluate_at(&[0, 1], &[0.1, 0.2], 2.0), Err(EvalError::BadThreshold { value: 2.0 }));
        assert!(matches!(accuracy(&[0, 1], &[0.1, 0.2], f64::NAN), Err(EvalError::BadThreshold { .. })));
    }

    #[test]
    fn select_skips_nan() {
        let mut a = evaluate(&[0, 1], &[0.2, 0.8]).unwrap();
        let b = a.clone();
        a.roc_auc = f64::NAN;
        let c = vec![("a".to_string(), a.clone()), ("b".to_string(), b)];
        assert_eq!(select_champion(&c, Metric::RocAuc).unwrap().name, "b");
        let only_nan = vec![("a".to_string(), a)];
        assert_eq!(
            select_champion(&only_nan, Metric::RocAuc),
            Err(EvalError::NoUsableValue { metric: Metric::RocAuc })
        );
    }
}
