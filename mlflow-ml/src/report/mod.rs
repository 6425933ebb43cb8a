//! The run report: one self-contained HTML page per run, for a person with a browser.
//!
//! The page shows a summary (pipeline, run id, status, how many steps ran, came from the cache,
//! failed or were skipped, total time), the errors of failed steps, **the DAG** coloured by step
//! status, **a timeline** (Gantt chart) showing which steps ran side by side, the classifiers'
//! **ROC curves** and **confusion matrices**, the hyperparameter **studies** (trials, optimization
//! history, parallel coordinates, importance), the **metrics** (a table, plus a small line chart
//! for each metric series), the **params**, a table of every step (attempts, why a cache lookup
//! missed) and the environment the run was made in.
//!
//! Everything is inline: the HTML, the CSS, the SVG charts and a few lines of script (hover
//! highlighting, nothing that is needed to read the page). The page loads nothing from anywhere: a
//! Content-Security-Policy forbids every fetch, and the only script allowed to run is the page's
//! own (by nonce). All user data (step names, params, errors, metric keys) is escaped.
//!
//! The renderer does not read the store. It draws a plain [`RunView`], which the tracking side
//! fills from a recorded run (and which the command line can also print as JSON).
//!
//! ```
//! use mlflow_ml::report::{render_html, ClassifierView, MetricView, NodeView, RunView};
//!
//! let view = RunView {
//!     run_id: "a83e3110979f".into(),
//!     pipeline: "demo".into(),
//!     status: "succeeded".into(),
//!     duration_ms: 12.5,
//!     nodes: vec![
//!         NodeView::param("n"),
//!         NodeView::step("load", "ran", 0.0, 4.0),
//!         NodeView::step("mean", "ran", 4.0, 3.0),
//!         NodeView::step("max", "cached", 4.0, 0.1),
//!     ],
//!     edges: vec![(0, 1), (1, 2), (1, 3)],
//!     params: vec![("n".into(), "100".into())],
//!     metrics: vec![MetricView::scalar("mean", "value", 50.5)],
//!     classifiers: vec![ClassifierView {
//!         name: "coin".into(),
//!         roc: vec![(0.0, 0.0), (1.0, 1.0)],
//!         auc: 0.5,
//!         confusion: [[5, 5], [5, 5]],
//!     }],
//!     ..RunView::default()
//! };
//! let html = render_html(&view);
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(html.contains(r#"id="dag""#) && html.contains(r#"id="roc""#));
//! ```

use serde::{Deserialize, Serialize};

use crate::eval::BinaryMetrics;

mod charts;
mod fmt;
mod from_store;
mod layout;
mod monitoring;
mod page;
mod study;

pub use monitoring::{ColumnView, MonitoringView, WindowView, render_monitoring_html};

/// Escapes `text` for HTML text and double- or single-quoted attribute values, as every page of
/// the report does: `&`, `<`, `>`, `"` and `'`, and control characters other than tab and
/// newline (a carriage return is dropped, the rest become U+FFFD). For pages built around the
/// report's, such as the web UI's.
///
/// ```
/// use mlflow_ml::report::escape_html;
/// assert_eq!(escape_html(r#"<script>alert("x")</script>"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
/// assert_eq!(escape_html("a & b's\u{7}"), "a &amp; b&#39;s\u{fffd}");
/// ```
pub fn escape_html(text: &str) -> String {
    fmt::esc(text)
}
pub use page::render_html;
pub use study::{StudyView, TrialView, render_study_fragment};

/// Everything the run report shows, in plain data: filled from the store by the tracking side,
/// drawn by [`render_html`].
///
/// Times: `started_ms` is the wall-clock start (milliseconds since the Unix epoch, shown in UTC);
/// every other time is in milliseconds, and a node's `start_ms` is an offset from the run's start.
/// Nothing here is trusted: out-of-range edges are ignored, and NaN or infinite numbers are drawn
/// as nothing (and printed as text), never written into an SVG attribute.
///
/// ```
/// use mlflow_ml::report::RunView;
/// let view = RunView { pipeline: "empty".into(), ..RunView::default() };
/// assert!(mlflow_ml::report::render_html(&view).contains("empty"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    /// The run's id.
    pub run_id: String,
    /// The pipeline's name.
    pub pipeline: String,
    /// `succeeded`, `failed` or `running` (any other text is shown as is, in grey).
    pub status: String,
    /// Wall-clock start, in milliseconds since the Unix epoch (UTC).
    pub started_ms: i64,
    /// Wall-clock duration of the whole run, in milliseconds.
    pub duration_ms: f64,
    /// Params and steps, in pipeline order (a valid topological order: inputs before their users).
    pub nodes: Vec<NodeView>,
    /// `(from, to)`: node `from` is an input of node `to` (indices into `nodes`). Edges that
    /// point outside `nodes` or from a node to itself are ignored; duplicates are drawn once.
    pub edges: Vec<(usize, usize)>,
    /// Param name and what to show for it (a rendered value or a short content hash).
    pub params: Vec<(String, String)>,
    /// Metrics logged by steps.
    pub metrics: Vec<MetricView>,
    /// Binary classifiers to draw a ROC curve and a confusion matrix for.
    pub classifiers: Vec<ClassifierView>,
    /// Hyperparameter searches: trials, optimization history, parallel coordinates, importance.
    #[serde(default)]
    pub studies: Vec<StudyView>,
    /// Name and value: library version, user crate, rustc, OS, host, git commit, ...
    pub environment: Vec<(String, String)>,
}

/// Whether a DAG node is a param or a step.
///
/// ```
/// use mlflow_ml::report::{NodeKind, NodeView};
/// assert_eq!(NodeView::param("seed").kind, NodeKind::Param);
/// assert_eq!(NodeKind::default(), NodeKind::Step);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A param: a value fed into the pipeline (drawn as a pill, placed next to its first user).
    Param,
    /// A step: a function that ran, came from the cache, failed or was skipped.
    #[default]
    Step,
}

/// One node of the DAG: a param or a step, with what happened to it in this run.
///
/// ```
/// use mlflow_ml::report::NodeView;
/// let failed = NodeView {
///     attempts: 3,
///     error: Some("division by zero".into()),
///     ..NodeView::step("train", "failed", 10.0, 250.0)
/// };
/// assert_eq!(failed.status, "failed");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeView {
    /// The param's or step's name.
    pub name: String,
    /// Param or step.
    pub kind: NodeKind,
    /// For a step: `ran`, `cached`, `failed`, `skipped` or `running`; for a param: `param`.
    /// Other text is shown as is, in grey.
    pub status: String,
    /// When the step started, in milliseconds after the run started.
    pub start_ms: f64,
    /// How long the step took (all attempts), in milliseconds.
    pub duration_ms: f64,
    /// How many times the step was tried (0 when it did not run).
    pub attempts: u32,
    /// Why the cache lookup missed (`None` for a hit or when nobody looked).
    pub miss_reason: Option<String>,
    /// The error of a failed step.
    pub error: Option<String>,
    /// For a mapped step, what happened to its tasks.
    pub tasks: Option<mlflow_core::exec::TaskCounts>,
}

impl NodeView {
    /// A param node.
    ///
    /// ```
    /// let p = mlflow_ml::report::NodeView::param("trees");
    /// assert_eq!((p.name.as_str(), p.status.as_str()), ("trees", "param"));
    /// ```
    pub fn param(name: impl Into<String>) -> Self {
        NodeView { name: name.into(), kind: NodeKind::Param, status: "param".into(), ..NodeView::default() }
    }

    /// A step node with its status, start offset and duration; one attempt if it ran or failed.
    ///
    /// ```
    /// let s = mlflow_ml::report::NodeView::step("load", "ran", 0.0, 12.5);
    /// assert_eq!(s.attempts, 1);
    /// assert_eq!(mlflow_ml::report::NodeView::step("load", "cached", 0.0, 0.1).attempts, 0);
    /// ```
    pub fn step(name: impl Into<String>, status: impl Into<String>, start_ms: f64, duration_ms: f64) -> Self {
        let status = status.into();
        let attempts = u32::from(matches!(status.as_str(), "ran" | "failed" | "running"));
        NodeView {
            name: name.into(),
            kind: NodeKind::Step,
            status,
            start_ms,
            duration_ms,
            attempts,
            ..NodeView::default()
        }
    }
}

/// One metric value logged by a step; a series when `index` is set (e.g. per fold or epoch).
///
/// ```
/// use mlflow_ml::report::MetricView;
/// let auc = MetricView::scalar("evaluate", "roc_auc", 0.86);
/// let fold = MetricView::series("cross_validate", "accuracy", 2, 0.81);
/// assert_eq!((auc.index, fold.index), (None, Some(2)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    /// The name of the step that logged it (empty for the run itself).
    pub step: String,
    /// The metric's name.
    pub key: String,
    /// Its value (NaN and infinities are shown as text and left out of charts).
    pub value: f64,
    /// The position in a series (fold, epoch, ...); `None` for a single value.
    pub index: Option<i64>,
}

impl MetricView {
    /// A single value.
    ///
    /// ```
    /// let m = mlflow_ml::report::MetricView::scalar("eval", "f1", 0.75);
    /// assert_eq!((m.key.as_str(), m.value), ("f1", 0.75));
    /// ```
    pub fn scalar(step: impl Into<String>, key: impl Into<String>, value: f64) -> Self {
        MetricView { step: step.into(), key: key.into(), value, index: None }
    }

    /// One point of a series.
    ///
    /// ```
    /// let m = mlflow_ml::report::MetricView::series("cv", "accuracy", 0, 0.8);
    /// assert_eq!(m.index, Some(0));
    /// ```
    pub fn series(step: impl Into<String>, key: impl Into<String>, index: i64, value: f64) -> Self {
        MetricView { step: step.into(), key: key.into(), value, index: Some(index) }
    }
}

/// A binary classifier's evaluation: drawn as a ROC curve and a confusion matrix.
///
/// ```
/// use mlflow_ml::report::ClassifierView;
/// let c = ClassifierView {
///     name: "logistic regression".into(),
///     roc: vec![(0.0, 0.0), (0.1, 0.6), (0.3, 0.85), (1.0, 1.0)],
///     auc: 0.857,
///     confusion: [[97, 13], [19, 49]],
/// };
/// assert_eq!(c.confusion[1][1], 49); // true positives
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassifierView {
    /// The classifier's name (e.g. the model or its evaluate step).
    pub name: String,
    /// ROC points `(false positive rate, true positive rate)`, in curve order. The curve is drawn
    /// from `(0, 0)` to `(1, 1)`: those ends are added when missing.
    pub roc: Vec<(f64, f64)>,
    /// Area under the ROC curve.
    pub auc: f64,
    /// `[[tn, fp], [fn, tp]]`: rows = actual class 0/1, columns = predicted class 0/1.
    pub confusion: [[u64; 2]; 2],
}

impl ClassifierView {
    /// The view of an evaluation computed by [`crate::eval`].
    ///
    /// ```
    /// use mlflow_ml::{eval::evaluate, report::ClassifierView};
    /// let m = evaluate(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
    /// let c = ClassifierView::from_metrics("model", &m);
    /// assert_eq!((c.auc, c.confusion), (0.75, [[2, 0], [1, 1]]));
    /// assert_eq!(c.roc.len(), m.roc.len());
    /// # Ok::<(), mlflow_ml::eval::EvalError>(())
    /// ```
    pub fn from_metrics(name: impl Into<String>, metrics: &BinaryMetrics) -> Self {
        ClassifierView {
            name: name.into(),
            roc: metrics.roc.iter().map(|p| (p.fpr, p.tpr)).collect(),
            auc: metrics.roc_auc,
            confusion: metrics.confusion,
        }
    }
}

/// How a status is drawn: the CSS class, the stroke (strong) colour and the fill (light) colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    class: &'static str,
    stroke: &'static str,
    fill: &'static str,
}

/// The look of a node: params all look alike; steps by status.
fn look(kind: NodeKind, status: &str) -> Look {
    if kind == NodeKind::Param {
        return Look { class: "param", stroke: "#7b5cc4", fill: "#f1ecfb" };
    }
    match status.trim().to_ascii_lowercase().as_str() {
        "ran" => Look { class: "ran", stroke: "#2f9e55", fill: "#e3f5e9" },
        "cached" => Look { class: "cached", stroke: "#3a73c8", fill: "#e2ecfb" },
        "failed" => Look { class: "failed", stroke: "#d03b3b", fill: "#fde3e3" },
        "skipped" => Look { class: "skipped", stroke: "#9aa0a6", fill: "#f3f4f6" },
        "running" => Look { class: "running", stroke: "#d8890b", fill: "#fdf1d8" },
        _ => Look { class: "other", stroke: "#6b7280", fill: "#f3f4f6" },
    }
}
