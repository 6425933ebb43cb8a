//! A monitoring pass as the monitoring report's view ([`MonitoringView`]), for
//! [`render_monitoring_html`](mlflow_ml::report::render_monitoring_html).

use mlflow_core::track::format_timestamp;
use mlflow_ml::report::{ColumnView, MonitoringView, WindowView};

use super::{ColumnReport, MonitorReport, WindowSpec};

impl MonitorReport {
    /// The report's view, for the HTML monitoring report.
    ///
    /// ```
    /// # use mlflow_serve::monitoring::{MonitorOptions, MonitorReport, ScanSummary, WindowSpec};
    /// let report = MonitorReport { window: WindowSpec::Count(1000), options: MonitorOptions::default(),
    ///     scan: ScanSummary::default(), windows: vec![] };
    /// let view = report.view("titanic");
    /// assert!(view.subtitle.contains("windows of 1000 predictions"), "{}", view.subtitle);
    /// assert!(mlflow_ml::report::render_monitoring_html(&view).contains("titanic"));
    /// ```
    pub fn view(&self, model: &str) -> MonitoringView {
        let windowing = match self.window {
            WindowSpec::All => "one window of every prediction".to_owned(),
            WindowSpec::Count(n) => format!("windows of {n} predictions"),
            WindowSpec::Last(n) => format!("the newest {n} predictions"),
            WindowSpec::Time(ms) => format!("windows of {} s", ms / 1000),
        };
        let subtitle = format!(
            "{windowing}; {} records read, {} matched; drift share threshold {}",
            self.scan.records, self.scan.matched, self.options.drift_share
        );
        let windows = self
            .windows
            .iter()
            .map(|w| WindowView {
                label: format!(
                    "version {} ({}), {} .. {}{}",
                    w.version,
                    w.role,
                    format_timestamp(w.window.start_ms),
                    format_timestamp(w.window.end_ms),
                    if w.window.complete { "" } else { " (partial)" }
                ),
                rows: w.rows,
                dataset_share: w.dataset.as_ref().map(|d| d.share),
                dataset_drifted: w.dataset.as_ref().is_some_and(|d| d.drifted),
                columns: w.features.iter().chain(w.output.as_ref()).map(column).collect(),
                performance: w.performance.iter().flatten().map(|(k, v)| (k.clone(), *v)).collect(),
                performance_estimated: w.performance_estimated,
                labeled: w.labeled,
                requests_per_second: w.health.requests_per_second,
                latency_p99_ms: w.health.latency_p99_ms,
                errors: w.errors,
                error_rate: w.health.error_rate,
            })
            .collect();
        let notes = self
            .windows
            .iter()
            .flat_map(|w| w.notes.iter().cloned())
            .collect::<std::collections::BTreeSet<_>>();
        MonitoringView { model: model.to_owned(), subtitle, windows, notes: notes.into_iter().collect() }
    }
}

fn column(c: &ColumnReport) -> ColumnView {
    ColumnView {
        name: c.name.clone(),
        test: c.drift.as_ref().map_or_else(String::new, |d| d.test().name().to_owned()),
        statistic: c.drift.as_ref().map(|d| d.statistic()),
        p_value: c.drift.as_ref().and_then(|d| d.p_value()),
        drifted: c.drifted(),
        nulls: c.nulls,
    }
}
