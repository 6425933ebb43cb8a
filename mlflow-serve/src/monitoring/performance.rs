//! Delayed labels joined to a monitoring pass: each window's performance on the labels of its
//! predictions, realized or estimated.

use std::collections::BTreeMap;

use mlflow_ml::models::Task;

use super::{MonitorReport, WindowSpec};
use crate::PredictionRecord;
use crate::labels::{Labels, performance};

/// Fills each window's [`performance`](super::WindowReport::performance) from `labels`: the
/// window's predictions (`records`, the log's records in order, e.g.
/// [`PredictionLog::read`](crate::PredictionLog::read)) are found again by the report's
/// windowing, joined to their labels, and measured with
/// [`performance`](crate::performance): realized with at least `min_labels` labels, else
/// estimated. `task_of(version)` says what each version predicts.
///
/// ```
/// # use mlflow_serve::monitoring::{join_performance, MonitorReport, MonitorOptions, ScanSummary, WindowSpec};
/// let mut report = MonitorReport { window: WindowSpec::All, options: MonitorOptions::default(),
///     scan: ScanSummary::default(), windows: vec![] };
/// join_performance(&mut report, &[], &Default::default(), 50, |_| mlflow_ml::models::Task::Regression);
/// assert!(report.windows.is_empty());
/// ```
pub fn join_performance(
    report: &mut MonitorReport,
    records: &[PredictionRecord],
    labels: &Labels,
    min_labels: usize,
    task_of: impl Fn(u32) -> Task,
) {
    let mut streams: BTreeMap<(u32, &'static str), Vec<&PredictionRecord>> = BTreeMap::new();
    for r in records {
        streams.entry((r.version, r.role.as_str())).or_default().push(r);
    }
    for window in &mut report.windows {
        let Some(stream) = streams.get(&(window.version, window.role.as_str())) else { continue };
        let index = window.window.index;
        let members: Vec<PredictionRecord> = match report.window {
            WindowSpec::All => stream.iter().map(|r| (*r).clone()).collect(),
            WindowSpec::Last(n) => {
                stream[stream.len().saturating_sub(n as usize)..].iter().map(|r| (*r).clone()).collect()
            }
            WindowSpec::Count(n) => stream
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as u64 / n) as i64 == index)
                .map(|(_, r)| (*r).clone())
                .collect(),
            WindowSpec::Time(ms) => {
                stream.iter().filter(|r| r.time_ms.div_euclid(ms) == index).map(|r| (*r).clone()).collect()
            }
        };
        let joined = labels.for_records(&members);
        let measured = performance(&members, &joined, task_of(window.version), min_labels);
        window.performance = Some(measured.named().into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        window.performance_estimated = measured.is_estimated();
        window.labeled = Some(measured.labeled() as u64);
    }
}
