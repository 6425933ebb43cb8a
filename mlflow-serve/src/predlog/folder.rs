//! The log's folder: segment names, listing, opening, the lock, and deleting the oldest.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::frame::{Frame, SegmentReader};
use super::writer::Segment;
use super::{HEADER_LEN, LOCK_FILE, LOG_FORMAT_VERSION, MAGIC, SEGMENT_PREFIX, SEGMENT_SUFFIX};
use crate::ServeError;

/// Deletes the oldest segments in `dir` beyond `keep`, never `current`. Best effort: the
/// records are safe either way, and a segment left over is deleted on the next rotation.
pub(super) fn delete_oldest(dir: &Path, keep: usize, current: u64) {
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
pub(super) fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{sequence:06}{SEGMENT_SUFFIX}"))
}

/// The sequence number of a segment file's name.
pub(super) fn segment_sequence(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(SEGMENT_PREFIX)?.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segment files in `dir`, by sequence number (other files are ignored).
pub(super) fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ServeError> {
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
pub(super) fn lock_folder(dir: &Path) -> Result<Option<File>, ServeError> {
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
pub(super) fn open_segment(dir: &Path, sequence: u64) -> Result<Option<Segment>, ServeError> {
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
}
