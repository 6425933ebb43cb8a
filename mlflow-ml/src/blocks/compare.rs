//! Wiring one train and one evaluate step per candidate, and the selection over them.

use mlflow_core::prelude::*;

use super::steps::{EvaluateStep, SelectStep, TrainStep};
use super::types::{Candidate, Prepared, Scored, Trained};
use crate::eval::{Best, TaskMetric};

/// The nodes [`compare`] added.
#[derive(Debug, Clone, Copy)]
pub struct Compared {
    /// Every fitted candidate, in the order given.
    pub trained: Node<Vec<Trained>>,
    /// Every candidate's hold-out metrics, in the order given.
    pub scored: Node<Vec<Scored>>,
    /// The selected champion ([`Best::index`] points into both lists).
    pub champion: Node<Best<TaskMetric>>,
}

/// Adds, for each candidate `c`, a param `candidate_<c>`, a step `train_<c>` and a step
/// `evaluate_<c>` (names from [`node_key`]); collects them as `trained` and `scored`, and adds
/// a param `selection_metric` and the step `select`. Candidates train in parallel; each is
/// cached on its own, so adding a candidate trains only that one.
///
/// Two candidates with the same key are a wiring error (duplicate node names) when the
/// pipeline runs, and so is a second `compare` in the same pipeline (its `trained`, `scored`
/// and `select` nodes would clash). See the [module docs](super) for an example.
pub fn compare(
    p: &mut Pipeline,
    prepared: Node<Prepared>,
    candidates: impl IntoIterator<Item = Candidate>,
    metric: impl Into<TaskMetric>,
) -> Compared {
    let (mut trained, mut scored) = (Vec::new(), Vec::new());
    for candidate in candidates {
        let key = node_key(&candidate.name);
        let candidate = p.param(format!("candidate_{key}"), candidate);
        let fitted = p.step_named(format!("train_{key}"), TrainStep, (prepared, candidate));
        scored.push(p.step_named(format!("evaluate_{key}"), EvaluateStep, (fitted, prepared)));
        trained.push(fitted);
    }
    let trained = p.collect_named("trained", trained);
    let scored = p.collect_named("scored", scored);
    let metric = p.param("selection_metric", metric.into());
    let champion = p.step_named("select", SelectStep, (scored, metric));
    Compared { trained, scored, champion }
}

/// A candidate name as it appears in node names: lower case, every character other than a
/// letter or digit as `_` (so `runs --where 'evaluate_rbf_svm.roc_auc>0.8'` can name it).
///
/// ```
/// assert_eq!(mlflow_ml::blocks::node_key("RBF SVM (scaled)"), "rbf_svm__scaled_");
/// ```
pub fn node_key(name: &str) -> String {
    name.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
