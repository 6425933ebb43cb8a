//! What can go wrong in the model registry, and the messages that say so.

use std::collections::BTreeMap;

use super::gate::{Rule, ThresholdCheck, Verdict, figure};
use super::schema::REGISTRY;
use crate::codec::{CodecError, ContentHash};
use crate::store::StoreError;

const REFERENCE_HELP: &str =
    "write NAME, NAME/VERSION (e.g. `titanic/3`) or NAME@ALIAS (e.g. `titanic@production`)";

/// What can go wrong in the model registry.
///
/// ```
/// use mlflow_core::registry::{ModelRef, RegistryError};
/// let err = "titanic/three".parse::<ModelRef>().unwrap_err();
/// assert!(matches!(err, RegistryError::BadReference { .. }));
/// assert!(err.to_string().contains("`three` is not a version number"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A model name or alias has characters outside `[A-Za-z0-9_.-]`, is empty or too long.
    #[error(
        "invalid {kind} {name:?}: {problem}; use 1 to 128 letters, digits, `_`, `.` or `-` (e.g. `titanic`, `production`)"
    )]
    InvalidName {
        /// `model name` or `alias`.
        kind: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A reference string is not `NAME`, `NAME/VERSION` or `NAME@ALIAS`.
    #[error("bad model reference {reference:?}: {problem}; {help}", help = REFERENCE_HELP)]
    BadReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        problem: String,
    },
    /// No version of this model has been registered.
    #[error(
        "no model named `{name}` is registered in this store; `mlflow-pipelines models` lists the registered models and `Registry::register` adds one"
    )]
    UnknownModel {
        /// The model name.
        name: String,
    },
    /// The model exists but not this version.
    #[error(
        "model `{name}` has no version {version}: its versions are 1 to {latest}; `mlflow-pipelines model show {name}` describes the latest"
    )]
    UnknownVersion {
        /// The model name.
        name: String,
        /// The version asked for.
        version: u32,
        /// The latest version.
        latest: u32,
    },
    /// The alias does not point at a version of this model (never set, or removed).
    #[error("model `{name}` has no alias `{alias}`{}", alias_list(.current))]
    UnknownAlias {
        /// The model name.
        name: String,
        /// The alias asked for.
        alias: String,
        /// The aliases the model has now, with their versions.
        current: BTreeMap<String, u32>,
    },
    /// Registering: the run is not in the store.
    #[error(
        "cannot register from run `{run_id}`: no such run in this store; use the id of a recorded run (`RunReport::run_id`, or `mlflow-pipelines runs`)"
    )]
    RunNotFound {
        /// The run id as given.
        run_id: String,
    },
    /// Registering: the run has no step with this node name.
    #[error("cannot register from run `{run_id}`: it has no step `{node}`; its steps are: {}", if .steps.is_empty() { "(none)".to_owned() } else { .steps.join(", ") })]
    StepNotFound {
        /// The run id.
        run_id: String,
        /// The node name as given.
        node: String,
        /// The node names of the run's steps, in pipeline order.
        steps: Vec<String>,
    },
    /// Registering: the step exists but produced no output.
    #[error("cannot register step `{node}` of run `{run_id}`: it has no output (status `{status}`{}); register the output of a step that ran or was cached", .error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    NoOutput {
        /// The run id.
        run_id: String,
        /// The node name.
        node: String,
        /// The step's status in that run.
        status: String,
        /// The step's error, if it failed.
        error: Option<String>,
    },
    /// A metric value is NaN or infinite.
    #[error(
        "metric `{metric}` has the value {value}: registry metrics must be finite numbers so that versions can be compared; fix or leave out that metric"
    )]
    InvalidMetric {
        /// The metric name.
        metric: String,
        /// The value given.
        value: f64,
    },
    /// A metric name or tag key is empty or has control characters.
    #[error("invalid {kind} {key:?}: it must be non-empty and free of control characters")]
    InvalidKey {
        /// `metric name` or `tag key`.
        kind: &'static str,
        /// The key as given.
        key: String,
    },
    /// A promotion margin is NaN or infinite.
    #[error(
        "promotion margin {margin} is not a finite number; use 0 to require \"at least as good\", a positive margin to require an improvement"
    )]
    InvalidMargin {
        /// The margin given.
        margin: f64,
    },
    /// A promotion threshold is unusable (see [`Promotion::validate`](super::Promotion::validate)).
    #[error("invalid promotion threshold {position} (on `{metric}`): {problem}")]
    InvalidThreshold {
        /// Which threshold, from 1 (the promotion's own metric is 1).
        position: usize,
        /// Its metric.
        metric: String,
        /// What is wrong, and what to do about it.
        problem: String,
    },
    /// The gate refused a promotion: the candidate is not good enough. The message states every
    /// failed threshold with its figures.
    ///
    /// The scalar fields describe the promotion's own metric, as they did when it was the only
    /// one: the candidate's value, and the holder's version and value (`0` and NaN when the alias
    /// has no holder, where only value bounds can refuse). `failures` has every threshold that
    /// failed, with all its figures.
    #[error("{}", refusal_message(self))]
    PromotionRefused {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
        /// The metric compared.
        metric: String,
        /// Whether higher values of the metric are better.
        higher_is_better: bool,
        /// The margin required.
        margin: f64,
        /// The candidate version.
        candidate_version: u32,
        /// The candidate's value.
        candidate: f64,
        /// The version that holds the alias.
        current_version: u32,
        /// Its value.
        current: f64,
        /// Every threshold that failed, in the promotion's order. When empty (an error built by
        /// hand), the message is built from the scalar fields. Boxed (a thin pointer) to keep every `Result` that
        /// carries a registry error small.
        failures: Box<Vec<ThresholdCheck>>,
    },
    /// The guard cannot compare: the candidate or the current holder lacks the metric.
    #[error("cannot promote `{name}` version {candidate_version} to `{alias}` on `{metric}`: version {version} ({}) has no `{metric}` metric (it has: {}); choose a metric both versions have, or force the promotion", if .version == .candidate_version { "the candidate".to_owned() } else { format!("the current `{alias}`") }, if .available.is_empty() { "no metrics".to_owned() } else { .available.join(", ") })]
    MissingMetric {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
        /// The metric asked for.
        metric: String,
        /// The candidate version.
        candidate_version: u32,
        /// The version lacking the metric (the candidate or the current holder).
        version: u32,
        /// The metrics that version has.
        available: Vec<String>,
    },
    /// A version's artifact does not decode as the requested type.
    #[error("model `{reference}` (artifact {}) cannot be loaded as the requested type: {source}; load it with the type its step produced", .artifact.short())]
    Load {
        /// The resolved reference (`NAME/VERSION`).
        reference: String,
        /// The artifact's hash.
        artifact: ContentHash,
        /// The decoder's error.
        source: CodecError,
    },
    /// The store's registry tables were written by a newer mlflow.
    #[error(
        "the model registry in this store has format version {found}, but this mlflow reads up to version {supported}; upgrade mlflow (it is never read with an older format)"
    )]
    NewerFormat {
        /// Format found.
        found: u32,
        /// Highest format this build reads.
        supported: u32,
    },
    /// The store failed (database, or a missing or corrupt artifact).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for RegistryError {
    /// A store error, except that the store's refusal of newer registry tables is
    /// [`RegistryError::NewerFormat`].
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NewerRoom { room, found, supported, .. } if room == REGISTRY.name => {
                RegistryError::NewerFormat { found, supported }
            }
            other => RegistryError::Store(other),
        }
    }
}

fn alias_list(current: &BTreeMap<String, u32>) -> String {
    if current.is_empty() {
        return "; it has no aliases (set one with `Registry::set_alias` or `promote`)".to_owned();
    }
    let list: Vec<String> = current.iter().map(|(a, v)| format!("{a} (version {v})")).collect();
    format!("; its aliases are: {}", list.join(", "))
}

fn refusal_message(err: &RegistryError) -> String {
    let RegistryError::PromotionRefused {
        name,
        alias,
        metric,
        higher_is_better,
        margin,
        candidate_version,
        candidate,
        current_version,
        current,
        failures,
    } = err
    else {
        return String::new();
    };
    let advice = "promote a better version, or force it (the history records a forced promotion)";
    let sentences: Vec<String> = failures
        .iter()
        .flat_map(|check| check.failures().into_iter().map(move |(rule, verdict)| (check, rule, verdict)))
        .map(|(check, rule, verdict)| failure_sentence(alias, check, rule, verdict))
        .collect();
    match sentences.as_slice() {
        [] => {}
        [one] => {
            return format!(
                "refusing to promote `{name}` version {candidate_version} to `{alias}`: {one}; {advice}"
            );
        }
        many => {
            let listed: Vec<String> =
                many.iter().enumerate().map(|(i, s)| format!("({}) {s}", i + 1)).collect();
            return format!(
                "refusing to promote `{name}` version {candidate_version} to `{alias}`: {} requirements failed: {}; {advice}",
                many.len(),
                listed.join("; ")
            );
        }
    }
    let (bound, required, sign, direction) = if *higher_is_better {
        ("at least", current + margin, "plus", "higher")
    } else {
        ("at most", current - margin, "minus", "lower")
    };
    let margin_text = if *margin == 0.0 { String::new() } else { format!(", {sign} a margin of {margin}") };
    format!(
        "refusing to promote `{name}` version {candidate_version} to `{alias}`: its {metric} is \
         {candidate}, but it must be {bound} {required} (the current `{alias}`, version \
         {current_version}, has {metric} {current}{margin_text}; {direction} is better); promote a \
         better version, or force it (the history records a forced promotion)"
    )
}

/// One failed bound of a threshold, with its figures.
fn failure_sentence(alias: &str, check: &ThresholdCheck, rule: Rule, verdict: Verdict) -> String {
    let t = &check.threshold;
    let metric = &t.metric;
    let Some(c) = check.candidate else {
        return format!("it has no `{metric}` metric");
    };
    let holder = |what: &str| match (check.baseline_version, check.baseline) {
        (Some(v), Some(b)) => format!("the current `{alias}`, version {v}, has {metric} {b}{what}"),
        (Some(v), None) => format!("the current `{alias}`, version {v}, has no `{metric}` metric"),
        (None, _) => format!("`{alias}` has no holder"),
    };
    let (bound, op, direction) =
        if t.higher_is_better { ("at least", ">=", "higher") } else { ("at most", "<=", "lower") };
    match (rule, verdict) {
        (Rule::AtLeast(x), _) => format!("its {metric} is {c}, but it must be at least {x}"),
        (Rule::AtMost(x), _) => format!("its {metric} is {c}, but it must be at most {x}"),
        (Rule::Change(a), Verdict::Failed) => {
            let b = check.baseline.unwrap_or(f64::NAN);
            // The margin is stated in its good direction, as `Promotion::margin` is given.
            let margin = match (t.higher_is_better, a.partial_cmp(&0.0)) {
                (_, Some(std::cmp::Ordering::Equal) | None) => String::new(),
                (true, Some(std::cmp::Ordering::Greater)) => format!(", plus a margin of {a}"),
                (true, Some(std::cmp::Ordering::Less)) => format!(", minus an allowed loss of {}", -a),
                (false, Some(std::cmp::Ordering::Less)) => format!(", minus a margin of {}", -a),
                (false, Some(std::cmp::Ordering::Greater)) => format!(", plus an allowed loss of {a}"),
            };
            let change = check.diff.map(|d| format!("; the change is {}", figure(d))).unwrap_or_default();
            format!(
                "its {metric} is {c}, but it must be {bound} {} ({}; {direction} is better{change})",
                b + a,
                holder(&margin)
            )
        }
        (Rule::RelativeChange(r), Verdict::Undefined) => format!(
            "its {metric} is {c}, but its relative change cannot be {op} {r}: {}, and a relative change from 0 is \
             undefined (bound the absolute change of this metric instead)",
            holder("")
        ),
        (Rule::RelativeChange(r), Verdict::Failed) => format!(
            "its {metric} is {c}, a relative change of {} ({}), but the relative change must be {bound} {r} \
             ({direction} is better)",
            check.relative.map_or_else(|| "?".to_owned(), figure),
            holder("")
        ),
        (_, _) => format!("its {metric} is {c}, but {}", holder("")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_messages_state_both_figures_in_either_direction() {
        let refused = |higher_is_better, margin| RegistryError::PromotionRefused {
            name: "m".into(),
            alias: "production".into(),
            metric: "loss".into(),
            higher_is_better,
            margin,
            candidate_version: 3,
            candidate: 0.5,
            current_version: 2,
            current: 0.25,
            failures: Box::default(),
        };
        let text = refused(false, 0.0).to_string();
        assert!(
            text.contains("version 3") && text.contains("loss is 0.5, but it must be at most 0.25"),
            "{text}"
        );
        assert!(text.contains("version 2, has loss 0.25; lower is better"), "{text}");
        let text = refused(true, 0.5).to_string();
        assert!(
            text.contains("must be at least 0.75") && text.contains("0.25, plus a margin of 0.5;"),
            "{text}"
        );
        let text = refused(false, 0.125).to_string();
        assert!(
            text.contains("must be at most 0.125") && text.contains("0.25, minus a margin of 0.125;"),
            "{text}"
        );
    }
}
