//! Reading a log, oldest record first, across its segments.

use std::path::PathBuf;

use super::PredictionRecord;
use super::frame::{Frame, SegmentReader, decode_record};
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
