//! Training-serving skew by replay: the package's own fitted transformers run again on the raw
//! rows a client turned into features, and the result is compared with the features the model
//! was actually served (the log's inputs). A client that computes a feature its own way (other
//! bin edges, another imputed value, a unit) shows up here row by row, before any drift test
//! would notice.
//!
//! The server logs the raw rows of each request that carries them (`"raw": true`, or
//! `"raw_instances"` beside client-computed features), so [`replay_logged_skew`] needs the log
//! alone; [`replay_skew`] takes raw rows from elsewhere.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{MonitorError, RecordFilter};
use crate::{LogEntry, ModelPackage, PredictionLog, PredictionRecord};
use mlflow_ml::data::Table;
use mlflow_ml::features::{FeatureMatrix, FittedFeatures};

/// Relative tolerance of the comparison: the same transformer on the same value gives the same
/// float, so anything beyond rounding is skew.
const TOLERANCE: f64 = 1e-9;

/// One feature's skew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSkew {
    /// The feature.
    pub name: String,
    /// Rows whose served value differs from the replayed one.
    pub mismatched_rows: usize,
    /// The largest difference (0 when none; NaN against a number counts as infinite).
    pub max_abs_diff: f64,
    /// The first differing row: (row, served, replayed). The row counts the rows compared, in
    /// order ([`replay_skew`]: the index into the records).
    pub example: Option<(usize, f64, f64)>,
}

/// What [`replay_skew`] or [`replay_logged_skew`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkewReport {
    /// Rows compared.
    pub rows: usize,
    /// Rows with at least one differing feature.
    pub skewed_rows: usize,
    /// Each feature, in signature order.
    pub features: Vec<FeatureSkew>,
    /// Logged predictions left out because their request carried no raw rows (features sent
    /// by a client without `raw_instances`), or because the row has none.
    #[serde(default)]
    pub rows_without_raw: usize,
    /// Logged predictions left out because the package's transformers refuse their raw rows,
    /// with the first refusal.
    #[serde(default)]
    pub refused_rows: usize,
    /// The first refusal's message.
    #[serde(default)]
    pub refusal: Option<String>,
}

impl SkewReport {
    /// Whether any served feature differs from what the package computes.
    pub fn skewed(&self) -> bool {
        self.skewed_rows > 0
    }
}

/// Replays `package`'s transformers on `raw` (the raw rows, in the order of `records`) and
/// compares the result with each record's logged inputs.
///
/// Errors: a package without transformers (it takes features as they are: nothing to replay),
/// raw rows the transformers refuse (a missing column), or row counts that differ.
///
/// ```
/// # use mlflow_serve::monitoring::replay_skew;
/// # fn check(package: &mlflow_serve::ModelPackage, raw: &mlflow_ml::data::Table, records: &[mlflow_serve::PredictionRecord]) -> Result<(), mlflow_serve::monitoring::MonitorError> {
/// let skew = replay_skew(package, raw, records)?;
/// for f in skew.features.iter().filter(|f| f.mismatched_rows > 0) {
///     println!("{}: {} rows differ, by up to {}", f.name, f.mismatched_rows, f.max_abs_diff);
/// }
/// # Ok(())
/// # }
/// ```
pub fn replay_skew(
    package: &ModelPackage,
    raw: &Table,
    records: &[PredictionRecord],
) -> Result<SkewReport, MonitorError> {
    let transformers = transformers_of(package)?;
    if raw.rows() != records.len() {
        return Err(MonitorError::Options(format!(
            "{} raw rows for {} logged records: give the raw rows of exactly those predictions, in their order",
            raw.rows(),
            records.len()
        )));
    }
    let replayed = transformers
        .transform(raw)
        .map_err(|e| MonitorError::Options(format!("the package's transformers refuse the raw rows: {e}")))?;
    let mut report = SkewReport::of(&replayed.names);
    for (row, record) in records.iter().enumerate() {
        report.compare(&replayed, row, record)?;
    }
    Ok(report)
}

/// Replays `package`'s transformers on the raw rows logged in `dir` and compares them with the
/// features served to the records `filter` keeps (give it the package's version: each version
/// has its own transformers). Each request's raw rows are transformed once, for every record
/// of it (the answering model and each shadow of that version).
///
/// Memory holds the raw rows of the log until their predictions are read. Errors: no log, a
/// package without transformers, a record whose number of inputs is not the signature's.
///
/// ```
/// # use mlflow_serve::monitoring::{replay_logged_skew, RecordFilter};
/// # fn check(package: &mlflow_serve::ModelPackage, log: &std::path::Path) -> Result<(), mlflow_serve::monitoring::MonitorError> {
/// let filter = RecordFilter { version: Some(3), ..RecordFilter::default() };
/// let skew = replay_logged_skew(package, log, &filter)?;
/// println!("{} of {} served rows differ ({} had no raw rows)", skew.skewed_rows, skew.rows, skew.rows_without_raw);
/// # Ok(())
/// # }
/// ```
pub fn replay_logged_skew(
    package: &ModelPackage,
    dir: &Path,
    filter: &RecordFilter,
) -> Result<SkewReport, MonitorError> {
    let transformers = transformers_of(package)?;
    if !dir.is_dir() || PredictionLog::segment_files(dir)?.is_empty() {
        return Err(MonitorError::NoLog { dir: dir.to_path_buf() });
    }
    let names = package.signature().names();
    let mut report = SkewReport::of(&names);
    // Raw rows by request, and each request's replayed features once computed.
    let mut raw: HashMap<String, Table> = HashMap::new();
    let mut replayed: HashMap<String, Result<FeatureMatrix, String>> = HashMap::new();
    for entry in PredictionLog::entries(dir)? {
        match entry? {
            LogEntry::Raw(rows) => {
                replayed.remove(&rows.request_id);
                raw.insert(rows.request_id, rows.table);
            }
            LogEntry::Prediction(record) if filter.accepts(&record) => {
                let features = match replayed.get(&record.request_id) {
                    Some(features) => features,
                    None => match raw.get(&record.request_id) {
                        Some(table) => replayed
                            .entry(record.request_id.clone())
                            .or_insert_with(|| transformers.transform(table).map_err(|e| e.to_string())),
                        None => {
                            report.rows_without_raw += 1;
                            continue;
                        }
                    },
                };
                match features {
                    Ok(features) if (record.row as usize) < features.x.nrows() => {
                        report.compare(features, record.row as usize, &record)?;
                    }
                    Ok(_) => report.rows_without_raw += 1,
                    Err(e) => {
                        report.refused_rows += 1;
                        report.refusal.get_or_insert_with(|| format!("request `{}`: {e}", record.request_id));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(report)
}

fn transformers_of(package: &ModelPackage) -> Result<&FittedFeatures, MonitorError> {
    package.features().ok_or_else(|| {
        MonitorError::Options(format!(
            "package `{}` has no feature transformers (it takes its features as they are): there is nothing to replay",
            package.name()
        ))
    })
}

impl SkewReport {
    fn of(names: &[String]) -> SkewReport {
        SkewReport {
            rows: 0,
            skewed_rows: 0,
            features: names
                .iter()
                .map(|name| FeatureSkew {
                    name: name.clone(),
                    mismatched_rows: 0,
                    max_abs_diff: 0.0,
                    example: None,
                })
                .collect(),
            rows_without_raw: 0,
            refused_rows: 0,
            refusal: None,
        }
    }

    /// Compares `record`'s served inputs with row `row` of the replayed features.
    fn compare(
        &mut self,
        replayed: &FeatureMatrix,
        row: usize,
        record: &PredictionRecord,
    ) -> Result<(), MonitorError> {
        if record.inputs.len() != self.features.len() || replayed.x.ncols() != self.features.len() {
            return Err(MonitorError::LogMismatch {
                version: record.version,
                logged: record.inputs.len(),
                signature: self.features.len(),
            });
        }
        let at = self.rows;
        self.rows += 1;
        let mut skewed = false;
        for (f, feature) in self.features.iter_mut().enumerate() {
            let (served, replayed) = (record.inputs[f], replayed.x[[row, f]]);
            let diff = if served.is_nan() && replayed.is_nan() {
                0.0
            } else if served.is_nan() || replayed.is_nan() {
                f64::INFINITY
            } else {
                (served - replayed).abs()
            };
            if diff > TOLERANCE * served.abs().max(replayed.abs()).max(1.0) {
                skewed = true;
                feature.mismatched_rows += 1;
                feature.max_abs_diff = feature.max_abs_diff.max(diff);
                feature.example.get_or_insert((at, served, replayed));
            }
        }
        self.skewed_rows += usize::from(skewed);
        Ok(())
    }
}
