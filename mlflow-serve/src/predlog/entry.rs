//! What a log holds besides predictions (format 2): the raw rows a request carried, for replaying
//! the package's transformers (training-serving skew), and the requests that failed, for the
//! error rate and timeouts of a window.

use serde::{Deserialize, Serialize};

use super::PredictionRecord;
use mlflow_ml::data::Table;

/// The raw rows of one request, logged once per request before its predictions: the rows the
/// server featurized with the package's transformers (`"raw": true`), or the rows a client sent
/// beside the features it computed itself (`"raw_instances"`). Row `i` of `table` is row `i` of
/// the request: its predictions have the same `request_id` and `row`.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_serve::{LogEntry, LogOptions, PredictionLog, RawRows};
/// let dir = tempfile::tempdir().unwrap();
/// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
/// let table = Table::new(vec![("Sex".into(), Column::Str(vec![Some("female".into())]))]).unwrap();
/// let raw = RawRows { request_id: "req-1".into(), time_ms: 5, model: "titanic".into(), table };
/// log.append(std::slice::from_ref(&raw))?;
/// let contents = PredictionLog::read(dir.path())?;
/// assert_eq!((contents.records.len(), contents.raw), (0, vec![raw]));
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRows {
    /// The request's id.
    pub request_id: String,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The registered model's name.
    pub model: String,
    /// The rows, as the server parsed them (a column per name, text or numbers).
    pub table: Table,
}

/// [`RawRows`] borrowing its strings and table, so a server logs a request's raw rows without
/// copying them; encoded exactly as the owned entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RawRowsRef<'a> {
    /// See [`RawRows::request_id`].
    pub request_id: &'a str,
    /// See [`RawRows::time_ms`].
    pub time_ms: i64,
    /// See [`RawRows::model`].
    pub model: &'a str,
    /// See [`RawRows::table`].
    pub table: &'a Table,
}

/// A scoring request the server refused or could not answer: a malformed body, rows that do not
/// fit the signature, a body that timed out, an internal error. Counted against the version
/// serving as champion when it arrived (a request can fail before it is routed).
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionLog, RequestFailure};
/// let dir = tempfile::tempdir().unwrap();
/// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
/// let failure = RequestFailure {
///     request_id: "req-9".into(), time_ms: 7, model: "titanic".into(), version: 2,
///     status: 408, code: "request_timeout".into(), latency_us: 30_000_000,
/// };
/// assert!(failure.timed_out());
/// log.append(std::slice::from_ref(&failure))?;
/// assert_eq!(PredictionLog::read(dir.path())?.failures, [failure]);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFailure {
    /// The request's id (the client's `x-request-id`, else one the server made).
    pub request_id: String,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// The registered model's name.
    pub model: String,
    /// The version serving as champion when the request arrived.
    pub version: u32,
    /// The HTTP status answered (4xx: the client's mistake; 5xx: the server's).
    pub status: u16,
    /// The error code of the answer's body (`feature_count`, `request_timeout`, ...).
    pub code: String,
    /// From arrival to the answer, in microseconds.
    pub latency_us: u64,
}

impl RequestFailure {
    /// Whether the request timed out (HTTP 408: its body did not arrive in time).
    ///
    /// ```
    /// # let f = mlflow_serve::RequestFailure { request_id: "r".into(), time_ms: 0, model: "m".into(),
    /// #     version: 1, status: 400, code: "feature_count".into(), latency_us: 1 };
    /// assert!(!f.timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.status == 408
    }
}

/// One entry of a prediction log: see [`PredictionLog::entries`](crate::PredictionLog::entries).
#[derive(Debug, Clone, PartialEq)]
pub enum LogEntry {
    /// A prediction.
    Prediction(PredictionRecord),
    /// A request's raw rows.
    Raw(RawRows),
    /// A failed request.
    Failure(RequestFailure),
}

/// The tag byte before each format-2 payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Prediction = 0,
    Raw = 1,
    Failure = 2,
}

impl EntryKind {
    pub(crate) fn of_tag(tag: u8) -> Option<EntryKind> {
        match tag {
            0 => Some(EntryKind::Prediction),
            1 => Some(EntryKind::Raw),
            2 => Some(EntryKind::Failure),
            _ => None,
        }
    }
}
