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

use std::cell::Cell;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::ServeError;
use mlflow_core::store::Store;

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
/// ```
/// assert_eq!(mlflow_serve::LOG_FORMAT_VERSION, 1);
/// ```
pub const LOG_FORMAT_VERSION: u32 = 1;
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
    /// The predicted label, 0 or 1.
    pub label: u8,
    /// The predicted P(class 1).
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
    pub label: u8,
    /// See [`PredictionRecord::probability`].
    pub probability: f64,
    /// See [`PredictionRecord::latency_us`].
    pub latency_us: u64,
}

/// What [`PredictionLog::append`] takes: [`PredictionRecord`] or [`PredictionRecordRef`] (sealed).
pub trait LogRecord: Serialize + sealed::Sealed {}

impl LogRecord for PredictionRecord {}
impl LogRecord for PredictionRecordRef<'_> {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::PredictionRecord {}
    impl Sealed for super::PredictionRecordRef<'_> {}
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

/// Everything in a prediction log, as read by [`PredictionLog::read`].
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
    /// Frames skipped because they are not a whole, intact record: a crash cut the last one of a
    /// segment while it was written, or the disk altered it (its checksum does not match).
    pub torn: usize,
    /// The number of segment files read.
    pub segments: usize,
}

/// The segment being appended to.
#[derive(Debug)]
struct Segment {
    /// Shared with a group commit's `fdatasync`, which runs outside the segment lock.
    file: Arc<File>,
    path: PathBuf,
    sequence: u64,
    /// Bytes in the file (what was there when opened plus what this log appended).
    size: u64,
    /// Bytes this log appended, across segments: the position a group commit syncs through.
    appended: u64,
    /// A failed write left a partial frame that could not be cut off: the next append starts a
    /// new segment, so that its records stay readable.
    broken: bool,
}

/// Group commit state: bytes known to be on the disk, and whether a caller is syncing now.
#[derive(Debug, Default)]
struct SyncState {
    synced: u64,
    syncing: bool,
}

/// An append-only, size-rotated log of predictions in a folder.
///
/// # Format
///
/// A log is a folder (by default `<store>/predictions/<model>`, see [`dir_in`](Self::dir_in)) of
/// segment files `predictions-000001.mlog`, `predictions-000002.mlog`, ... Records are appended
/// to the highest segment; when the next append would make it larger than
/// [`LogOptions::max_segment_bytes`], a new segment is started, and with
/// [`LogOptions::max_segments`] the oldest segments beyond the limit are deleted. The folder
/// also holds an empty file `LOCK` (see [Sharing](Self#sharing)); other files in the folder are
/// ignored.
///
/// A segment is binary, all integers little-endian:
///
/// | bytes | what |
/// |---|---|
/// | 10 | magic `MLFLOWLOG\0` |
/// | 4 | format version, `u32` ([`LOG_FORMAT_VERSION`], 1) |
/// | then, per record: | |
/// | 4 | payload length `n`, `u32` |
/// | 4 | checksum, `u32`: CRC-32 (IEEE, as zlib's `crc32`) of the 4 length bytes then the payload |
/// | `n` | payload: the [`PredictionRecord`] encoded with bincode 2 (serde, standard configuration, as [`mlflow_core::codec::encode`]) |
///
/// Floats are stored as their bits, so NaN and infinities round-trip exactly. To read a log
/// from a shell, `mlflow-pipelines predictions MODEL` prints the newest records as a table, or with
/// `--json` one JSON object per line (`mlflow-pipelines predictions titanic --json | jq`). A segment of a
/// newer format version is refused by [`read`](Self::read) and [`open`](Self::open), naming the
/// file, rather than misread.
///
/// # Crash safety
///
/// [`append`](Self::append) encodes all its records into one buffer and hands it to the
/// operating system in one write on a file opened for appending, under a lock: appends from
/// several threads never interleave, and when `append` returns the records are in the file
/// (with [`Durability::Process`], they survive the process being killed, even with `SIGKILL`;
/// with [`Durability::Sync`] they are also flushed to the disk, surviving a power loss).
///
/// A crash in the middle of a write can at worst leave a partial last frame. [`read`](Self::read)
/// stops reading a segment at the first frame that is cut short or fails its checksum, counts
/// it in [`LogContents::torn`], and goes on with the next segment: a torn tail never makes a read
/// fail.
///
/// [`open`](Self::open) never cuts or rewrites a record: when the last segment does not end
/// cleanly after a whole frame (a torn or damaged frame, a length pointing past the end of the
/// file, zeros as a power loss can leave), it is left exactly as it is and new records go to a
/// new segment. Readers stop that segment at its first bad frame and go on with the next one, so
/// every frame that was written whole (every acknowledged record) before the damage is still
/// read, and none is ever lost or altered; only frames after a damaged one in the same segment
/// are skipped. A segment shorter than its header (a crash right after it was created) reads as
/// empty, and [`open`](Self::open) rewrites its header, as it holds no record.
///
/// # Sharing
///
/// `Send + Sync`: share one through an `Arc` between the threads of a server; concurrent appends
/// are serialized and never interleave. One log folder is written by one [`PredictionLog`] at a
/// time: [`open`](Self::open) takes an exclusive lock on the folder's `LOCK` file, held until the
/// log is dropped (or the process ends, even killed), and fails while another process, or
/// another `PredictionLog` of this process, holds it. Reading needs no lock: other processes may
/// read a log while it is written (the frame being written may then read as torn).
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord, Role};
/// use std::sync::Arc;
/// let dir = tempfile::tempdir().unwrap();
/// let log = Arc::new(PredictionLog::open(dir.path(), LogOptions::default())?);
/// let record = |i: u32| PredictionRecord {
///     request_id: format!("req-{i}"),
///     row: 0,
///     time_ms: 0,
///     model: "m".into(),
///     version: 1,
///     role: Role::Champion,
///     inputs: vec![f64::from(i)],
///     label: 1,
///     probability: 0.75,
///     latency_us: 9,
/// };
/// let threads: Vec<_> = (0..2u32)
///     .map(|t| {
///         let log = Arc::clone(&log);
///         std::thread::spawn(move || log.append(&[record(t)]))
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap()?;
/// }
/// assert_eq!(PredictionLog::read(dir.path())?.records.len(), 2);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug)]
pub struct PredictionLog {
    dir: PathBuf,
    options: LogOptions,
    segment: Mutex<Segment>,
    /// With [`Durability::Sync`]: how far appends are on the disk, and whether a sync runs.
    synced: Mutex<SyncState>,
    sync_done: Condvar,
    /// The folder's `LOCK` file, locked exclusively for the log's lifetime (released on drop).
    _lock: Option<File>,
}

impl PredictionLog {
    /// Opens the log in `dir` for appending, creating the folder (and its parents) if needed,
    /// and continues the highest segment. When that segment does not end with a whole frame (a
    /// crash cut its last one, or the disk damaged it), it is left as it is and new records go
    /// to a new segment (see [Crash safety](Self#crash-safety)).
    ///
    /// Takes an exclusive lock on the folder's `LOCK` file until the log is dropped: a log
    /// folder has one writer at a time (see [Sharing](Self#sharing)).
    ///
    /// Fails with [`ServeError::Log`] when the folder cannot be created or written (a file is in
    /// its place, it is read-only, ...), when another process or another `PredictionLog` of this
    /// process has it open, or when its highest segment is not a segment this version can
    /// append to (a newer format version).
    ///
    /// ```
    /// use mlflow_serve::{LogOptions, PredictionLog, ServeError};
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = dir.path().join("not-a-folder");
    /// std::fs::write(&file, "x").unwrap();
    /// let err = PredictionLog::open(&file, LogOptions::default()).unwrap_err();
    /// assert!(matches!(err, ServeError::Log { .. }));
    /// assert!(err.to_string().contains("not-a-folder"), "{err}");
    ///
    /// // One writer at a time; readers need no lock.
    /// let log = PredictionLog::open(dir.path().join("titanic"), LogOptions::default())?;
    /// let err = PredictionLog::open(log.dir(), LogOptions::default()).unwrap_err();
    /// assert!(err.to_string().contains("another process"), "{err}");
    /// assert!(PredictionLog::read(log.dir())?.records.is_empty());
    /// drop(log);
    /// PredictionLog::open(dir.path().join("titanic"), LogOptions::default())?;
    /// # Ok::<(), ServeError>(())
    /// ```
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> Result<PredictionLog, ServeError> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(log_error("create the folder of", &dir, not_a_folder()));
        }
        fs::create_dir_all(&dir).map_err(|e| log_error("create the folder of", &dir, e))?;
        let lock = lock_folder(&dir)?;
        let mut sequence = segments(&dir)?.last().map_or(1, |&(sequence, _)| sequence);
        let segment = loop {
            match open_segment(&dir, sequence)? {
                Some(segment) => break segment,
                None => sequence += 1,
            }
        };
        Ok(PredictionLog {
            dir,
            options,
            segment: Mutex::new(segment),
            synced: Mutex::default(),
            sync_done: Condvar::new(),
            _lock: lock,
        })
    }

    /// Where the log of the model named `model` lives in a store: `<store root>/predictions/<model>`.
    ///
    /// Characters other than letters, digits, `_`, `.` and `-` (never in a registered model's
    /// name) are replaced by `_`, and a name of only dots is prefixed with `_`, so the folder
    /// always is inside `<store root>/predictions`.
    ///
    /// ```
    /// use mlflow_serve::PredictionLog;
    /// use mlflow_core::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// assert_eq!(PredictionLog::dir_in(&store, "titanic"), dir.path().join("predictions").join("titanic"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dir_in(store: &Store, model: &str) -> PathBuf {
        let mut name: String = model
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '_' })
            .collect();
        if name.chars().all(|c| c == '.') {
            name.insert(0, '_');
        }
        store.root().join(PREDICTIONS_DIR).join(name)
    }

    /// Appends `records`, in order, in one write: concurrent appends never interleave. Returns
    /// once the records are written as the [`Durability`] option says; an acknowledged record
    /// survives a crash of the process. Appending no records does nothing.
    ///
    /// Starts a new segment first when the current one holds records and these would make it
    /// larger than [`LogOptions::max_segment_bytes`]. Takes owned [`PredictionRecord`]s or
    /// borrowed [`PredictionRecordRef`]s.
    ///
    /// ```
    /// use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// log.append::<PredictionRecord>(&[])?;
    /// assert!(PredictionLog::read(dir.path())?.records.is_empty());
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn append<R: LogRecord>(&self, records: &[R]) -> Result<(), ServeError> {
        if records.is_empty() {
            return Ok(());
        }
        // Encoded outside the lock, into this thread's buffer: threads only wait for each
        // other's write, and a steady stream of appends allocates nothing.
        let mut buffer = BUFFER.try_with(Cell::take).unwrap_or_default();
        buffer.clear();
        buffer.reserve(RECORD_CAPACITY * records.len());
        let result = records
            .iter()
            .try_for_each(|record| encode_frame(&mut buffer, record))
            .map_err(|e| log_error("encode a record for", &self.dir, e))
            .and_then(|()| self.write(&buffer));
        if buffer.capacity() <= KEPT_BUFFER {
            let _ = BUFFER.try_with(|kept| kept.set(buffer));
        }
        result
    }

    /// Writes encoded frames to the current segment, rotating first if needed.
    fn write(&self, frames: &[u8]) -> Result<(), ServeError> {
        let through = {
            let mut segment = self.lock();
            let new_bytes = frames.len() as u64;
            if segment.broken
                || (segment.size > HEADER_LEN
                    && segment.size.saturating_add(new_bytes) > self.options.max_segment_bytes)
            {
                self.rotate(&mut segment)?;
            }
            if let Err(e) = (&*segment.file).write_all(frames) {
                // Part of the frames may be in the file: cut them off, or if that fails too, leave
                // this segment so that later records are not stuck behind a partial frame.
                let size = segment.size;
                if segment.file.set_len(size).is_err() {
                    segment.broken = true;
                }
                return Err(log_error("append to", &segment.path, e));
            }
            segment.size += new_bytes;
            segment.appended += new_bytes;
            segment.appended
        };
        if self.options.durability == Durability::Sync {
            self.sync_through(through)?;
        }
        Ok(())
    }

    /// Returns once the first `through` appended bytes are on the disk. Group commit: one
    /// caller syncs for everyone who appended before it started; the others wait for it, so
    /// concurrent appends share `fdatasync`s instead of queueing for one each.
    fn sync_through(&self, through: u64) -> Result<(), ServeError> {
        let mut state = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.synced >= through {
                return Ok(());
            }
            if !state.syncing {
                break;
            }
            state = self.sync_done.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.syncing = true;
        drop(state);
        // Everything appended so far is in this file or in older segments, which `rotate`
        // synced before moving on.
        let (target, file, path) = {
            let segment = self.lock();
            (segment.appended, Arc::clone(&segment.file), segment.path.clone())
        };
        let result = file.sync_data();
        let mut state = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        state.syncing = false;
        if result.is_ok() {
            state.synced = state.synced.max(target);
        }
        drop(state);
        self.sync_done.notify_all();
        result.map_err(|e| log_error("flush to the disk", &path, e))
    }

    /// How appends reach the disk (see [`LogOptions::durability`]).
    ///
    /// ```
    /// use mlflow_serve::{Durability, LogOptions, PredictionLog};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default().durability(Durability::Sync))?;
    /// assert_eq!(log.durability(), Durability::Sync);
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn durability(&self) -> Durability {
        self.options.durability
    }

    /// The log's folder.
    ///
    /// ```
    /// use mlflow_serve::{LogOptions, PredictionLog};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// assert_eq!(log.dir(), dir.path());
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every record of the log in `dir`, all segments oldest first, into memory (see
    /// [`records`](Self::records) to stream them). Frames that are not a whole, intact record
    /// are skipped and counted in [`LogContents::torn`]; they never make the read fail.
    ///
    /// Fails when `dir` is not a readable folder, or when a segment is not in a format this
    /// version reads (a newer format version): the error names the file.
    ///
    /// ```
    /// use mlflow_serve::{PredictionLog, ServeError};
    /// let err = PredictionLog::read("/no/such/prediction/log").unwrap_err();
    /// assert!(matches!(err, ServeError::Log { .. }));
    /// assert!(err.to_string().contains("/no/such/prediction/log"), "{err}");
    /// ```
    pub fn read(dir: impl AsRef<Path>) -> Result<LogContents, ServeError> {
        let mut reader = PredictionLog::records(dir)?;
        let records = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
        Ok(LogContents { records, torn: reader.torn(), segments: reader.segments() })
    }

    /// Streams the records of the log in `dir`, all segments oldest first, one frame at a time
    /// (memory does not grow with the log). Torn frames are skipped as by [`read`](Self::read)
    /// and counted in [`LogReader::torn`].
    ///
    /// Fails when `dir` is not a readable folder; the iterator yields an error for a segment
    /// that cannot be read or is in a newer format, and then goes on with the next segment.
    ///
    /// ```
    /// use mlflow_serve::{LogOptions, PredictionLog, PredictionRecord, Role};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// let record = |row| PredictionRecord {
    ///     request_id: "req-1".into(),
    ///     row,
    ///     time_ms: 0,
    ///     model: "m".into(),
    ///     version: 1,
    ///     role: Role::Shadow,
    ///     inputs: vec![f64::NAN],
    ///     label: 1,
    ///     probability: 0.5,
    ///     latency_us: 3,
    /// };
    /// log.append(&[record(0), record(1)])?;
    /// let mut reader = PredictionLog::records(dir.path())?;
    /// let rows: Vec<u32> = reader.by_ref().map(|r| r.map(|r| r.row)).collect::<Result<_, _>>()?;
    /// assert_eq!(rows, [0, 1]);
    /// assert_eq!((reader.torn(), reader.segments()), (0, 1));
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn records(dir: impl AsRef<Path>) -> Result<LogReader, ServeError> {
        Ok(LogReader::new(PredictionLog::segment_files(dir)?))
    }

    /// The segment files of the log in `dir`, oldest first (other files are left out). With
    /// [`LogReader::new`], reads some segments only, e.g. the newest.
    ///
    /// ```
    /// use mlflow_serve::{LogOptions, PredictionLog};
    /// let dir = tempfile::tempdir().unwrap();
    /// PredictionLog::open(dir.path(), LogOptions::default())?;
    /// let files = PredictionLog::segment_files(dir.path())?;
    /// assert_eq!(files, [dir.path().join("predictions-000001.mlog")]);
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn segment_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, ServeError> {
        let dir = dir.as_ref();
        if dir.exists() && !dir.is_dir() {
            return Err(log_error("read", dir, not_a_folder()));
        }
        Ok(segments(dir)?.into_iter().map(|(_, path)| path).collect())
    }

    fn lock(&self) -> MutexGuard<'_, Segment> {
        // The segment stays consistent even if a thread panicked holding the lock: its size and
        // `broken` flag are only updated after the write they describe.
        self.segment.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves to the next segment and deletes the oldest beyond `max_segments`.
    fn rotate(&self, segment: &mut Segment) -> Result<(), ServeError> {
        let mut sequence = segment.sequence + 1;
        let next = loop {
            match open_segment(&self.dir, sequence)? {
                Some(next) => break next,
                None => sequence += 1,
            }
        };
        if self.options.durability == Durability::Sync {
            // A group commit syncs only the current segment: the old one is synced here.
            segment.file.sync_data().map_err(|e| log_error("flush to the disk", &segment.path, e))?;
        }
        #[cfg(unix)]
        if self.options.durability == Durability::Sync {
            // The new file's name must survive a power loss too.
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| log_error("flush to the disk", &self.dir, e))?;
        }
        let appended = segment.appended;
        *segment = Segment { appended, ..next };
        if let Some(keep) = self.options.max_segments {
            delete_oldest(&self.dir, keep, segment.sequence);
        }
        Ok(())
    }
}

thread_local! {
    /// Each thread's encoding buffer, kept between appends.
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Appends `record` to `buffer` as one frame: length, checksum, payload.
fn encode_frame(buffer: &mut Vec<u8>, record: &impl Serialize) -> io::Result<()> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; FRAME_HEADER]);
    bincode::serde::encode_into_writer(record, VecWriter(buffer), bincode::config::standard())
        .map_err(io::Error::other)?;
    let payload_len = buffer.len() - start - FRAME_HEADER;
    let len = u32::try_from(payload_len)
        .map_err(|_| io::Error::other(format!("a record of {payload_len} bytes is too large to log")))?;
    buffer[start..start + 4].copy_from_slice(&len.to_le_bytes());
    let checksum = frame_checksum(len.to_le_bytes(), &buffer[start + FRAME_HEADER..]);
    buffer[start + 4..start + FRAME_HEADER].copy_from_slice(&checksum.to_le_bytes());
    Ok(())
}

/// A bincode writer appending to a `Vec`.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for VecWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Decodes a frame's payload; `None` when it is not one whole record. Through the artifact
/// decoder, so that a length inside a damaged or foreign payload never reserves more memory
/// than the payload holds.
fn decode_record(payload: &[u8]) -> Option<PredictionRecord> {
    mlflow_core::codec::decode(payload, u64::MAX).ok()
}

/// The checksum of a frame: CRC-32 (IEEE) of its length bytes, then its payload.
fn frame_checksum(len: [u8; 4], payload: &[u8]) -> u32 {
    !crc32_update(crc32_update(!0, &len), payload)
}

/// Tables of the CRC-32 (IEEE, reflected polynomial `0xEDB88320`), sliced by 8.
static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut slice = 1;
        while slice < 8 {
            let previous = tables[slice - 1][i];
            tables[slice][i] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            slice += 1;
        }
        i += 1;
    }
    tables
}

/// Continues a CRC-32 (the state is the inverted CRC) over `bytes`, eight at a time.
fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let lo = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ crc;
        let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &byte in chunks.remainder() {
        crc = t[0][((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// What the next frame of a segment is.
enum Frame {
    /// A whole frame whose checksum matches; its payload is in the buffer.
    Whole,
    /// The end of the segment, after a whole frame.
    End,
    /// A frame cut short by the end of the segment.
    Short,
    /// A frame whose checksum does not match.
    Damaged,
}

/// Reads the frames of one segment, from just after its header.
struct SegmentReader {
    reader: BufReader<File>,
    path: PathBuf,
    /// Where the next frame starts.
    offset: u64,
    /// The segment's size when opened: a frame being appended meanwhile is not waited for.
    len: u64,
}

impl SegmentReader {
    /// Opens a segment and checks its header; `None` when it does not exist (any more).
    fn open(path: &Path) -> Result<Option<SegmentReader>, ServeError> {
        let file = match File::open(path) {
            Ok(file) => file,
            // Deleted by a rotation since the folder was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(log_error("read", path, e)),
        };
        let len = file.metadata().map_err(|e| log_error("read", path, e))?.len();
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        if len < HEADER_LEN {
            // A torn header: the segment was created and nothing more.
            return Ok(Some(SegmentReader { reader, path: path.to_owned(), offset: len, len }));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        reader.read_exact(&mut header).map_err(|e| log_error("read", path, e))?;
        check_header(&header).map_err(|e| log_error("read", path, e))?;
        Ok(Some(SegmentReader { reader, path: path.to_owned(), offset: HEADER_LEN, len }))
    }

    /// Reads the next frame, its payload into `payload`. Stops (returns `End`, `Short` or
    /// `Damaged`) at the end of the segment or at the first frame that is not whole.
    fn next_frame(&mut self, payload: &mut Vec<u8>) -> Result<Frame, ServeError> {
        let left = self.len - self.offset;
        if left == 0 {
            return Ok(Frame::End);
        }
        if left < FRAME_HEADER as u64 {
            return Ok(Frame::Short);
        }
        let mut header = [0u8; FRAME_HEADER];
        if !self.fill(&mut header)? {
            return Ok(Frame::Short);
        }
        let [l0, l1, l2, l3, c0, c1, c2, c3] = header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        let frame_len = FRAME_HEADER as u64 + u64::from(len);
        if frame_len > left {
            return Ok(Frame::Short);
        }
        payload.resize(len as usize, 0);
        if !self.fill(payload)? {
            return Ok(Frame::Short);
        }
        self.offset += frame_len;
        if frame_checksum([l0, l1, l2, l3], payload) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Ok(Frame::Damaged);
        }
        Ok(Frame::Whole)
    }

    /// Fills `buf`; `false` when the file ends first (it was cut meanwhile).
    fn fill(&mut self, buf: &mut [u8]) -> Result<bool, ServeError> {
        match self.reader.read_exact(buf) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(log_error("read", &self.path, e)),
        }
    }
}

/// Checks a segment's header: the magic and a format version this code reads.
fn check_header(header: &[u8; HEADER_LEN as usize]) -> io::Result<()> {
    let (magic, version) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not a prediction log segment (it does not start with `MLFLOWLOG`)",
        ));
    }
    let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
    if version != LOG_FORMAT_VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the segment is in format version {version}, and this mlflow reads version {LOG_FORMAT_VERSION} only"
            ),
        ));
    }
    Ok(())
}

/// Streams the records of prediction log segments, oldest first: see
/// [`PredictionLog::records`].
///
/// ```
/// use mlflow_serve::{LogOptions, LogReader, PredictionLog};
/// let dir = tempfile::tempdir().unwrap();
/// PredictionLog::open(dir.path(), LogOptions::default())?;
/// // The newest segment only.
/// let newest = PredictionLog::segment_files(dir.path())?.pop();
/// let mut reader = LogReader::new(newest);
/// assert!(reader.next().is_none());
/// assert_eq!(reader.segments(), 1);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
pub struct LogReader {
    paths: std::vec::IntoIter<PathBuf>,
    current: Option<SegmentReader>,
    payload: Vec<u8>,
    torn: usize,
    segments: usize,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("current", &self.current.as_ref().map(|s| &s.path))
            .field("torn", &self.torn)
            .field("segments", &self.segments)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    /// Reads these segment files in this order (see [`PredictionLog::segment_files`]). A file
    /// that no longer exists (deleted by a rotation) is skipped.
    ///
    /// ```
    /// let mut reader = mlflow_serve::LogReader::new(["/no/such/predictions-000001.mlog".into()]);
    /// assert!(reader.next().is_none());
    /// assert_eq!(reader.segments(), 0);
    /// ```
    pub fn new(segments: impl IntoIterator<Item = PathBuf>) -> LogReader {
        LogReader {
            paths: segments.into_iter().collect::<Vec<_>>().into_iter(),
            current: None,
            payload: Vec::new(),
            torn: 0,
            segments: 0,
        }
    }

    /// Frames skipped so far because they are not a whole, intact record (see
    /// [`LogContents::torn`]).
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).torn(), 0);
    /// ```
    pub fn torn(&self) -> usize {
        self.torn
    }

    /// Segment files opened so far.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).segments(), 0);
    /// ```
    pub fn segments(&self) -> usize {
        self.segments
    }
}

impl Iterator for LogReader {
    type Item = Result<PredictionRecord, ServeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let Some(segment) = &mut self.current else {
                let path = self.paths.next()?;
                match SegmentReader::open(&path) {
                    Ok(Some(segment)) => {
                        self.segments += 1;
                        self.current = Some(segment);
                    }
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            match segment.next_frame(&mut self.payload) {
                Ok(Frame::Whole) => match decode_record(&self.payload) {
                    Some(record) => return Some(Ok(record)),
                    // Intact but not a record (not written by this code): skip that frame only.
                    None => self.torn += 1,
                },
                Ok(Frame::End) => self.current = None,
                Ok(Frame::Short | Frame::Damaged) => {
                    self.torn += 1;
                    self.current = None;
                }
                Err(e) => {
                    self.current = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Deletes the oldest segments in `dir` beyond `keep`, never `current`. Best effort: the
/// records are safe either way, and a segment left over is deleted on the next rotation.
fn delete_oldest(dir: &Path, keep: usize, current: u64) {
    let all = match segments(dir) {
        Ok(all) => all,
        Err(error) => {
            tracing::warn!(target: "mlflow", %error, "cannot list the prediction log segments to delete");
            return;
        }
    };
    let excess = all.len().saturating_sub(keep);
    for (sequence, path) in all.into_iter().take(excess) {
        if sequence == current {
            break;
        }
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                let path = path.display();
                tracing::warn!(target: "mlflow", %path, %error, "cannot delete an old prediction segment");
            }
            _ => {}
        }
    }
}

/// The segment file with this sequence number in `dir`.
fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{sequence:06}{SEGMENT_SUFFIX}"))
}

/// The sequence number of a segment file's name.
fn segment_sequence(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(SEGMENT_PREFIX)?.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segment files in `dir`, by sequence number (other files are ignored).
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ServeError> {
    let entries = fs::read_dir(dir).map_err(|e| log_error("list the segments of", dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| log_error("list the segments of", dir, e))?;
        if let Some(sequence) = entry.file_name().to_str().and_then(segment_sequence)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            found.push((sequence, entry.path()));
        }
    }
    found.sort_unstable_by_key(|&(sequence, _)| sequence);
    Ok(found)
}

/// Takes the exclusive lock of the log in `dir` (see [Sharing](PredictionLog#sharing)); `None`
/// when the file system cannot lock files (then nothing keeps a second writer out).
fn lock_folder(dir: &Path) -> Result<Option<File>, ServeError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| log_error("create the lock file of", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Err(log_error(
            "open",
            dir,
            io::Error::new(
                io::ErrorKind::WouldBlock,
                "another process (or another PredictionLog in this process) is writing to it",
            ),
        )),
        Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
            let path = path.display();
            tracing::warn!(target: "mlflow", %path, error = %e, "cannot lock the prediction log: make sure no other server writes to it");
            Ok(None)
        }
        Err(TryLockError::Error(e)) => Err(log_error("lock", &path, e)),
    }
}

/// Opens (creating if needed, with its header) a segment for appending. `None` when the segment
/// does not end cleanly after a whole frame (a torn or damaged frame, or zeros): it is left
/// exactly as it is, and records go to the next one.
fn open_segment(dir: &Path, sequence: u64) -> Result<Option<Segment>, ServeError> {
    let path = segment_path(dir, sequence);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| log_error("open", &path, e))?;
    let mut size = file.metadata().map_err(|e| log_error("open", &path, e))?.len();
    if size < HEADER_LEN {
        // New, or a torn header (which holds no record): start it over.
        if size > 0 {
            file.set_len(0).map_err(|e| log_error("repair the header of", &path, e))?;
        }
        let mut header = [0u8; HEADER_LEN as usize];
        header[..MAGIC.len()].copy_from_slice(MAGIC);
        header[MAGIC.len()..].copy_from_slice(&LOG_FORMAT_VERSION.to_le_bytes());
        file.write_all(&header).map_err(|e| log_error("write the header of", &path, e))?;
        size = HEADER_LEN;
    } else {
        let Some(mut reader) = SegmentReader::open(&path).map_err(|e| match e {
            ServeError::Log { source, .. } => log_error("open", &path, source),
            other => other,
        })?
        else {
            return Err(log_error("open", &path, io::ErrorKind::NotFound.into()));
        };
        let mut payload = Vec::new();
        loop {
            let start = reader.offset;
            match reader.next_frame(&mut payload)? {
                Frame::Whole => {}
                Frame::End => break,
                Frame::Short | Frame::Damaged => {
                    // Never cut: a damaged length can make whole frames after it look like a
                    // torn tail. Readers stop this segment here and go on with the next one.
                    let path = path.display();
                    tracing::warn!(target: "mlflow", %path, offset = start, bytes = size.saturating_sub(start), "a prediction log segment does not end with a whole frame: left as it is, appending to a new segment");
                    return Ok(None);
                }
            }
        }
    }
    Ok(Some(Segment { file: Arc::new(file), path, sequence, size, appended: 0, broken: false }))
}

fn not_a_folder() -> io::Error {
    io::Error::new(io::ErrorKind::NotADirectory, "it is a file, not a folder")
}

fn log_error(action: &'static str, path: &Path, source: io::Error) -> ServeError {
    ServeError::Log { action, path: path.to_path_buf(), source }
}

/// What to do about a failed prediction log operation, for [`ServeError::Log`]'s message.
pub(super) fn log_hint(source: &io::Error) -> &'static str {
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

    #[test]
    fn segment_names_round_trip() {
        let dir = Path::new("/x");
        assert_eq!(segment_path(dir, 1), Path::new("/x/predictions-000001.mlog"));
        assert_eq!(segment_sequence("predictions-000001.mlog"), Some(1));
        assert_eq!(segment_sequence("predictions-1234567.mlog"), Some(1_234_567));
        for bad in [
            "predictions-.mlog",
            "predictions-12a.mlog",
            "predictions-+1.mlog",
            "other.mlog",
            "predictions-000001.jsonl",
        ] {
            assert_eq!(segment_sequence(bad), None, "{bad}");
        }
    }

    #[test]
    fn crc32_is_the_ieee_crc() {
        assert_eq!(!crc32_update(!0, b"123456789"), 0xCBF4_3926);
        assert_eq!(!crc32_update(!0, b""), 0);
        let text = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(!crc32_update(!0, text), 0x414F_A339);
        // In pieces, at any split, as frames are checksummed (length, then payload).
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(!crc32_update(crc32_update(!0, a), b), 0x414F_A339, "{split}");
        }
    }

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
