//! A window's report: drift of each input and of the output against the package's reference
//! profile, dataset drift, counts and operational health.

use std::collections::BTreeMap;

use mlflow_ml::models::Task;
use mlflow_ml::monitor::{
    ColumnDrift, ColumnProfile, DEFAULT_DRIFT_SHARE, DatasetDrift, Preset, dataset_drift,
};

use super::MonitorError;
use super::stats::WindowStats;
use super::tally::tally_drift;
use super::window::{WindowBounds, WindowSpec};
use crate::{ModelPackage, PredictionRecord, Role};

/// How windows are compared with the reference.
///
/// ```
/// use mlflow_serve::monitoring::MonitorOptions;
/// use mlflow_ml::monitor::Preset;
/// let options = MonitorOptions { preset: Preset::Tfdv, ..MonitorOptions::default() };
/// assert_eq!(MonitorOptions::default().drift_share, 0.5);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MonitorOptions {
    /// The tests and thresholds (default: [`Preset::evidently`]).
    pub preset: Preset,
    /// The share of drifted inputs at which the dataset drifts (default
    /// [`DEFAULT_DRIFT_SHARE`], Evidently's 0.5), in `(0, 1]`.
    pub drift_share: f64,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        MonitorOptions { preset: Preset::evidently(), drift_share: DEFAULT_DRIFT_SHARE }
    }
}

/// One column's drift in a window: an input feature or the model's output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnReport {
    /// The feature's name (the package signature's), or `P(<class>)` / `prediction`.
    pub name: String,
    /// Rows with a finite value.
    pub values: u64,
    /// Rows without one (NaN or infinite).
    pub nulls: u64,
    /// The reference's null share (training-serving skew in missingness shows here).
    pub reference_null_rate: f64,
    /// The drift, when it could be measured.
    pub drift: Option<ColumnDrift>,
    /// Why there is no drift (e.g. every value missing), when there is none.
    pub note: Option<String>,
}

impl ColumnReport {
    /// Whether the column drifted.
    pub fn drifted(&self) -> bool {
        self.drift.as_ref().is_some_and(ColumnDrift::drifted)
    }
}

/// Operational health of a window, from the log.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// Requests per second over the window's span (`None` when every record has one time).
    pub requests_per_second: Option<f64>,
    /// Rows per request.
    pub rows_per_request: Option<f64>,
    /// Model latency per request, median, in milliseconds (numpy's linear percentile).
    pub latency_p50_ms: Option<f64>,
    /// 95th percentile.
    pub latency_p95_ms: Option<f64>,
    /// 99th percentile.
    pub latency_p99_ms: Option<f64>,
    /// Largest.
    pub latency_max_ms: Option<f64>,
    /// Failed requests / all requests (answered and failed) of the window (`None` when it has
    /// neither).
    #[serde(default)]
    pub error_rate: Option<f64>,
}

/// The report of one window of one (version, role): see [`monitor_window`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowReport {
    /// The model's name, as logged (the registered name).
    pub model: String,
    /// The version.
    pub version: u32,
    /// The role (champion, challenger, shadow).
    pub role: Role,
    /// Where the window sits.
    pub window: WindowBounds,
    /// Records (rows scored).
    pub rows: u64,
    /// Requests.
    pub requests: u64,
    /// Records left out of the drift: a number of inputs other than the signature's.
    pub malformed: u64,
    /// Each input feature, in signature order, against the profile's engineered feature.
    pub features: Vec<ColumnReport>,
    /// The output (binary: P(class 1); regression: the prediction), or `None` with a note.
    pub output: Option<ColumnReport>,
    /// The share of drifted input features.
    pub dataset: Option<DatasetDrift>,
    /// Rows per predicted class index.
    pub predicted_labels: BTreeMap<u32, u64>,
    /// Rate, rows per request and latency percentiles.
    pub health: Health,
    /// Failed requests (refused or not answered), from the log's failure entries; counted in
    /// the champion's windows (a request can fail before it is routed), so `Some(0)` for a
    /// challenger or shadow. `None` when the report was not built from a log
    /// ([`monitor_window`]). Segments of format 1 hold no failures: see
    /// [`ScanSummary::untagged_segments`](super::ScanSummary::untagged_segments).
    pub errors: Option<u64>,
    /// Of [`WindowReport::errors`], the requests whose body timed out (HTTP 408).
    pub timeouts: Option<u64>,
    /// Model performance on the window's delayed labels (accuracy, log loss, ...) by metric
    /// name, realized or estimated ([`join_performance`](super::join_performance)); `None`
    /// until labels are joined.
    pub performance: Option<BTreeMap<String, f64>>,
    /// Whether `performance` is an estimate from the predicted probabilities (too few labels).
    #[serde(default)]
    pub performance_estimated: bool,
    /// Labeled predictions in the window, once labels are joined.
    #[serde(default)]
    pub labeled: Option<u64>,
    /// What the report could not measure, and why.
    pub notes: Vec<String>,
}

/// Monitors `records` (one window of one version and role, e.g. read with
/// [`PredictionLog::read`](crate::PredictionLog::read)) against `package`'s reference profile.
///
/// Errors: a package without a profile (format 2 or older: repackage it), a profile whose
/// features are not the signature's, records of several versions or roles, no records.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::FeatureMatrix;
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// use mlflow_ml::monitor::ReferenceProfile;
/// use mlflow_serve::{Lineage, ModelPackage, PredictionRecord, Role};
/// use mlflow_serve::monitoring::{monitor_window, MonitorOptions};
/// let x = ndarray::Array2::from_shape_fn((200, 1), |(i, _)| (i % 40) as f64);
/// let y: Vec<usize> = (0..200).map(|i| usize::from(i % 40 >= 20)).collect();
/// let model = Model::fit(x.view(), &y, &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let raw = Table::new(vec![("x".into(), Column::Float(x.column(0).iter().map(|v| Some(*v)).collect()))])?;
/// let features = FeatureMatrix { names: vec!["x".into()], x: x.clone() };
/// let p: Vec<f64> = y.iter().map(|&c| if c == 1 { 0.9 } else { 0.1 }).collect();
/// let outputs = FeatureMatrix { names: vec!["P(0)".into(), "P(1)".into()],
///     x: ndarray::Array2::from_shape_fn((200, 2), |(i, j)| if j == 1 { p[i] } else { 1.0 - p[i] }) };
/// let package = ModelPackage::new("m", model, None, &["x"], x.view(), Lineage::default())?
///     .with_profile(ReferenceProfile::new(&raw, None, &features, &outputs)?)?;
/// let records: Vec<PredictionRecord> = (0..300).map(|i| PredictionRecord {
///     request_id: format!("r{i}"), row: 0, time_ms: i, model: "m".into(), version: 1, role: Role::Champion,
///     inputs: vec![(i % 40) as f64 + 30.0], label: 1, probability: 0.9, latency_us: 100 }).collect();
/// let report = monitor_window(&package, &records, &MonitorOptions::default())?;
/// assert!(report.features[0].drifted());
/// assert!(report.dataset.unwrap().drifted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn monitor_window(
    package: &ModelPackage,
    records: &[PredictionRecord],
    options: &MonitorOptions,
) -> Result<WindowReport, MonitorError> {
    let first = records.first().ok_or(MonitorError::NoRecords)?;
    let mut stats = WindowStats::new(first, WindowSpec::All, 0);
    for r in records {
        if (r.version, r.role) != (first.version, first.role) {
            return Err(MonitorError::MixedWindow {
                first: (first.version, first.role),
                other: (r.version, r.role),
            });
        }
        stats.add(r);
    }
    stats.close(WindowSpec::All, i64::MAX);
    let mut report = stats.report(package, options)?;
    // Records alone say nothing of the requests that failed.
    (report.errors, report.timeouts, report.health.error_rate) = (None, None, None);
    Ok(report)
}

impl WindowStats {
    /// The report of this window against `package` (of this window's version): see
    /// [`monitor_window`].
    pub fn report(
        &self,
        package: &ModelPackage,
        options: &MonitorOptions,
    ) -> Result<WindowReport, MonitorError> {
        let profile = package.profile().ok_or_else(|| MonitorError::NoProfile {
            model: package.name().to_owned(),
            version: self.version(),
            format: package.format_version(),
        })?;
        let names = package.signature().names();
        let profiled: Vec<&str> = profile.features.iter().map(|f| f.name.as_str()).collect();
        if profiled != names {
            return Err(MonitorError::ProfileMismatch {
                profile: profiled.join(", "),
                signature: names.join(", "),
            });
        }
        let mut notes = Vec::new();
        if self.rows() == 0 {
            notes.push(format!(
                "{} requests failed and none was answered in this window: there are no predictions to compare",
                self.errors()
            ));
            return Ok(self.window_report(Vec::new(), None, None, notes));
        }
        if self.inputs().len() != names.len() {
            return Err(MonitorError::LogMismatch {
                version: self.version(),
                logged: self.inputs().len(),
                signature: names.len(),
            });
        }
        let features: Vec<ColumnReport> = profile
            .features
            .iter()
            .zip(self.inputs())
            .map(|(reference, tally)| column(options, reference, reference.name.clone(), tally))
            .collect();
        let output = match package.task() {
            Task::Classification { classes: 2 } if profile.outputs.len() == 2 => {
                Some(column(options, &profile.outputs[1], profile.outputs[1].name.clone(), self.output()))
            }
            Task::Regression if !profile.outputs.is_empty() => {
                let reference =
                    profile.outputs.iter().find(|o| o.name == "prediction").unwrap_or(&profile.outputs[0]);
                Some(column(options, reference, reference.name.clone(), self.output()))
            }
            Task::Classification { classes } if classes > 2 => {
                notes.push(format!(
                    "output drift not measured: a {classes}-class model logs P(predicted label), which no reference column holds (the profile has P(class) per class); see predicted_labels for the predicted-class counts"
                ));
                None
            }
            _ => {
                notes.push(
                    "output drift not measured: the profile has no output column for this model".into(),
                );
                None
            }
        };
        let drifts: Vec<ColumnDrift> = features.iter().filter_map(|f| f.drift.clone()).collect();
        let dataset = if drifts.is_empty() {
            notes.push("dataset drift not measured: no input feature could be compared".into());
            None
        } else {
            Some(
                dataset_drift(&drifts, options.drift_share)
                    .map_err(|e| MonitorError::Options(e.to_string()))?,
            )
        };
        if self.malformed() > 0 {
            notes.push(format!(
                "{} records had a number of inputs other than the signature's {} and were left out of the drift",
                self.malformed(),
                names.len()
            ));
        }
        Ok(self.window_report(features, output, dataset, notes))
    }

    /// The window's counts and health, with the drift given.
    fn window_report(
        &self,
        features: Vec<ColumnReport>,
        output: Option<ColumnReport>,
        dataset: Option<DatasetDrift>,
        notes: Vec<String>,
    ) -> WindowReport {
        WindowReport {
            model: self.model().to_owned(),
            version: self.version(),
            role: self.role(),
            window: self.bounds(),
            rows: self.rows(),
            requests: self.requests(),
            malformed: self.malformed(),
            features,
            output,
            dataset,
            predicted_labels: self.labels().clone(),
            health: self.health(),
            errors: Some(self.errors()),
            timeouts: Some(self.timeouts()),
            performance: None,
            performance_estimated: false,
            labeled: None,
            notes,
        }
    }

    fn health(&self) -> Health {
        let span_ms = self.span_ms();
        let mut latencies = self.latencies_us().to_vec();
        latencies.sort_unstable();
        let pct = |q: f64| percentile_ms(&latencies, q);
        Health {
            requests_per_second: (span_ms > 0).then(|| self.requests() as f64 / (span_ms as f64 / 1000.0)),
            rows_per_request: (self.requests() > 0).then(|| self.rows() as f64 / self.requests() as f64),
            latency_p50_ms: pct(0.5),
            latency_p95_ms: pct(0.95),
            latency_p99_ms: pct(0.99),
            latency_max_ms: latencies.last().map(|&us| us as f64 / 1000.0),
            error_rate: match self.requests() + self.errors() {
                0 => None,
                all => Some(self.errors() as f64 / all as f64),
            },
        }
    }
}

/// numpy's linear percentile of sorted microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u64], q: f64) -> Option<f64> {
    let n = sorted_us.len();
    if n == 0 {
        return None;
    }
    let at = (n - 1) as f64 * q;
    let lo = at.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted_us[lo] as f64, sorted_us[hi] as f64);
    Some((a + (b - a) * (at - lo as f64)) / 1000.0)
}

fn column(
    options: &MonitorOptions,
    reference: &ColumnProfile,
    name: String,
    tally: &super::tally::Tally,
) -> ColumnReport {
    let (drift, note) = match tally_drift(&options.preset, reference, tally) {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(format!("not compared: {e}"))),
    };
    ColumnReport {
        name,
        values: tally.values(),
        nulls: tally.nulls(),
        reference_null_rate: reference.null_rate(),
        drift,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_numpy() {
        // np.percentile([1, 2, 3, 4], [50, 95]) = [2.5, 3.85]
        let us = [1000, 2000, 3000, 4000];
        assert_eq!(percentile_ms(&us, 0.5), Some(2.5));
        assert!((percentile_ms(&us, 0.95).unwrap() - 3.85).abs() < 1e-12);
        assert_eq!(percentile_ms(&[], 0.5), None);
    }
}
