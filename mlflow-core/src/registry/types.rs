//! The registry's values: what to register, the versions, summaries and alias moves it returns,
//! and how to guard a promotion.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::RegistryError;
use super::gate::{MetricThreshold, ThresholdCheck, validate};
use super::reference::check_key;
use crate::codec::ContentHash;

/// What to register: the output of one step (by node name) of one recorded run, with metrics, a
/// description and tags. Build it with [`RegisterRequest::new`] and the builder methods, or fill
/// the fields.
///
/// ```
/// use mlflow_core::registry::RegisterRequest;
/// let request = RegisterRequest::new("run-id", "train")
///     .metric("roc_auc", 0.86)
///     .metrics([("f1", 0.7)])
///     .description("random forest, 100 trees")
///     .tag("owner", "ml-team");
/// assert_eq!(request.metrics.len(), 2);
/// assert_eq!(request.tags["owner"], "ml-team");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// The id of the run that produced the model.
    pub run_id: String,
    /// The node name of the step whose output is the model.
    pub node: String,
    /// Metrics of this version (finite numbers), used by the promotion guard.
    pub metrics: BTreeMap<String, f64>,
    /// Free text.
    pub description: String,
    /// Free key-value tags.
    pub tags: BTreeMap<String, String>,
}

impl RegisterRequest {
    /// A request for the output of step `node` of run `run_id`, with no metrics, description or
    /// tags (see [`RegisterRequest`]).
    pub fn new(run_id: impl Into<String>, node: impl Into<String>) -> Self {
        RegisterRequest { run_id: run_id.into(), node: node.into(), ..RegisterRequest::default() }
    }

    /// A request for the output of step `node` of the run `report` describes: the typed way to
    /// name what to register. Errors if `node` is a param or belongs to another pipeline, or if
    /// the step did not succeed.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &f64) -> f64 {
    /// #     *x
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// use mlflow_core::registry::{RegisterRequest, Registry};
    /// let mut p = Pipeline::new("typed");
    /// let x = p.param("x", 0.5);
    /// let model = p.step(TrainStep, x);
    /// let report = p.run(&store)?;
    /// let request = RegisterRequest::for_output(&report, model)?.metric("auc", 0.9);
    /// assert_eq!(request.node, "train");
    /// let version = Registry::new(&store)?.register("demo", request)?;
    /// assert_eq!(version.node, "train");
    /// assert!(RegisterRequest::for_output(&report, x).is_err(), "a param is not a step output");
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn for_output<T: crate::artifact::Artifact>(
        report: &crate::exec::RunReport,
        node: crate::dag::Node<T>,
    ) -> crate::Result<Self> {
        // Says why a node has no output (another pipeline, failed or skipped step), without
        // decoding the output itself.
        report.has_output(node)?;
        match report.step_of(node) {
            Some(step) => Ok(RegisterRequest::new(report.run_id(), step.node.clone())),
            None => Err(crate::Error::NotAStep {
                node: format!("{node:?}"),
                pipeline: report.pipeline().to_owned(),
            }),
        }
    }

    /// Adds (or replaces) one metric (see [`RegisterRequest`]).
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.insert(name.into(), value);
        self
    }

    /// Adds (or replaces) several metrics (see [`RegisterRequest`]).
    pub fn metrics<K: Into<String>>(mut self, metrics: impl IntoIterator<Item = (K, f64)>) -> Self {
        self.metrics.extend(metrics.into_iter().map(|(k, v)| (k.into(), v)));
        self
    }

    /// Sets the description (see [`RegisterRequest`]).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Adds (or replaces) one tag (see [`RegisterRequest`]).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// One registered version of a model. Serializes with the artifact hash as 64 hex digits.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # use mlflow_core::registry::{RegisterRequest, Registry};
/// # #[mlflow_macros::step(crate = mlflow_core)]
/// # fn train(x: &f64) -> f64 {
/// #     *x
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// let mut p = Pipeline::new("demo");
/// let x = p.param("x", 0.5f64);
/// let node = p.step(TrainStep, x);
/// let run = p.run(&store)?;
/// let registry = Registry::new(&store)?;
/// let v = registry.register("m", RegisterRequest::new(run.run_id(), "train").tag("k", "v"))?;
/// assert_eq!((v.name.as_str(), v.version, v.reference()), ("m", 1, "m/1".to_owned()));
/// assert_eq!((v.pipeline.as_str(), v.node.as_str(), v.step.as_str()), ("demo", "train", "train"));
/// assert_eq!(Some(v.artifact), run.step("train").unwrap().output_hash);
/// # Ok::<(), mlflow_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The model name.
    pub name: String,
    /// The version number, from 1.
    pub version: u32,
    /// Content hash of the model artifact.
    #[serde(with = "hex_hash")]
    pub artifact: ContentHash,
    /// Size of the artifact in bytes.
    pub size: u64,
    /// The run that produced it.
    pub run_id: String,
    /// That run's pipeline.
    pub pipeline: String,
    /// The node name of the step that produced it.
    pub node: String,
    /// The step's name (the same as `node` unless the node was given its own name).
    pub step: String,
    /// Metrics given at registration.
    pub metrics: BTreeMap<String, f64>,
    /// Description given at registration.
    pub description: String,
    /// Tags given at registration.
    pub tags: BTreeMap<String, String>,
    /// When it was registered, in milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The aliases that point at this version now, sorted.
    pub aliases: Vec<String>,
}

impl ModelVersion {
    /// The reference `NAME/VERSION` of this version (see [`ModelVersion`]).
    pub fn reference(&self) -> String {
        format!("{}/{}", self.name, self.version)
    }
}

/// One registered model: its latest version and current aliases.
///
/// ```
/// use std::collections::BTreeMap;
/// use mlflow_core::registry::ModelSummary;
/// let summary = ModelSummary {
///     name: "titanic".into(),
///     latest_version: 3,
///     created_ms: 1,
///     updated_ms: 2,
///     aliases: BTreeMap::from([("production".to_owned(), 2)]),
/// };
/// assert_eq!(summary.aliases["production"], 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// The model name.
    pub name: String,
    /// The highest version number (versions are 1 to this).
    pub latest_version: u32,
    /// When version 1 was registered (ms since the Unix epoch).
    pub created_ms: i64,
    /// When the latest version was registered (ms since the Unix epoch).
    pub updated_ms: i64,
    /// Current aliases and the versions they point at.
    pub aliases: BTreeMap<String, u32>,
}

/// What the promotion gate compared, as recorded with a promotion in the alias history.
///
/// The first fields describe the promotion's own metric ([`Promotion::metric`], its first
/// threshold) as they always have; `thresholds` has the figures and outcome of every threshold,
/// that one first. A move recorded before the registry had several thresholds reads back with
/// one threshold: an absolute change of `margin` in the metric's direction.
///
/// ```
/// use mlflow_core::registry::{GuardCheck, MetricThreshold};
/// let auc = MetricThreshold::new("roc_auc").absolute_change(0.0);
/// let check = GuardCheck {
///     metric: "roc_auc".into(),
///     higher_is_better: true,
///     margin: 0.0,
///     candidate: Some(0.86),
///     current_version: Some(2),
///     current: Some(0.84),
///     passed: true,
///     thresholds: vec![auc.check(Some(0.86), Some(2), Some(0.84))],
/// };
/// assert!(check.passed && check.thresholds.iter().all(|t| t.passed));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardCheck {
    /// The metric compared.
    pub metric: String,
    /// Whether higher is better.
    pub higher_is_better: bool,
    /// The margin required.
    pub margin: f64,
    /// The candidate's value, if it has the metric.
    pub candidate: Option<f64>,
    /// The version that held the alias before, if any.
    pub current_version: Option<u32>,
    /// Its value, if it has the metric.
    pub current: Option<f64>,
    /// Whether the gate let the promotion through on its own (without force): every threshold
    /// passed.
    pub passed: bool,
    /// Every threshold's figures and outcome, the promotion's own metric first.
    #[serde(default)]
    pub thresholds: Vec<ThresholdCheck>,
}

/// One move of an alias, as kept in the append-only history.
///
/// ```
/// use mlflow_core::registry::AliasMove;
/// let removal = AliasMove {
///     id: 7,
///     name: "titanic".into(),
///     alias: "staging".into(),
///     version: None,
///     previous: Some(2),
///     at_ms: 1_700_000_000_000,
///     reason: "retired".into(),
///     forced: false,
///     guard: None,
/// };
/// assert!(removal.version.is_none()); // a removal is a move to nothing
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasMove {
    /// Position in the store's history (increasing).
    pub id: i64,
    /// The model name.
    pub name: String,
    /// The alias.
    pub alias: String,
    /// The version it points at after the move; `None` for a removal.
    pub version: Option<u32>,
    /// The version it pointed at before; `None` if it was unset.
    pub previous: Option<u32>,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The reason given.
    pub reason: String,
    /// Whether a promotion the guard refused was forced through.
    pub forced: bool,
    /// The guard's figures, for a move made by [`Registry::promote`](super::Registry::promote).
    pub guard: Option<GuardCheck>,
}

/// A metric a promotion can be guarded by: its registered name and its direction. The ML layer's
/// metric enum implements it, so `Promotion::by(Metric::RocAuc)` cannot misspell the name or get
/// the direction wrong.
///
/// ```
/// use mlflow_core::registry::{Promotion, PromotionMetric};
/// struct Loss;
/// impl PromotionMetric for Loss {
///     fn metric_name(&self) -> &str { "log_loss" }
///     fn higher_is_better(&self) -> bool { false }
/// }
/// let guard = Promotion::by(Loss);
/// assert_eq!((guard.metric.as_str(), guard.higher_is_better), ("log_loss", false));
/// ```
pub trait PromotionMetric {
    /// The name the metric is registered under.
    fn metric_name(&self) -> &str;
    /// Whether higher values are better.
    fn higher_is_better(&self) -> bool;
}

/// How to guard a promotion: the promotion's own metric (which direction is better, the margin,
/// optional value and relative-change bounds), further [`MetricThreshold`]s on other metrics,
/// and whether to force it. Build it with [`Promotion::new`] and the builder methods.
///
/// The candidate passes when every threshold holds (see the [gate's rules](super::gate), after
/// TFMA's metric thresholds). The promotion's own metric is the first threshold: the candidate's
/// value must be at least the holder's plus `margin` (`higher_is_better`), or at most the
/// holder's minus `margin` (lower is better, e.g. a loss), so that a negative margin tolerates a
/// small loss of quality; plus the bounds set by [`at_least`](Promotion::at_least),
/// [`at_most`](Promotion::at_most) and [`relative_change`](Promotion::relative_change). With no
/// current holder only value bounds apply. The own metric always has the margin's absolute
/// bound (0 by default: at least as good), so a relative tolerance on it needs a negative margin
/// too; a metric gated only by a relative change goes in [`Promotion::and`]. The comparisons allow for floating-point rounding (a
/// relative 1e-12), so `0.85` meets `0.80` plus a margin of `0.05`.
///
/// ```
/// use mlflow_core::registry::{MetricThreshold, Promotion};
/// let guard = Promotion::new("log_loss").lower_is_better().margin(0.01).reason("weekly retrain");
/// assert!(!guard.higher_is_better && !guard.force);
/// assert_eq!(guard.margin, 0.01);
///
/// // ROC AUC at least 0.8, and at most 0.02 and 1% below the holder's; log loss at most 0.5.
/// let gate = Promotion::new("roc_auc")
///     .margin(-0.02)
///     .at_least(0.8)
///     .relative_change(-0.01)
///     .and(MetricThreshold::new("log_loss").lower_is_better().at_most(0.5));
/// let thresholds = gate.thresholds();
/// assert_eq!(thresholds.len(), 2);
/// assert_eq!((thresholds[0].at_least, thresholds[0].relative_change), (Some(0.8), Some(-0.01)));
/// assert_eq!(thresholds[1].at_most, Some(0.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// The metric to compare (as registered with the versions).
    pub metric: String,
    /// The required improvement (finite; 0 means "at least as good").
    pub margin: f64,
    /// Whether higher values are better.
    pub higher_is_better: bool,
    /// Promote even if the guard refuses (recorded as forced).
    pub force: bool,
    /// Why, kept in the history.
    pub reason: String,
    /// The candidate's value of `metric` must be at least this.
    #[serde(default)]
    pub at_least: Option<f64>,
    /// The candidate's value of `metric` must be at most this.
    #[serde(default)]
    pub at_most: Option<f64>,
    /// Bound on the relative change of `metric` from the holder (see
    /// [`MetricThreshold::relative_change`]).
    #[serde(default)]
    pub relative_change: Option<f64>,
    /// Thresholds on further metrics (or further bounds on `metric`), checked after its own.
    #[serde(default)]
    pub extra_thresholds: Vec<MetricThreshold>,
}

impl Promotion {
    /// Compare on `metric`, higher is better, margin 0, not forced, no reason (see [`Promotion`]).
    pub fn new(metric: impl Into<String>) -> Self {
        Promotion {
            metric: metric.into(),
            margin: 0.0,
            higher_is_better: true,
            force: false,
            reason: String::new(),
            at_least: None,
            at_most: None,
            relative_change: None,
            extra_thresholds: Vec::new(),
        }
    }

    /// Compare on a typed metric, in its own direction (see [`PromotionMetric`]).
    pub fn by(metric: impl PromotionMetric) -> Self {
        let promotion = Promotion::new(metric.metric_name());
        if metric.higher_is_better() { promotion } else { promotion.lower_is_better() }
    }

    /// Lower values of the metric are better (see [`Promotion`]).
    pub fn lower_is_better(mut self) -> Self {
        self.higher_is_better = false;
        self
    }

    /// Sets the margin (see [`Promotion`]).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// Sets whether to force (see [`Promotion`]).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets the reason (see [`Promotion`]).
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// The candidate's value of the promotion's metric must be at least `bound`, whatever the
    /// holder's (see [`Promotion`]).
    pub fn at_least(mut self, bound: f64) -> Self {
        self.at_least = Some(bound);
        self
    }

    /// The candidate's value of the promotion's metric must be at most `bound`, whatever the
    /// holder's (see [`Promotion`]).
    pub fn at_most(mut self, bound: f64) -> Self {
        self.at_most = Some(bound);
        self
    }

    /// Bound on the relative change of the promotion's metric from the holder's: at least
    /// `bound` if higher is better, at most if lower is better (`-0.01`: at most 1% worse on a
    /// higher-is-better metric). See [`MetricThreshold::relative_change`].
    pub fn relative_change(mut self, bound: f64) -> Self {
        self.relative_change = Some(bound);
        self
    }

    /// Also requires `threshold` (see [`Promotion`] and [`MetricThreshold`]).
    pub fn and(mut self, threshold: MetricThreshold) -> Self {
        self.extra_thresholds.push(threshold);
        self
    }

    /// Every threshold the candidate must meet, the promotion's own metric first: its margin
    /// becomes an absolute change bound of `margin` in the good direction (`-margin` for a
    /// lower-is-better metric, whose change bound is a maximum).
    ///
    /// ```
    /// use mlflow_core::registry::Promotion;
    /// let own = Promotion::new("log_loss").lower_is_better().margin(0.01).thresholds().remove(0);
    /// assert_eq!((own.higher_is_better, own.absolute_change), (false, Some(-0.01)));
    /// ```
    pub fn thresholds(&self) -> Vec<MetricThreshold> {
        let own = MetricThreshold {
            metric: self.metric.clone(),
            higher_is_better: self.higher_is_better,
            at_least: self.at_least,
            at_most: self.at_most,
            absolute_change: Some(if self.higher_is_better { self.margin } else { -self.margin }),
            relative_change: self.relative_change,
        };
        std::iter::once(own).chain(self.extra_thresholds.iter().cloned()).collect()
    }

    /// Checks the promotion's figures without a store: [`RegistryError::InvalidKey`] for a bad
    /// metric name, [`RegistryError::InvalidMargin`] for a margin that is not finite, and
    /// [`RegistryError::InvalidThreshold`] (naming the threshold, from 1, and what to change) for
    /// a bound that is not finite, a value range that is empty, a threshold with no bound, or a
    /// metric given two directions. [`Registry::promote`](super::Registry::promote) checks the
    /// same.
    ///
    /// ```
    /// use mlflow_core::registry::{MetricThreshold, Promotion, RegistryError};
    /// assert!(Promotion::new("auc").at_least(0.7).validate().is_ok());
    /// let err = Promotion::new("auc").and(MetricThreshold::new("loss").at_least(0.5).at_most(0.1));
    /// let err = err.validate().unwrap_err();
    /// assert!(matches!(err, RegistryError::InvalidThreshold { position: 2, .. }), "{err}");
    /// ```
    pub fn validate(&self) -> Result<(), RegistryError> {
        check_key("metric name", &self.metric)?;
        if !self.margin.is_finite() {
            return Err(RegistryError::InvalidMargin { margin: self.margin });
        }
        validate(&self.thresholds())
    }
}

/// Serde form of a content hash as 64 hex digits (JSON-friendly).
mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::codec::ContentHash;

    pub fn serialize<S: Serializer>(hash: &ContentHash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash.to_hex())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ContentHash, D::Error> {
        let text = String::deserialize(d)?;
        ContentHash::from_hex(&text)
            .ok_or_else(|| D::Error::custom(format!("`{text}` is not a content hash (64 hex digits)")))
    }
}
