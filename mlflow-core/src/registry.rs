//! The model registry: named models with numbered versions, movable aliases with a full history,
//! and guarded promotion.
//!
//! A **version** is the output artifact of one step of one recorded run, registered under a model
//! name with metrics, a description and tags. Versions of a name are numbered 1, 2, 3 ... in the
//! order they were registered; the number is assigned inside one write transaction, so several
//! threads or processes registering at once never get the same number. Versions are never
//! changed or deleted.
//!
//! Registering an artifact that is **already a version of that name** (same content hash) does not
//! create a new version: [`Registry::register`] returns the existing one, unchanged (its metrics,
//! description, tags and source run stay those of the first registration). So rerunning a
//! pipeline whose steps are all cached, and registering its output again, is harmless. The same
//! artifact may be a version of several names.
//!
//! An **alias** (`staging`, `production`, any valid name) points at one version of a model at a
//! time. Every move, including a removal, is appended to a history that is never rewritten, with
//! its time, reason and, for [`Registry::promote`], the guard's figures; so "which version was
//! `production` at time T" has an answer ([`Registry::alias_at`]). The times of the moves of one
//! alias never go backwards: a move is stamped with the clock, or with the previous move's time if
//! the clock is behind it.
//!
//! A **reference** names a version: `NAME` (the latest version), `NAME/3` (version 3) or
//! `NAME@production` (the version an alias points at now); see [`ModelRef`].
//!
//! Model names and aliases are 1 to 128 characters from `A-Z a-z 0-9 _ . -`.
//!
//! # Tables
//! The registry keeps its tables in the store's database, created on first use by
//! [`Registry::new`]: `registry_versions` (one row per version: name, version, artifact hash and
//! size, source run, pipeline, node and step, description, creation time; unique on
//! `(artifact, name)`), `registry_metrics` and `registry_tags` (per version), and
//! `registry_alias_moves` (the append-only alias history; triggers refuse updates and deletes).
//! The format is recorded as `registry_format` in the store's `meta` table; a store whose registry
//! was written by a newer mlflow is refused ([`RegistryError::NewerFormat`]).
//!
//! ```
//! # use mlflow_core::prelude::*;
//! use mlflow_core::registry::{Promotion, RegisterRequest, Registry};
//! # #[mlflow_macros::step(crate = mlflow_core)]
//! # fn train(x: &f64) -> Vec<f64> {
//! #     vec![*x, 2.0 * x]
//! # }
//! # let dir = tempfile::tempdir().unwrap();
//! # let store = Store::open(dir.path()).unwrap();
//! let mut p = Pipeline::new("demo");
//! let scale = p.param("scale", 1.5f64);
//! p.step(TrainStep, scale); // the node is named `train`
//! let run = p.run(&store)?;
//!
//! let registry = Registry::new(&store)?;
//! let v1 = registry.register(
//!     "demo-model",
//!     RegisterRequest::new(run.run_id(), "train").metric("auc", 0.81).description("first try"),
//! )?;
//! assert_eq!(v1.version, 1);
//! registry.promote("demo-model", 1, "production", Promotion::new("auc").reason("first model"))?;
//! let weights: Vec<f64> = registry.load("demo-model@production")?;
//! assert_eq!(weights, [1.5, 3.0]);
//! # Ok::<(), mlflow_core::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;
use crate::codec::{self, CodecError, ContentHash};
use crate::store::{now_ms, Store, StoreError};

/// The registry table format this build writes. A store whose registry has a higher number is
/// refused.
///
/// ```
/// assert_eq!(mlflow_core::registry::REGISTRY_FORMAT, 1);
/// ```
pub const REGISTRY_FORMAT: u32 = 1;

/// The longest model name or alias, in bytes.
///
/// ```
/// use mlflow_core::registry::{ModelRef, MAX_NAME_LEN};
/// assert!("a".repeat(MAX_NAME_LEN).parse::<ModelRef>().is_ok());
/// assert!("a".repeat(MAX_NAME_LEN + 1).parse::<ModelRef>().is_err());
/// ```
pub const MAX_NAME_LEN: usize = 128;

/// Relative slack of the promotion guard's comparison, so that floating-point rounding of
/// `current + margin` does not refuse a candidate that meets the figures exactly.
const GUARD_TOLERANCE: f64 = 1e-12;

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
pub enum RegistryError {
    /// A model name or alias has characters outside `[A-Za-z0-9_.-]`, is empty or too long.
    #[error("invalid {kind} {name:?}: {problem}; use 1 to 128 letters, digits, `_`, `.` or `-` (e.g. `titanic`, `production`)")]
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
    #[error("no model named `{name}` is registered in this store; `mlflow-pipelines models` lists the registered models and `Registry::register` adds one")]
    UnknownModel {
        /// The model name.
        name: String,
    },
    /// The model exists but not this version.
    #[error("model `{name}` has no version {version}: its versions are 1 to {latest}; `mlflow-pipelines model show {name}` describes the latest")]
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
    #[error("cannot register from run `{run_id}`: no such run in this store; use the id of a recorded run (`RunReport::run_id`, or `mlflow-pipelines runs`)")]
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
    #[error("metric `{metric}` has the value {value}: registry metrics must be finite numbers so that versions can be compared; fix or leave out that metric")]
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
    #[error("promotion margin {margin} is not a finite number; use 0 to require \"at least as good\", a positive margin to require an improvement")]
    InvalidMargin {
        /// The margin given.
        margin: f64,
    },
    /// The guard refused a promotion: the candidate is not good enough. The message states both
    /// figures.
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
    #[error("the model registry in this store has format version {found}, but this mlflow reads up to version {supported}; upgrade mlflow (it is never read with an older format)")]
    NewerFormat {
        /// Format found.
        found: u32,
        /// Highest format this build reads.
        supported: u32,
    },
    /// The store failed (database, or a missing or corrupt artifact).
    #[error(transparent)]
    Store(#[from] StoreError),
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
    } = err
    else {
        return String::new();
    };
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

/// A parsed reference to a model version: `NAME`, `NAME/VERSION` or `NAME@ALIAS`.
///
/// Serializes as its string form (`"titanic@production"`).
///
/// ```
/// use mlflow_core::registry::ModelRef;
/// let r: ModelRef = "titanic@production".parse()?;
/// assert_eq!(r, ModelRef::Alias { name: "titanic".into(), alias: "production".into() });
/// assert_eq!(r.name(), "titanic");
/// assert_eq!("titanic/3".parse::<ModelRef>()?.to_string(), "titanic/3");
/// assert!("titanic/0".parse::<ModelRef>().is_err()); // versions start at 1
/// # Ok::<(), mlflow_core::registry::RegistryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelRef {
    /// `NAME`: the latest version.
    Latest {
        /// The model name.
        name: String,
    },
    /// `NAME/VERSION`: one version.
    Version {
        /// The model name.
        name: String,
        /// The version, from 1.
        version: u32,
    },
    /// `NAME@ALIAS`: the version the alias points at now.
    Alias {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
    },
}

impl ModelRef {
    /// Parses a reference (the same as `str::parse`).
    ///
    /// ```
    /// use mlflow_core::registry::ModelRef;
    /// assert_eq!(ModelRef::parse("m")?, ModelRef::Latest { name: "m".into() });
    /// assert!(ModelRef::parse("m@").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn parse(text: &str) -> Result<ModelRef, RegistryError> {
        let bad = |problem: String| RegistryError::BadReference { reference: text.to_owned(), problem };
        if text.is_empty() {
            return Err(bad("it is empty".to_owned()));
        }
        let check = |kind: &str, part: &str| match name_problem(part) {
            None => Ok(part.to_owned()),
            Some(problem) => Err(bad(format!("the {kind} `{part}`: {problem}"))),
        };
        match (text.find('/'), text.find('@')) {
            (Some(_), Some(_)) => {
                Err(bad("it has both `/` and `@`: give a version or an alias, not both".into()))
            }
            (Some(i), None) => {
                let name = check("model name", &text[..i])?;
                let digits = &text[i + 1..];
                if digits.is_empty() {
                    return Err(bad("the version after `/` is missing".into()));
                }
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(format!("`{digits}` is not a version number")));
                }
                let version = digits
                    .parse::<u32>()
                    .map_err(|_| bad(format!("version {digits} is too large (at most {})", u32::MAX)))?;
                if version == 0 {
                    return Err(bad("versions start at 1".into()));
                }
                Ok(ModelRef::Version { name, version })
            }
            (None, Some(i)) => {
                let name = check("model name", &text[..i])?;
                if text[i + 1..].is_empty() {
                    return Err(bad("the alias after `@` is missing".into()));
                }
                let alias = check("alias", &text[i + 1..])?;
                Ok(ModelRef::Alias { name, alias })
            }
            (None, None) => Ok(ModelRef::Latest { name: check("model name", text)? }),
        }
    }

    /// The model name.
    ///
    /// ```
    /// assert_eq!(mlflow_core::registry::ModelRef::parse("m/2").unwrap().name(), "m");
    /// ```
    pub fn name(&self) -> &str {
        match self {
            ModelRef::Latest { name } | ModelRef::Version { name, .. } | ModelRef::Alias { name, .. } => name,
        }
    }
}

impl FromStr for ModelRef {
    type Err = RegistryError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModelRef::parse(text)
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelRef::Latest { name } => f.write_str(name),
            ModelRef::Version { name, version } => write!(f, "{name}/{version}"),
            ModelRef::Alias { name, alias } => write!(f, "{name}@{alias}"),
        }
    }
}

impl From<ModelRef> for String {
    fn from(reference: ModelRef) -> String {
        reference.to_string()
    }
}

impl TryFrom<String> for ModelRef {
    type Error = RegistryError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ModelRef::parse(&text)
    }
}

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

/// What the promotion guard compared, as recorded with a promotion in the alias history.
///
/// ```
/// use mlflow_core::registry::GuardCheck;
/// let check = GuardCheck {
///     metric: "roc_auc".into(),
///     higher_is_better: true,
///     margin: 0.0,
///     candidate: Some(0.86),
///     current_version: Some(2),
///     current: Some(0.84),
///     passed: true,
/// };
/// assert!(check.passed);
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
    /// Whether the guard let the promotion through on its own (without force).
    pub passed: bool,
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
    /// The guard's figures, for a move made by [`Registry::promote`].
    pub guard: Option<GuardCheck>,
}

/// How to guard a promotion: the metric to compare, which direction is better, the margin, and
/// whether to force it. Build it with [`Promotion::new`] and the builder methods.
///
/// The candidate passes when there is no current holder of the alias, or when its metric is at
/// least the holder's plus `margin` (`higher_is_better`), or at most the holder's minus `margin`
/// (lower is better, e.g. a loss). A negative margin tolerates a small loss of quality. The
/// comparison allows for floating-point rounding (a relative 1e-12), so `0.85` meets `0.80` plus a
/// margin of `0.05`.
///
/// ```
/// use mlflow_core::registry::Promotion;
/// let guard = Promotion::new("log_loss").lower_is_better().margin(0.01).reason("weekly retrain");
/// assert!(!guard.higher_is_better && !guard.force);
/// assert_eq!(guard.margin, 0.01);
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
        }
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
}

/// The model registry of one store. Cheap to make; make one wherever it is needed.
///
/// See the [module documentation](self) for an example.
pub struct Registry<'s> {
    store: &'s Store,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl fmt::Debug for Registry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("store", &self.store).finish()
    }
}

/// An error inside a database closure: SQLite's, or the registry's own (which rolls back).
enum Fail {
    Sql(rusqlite::Error),
    Registry(RegistryError),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<RegistryError> for Fail {
    fn from(e: RegistryError) -> Self {
        Fail::Registry(e)
    }
}

type Tx<T> = Result<T, Fail>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS registry_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    artifact BLOB NOT NULL,
    size INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    node TEXT NOT NULL,
    step TEXT NOT NULL,
    description TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS registry_versions_by_artifact ON registry_versions (artifact, name);
CREATE TABLE IF NOT EXISTS registry_metrics (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (name, version, metric)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_tags (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry_alias_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER,
    previous INTEGER,
    at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    forced INTEGER NOT NULL,
    guard_metric TEXT,
    guard_higher INTEGER,
    guard_margin REAL,
    guard_candidate REAL,
    guard_current_version INTEGER,
    guard_current REAL,
    guard_passed INTEGER
);
CREATE INDEX IF NOT EXISTS registry_alias_moves_by_alias ON registry_alias_moves (name, alias, at_ms, id);
CREATE TRIGGER IF NOT EXISTS registry_alias_moves_no_update BEFORE UPDATE ON registry_alias_moves
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS registry_alias_moves_no_delete BEFORE DELETE ON registry_alias_moves
BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END;
";

const MOVE_COLUMNS: &str = "id, name, alias, version, previous, at_ms, reason, forced, guard_metric, \
     guard_higher, guard_margin, guard_candidate, guard_current_version, guard_current, guard_passed";

/// The move that decides an alias's state: the latest by time, then by id.
const LATEST_MOVE: &str = "NOT EXISTS (SELECT 1 FROM registry_alias_moves n WHERE n.name = m.name \
     AND n.alias = m.alias AND (n.at_ms > m.at_ms OR (n.at_ms = m.at_ms AND n.id > m.id)))";

impl<'s> Registry<'s> {
    /// The registry of `store`, creating its tables on first use. Fails with
    /// [`RegistryError::NewerFormat`] if a newer mlflow wrote them.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.models()?.is_empty());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn new(store: &'s Store) -> Result<Registry<'s>, RegistryError> {
        let registry = Registry { store, clock: Arc::new(now_ms) };
        registry.db(|conn| {
            let format = |conn: &Connection| -> Tx<Option<u32>> {
                let text: Option<String> = conn
                    .query_row("SELECT value FROM meta WHERE key = 'registry_format'", [], |r| r.get(0))
                    .optional()?;
                let found = text.map(|t| t.trim().parse::<u32>().unwrap_or(u32::MAX));
                match found {
                    Some(found) if found > REGISTRY_FORMAT => {
                        Err(RegistryError::NewerFormat { found, supported: REGISTRY_FORMAT }.into())
                    }
                    other => Ok(other),
                }
            };
            if format(conn)?.is_some() {
                return Ok(());
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if format(&tx)?.is_none() {
                tx.execute_batch(SCHEMA)?;
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('registry_format', ?1)",
                    [REGISTRY_FORMAT.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })?;
        Ok(registry)
    }

    /// Replaces the clock (milliseconds since the Unix epoch) that stamps new versions and alias
    /// moves: for tests, or to replay a history. Moves of one alias still never go backwards.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?.with_clock(|| 1_000);
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store this registry lives in.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert_eq!(registry.store().root(), dir.path());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn store(&self) -> &'s Store {
        self.store
    }

    fn db<T>(&self, f: impl FnOnce(&mut Connection) -> Tx<T>) -> Result<T, RegistryError> {
        self.store.with_db(|conn| match f(conn) {
            Ok(value) => Ok(Ok(value)),
            Err(Fail::Sql(e)) => Err(e),
            Err(Fail::Registry(e)) => Ok(Err(e)),
        })?
    }

    /// Registers the output of a step of a recorded run as a new version of `name` (creating
    /// the model on its first version), and returns it.
    ///
    /// The run, its step (by node name) and the step's output must exist, and the artifact must be
    /// present and sound in the store. Metrics must be finite. The version number is the next one
    /// for `name`, assigned atomically. If this artifact already is a version of `name`, that
    /// version is returned unchanged and nothing is written (see the [module docs](self)).
    ///
    /// See the [module documentation](self) for an example.
    pub fn register(&self, name: &str, request: RegisterRequest) -> Result<ModelVersion, RegistryError> {
        check_name("model name", name)?;
        for (metric, &value) in &request.metrics {
            check_key("metric name", metric)?;
            if !value.is_finite() {
                return Err(RegistryError::InvalidMetric { metric: metric.clone(), value });
            }
        }
        for key in request.tags.keys() {
            check_key("tag key", key)?;
        }
        let run = self
            .store
            .run(&request.run_id)?
            .ok_or_else(|| RegistryError::RunNotFound { run_id: request.run_id.clone() })?;
        let Some(step) = run.steps.iter().find(|s| s.node == request.node) else {
            return Err(RegistryError::StepNotFound {
                run_id: run.id,
                node: request.node,
                steps: run.steps.iter().map(|s| s.node.clone()).collect(),
            });
        };
        let Some(artifact) = step.output else {
            return Err(RegistryError::NoOutput {
                run_id: run.id.clone(),
                node: step.node.clone(),
                status: step.status.clone(),
                error: step.error.clone(),
            });
        };
        // Refuse a missing or corrupt artifact now rather than when the model is loaded.
        let size = self.store.read_artifact(artifact)?.len() as u64;
        let created_ms = (self.clock)();
        self.db(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<u32> = tx
                .query_row(
                    "SELECT version FROM registry_versions WHERE name = ?1 AND artifact = ?2",
                    params![name, artifact.as_bytes().as_slice()],
                    |r| r.get(0),
                )
                .optional()?;
            let version = match existing {
                Some(version) => version,
                None => {
                    let version = latest_version(&tx, name)?
                        .unwrap_or(0)
                        .checked_add(1)
                        .ok_or(rusqlite::Error::IntegralValueOutOfRange(1, i64::from(u32::MAX) + 1))?;
                    tx.execute(
                        "INSERT INTO registry_versions (name, version, artifact, size, run_id, pipeline,
                             node, step, description, created_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![
                            name,
                            version,
                            artifact.as_bytes().as_slice(),
                            size as i64,
                            run.id,
                            run.pipeline,
                            step.node,
                            step.step,
                            request.description,
                            created_ms
                        ],
                    )?;
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO registry_metrics (name, version, metric, value) VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for (metric, value) in &request.metrics {
                        insert.execute(params![name, version, metric, value])?;
                    }
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO registry_tags (name, version, key, value) VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    for (key, value) in &request.tags {
                        insert.execute(params![name, version, key, value])?;
                    }
                    drop(insert);
                    version
                }
            };
            let found = require_version(&tx, name, version)?;
            tx.commit()?;
            Ok(found)
        })
    }

    /// Every registered model, sorted by name.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// for model in registry.models()? {
    ///     println!("{} v{} {:?}", model.name, model.latest_version, model.aliases);
    /// }
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn models(&self) -> Result<Vec<ModelSummary>, RegistryError> {
        self.db(|conn| {
            let tx = conn.transaction()?;
            let mut aliases = current_aliases(&tx, None)?;
            let mut stmt = tx.prepare(
                "SELECT name, MAX(version), MIN(created_ms), MAX(created_ms) FROM registry_versions
                 GROUP BY name ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ModelSummary {
                    name: r.get(0)?,
                    latest_version: r.get(1)?,
                    created_ms: r.get(2)?,
                    updated_ms: r.get(3)?,
                    aliases: BTreeMap::new(),
                })
            })?;
            let mut models = Vec::new();
            for row in rows {
                let mut model = row?;
                model.aliases = aliases.remove(&model.name).unwrap_or_default();
                models.push(model);
            }
            Ok(models)
        })
    }

    /// One model's summary; [`RegistryError::UnknownModel`] if it has no versions.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.model("nothing-here").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn model(&self, name: &str) -> Result<ModelSummary, RegistryError> {
        check_name("model name", name)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            let summary = tx
                .query_row(
                    "SELECT MAX(version), MIN(created_ms), MAX(created_ms) FROM registry_versions
                     WHERE name = ?1 HAVING COUNT(*) > 0",
                    [name],
                    |r| {
                        Ok(ModelSummary {
                            name: name.to_owned(),
                            latest_version: r.get(0)?,
                            created_ms: r.get(1)?,
                            updated_ms: r.get(2)?,
                            aliases: BTreeMap::new(),
                        })
                    },
                )
                .optional()?;
            let mut summary = summary.ok_or_else(|| unknown_model(name))?;
            summary.aliases = current_aliases(&tx, Some(name))?.remove(name).unwrap_or_default();
            Ok(summary)
        })
    }

    /// Every version of a model, oldest first.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// let err = registry.versions("titanic").unwrap_err();
    /// assert!(err.to_string().contains("no model named `titanic`"));
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn versions(&self, name: &str) -> Result<Vec<ModelVersion>, RegistryError> {
        check_name("model name", name)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            let versions = load_versions(&tx, name, None)?;
            if versions.is_empty() {
                return Err(unknown_model(name).into());
            }
            Ok(versions)
        })
    }

    /// Every version, of any model, whose artifact is `artifact` (by name, then version): the
    /// forward end of lineage, from a step output of any run to the models it became.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::codec::ContentHash;
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.versions_with_artifact(ContentHash::of(b"not a model"))?.is_empty());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn versions_with_artifact(&self, artifact: ContentHash) -> Result<Vec<ModelVersion>, RegistryError> {
        self.db(|conn| {
            let tx = conn.transaction()?;
            let found: Vec<(String, u32)> = {
                let mut stmt = tx.prepare(
                    "SELECT name, version FROM registry_versions WHERE artifact = ?1 ORDER BY name, version",
                )?;
                let rows =
                    stmt.query_map([artifact.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            found.into_iter().map(|(name, version)| require_version(&tx, &name, version)).collect()
        })
    }

    /// One version of a model.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.version("titanic", 1).is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn version(&self, name: &str, version: u32) -> Result<ModelVersion, RegistryError> {
        check_name("model name", name)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            require_version(&tx, name, version)
        })
    }

    /// The version a reference names: `NAME` (latest), `NAME/VERSION` or `NAME@ALIAS`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::registry::{Registry, RegistryError};
    /// let registry = Registry::new(&store)?;
    /// assert!(matches!(registry.resolve("titanic@"), Err(RegistryError::BadReference { .. })));
    /// assert!(matches!(registry.resolve("titanic@production"), Err(RegistryError::UnknownModel { .. })));
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn resolve(&self, reference: &str) -> Result<ModelVersion, RegistryError> {
        self.resolve_ref(&ModelRef::parse(reference)?)
    }

    /// [`Registry::resolve`] for a parsed reference.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// use mlflow_core::registry::{ModelRef, Registry};
    /// let registry = Registry::new(&store)?;
    /// assert!(registry.resolve_ref(&ModelRef::Latest { name: "m".into() }).is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn resolve_ref(&self, reference: &ModelRef) -> Result<ModelVersion, RegistryError> {
        check_name("model name", reference.name())?;
        if let ModelRef::Alias { alias, .. } = reference {
            check_name("alias", alias)?;
        }
        self.db(|conn| {
            let tx = conn.transaction()?;
            let name = reference.name();
            let latest = latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            let version = match reference {
                ModelRef::Latest { .. } => latest,
                ModelRef::Version { version, .. } => *version,
                ModelRef::Alias { alias, .. } => match last_move(&tx, name, alias)? {
                    Some((Some(version), _)) => version,
                    _ => return Err(unknown_alias(&tx, name, alias)?.into()),
                },
            };
            require_version(&tx, name, version)
        })
    }

    /// The model bytes of the version a reference names, read from the store and checked
    /// against their hash.
    ///
    /// See [`Registry::load`] for an example.
    pub fn load_bytes(&self, reference: &str) -> Result<Vec<u8>, RegistryError> {
        let version = self.resolve(reference)?;
        Ok(self.store.read_artifact(version.artifact)?)
    }

    /// The model of the version a reference names, decoded as a `T` (the step's output type).
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{RegisterRequest, Registry, RegistryError};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> Vec<u32> {
    /// #     vec![*x; 3]
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// let mut p = Pipeline::new("demo");
    /// let x = p.param("x", 7u32);
    /// p.step(TrainStep, x);
    /// let run = p.run(&store)?;
    /// let registry = Registry::new(&store)?;
    /// registry.register("sevens", RegisterRequest::new(run.run_id(), "train"))?;
    /// assert_eq!(registry.load::<Vec<u32>>("sevens/1")?, [7, 7, 7]);
    /// assert_eq!(registry.load_bytes("sevens")?, mlflow_core::codec::encode(&vec![7u32; 3])?);
    /// assert!(matches!(registry.load::<Vec<String>>("sevens"), Err(RegistryError::Load { .. })));
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn load<T: Artifact>(&self, reference: &str) -> Result<T, RegistryError> {
        let version = self.resolve(reference)?;
        let bytes = self.store.read_artifact(version.artifact)?;
        codec::decode(&bytes, self.store.decode_limit()).map_err(|source| RegistryError::Load {
            reference: version.reference(),
            artifact: version.artifact,
            source,
        })
    }

    /// A model's current aliases and the versions they point at.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn aliases(&self, name: &str) -> Result<BTreeMap<String, u32>, RegistryError> {
        check_name("model name", name)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            Ok(current_aliases(&tx, Some(name))?.remove(name).unwrap_or_default())
        })
    }

    /// Points `alias` of model `name` at `version`, unguarded, and records the move with
    /// `reason`. Returns the move, or `None` (and records nothing) when the alias already points
    /// there.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{RegisterRequest, Registry};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> u32 {
    /// #     *x
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// # let mut p = Pipeline::new("demo");
    /// # let x = p.param("x", 7u32);
    /// # p.step(TrainStep, x);
    /// # let run = p.run(&store)?;
    /// let registry = Registry::new(&store)?.with_clock(|| 5_000);
    /// registry.register("m", RegisterRequest::new(run.run_id(), "train"))?;
    /// let moved = registry.set_alias("m", "staging", 1, "smoke tests passed")?.unwrap();
    /// assert_eq!((moved.version, moved.previous, moved.at_ms), (Some(1), None, 5_000));
    /// assert!(registry.set_alias("m", "staging", 1, "again")?.is_none()); // already there
    /// assert_eq!(registry.aliases("m")?["staging"], 1);
    /// let removed = registry.remove_alias("m", "staging", "withdrawn")?;
    /// assert_eq!((removed.version, removed.previous), (None, Some(1)));
    /// assert_eq!(registry.alias_at("m", "staging", 5_000)?, None);
    /// assert_eq!(registry.alias_history("m", "staging")?.len(), 2);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u32,
        reason: &str,
    ) -> Result<Option<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.db(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            require_version(&tx, name, version)?;
            let last = last_move(&tx, name, alias)?;
            let previous = last.and_then(|(v, _)| v);
            if previous == Some(version) {
                return Ok(None);
            }
            let moved = insert_move(&tx, self.draft(name, alias, Some(version), previous, last, reason))?;
            tx.commit()?;
            Ok(Some(moved))
        })
    }

    /// Removes `alias` from model `name`: a move to nothing, recorded with `reason`.
    /// [`RegistryError::UnknownAlias`] if the alias is not set.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn remove_alias(&self, name: &str, alias: &str, reason: &str) -> Result<AliasMove, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.db(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            let last = last_move(&tx, name, alias)?;
            let Some(previous) = last.and_then(|(v, _)| v) else {
                return Err(unknown_alias(&tx, name, alias)?.into());
            };
            let moved = insert_move(&tx, self.draft(name, alias, None, Some(previous), last, reason))?;
            tx.commit()?;
            Ok(moved)
        })
    }

    /// Points `alias` of model `name` at `version` if the guard lets it (see [`Promotion`]), and
    /// records the move with the guard's figures and `promotion.reason`.
    ///
    /// Refused with [`RegistryError::PromotionRefused`] (stating both figures) when the
    /// candidate's metric is worse than the current holder's by the guard's rule, and with
    /// [`RegistryError::MissingMetric`] when the candidate or the holder lacks the metric; unless
    /// `promotion.force`, in which case the move is recorded with `forced: true`. With no current
    /// holder, the candidate is promoted. Returns the move, or `None` (recording nothing) when the
    /// version already holds the alias. The check and the move are one write transaction.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # use mlflow_core::registry::{Promotion, RegisterRequest, Registry, RegistryError};
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn train(x: &u32) -> u32 {
    /// #     *x
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// # let run_with = |x: u32| -> mlflow_core::Result<String> {
    /// #     let mut p = Pipeline::new("demo");
    /// #     let x = p.param("x", x);
    /// #     p.step(TrainStep, x);
    /// #     Ok(p.run(&store)?.run_id().to_owned())
    /// # };
    /// let registry = Registry::new(&store)?;
    /// let (run1, run2) = (run_with(1)?, run_with(2)?);
    /// registry.register("m", RegisterRequest::new(run1, "train").metric("auc", 0.84))?;
    /// registry.register("m", RegisterRequest::new(run2, "train").metric("auc", 0.80))?;
    /// registry.promote("m", 1, "production", Promotion::new("auc"))?;
    /// let err = registry.promote("m", 2, "production", Promotion::new("auc")).unwrap_err();
    /// assert!(matches!(err, RegistryError::PromotionRefused { .. }));
    /// assert!(err.to_string().contains("0.8") && err.to_string().contains("0.84"), "{err}");
    /// let forced = registry.promote("m", 2, "production", Promotion::new("auc").force(true))?.unwrap();
    /// assert!(forced.forced && !forced.guard.unwrap().passed);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn promote(
        &self,
        name: &str,
        version: u32,
        alias: &str,
        promotion: Promotion,
    ) -> Result<Option<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        check_key("metric name", &promotion.metric)?;
        if !promotion.margin.is_finite() {
            return Err(RegistryError::InvalidMargin { margin: promotion.margin });
        }
        self.db(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let candidate = require_version(&tx, name, version)?;
            let last = last_move(&tx, name, alias)?;
            let holder = last.and_then(|(v, _)| v);
            if holder == Some(version) {
                return Ok(None);
            }
            let metric = &promotion.metric;
            let candidate_value = candidate.metrics.get(metric).copied();
            let holder_version = match holder {
                Some(v) => Some(require_version(&tx, name, v)?),
                None => None,
            };
            let current_value = holder_version.as_ref().and_then(|h| h.metrics.get(metric).copied());
            let missing = |lacking: &ModelVersion| RegistryError::MissingMetric {
                name: name.to_owned(),
                alias: alias.to_owned(),
                metric: metric.clone(),
                candidate_version: version,
                version: lacking.version,
                available: lacking.metrics.keys().cloned().collect(),
            };
            let refusal = match (candidate_value, &holder_version, current_value) {
                (None, _, _) => Some(missing(&candidate)),
                (Some(_), None, _) => None,
                (Some(_), Some(h), None) => Some(missing(h)),
                (Some(c), Some(h), Some(cur)) => {
                    // Rounding must not refuse what the figures say passes (0.85 vs 0.80 + 0.05).
                    let slack = GUARD_TOLERANCE * c.abs().max(cur.abs()).max(promotion.margin.abs()).max(1.0);
                    let passed = if promotion.higher_is_better {
                        c >= cur + promotion.margin - slack
                    } else {
                        c <= cur - promotion.margin + slack
                    };
                    (!passed).then(|| RegistryError::PromotionRefused {
                        name: name.to_owned(),
                        alias: alias.to_owned(),
                        metric: metric.clone(),
                        higher_is_better: promotion.higher_is_better,
                        margin: promotion.margin,
                        candidate_version: version,
                        candidate: c,
                        current_version: h.version,
                        current: cur,
                    })
                }
            };
            let passed = refusal.is_none();
            if let Some(refusal) = refusal {
                if !promotion.force {
                    return Err(refusal.into());
                }
            }
            let guard = GuardCheck {
                metric: metric.clone(),
                higher_is_better: promotion.higher_is_better,
                margin: promotion.margin,
                candidate: candidate_value,
                current_version: holder,
                current: current_value,
                passed,
            };
            let moved = insert_move(
                &tx,
                AliasMove {
                    forced: !passed,
                    guard: Some(guard),
                    ..self.draft(name, alias, Some(version), holder, last, &promotion.reason)
                },
            )?;
            tx.commit()?;
            Ok(Some(moved))
        })
    }

    /// The version `alias` of model `name` pointed at, at `time_ms` (milliseconds since the Unix
    /// epoch): the last move at or before that time decides. `None` if the alias was not set then
    /// (before its first move, or removed). [`RegistryError::UnknownAlias`] if the alias was
    /// never set at all (likely a typo).
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn alias_at(&self, name: &str, alias: &str, time_ms: i64) -> Result<Option<u32>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            if last_move(&tx, name, alias)?.is_none() {
                return Err(unknown_alias(&tx, name, alias)?.into());
            }
            let found: Option<Option<u32>> = tx
                .query_row(
                    "SELECT version FROM registry_alias_moves WHERE name = ?1 AND alias = ?2 AND at_ms <= ?3
                     ORDER BY at_ms DESC, id DESC LIMIT 1",
                    params![name, alias, time_ms],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(found.flatten())
        })
    }

    /// Every move of `alias` of model `name`, oldest first. [`RegistryError::UnknownAlias`] if
    /// it was never set.
    ///
    /// See [`Registry::set_alias`] for an example.
    pub fn alias_history(&self, name: &str, alias: &str) -> Result<Vec<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        check_name("alias", alias)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            let moves = load_moves(&tx, name, Some(alias))?;
            if moves.is_empty() {
                return Err(unknown_alias(&tx, name, alias)?.into());
            }
            Ok(moves)
        })
    }

    /// Every alias move of model `name`, all aliases, oldest first (empty if it never had one).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.history("unknown").is_err());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn history(&self, name: &str) -> Result<Vec<AliasMove>, RegistryError> {
        check_name("model name", name)?;
        self.db(|conn| {
            let tx = conn.transaction()?;
            latest_version(&tx, name)?.ok_or_else(|| unknown_model(name))?;
            load_moves(&tx, name, None)
        })
    }

    /// An unguarded move of `alias` to `version`, after `last` (its latest move, if any), stamped
    /// now but never before `last`.
    fn draft(
        &self,
        name: &str,
        alias: &str,
        version: Option<u32>,
        previous: Option<u32>,
        last: Option<(Option<u32>, i64)>,
        reason: &str,
    ) -> AliasMove {
        let now = (self.clock)();
        AliasMove {
            id: 0,
            name: name.to_owned(),
            alias: alias.to_owned(),
            version,
            previous,
            at_ms: last.map_or(now, |(_, at)| now.max(at)),
            reason: reason.to_owned(),
            forced: false,
            guard: None,
        }
    }
}

fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_owned());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!("it is {} bytes long, over the limit of {MAX_NAME_LEN}", name.len()));
    }
    name.chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map(|(i, c)| format!("character {c:?} (position {}) is not allowed", i + 1))
}

fn check_name(kind: &'static str, name: &str) -> Result<(), RegistryError> {
    match name_problem(name) {
        None => Ok(()),
        Some(problem) => Err(RegistryError::InvalidName { kind, name: name.to_owned(), problem }),
    }
}

fn check_key(kind: &'static str, key: &str) -> Result<(), RegistryError> {
    if key.is_empty() || key.chars().any(char::is_control) {
        return Err(RegistryError::InvalidKey { kind, key: key.to_owned() });
    }
    Ok(())
}

fn unknown_model(name: &str) -> RegistryError {
    RegistryError::UnknownModel { name: name.to_owned() }
}

fn unknown_alias(conn: &Connection, name: &str, alias: &str) -> Tx<RegistryError> {
    Ok(RegistryError::UnknownAlias {
        name: name.to_owned(),
        alias: alias.to_owned(),
        current: current_aliases(conn, Some(name))?.remove(name).unwrap_or_default(),
    })
}

fn latest_version(conn: &Connection, name: &str) -> Tx<Option<u32>> {
    Ok(conn.query_row("SELECT MAX(version) FROM registry_versions WHERE name = ?1", [name], |r| r.get(0))?)
}

/// The version and time of the latest move of an alias (`None` if it never moved).
fn last_move(conn: &Connection, name: &str, alias: &str) -> Tx<Option<(Option<u32>, i64)>> {
    Ok(conn
        .query_row(
            "SELECT version, at_ms FROM registry_alias_moves WHERE name = ?1 AND alias = ?2
             ORDER BY at_ms DESC, id DESC LIMIT 1",
            [name, alias],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Current aliases by model (one model, or all).
fn current_aliases(conn: &Connection, name: Option<&str>) -> Tx<BTreeMap<String, BTreeMap<String, u32>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m.name, m.alias, m.version FROM registry_alias_moves m
         WHERE (?1 IS NULL OR m.name = ?1) AND m.version IS NOT NULL AND {LATEST_MOVE}"
    ))?;
    let mut out: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let rows = stmt.query_map([name], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
    for row in rows {
        let (model, alias, version) = row?;
        out.entry(model).or_default().insert(alias, version);
    }
    Ok(out)
}

fn require_version(conn: &Connection, name: &str, version: u32) -> Tx<ModelVersion> {
    if let Some(found) = load_versions(conn, name, Some(version))?.pop() {
        return Ok(found);
    }
    Err(match latest_version(conn, name)? {
        None => unknown_model(name),
        Some(latest) => RegistryError::UnknownVersion { name: name.to_owned(), version, latest },
    }
    .into())
}

/// The versions of a model (one, or all), oldest first.
fn load_versions(conn: &Connection, name: &str, version: Option<u32>) -> Tx<Vec<ModelVersion>> {
    let filter = "name = ?1 AND (?2 IS NULL OR version = ?2)";
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT version, artifact, size, run_id, pipeline, node, step, description, created_ms
         FROM registry_versions WHERE {filter} ORDER BY version"
    ))?;
    let rows = stmt.query_map(params![name, version], |r| {
        let blob: Vec<u8> = r.get(1)?;
        let artifact = <[u8; 32]>::try_from(blob.as_slice()).map(ContentHash::from_bytes).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, Box::new(e))
        })?;
        Ok(ModelVersion {
            name: name.to_owned(),
            version: r.get(0)?,
            artifact,
            size: r.get::<_, i64>(2)?.max(0) as u64,
            run_id: r.get(3)?,
            pipeline: r.get(4)?,
            node: r.get(5)?,
            step: r.get(6)?,
            metrics: BTreeMap::new(),
            description: r.get(7)?,
            tags: BTreeMap::new(),
            created_ms: r.get(8)?,
            aliases: Vec::new(),
        })
    })?;
    let mut versions = BTreeMap::new();
    for row in rows {
        let v = row?;
        versions.insert(v.version, v);
    }
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare_cached(&format!("SELECT version, metric, value FROM registry_metrics WHERE {filter}"))?;
    let rows = stmt.query_map(params![name, version], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?, r.get(2)?)))?;
    for row in rows {
        let (v, metric, value) = row?;
        if let Some(found) = versions.get_mut(&v) {
            found.metrics.insert(metric, value);
        }
    }
    let mut stmt =
        conn.prepare_cached(&format!("SELECT version, key, value FROM registry_tags WHERE {filter}"))?;
    let rows = stmt.query_map(params![name, version], |r| Ok((r.get::<_, u32>(0)?, r.get(1)?, r.get(2)?)))?;
    for row in rows {
        let (v, key, value) = row?;
        if let Some(found) = versions.get_mut(&v) {
            found.tags.insert(key, value);
        }
    }
    for (alias, v) in current_aliases(conn, Some(name))?.remove(name).unwrap_or_default() {
        if let Some(found) = versions.get_mut(&v) {
            found.aliases.push(alias); // sorted: the map iterates in order
        }
    }
    Ok(versions.into_values().collect())
}

fn load_moves(conn: &Connection, name: &str, alias: Option<&str>) -> Tx<Vec<AliasMove>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MOVE_COLUMNS} FROM registry_alias_moves WHERE name = ?1 AND (?2 IS NULL OR alias = ?2)
         ORDER BY at_ms, id"
    ))?;
    let rows = stmt.query_map(params![name, alias], read_move)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn read_move(r: &rusqlite::Row<'_>) -> rusqlite::Result<AliasMove> {
    let guard = match r.get::<_, Option<String>>(8)? {
        None => None,
        Some(metric) => Some(GuardCheck {
            metric,
            higher_is_better: r.get::<_, Option<bool>>(9)?.unwrap_or(true),
            margin: r.get::<_, Option<f64>>(10)?.unwrap_or(0.0),
            candidate: r.get(11)?,
            current_version: r.get(12)?,
            current: r.get(13)?,
            passed: r.get::<_, Option<bool>>(14)?.unwrap_or(false),
        }),
    };
    Ok(AliasMove {
        id: r.get(0)?,
        name: r.get(1)?,
        alias: r.get(2)?,
        version: r.get(3)?,
        previous: r.get(4)?,
        at_ms: r.get(5)?,
        reason: r.get(6)?,
        forced: r.get(7)?,
        guard,
    })
}

/// Appends a move (its `id` is assigned here) and returns it.
fn insert_move(conn: &Connection, mut moved: AliasMove) -> Tx<AliasMove> {
    let guard = moved.guard.as_ref();
    conn.execute(
        &format!(
            "INSERT INTO registry_alias_moves ({MOVE_COLUMNS})
             VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        ),
        params![
            moved.name,
            moved.alias,
            moved.version,
            moved.previous,
            moved.at_ms,
            moved.reason,
            moved.forced,
            guard.map(|g| &g.metric),
            guard.map(|g| g.higher_is_better),
            guard.map(|g| g.margin),
            guard.and_then(|g| g.candidate),
            guard.and_then(|g| g.current_version),
            guard.and_then(|g| g.current),
            guard.map(|g| g.passed),
        ],
    )?;
    moved.id = conn.last_insert_rowid();
    Ok(moved)
}

/// Serde form of a content hash as 64 hex digits (JSON-friendly).
mod hex_hash {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store")).unwrap();
        (dir, store)
    }

    #[test]
    fn tables_are_created_once_and_a_newer_format_is_refused() {
        let (_dir, store) = temp_store();
        Registry::new(&store).unwrap();
        Registry::new(&store).unwrap();
        let format: String = store
            .with_db(|c| {
                c.query_row("SELECT value FROM meta WHERE key = 'registry_format'", [], |r| r.get(0))
            })
            .unwrap();
        assert_eq!(format, REGISTRY_FORMAT.to_string());
        store
            .with_db(|c| c.execute("UPDATE meta SET value = '7' WHERE key = 'registry_format'", []))
            .unwrap();
        let err = Registry::new(&store).unwrap_err();
        assert!(matches!(err, RegistryError::NewerFormat { found: 7, supported: REGISTRY_FORMAT }), "{err}");
        assert!(err.to_string().contains("upgrade mlflow"), "{err}");
    }

    #[test]
    fn the_alias_history_is_append_only() {
        let (_dir, store) = temp_store();
        Registry::new(&store).unwrap();
        store
            .with_db(|c| {
                c.execute(
                    "INSERT INTO registry_alias_moves (name, alias, version, at_ms, reason, forced)
                     VALUES ('m', 'a', 1, 0, '', 0)",
                    [],
                )
            })
            .unwrap();
        let update = store.with_db(|c| c.execute("UPDATE registry_alias_moves SET version = 2", []));
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = store.with_db(|c| c.execute("DELETE FROM registry_alias_moves", []));
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("model name", "titanic-v2.1_rf").is_ok());
        for bad in ["", "a b", "a/b", "a@b", "é", "x\n"] {
            let err = check_name("model name", bad).unwrap_err();
            assert!(err.to_string().contains("invalid model name"), "{err}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(check_name("alias", &long).unwrap_err().to_string().contains("over the limit"));
        assert!(check_key("tag key", "").is_err());
        assert!(check_key("tag key", "a\tb").is_err());
        assert!(check_key("metric name", "roc auc").is_ok());
    }

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
