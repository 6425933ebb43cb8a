//! A monitoring pass over a registered model: its prediction log in the store, each version's
//! package from the registry, and the labels that came back. The command line's `monitor` and
//! the web UI's monitoring page both run it.

use std::collections::BTreeMap;

use mlflow_core::registry::Registry;
use mlflow_core::store::Store;

use super::{
    MonitorError, MonitorOptions, MonitorReport, RecordFilter, WindowSpec, join_performance, monitor_log,
};
use crate::{LabelStore, ModelPackage, PredictionLog, Scorer, ServeError};

/// What a pass over a registered model gave: the report, and the package of every version it
/// compared windows with (loaded and self-tested once, for what comes next: a skew replay, say).
#[derive(Debug)]
pub struct ModelMonitoring {
    /// The windows, with their drift, health and, where labels came back, performance.
    pub report: MonitorReport,
    /// The packages, by version.
    pub packages: BTreeMap<u32, ModelPackage>,
}

/// Monitors registered model `model` from its prediction log in `store`: [`monitor_log`] over
/// the records `filter` keeps (the newest `last` when given), each version's package loaded from
/// the registry, then, when labels came back, each window's performance on them
/// ([`join_performance`], windows of at least `min_labels` labels).
///
/// Fails with the registry's error for a model that is not registered, and with
/// [`MonitorError::NoRecords`] when the log holds nothing `filter` keeps.
///
/// ```no_run
/// use mlflow_serve::monitoring::{MonitorOptions, RecordFilter, WindowSpec, monitor_registered};
/// let store = mlflow_core::store::Store::open(".mlflow")?;
/// let pass = monitor_registered(&store, "titanic", WindowSpec::Count(500), &RecordFilter::default(), None, &MonitorOptions::default(), 50)?;
/// println!("{} windows", pass.report.windows.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn monitor_registered(
    store: &Store,
    model: &str,
    spec: WindowSpec,
    filter: &RecordFilter,
    last: Option<usize>,
    options: &MonitorOptions,
    min_labels: usize,
) -> Result<ModelMonitoring, MonitorError> {
    let registry = Registry::new(store).map_err(ServeError::from)?;
    // A clear error for a typo before the log is read.
    registry.model(model).map_err(ServeError::from)?;
    let dir = PredictionLog::dir_in(store, model);
    let mut packages = BTreeMap::new();
    let mut report = monitor_log(&dir, spec, filter, last, options, |version| {
        let package = Scorer::from_registry(&registry, &format!("{model}/{version}"))?.package().clone();
        packages.insert(version, package.clone());
        Ok(package)
    })?;
    let labels = LabelStore::read(LabelStore::dir_in(store, model))?;
    if !labels.is_empty() {
        // Labels came back: each window's performance on them (reading the records again).
        let mut records = Vec::new();
        for record in PredictionLog::records(&dir)? {
            let record = record?;
            if filter.accepts(&record) {
                records.push(record);
            }
        }
        join_performance(&mut report, &records, &labels, min_labels, |v| {
            packages.get(&v).map_or(mlflow_ml::models::Task::Regression, ModelPackage::task)
        });
    }
    Ok(ModelMonitoring { report, packages })
}
