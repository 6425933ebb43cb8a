//! The log's folder: segment names, listing, opening, the lock, and deleting the oldest.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use super::{LOCK_FILE, SEGMENT_PREFIX, SEGMENT_SUFFIX, log_error};
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
pub(crate) fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, ServeError> {
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
