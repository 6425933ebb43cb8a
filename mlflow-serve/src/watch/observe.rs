//! What the loop looks at before it judges its triggers: the newest champion predictions of the
//! version an alias points at, their drift against the package's reference profile, and their
//! performance on the delayed labels that came back.

use mlflow_core::registry::Registry;
use mlflow_core::store::Store;
use mlflow_ml::monitor::{FeatureDriftFigure, Observations};

use super::WatchError;
use crate::labels::{LabelStore, Performance, performance};
use crate::monitoring::{MonitorOptions, WindowReport, monitor_window};
use crate::{PredictionLog, PredictionRecord, Role, Scorer};

/// What [`observe`] saw.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The figures for the triggers (`last_training_ms` and `new_labeled_rows` are the
    /// watcher's to fill).
    pub observations: Observations,
    /// Labeled rows stored for the model, all versions.
    pub total_labels: u64,
    /// The version the alias points at.
    pub version: u32,
    /// The window's drift report, when it had predictions and the package a profile.
    pub report: Option<WindowReport>,
    /// The window's performance on its labels (realized, or estimated with too few).
    pub performance: Option<Performance>,
    /// What could not be observed, and why.
    pub notes: Vec<String>,
}

/// Observes `model`: the newest `window` predictions the version at `alias` answered as
/// champion, their drift (`options`) and, with at least `min_labels` labels among them, their
/// realized metrics. No predictions yet, or a package without a reference profile (format 2),
/// leave the drift out with a note rather than fail: schedules and label counts still work.
///
/// ```
/// # use mlflow_serve::watch::observe;
/// let dir = tempfile::tempdir().unwrap();
/// let store = mlflow_core::store::Store::open(dir.path())?;
/// let err = observe(&store, "titanic", "production", 1000, 50, &Default::default(), 0).unwrap_err();
/// assert!(err.to_string().contains("titanic"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn observe(
    store: &Store,
    model: &str,
    alias: &str,
    window: usize,
    min_labels: usize,
    options: &MonitorOptions,
    now_ms: i64,
) -> Result<Observed, WatchError> {
    let registry = Registry::new(store)?;
    // The version first, then its package: the alias may move in between.
    let version = registry.resolve(&format!("{model}@{alias}"))?.version;
    let scorer = Scorer::from_registry(&registry, &format!("{model}/{version}"))?;
    let package = scorer.package();
    let mut notes = Vec::new();
    let log_dir = PredictionLog::dir_in(store, model);
    let mut records: Vec<PredictionRecord> = if log_dir.exists() {
        PredictionLog::read(&log_dir)?
            .records
            .into_iter()
            .filter(|r| r.version == version && r.role == Role::Champion)
            .collect()
    } else {
        notes.push(format!("no prediction log for `{model}` yet"));
        Vec::new()
    };
    records.drain(..records.len().saturating_sub(window));
    let mut observations = Observations { now_ms, ..Observations::default() };
    let report = match (records.is_empty(), package.profile()) {
        (true, _) => {
            notes.push(format!("no prediction of version {version} as champion yet"));
            None
        }
        (false, None) => {
            notes.push(format!(
                "version {version}'s package has no reference profile (format 2 or older): repackage it to measure drift"
            ));
            None
        }
        (false, Some(_)) => Some(monitor_window(package, &records, options)?),
    };
    if let Some(report) = &report {
        observations.dataset_drift_share = report.dataset.as_ref().map(|d| d.share);
        for feature in &report.features {
            if let Some(d) = &feature.drift {
                let figure = FeatureDriftFigure {
                    statistic: d.statistic(),
                    p_value: d.p_value(),
                    drifted: d.drifted(),
                };
                observations.feature_drift.insert(feature.name.clone(), figure);
            }
        }
    }
    let labels = LabelStore::read(LabelStore::dir_in(store, model))?;
    let joined = labels.for_records(&records);
    observations.labeled = joined.iter().flatten().count() as u64;
    let performance =
        (!records.is_empty()).then(|| performance(&records, &joined, package.task(), min_labels));
    if let Some(Performance::Realized { metrics, .. }) = &performance {
        observations.performance = metrics.named().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    }
    Ok(Observed { observations, total_labels: labels.len() as u64, version, report, performance, notes })
}
