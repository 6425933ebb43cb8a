//! A window's performance: realized metrics from its labels once there are enough of them, else
//! an estimate from the predicted probabilities alone, marked as such.

use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::TrueValue;
use crate::PredictionRecord;
use mlflow_ml::eval::{self, Average, ConfusionMatrix, DEFAULT_THRESHOLD};
use mlflow_ml::models::Task;

/// A window's performance, as [`performance`] computes it: realized from labels, or estimated
/// without them.
///
/// Serialized with `"estimated": false` and `metrics`, or `"estimated": true` and `estimate`:
///
/// ```
/// use mlflow_ml::models::Task;
/// use mlflow_serve::{performance, PredictionRecord, Role};
/// let record = |p| PredictionRecord {
///     request_id: "r".into(), row: 0, time_ms: 0, model: "m".into(), version: 1,
///     role: Role::Champion, inputs: vec![], label: u32::from(p > 0.5), probability: p, latency_us: 1,
/// };
/// let window = [record(0.9), record(0.2)];
/// let estimated = performance(&window, &[None, None], Task::Classification { classes: 2 }, 10);
/// assert!(estimated.is_estimated());
/// let json = serde_json::to_value(&estimated).unwrap();
/// assert_eq!(json["estimated"], true);
/// assert!((json["estimate"]["expected_accuracy"].as_f64().unwrap() - 0.85).abs() < 1e-12);
/// assert!(estimated.to_string().starts_with("estimated"), "{estimated}");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Performance {
    /// At least `min_labels` predictions of the window have a label: metrics of those.
    Realized {
        /// Predictions in the window.
        predictions: usize,
        /// Labeled predictions, the metrics' samples.
        labeled: usize,
        /// The metrics.
        metrics: RealizedMetrics,
    },
    /// Fewer labels than `min_labels`: an estimate from the predicted probabilities of every
    /// prediction of the window, which assumes they are calibrated (see [`Estimate`]).
    Estimated {
        /// Predictions in the window.
        predictions: usize,
        /// Labeled predictions (fewer than `min_labels`).
        labeled: usize,
        /// The labels needed for realized metrics.
        min_labels: usize,
        /// The estimate.
        estimate: Estimate,
    },
}

impl Performance {
    /// Whether this is an estimate rather than realized metrics.
    ///
    /// See [`Performance`] for an example.
    pub fn is_estimated(&self) -> bool {
        matches!(self, Performance::Estimated { .. })
    }

    /// The number of labeled predictions in the window.
    ///
    /// ```
    /// use mlflow_ml::models::Task;
    /// assert_eq!(mlflow_serve::performance(&[], &[], Task::Regression, 1).labeled(), 0);
    /// ```
    pub fn labeled(&self) -> usize {
        match self {
            Performance::Realized { labeled, .. } | Performance::Estimated { labeled, .. } => *labeled,
        }
    }
}

impl Serialize for Performance {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Performance::Realized { predictions, labeled, metrics } => {
                let mut s = serializer.serialize_struct("Performance", 4)?;
                s.serialize_field("estimated", &false)?;
                s.serialize_field("predictions", predictions)?;
                s.serialize_field("labeled", labeled)?;
                s.serialize_field("metrics", metrics)?;
                s.end()
            }
            Performance::Estimated { predictions, labeled, min_labels, estimate } => {
                let mut s = serializer.serialize_struct("Performance", 5)?;
                s.serialize_field("estimated", &true)?;
                s.serialize_field("predictions", predictions)?;
                s.serialize_field("labeled", labeled)?;
                s.serialize_field("min_labels", min_labels)?;
                s.serialize_field("estimate", estimate)?;
                s.end()
            }
        }
    }
}

impl fmt::Display for Performance {
    /// `realized on 120 labels of 1000 predictions: accuracy 0.9000, ...` or `estimated
    /// (assumes calibrated probabilities; 12 labels of the 100 needed, 1000 predictions):
    /// expected accuracy 0.8700, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Performance::Realized { predictions, labeled, metrics } => {
                write!(f, "realized on {labeled} labels of {predictions} predictions: {metrics}")
            }
            Performance::Estimated { predictions, labeled, min_labels, estimate } => write!(
                f,
                "estimated (assumes calibrated probabilities; {labeled} labels of the {min_labels} needed, {predictions} predictions): {estimate}"
            ),
        }
    }
}

/// Realized metrics, by task. Serialized with a `task` field: `binary`, `multiclass` or
/// `regression`.
///
/// ```
/// use mlflow_serve::{MulticlassRealized, RealizedMetrics};
/// let m = RealizedMetrics::Multiclass(MulticlassRealized { accuracy: 0.5, macro_f1: 0.4 });
/// assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"task":"multiclass","accuracy":0.5,"macro_f1":0.4}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum RealizedMetrics {
    /// A binary classifier.
    Binary(BinaryRealized),
    /// A classifier of more than two classes.
    Multiclass(MulticlassRealized),
    /// A regressor.
    Regression(RegressionRealized),
}

/// A binary classifier's realized metrics, as [`mlflow_ml::eval::evaluate`] computes them from
/// the labels and the logged P(class 1) (class 1 when P > 0.5, as the server predicts).
///
/// ```
/// let m = mlflow_serve::BinaryRealized { accuracy: 1.0, precision: 1.0, recall: 1.0, f1: 1.0, roc_auc: None, log_loss: 0.1 };
/// assert!(serde_json::to_string(&m).unwrap().contains(r#""roc_auc":null"#));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinaryRealized {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// tp / (tp + fp); 0 with no predicted positive.
    pub precision: f64,
    /// tp / (tp + fn); 0 with no actual positive.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the ROC curve; `None` when the labels hold one class only (undefined).
    pub roc_auc: Option<f64>,
    /// Mean negative log-likelihood of the true classes.
    pub log_loss: f64,
}

/// A multiclass classifier's realized metrics, from the labels and the logged predicted
/// classes ([`mlflow_ml::eval::ConfusionMatrix`]).
///
/// See [`RealizedMetrics`] for an example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MulticlassRealized {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// F1 per class, averaged over the classes unweighted (scikit-learn's `average="macro"`).
    pub macro_f1: f64,
}

/// A regressor's realized metrics, from the labels and the logged predicted values
/// ([`mlflow_ml::eval::regression`]).
///
/// ```
/// let m = mlflow_serve::RegressionRealized { mae: 0.5, rmse: 0.7, r2: None };
/// assert!(serde_json::to_string(&m).unwrap().contains(r#""r2":null"#));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegressionRealized {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination; `None` with a single label (undefined).
    pub r2: Option<f64>,
}

impl RealizedMetrics {
    /// Each defined metric by its name (`accuracy`, `roc_auc`, `rmse`, ...), as retraining
    /// triggers and registries name them.
    ///
    /// ```
    /// use mlflow_serve::{RealizedMetrics, RegressionRealized};
    /// let m = RealizedMetrics::Regression(RegressionRealized { mae: 0.5, rmse: 0.7, r2: None });
    /// assert_eq!(m.named(), [("mae", 0.5), ("rmse", 0.7)]);
    /// ```
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let all = match self {
            RealizedMetrics::Binary(m) => vec![
                ("accuracy", Some(m.accuracy)),
                ("precision", Some(m.precision)),
                ("recall", Some(m.recall)),
                ("f1", Some(m.f1)),
                ("roc_auc", m.roc_auc),
                ("log_loss", Some(m.log_loss)),
            ],
            RealizedMetrics::Multiclass(m) => {
                vec![("accuracy", Some(m.accuracy)), ("macro_f1", Some(m.macro_f1))]
            }
            RealizedMetrics::Regression(m) => {
                vec![("mae", Some(m.mae)), ("rmse", Some(m.rmse)), ("r2", m.r2)]
            }
        };
        all.into_iter().filter_map(|(name, v)| Some((name, v?))).collect()
    }
}

impl fmt::Display for RealizedMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RealizedMetrics::Binary(m) => {
                write!(
                    f,
                    "accuracy {:.4}, precision {:.4}, recall {:.4}, f1 {:.4}, roc_auc {}, log_loss {:.4}",
                    m.accuracy,
                    m.precision,
                    m.recall,
                    m.f1,
                    optional(m.roc_auc),
                    m.log_loss
                )
            }
            RealizedMetrics::Multiclass(m) => {
                write!(f, "accuracy {:.4}, macro f1 {:.4}", m.accuracy, m.macro_f1)
            }
            RealizedMetrics::Regression(m) => {
                write!(f, "mae {:.4}, rmse {:.4}, r2 {}", m.mae, m.rmse, optional(m.r2))
            }
        }
    }
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"))
}

/// What can be estimated without labels, by task. Serialized with a `task` field: `binary`,
/// `multiclass`, `regression`, or `none` for a window without predictions.
///
/// The classification estimates are confidence-based performance estimation (CBPE, as NannyML
/// estimates accuracy): if the model's probabilities are **calibrated** (of the rows given
/// P = 0.8, 80% are in that class), then a prediction is right with the probability the model
/// gave its predicted class, and the expected counts of the confusion matrix are sums of
/// probabilities. When the probabilities are not calibrated (or the data drifted so that they
/// no longer are), the estimate is off by as much; it is no substitute for labels.
///
/// ```
/// use mlflow_serve::{Estimate, RegressionEstimate};
/// let e = Estimate::Regression(RegressionEstimate { mean_prediction: 3.0 });
/// assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"task":"regression","mean_prediction":3.0}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "task", rename_all = "lowercase")]
pub enum Estimate {
    /// A binary classifier.
    Binary(BinaryEstimate),
    /// A classifier of more than two classes.
    Multiclass(MulticlassEstimate),
    /// A regressor: no error can be estimated without labels.
    Regression(RegressionEstimate),
    /// The window holds no usable prediction.
    None,
}

/// A binary classifier's estimate, from each prediction's P(class 1) `p` (class 1 predicted
/// when `p > 0.5`), assuming calibration:
///
/// - expected accuracy: the mean of `max(p, 1 - p)` (the probability that each prediction is
///   right);
/// - expected true positives `Σ p` over the rows predicted 1, false positives `Σ (1 - p)` over
///   them, false negatives `Σ p` over the rows predicted 0; expected precision, recall and F1
///   from those (0 when their denominator is 0);
/// - expected positive rate: the mean of `p`, the share of actual positives expected;
/// - predicted positive rate: the share of rows predicted 1 (observed, not estimated).
///
/// See [`Performance`] for an example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinaryEstimate {
    /// Expected fraction of correct predictions.
    pub expected_accuracy: f64,
    /// Expected precision.
    pub expected_precision: f64,
    /// Expected recall.
    pub expected_recall: f64,
    /// Expected F1.
    pub expected_f1: f64,
    /// Expected share of actual positives: the mean P(class 1).
    pub expected_positive_rate: f64,
    /// Share of predictions of class 1.
    pub predicted_positive_rate: f64,
}

/// A multiclass classifier's estimate: the expected accuracy, the mean probability the model
/// gave its predicted class (the logged P(label)), assuming calibration.
///
/// ```
/// let e = mlflow_serve::MulticlassEstimate { expected_accuracy: 0.7 };
/// assert_eq!(e.expected_accuracy, 0.7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MulticlassEstimate {
    /// Expected fraction of correct predictions.
    pub expected_accuracy: f64,
}

/// A regressor's "estimate": predictions alone say nothing of the error, so only the mean
/// predicted value is given (to compare with the realized windows' targets).
///
/// See [`Estimate`] for an example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegressionEstimate {
    /// The mean predicted value.
    pub mean_prediction: f64,
}

impl Estimate {
    /// Each estimated figure by the name of the metric it estimates (`accuracy`, `precision`,
    /// ...; a regressor's `mean_prediction`).
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        match self {
            Estimate::Binary(e) => vec![
                ("accuracy", e.expected_accuracy),
                ("precision", e.expected_precision),
                ("recall", e.expected_recall),
                ("f1", e.expected_f1),
                ("positive_rate", e.expected_positive_rate),
            ],
            Estimate::Multiclass(e) => vec![("accuracy", e.expected_accuracy)],
            Estimate::Regression(e) => vec![("mean_prediction", e.mean_prediction)],
            Estimate::None => Vec::new(),
        }
    }
}

impl Performance {
    /// Its figures by metric name (realized, or estimated: see [`Performance::is_estimated`]).
    ///
    /// ```
    /// use mlflow_serve::{Estimate, MulticlassEstimate, Performance};
    /// let p = Performance::Estimated { predictions: 10, labeled: 2, min_labels: 50,
    ///     estimate: Estimate::Multiclass(MulticlassEstimate { expected_accuracy: 0.7 }) };
    /// assert_eq!(p.named(), [("accuracy", 0.7)]);
    /// ```
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        match self {
            Performance::Realized { metrics, .. } => metrics.named(),
            Performance::Estimated { estimate, .. } => estimate.named(),
        }
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Estimate::Binary(e) => write!(
                f,
                "expected accuracy {:.4}, expected precision {:.4}, expected recall {:.4}, expected f1 {:.4}, expected positive rate {:.4}, predicted positive rate {:.4}",
                e.expected_accuracy,
                e.expected_precision,
                e.expected_recall,
                e.expected_f1,
                e.expected_positive_rate,
                e.predicted_positive_rate
            ),
            Estimate::Multiclass(e) => write!(f, "expected accuracy {:.4}", e.expected_accuracy),
            Estimate::Regression(e) => {
                write!(f, "no error estimate without labels; mean prediction {:.4}", e.mean_prediction)
            }
            Estimate::None => f.write_str("no predictions"),
        }
    }
}

/// The performance of a window of predictions of one model.
///
/// `records` are the window's predictions (pass the records of one model version and role:
/// nothing is filtered here) and `labels[i]` is the true value of `records[i]` (from
/// [`Labels::for_records`](crate::Labels::for_records); a record without an entry counts as
/// unlabeled). `task` is the model's ([`ModelPackage::task`](crate::ModelPackage::task)).
///
/// When at least `min_labels` records (and at least one) have a usable label, the metrics of
/// those records are realized: binary accuracy, precision, recall, F1, ROC AUC and log loss
/// (as [`mlflow_ml::eval::evaluate`]); multiclass accuracy and macro F1; regression MAE, RMSE
/// and R². Otherwise the window gets an [`Estimate`] from the predictions alone (all of them,
/// labeled or not), marked `estimated`.
///
/// A label that does not fit the task (a value for a classifier, a class index out of range) or
/// a record whose logged probability is not in `[0, 1]` (not finite, for a regressor) is left
/// out, never an error: the function is total and never panics.
///
/// ```
/// use mlflow_ml::models::Task;
/// use mlflow_serve::{performance, Performance, PredictionRecord, RealizedMetrics, Role, TrueValue};
/// let record = |p: f64| PredictionRecord {
///     request_id: "r".into(), row: 0, time_ms: 0, model: "m".into(), version: 1,
///     role: Role::Champion, inputs: vec![], label: u32::from(p > 0.5), probability: p, latency_us: 1,
/// };
/// let window = [record(0.9), record(0.4), record(0.7)];
/// let labels = [Some(TrueValue::Class(1)), Some(TrueValue::Class(1)), Some(TrueValue::Class(0))];
/// let Performance::Realized { labeled, metrics: RealizedMetrics::Binary(m), .. } =
///     performance(&window, &labels, Task::Classification { classes: 2 }, 3)
/// else {
///     panic!("three labels are enough");
/// };
/// assert_eq!((labeled, m.accuracy, m.roc_auc), (3, 1.0 / 3.0, Some(0.5)));
/// ```
pub fn performance(
    records: &[PredictionRecord],
    labels: &[Option<TrueValue>],
    task: Task,
    min_labels: usize,
) -> Performance {
    let usable = |r: &PredictionRecord| match task {
        Task::Classification { .. } => (0.0..=1.0).contains(&r.probability),
        Task::Regression => r.probability.is_finite(),
    };
    let labeled: Vec<(&PredictionRecord, TrueValue)> = records
        .iter()
        .zip(labels.iter().copied().chain(std::iter::repeat(None)))
        .filter_map(|(r, label)| Some((r, label?)))
        .filter(|(r, label)| usable(r) && fits(*label, task))
        .collect();
    let window: Vec<&PredictionRecord> = records.iter().filter(|r| usable(r)).collect();
    let predictions = records.len();
    if !labeled.is_empty() && labeled.len() >= min_labels {
        let metrics = realized(&labeled, task);
        return Performance::Realized { predictions, labeled: labeled.len(), metrics };
    }
    Performance::Estimated {
        predictions,
        labeled: labeled.len(),
        min_labels,
        estimate: estimate(&window, task),
    }
}

/// Whether a label fits the task.
fn fits(label: TrueValue, task: Task) -> bool {
    match (label, task) {
        (TrueValue::Class(c), Task::Classification { classes }) => (c as usize) < classes,
        (TrueValue::Value(v), Task::Regression) => v.is_finite(),
        _ => false,
    }
}

fn realized(labeled: &[(&PredictionRecord, TrueValue)], task: Task) -> RealizedMetrics {
    match task {
        Task::Classification { classes: 2 } => {
            let y: Vec<usize> = labeled.iter().map(|(_, t)| t.class().unwrap_or(0) as usize).collect();
            let p: Vec<f64> = labeled.iter().map(|(r, _)| r.probability).collect();
            // Both classes: every metric at once. One class: ROC AUC is undefined.
            let m = match eval::evaluate(&y, &p) {
                Ok(m) => BinaryRealized {
                    accuracy: m.accuracy,
                    precision: m.precision,
                    recall: m.recall,
                    f1: m.f1,
                    roc_auc: Some(m.roc_auc),
                    log_loss: m.log_loss,
                },
                Err(_) => BinaryRealized {
                    accuracy: eval::accuracy(&y, &p, DEFAULT_THRESHOLD).unwrap_or(f64::NAN),
                    precision: eval::precision(&y, &p, DEFAULT_THRESHOLD).unwrap_or(f64::NAN),
                    recall: eval::recall(&y, &p, DEFAULT_THRESHOLD).unwrap_or(f64::NAN),
                    f1: eval::f1(&y, &p, DEFAULT_THRESHOLD).unwrap_or(f64::NAN),
                    roc_auc: None,
                    log_loss: eval::log_loss(&y, &p).unwrap_or(f64::NAN),
                },
            };
            RealizedMetrics::Binary(m)
        }
        Task::Classification { classes } => {
            let y: Vec<usize> = labeled.iter().map(|(_, t)| t.class().unwrap_or(0) as usize).collect();
            let predicted: Vec<usize> =
                labeled.iter().map(|(r, _)| (r.label as usize).min(classes.saturating_sub(1))).collect();
            let (accuracy, macro_f1) = match ConfusionMatrix::compute(&y, &predicted, classes) {
                Ok(m) => (m.accuracy(), m.f1(Average::Macro).unwrap_or(f64::NAN)),
                Err(_) => (f64::NAN, f64::NAN),
            };
            RealizedMetrics::Multiclass(MulticlassRealized { accuracy, macro_f1 })
        }
        Task::Regression => {
            let y: Vec<f64> = labeled.iter().map(|(_, t)| t.value().unwrap_or(0.0)).collect();
            let p: Vec<f64> = labeled.iter().map(|(r, _)| r.probability).collect();
            RealizedMetrics::Regression(RegressionRealized {
                mae: eval::regression::mean_absolute_error(&y, &p).unwrap_or(f64::NAN),
                rmse: eval::regression::root_mean_squared_error(&y, &p).unwrap_or(f64::NAN),
                r2: eval::regression::r2_score(&y, &p).ok(),
            })
        }
    }
}

fn estimate(window: &[&PredictionRecord], task: Task) -> Estimate {
    if window.is_empty() {
        return Estimate::None;
    }
    let n = window.len() as f64;
    match task {
        Task::Classification { classes: 2 } => {
            let (mut correct, mut tp, mut fp, mut fn_, mut positive, mut predicted) =
                (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for r in window {
                let p = r.probability;
                correct += p.max(1.0 - p);
                positive += p;
                if p > DEFAULT_THRESHOLD {
                    predicted += 1.0;
                    tp += p;
                    fp += 1.0 - p;
                } else {
                    fn_ += p;
                }
            }
            let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
            Estimate::Binary(BinaryEstimate {
                expected_accuracy: correct / n,
                expected_precision: ratio(tp, tp + fp),
                expected_recall: ratio(tp, tp + fn_),
                expected_f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
                expected_positive_rate: positive / n,
                predicted_positive_rate: predicted / n,
            })
        }
        Task::Classification { .. } => Estimate::Multiclass(MulticlassEstimate {
            expected_accuracy: window.iter().map(|r| r.probability).sum::<f64>() / n,
        }),
        Task::Regression => Estimate::Regression(RegressionEstimate {
            mean_prediction: window.iter().map(|r| r.probability).sum::<f64>() / n,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn record(label: u32, probability: f64) -> PredictionRecord {
        PredictionRecord {
            request_id: "r".into(),
            row: 0,
            time_ms: 0,
            model: "m".into(),
            version: 1,
            role: Role::Champion,
            inputs: vec![],
            label,
            probability,
            latency_us: 1,
        }
    }

    fn binary(p: f64) -> PredictionRecord {
        record(u32::from(p > 0.5), p)
    }

    const BINARY: Task = Task::Classification { classes: 2 };

    #[test]
    fn labels_binary_estimate_is_the_hand_computed_cbpe() {
        let window = [binary(0.9), binary(0.2), binary(0.6), binary(0.5)];
        let Performance::Estimated { labeled, estimate: Estimate::Binary(e), .. } =
            performance(&window, &[Some(TrueValue::Class(1))], BINARY, 2)
        else {
            panic!("one label of two needed: estimated");
        };
        assert_eq!(labeled, 1);
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        // max(p, 1 - p): 0.9, 0.8, 0.6, 0.5.
        close(e.expected_accuracy, (0.9 + 0.8 + 0.6 + 0.5) / 4.0);
        // Predicted 1: 0.9 and 0.6. tp = 1.5, fp = 0.1 + 0.4 = 0.5, fn = 0.2 + 0.5 = 0.7.
        close(e.expected_precision, 1.5 / 2.0);
        close(e.expected_recall, 1.5 / 2.2);
        close(e.expected_f1, 3.0 / (3.0 + 0.5 + 0.7));
        close(e.expected_positive_rate, (0.9 + 0.2 + 0.6 + 0.5) / 4.0);
        close(e.predicted_positive_rate, 0.5);
        let shown = performance(&window, &[], BINARY, 2).to_string();
        assert!(shown.starts_with("estimated (assumes calibrated probabilities; 0 labels of the 2 needed, 4 predictions): expected accuracy 0.7000"), "{shown}");

        let multi = [record(0, 0.5), record(2, 0.9), record(1, 0.4)];
        let e = performance(&multi, &[], Task::Classification { classes: 3 }, 1);
        assert_eq!(
            e,
            Performance::Estimated {
                predictions: 3,
                labeled: 0,
                min_labels: 1,
                estimate: Estimate::Multiclass(MulticlassEstimate {
                    expected_accuracy: (0.5 + 0.9 + 0.4) / 3.0
                }),
            }
        );
        let e = performance(&[record(0, 2.0), record(0, 4.0)], &[], Task::Regression, 1);
        assert!(
            matches!(e, Performance::Estimated { estimate: Estimate::Regression(RegressionEstimate { mean_prediction }), .. } if mean_prediction == 3.0)
        );
        assert_eq!(
            performance(&[], &[], BINARY, 0).to_string(),
            "estimated (assumes calibrated probabilities; 0 labels of the 0 needed, 0 predictions): no predictions"
        );
        let json = serde_json::to_value(performance(&[binary(0.9)], &[], BINARY, 5)).unwrap();
        assert_eq!(
            (json["estimated"].clone(), json["estimate"]["task"].clone()),
            (true.into(), "binary".into())
        );
    }

    #[test]
    fn labels_realized_metrics_equal_mlflow_ml_eval() {
        let p = [0.9, 0.2, 0.6, 0.5, 0.7, 0.1, 0.35, 0.8];
        let y = [1, 0, 0, 1, 1, 0, 1, 1];
        let window: Vec<PredictionRecord> = p.iter().map(|&p| binary(p)).collect();
        // Two unlabeled records, which the metrics leave out.
        let mut labels: Vec<Option<TrueValue>> = y.iter().map(|&c| Some(TrueValue::Class(c))).collect();
        labels[2] = None;
        labels[5] = None;
        let performance = performance(&window, &labels, BINARY, 6);
        let Performance::Realized { predictions: 8, labeled: 6, metrics: RealizedMetrics::Binary(m) } =
            &performance
        else {
            panic!("{performance:?}");
        };
        let keep = [0, 1, 3, 4, 6, 7];
        let y_kept: Vec<usize> = keep.iter().map(|&i| y[i] as usize).collect();
        let p_kept: Vec<f64> = keep.iter().map(|&i| p[i]).collect();
        let want = eval::evaluate(&y_kept, &p_kept).unwrap();
        assert_eq!(
            (m.accuracy, m.precision, m.recall, m.f1, m.roc_auc, m.log_loss),
            (want.accuracy, want.precision, want.recall, want.f1, Some(want.roc_auc), want.log_loss)
        );
        let json = serde_json::to_value(&performance).unwrap();
        assert_eq!(
            (json["estimated"].clone(), json["metrics"]["task"].clone()),
            (false.into(), "binary".into())
        );
        assert!(
            performance.to_string().starts_with("realized on 6 labels of 8 predictions: accuracy"),
            "{performance}"
        );

        // One class only: ROC AUC is undefined, the rest still computed.
        let one = performance_of(&[binary(0.9), binary(0.3)], &[1, 1]);
        let RealizedMetrics::Binary(m) = one else { panic!() };
        assert_eq!(
            (m.roc_auc, m.accuracy, m.log_loss),
            (None, 0.5, eval::log_loss(&[1, 1], &[0.9, 0.3]).unwrap())
        );

        // Multiclass: accuracy and macro F1 of the predicted classes.
        let multi = [record(0, 0.8), record(1, 0.5), record(2, 0.6), record(2, 0.7), record(1, 0.9)];
        let truth = [0u32, 2, 2, 1, 1];
        let labels: Vec<Option<TrueValue>> = truth.iter().map(|&c| Some(TrueValue::Class(c))).collect();
        let Performance::Realized { metrics: RealizedMetrics::Multiclass(m), .. } =
            super::performance(&multi, &labels, Task::Classification { classes: 3 }, 1)
        else {
            panic!()
        };
        let cm = ConfusionMatrix::compute(&[0, 2, 2, 1, 1], &[0, 1, 2, 2, 1], 3).unwrap();
        assert_eq!((m.accuracy, m.macro_f1), (cm.accuracy(), cm.f1(Average::Macro).unwrap()));
        assert_eq!(m.accuracy, 0.6);

        // Regression: MAE, RMSE, R².
        let values = [record(0, 2.0), record(0, 3.5), record(0, 5.0)];
        let truth = [Some(TrueValue::Value(2.5)), Some(TrueValue::Value(3.0)), Some(TrueValue::Value(6.0))];
        let Performance::Realized { metrics: RealizedMetrics::Regression(m), .. } =
            super::performance(&values, &truth, Task::Regression, 3)
        else {
            panic!()
        };
        let (y, p) = ([2.5, 3.0, 6.0], [2.0, 3.5, 5.0]);
        assert_eq!(m.mae, eval::regression::mean_absolute_error(&y, &p).unwrap());
        assert_eq!(m.rmse, eval::regression::root_mean_squared_error(&y, &p).unwrap());
        assert_eq!(m.r2, Some(eval::regression::r2_score(&y, &p).unwrap()));
    }

    fn performance_of(window: &[PredictionRecord], classes: &[u32]) -> RealizedMetrics {
        let labels: Vec<Option<TrueValue>> = classes.iter().map(|&c| Some(TrueValue::Class(c))).collect();
        match performance(window, &labels, BINARY, 1) {
            Performance::Realized { metrics, .. } => metrics,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn labels_that_do_not_fit_are_left_out() {
        let window = [binary(0.9), binary(f64::NAN), binary(0.2)];
        let labels = [Some(TrueValue::Value(1.0)), Some(TrueValue::Class(1)), Some(TrueValue::Class(7))];
        // No usable label: estimated, from the usable predictions only.
        let p = performance(&window, &labels, BINARY, 1);
        let Performance::Estimated { predictions: 3, labeled: 0, estimate: Estimate::Binary(e), .. } = p
        else {
            panic!("{p:?}")
        };
        assert!((e.expected_accuracy - 0.85).abs() < 1e-12);
        // More labels than records: the extra ones are ignored.
        let p = performance(&window[..1], &[Some(TrueValue::Class(1)), Some(TrueValue::Class(0))], BINARY, 1);
        assert_eq!(p.labeled(), 1);
    }
}
