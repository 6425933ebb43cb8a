//! Which `(request_id, row)` a prediction log holds, kept up to date by reading only what was
//! appended since: to count labels that match no logged prediction.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::ServeError;
use crate::predlog::folder::segments;
use crate::predlog::frame::{Decoded, Frame, SegmentReader, decode_record};

/// The `(request_id, row)` of the predictions in a prediction log, kept as 64-bit hashes (10 to
/// 20 bytes of memory per logged row, for the segments on the disk only: those a rotation
/// deleted are forgotten). [`refresh`](Self::refresh) reads only the frames appended since the
/// last refresh.
///
/// Every role counts (a shadow's record has the request id of the answer).
///
/// ```
/// use mlflow_serve::{LogOptions, PredictionKeys, PredictionLog, PredictionRecord, Role};
/// let dir = tempfile::tempdir().unwrap();
/// let log = PredictionLog::open(dir.path(), LogOptions::default())?;
/// let record = PredictionRecord {
///     request_id: "req-1".into(), row: 0, time_ms: 0, model: "m".into(), version: 1,
///     role: Role::Champion, inputs: vec![1.0], label: 1, probability: 0.8, latency_us: 5,
/// };
/// let mut keys = PredictionKeys::new(dir.path());
/// keys.refresh()?;
/// assert!(!keys.contains("req-1", 0));
/// log.append(&[record])?;
/// keys.refresh()?;
/// assert!(keys.contains("req-1", 0) && !keys.contains("req-1", 1));
/// assert_eq!(keys.len(), 1);
/// # Ok::<(), mlflow_serve::ServeError>(())
/// ```
#[derive(Debug)]
pub struct PredictionKeys {
    dir: PathBuf,
    /// Per segment (by sequence): where its next unread frame starts (`u64::MAX`: read to a
    /// damaged frame, done) and the keys read from it.
    segments: BTreeMap<u64, (u64, HashSet<u64>)>,
}

impl PredictionKeys {
    /// The keys of the prediction log in `dir`, none read yet.
    ///
    /// See [`PredictionKeys`] for an example.
    pub fn new(dir: impl AsRef<Path>) -> PredictionKeys {
        PredictionKeys { dir: dir.as_ref().to_path_buf(), segments: BTreeMap::new() }
    }

    /// Reads the records appended since the last refresh, and forgets the segments deleted
    /// since. A log folder that does not exist holds no prediction. A frame cut short at the end
    /// of a segment (being appended now, or torn by a crash) is read again at the next refresh.
    ///
    /// Fails when the folder cannot be listed or a segment cannot be read (a newer format).
    ///
    /// See [`PredictionKeys`] for an example.
    pub fn refresh(&mut self) -> Result<(), ServeError> {
        if !self.dir.is_dir() {
            self.segments.clear();
            return Ok(());
        }
        let on_disk = segments(&self.dir)?;
        self.segments.retain(|sequence, _| on_disk.iter().any(|(s, _)| s == sequence));
        let mut payload = Vec::new();
        for (sequence, path) in on_disk {
            let (offset, keys) = self.segments.entry(sequence).or_default();
            if *offset == u64::MAX {
                continue;
            }
            let Some(mut reader) = SegmentReader::open(&path)? else { continue };
            if *offset > reader.offset() {
                reader.seek_to(*offset)?;
            }
            loop {
                let start = reader.offset();
                match reader.next_frame(&mut payload)? {
                    Frame::Whole => {
                        if let Decoded::Entry(record) = decode_record(reader.format(), &payload) {
                            keys.insert(key(&record.request_id, record.row));
                        }
                    }
                    Frame::End | Frame::Short => {
                        *offset = start;
                        break;
                    }
                    Frame::Damaged => {
                        *offset = u64::MAX;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the log held a prediction for row `row` of request `request_id` at the last
    /// refresh (a false positive needs a 64-bit hash collision).
    ///
    /// See [`PredictionKeys`] for an example.
    pub fn contains(&self, request_id: &str, row: u32) -> bool {
        let key = key(request_id, row);
        self.segments.values().any(|(_, keys)| keys.contains(&key))
    }

    /// The number of distinct keys read (a key logged in two segments counts twice).
    ///
    /// See [`PredictionKeys`] for an example.
    pub fn len(&self) -> usize {
        self.segments.values().map(|(_, keys)| keys.len()).sum()
    }

    /// Whether no key was read.
    ///
    /// ```
    /// assert!(mlflow_serve::PredictionKeys::new("/no/such/log").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hash of a key: the standard library's SipHash with fixed keys (in memory only).
fn key(request_id: &str, row: u32) -> u64 {
    let mut hasher = DefaultHasher::new();
    request_id.hash(&mut hasher);
    row.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LogOptions, PredictionRecord, Role};
    use std::io::Write;

    fn record(id: &str) -> PredictionRecord {
        PredictionRecord {
            request_id: id.into(),
            row: 0,
            time_ms: 0,
            model: "m".into(),
            version: 1,
            role: Role::Champion,
            inputs: vec![1.0; 8],
            label: 0,
            probability: 0.1,
            latency_us: 1,
        }
    }

    #[test]
    fn labels_prediction_keys_read_only_new_frames_and_forget_deleted_segments() {
        let dir = tempfile::tempdir().unwrap();
        let log = crate::PredictionLog::open(
            dir.path(),
            LogOptions::default().max_segment_bytes(300).max_segments(2),
        )
        .unwrap();
        let mut keys = PredictionKeys::new(dir.path());
        log.append(&[record("a")]).unwrap();
        keys.refresh().unwrap();
        assert!(keys.contains("a", 0));
        // A frame being appended (cut short for now) is read once it is whole.
        let segment = crate::PredictionLog::segment_files(dir.path()).unwrap().pop().unwrap();
        let mut frame = Vec::new();
        let kind = crate::predlog::entry::EntryKind::Prediction;
        crate::predlog::frame::encode_frame(&mut frame, kind, &record("b")).unwrap();
        let mut file = std::fs::OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(&frame[..10]).unwrap();
        keys.refresh().unwrap();
        assert!(!keys.contains("b", 0));
        file.write_all(&frame[10..]).unwrap();
        keys.refresh().unwrap();
        assert!(keys.contains("b", 0) && keys.contains("a", 0));
        assert_eq!(keys.len(), 2);
        drop(log);
        // Rotations delete the oldest segments: their keys are forgotten.
        let log = crate::PredictionLog::open(
            dir.path(),
            LogOptions::default().max_segment_bytes(300).max_segments(2),
        )
        .unwrap();
        for id in ["c", "d", "e", "f", "g", "h"] {
            log.append(&[record(id)]).unwrap();
        }
        keys.refresh().unwrap();
        assert!(keys.contains("h", 0));
        assert!(!keys.contains("a", 0), "its segment was deleted");
    }
}
