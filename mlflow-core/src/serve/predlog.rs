//! [`PredictionLog`]: an append-only log of every prediction a scoring service made, kept in the
//! store, rotated by size, and loss-free across a crash of the process.
//!
//! See [`PredictionLog`] for the file format and what survives a crash.
//!
//! ```
//! use mlflow_core::serve::{LogOptions, PredictionLog, PredictionRecord, Role};
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
//! # Ok::<(), mlflow_core::serve::ServeError>(())
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::ServeError;
use crate::store::Store;

/// The folder of the store holding one prediction log per model.
const PREDICTIONS_DIR: &str = "predictions";
/// Segment files are `{SEGMENT_PREFIX}{sequence:06}{SEGMENT_SUFFIX}`.
const SEGMENT_PREFIX: &str = "predictions-";
const SEGMENT_SUFFIX: &str = ".jsonl";
/// The default largest segment: 64 MiB.
const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Room reserved per record when encoding (a 13-feature record is about 350 bytes).
const RECORD_CAPACITY: usize = 384;

/// Who produced a prediction.
///
/// Serialized in lowercase: `"champion"`, `"challenger"`, `"shadow"`.
///
/// ```
/// use mlflow_core::serve::Role;
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
    /// assert_eq!(mlflow_core::serve::Role::Champion.as_str(), "champion");
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
/// use mlflow_core::serve::{PredictionRecord, Role};
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
    /// The model's inputs, in signature order. (A NaN or an infinity is logged as `null` and
    /// read back as NaN.)
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

/// JSON has no NaN or infinity: serde_json writes them as `null`, read back as NaN so that such a
/// record is not mistaken for a torn line.
fn nullable_f64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// [`nullable_f64`] for each value of a list.
fn nullable_f64s<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
    let values = Vec::<Option<f64>>::deserialize(deserializer)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// When [`PredictionLog::append`] returns, what survives.
///
/// ```
/// use mlflow_core::serve::{Durability, LogOptions};
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
    /// survive a power loss. Each append then waits for the disk.
    Sync,
}

/// How a [`PredictionLog`] rotates and flushes: by default, segments of 64 MiB, all kept, with
/// [`Durability::Process`].
///
/// ```
/// use mlflow_core::serve::{Durability, LogOptions};
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
    /// let options = mlflow_core::serve::LogOptions::default().max_segment_bytes(1 << 20);
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
    /// let options = mlflow_core::serve::LogOptions::default().max_segments(8);
    /// # let _ = options;
    /// ```
    pub fn max_segments(mut self, n: usize) -> Self {
        self.max_segments = Some(n.max(1));
        self
    }

    /// What survives once an append returned (default [`Durability::Process`]).
    ///
    /// ```
    /// use mlflow_core::serve::{Durability, LogOptions};
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
/// use mlflow_core::serve::{LogOptions, PredictionLog};
/// let dir = tempfile::tempdir().unwrap();
/// PredictionLog::open(dir.path(), LogOptions::default())?;
/// let contents = PredictionLog::read(dir.path())?;
/// assert!(contents.records.is_empty());
/// assert_eq!((contents.torn, contents.segments), (0, 1));
/// # Ok::<(), mlflow_core::serve::ServeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogContents {
    /// The records of all segments, oldest first, in the order they were appended.
    pub records: Vec<PredictionRecord>,
    /// Lines skipped because they are not a whole record (a crash cut them while written).
    pub torn: usize,
    /// The number of segment files read.
    pub segments: usize,
}

/// The segment being appended to.
#[derive(Debug)]
struct Segment {
    file: File,
    path: PathBuf,
    sequence: u64,
    /// Bytes in the file (what was there when opened plus what this log appended).
    size: u64,
    /// A failed write may have left a partial line: the next append starts with a newline.
    unterminated: bool,
}

/// An append-only, size-rotated log of predictions in a folder.
///
/// # Format
///
/// A log is a folder (by default `<store>/predictions/<model>`, see [`dir_in`](Self::dir_in)) of
/// segment files `predictions-000001.jsonl`, `predictions-000002.jsonl`, ... Each line of a
/// segment is one [`PredictionRecord`] as a JSON object, so a log can be read with `tail -f`,
/// `grep` or `jq`. Records are appended to the highest segment; when the next append would make
/// it larger than [`LogOptions::max_segment_bytes`], a new segment is started, and with
/// [`LogOptions::max_segments`] the oldest segments beyond the limit are deleted.
///
/// # Crash safety
///
/// [`append`](Self::append) encodes all its records into one buffer and hands it to the
/// operating system in one write on a file opened for appending, under a lock: appends from
/// several threads never interleave, and when `append` returns the records are in the file
/// (with [`Durability::Process`], they survive the process being killed, even with `SIGKILL`;
/// with [`Durability::Sync`] they are also flushed to the disk, surviving a power loss). A crash
/// in the middle of a write can at worst leave a partial last line: [`open`](Self::open)
/// terminates it so new records start on a fresh line, and [`read`](Self::read) skips it and
/// counts it in [`LogContents::torn`]. A line that was written whole is never lost or altered.
///
/// # Sharing
///
/// `Send + Sync`: share one through an `Arc` between the threads of a server; concurrent appends
/// are serialized and never interleave. One log folder is written by one process at a time.
///
/// ```
/// use mlflow_core::serve::{LogOptions, PredictionLog, PredictionRecord, Role};
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
/// # Ok::<(), mlflow_core::serve::ServeError>(())
/// ```
#[derive(Debug)]
pub struct PredictionLog {
    dir: PathBuf,
    options: LogOptions,
    segment: Mutex<Segment>,
}

impl PredictionLog {
    /// Opens the log in `dir`, creating the folder (and its parents) if needed, and continues
    /// the highest segment. A partial last line left by a crash is terminated so that new
    /// records start on a fresh line ([`read`](Self::read) skips it).
    ///
    /// Fails with [`ServeError::Log`] when the folder cannot be created or written (a file is in
    /// its place, it is read-only, ...).
    ///
    /// ```
    /// use mlflow_core::serve::{LogOptions, PredictionLog, ServeError};
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = dir.path().join("not-a-folder");
    /// std::fs::write(&file, "x").unwrap();
    /// let err = PredictionLog::open(&file, LogOptions::default()).unwrap_err();
    /// assert!(matches!(err, ServeError::Log { .. }));
    /// assert!(err.to_string().contains("not-a-folder"), "{err}");
    /// ```
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> Result<PredictionLog, ServeError> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(log_error("create the folder of", &dir, not_a_folder()));
        }
        fs::create_dir_all(&dir).map_err(|e| log_error("create the folder of", &dir, e))?;
        let sequence = segments(&dir)?.last().map_or(1, |&(sequence, _)| sequence);
        let segment = open_segment(&dir, sequence)?;
        Ok(PredictionLog { dir, options, segment: Mutex::new(segment) })
    }

    /// Where the log of the model named `model` lives in a store: `<store root>/predictions/<model>`.
    ///
    /// Characters other than letters, digits, `_`, `.` and `-` (never in a registered model's
    /// name) are replaced by `_`, and a name of only dots is prefixed with `_`, so the folder
    /// always is inside `<store root>/predictions`.
    ///
    /// ```
    /// use mlflow_core::serve::PredictionLog;
    /// use mlflow_core::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// assert_eq!(PredictionLog::dir_in(&store, "titanic"), dir.path().join("predictions").join("titanic"));
    /// # Ok::<(), mlflow_core::Error>(())
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
    /// Starts a new segment first when the current one is not empty and the records would make
    /// it larger than [`LogOptions::max_segment_bytes`].
    ///
    /// ```
    /// use mlflow_core::serve::{LogOptions, PredictionLog};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// log.append(&[])?;
    /// assert!(PredictionLog::read(dir.path())?.records.is_empty());
    /// # Ok::<(), mlflow_core::serve::ServeError>(())
    /// ```
    pub fn append(&self, records: &[PredictionRecord]) -> Result<(), ServeError> {
        if records.is_empty() {
            return Ok(());
        }
        // Encoded outside the lock: threads only wait for each other's write.
        let mut buffer = Vec::with_capacity(1 + RECORD_CAPACITY * records.len());
        buffer.push(b'\n');
        for record in records {
            // A record is strings and numbers: encoding into memory cannot fail (a NaN or an
            // infinity is written as `null`).
            serde_json::to_writer(&mut buffer, record)
                .map_err(|e| log_error("encode a record for", &self.dir, io::Error::other(e)))?;
            buffer.push(b'\n');
        }
        let mut segment = self.lock();
        let new_bytes = buffer.len() as u64 - 1;
        if segment.size > 0 && segment.size.saturating_add(new_bytes) > self.options.max_segment_bytes {
            self.rotate(&mut segment)?;
        }
        let bytes = if segment.unterminated { &buffer[..] } else { &buffer[1..] };
        if let Err(e) = segment.file.write_all(bytes) {
            // Part of the buffer may be in the file: terminate that line on the next append.
            segment.unterminated = true;
            segment.size = segment.file.metadata().map_or(segment.size, |m| m.len());
            return Err(log_error("append to", &segment.path, e));
        }
        segment.size += bytes.len() as u64;
        segment.unterminated = false;
        if self.options.durability == Durability::Sync {
            segment.file.sync_data().map_err(|e| log_error("flush to the disk", &segment.path, e))?;
        }
        Ok(())
    }

    /// The log's folder.
    ///
    /// ```
    /// use mlflow_core::serve::{LogOptions, PredictionLog};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// assert_eq!(log.dir(), dir.path());
    /// # Ok::<(), mlflow_core::serve::ServeError>(())
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads every record of the log in `dir`, all segments oldest first. Lines that are not a
    /// whole record (cut by a crash) are skipped and counted in [`LogContents::torn`]; they never
    /// make the read fail. Fails when `dir` is not a readable folder.
    ///
    /// ```
    /// use mlflow_core::serve::{PredictionLog, ServeError};
    /// let err = PredictionLog::read("/no/such/prediction/log").unwrap_err();
    /// assert!(matches!(err, ServeError::Log { .. }));
    /// assert!(err.to_string().contains("/no/such/prediction/log"), "{err}");
    /// ```
    pub fn read(dir: impl AsRef<Path>) -> Result<LogContents, ServeError> {
        let dir = dir.as_ref();
        if dir.exists() && !dir.is_dir() {
            return Err(log_error("read", dir, not_a_folder()));
        }
        let mut contents = LogContents::default();
        let mut line = Vec::new();
        for (_, path) in segments(dir)? {
            let file = match File::open(&path) {
                Ok(file) => file,
                // Deleted by a rotation since the folder was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(log_error("read", &path, e)),
            };
            contents.segments += 1;
            let mut reader = BufReader::with_capacity(64 * 1024, file);
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).map_err(|e| log_error("read", &path, e))? == 0 {
                    break;
                }
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<PredictionRecord>(text) {
                    Ok(record) => contents.records.push(record),
                    Err(_) => contents.torn += 1,
                }
            }
        }
        Ok(contents)
    }

    fn lock(&self) -> MutexGuard<'_, Segment> {
        // The segment stays consistent even if a thread panicked holding the lock: its size and
        // `unterminated` flag are only updated after the write they describe.
        self.segment.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves to the next segment and deletes the oldest beyond `max_segments`.
    fn rotate(&self, segment: &mut Segment) -> Result<(), ServeError> {
        let next = open_segment(&self.dir, segment.sequence + 1)?;
        #[cfg(unix)]
        if self.options.durability == Durability::Sync {
            // The new file's name must survive a power loss too.
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| log_error("flush to the disk", &self.dir, e))?;
        }
        *segment = next;
        if let Some(keep) = self.options.max_segments {
            delete_oldest(&self.dir, keep, segment.sequence);
        }
        Ok(())
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
        if let Some(sequence) = entry.file_name().to_str().and_then(segment_sequence) {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                found.push((sequence, entry.path()));
            }
        }
    }
    found.sort_unstable_by_key(|&(sequence, _)| sequence);
    Ok(found)
}

/// Opens (creating if needed) a segment for appending, terminating a partial last line.
fn open_segment(dir: &Path, sequence: u64) -> Result<Segment, ServeError> {
    let path = segment_path(dir, sequence);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| log_error("open", &path, e))?;
    let mut size = file.metadata().map_err(|e| log_error("open", &path, e))?.len();
    if size > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(|e| log_error("read", &path, e))?;
        if last[0] != b'\n' {
            file.write_all(b"\n").map_err(|e| log_error("repair the last line of", &path, e))?;
            size += 1;
        }
    }
    Ok(Segment { file, path, sequence, size, unterminated: false })
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
        _ => "check the folder and the disk, then retry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        let dir = Path::new("/x");
        assert_eq!(segment_path(dir, 1), Path::new("/x/predictions-000001.jsonl"));
        assert_eq!(segment_sequence("predictions-000001.jsonl"), Some(1));
        assert_eq!(segment_sequence("predictions-1234567.jsonl"), Some(1_234_567));
        for bad in ["predictions-.jsonl", "predictions-12a.jsonl", "predictions-+1.jsonl", "other.jsonl"] {
            assert_eq!(segment_sequence(bad), None, "{bad}");
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
    fn non_finite_values_are_read_back_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let log = PredictionLog::open(dir.path(), LogOptions::default()).unwrap();
        let record = PredictionRecord {
            request_id: "r".into(),
            row: 0,
            time_ms: 0,
            model: "m".into(),
            version: 1,
            role: Role::Champion,
            inputs: vec![f64::NAN],
            label: 0,
            probability: 0.5,
            latency_us: 1,
        };
        log.append(&[record.clone(), PredictionRecord { probability: f64::INFINITY, ..record.clone() }])
            .unwrap();
        let contents = PredictionLog::read(dir.path()).unwrap();
        assert_eq!((contents.records.len(), contents.torn), (2, 0));
        assert!(contents.records[0].inputs[0].is_nan());
        assert!(contents.records[1].probability.is_nan());
        assert_eq!(contents.records[1].request_id, "r");
    }
}
