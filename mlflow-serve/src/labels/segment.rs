//! The label segment format: a header, then frames (length, CRC, bincode label record), as the
//! prediction log's; naming, listing, creating and scanning segments.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{LABEL_FORMAT_VERSION, LabelError, LabelRecord, label_error};
use crate::predlog::frame::frame_checksum;

/// The first bytes of every label segment.
pub(super) const MAGIC: &[u8; 10] = b"MLFLOWLBL\0";
/// Bytes of a segment's header: the magic and the format version.
pub(super) const HEADER_LEN: u64 = MAGIC.len() as u64 + 4;
/// Bytes before each frame's payload: its length and its checksum.
const FRAME_HEADER: usize = 8;
/// Segment files are `labels-{sequence:06}.mlbl`.
const PREFIX: &str = "labels-";
const SUFFIX: &str = ".mlbl";

/// The segment file with this sequence number in `dir`.
pub(super) fn segment_path(dir: &Path, sequence: u64) -> PathBuf {
    dir.join(format!("{PREFIX}{sequence:06}{SUFFIX}"))
}

/// The sequence number of a segment file's name.
fn sequence_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segment files in `dir`, by sequence number (other files are ignored).
pub(super) fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LabelError> {
    let entries = fs::read_dir(dir).map_err(|e| label_error("list the segments of", dir, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| label_error("list the segments of", dir, e))?;
        if let Some(sequence) = entry.file_name().to_str().and_then(sequence_of)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            found.push((sequence, entry.path()));
        }
    }
    found.sort_unstable_by_key(|&(sequence, _)| sequence);
    Ok(found)
}

/// Appends `record` to `buffer` as one frame: length, checksum, payload.
pub(super) fn encode_frame(buffer: &mut Vec<u8>, record: &LabelRecord) -> Result<(), LabelError> {
    let payload = mlflow_core::codec::encode(record).map_err(|e| LabelError::Invalid {
        at: format!("label of `{}`", record.request_id),
        message: e.to_string(),
    })?;
    let len = u32::try_from(payload.len()).map_err(|_| LabelError::Invalid {
        at: format!("label of `{}`", record.request_id),
        message: format!(
            "a label of {} bytes is too large to store; send shorter request ids",
            payload.len()
        ),
    })?;
    buffer.extend_from_slice(&len.to_le_bytes());
    buffer.extend_from_slice(&frame_checksum(len.to_le_bytes(), &payload).to_le_bytes());
    buffer.extend_from_slice(&payload);
    Ok(())
}

/// Creates segment `sequence` in `dir` with its header, flushed to the disk with the folder
/// entry, so that a label appended to it survives a power loss. Fails if it exists.
pub(super) fn create(dir: &Path, sequence: u64) -> Result<PathBuf, LabelError> {
    let path = segment_path(dir, sequence);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| label_error("create a segment of", &path, e))?;
    let mut header = [0u8; HEADER_LEN as usize];
    header[..MAGIC.len()].copy_from_slice(MAGIC);
    header[MAGIC.len()..].copy_from_slice(&LABEL_FORMAT_VERSION.to_le_bytes());
    file.write_all(&header)
        .and_then(|()| file.sync_all())
        .map_err(|e| label_error("write the header of", &path, e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Flushes a folder's entries (a new file's name) to the disk.
pub(super) fn sync_dir(dir: &Path) -> Result<(), LabelError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| label_error("flush to the disk", dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// What [`scan`] found in a segment from an offset on.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The whole, intact records, in order.
    pub(super) records: Vec<LabelRecord>,
    /// Where reading stopped: after the last whole frame, or at the end of the file when it
    /// does not end cleanly (a torn segment is never appended to again).
    pub(super) end: u64,
    /// Whether the segment ends exactly after a whole frame (it may be appended to).
    pub(super) clean: bool,
    /// Frames skipped: a torn or damaged tail (reading the segment stops there), or an intact
    /// frame that is not a label record.
    pub(super) torn: usize,
}

/// Reads the frames of segment `path` from byte `from` (0: from the start, checking the
/// header). `None` when the file does not exist.
pub(super) fn scan(path: &Path, from: u64) -> Result<Option<Scan>, LabelError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(label_error("read", path, e)),
    };
    let len = file.metadata().map_err(|e| label_error("read", path, e))?.len();
    if from == 0 {
        if len < HEADER_LEN {
            // A crash right after the segment was created: it holds no label.
            return Ok(Some(Scan { records: Vec::new(), end: len, clean: false, torn: 1 }));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        file.read_exact(&mut header).map_err(|e| label_error("read", path, e))?;
        check_header(&header).map_err(|e| label_error("read", path, e))?;
    }
    let start = from.max(HEADER_LEN).min(len);
    file.seek(SeekFrom::Start(start)).map_err(|e| label_error("read", path, e))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
    file.take(len - start).read_to_end(&mut bytes).map_err(|e| label_error("read", path, e))?;
    let mut scan = Scan { records: Vec::new(), end: start, clean: true, torn: 0 };
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let Some((head, body)) = rest.split_first_chunk::<FRAME_HEADER>() else {
            return Ok(Some(torn(scan, len, path)));
        };
        let [l0, l1, l2, l3, c0, c1, c2, c3] = *head;
        let payload_len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        let Some(payload) = body.get(..payload_len) else {
            return Ok(Some(torn(scan, len, path)));
        };
        if frame_checksum([l0, l1, l2, l3], payload) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Ok(Some(torn(scan, len, path)));
        }
        match mlflow_core::codec::decode::<LabelRecord>(payload, u64::MAX) {
            Ok(record) => scan.records.push(record),
            // Intact but not a label (not written by this code): that frame only is skipped.
            Err(_) => scan.torn += 1,
        }
        at += FRAME_HEADER + payload_len;
        scan.end = start + at as u64;
    }
    Ok(Some(scan))
}

/// A segment that does not end with a whole frame: reading stops at the bad frame, which is
/// counted, and the segment is done (new labels go to a new segment).
fn torn(mut scan: Scan, len: u64, path: &Path) -> Scan {
    let (offset, bytes, path) = (scan.end, len.saturating_sub(scan.end), path.display());
    tracing::warn!(target: "mlflow", %path, offset, bytes, "a label segment does not end with a whole frame (a crash cut its last label while it was written): that frame is skipped, labels before it are kept, new labels go to a new segment");
    scan.torn += 1;
    scan.clean = false;
    scan.end = len;
    scan
}

/// Checks a segment's header: the magic and a format version this code reads.
fn check_header(header: &[u8; HEADER_LEN as usize]) -> io::Result<()> {
    let (magic, version) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not a label segment (it does not start with `MLFLOWLBL`)",
        ));
    }
    let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
    if version != LABEL_FORMAT_VERSION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the segment is in format version {version}, and this mlflow reads version {LABEL_FORMAT_VERSION} only"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_segment_names_round_trip() {
        let dir = Path::new("/x");
        assert_eq!(segment_path(dir, 3), Path::new("/x/labels-000003.mlbl"));
        assert_eq!(sequence_of("labels-000003.mlbl"), Some(3));
        for bad in ["labels-.mlbl", "labels-1a.mlbl", "predictions-000001.mlog", "labels-000001.csv"] {
            assert_eq!(sequence_of(bad), None, "{bad}");
        }
    }
}
