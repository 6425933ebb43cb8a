//! Monitoring over the prediction log: windows of a model's logged predictions (per version and
//! role), the drift of each input and of the output against the package's reference profile,
//! dataset drift, training-serving skew in missing values, and operational health.
//!
//! - [`scan_windows`] reads a log once, streaming, into [`WindowStats`] per window
//!   ([`WindowSpec`]: by count or by time, aligned to the epoch; [`RecordFilter`]: version,
//!   role), keeping value counts, not records.
//! - [`WindowStats::report`] (or [`monitor_window`] on records in memory) compares a window
//!   with the package's [`ReferenceProfile`](mlflow_ml::monitor::ReferenceProfile): each input
//!   by position (the signature's order, names checked), the output (binary: P(class 1) against
//!   the profile's `P(<class 1>)`; regression: the value against `prediction`), by a
//!   [`Preset`](mlflow_ml::monitor::Preset); the statistics are those of
//!   [`Preset::numeric`](mlflow_ml::monitor::Preset::numeric) on the rows, computed from value
//!   counts.
//! - [`WindowReport::alerts`] checks [`AlertRules`].
//! - [`monitor_log`] does it all for a log and the packages of its versions.
//! - [`replay_logged_skew`] replays the package's transformers on the raw rows the log holds
//!   and compares them with the features served: skew row by row ([`replay_skew`] for raw rows
//!   from elsewhere).
//!
//! The log holds answered predictions only: errors and timeouts are the server's `/metrics`
//! counters, and [`WindowReport::errors`] is `None`. Model performance comes from delayed
//! labels: [`join_performance`] fills [`WindowReport::performance`].
//!
//! ```
//! use mlflow_serve::monitoring::{monitor_log, AlertRules, MonitorError, MonitorOptions, RecordFilter, WindowSpec};
//! let dir = tempfile::tempdir().unwrap();
//! let err = monitor_log(dir.path(), WindowSpec::All, &RecordFilter::default(), None,
//!     &MonitorOptions::default(), |_| unreachable!()).unwrap_err();
//! assert!(matches!(err, MonitorError::NoLog { .. }));
//! ```

mod alerts;
mod performance;
mod registered;
mod report;
mod skew;
mod stats;
mod tally;
mod view;
mod window;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use alerts::{Alert, AlertRules};
pub use performance::join_performance;
pub use registered::{ModelMonitoring, monitor_registered};
pub use report::{ColumnReport, Health, MonitorOptions, WindowReport, monitor_window};
pub use skew::{FeatureSkew, SkewReport, replay_logged_skew, replay_skew};
pub use stats::WindowStats;
pub use window::{RecordFilter, ScanSummary, WindowBounds, WindowSpec, Windower, scan_windows};

use crate::{ModelPackage, Role, ServeError};

/// What can go wrong monitoring; each message says what, where, and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// A window that is not a count, a duration or `all`.
    #[error("window `{text}`: {hint}")]
    BadWindow {
        /// What was given.
        text: String,
        /// What to give.
        hint: &'static str,
    },
    /// No prediction log there.
    #[error(
        "no prediction log in `{}`: `mlflow-pipelines serve NAME@ALIAS` logs predictions there unless given --no-log",
        dir.display()
    )]
    NoLog {
        /// The folder looked in.
        dir: PathBuf,
    },
    /// No records to monitor.
    #[error(
        "no predictions to monitor: the log has no record matching the model, version and role asked for"
    )]
    NoRecords,
    /// Records of several versions or roles given as one window.
    #[error(
        "the records mix version {} ({}) and version {} ({}): give one window of one version and role (scan_windows groups them)",
        first.0, first.1, other.0, other.1
    )]
    MixedWindow {
        /// The first record's version and role.
        first: (u32, Role),
        /// Another's.
        other: (u32, Role),
    },
    /// A package without a reference profile.
    #[error(
        "model `{model}` version {version} is a format-{format} package without a reference profile: repackage it with this mlflow (package format 3 records the profile of the training rows) and register the new package"
    )]
    NoProfile {
        /// The model.
        model: String,
        /// The version.
        version: u32,
        /// Its package format.
        format: u32,
    },
    /// The profile's features are not the signature's.
    #[error(
        "the package's profile has features [{profile}] but its signature takes [{signature}]: repackage the model"
    )]
    ProfileMismatch {
        /// The profile's feature names.
        profile: String,
        /// The signature's.
        signature: String,
    },
    /// Logged records with another number of inputs than the package's signature.
    #[error(
        "version {version}'s logged records have {logged} inputs but its package's signature has {signature}: is the log of another model?"
    )]
    LogMismatch {
        /// The version.
        version: u32,
        /// Inputs per logged record.
        logged: usize,
        /// Inputs of the signature.
        signature: usize,
    },
    /// Options out of range.
    #[error("bad monitoring options: {0}")]
    Options(String),
    /// Reading the log or loading a package failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The labels that came back could not be read.
    #[error(transparent)]
    Labels(#[from] crate::LabelError),
}

/// A monitoring pass over a log: its windows' reports, newest windows last per version and role.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MonitorReport {
    /// The windowing.
    pub window: WindowSpec,
    /// The options.
    pub options: MonitorOptions,
    /// What the pass read.
    pub scan: ScanSummary,
    /// One report per window kept.
    pub windows: Vec<WindowReport>,
}

impl MonitorReport {
    /// Every window's alerts under `rules`, with the window's index in [`MonitorReport::windows`].
    ///
    /// ```
    /// # use mlflow_serve::monitoring::{AlertRules, MonitorOptions, MonitorReport, ScanSummary, WindowSpec};
    /// let empty = MonitorReport { window: WindowSpec::All, options: MonitorOptions::default(),
    ///     scan: ScanSummary::default(), windows: vec![] };
    /// assert!(empty.alerts(&AlertRules::default()).is_empty());
    /// ```
    pub fn alerts(&self, rules: &AlertRules) -> Vec<(usize, Alert)> {
        self.windows
            .iter()
            .enumerate()
            .flat_map(|(i, w)| w.alerts(rules).into_iter().map(move |a| (i, a)))
            .collect()
    }
}

/// Monitors the log in `dir`: [`scan_windows`], then each window against the package of its
/// version, which `package_of(version)` loads (once per version).
///
/// See the [module](self) example; the integration tests (`tests/serving/monitoring.rs`) run
/// it on a logged, shifted window.
pub fn monitor_log(
    dir: &Path,
    spec: WindowSpec,
    filter: &RecordFilter,
    last: Option<usize>,
    options: &MonitorOptions,
    mut package_of: impl FnMut(u32) -> Result<ModelPackage, MonitorError>,
) -> Result<MonitorReport, MonitorError> {
    if !(options.drift_share > 0.0 && options.drift_share <= 1.0) {
        return Err(MonitorError::Options(format!(
            "drift share {}: give a number in (0, 1] (Evidently's default is 0.5)",
            options.drift_share
        )));
    }
    let (stats, scan) = scan_windows(dir, spec, filter, last)?;
    if stats.is_empty() {
        return Err(MonitorError::NoRecords);
    }
    let mut packages: BTreeMap<u32, ModelPackage> = BTreeMap::new();
    let mut windows = Vec::with_capacity(stats.len());
    for w in &stats {
        let package = match packages.entry(w.version()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(package_of(w.version())?),
        };
        let mut report = w.report(package, options)?;
        if scan.untagged_segments > 0 {
            report.notes.push(format!(
                "{} log segments are of format 1, written before failed requests were logged: errors there are not counted",
                scan.untagged_segments
            ));
        }
        windows.push(report);
    }
    Ok(MonitorReport { window: spec, options: *options, scan, windows })
}
