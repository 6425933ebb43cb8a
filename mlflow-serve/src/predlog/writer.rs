//! The writer: one log per model folder (a LOCK file), segments rotated by size, records
//! appended as frames, group commit for synced appends.

use std::cell::Cell;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::folder::{delete_oldest, lock_folder, segment_path, segments};
use super::frame::{Frame, SegmentReader};
use super::{
    Durability, HEADER_LEN, KEPT_BUFFER, LOG_FORMAT_VERSION, LogContents, LogEntries, LogEntry, LogOptions,
    LogReader, LogRecord, MAGIC, PREDICTIONS_DIR, RECORD_CAPACITY,
};
use super::{log_error, not_a_folder};
use crate::ServeError;
use mlflow_core::store::Store;

/// The segment being appended to.
#[derive(Debug)]
pub(super) struct Segment {
    /// Shared with a group commit's `fdatasync`, which runs outside the segment lock.
    pub(super) file: Arc<File>,
    pub(super) path: PathBuf,
    pub(super) sequence: u64,
    /// Bytes in the file (what was there when opened plus what this log appended).
    pub(super) size: u64,
    /// Bytes this log appended, across segments: the position a group commit syncs through.
    pub(super) appended: u64,
    /// A failed write left a partial frame that could not be cut off: the next append starts a
    /// new segment, so that its records stay readable.
    pub(super) broken: bool,
}

/// Group commit state: bytes known to be on the disk, and whether a caller is syncing now.
#[derive(Debug, Default)]
pub(super) struct SyncState {
    pub(super) synced: u64,
    pub(super) syncing: bool,
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
/// | 4 | format version, `u32` ([`LOG_FORMAT_VERSION`], 2) |
/// | then, per entry: | |
/// | 4 | payload length `n`, `u32` |
/// | 4 | checksum, `u32`: CRC-32 (IEEE, as zlib's `crc32`) of the 4 length bytes then the payload |
/// | 1 | the entry's kind: 0 a [`PredictionRecord`](crate::PredictionRecord), 1 a request's [`RawRows`](crate::RawRows), 2 a [`RequestFailure`](crate::RequestFailure) |
/// | `n − 1` | the entry encoded with bincode 2 (serde, standard configuration, as [`mlflow_core::codec::encode`]) |
///
/// Format 1 (logs written before raw rows and failures were logged) has no kind byte: every
/// payload is a prediction. Its segments are still read; a log opened for appending continues
/// in a new segment of format 2.
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
    /// larger than [`LogOptions::max_segment_bytes`]. Takes owned [`PredictionRecord`](crate::PredictionRecord)s or
    /// borrowed [`PredictionRecordRef`](crate::PredictionRecordRef)s.
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
            .try_for_each(|record| record.encode(&mut buffer))
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
        let mut entries = PredictionLog::entries(dir)?;
        let mut contents = LogContents::default();
        for entry in entries.by_ref() {
            match entry? {
                LogEntry::Prediction(record) => contents.records.push(record),
                LogEntry::Raw(raw) => contents.raw.push(raw),
                LogEntry::Failure(failure) => contents.failures.push(failure),
            }
        }
        contents.torn = entries.torn();
        contents.segments = entries.segments();
        Ok(contents)
    }

    /// Streams every entry of the log in `dir` (predictions, raw rows, failed requests), all
    /// segments oldest first, as [`records`](Self::records) streams its predictions.
    ///
    /// ```
    /// use mlflow_serve::{LogEntry, LogOptions, PredictionLog, RequestFailure};
    /// let dir = tempfile::tempdir().unwrap();
    /// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
    /// let failure = RequestFailure { request_id: "r".into(), time_ms: 0, model: "m".into(),
    ///     version: 1, status: 400, code: "feature_count".into(), latency_us: 80 };
    /// log.append(&[LogEntry::Failure(failure.clone())])?;
    /// let entries = PredictionLog::entries(dir.path())?.collect::<Result<Vec<_>, _>>()?;
    /// assert_eq!(entries, [LogEntry::Failure(failure)]);
    /// # Ok::<(), mlflow_serve::ServeError>(())
    /// ```
    pub fn entries(dir: impl AsRef<Path>) -> Result<LogEntries, ServeError> {
        Ok(LogReader::new(PredictionLog::segment_files(dir)?).entries())
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

/// Opens (creating if needed, with its header) a segment for appending. `None` when the segment
/// does not end cleanly after a whole frame (a torn or damaged frame, or zeros), or is of an
/// older format: it is left exactly as it is, and records go to the next one.
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
        if reader.format() != LOG_FORMAT_VERSION {
            // An older format is read but not appended to: its frames hold predictions only.
            return Ok(None);
        }
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
