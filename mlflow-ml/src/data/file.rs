//! A data file pinned to one version (its bytes' content hash), and the ingest artifact.

use std::path::Path;

use serde::{Deserialize, Serialize};

use mlflow_core::codec::ContentHash;

use super::{CsvOptions, DataError, Schema, StatCache, Table, parse_csv};

/// A data file pinned to one version: its path and the content hash of its bytes.
///
/// Take this as a pipeline param (`p.param("train", DataFile::open(path)?)`): its content, hence
/// every downstream cache key, changes when the file's bytes change, so an edited file can never be
/// served from a stale cache entry. The path is where the bytes are, not what they are: it is
/// recorded with every run (the param's value) but left out of the param's key, so the same bytes
/// in another folder (a copy of the project, a CI checkout, a pod mounting the data elsewhere) hit
/// the cache.
///
/// A pipeline built with a `DataFile` stays tied to that version: rerun after the file changed, its
/// steps still hit the cache for the old version (their results are those of the bytes it names),
/// and a step that has to read the file again fails with [`DataError::Changed`] instead of
/// silently reading other bytes. Build the pipeline again (open the file again) to use the new data.
///
/// ```
/// use mlflow_core::codec::ContentHash;
/// use mlflow_ml::data::DataFile;
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x\n1\n")?;
/// let file = DataFile::open(&path)?;
/// assert_eq!(file.version, ContentHash::of(b"x\n1\n"));
///
/// std::fs::write(&path, "x\n2\n")?;
/// assert_ne!(DataFile::open(&path)?.version, file.version); // new bytes, new version
/// assert!(file.read_bytes().is_err()); // the old handle refuses the new bytes
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DataFile {
    /// The path as given to [`DataFile::open`] (not part of the param's key).
    #[serde(with = "mlflow_core::codec::location")]
    pub path: String,
    /// The content hash of the file's bytes when opened.
    pub version: ContentHash,
}

impl DataFile {
    /// Opens the file and finds the version of its bytes: from this user's stat cache
    /// ([`StatCache::from_env`]) when the file has not changed since it was last hashed, else by
    /// hashing its bytes (streamed: a file of any size is hashed in constant memory). Set
    /// `MLFLOW_STAT_CACHE=off` to hash on every open.
    ///
    /// ```
    /// use mlflow_ml::data::{DataError, DataFile};
    /// let err = DataFile::open("no/such/file.csv").unwrap_err();
    /// assert!(matches!(err, DataError::NotFound { .. }));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<DataFile, DataError> {
        DataFile::open_with(path, &StatCache::from_env())
    }

    /// Like [`DataFile::open`], with the stat cache `cache` (or none: [`StatCache::disabled`]).
    ///
    /// ```
    /// use mlflow_core::codec::ContentHash;
    /// use mlflow_ml::data::{DataFile, StatCache};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x\n1\n")?;
    /// let cache = StatCache::disabled();
    /// assert_eq!(DataFile::open_with(&path, &cache)?.version, ContentHash::of(b"x\n1\n"));
    /// assert_eq!(cache.hashed(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, cache: &StatCache) -> Result<DataFile, DataError> {
        let path = path.as_ref();
        let Some(text) = path.to_str() else {
            return Err(DataError::PathNotUtf8 { file: path.to_string_lossy().into_owned() });
        };
        let version = cache.version(text)?;
        Ok(DataFile { path: text.to_owned(), version })
    }

    /// The file's bytes, read again now; an error if they no longer hash to [`DataFile::version`].
    ///
    /// ```
    /// use mlflow_ml::data::DataFile;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.csv");
    /// std::fs::write(&path, "x\n1\n")?;
    /// assert_eq!(DataFile::open(&path)?.read_bytes()?, b"x\n1\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_bytes(&self) -> Result<Vec<u8>, DataError> {
        let bytes = read_file(&self.path)?;
        let found = ContentHash::of(&bytes);
        if found != self.version {
            return Err(DataError::Changed { file: self.path.clone(), expected: self.version, found });
        }
        Ok(bytes)
    }
}

fn read_file(path: &str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| io_error(path, source))
}

/// The error for a failure to open or read the data file at `path`.
pub(super) fn io_error(path: &str, source: std::io::Error) -> DataError {
    match source.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound { file: path.to_owned() },
        _ => DataError::Io { file: path.to_owned(), source },
    }
}

/// The ingest artifact: the table, the version (content hash) of the bytes it came from, its row
/// count and schema. Not the path: the same bytes read from elsewhere give the same artifact, so
/// every step downstream hits the cache (the run records the path with its params).
///
/// ```
/// use mlflow_ml::data::{read_csv, CsvOptions, DataFile};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x,y\n1,a\n2,b\n")?;
/// let ingested = read_csv(&DataFile::open(&path)?, &CsvOptions::default())?;
/// assert_eq!((ingested.rows, ingested.schema.fields.len()), (2, 2));
/// assert_eq!(ingested.version, mlflow_core::codec::ContentHash::of(b"x,y\n1,a\n2,b\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// The data version: the content hash of the bytes read.
    pub version: ContentHash,
    /// Number of data rows.
    pub rows: usize,
    /// Column names and types as read.
    pub schema: Schema,
    /// The data.
    pub table: Table,
}

/// Reads the file `file` was opened on, refusing it if its bytes changed since, and parses it.
///
/// It also records the data version: inside a running pipeline step, the file's path and
/// [`DataFile::version`] are logged to the run ([`mlflow_core::track::log_data`]), so the run
/// says which bytes it read. Outside a running step nothing is recorded.
///
/// ```
/// use mlflow_ml::data::{read_csv, CsvOptions, DataError, DataFile};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x\n1\n")?;
/// let file = DataFile::open(&path)?;
/// std::fs::write(&path, "x\n2\n")?;
/// let err = read_csv(&file, &CsvOptions::default()).unwrap_err();
/// assert!(matches!(err, DataError::Changed { .. }));
/// assert!(err.to_string().contains("changed since it was opened"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_csv(file: &DataFile, options: &CsvOptions) -> Result<Ingested, DataError> {
    let bytes = file.read_bytes()?;
    let table = parse_csv(&bytes, &file.path, options)?;
    // Inside a pipeline step, the run records the data version; outside one there is no run.
    let _ = mlflow_core::track::log_data(&file.path, file.version);
    Ok(Ingested { version: file.version, rows: table.rows(), schema: table.schema(), table })
}
