//! One evaluation type for every task (binary, multiclass, regression), and one metric type to
//! select among candidates of any task.

use std::fmt;
use std::str::FromStr;

use mlflow_core::registry::PromotionMetric;
use mlflow_core::track::{TrackError, log_metric};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::classification::predict_argmax;
use super::{
    BinaryMetrics, ClassMetric, ClassificationReport, EvalError, Metric, RegressionMetric, RegressionReport,
    Scores, evaluate, log_binary_metrics,
};

/// A metric of any task, to select a champion by: a binary [`Metric`], a multiclass
/// [`ClassMetric`] (which also applies to binary tasks) or a [`RegressionMetric`]. Its direction
/// is the inner metric's (lower is better for losses and errors).
///
/// ```
/// use mlflow_ml::eval::{ClassMetric, RegressionMetric, TaskMetric};
/// use mlflow_core::registry::PromotionMetric;
/// let rmse = TaskMetric::from(RegressionMetric::Rmse);
/// assert_eq!((rmse.metric_name(), rmse.higher_is_better()), ("rmse", false));
/// assert_eq!("f1_macro".parse::<TaskMetric>()?, TaskMetric::from(ClassMetric::F1Macro));
/// let accuracy = TaskMetric::from(ClassMetric::Accuracy);
/// assert_eq!(serde_json::to_string(&accuracy).unwrap(), r#""classes.accuracy""#);
/// assert_eq!(serde_json::from_str::<TaskMetric>(r#""classes.accuracy""#).unwrap(), accuracy);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
///
/// It serializes as one string (so a run's `selection_metric` param reads and filters as text):
/// a binary metric by its name (`roc_auc`), the others prefixed (`classes.f1_macro`,
/// `regression.rmse`); [`FromStr`] reads the same forms and the bare names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum TaskMetric {
    /// A binary classification metric.
    Binary(Metric),
    /// A classification metric for any number of classes.
    Classes(ClassMetric),
    /// A regression metric.
    Regression(RegressionMetric),
}

impl From<Metric> for TaskMetric {
    fn from(metric: Metric) -> Self {
        TaskMetric::Binary(metric)
    }
}

impl From<ClassMetric> for TaskMetric {
    fn from(metric: ClassMetric) -> Self {
        TaskMetric::Classes(metric)
    }
}

impl From<RegressionMetric> for TaskMetric {
    fn from(metric: RegressionMetric) -> Self {
        TaskMetric::Regression(metric)
    }
}

impl TaskMetric {
    /// The metric's name, as logged.
    pub fn name(self) -> &'static str {
        match self {
            TaskMetric::Binary(m) => m.name(),
            TaskMetric::Classes(m) => m.name(),
            TaskMetric::Regression(m) => m.name(),
        }
    }
}

impl fmt::Display for TaskMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PromotionMetric for TaskMetric {
    fn metric_name(&self) -> &str {
        self.name()
    }

    fn higher_is_better(&self) -> bool {
        match self {
            TaskMetric::Binary(m) => PromotionMetric::higher_is_better(m),
            TaskMetric::Classes(m) => m.higher_is_better(),
            TaskMetric::Regression(m) => m.higher_is_better(),
        }
    }
}

impl From<TaskMetric> for String {
    fn from(metric: TaskMetric) -> String {
        match metric {
            TaskMetric::Binary(m) => m.name().to_owned(),
            TaskMetric::Classes(m) => format!("classes.{}", m.name()),
            TaskMetric::Regression(m) => format!("regression.{}", m.name()),
        }
    }
}

impl TryFrom<String> for TaskMetric {
    type Error = EvalError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// Parses `classes.NAME` and `regression.NAME`, else a binary metric name first (`roc_auc`, `f1`, ...), then a multiclass one (`f1_macro`,
/// `roc_auc_ovr`, ...), then a regression one (`rmse`, `r2`, ...).
impl FromStr for TaskMetric {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("classes.") {
            return name.parse().map(TaskMetric::Classes);
        }
        if let Some(name) = s.strip_prefix("regression.") {
            return name.parse().map(TaskMetric::Regression);
        }
        if let Ok(m) = s.parse::<Metric>() {
            return Ok(TaskMetric::Binary(m));
        }
        if let Ok(m) = s.parse::<ClassMetric>() {
            return Ok(TaskMetric::Classes(m));
        }
        s.parse::<RegressionMetric>().map(TaskMetric::Regression).map_err(|_| EvalError::UnknownMetricName {
            name: s.to_owned(),
            expected: "a binary metric (accuracy, precision, recall, f1, roc_auc, log_loss), a class metric (f1_macro, balanced_accuracy, roc_auc_ovr, ...) or a regression metric (rmse, mae, r2, ...)",
        })
    }
}

/// A candidate's hold-out evaluation, for its task.
///
/// ```
/// use mlflow_ml::eval::{ClassMetric, Evaluation, Metric, RegressionMetric, Scores, TaskMetric};
/// use ndarray::array;
/// let binary = Evaluation::of_classes(&[0, 1, 1], array![[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]].view())?;
/// assert!(binary.score(TaskMetric::from(Metric::RocAuc)).is_some());
/// assert!(binary.score(TaskMetric::from(ClassMetric::F1Macro)).is_some());
/// let values = Evaluation::of_values(&[1.0, 2.0], &[1.0, 4.0])?;
/// assert_eq!(values.score(TaskMetric::from(RegressionMetric::MaxError)), Some(2.0));
/// assert_eq!(values.score(TaskMetric::from(Metric::F1)), None);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Evaluation {
    /// Two classes: the binary metrics at the default threshold and the class report.
    Binary {
        /// Threshold metrics, ROC and PR curves.
        metrics: BinaryMetrics,
        /// The same predictions as a class report.
        report: ClassificationReport,
    },
    /// Three or more classes.
    Classes(ClassificationReport),
    /// Real values.
    Regression(RegressionReport),
}

impl Evaluation {
    /// Evaluates class probabilities (one column per class) against true class indices: binary
    /// when there are two columns, multiclass otherwise. Labels are the argmax (first on ties).
    pub fn of_classes(y_true: &[usize], proba: ArrayView2<'_, f64>) -> Result<Evaluation, EvalError> {
        let y_pred = predict_argmax(proba)?;
        let report = ClassificationReport::compute(y_true, &y_pred, Some(proba), proba.ncols())?;
        if proba.ncols() == 2 {
            let scores: Vec<f64> = proba.column(1).to_vec();
            Ok(Evaluation::Binary { metrics: evaluate(y_true, &scores)?, report })
        } else {
            Ok(Evaluation::Classes(report))
        }
    }

    /// Evaluates predicted values against true values.
    pub fn of_values(y_true: &[f64], y_pred: &[f64]) -> Result<Evaluation, EvalError> {
        Ok(Evaluation::Regression(RegressionReport::compute(y_true, y_pred)?))
    }

    /// The binary metrics, for a two-class task.
    pub fn binary(&self) -> Option<&BinaryMetrics> {
        match self {
            Evaluation::Binary { metrics, .. } => Some(metrics),
            _ => None,
        }
    }

    /// The class report, for a classification task of any number of classes.
    pub fn classes(&self) -> Option<&ClassificationReport> {
        match self {
            Evaluation::Binary { report, .. } | Evaluation::Classes(report) => Some(report),
            Evaluation::Regression(_) => None,
        }
    }

    /// The regression report, for a regression task.
    pub fn regression(&self) -> Option<&RegressionReport> {
        match self {
            Evaluation::Regression(report) => Some(report),
            _ => None,
        }
    }

    /// Every defined metric by name, in a fixed order: the binary metrics (binary tasks), then
    /// the class metrics not already named, or the regression metrics.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let mut out: Vec<(&'static str, f64)> = Vec::new();
        let class_metrics = |report: &ClassificationReport, out: &mut Vec<(&'static str, f64)>| {
            for m in ClassMetric::ALL {
                if let Some(v) = report.get(m).filter(|v| v.is_finite())
                    && !out.iter().any(|(name, _)| *name == m.name())
                {
                    out.push((m.name(), v));
                }
            }
        };
        match self {
            Evaluation::Binary { metrics, report } => {
                out.extend(
                    Metric::ALL
                        .map(|m| (m.name(), metrics.get(m)))
                        .into_iter()
                        .filter(|(_, v)| v.is_finite()),
                );
                class_metrics(report, &mut out);
            }
            Evaluation::Classes(report) => class_metrics(report, &mut out),
            Evaluation::Regression(report) => {
                for m in RegressionMetric::ALL {
                    if let Some(v) = report.get(m).filter(|v| v.is_finite()) {
                        out.push((m.name(), v));
                    }
                }
            }
        }
        out
    }

    /// Logs the evaluation on the running step: binary tasks as [`log_binary_metrics`] (which the
    /// run report draws) plus the class metrics; multiclass tasks their metrics and the N x N
    /// confusion matrix as `confusion.<actual>.<predicted>`; regression its metrics. Outside a
    /// step it records nothing.
    pub fn log(&self) -> Result<(), TrackError> {
        if let Evaluation::Binary { metrics, .. } = self {
            log_binary_metrics(metrics)?;
        }
        for (name, value) in self.named() {
            log_metric(name, value)?;
        }
        if let Evaluation::Classes(report) = self {
            for (actual, row) in report.confusion.rows().iter().enumerate() {
                for (predicted, count) in row.iter().enumerate() {
                    log_metric(&format!("confusion.{actual}.{predicted}"), *count as f64)?;
                }
            }
        }
        Ok(())
    }

    /// The headline figures for a comparison table: `(name, value)` pairs.
    fn headline(&self) -> Vec<(&'static str, Option<f64>)> {
        match self {
            Evaluation::Binary { metrics, .. } => [
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1,
                Metric::RocAuc,
                Metric::LogLoss,
            ]
            .map(|m| (m.name(), Some(metrics.get(m))))
            .to_vec(),
            Evaluation::Classes(report) => [
                ClassMetric::Accuracy,
                ClassMetric::BalancedAccuracy,
                ClassMetric::F1Macro,
                ClassMetric::RocAucOvr,
                ClassMetric::LogLoss,
            ]
            .map(|m| (m.name(), report.get(m)))
            .to_vec(),
            Evaluation::Regression(report) => [
                RegressionMetric::Rmse,
                RegressionMetric::Mae,
                RegressionMetric::R2,
                RegressionMetric::MaxError,
            ]
            .map(|m| (m.name(), report.get(m)))
            .to_vec(),
        }
    }
}

impl Scores<TaskMetric> for Evaluation {
    fn score(&self, metric: TaskMetric) -> Option<f64> {
        match (self, metric) {
            (Evaluation::Binary { metrics, .. }, TaskMetric::Binary(m)) => Some(metrics.get(m)),
            (Evaluation::Binary { report, .. } | Evaluation::Classes(report), TaskMetric::Classes(m)) => {
                report.get(m)
            }
            (Evaluation::Regression(report), TaskMetric::Regression(m)) => report.get(m),
            _ => None,
        }
    }
}

/// A plain-text table of candidates' headline metrics, one row each, in input order (the
/// columns of the first candidate's task).
///
/// ```
/// use mlflow_ml::eval::{evaluation_table, Evaluation};
/// let e = Evaluation::of_values(&[1.0, 2.0], &[1.5, 2.0])?;
/// let text = evaluation_table(&[("ridge".to_string(), e)]);
/// assert!(text.starts_with("model") && text.contains("rmse") && text.contains("ridge"));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn evaluation_table(candidates: &[(String, Evaluation)]) -> String {
    let width = candidates.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0).max(5);
    let Some((_, first)) = candidates.first() else {
        return format!("{:<width$}\n", "model");
    };
    let columns: Vec<&str> = first.headline().iter().map(|(name, _)| *name).collect();
    let widths: Vec<usize> = columns.iter().map(|c| c.len().max(10)).collect();
    let mut out = format!("{:<width$}", "model");
    for (name, w) in columns.iter().zip(&widths) {
        out += &format!("  {name:>w$}");
    }
    out.push('\n');
    for (name, evaluation) in candidates {
        out += &format!("{name:<width$}");
        let figures = evaluation.headline();
        for (column, w) in columns.iter().zip(&widths) {
            match figures.iter().find(|(n, _)| n == column).and_then(|(_, v)| *v) {
                Some(v) => out += &format!("  {v:>w$.4}"),
                None => out += &format!("  {:>w$}", "-"),
            }
        }
        out.push('\n');
    }
    out
}
