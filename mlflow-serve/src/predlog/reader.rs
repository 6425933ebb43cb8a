//! Reading a log, oldest entry first, across its segments: its predictions only (the fast path
//! of monitoring), or every entry.

use std::path::PathBuf;

use super::frame::UNTAGGED_FORMAT_VERSION;
use super::frame::{Decoded, Frame, SegmentReader, decode_entry, decode_monitored, decode_record};
use super::{LogEntry, PredictionRecord};
use crate::ServeError;

/// Streams the records of prediction log segments, oldest first: see
/// [`PredictionLog::records`](crate::PredictionLog::records).
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
    untagged: usize,
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
    /// Reads these segment files in this order (see [`PredictionLog::segment_files`](crate::PredictionLog::segment_files)). A file
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
            untagged: 0,
        }
    }

    /// Frames skipped so far because they are not a whole, intact record (see
    /// [`LogContents::torn`](crate::LogContents::torn)).
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

    /// Segments of format 1 opened so far: written before raw rows and failed requests were
    /// logged, so they hold predictions only.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).untagged_segments(), 0);
    /// ```
    pub fn untagged_segments(&self) -> usize {
        self.untagged
    }
}

impl LogReader {
    /// Every entry instead of the predictions only: raw rows and failed requests too.
    ///
    /// ```
    /// let mut entries = mlflow_serve::LogReader::new([]).entries();
    /// assert!(entries.next().is_none());
    /// ```
    pub fn entries(self) -> LogEntries {
        LogEntries { reader: self, raw_rows: true }
    }

    /// Predictions and failed requests, without decoding raw rows (monitoring's pass).
    pub(crate) fn monitored(self) -> LogEntries {
        LogEntries { reader: self, raw_rows: false }
    }

    /// The next whole frame's entry, decoded by `decode`; frames it calls `Other` are skipped,
    /// frames it cannot decode are counted as torn.
    #[inline]
    fn next_with<T>(&mut self, decode: impl Fn(u32, &[u8]) -> Decoded<T>) -> Option<Result<T, ServeError>> {
        loop {
            let Some(segment) = &mut self.current else {
                let path = self.paths.next()?;
                match SegmentReader::open(&path) {
                    Ok(Some(segment)) => {
                        self.segments += 1;
                        self.untagged += usize::from(segment.format() == UNTAGGED_FORMAT_VERSION);
                        self.current = Some(segment);
                    }
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            match segment.next_frame(&mut self.payload) {
                Ok(Frame::Whole) => match decode(segment.format(), &self.payload) {
                    Decoded::Entry(entry) => return Some(Ok(entry)),
                    Decoded::Other => {}
                    // Intact but not an entry (not written by this code): skip that frame only.
                    Decoded::Invalid => self.torn += 1,
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

impl Iterator for LogReader {
    type Item = Result<PredictionRecord, ServeError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_with(decode_record)
    }
}

/// Streams every entry of prediction log segments, oldest first: see
/// [`PredictionLog::entries`](crate::PredictionLog::entries).
#[derive(Debug)]
pub struct LogEntries {
    reader: LogReader,
    /// Whether raw rows are decoded and yielded (monitoring skips them undecoded).
    raw_rows: bool,
}

impl LogEntries {
    /// See [`LogReader::torn`].
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).entries().torn(), 0);
    /// ```
    pub fn torn(&self) -> usize {
        self.reader.torn
    }

    /// See [`LogReader::segments`].
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).entries().segments(), 0);
    /// ```
    pub fn segments(&self) -> usize {
        self.reader.segments
    }

    /// See [`LogReader::untagged_segments`].
    ///
    /// ```
    /// assert_eq!(mlflow_serve::LogReader::new([]).entries().untagged_segments(), 0);
    /// ```
    pub fn untagged_segments(&self) -> usize {
        self.reader.untagged
    }
}

impl Iterator for LogEntries {
    type Item = Result<LogEntry, ServeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.raw_rows {
            self.reader.next_with(decode_entry)
        } else {
            self.reader.next_with(decode_monitored)
        }
    }
}
