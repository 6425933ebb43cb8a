//! Evaluation: binary classification metrics, computed here (no ML crate), and champion selection.
//!
//! This room has one job: given true labels `y_true` (each 0 or 1) and scores (each the model's
//! probability of class 1, in `[0, 1]`), say how good the scores are, and pick the best of several
//! models by one metric. It knows nothing of tables, features or models.
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
//! - **Log loss** clips probabilities to `[1e-15, 1 - 1e-15]` ([`LOG_LOSS_EPS`]).
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

/// The threshold [`evaluate`] uses: class 1 when `score > 0.5`.
///
/// ```
/// assert_eq!(mlflow_ml::eval::DEFAULT_THRESHOLD, 0.5);
/// ```
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Probabilities are clipped to `[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]` in [`log_loss`].
///
/// ```
/// use mlflow_ml::eval::{log_loss, LOG_LOSS_EPS};
/// // A confident wrong answer costs -ln(1e-15), not infinity.
/// assert_eq!(log_loss(&[1], &[0.0])?, -LOG_LOSS_EPS.ln());
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// What can go wrong computing metrics or selecting a champion.
///
/// ```
/// use mlflow_ml::eval::{accuracy, EvalError};
/// let err = accuracy(&[0, 2], &[0.1, 0.9], 0.5).unwrap_err();
/// assert!(matches!(err, EvalError::BadLabel { index: 1, value: 2 }));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    #[error("label {value} at index {index} is not 0 or 1; binary metrics need labels 0 (negative) and 1 (positive)")]
    BadLabel {
        /// 0-based position.
        index: usize,
        /// The label.
        value: usize,
    },
    /// A score outside `[0, 1]`, NaN or infinite.
    #[error(
        "score {value} at index {index} is not a probability in [0, 1]; pass P(class 1) for each sample"
    )]
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
    #[error("only class {class} is present ({count} samples): ROC AUC and the curves need both classes; evaluate on a hold-out set with both classes (use a stratified split)")]
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
    /// Mean negative log-likelihood, probabilities clipped to `[1e-15, 1 - 1e-15]`.
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
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
/// Outside a running step it fails with [`TrackError::NotInStep`](mlflow_core::track::TrackError).
///
/// ```
/// use mlflow_ml::eval::{evaluate, log_binary_metrics};
/// let m = evaluate(&[0, 1, 1], &[0.2, 0.7, 0.9]).unwrap();
/// assert!(log_binary_metrics(&m).is_err(), "not inside a step");
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

/// Checks labels and scores; returns the number of positives.
fn check(y_true: &[usize], scores: &[f64]) -> Result<u64, EvalError> {
    if y_true.len() != scores.len() {
        return Err(EvalError::LengthMismatch { labels: y_true.len(), scores: scores.len() });
    }
    if y_true.is_empty() {
        return Err(EvalError::Empty);
    }
    if let Some((index, &value)) = y_true.iter().enumerate().find(|(_, &y)| y > 1) {
        return Err(EvalError::BadLabel { index, value });
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !(0.0..=1.0).contains(*s)) {
        return Err(EvalError::BadScore { index, value });
    }
    Ok(y_true.iter().filter(|&&y| y == 1).count() as u64)
}

fn check_threshold(threshold: f64) -> Result<(), EvalError> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(EvalError::BadThreshold { value: threshold });
    }
    Ok(())
}

/// Checks inputs and that both classes are present; returns `(positives, negatives)`.
fn check_both(y_true: &[usize], scores: &[f64]) -> Result<(u64, u64), EvalError> {
    let pos = check(y_true, scores)?;
    let neg = y_true.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return Err(EvalError::SingleClass { class: usize::from(pos > 0), count: y_true.len() });
    }
    Ok((pos, neg))
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// `[[tn, fp], [fn, tp]]` at `threshold` (class 1 when `score > threshold`): rows = actual class
/// (0, 1), columns = predicted class (0, 1).
///
/// ```
/// use mlflow_ml::eval::confusion_matrix;
/// //                          actual:  0    0    1    1
/// let m = confusion_matrix(&[0, 0, 1, 1], &[0.2, 0.7, 0.4, 0.9], 0.5)?;
/// assert_eq!(m, [[1, 1], [1, 1]]); // tn=1 (0.2), fp=1 (0.7), fn=1 (0.4), tp=1 (0.9)
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn confusion_matrix(
    y_true: &[usize],
    scores: &[f64],
    threshold: f64,
) -> Result<[[u64; 2]; 2], EvalError> {
    check(y_true, scores)?;
    check_threshold(threshold)?;
    let mut m = [[0u64; 2]; 2];
    for (&y, &s) in y_true.iter().zip(scores) {
        m[y][usize::from(s > threshold)] += 1;
    }
    Ok(m)
}

/// Fraction of samples whose predicted class (`score > threshold`) equals the label.
///
/// ```
/// use mlflow_ml::eval::accuracy;
/// assert_eq!(accuracy(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5);
/// // A single class is fine here.
/// assert_eq!(accuracy(&[1, 1], &[0.9, 0.8], 0.5)?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn accuracy(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[tn, _], [_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tn + tp, y_true.len() as u64))
}

/// tp / (tp + fp) at `threshold`; 0.0 when nothing is predicted positive.
///
/// ```
/// use mlflow_ml::eval::precision;
/// assert_eq!(precision(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5); // tp=1, fp=1
/// assert_eq!(precision(&[0, 1], &[0.1, 0.2], 0.5)?, 0.0); // no predicted positives
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn precision(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[_, fp], [_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tp, tp + fp))
}

/// tp / (tp + fn) at `threshold`; 0.0 when there are no actual positives.
///
/// ```
/// use mlflow_ml::eval::recall;
/// assert_eq!(recall(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5); // tp=1, fn=1
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn recall(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [_, [fn_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tp, tp + fn_))
}

/// Harmonic mean of precision and recall at `threshold`, as 2tp / (2tp + fp + fn); 0.0 when tp = 0.
///
/// ```
/// use mlflow_ml::eval::f1;
/// // tp=1, fp=1, fn=1: 2 / (2 + 1 + 1)
/// assert_eq!(f1(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn f1(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[_, fp], [fn_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(2 * tp, 2 * tp + fp + fn_))
}

/// Mean of `-(y ln p + (1 - y) ln(1 - p))`, with `p` clipped to `[1e-15, 1 - 1e-15]`.
///
/// ```
/// use mlflow_ml::eval::log_loss;
/// // -(ln 0.8 + ln 0.8) / 2 = -ln 0.8
/// assert!((log_loss(&[1, 0], &[0.8, 0.2])? - 0.2231435513142097).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn log_loss(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    check(y_true, scores)?;
    let sum: f64 = y_true
        .iter()
        .zip(scores)
        .map(|(&y, &s)| {
            let p = s.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            if y == 1 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Ok(sum / y_true.len() as f64)
}

/// Groups of equal scores in decreasing score order: `(score, positives, negatives)`.
fn groups(y_true: &[usize], scores: &[f64]) -> Vec<(f64, u64, u64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Scores are checked finite, so total_cmp is the numeric order once -0.0 (a valid score) is
    // normalised to 0.0 by adding 0.0; equal scores keep input order (stable sort).
    order.sort_by(|&a, &b| (scores[b] + 0.0).total_cmp(&(scores[a] + 0.0)));
    let mut out: Vec<(f64, u64, u64)> = Vec::new();
    for i in order {
        let s = scores[i] + 0.0;
        let (p, n) = (u64::from(y_true[i] == 1), u64::from(y_true[i] == 0));
        match out.last_mut() {
            Some(last) if last.0 == s => {
                last.1 += p;
                last.2 += n;
            }
            _ => out.push((s, p, n)),
        }
    }
    out
}

/// Area under the ROC curve: the probability that a random positive scores higher than a random
/// negative, ties counting half (the Mann-Whitney U statistic over positives x negatives).
///
/// ```
/// use mlflow_ml::eval::{roc_auc, EvalError};
/// // Pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) loss, (0.8, 0.1) win, (0.8, 0.4) win: 3/4.
/// assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?, 0.75);
/// assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.3; 4])?, 0.5); // all equal: exactly 0.5
/// assert!(matches!(roc_auc(&[1, 1], &[0.2, 0.8]), Err(EvalError::SingleClass { class: 1, .. })));
/// # Ok::<(), EvalError>(())
/// ```
pub fn roc_auc(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    let (pos, neg) = check_both(y_true, scores)?;
    // twice_u = sum over positives of 2 x (negatives scoring lower) + (negatives scoring equal).
    let mut twice_u: u128 = 0;
    let mut neg_above: u64 = 0;
    for (_, p, n) in groups(y_true, scores) {
        let below = neg - neg_above - n;
        twice_u += u128::from(p) * (2 * u128::from(below) + u128::from(n));
        neg_above += n;
    }
    Ok(twice_u as f64 / (2 * u128::from(pos) * u128::from(neg)) as f64)
}

/// The ROC curve: `(fpr, tpr)` at each distinct score (decreasing), after a first point `(0, 0)`
/// at threshold `+inf`. No intermediate point is dropped.
///
/// ```
/// use mlflow_ml::eval::roc_curve;
/// let c = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// let pairs: Vec<(f64, f64)> = c.iter().map(|p| (p.fpr, p.tpr)).collect();
/// assert_eq!(pairs, [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn roc_curve(y_true: &[usize], scores: &[f64]) -> Result<Vec<RocPoint>, EvalError> {
    let (pos, neg) = check_both(y_true, scores)?;
    let mut out = vec![RocPoint { fpr: 0.0, tpr: 0.0, threshold: f64::INFINITY }];
    let (mut tp, mut fp) = (0, 0);
    for (s, p, n) in groups(y_true, scores) {
        tp += p;
        fp += n;
        out.push(RocPoint { fpr: ratio(fp, neg), tpr: ratio(tp, pos), threshold: s });
    }
    Ok(out)
}

/// The precision-recall curve: precision and recall at each distinct score, decreasing.
///
/// ```
/// use mlflow_ml::eval::pr_curve;
/// let c = pr_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// let pairs: Vec<(f64, f64)> = c.iter().map(|p| (p.recall, p.precision)).collect();
/// assert_eq!(pairs, [(0.5, 1.0), (0.5, 0.5), (1.0, 2.0 / 3.0), (1.0, 0.5)]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn pr_curve(y_true: &[usize], scores: &[f64]) -> Result<Vec<PrPoint>, EvalError> {
    let (pos, _) = check_both(y_true, scores)?;
    let (mut tp, mut fp) = (0, 0);
    Ok(groups(y_true, scores)
        .into_iter()
        .map(|(s, p, n)| {
            tp += p;
            fp += n;
            PrPoint { precision: ratio(tp, tp + fp), recall: ratio(tp, pos), threshold: s }
        })
        .collect())
}

/// Average precision: the sum over the PR curve of (recall increase) x precision, recall starting
/// at 0 (scikit-learn's `average_precision_score`; no interpolation).
///
/// ```
/// use mlflow_ml::eval::average_precision;
/// // PR points (recall, precision): (0.5, 1), (0.5, 1/2), (1, 2/3), (1, 1/2)
/// // AP = 0.5 x 1 + 0 x 1/2 + 0.5 x 2/3 + 0 = 5/6
/// let ap = average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// assert!((ap - 5.0 / 6.0).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn average_precision(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    Ok(ap_of(&pr_curve(y_true, scores)?))
}

fn ap_of(pr: &[PrPoint]) -> f64 {
    let mut prev = 0.0;
    let mut ap = 0.0;
    for p in pr {
        ap += (p.recall - prev) * p.precision;
        prev = p.recall;
    }
    ap
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
