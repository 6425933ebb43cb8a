//! Alerts: thresholds a window's report is checked against.

use super::report::WindowReport;
use mlflow_ml::monitor::DEFAULT_DRIFT_SHARE;

/// When a window's report raises an alert. The default raises one when the share of drifted
/// input features reaches Evidently's 0.5; the others are off until set.
///
/// ```
/// use mlflow_serve::monitoring::AlertRules;
/// let rules = AlertRules { features: vec!["Age".into()], output: true, p99_latency_ms: Some(50.0), ..AlertRules::default() };
/// assert_eq!(rules.dataset_drift_share, Some(0.5));
/// # let _ = rules;
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertRules {
    /// Alert when the share of drifted input features is at least this (`None`: never).
    pub dataset_drift_share: Option<f64>,
    /// Alert when any of these input features drifts (by its name in the signature).
    pub features: Vec<String>,
    /// Alert when the output drifts.
    pub output: bool,
    /// Alert when the 99th percentile of the model's latency exceeds this many milliseconds.
    pub p99_latency_ms: Option<f64>,
    /// Alert when the share of failed requests exceeds this (0.01: more than 1 in 100).
    #[serde(default)]
    pub error_rate: Option<f64>,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            dataset_drift_share: Some(DEFAULT_DRIFT_SHARE),
            features: Vec::new(),
            output: false,
            p99_latency_ms: None,
            error_rate: None,
        }
    }
}

/// An alert a window raised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Alert {
    /// Too large a share of the input features drifted.
    DatasetDrift {
        /// Drifted features / features compared.
        share: f64,
        /// The rule's share.
        threshold: f64,
    },
    /// A watched input feature drifted.
    FeatureDrift {
        /// The feature.
        feature: String,
        /// The test's statistic (p-value for a p-value test, else the distance).
        value: f64,
    },
    /// The output drifted.
    OutputDrift {
        /// The output column (`P(<class>)` or `prediction`).
        output: String,
        /// The test's statistic (p-value for a p-value test, else the distance).
        value: f64,
    },
    /// The model's 99th percentile latency is above the limit.
    Latency {
        /// The window's p99, in milliseconds.
        p99_ms: f64,
        /// The limit.
        limit_ms: f64,
    },
    /// Too many requests failed.
    ErrorRate {
        /// Failed requests / all requests of the window.
        rate: f64,
        /// Failed requests.
        errors: u64,
        /// The limit.
        limit: f64,
    },
    /// A watched feature is not in the model's signature.
    UnknownFeature {
        /// The name given.
        feature: String,
    },
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Alert::DatasetDrift { share, threshold } => {
                write!(
                    f,
                    "dataset drift: {:.0}% of the input features drifted (alert at {:.0}%)",
                    share * 100.0,
                    threshold * 100.0
                )
            }
            Alert::FeatureDrift { feature, value } => {
                write!(f, "feature `{feature}` drifted (statistic {value:.4})")
            }
            Alert::OutputDrift { output, value } => {
                write!(f, "output `{output}` drifted (statistic {value:.4})")
            }
            Alert::Latency { p99_ms, limit_ms } => {
                write!(f, "p99 latency {p99_ms:.2} ms is above {limit_ms} ms")
            }
            Alert::ErrorRate { rate, errors, limit } => {
                write!(
                    f,
                    "{errors} requests failed: error rate {:.2}% is above {:.2}%",
                    rate * 100.0,
                    limit * 100.0
                )
            }
            Alert::UnknownFeature { feature } => {
                write!(
                    f,
                    "feature `{feature}` is not an input of the model: check the name against the signature"
                )
            }
        }
    }
}

impl WindowReport {
    /// The alerts `rules` raise on this window.
    ///
    /// ```
    /// # use mlflow_serve::monitoring::{AlertRules, WindowReport, Health, WindowBounds};
    /// # use mlflow_serve::Role;
    /// # let report = WindowReport { model: "m".into(), version: 1, role: Role::Champion,
    /// #     window: WindowBounds { index: 0, start_ms: 0, end_ms: 0, complete: true }, rows: 1, requests: 1, malformed: 0,
    /// #     features: vec![], output: None, dataset: None, predicted_labels: Default::default(),
    /// #     health: Health { requests_per_second: None, rows_per_request: Some(1.0), latency_p50_ms: Some(2.0),
    /// #         latency_p95_ms: Some(2.0), latency_p99_ms: Some(80.0), latency_max_ms: Some(80.0), error_rate: Some(0.0) },
    /// #     errors: None, timeouts: None, performance: None, performance_estimated: false, labeled: None, notes: vec![] };
    /// let rules = AlertRules { p99_latency_ms: Some(50.0), ..AlertRules::default() };
    /// let alerts = report.alerts(&rules);
    /// assert_eq!(alerts.len(), 1);
    /// assert_eq!(alerts[0].to_string(), "p99 latency 80.00 ms is above 50 ms");
    /// ```
    pub fn alerts(&self, rules: &AlertRules) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let value = |d: &mlflow_ml::monitor::ColumnDrift| d.p_value().unwrap_or(d.statistic());
        if let (Some(threshold), Some(dataset)) = (rules.dataset_drift_share, self.dataset)
            && dataset.share >= threshold
        {
            alerts.push(Alert::DatasetDrift { share: dataset.share, threshold });
        }
        for name in &rules.features {
            match self.features.iter().find(|f| &f.name == name) {
                Some(f) => {
                    if let Some(d) = f.drift.as_ref().filter(|d| d.drifted()) {
                        alerts.push(Alert::FeatureDrift { feature: name.clone(), value: value(d) });
                    }
                }
                None => alerts.push(Alert::UnknownFeature { feature: name.clone() }),
            }
        }
        if rules.output
            && let Some(output) = &self.output
            && let Some(d) = output.drift.as_ref().filter(|d| d.drifted())
        {
            alerts.push(Alert::OutputDrift { output: output.name.clone(), value: value(d) });
        }
        if let (Some(limit_ms), Some(p99_ms)) = (rules.p99_latency_ms, self.health.latency_p99_ms)
            && p99_ms > limit_ms
        {
            alerts.push(Alert::Latency { p99_ms, limit_ms });
        }
        if let (Some(limit), Some(rate)) = (rules.error_rate, self.health.error_rate)
            && rate > limit
        {
            alerts.push(Alert::ErrorRate { rate, errors: self.errors.unwrap_or(0), limit });
        }
        alerts
    }
}
