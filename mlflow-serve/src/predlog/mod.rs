//! [`PredictionLog`]: an append-only log of every prediction a scoring service made, kept in the
//! store, rotated by size, and loss-free across a crash of the process.
//!
//! See [`PredictionLog`] for the file format and what survives a crash. Segments are binary: read
//! them with [`PredictionLog::read`] or [`PredictionLog::records`], or from a shell with
//! `mlflow-pipelines predictions MODEL` (add `--json` for one JSON object per line, for `jq`).
//!
//! ```
//! use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord, Role};
//! let dir = tempfile::tempdir().unwrap();
//! let log = PredictionLog::open(dir.path().join("titanic"), LogOptions::default())?;
//! let record = PredictionRecord {
//!     request_id: "req-1".into(),
//!     row: 0,
//!     time_ms: 1_700_000_000_000,
//!     model: "titanic".into(),
//!     version: 3,
//!     role: Role::Champion,
//!     inputs: vec![3.0, 0.0, 22.0],
//!     label: 0,
//!     probability: 0.12,
//!     latency_us: 14,
//! };
//! log.append(std::slice::from_ref(&record))?;
//! let contents = PredictionLog::read(log.dir())?;
//! assert_eq!(contents.records, [record]);
//! assert_eq!((contents.torn, contents.segments), (0, 1));
//! # Ok::<(), mlflow_serve::ServeError>(())
//! ```

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ServeError;

/// The folder of the store holding one prediction log per model.
const PREDICTIONS_DIR: &str = "predictions";
/// Segment files are `{SEGMENT_PREFIX}{sequence:06}{SEGMENT_SUFFIX}`.
const SEGMENT_PREFIX: &str = "predictions-";
const SEGMENT_SUFFIX: &str = ".mlog";
/// The file in a log's folder that the writing [`PredictionLog`] holds an exclusive lock on.
const LOCK_FILE: &str = "LOCK";
/// The default largest segment: 64 MiB.
const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// The first bytes of every segment.
const MAGIC: &[u8; 10] = b"MLFLOWLOG\0";
/// The prediction log segment format this code writes and reads: a little-endian `u32` after
/// the magic `MLFLOWLOG\0` at the start of every segment (see [`PredictionLog`]).
///
/// Version 2 tags each payload with its kind (a prediction, a request's raw rows, a failed
/// request); version 1 held predictions only, and is still read.
///
/// ```
/// assert_eq!(mlflow_serve::LOG_FORMAT_VERSION, 2);
/// ```
pub const LOG_FORMAT_VERSION: u32 = 2;
/// Bytes of a segment's header: [`MAGIC`] and the format version.
const HEADER_LEN: u64 = MAGIC.len() as u64 + 4;
/// Bytes before each record's payload: its length and its checksum, both little-endian `u32`.
const FRAME_HEADER: usize = 8;
/// Room reserved per record when encoding (a 13-feature record is about 170 bytes).
const RECORD_CAPACITY: usize = 192;
/// Largest encoding buffer a thread keeps between appends.
const KEPT_BUFFER: usize = 1 << 20;

/// Who produced a prediction.
///
/// Serialized in lowercase: `"champion"`, `"challenger"`, `"shadow"`.
///
/// ```
/// use mlflow_serve::Role;
/// assert_eq!(Role::Shadow.as_str(), "shadow");
/// assert_eq!(serde_json::to_string(&Role::Challenger).unwrap(), "\"challenger\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The production model, whose answer was returned.
    Champion,
    /// A canary or A/B challenger that answered the request instead of the champion.
    Challenger,
    /// A model scored on the request for comparison, whose answer was not returned.
    Shadow,
}

impl Role {
    /// The role's name as logged: `"champion"`, `"challenger"` or `"shadow"`.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::Role::Champion.as_str(), "champion");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Champion => "champion",
            Role::Challenger => "challenger",
            Role::Shadow => "shadow",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One logged prediction: one row of one request, scored by one model. A batch request logs one
/// record per row and per model that scored it (the answering model and each shadow).
///
/// ```
/// use mlflow_serve::{PredictionRecord, Role};
/// let record = PredictionRecord {
///     request_id: "req-7".into(),
///     row: 1,
///     time_ms: 1_700_000_000_000,
///     model: "titanic".into(),
///     version: 2,
///     role: Role::Shadow,
///     inputs: vec![1.0, 2.5],
///     label: 1,
///     probability: 0.93,
///     latency_us: 21,
/// };
/// let line = serde_json::to_string(&record).unwrap();
/// assert!(line.contains(r#""role":"shadow""#), "{line}");
/// assert_eq!(serde_json::from_str::<PredictionRecord>(&line).unwrap(), record);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// The request's id.
    pub request_id: String,
    /// The row's index inside the request (0-based; batches log one record per row).
    pub row: u32,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The registered model's name.
    pub model: String,
    /// The registered model's version.
    pub version: u32,
    /// Whether the model answered the request or only shadowed it.
    pub role: Role,
    /// The model's inputs, in signature order. (The log keeps a NaN or an infinity exactly; in
    /// JSON, which has neither, it is written as `null`, read back as NaN.)
    #[serde(deserialize_with = "nullable_f64s")]
    pub inputs: Vec<f64>,
    /// The predicted class index: 0 or 1 for a binary model, the argmax class for a multiclass
    /// model, 0 for a regressor (see [`Prediction`](crate::Prediction)). Logs written when this
    /// was a `u8` read unchanged: the encoding of values below 251 is the same.
    pub label: u32,
    /// P(class 1) for a binary model, P(label) for a multiclass model, the predicted value for a
    /// regressor.
    #[serde(deserialize_with = "nullable_f64")]
    pub probability: f64,
    /// How long this model took to score the request, in microseconds.
    pub latency_us: u64,
}

/// A [`PredictionRecord`] that borrows its strings and inputs, so a server can log a request's
/// rows without copying them; it is encoded exactly as the owned record and read back as one.
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionLog, PredictionRecordRef, Role};
/// let dir = tempfile::tempdir().unwrap();
/// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
/// let inputs = [3.0, 0.0, 22.0];
/// let record = PredictionRecordRef {
///     request_id: "req-1", row: 0, time_ms: 1_700_000_000_000, model: "titanic", version: 3,
///     role: Role::Champion, inputs: &inputs, label: 0, probability: 0.12, latency_us: 14,
/// };
/// log.append(&[record])?;
/// let back = PredictionLog::read(dir.path())?.records;
/// assert_eq!((back[0].request_id.as_str(), back[0].inputs.as_slice()), ("req-1", &inputs[..]));
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PredictionRecordRef<'a> {
    /// See [`PredictionRecord::request_id`].
    pub request_id: &'a str,
    /// See [`PredictionRecord::row`].
    pub row: u32,
    /// See [`PredictionRecord::time_ms`].
    pub time_ms: i64,
    /// See [`PredictionRecord::model`].
    pub model: &'a str,
    /// See [`PredictionRecord::version`].
    pub version: u32,
    /// See [`PredictionRecord::role`].
    pub role: Role,
    /// See [`PredictionRecord::inputs`].
    pub inputs: &'a [f64],
    /// See [`PredictionRecord::label`].
    pub label: u32,
    /// See [`PredictionRecord::probability`].
    pub probability: f64,
    /// See [`PredictionRecord::latency_us`].
    pub latency_us: u64,
}

/// What [`PredictionLog::append`] takes (sealed): predictions ([`PredictionRecord`],
/// [`PredictionRecordRef`]), a request's raw rows ([`RawRows`], [`RawRowsRef`]), failed requests
/// ([`RequestFailure`]), or any [`LogEntry`].
pub trait LogRecord: sealed::Sealed {}

impl LogRecord for PredictionRecord {}
impl LogRecord for PredictionRecordRef<'_> {}
impl LogRecord for RawRows {}
impl LogRecord for RawRowsRef<'_> {}
impl LogRecord for RequestFailure {}
impl LogRecord for LogEntry {}

mod sealed {
    use super::entry::EntryKind;
    use super::frame::encode_frame;
    use super::*;

    pub trait Sealed {
        /// Appends the entry to `buffer` as one frame.
        fn encode(&self, buffer: &mut Vec<u8>) -> io::Result<()>;
    }

    macro_rules! sealed {
        ($kind:ident: $($ty:ty),+) => {$(
            impl Sealed for $ty {
                fn encode(&self, buffer: &mut Vec<u8>) -> io::Result<()> {
                    encode_frame(buffer, EntryKind::$kind, self)
                }
            }
        )+};
    }
    sealed!(Prediction: PredictionRecord, PredictionRecordRef<'_>);
    sealed!(Raw: RawRows, RawRowsRef<'_>);
    sealed!(Failure: RequestFailure);

    impl Sealed for LogEntry {
        fn encode(&self, buffer: &mut Vec<u8>) -> io::Result<()> {
            match self {
                LogEntry::Prediction(record) => record.encode(buffer),
                LogEntry::Raw(raw) => raw.encode(buffer),
                LogEntry::Failure(failure) => failure.encode(buffer),
            }
        }
    }
}

/// JSON has no NaN or infinity: serde_json writes them as `null`, read back as NaN so that such a
/// record can be read back. Binary formats (the log's segments) keep every value's bits.
fn nullable_f64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    if deserializer.is_human_readable() {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    } else {
        f64::deserialize(deserializer)
    }
}

/// [`nullable_f64`] for each value of a list.
fn nullable_f64s<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    if deserializer.is_human_readable() {
        let values = Vec::<Option<f64>>::deserialize(deserializer)?;
        Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    } else {
        Vec::<f64>::deserialize(deserializer)
    }
}

/// When [`PredictionLog::append`] returns, what survives.
///
/// ```
/// use mlflow_serve::{Durability, LogOptions};
/// let options = LogOptions::default().durability(Durability::Sync);
/// # let _ = options;
/// assert_eq!(Durability::default(), Durability::Process);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Durability {
    /// The records were handed to the operating system: they survive a crash or a `SIGKILL` of
    /// the process, not a crash of the machine or a power loss. The default, and fast.
    #[default]
    Process,
    /// The records were also flushed to the disk (`fdatasync`) before `append` returns: they
    /// survive a power loss. Each append then waits for the disk; concurrent appends share one
    /// `fdatasync` (group commit), so many writers cost little more than one.
    Sync,
}

/// How a [`PredictionLog`] rotates and flushes: by default, segments of 64 MiB, all kept, with
/// [`Durability::Process`].
///
/// ```
/// use mlflow_serve::{Durability, LogOptions};
/// let options = LogOptions::default()
///     .max_segment_bytes(16 * 1024 * 1024)
///     .max_segments(10)
///     .durability(Durability::Sync);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct LogOptions {
    max_segment_bytes: u64,
    max_segments: Option<usize>,
    durability: Durability,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_segments: None,
            durability: Durability::Process,
        }
    }
}

impl LogOptions {
    /// Starts a new segment when an append would make the current one larger than `bytes`
    /// (default 64 MiB). An append is never split: one larger than `bytes` goes whole into one
    /// segment.
    ///
    /// ```
    /// let options = mlflow_serve::LogOptions::default().max_segment_bytes(1 << 20);
    /// # let _ = options;
    /// ```
    pub fn max_segment_bytes(mut self, bytes: u64) -> Self {
        self.max_segment_bytes = bytes;
        self
    }

    /// Keeps at most `n` segment files (at least 1): when a new segment is started, the oldest
    /// beyond the limit are deleted. By default all segments are kept. Segments are only deleted
    /// on rotation, never by [`PredictionLog::open`].
    ///
    /// ```
    /// let options = mlflow_serve::LogOptions::default().max_segments(8);
    /// # let _ = options;
    /// ```
    pub fn max_segments(mut self, n: usize) -> Self {
        self.max_segments = Some(n.max(1));
        self
    }

    /// What survives once an append returned (default [`Durability::Process`]).
    ///
    /// ```
    /// use mlflow_serve::{Durability, LogOptions};
    /// let options = LogOptions::default().durability(Durability::Sync);
    /// # let _ = options;
    /// ```
    pub fn durability(mut self, d: Durability) -> Self {
        self.durability = d;
        self
    }
}

/// Everything in a prediction log, as read by [`PredictionLog::read`]: the predictions, the raw
/// rows of the requests that carried them, and the failed requests, each oldest first.
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionLog};
/// let dir = tempfile::tempdir().unwrap();
/// PredictionLog::open(dir.path(), LogOptions::default())?;
/// let contents = PredictionLog::read(dir.path())?;
/// assert!(contents.records.is_empty());
/// assert_eq!((contents.torn, contents.segments), (0, 1));
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogContents {
    /// The records of all segments, oldest first, in the order they were appended.
    pub records: Vec<PredictionRecord>,
    /// The raw rows of requests that carried them (format 2), in the order they were appended.
    pub raw: Vec<RawRows>,
    /// The requests that failed (format 2), in the order they were appended.
    pub failures: Vec<RequestFailure>,
    /// Frames skipped because they are not a whole, intact record: a crash cut the last one of a
    /// segment while it was written, or the disk altered it (its checksum does not match).
    pub torn: usize,
    /// The number of segment files read.
    pub segments: usize,
}

pub(crate) mod entry;
pub(crate) mod folder;
pub(crate) mod frame;
mod reader;
mod writer;

pub use entry::{LogEntry, RawRows, RawRowsRef, RequestFailure};
pub use reader::{LogEntries, LogReader};
pub use writer::PredictionLog;

pub(super) fn not_a_folder() -> io::Error {
    io::Error::new(io::ErrorKind::NotADirectory, "it is a file, not a folder")
}

pub(super) fn log_error(action: &'static str, path: &Path, source: io::Error) -> ServeError {
    ServeError::Log { action, path: path.to_path_buf(), source }
}

/// What to do about a failed prediction log operation, for [`ServeError::Log`]'s message.
pub(crate) fn log_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists | io::ErrorKind::IsADirectory => {
            "move the file in the way or choose another folder for the prediction log"
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "make the folder writable by this user or choose another folder for the prediction log"
        }
        io::ErrorKind::NotFound => {
            "check the path (a model's log is `<store>/predictions/<model>`, created when it is opened)"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge => {
            "free disk space, or keep fewer segments with `LogOptions::max_segments`"
        }
        io::ErrorKind::WouldBlock => {
            "give each server its own store, stop the other one, or serve with --no-log"
        }
        io::ErrorKind::InvalidData => {
            "read it with the newer mlflow that wrote it, or move it out of the log's folder (a new segment is then started)"
        }
        _ => "check the folder and the disk, then retry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlflow_core::store::Store;

    #[test]
    fn dir_in_stays_inside_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let base = dir.path().join(PREDICTIONS_DIR);
        assert_eq!(PredictionLog::dir_in(&store, "a.b-c_1"), base.join("a.b-c_1"));
        assert_eq!(PredictionLog::dir_in(&store, "../etc"), base.join(".._etc"));
        assert_eq!(PredictionLog::dir_in(&store, ".."), base.join("_.."));
        assert_eq!(PredictionLog::dir_in(&store, ""), base.join("_"));
    }

    #[test]
    fn non_finite_values_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
        let record = PredictionRecord {
            request_id: "r".into(),
            row: 0,
            time_ms: -5,
            model: "m".into(),
            version: 1,
            role: Role::Champion,
            inputs: vec![f64::NAN, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE / 2.0],
            label: 0,
            probability: 0.5,
            latency_us: 1,
        };
        log.append(&[record.clone(), PredictionRecord { probability: f64::INFINITY, ..record.clone() }])
            .unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!((contents.records.len(), contents.torn), (2, 0));
        let bits = |r: &PredictionRecord| r.inputs.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&contents.records[0]), bits(&record));
        assert_eq!(contents.records[1].probability, f64::INFINITY);
        assert_eq!(contents.records[1].time_ms, -5);
        // JSON has neither: `null`, read back as NaN.
        let json = serde_json::to_string(&contents.records[1]).unwrap();
        let back: PredictionRecord = serde_json::from_str(&json).unwrap();
        assert!(back.probability.is_nan() && back.inputs[0].is_nan(), "{json}");
    }
}
