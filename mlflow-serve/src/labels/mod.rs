//! Delayed labels: the ground truth of logged predictions, attached by request id and row after
//! the fact, and the model's performance per window of predictions.
//!
//! - [`LabelStore`]: an append-only, crash-safe store of [`LabelRecord`]s next to a model's
//!   prediction log (`<store>/predictions/<model>/labels`, see [`LabelStore::dir_in`]), fed by
//!   `POST /v1/models/NAME:feedback` and `mlflow-pipelines labels ingest FILE`.
//! - [`Labels`]: the labels as read, the last label of each `(request_id, row)` winning, joined
//!   to prediction records with [`Labels::for_records`] (a hash map look-up per record).
//! - [`LabelMapping`]: a label as a user gives it (the class as the label column held it, `1`,
//!   `"setosa"`, or a number for a regressor) to a [`TrueValue`] (class index or value).
//! - [`read_label_file`]: a CSV or JSON-lines file of labels, checked whole (any bad line
//!   refuses the file, naming every bad line).
//! - [`PredictionKeys`]: which `(request_id, row)` a prediction log holds, to count labels
//!   that match no logged prediction.
//! - [`performance`]: realized metrics once a window holds enough labels, else an estimate from
//!   the predicted probabilities alone, marked as such.
//!
//! ```
//! use mlflow_serve::{LabelSource, LabelStore, NewLabel, TrueValue};
//! let dir = tempfile::tempdir().unwrap();
//! let store = LabelStore::open(dir.path())?;
//! let labels = [NewLabel::new("req-1", 0, TrueValue::Class(1)), NewLabel::new("req-2", 0, TrueValue::Class(0))];
//! let appended = store.append(&labels, &LabelSource::FeedbackApi)?;
//! assert_eq!((appended.accepted, appended.duplicates), (2, 0));
//! // The same labels again add nothing.
//! assert_eq!(store.append(&labels, &LabelSource::FeedbackApi)?.duplicates, 2);
//! let read = LabelStore::read(dir.path())?;
//! assert_eq!(read.get("req-1", 0), Some(TrueValue::Class(1)));
//! assert_eq!((read.len(), read.torn()), (2, 0));
//! # Ok::<(), mlflow_serve::LabelError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PredictionRecord;

mod file;
mod keys;
mod mapping;
mod performance;
mod segment;
mod store;

#[cfg(feature = "server")]
pub(crate) use file::json_label;
pub use file::{LabelFileFormat, read_label_file};
pub use keys::PredictionKeys;
pub use mapping::LabelMapping;
pub use performance::{
    BinaryEstimate, BinaryRealized, Estimate, MulticlassEstimate, MulticlassRealized, Performance,
    RealizedMetrics, RegressionEstimate, RegressionRealized, performance,
};
pub use store::{Appended, LabelStore};

/// The label store format this code writes and reads: a little-endian `u32` after the magic
/// `MLFLOWLBL\0` at the start of every segment (see [`LabelStore`]).
///
/// ```
/// assert_eq!(mlflow_serve::LABEL_FORMAT_VERSION, 1);
/// ```
pub const LABEL_FORMAT_VERSION: u32 = 1;

/// The ground truth of one prediction row: a class index for a classifier, a value for a
/// regressor.
///
/// Serialized as `{"class": 1}` or `{"value": 3.5}`.
///
/// ```
/// use mlflow_serve::TrueValue;
/// assert_eq!(serde_json::to_string(&TrueValue::Class(2)).unwrap(), r#"{"class":2}"#);
/// assert_eq!(TrueValue::Value(3.5).to_string(), "3.5");
/// assert_eq!(TrueValue::Class(2).class(), Some(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrueValue {
    /// The true class, as a class index (`0..classes`, the package's class order).
    Class(u32),
    /// The true value of a regression target.
    Value(f64),
}

impl TrueValue {
    /// The class index, for a class label.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::TrueValue::Value(1.0).class(), None);
    /// ```
    pub fn class(self) -> Option<u32> {
        match self {
            TrueValue::Class(c) => Some(c),
            TrueValue::Value(_) => None,
        }
    }

    /// The value, for a regression target.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::TrueValue::Value(1.5).value(), Some(1.5));
    /// ```
    pub fn value(self) -> Option<f64> {
        match self {
            TrueValue::Class(_) => None,
            TrueValue::Value(v) => Some(v),
        }
    }
}

impl fmt::Display for TrueValue {
    /// A class index as `class 2`, a value as the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrueValue::Class(c) => write!(f, "class {c}"),
            TrueValue::Value(v) => write!(f, "{v}"),
        }
    }
}

/// Where a label came from.
///
/// Displayed (and serialized in JSON) as `feedback api` or `file NAME`.
///
/// ```
/// use mlflow_serve::LabelSource;
/// assert_eq!(LabelSource::FeedbackApi.to_string(), "feedback api");
/// assert_eq!(LabelSource::File("june.csv".into()).to_string(), "file june.csv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LabelSource {
    /// `POST /v1/models/NAME:feedback`.
    FeedbackApi,
    /// `mlflow-pipelines labels ingest FILE`: the file's name (without its folder).
    File(String),
}

impl fmt::Display for LabelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelSource::FeedbackApi => f.write_str("feedback api"),
            LabelSource::File(name) => write!(f, "file {name}"),
        }
    }
}

/// A label to store: the prediction it belongs to and its true value.
///
/// ```
/// use mlflow_serve::{NewLabel, TrueValue};
/// let label = NewLabel::new("req-1", 0, TrueValue::Value(2.5));
/// assert_eq!((label.request_id.as_str(), label.row), ("req-1", 0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewLabel {
    /// The request id the prediction was logged with (the `x-request-id` of its answer).
    pub request_id: String,
    /// The row inside the request (0-based; 0 for a single-row request).
    pub row: u32,
    /// The true value.
    pub value: TrueValue,
}

impl NewLabel {
    /// A label for row `row` of request `request_id`.
    ///
    /// See [`NewLabel`] for an example.
    pub fn new(request_id: impl Into<String>, row: u32, value: TrueValue) -> NewLabel {
        NewLabel { request_id: request_id.into(), row, value }
    }
}

/// One stored label, as [`LabelStore`] appends it.
///
/// ```
/// use mlflow_serve::{LabelRecord, LabelSource, TrueValue};
/// let record = LabelRecord {
///     request_id: "req-1".into(),
///     row: 0,
///     value: TrueValue::Class(1),
///     time_ms: 1_700_000_000_000,
///     source: LabelSource::FeedbackApi,
/// };
/// let json = serde_json::to_string(&record).unwrap();
/// assert!(json.contains(r#""value":{"class":1}"#), "{json}");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    /// The request id of the prediction.
    pub request_id: String,
    /// The row of the prediction inside its request.
    pub row: u32,
    /// The true value.
    pub value: TrueValue,
    /// When the label was received, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Where it came from.
    pub source: LabelSource,
}

/// The labels of a model, as read by [`LabelStore::read`]: for each `(request_id, row)`, the
/// last label stored wins.
///
/// ```
/// use mlflow_serve::{LabelSource, LabelStore, NewLabel, TrueValue};
/// let dir = tempfile::tempdir().unwrap();
/// let store = LabelStore::open(dir.path())?;
/// store.append(&[NewLabel::new("r", 0, TrueValue::Class(0))], &LabelSource::FeedbackApi)?;
/// // A correction: the last label wins.
/// store.append(&[NewLabel::new("r", 0, TrueValue::Class(1))], &LabelSource::File("fix.csv".into()))?;
/// let labels = LabelStore::read(dir.path())?;
/// assert_eq!(labels.get("r", 0), Some(TrueValue::Class(1)));
/// assert_eq!((labels.len(), labels.records()), (1, 2));
/// # Ok::<(), mlflow_serve::LabelError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    /// Request id → (row, value) of its labeled rows (most requests have one row).
    by_request: HashMap<String, Vec<(u32, TrueValue)>>,
    len: usize,
    records: usize,
    torn: usize,
    segments: usize,
}

impl Labels {
    /// The label of row `row` of request `request_id`.
    ///
    /// See [`Labels`] for an example.
    pub fn get(&self, request_id: &str, row: u32) -> Option<TrueValue> {
        self.by_request.get(request_id)?.iter().find(|(r, _)| *r == row).map(|&(_, value)| value)
    }

    /// The label of each record (`None` when it has none), in order: the join of a window of
    /// predictions with their ground truth, one hash look-up per record. Feed it with the
    /// records to [`performance`].
    ///
    /// ```
    /// use mlflow_serve::{LabelSource, LabelStore, NewLabel, PredictionRecord, Role, TrueValue};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = LabelStore::open(dir.path())?;
    /// store.append(&[NewLabel::new("a", 1, TrueValue::Class(1))], &LabelSource::FeedbackApi)?;
    /// let record = |id: &str, row| PredictionRecord {
    ///     request_id: id.into(), row, time_ms: 0, model: "m".into(), version: 1,
    ///     role: Role::Champion, inputs: vec![], label: 1, probability: 0.9, latency_us: 1,
    /// };
    /// let labels = LabelStore::read(dir.path())?;
    /// let joined = labels.for_records(&[record("a", 0), record("a", 1), record("b", 0)]);
    /// assert_eq!(joined, [None, Some(TrueValue::Class(1)), None]);
    /// # Ok::<(), mlflow_serve::LabelError>(())
    /// ```
    pub fn for_records(&self, records: &[PredictionRecord]) -> Vec<Option<TrueValue>> {
        records.iter().map(|r| self.get(&r.request_id, r.row)).collect()
    }

    /// Every label, `(request_id, row, value)`, in no particular order.
    ///
    /// ```
    /// let labels = mlflow_serve::Labels::default();
    /// assert_eq!(labels.iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32, TrueValue)> + '_ {
        self.by_request
            .iter()
            .flat_map(|(id, rows)| rows.iter().map(move |&(row, value)| (id.as_str(), row, value)))
    }

    /// The number of labeled `(request_id, row)`.
    ///
    /// See [`Labels`] for an example.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no label was read.
    ///
    /// ```
    /// assert!(mlflow_serve::Labels::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of label records read, replaced ones included.
    ///
    /// See [`Labels`] for an example.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Frames skipped because they are not a whole, intact label: a crash cut the last one of
    /// a segment while it was written, or the disk altered it.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Labels::default().torn(), 0);
    /// ```
    pub fn torn(&self) -> usize {
        self.torn
    }

    /// The number of segment files read.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Labels::default().segments(), 0);
    /// ```
    pub fn segments(&self) -> usize {
        self.segments
    }

    /// Stores `value` for `(request_id, row)`; the previous value, if any.
    fn insert(&mut self, request_id: &str, row: u32, value: TrueValue) -> Option<TrueValue> {
        self.records += 1;
        let rows = match self.by_request.get_mut(request_id) {
            Some(rows) => rows,
            None => self.by_request.entry(request_id.to_owned()).or_default(),
        };
        match rows.iter_mut().find(|(r, _)| *r == row) {
            Some((_, old)) => Some(std::mem::replace(old, value)),
            None => {
                rows.push((row, value));
                self.len += 1;
                None
            }
        }
    }
}

/// What can go wrong storing, reading or parsing labels. Each message says what was wrong,
/// where (file, line, label) and what to do.
///
/// ```
/// use mlflow_serve::{LabelError, LabelMapping};
/// use mlflow_ml::models::Task;
/// let mapping = LabelMapping::new(Task::Classification { classes: 2 }, None);
/// let err = mapping.map_text("7").unwrap_err();
/// assert!(err.contains("0, 1"), "{err}");
/// let err = LabelError::Invalid { at: "labels[0].label".into(), message: err };
/// assert!(err.to_string().starts_with("labels[0].label: "), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// Creating, writing or reading the label store failed.
    #[error("cannot {action} label store {path}: {source}; {}", hint(.source))]
    Io {
        /// What was being done, e.g. `append to` or `read`.
        action: &'static str,
        /// The folder or segment file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// One label is not valid (a request from a client, or a call of the library).
    #[error("{at}: {message}")]
    Invalid {
        /// Which label: `labels[2].label`, `line 4`, ...
        at: String,
        /// What is wrong and what to send instead.
        message: String,
    },
    /// A label file has bad lines: none of its labels were stored.
    #[error(
        "{file}: {count} bad line{s}, so no label of the file was stored (labels stored before are kept): {listed}; fix {them} and ingest the file again",
        file = .file.display(),
        s = if *.count == 1 { "" } else { "s" },
        them = if *.count == 1 { "it" } else { "them" },
        listed = listed(.lines, *.count)
    )]
    BadLines {
        /// The file.
        file: PathBuf,
        /// The number of bad lines.
        count: usize,
        /// The first bad lines (at most 10): line number (1-based) and what is wrong.
        lines: Vec<(usize, String)>,
    },
    /// A label file holds no label.
    #[error(
        "{} holds no label; write a CSV file with a header `request_id,row,label` (row optional) or one JSON object per line, {{\"request_id\": \"...\", \"row\": 0, \"label\": ...}}",
        .file.display()
    )]
    EmptyFile {
        /// The file.
        file: PathBuf,
    },
}

/// `line 3: ...; line 7: ...`, and how many more.
fn listed(lines: &[(usize, String)], count: usize) -> String {
    let mut text =
        lines.iter().map(|(line, what)| format!("line {line}: {what}")).collect::<Vec<_>>().join("; ");
    if count > lines.len() {
        text.push_str(&format!("; and {} more", count - lines.len()));
    }
    text
}

/// What to do about a failed label store operation.
fn hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists | io::ErrorKind::IsADirectory => {
            "move the file in the way (the labels of a model are in `<store>/predictions/<model>/labels`)"
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "make the folder writable by this user"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            "free disk space, then send the labels again (what was stored is kept, and labels stored twice count once)"
        }
        io::ErrorKind::InvalidData => {
            "read it with the newer mlflow that wrote it, or move it out of the folder (a new segment is then started)"
        }
        _ => "check the folder and the disk, then retry (labels stored twice count once)",
    }
}

pub(crate) fn label_error(action: &'static str, path: &Path, source: io::Error) -> LabelError {
    LabelError::Io { action, path: path.to_path_buf(), source }
}
