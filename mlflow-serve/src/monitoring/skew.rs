//! Training-serving skew by replay: the package's own fitted transformers run again on the raw
//! rows a client turned into features, and the result is compared with the features the model
//! was actually served (the log's inputs). A client that computes a feature its own way (other
//! bin edges, another imputed value, a unit) shows up here row by row, before any drift test
//! would notice.

use serde::{Deserialize, Serialize};

use super::MonitorError;
use crate::{ModelPackage, PredictionRecord};
use mlflow_ml::data::Table;

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
    /// The first differing row: (row, served, replayed).
    pub example: Option<(usize, f64, f64)>,
}

/// What [`replay_skew`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkewReport {
    /// Rows compared.
    pub rows: usize,
    /// Rows with at least one differing feature.
    pub skewed_rows: usize,
    /// Each feature, in signature order.
    pub features: Vec<FeatureSkew>,
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
    let transformers = package.features().ok_or_else(|| {
        MonitorError::Options(format!(
            "package `{}` has no feature transformers (it takes its features as they are): there is nothing to replay",
            package.name()
        ))
    })?;
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
    let mut features: Vec<FeatureSkew> = replayed
        .names
        .iter()
        .map(|name| FeatureSkew { name: name.clone(), mismatched_rows: 0, max_abs_diff: 0.0, example: None })
        .collect();
    let mut skewed_rows = 0;
    for (row, record) in records.iter().enumerate() {
        if record.inputs.len() != features.len() {
            return Err(MonitorError::LogMismatch {
                version: record.version,
                logged: record.inputs.len(),
                signature: features.len(),
            });
        }
        let mut skewed = false;
        for (f, feature) in features.iter_mut().enumerate() {
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
                feature.example.get_or_insert((row, served, replayed));
            }
        }
        skewed_rows += usize::from(skewed);
    }
    Ok(SkewReport { rows: records.len(), skewed_rows, features })
}
