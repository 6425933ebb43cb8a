//! The writer and reader of a label store: one folder of segments, appended under a file lock
//! shared by every process, each append flushed to the disk.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use super::segment::{self, HEADER_LEN, encode_frame, scan, segment_path, segments};
use super::{LabelError, LabelRecord, LabelSource, Labels, NewLabel, TrueValue, label_error};
use crate::PredictionLog;
use mlflow_core::store::Store;

/// The folder of a model's labels, inside its prediction log's folder.
const LABELS_DIR: &str = "labels";
/// The file every writer locks while it appends.
const LOCK_FILE: &str = "LOCK";

/// What one [`LabelStore::append`] did.
///
/// ```
/// let appended = mlflow_serve::Appended::default();
/// assert_eq!(serde_json::to_string(&appended).unwrap(), r#"{"accepted":0,"replaced":0,"duplicates":0,"superseded":0}"#);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Appended {
    /// Labels stored: new ones and corrections (a different value for a labeled row).
    pub accepted: usize,
    /// Of those, corrections: they replace the earlier label of their row.
    pub replaced: usize,
    /// Labels not stored because their row already has this very value (sent or ingested
    /// twice): ingesting a file again, or retrying a request, adds nothing.
    pub duplicates: usize,
    /// Labels not stored because a later label of the same row in the same batch replaces
    /// them (the last one wins).
    pub superseded: usize,
}

/// The append-only store of a model's delayed labels.
///
/// # Format
///
/// A folder (`<store>/predictions/<model>/labels`, see [`dir_in`](Self::dir_in)) of segment
/// files `labels-000001.mlbl`, `labels-000002.mlbl`, ... and an empty `LOCK` file. A segment
/// is the prediction log's format with its own magic: `MLFLOWLBL\0`, the format version
/// ([`LABEL_FORMAT_VERSION`](crate::LABEL_FORMAT_VERSION), a little-endian `u32`), then per
/// label a frame: payload length (`u32`), CRC-32 (IEEE) of the length bytes and the payload
/// (`u32`), and the payload, the [`LabelRecord`] encoded with bincode 2 (as
/// [`mlflow_core::codec::encode`]). Labels are few and small (about 40 bytes), so segments are
/// not rotated by size: a new one starts only after a crash left the last one torn. Nothing is
/// ever deleted.
///
/// # Duplicates
///
/// For each `(request_id, row)` the last label stored wins (a correction). A label equal to
/// the current one of its row is not stored again and is counted in [`Appended::duplicates`];
/// within one batch only the last label of a row is stored ([`Appended::superseded`]). So
/// ingesting the same file twice, or retrying a feedback request, adds nothing.
///
/// # Crash safety
///
/// [`append`](Self::append) encodes all its labels into one buffer, writes it in one write to
/// the last segment, and flushes it to the disk (`fdatasync`) before returning: an
/// acknowledged label survives a crash of the process and a power loss (labels arrive once and
/// may not be sent again, so every append pays one flush; a batch of labels pays one). A new
/// segment is flushed with its folder entry before a label goes into it.
///
/// A crash in the middle of a write can at worst leave a partial last frame: readers stop that
/// segment at the first frame that is cut short or fails its checksum, count it
/// ([`Labels::torn`], and a warning in the log), and keep every label before it. The torn
/// segment is never cut or appended to: the next append starts a new segment. A crash in the
/// middle of a batch may store its first labels only; sending the batch again stores the rest
/// (the stored ones count as duplicates).
///
/// # Sharing
///
/// Several writers, in this process or others (a server taking feedback and
/// `mlflow-pipelines labels ingest`), may append to one store: each append takes an exclusive
/// lock on the `LOCK` file (waiting for another append to finish), first reads the labels the
/// others appended since (so duplicates are found across writers), then appends. Reading
/// ([`read`](Self::read)) takes no lock; a label being appended meanwhile may read as torn.
///
/// See the [module docs](crate::LabelStore) for an example.
#[derive(Debug)]
pub struct LabelStore {
    dir: PathBuf,
    state: Mutex<State>,
}

/// What this writer has read of the store.
#[derive(Debug, Default)]
struct State {
    labels: Labels,
    /// The last segment read (0: none), and where its next frame starts.
    sequence: u64,
    offset: u64,
    /// Whether that segment ends cleanly after a whole frame, so labels may be appended to it.
    clean: bool,
}

impl LabelStore {
    /// Where the labels of the model named `model` live in a store:
    /// `<store root>/predictions/<model>/labels`, next to its prediction log (the model's name
    /// is made safe as [`PredictionLog::dir_in`] makes it).
    ///
    /// ```
    /// use mlflow_serve::LabelStore;
    /// use mlflow_core::store::Store;
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// assert_eq!(LabelStore::dir_in(&store, "titanic"), dir.path().join("predictions/titanic/labels"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dir_in(store: &Store, model: &str) -> PathBuf {
        PredictionLog::dir_in(store, model).join(LABELS_DIR)
    }

    /// Opens the store in `dir` for appending, creating the folder (and its parents) if
    /// needed, and reads the labels already there. A torn last segment is reported (a warning
    /// in the log) and left as it is.
    ///
    /// Fails with [`LabelError::Io`] when the folder cannot be created or read, or when a
    /// segment is of a newer format.
    ///
    /// ```
    /// use mlflow_serve::{LabelError, LabelStore};
    /// let dir = tempfile::tempdir().unwrap();
    /// let file = dir.path().join("not-a-folder");
    /// std::fs::write(&file, "x").unwrap();
    /// let err = LabelStore::open(&file).unwrap_err();
    /// assert!(matches!(err, LabelError::Io { .. }));
    /// assert!(err.to_string().contains("not-a-folder"), "{err}");
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<LabelStore, LabelError> {
        let dir = dir.as_ref().to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(label_error("create the folder of", &dir, not_a_folder()));
        }
        fs::create_dir_all(&dir).map_err(|e| label_error("create the folder of", &dir, e))?;
        let mut state = State { clean: true, ..State::default() };
        {
            let _lock = lock(&dir)?;
            catch_up(&dir, &mut state)?;
        }
        Ok(LabelStore { dir, state: Mutex::new(state) })
    }

    /// The store's folder.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = mlflow_serve::LabelStore::open(dir.path())?;
    /// assert_eq!(store.dir(), dir.path());
    /// # Ok::<(), mlflow_serve::LabelError>(())
    /// ```
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `labels`, in order, as coming from `source`, in one write flushed to the disk
    /// (see [Crash safety](Self#crash-safety)). A label equal to the current one of its row is
    /// skipped and counted as a duplicate; within `labels`, the last label of a row wins and the
    /// earlier ones are not stored (counted as superseded). Returns what was stored; appending nothing does nothing.
    ///
    /// ```
    /// use mlflow_serve::{LabelSource, LabelStore, NewLabel, TrueValue};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = LabelStore::open(dir.path())?;
    /// let source = LabelSource::File("june.csv".into());
    /// let first = store.append(&[NewLabel::new("a", 0, TrueValue::Value(2.0))], &source)?;
    /// assert_eq!((first.accepted, first.replaced, first.duplicates), (1, 0, 0));
    /// let again = store.append(&[NewLabel::new("a", 0, TrueValue::Value(2.5))], &source)?;
    /// assert_eq!((again.accepted, again.replaced, again.duplicates), (1, 1, 0));
    /// # Ok::<(), mlflow_serve::LabelError>(())
    /// ```
    pub fn append(&self, labels: &[NewLabel], source: &LabelSource) -> Result<Appended, LabelError> {
        let mut appended = Appended::default();
        if labels.is_empty() {
            return Ok(appended);
        }
        let mut state = self.state();
        let _lock = lock(&self.dir)?;
        // Labels other writers appended since this one last read: duplicates are found across
        // writers, and a torn segment is seen before appending to it.
        catch_up(&self.dir, &mut state)?;
        let time_ms = now_ms();
        // Within the batch the last label of a row wins: the earlier ones are not stored, so
        // that storing the same batch twice stores nothing the second time.
        let last: HashMap<(&str, u32), usize> =
            labels.iter().enumerate().map(|(i, l)| ((l.request_id.as_str(), l.row), i)).collect();
        let mut batch: Vec<(&NewLabel, bool)> = Vec::with_capacity(last.len());
        let mut frames = Vec::with_capacity(last.len() * 48);
        for (i, label) in labels.iter().enumerate() {
            if last.get(&(label.request_id.as_str(), label.row)) != Some(&i) {
                appended.superseded += 1;
                continue;
            }
            let current = state.labels.get(&label.request_id, label.row);
            if current == Some(label.value) {
                appended.duplicates += 1;
                continue;
            }
            let record = LabelRecord {
                request_id: label.request_id.clone(),
                row: label.row,
                value: label.value,
                time_ms,
                source: source.clone(),
            };
            encode_frame(&mut frames, &record)?;
            batch.push((label, current.is_some()));
        }
        if frames.is_empty() {
            return Ok(appended);
        }
        if state.sequence == 0 || !state.clean {
            let next = state.sequence + 1;
            segment::create(&self.dir, next)?;
            state.labels.segments += 1;
            (state.sequence, state.offset, state.clean) = (next, HEADER_LEN, true);
        }
        let path = segment_path(&self.dir, state.sequence);
        let mut file =
            OpenOptions::new().append(true).open(&path).map_err(|e| label_error("append to", &path, e))?;
        if let Err(e) = file.write_all(&frames) {
            // Part of the frames may be in the file: cut them off, or leave the segment torn
            // (readers stop there; the next append starts a new segment).
            if file.set_len(state.offset).is_err() {
                state.clean = false;
            }
            return Err(label_error("append to", &path, e));
        }
        if let Err(e) = file.sync_data() {
            // The labels may or may not be on the disk: read them back at the next append.
            state.clean = file.set_len(state.offset).is_ok() && state.clean;
            return Err(label_error("flush to the disk", &path, e));
        }
        state.offset += frames.len() as u64;
        for (label, replaced) in batch {
            state.labels.insert(&label.request_id, label.row, label.value);
            appended.accepted += 1;
            appended.replaced += usize::from(replaced);
        }
        Ok(appended)
    }

    /// The label of row `row` of request `request_id`, as this store last read or wrote it.
    ///
    /// ```
    /// use mlflow_serve::{LabelSource, LabelStore, NewLabel, TrueValue};
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = LabelStore::open(dir.path())?;
    /// store.append(&[NewLabel::new("a", 0, TrueValue::Class(1))], &LabelSource::FeedbackApi)?;
    /// assert_eq!(store.get("a", 0), Some(TrueValue::Class(1)));
    /// # Ok::<(), mlflow_serve::LabelError>(())
    /// ```
    pub fn get(&self, request_id: &str, row: u32) -> Option<TrueValue> {
        self.state().labels.get(request_id, row)
    }

    /// Reads every label of the store in `dir`, all segments oldest first, the last label of a
    /// row winning. A frame that is not a whole, intact label (a torn tail) is skipped and
    /// counted in [`Labels::torn`]; it never makes the read fail. A folder that does not exist
    /// holds no label yet: empty [`Labels`].
    ///
    /// Fails when `dir` is a file or cannot be read, or a segment is of a newer format.
    ///
    /// ```
    /// use mlflow_serve::LabelStore;
    /// let labels = LabelStore::read("/no/such/labels")?;
    /// assert!(labels.is_empty());
    /// # Ok::<(), mlflow_serve::LabelError>(())
    /// ```
    pub fn read(dir: impl AsRef<Path>) -> Result<Labels, LabelError> {
        let dir = dir.as_ref();
        if !dir.exists() {
            return Ok(Labels::default());
        }
        if !dir.is_dir() {
            return Err(label_error("read", dir, not_a_folder()));
        }
        let mut state = State { clean: true, ..State::default() };
        catch_up(dir, &mut state)?;
        Ok(state.labels)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent if a thread panicked holding it: it is only updated after
        // the write it describes.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads what was appended to the store since `state` was last brought up to date.
fn catch_up(dir: &Path, state: &mut State) -> Result<(), LabelError> {
    for (sequence, path) in segments(dir)? {
        if sequence < state.sequence || (sequence == state.sequence && !state.clean) {
            // Read already, or torn (never appended to again).
            continue;
        }
        let from = if sequence == state.sequence { state.offset } else { 0 };
        let Some(scan) = scan(&path, from)? else { continue };
        if sequence != state.sequence {
            state.labels.segments += 1;
        }
        for record in scan.records {
            state.labels.insert(&record.request_id, record.row, record.value);
        }
        state.labels.torn += scan.torn;
        (state.sequence, state.offset, state.clean) = (sequence, scan.end, scan.clean);
    }
    Ok(())
}

/// Takes the store's append lock, waiting for another writer to finish; `None` when the file
/// system cannot lock files (then concurrent writers may store a duplicate twice, which reads
/// the same).
fn lock(dir: &Path) -> Result<Option<File>, LabelError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| label_error("create the lock file of", &path, e))?;
    match file.lock() {
        Ok(()) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            let path = path.display();
            tracing::warn!(target: "mlflow", %path, error = %e, "cannot lock the label store: appends from several processes are not serialized");
            Ok(None)
        }
        Err(e) => Err(label_error("lock", &path, e)),
    }
}

fn not_a_folder() -> io::Error {
    io::Error::new(io::ErrorKind::NotADirectory, "it is a file, not a folder")
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(id: &str, class: u32) -> NewLabel {
        NewLabel::new(id, 0, TrueValue::Class(class))
    }

    #[test]
    fn labels_last_wins_and_duplicates_add_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = LabelStore::open(dir.path()).unwrap();
        let source = LabelSource::File("a.csv".into());
        let first = store.append(&[label("a", 0), label("b", 1), label("a", 1)], &source).unwrap();
        // Within a batch the last label of a row wins; the earlier ones are not stored.
        assert_eq!(first, Appended { accepted: 2, replaced: 0, duplicates: 0, superseded: 1 });
        let again = store.append(&[label("a", 0), label("b", 1), label("a", 1)], &source).unwrap();
        assert_eq!(again, Appended { accepted: 0, replaced: 0, duplicates: 2, superseded: 1 }, "idempotent");
        let fix = store.append(&[label("a", 0)], &LabelSource::FeedbackApi).unwrap();
        assert_eq!(fix, Appended { accepted: 1, replaced: 1, duplicates: 0, superseded: 0 });
        let labels = LabelStore::read(dir.path()).unwrap();
        assert_eq!(labels.get("a", 0), Some(TrueValue::Class(0)));
        assert_eq!((labels.len(), labels.records(), labels.torn(), labels.segments()), (2, 3, 0, 1));
        // The file holds exactly those records.
        let files = segments(dir.path()).unwrap();
        let records = scan(&files[0].1, 0).unwrap().unwrap().records;
        let sources: Vec<String> = records.iter().map(|r| r.source.to_string()).collect();
        assert_eq!(sources, ["file a.csv", "file a.csv", "feedback api"]);
    }

    #[test]
    fn labels_two_writers_see_each_others_labels() {
        let dir = tempfile::tempdir().unwrap();
        let server = LabelStore::open(dir.path()).unwrap();
        let cli = LabelStore::open(dir.path()).unwrap();
        assert_eq!(server.append(&[label("a", 1)], &LabelSource::FeedbackApi).unwrap().accepted, 1);
        let from_file = cli.append(&[label("a", 1), label("b", 0)], &LabelSource::File("f".into())).unwrap();
        assert_eq!((from_file.accepted, from_file.duplicates), (1, 1), "the server's label is seen");
        assert_eq!(server.append(&[label("b", 0)], &LabelSource::FeedbackApi).unwrap().duplicates, 1);
        assert_eq!(LabelStore::read(dir.path()).unwrap().records(), 2);
    }

    #[test]
    fn labels_torn_tail_is_skipped_reported_and_never_corrupts_earlier_labels() {
        let dir = tempfile::tempdir().unwrap();
        let store = LabelStore::open(dir.path()).unwrap();
        store.append(&[label("a", 1), label("b", 0)], &LabelSource::FeedbackApi).unwrap();
        let first = segment_path(dir.path(), 1);
        let whole = fs::metadata(&first).unwrap().len();
        store.append(&[label("c", 1)], &LabelSource::FeedbackApi).unwrap();
        drop(store);
        // A crash cut the last frame short.
        let len = fs::metadata(&first).unwrap().len();
        OpenOptions::new().write(true).open(&first).unwrap().set_len(len - 3).unwrap();
        let labels = LabelStore::read(dir.path()).unwrap();
        assert_eq!((labels.len(), labels.torn()), (2, 1));
        assert_eq!(labels.get("c", 0), None);

        // A new writer appends to a new segment; the torn one is left as it is.
        let store = LabelStore::open(dir.path()).unwrap();
        let appended = store.append(&[label("c", 1), label("a", 1)], &LabelSource::FeedbackApi).unwrap();
        assert_eq!((appended.accepted, appended.duplicates), (1, 1));
        assert_eq!(fs::metadata(&first).unwrap().len(), len - 3, "never cut or rewritten");
        assert!(fs::metadata(&first).unwrap().len() > whole);
        let labels = LabelStore::read(dir.path()).unwrap();
        assert_eq!((labels.len(), labels.torn(), labels.segments()), (3, 1, 2));
        assert_eq!(labels.get("c", 0), Some(TrueValue::Class(1)));

        // Damage inside a frame (a flipped byte) stops that segment there, not the others.
        let mut bytes = fs::read(&first).unwrap();
        let h = HEADER_LEN as usize;
        let first_frame = 8 + u32::from_le_bytes(bytes[h..h + 4].try_into().unwrap()) as usize;
        bytes[h + first_frame + 9] ^= 0xff;
        fs::write(&first, bytes).unwrap();
        let labels = LabelStore::read(dir.path()).unwrap();
        assert_eq!(
            (labels.get("a", 0), labels.get("c", 0), labels.torn()),
            (Some(TrueValue::Class(1)), Some(TrueValue::Class(1)), 1)
        );
        assert_eq!(labels.get("b", 0), None, "after the damaged frame");
    }

    #[test]
    fn labels_torn_header_and_newer_format() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(segment_path(dir.path(), 1), b"MLFL").unwrap();
        let labels = LabelStore::read(dir.path()).unwrap();
        assert_eq!((labels.len(), labels.torn()), (0, 1));
        let store = LabelStore::open(dir.path()).unwrap();
        store.append(&[label("a", 1)], &LabelSource::FeedbackApi).unwrap();
        assert!(segment_path(dir.path(), 2).exists());
        assert_eq!(LabelStore::read(dir.path()).unwrap().len(), 1);

        let mut newer = segment::MAGIC.to_vec();
        newer.extend_from_slice(&2u32.to_le_bytes());
        fs::write(segment_path(dir.path(), 3), newer).unwrap();
        let err = LabelStore::read(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("labels-000003.mlbl") && message.contains("format version 2"), "{message}");
        let other = tempfile::tempdir().unwrap();
        fs::write(segment_path(other.path(), 1), b"MLFLOWLOG\0\x01\0\0\0").unwrap();
        let message = LabelStore::open(other.path()).unwrap_err().to_string();
        assert!(message.contains("not a label segment"), "{message}");
    }
}
