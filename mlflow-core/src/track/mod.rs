//! What a run records beyond its steps: metrics, tags and data versions logged from inside steps,
//! and the environment the run happened in.
//!
//! Inside a running step, call [`log_metric`], [`log_metric_at`] (a series, e.g. per-fold
//! scores), [`set_tag`] and [`log_data`]. The executor collects them per step; they are stored
//! with the step's cache entry, so a run that serves the step from the cache records the same
//! metrics as the run that computed it, and they are queryable per run from the [`Store`].
//!
//! Outside a running step (a step called as a plain function in a unit test, a helper used in a
//! script) logging records nothing and succeeds, so a step that logs stays testable as a plain
//! call; only a mistake in the call itself (an empty name, a non-finite value) is an error. A test
//! that wants to see what was logged wraps the call in [`capture`].
//!
//! ```
//! # use mlflow_core::prelude::*;
//! use mlflow_core::track::{log_metric, log_metric_at, TrackError};
//!
//! #[mlflow_macros::step(crate = mlflow_core)]
//! fn score(folds: &Vec<f64>) -> Result<f64, TrackError> {
//!     for (i, auc) in folds.iter().enumerate() {
//!         log_metric_at("cv_auc", i as u64, *auc)?;
//!     }
//!     let mean = folds.iter().sum::<f64>() / folds.len() as f64;
//!     log_metric("mean_auc", mean)?;
//!     Ok(mean)
//! }
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path()).unwrap();
//! let mut p = Pipeline::new("cv");
//! let folds = p.param("folds", vec![0.75, 0.25]);
//! p.step(ScoreStep, folds);
//! let report = p.run(&store)?;
//! let log = &report.step("score").unwrap().log;
//! assert_eq!(log.metric("mean_auc"), Some(0.5));
//! assert_eq!(log.series("cv_auc"), [(0, 0.75), (1, 0.25)]);
//! # Ok::<(), mlflow_core::Error>(())
//! ```
//!
//! [`Store`]: crate::store::Store

pub mod query;
pub mod runs;
pub mod series;

pub use runs::{RunRecord, StepRecord};

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::codec::ContentHash;

/// A metric logging mistake.
///
/// ```
/// use mlflow_core::track::{log_metric, TrackError};
/// assert!(matches!(log_metric("auc", f64::NAN), Err(TrackError::NonFinite { .. })));
/// assert!(log_metric("auc", 0.9).is_ok()); // outside a step: recorded nowhere, not an error
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// A metric value is NaN or infinite.
    #[error("metric `{key}` has the non-finite value {value}; log finite numbers only")]
    NonFinite {
        /// The metric.
        key: String,
        /// The value.
        value: f64,
    },
    /// An empty metric, tag or data name.
    #[error("a {what} name must not be empty")]
    EmptyName {
        /// `metric`, `tag` or `data`.
        what: &'static str,
    },
}

/// One logged metric value; `step` is the index within a series (`None` for a single value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// Metric name.
    pub key: String,
    /// Position in a series, if it is one.
    pub step: Option<u64>,
    /// The value (finite).
    pub value: f64,
}

/// A data set that entered a step: a name (e.g. the file path) and the content hash of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataInput {
    /// What the data is (a path, a table name).
    pub name: String,
    /// Content hash of its bytes: the data version.
    pub version: ContentHash,
}

/// Everything one step logged while it ran. See the [module docs](self) for an example.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    /// Metrics in logging order.
    pub metrics: Vec<MetricPoint>,
    /// Tags (a later `set_tag` of the same key wins).
    pub tags: BTreeMap<String, String>,
    /// Data versions that entered the step.
    pub data: Vec<DataInput>,
}

impl StepLog {
    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.tags.is_empty() && self.data.is_empty()
    }

    /// The last value logged for `key` (single value or the last point of a series).
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.iter().rev().find(|m| m.key == key).map(|m| m.value)
    }

    /// The points of a series, ordered by step index.
    pub fn series(&self, key: &str) -> Vec<(u64, f64)> {
        let mut points: Vec<(u64, f64)> =
            self.metrics.iter().filter(|m| m.key == key).filter_map(|m| Some((m.step?, m.value))).collect();
        points.sort_by_key(|p| p.0);
        points
    }
}

thread_local! {
    static CURRENT: RefCell<Option<StepLog>> = const { RefCell::new(None) };
}

/// Runs `f` with a fresh step log on this thread and returns what it logged: the executor runs
/// every step this way, and a unit test can do the same with a step called as a plain function.
/// Calls nest: an inner capture's logs do not reach the outer one.
///
/// ```
/// use mlflow_core::track::{capture, log_metric, set_tag};
///
/// fn evaluate(scores: &[f64]) -> f64 {
///     let mean = scores.iter().sum::<f64>() / scores.len() as f64;
///     log_metric("mean", mean).unwrap();
///     set_tag("kind", "mean").unwrap();
///     mean
/// }
///
/// let (mean, log) = capture(|| evaluate(&[1.0, 3.0]));
/// assert_eq!(mean, 2.0);
/// assert_eq!(log.metric("mean"), Some(2.0));
/// assert_eq!(log.tags["kind"], "mean");
/// assert_eq!(evaluate(&[1.0, 3.0]), 2.0); // without a capture the logs go nowhere
/// ```
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, StepLog) {
    let outer = CURRENT.with(|c| c.replace(Some(StepLog::default())));
    let out = f();
    let log = CURRENT.with(|c| c.replace(outer)).unwrap_or_default();
    (out, log)
}

/// Adds to the running step's log; outside a step (or a [`capture`]) there is none and nothing
/// is recorded.
fn with_log(f: impl FnOnce(&mut StepLog)) -> Result<(), TrackError> {
    CURRENT.with(|c| {
        if let Some(log) = c.borrow_mut().as_mut() {
            f(log);
        }
    });
    Ok(())
}

fn metric(key: &str, step: Option<u64>, value: f64) -> Result<(), TrackError> {
    if key.is_empty() {
        return Err(TrackError::EmptyName { what: "metric" });
    }
    if !value.is_finite() {
        return Err(TrackError::NonFinite { key: key.to_owned(), value });
    }
    with_log(|log| log.metrics.push(MetricPoint { key: key.to_owned(), step, value }))
}

/// Logs a metric of the running step (nothing outside one: see the [module docs](self)).
pub fn log_metric(key: &str, value: f64) -> Result<(), TrackError> {
    metric(key, None, value)
}

/// Logs one point of a metric series (e.g. a score per fold or per epoch) of the running step
/// (nothing outside one).
pub fn log_metric_at(key: &str, step: u64, value: f64) -> Result<(), TrackError> {
    metric(key, Some(step), value)
}

/// Sets a tag of the running step (nothing outside one).
pub fn set_tag(key: &str, value: &str) -> Result<(), TrackError> {
    if key.is_empty() {
        return Err(TrackError::EmptyName { what: "tag" });
    }
    with_log(|log| {
        log.tags.insert(key.to_owned(), value.to_owned());
    })
}

/// Records that a data set (by name and content hash) entered the running step. The `data`
/// room calls this when it reads a file, so runs know their data versions (nothing outside a
/// step).
pub fn log_data(name: &str, version: ContentHash) -> Result<(), TrackError> {
    if name.is_empty() {
        return Err(TrackError::EmptyName { what: "data" });
    }
    with_log(|log| log.data.push(DataInput { name: name.to_owned(), version }))
}

/// Where and with what a run happened.
///
/// ```
/// let env = mlflow_core::track::Environment::current(&["demo@1.0.0".to_string()]);
/// assert_eq!(env.library, env!("CARGO_PKG_VERSION"));
/// assert!(env.rustc.starts_with("rustc "));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// mlflow's version.
    pub library: String,
    /// `name@version` of the crates defining the pipeline's steps.
    pub crates: Vec<String>,
    /// The compiler that built the program.
    pub rustc: String,
    /// Operating system and architecture.
    pub os: String,
    /// Host name.
    pub host: String,
    /// Git commit of the working directory, when there is one.
    pub git_commit: Option<String>,
}

impl Environment {
    /// The environment of this process, with the given step crates.
    pub fn current(crates: &[String]) -> Environment {
        static PROCESS: OnceLock<(String, Option<String>)> = OnceLock::new();
        let (host, git_commit) = PROCESS.get_or_init(|| {
            let cwd = std::env::current_dir().ok();
            (host_name(), cwd.as_deref().and_then(git_commit))
        });
        Environment {
            library: env!("CARGO_PKG_VERSION").to_owned(),
            crates: crates.to_vec(),
            rustc: env!("MLFLOW_RUSTC_VERSION").to_owned(),
            os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            host: host.clone(),
            git_commit: git_commit.clone(),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for milliseconds since the Unix epoch (proleptic Gregorian
/// calendar), as run records are shown by the command line and the run report.
///
/// ```
/// use mlflow_core::track::format_timestamp;
/// assert_eq!(format_timestamp(0), "1970-01-01 00:00:00 UTC");
/// assert_eq!(format_timestamp(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03 UTC");
/// assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59 UTC");
/// ```
pub fn format_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, second_of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02}:{s:02} UTC")
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The commit checked out in the git work tree containing `dir`, read from `.git` directly (no
/// `git` process): `HEAD`, then the loose ref or `packed-refs`.
fn git_commit(dir: &Path) -> Option<String> {
    let git_dir = dir.ancestors().map(|d| d.join(".git")).find(|g| g.exists())?;
    let git_dir = if git_dir.is_file() {
        // A worktree or submodule: `.git` is a file saying `gitdir: <path>`.
        let text = std::fs::read_to_string(&git_dir).ok()?;
        let target = PathBuf::from(text.strip_prefix("gitdir:")?.trim());
        if target.is_absolute() { target } else { git_dir.parent()?.join(target) }
    } else {
        git_dir
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit(head).then(|| head.to_owned());
    };
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for base in [&git_dir, &common] {
        if let Ok(id) = std::fs::read_to_string(base.join(reference)) {
            let id = id.trim();
            if is_commit(id) {
                return Some(id.to_owned());
            }
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name == reference && is_commit(id)).then(|| id.to_owned())
    })
}

fn is_commit(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_outside_a_step_records_nothing_and_inside_is_captured() {
        assert_eq!(log_metric("a", 1.0), Ok(()));
        assert_eq!(set_tag("k", "v"), Ok(()));
        assert_eq!(log_data("d", ContentHash::of(b"d")), Ok(()));
        // Mistakes in the call are errors everywhere.
        assert!(matches!(log_metric("bad", f64::INFINITY), Err(TrackError::NonFinite { .. })));
        assert!(matches!(set_tag("", "v"), Err(TrackError::EmptyName { what: "tag" })));
        let ((), log) = capture(|| {
            log_metric("a", 1.0).unwrap();
            log_metric_at("s", 1, 0.5).unwrap();
            log_metric_at("s", 0, 0.25).unwrap();
            set_tag("k", "v").unwrap();
            assert!(matches!(log_metric("bad", f64::NAN), Err(TrackError::NonFinite { .. })));
            assert!(matches!(log_metric("", 1.0), Err(TrackError::EmptyName { .. })));
        });
        assert_eq!(log.metric("a"), Some(1.0));
        assert_eq!(log.series("s"), [(0, 0.25), (1, 0.5)]);
        assert_eq!(log.tags["k"], "v");
        // Captures nest: the inner scope's logs stay there, and the outer one keeps its own.
        let ((), outer) = capture(|| {
            log_metric("outer", 1.0).unwrap();
            let ((), inner) = capture(|| log_metric("inner", 2.0).unwrap());
            assert_eq!((inner.metric("inner"), inner.metric("outer")), (Some(2.0), None));
        });
        assert_eq!((outer.metric("outer"), outer.metric("inner")), (Some(1.0), None));
    }

    #[test]
    fn git_commit_is_read_from_loose_and_packed_refs() {
        let dir = tempfile::tempdir().unwrap();
        let git = dir.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        let id = "a".repeat(40);
        std::fs::write(git.join("packed-refs"), format!("# pack\n{id} refs/heads/main\n")).unwrap();
        let nested = dir.path().join("src/deep");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(git_commit(&nested), Some(id));
        let loose = "b".repeat(40);
        std::fs::write(git.join("refs/heads/main"), format!("{loose}\n")).unwrap();
        assert_eq!(git_commit(dir.path()), Some(loose));
        assert_eq!(git_commit(&std::env::temp_dir().join("surely-not-a-repo-xyz")), None);
    }
}
