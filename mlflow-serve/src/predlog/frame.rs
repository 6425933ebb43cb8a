//! The segment format: a header, then frames (length, CRC, payload); reading a segment frame by
//! frame, telling a torn tail from damage; a payload is a tag byte and a bincode entry (format 2)
//! or a bincode prediction (format 1).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::entry::EntryKind;
use super::log_error;
use super::{FRAME_HEADER, HEADER_LEN, LOG_FORMAT_VERSION, LogEntry, MAGIC, PredictionRecord};
use crate::ServeError;

/// The first format version, whose payloads are predictions without a tag.
pub(crate) const UNTAGGED_FORMAT_VERSION: u32 = 1;

/// Appends `entry` to `buffer` as one frame: length, checksum, payload (its tag, then bincode).
pub(crate) fn encode_frame(buffer: &mut Vec<u8>, kind: EntryKind, entry: &impl Serialize) -> io::Result<()> {
    let start = buffer.len();
    buffer.extend_from_slice(&[0; FRAME_HEADER]);
    buffer.push(kind as u8);
    bincode::serde::encode_into_writer(entry, VecWriter(buffer), bincode::config::standard())
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
pub(super) struct VecWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for VecWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// What a whole frame's payload holds.
pub(crate) enum Decoded<T> {
    /// The entry asked for.
    Entry(T),
    /// An intact entry of another kind.
    Other,
    /// Not an entry this code wrote (an unknown tag, or bytes that do not decode).
    Invalid,
}

/// The kind of a whole frame's payload in a segment of `format`, and the bytes of its entry.
fn split_payload(format: u32, payload: &[u8]) -> Option<(EntryKind, &[u8])> {
    if format == UNTAGGED_FORMAT_VERSION {
        return Some((EntryKind::Prediction, payload));
    }
    let (&tag, entry) = payload.split_first()?;
    Some((EntryKind::of_tag(tag)?, entry))
}

/// Decodes the bytes of one `T`. Through the artifact decoder, so that a
/// length inside a damaged or foreign payload never reserves more memory than it holds.
fn decode_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Decoded<T> {
    match mlflow_core::codec::decode(bytes, u64::MAX) {
        Ok(entry) => Decoded::Entry(entry),
        Err(_) => Decoded::Invalid,
    }
}

/// Decodes a payload when it is a prediction (the fast path of readers of predictions only:
/// other entries are not decoded).
pub(crate) fn decode_record(format: u32, payload: &[u8]) -> Decoded<PredictionRecord> {
    match split_payload(format, payload) {
        Some((EntryKind::Prediction, bytes)) => decode_as(bytes),
        Some(_) => Decoded::Other,
        None => Decoded::Invalid,
    }
}

/// Decodes a payload, whatever entry it holds.
pub(crate) fn decode_entry(format: u32, payload: &[u8]) -> Decoded<LogEntry> {
    let Some((kind, bytes)) = split_payload(format, payload) else { return Decoded::Invalid };
    match kind {
        EntryKind::Prediction => decode_as(bytes).map(LogEntry::Prediction),
        EntryKind::Raw => decode_as(bytes).map(LogEntry::Raw),
        EntryKind::Failure => decode_as(bytes).map(LogEntry::Failure),
    }
}

/// Decodes a payload when it is a prediction or a failed request; raw rows are skipped
/// undecoded.
pub(crate) fn decode_monitored(format: u32, payload: &[u8]) -> Decoded<LogEntry> {
    match split_payload(format, payload) {
        Some((EntryKind::Prediction, bytes)) => decode_as(bytes).map(LogEntry::Prediction),
        Some((EntryKind::Failure, bytes)) => decode_as(bytes).map(LogEntry::Failure),
        Some((EntryKind::Raw, _)) => Decoded::Other,
        None => Decoded::Invalid,
    }
}

impl<T> Decoded<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Decoded<U> {
        match self {
            Decoded::Entry(entry) => Decoded::Entry(f(entry)),
            Decoded::Other => Decoded::Other,
            Decoded::Invalid => Decoded::Invalid,
        }
    }
}

/// The checksum of a frame: CRC-32 (IEEE) of its length bytes, then its payload.
pub(crate) fn frame_checksum(len: [u8; 4], payload: &[u8]) -> u32 {
    !crc32_update(crc32_update(!0, &len), payload)
}

/// Tables of the CRC-32 (IEEE, reflected polynomial `0xEDB88320`), sliced by 8.
pub(super) static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

pub(super) const fn crc_tables() -> [[u32; 256]; 8] {
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
pub(super) fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
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
pub(crate) enum Frame {
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
pub(crate) struct SegmentReader {
    pub(super) reader: BufReader<File>,
    pub(super) path: PathBuf,
    /// Where the next frame starts.
    pub(super) offset: u64,
    /// The segment's size when opened: a frame being appended meanwhile is not waited for.
    pub(super) len: u64,
    /// The segment's format version (a segment cut before its header is read as the current).
    pub(super) format: u32,
}

impl SegmentReader {
    /// Opens a segment and checks its header; `None` when it does not exist (any more).
    pub(crate) fn open(path: &Path) -> Result<Option<SegmentReader>, ServeError> {
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
            let format = LOG_FORMAT_VERSION;
            return Ok(Some(SegmentReader { reader, path: path.to_owned(), offset: len, len, format }));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        reader.read_exact(&mut header).map_err(|e| log_error("read", path, e))?;
        let format = check_header(&header).map_err(|e| log_error("read", path, e))?;
        Ok(Some(SegmentReader { reader, path: path.to_owned(), offset: HEADER_LEN, len, format }))
    }

    /// Reads the next frame, its payload into `payload`. Stops (returns `End`, `Short` or
    /// `Damaged`) at the end of the segment or at the first frame that is not whole.
    pub(crate) fn next_frame(&mut self, payload: &mut Vec<u8>) -> Result<Frame, ServeError> {
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

    /// Moves to `offset` (a frame boundary found by an earlier read of this segment), to read
    /// only the frames appended since; an offset at or past the end reads as the end.
    pub(crate) fn seek_to(&mut self, offset: u64) -> Result<(), ServeError> {
        use std::io::{Seek, SeekFrom};
        let offset = offset.clamp(self.offset, self.len);
        self.reader.seek(SeekFrom::Start(offset)).map_err(|e| log_error("read", &self.path, e))?;
        self.offset = offset;
        Ok(())
    }

    /// Where the next frame starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The segment's format version.
    pub(crate) fn format(&self) -> u32 {
        self.format
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

/// Checks a segment's header: the magic and a format version this code reads, which it returns.
pub(super) fn check_header(header: &[u8; HEADER_LEN as usize]) -> io::Result<u32> {
    let (magic, version) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "it is not a prediction log segment (it does not start with `MLFLOWLOG`)",
        ));
    }
    let version = u32::from_le_bytes([version[0], version[1], version[2], version[3]]);
    if !(UNTAGGED_FORMAT_VERSION..=LOG_FORMAT_VERSION).contains(&version) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the segment is in format version {version}, and this mlflow reads versions {UNTAGGED_FORMAT_VERSION} to {LOG_FORMAT_VERSION}"
            ),
        ));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
