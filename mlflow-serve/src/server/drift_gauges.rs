//! Drift gauges on `/metrics`: for each served model, the drift of the champion's newest
//! predictions against its package's reference profile, measured at most every 10 s (a scrape
//! in between gets the last figures), so that Prometheus can alert on drift as on latency.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Served;
use crate::Role;
use crate::monitoring::{MonitorOptions, RecordFilter, WindowReport, WindowSpec, scan_windows};

/// The champion's newest predictions the gauges measure.
pub(crate) const DRIFT_WINDOW: u64 = 1000;
/// How long measured gauges are reused.
const REFRESH: Duration = Duration::from_secs(10);

/// The gauges' text, with when it was measured.
#[derive(Default)]
pub(crate) struct DriftGauges {
    cached: Mutex<Option<(Instant, String)>>,
}

impl DriftGauges {
    /// The gauges of every served model, in the Prometheus text format (measured again when
    /// the last figures are older than 10 s). A model without a log, without predictions of its
    /// champion, or whose package has no reference profile, has no gauges.
    pub(crate) fn render(&self, models: &HashMap<String, Arc<Served>>) -> String {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, text)) = cached.as_ref()
            && at.elapsed() < REFRESH
        {
            return text.clone();
        }
        let mut names: Vec<&String> = models.keys().collect();
        names.sort();
        let reports: Vec<WindowReport> = names.iter().filter_map(|n| measure(&models[*n])).collect();
        let text = gauges(&reports);
        *cached = Some((Instant::now(), text.clone()));
        text
    }
}

/// The drift of `served`'s champion over its newest [`DRIFT_WINDOW`] predictions.
fn measure(served: &Served) -> Option<WindowReport> {
    let log = served.log.as_ref()?;
    let champion = Arc::clone(&served.deployment().champion);
    let package = champion.scorer.package();
    package.profile()?;
    let filter = RecordFilter { model: None, version: Some(champion.version), role: Some(Role::Champion) };
    let (windows, _) = scan_windows(log.dir(), WindowSpec::Last(DRIFT_WINDOW), &filter, None).ok()?;
    windows.into_iter().next()?.report(package, &MonitorOptions::default()).ok()
}

fn gauges(reports: &[WindowReport]) -> String {
    let mut out = String::new();
    if reports.is_empty() {
        return out;
    }
    let model = |w: &WindowReport| {
        format!("model=\"{}\",version=\"{}\"", super::metrics::escape(&w.model), w.version)
    };
    let help = |out: &mut String, name: &str, text: &str| {
        let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} gauge");
    };
    help(
        &mut out,
        "mlflow_drift_window_rows",
        "Champion predictions in the window the drift gauges measure (the newest 1000).",
    );
    for w in reports {
        let _ = writeln!(out, "mlflow_drift_window_rows{{{}}} {}", model(w), w.rows);
    }
    help(
        &mut out,
        "mlflow_drift_share",
        "Share of the champion's input features that drifted in its newest predictions (Evidently's rules).",
    );
    for w in reports {
        if let Some(d) = &w.dataset {
            let _ = writeln!(out, "mlflow_drift_share{{{}}} {}", model(w), d.share);
        }
    }
    help(
        &mut out,
        "mlflow_feature_drifted",
        "1 when the input feature (or the output) drifted in the champion's newest predictions, else 0.",
    );
    let columns = |w: &WindowReport| {
        w.features
            .iter()
            .chain(w.output.as_ref())
            .filter_map(|c| Some((c.name.clone(), c.drift.clone()?)))
            .collect::<Vec<_>>()
    };
    for w in reports {
        for (name, d) in columns(w) {
            let _ = writeln!(
                out,
                "mlflow_feature_drifted{{{},feature=\"{}\"}} {}",
                model(w),
                super::metrics::escape(&name),
                u8::from(d.drifted())
            );
        }
    }
    help(
        &mut out,
        "mlflow_feature_drift_statistic",
        "The drift test's statistic per input feature (and output), with the test's name.",
    );
    for w in reports {
        for (name, d) in columns(w) {
            let statistic = d.statistic();
            if statistic.is_finite() {
                let _ = writeln!(
                    out,
                    "mlflow_feature_drift_statistic{{{},feature=\"{}\",test=\"{}\"}} {statistic}",
                    model(w),
                    super::metrics::escape(&name),
                    d.test().name()
                );
            }
        }
    }
    out
}
