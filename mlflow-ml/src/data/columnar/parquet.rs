//! Reading Parquet files: whole ([`read_parquet`], [`parse_parquet`]) or a batch of rows at a
//! time ([`ParquetFile::batches`]). Writing is in `parquet_writer`.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use arrow_array::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Compression;
use parquet::errors::ParquetError;

use super::arrow::{check_schema, column_type_of, concat, table_from_batch, unsupported};
use crate::data::{ColumnType, DataError, DataFile, Ingested, Schema, Table};

/// Rows decoded at a time, unless [`ParquetOptions::batch_rows`] says otherwise.
///
/// ```
/// assert_eq!(mlflow_ml::data::ParquetOptions::new().batch_rows, mlflow_ml::data::DEFAULT_BATCH_ROWS);
/// ```
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// The PAR1 magic bytes at the start and the end of every Parquet file.
const MAGIC: &[u8; 4] = b"PAR1";

/// How to read a Parquet file: the columns to read and the rows decoded at a time.
///
/// ```
/// use mlflow_ml::data::ParquetOptions;
/// let options = ParquetOptions::new().columns(["Age", "Sex"]).batch_rows(1024);
/// assert_eq!(options.columns.as_deref(), Some(&["Age".to_owned(), "Sex".to_owned()][..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    /// The columns to read, in this order; `None` (the default) reads every column in file
    /// order. Columns not read are not decoded, and their types do not matter.
    pub columns: Option<Vec<String>>,
    /// Rows decoded at a time (at least 1; default [`DEFAULT_BATCH_ROWS`]): the memory of a
    /// batch read with [`ParquetFile::batches`] is proportional to it.
    pub batch_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions { columns: None, batch_rows: DEFAULT_BATCH_ROWS }
    }
}

impl ParquetOptions {
    /// Every column, [`DEFAULT_BATCH_ROWS`] rows at a time.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::data::ParquetOptions::new().columns, None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads only these columns, in this order.
    ///
    /// ```
    /// let o = mlflow_ml::data::ParquetOptions::new().columns(["b", "a"]);
    /// assert_eq!(o.columns, Some(vec!["b".to_owned(), "a".to_owned()]));
    /// ```
    pub fn columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Decodes this many rows at a time.
    ///
    /// ```
    /// assert_eq!(mlflow_ml::data::ParquetOptions::new().batch_rows(10).batch_rows, 10);
    /// ```
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }
}

/// Where the bytes are: an open file (read a row group at a time) or memory.
#[derive(Debug)]
enum Source {
    File(File),
    Bytes(Bytes),
}

/// An open Parquet file: its metadata read and checked, its rows not yet decoded.
///
/// Opening reads only the footer (the schema, the row groups and their sizes); rows are decoded
/// by [`ParquetFile::read`] (all at once) or [`ParquetFile::batches`] (a batch at a time, for
/// files larger than memory).
///
/// ```
/// use mlflow_ml::data::{parquet_bytes, Column, ColumnType, ParquetFile, ParquetOptions, Table};
/// let table = Table::new(vec![
///     ("id".into(), Column::Int((0..10).map(Some).collect())),
///     ("name".into(), Column::Str((0..10).map(|i| Some(format!("n{i}"))).collect())),
/// ])?;
/// let file = ParquetFile::from_bytes(parquet_bytes(&table)?, "mem.parquet")?;
/// assert_eq!(file.rows(), 10);
/// assert_eq!(file.names(), ["id", "name"]);
/// assert!(matches!(file.column_type("id"), Some(Ok(ColumnType::Int))));
/// assert!(file.column_type("nope").is_none());
///
/// // Four rows at a time, only the `name` column.
/// let options = ParquetOptions::new().columns(["name"]).batch_rows(4);
/// let sizes: Vec<usize> = file.batches(&options)?.map(|t| t.map(|t| t.rows())).collect::<Result<_, _>>()?;
/// assert_eq!(sizes, [4, 4, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ParquetFile {
    name: String,
    size: u64,
    source: Source,
    metadata: ArrowReaderMetadata,
}

impl ParquetFile {
    /// Opens the file at `path` and reads its metadata.
    ///
    /// # Errors
    /// [`DataError::NotFound`] and [`DataError::Io`] when it cannot be read,
    /// [`DataError::NotParquet`] when it is not a Parquet file, [`DataError::ParquetCorrupt`]
    /// when its metadata cannot be decoded.
    ///
    /// ```
    /// use mlflow_ml::data::{DataError, ParquetFile};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.parquet");
    /// std::fs::write(&path, "x,y\n1,2\n")?;
    /// assert!(matches!(ParquetFile::open(&path), Err(DataError::NotParquet { .. })));
    /// assert!(matches!(ParquetFile::open(dir.path().join("none.parquet")), Err(DataError::NotFound { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<ParquetFile, DataError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DataError::NotFound { file: name.clone() },
            _ => DataError::Io { file: name.clone(), source },
        })?;
        let len = file.metadata().map_err(|source| DataError::Io { file: name.clone(), source })?.len();
        let mut head = [0u8; 4];
        let mut tail = [0u8; 4];
        read_at(&mut file, 0, &mut head, len)
            .map_err(|source| DataError::Io { file: name.clone(), source })?;
        read_at(&mut file, len.saturating_sub(4), &mut tail, len)
            .map_err(|source| DataError::Io { file: name.clone(), source })?;
        check_magic(&name, len, &head, &tail)?;
        let metadata = load_metadata(&file, &name)?;
        Ok(ParquetFile { name, size: len, source: Source::File(file), metadata })
    }

    /// Reads the metadata of a Parquet file held in memory; `name` names it in messages.
    ///
    /// ```
    /// use mlflow_ml::data::{DataError, ParquetFile};
    /// let err = ParquetFile::from_bytes(b"PAR1 cut short".to_vec(), "cut.parquet").unwrap_err();
    /// assert!(matches!(err, DataError::NotParquet { .. }), "{err}");
    /// assert!(err.to_string().starts_with("`cut.parquet` is not a Parquet file"), "{err}");
    /// ```
    pub fn from_bytes(bytes: impl Into<Vec<u8>>, name: &str) -> Result<ParquetFile, DataError> {
        let bytes = Bytes::from(bytes.into());
        let len = bytes.len();
        let head: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).unwrap_or_default();
        let tail: [u8; 4] =
            bytes.get(len.saturating_sub(4)..).and_then(|b| b.try_into().ok()).unwrap_or_default();
        check_magic(name, len as u64, &head, &tail)?;
        let metadata = load_metadata(&bytes, name)?;
        Ok(ParquetFile { name: name.to_owned(), size: len as u64, source: Source::Bytes(bytes), metadata })
    }

    /// The file's name, as used in messages.
    ///
    /// ```
    /// # use mlflow_ml::data::{parquet_bytes, Column, ParquetFile, Table};
    /// # let bytes = parquet_bytes(&Table::new(vec![("x".into(), Column::Int(vec![Some(1)]))])?)?;
    /// assert_eq!(ParquetFile::from_bytes(bytes, "x.parquet")?.name(), "x.parquet");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's size in bytes.
    ///
    /// ```
    /// # use mlflow_ml::data::{parquet_bytes, Column, ParquetFile, Table};
    /// # let bytes = parquet_bytes(&Table::new(vec![("x".into(), Column::Int(vec![Some(1)]))])?)?;
    /// let len = bytes.len() as u64;
    /// assert_eq!(ParquetFile::from_bytes(bytes, "x.parquet")?.size(), len);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The number of rows, from the metadata.
    ///
    /// See [`ParquetFile`] for an example.
    pub fn rows(&self) -> u64 {
        u64::try_from(self.metadata.metadata().file_metadata().num_rows()).unwrap_or(0)
    }

    /// The names of the file's columns, in file order.
    ///
    /// See [`ParquetFile`] for an example.
    pub fn names(&self) -> Vec<String> {
        self.metadata.schema().fields().iter().map(|f| f.name().clone()).collect()
    }

    /// The table type of column `name`: `None` when there is no such column, an error when a
    /// table cannot hold its type (see [`column_type_of`]).
    ///
    /// See [`ParquetFile`] for an example.
    pub fn column_type(&self, name: &str) -> Option<Result<ColumnType, DataError>> {
        let field = self.metadata.schema().fields().iter().find(|f| f.name() == name)?;
        Some(
            column_type_of(field.data_type()).ok_or_else(|| unsupported(&self.name, name, field.data_type())),
        )
    }

    /// The names and table types of every column, in file order.
    ///
    /// # Errors
    /// [`DataError::UnsupportedType`] for the first column a table cannot hold,
    /// [`DataError::DuplicateName`] when two columns share a name.
    ///
    /// ```
    /// # use mlflow_ml::data::{parquet_bytes, Column, ColumnType, ParquetFile, Schema, Table};
    /// # let bytes = parquet_bytes(&Table::new(vec![("x".into(), Column::Float(vec![None]))])?)?;
    /// let file = ParquetFile::from_bytes(bytes, "x.parquet")?;
    /// assert_eq!(file.schema()?, Schema::new([("x", ColumnType::Float)]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schema(&self) -> Result<Schema, DataError> {
        let arrow = self.metadata.schema();
        check_schema(arrow, &self.name)?;
        Ok(Schema::new(
            arrow
                .fields()
                .iter()
                .map(|f| (f.name().clone(), column_type_of(f.data_type()).unwrap_or(ColumnType::Str))),
        ))
    }

    /// Decodes the rows of `options.columns` (every column when `None`) into one table.
    ///
    /// See [`parse_parquet`] for an example.
    pub fn read(&self, options: &ParquetOptions) -> Result<Table, DataError> {
        let batches = self.batches(options)?;
        let names = batches.names.clone();
        let tables = batches.collect::<Result<Vec<_>, _>>()?;
        if tables.is_empty() {
            // No rows: the columns are there all the same, empty and of their types.
            let schema = self.metadata.schema();
            let mut columns = Vec::with_capacity(names.len());
            for name in &names {
                let field = schema.fields().iter().find(|f| f.name() == name);
                let kind = field.and_then(|f| column_type_of(f.data_type())).unwrap_or(ColumnType::Str);
                columns.push((name.clone(), empty_column(kind)));
            }
            return Table::new(columns);
        }
        concat(tables, &self.name)
    }

    /// The rows of `options.columns` (every column when `None`), `options.batch_rows` at a time:
    /// an iterator of tables of those columns, in that order. The column types are checked
    /// before any row is decoded; a batch that cannot be decoded is an error and ends the
    /// iteration.
    ///
    /// # Errors
    /// [`DataError::MissingColumn`] for a column the file does not have,
    /// [`DataError::DuplicateColumn`] for a column named twice, [`DataError::UnsupportedType`]
    /// for a column a table cannot hold; each batch as [`parse_parquet`].
    ///
    /// See [`ParquetFile`] for an example.
    pub fn batches(&self, options: &ParquetOptions) -> Result<ParquetBatches, DataError> {
        let schema = self.metadata.schema();
        let fields = schema.fields();
        let wanted: Vec<String> = match &options.columns {
            Some(columns) => columns.clone(),
            None => {
                check_schema(schema, &self.name)?;
                self.names()
            }
        };
        let mut indices = Vec::with_capacity(wanted.len());
        for (k, name) in wanted.iter().enumerate() {
            if wanted[..k].contains(name) {
                return Err(DataError::DuplicateColumn { column: name.clone() });
            }
            let Some(j) = fields.iter().position(|f| f.name() == name) else {
                return Err(DataError::MissingColumn {
                    file: self.name.clone(),
                    column: name.clone(),
                    available: self.names(),
                });
            };
            if fields[j + 1..].iter().any(|f| f.name() == name) {
                check_schema(schema, &self.name)?;
            }
            if column_type_of(fields[j].data_type()).is_none() {
                return Err(unsupported(&self.name, name, fields[j].data_type()));
            }
            indices.push(j);
        }
        check_codecs(&self.metadata, &indices, &self.name)?;
        let mask = ProjectionMask::roots(self.metadata.parquet_schema(), indices.iter().copied());
        let batch_size = options.batch_rows.max(1);
        let name = self.name.clone();
        let reader = guarded(&self.name, || {
            let built = match &self.source {
                Source::File(file) => {
                    let file =
                        file.try_clone().map_err(|source| DataError::Io { file: name.clone(), source })?;
                    ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                        .with_projection(mask)
                        .with_batch_size(batch_size)
                        .build()
                }
                Source::Bytes(bytes) => {
                    ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), self.metadata.clone())
                        .with_projection(mask)
                        .with_batch_size(batch_size)
                        .build()
                }
            };
            built.map_err(|e| decode_error(&name, e))
        })?;
        Ok(ParquetBatches { name: self.name.clone(), names: wanted, reader: Some(reader), rows: 0 })
    }
}

/// The rows of a Parquet file, a batch at a time: see [`ParquetFile::batches`].
pub struct ParquetBatches {
    name: String,
    names: Vec<String>,
    reader: Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
    rows: usize,
}

impl std::fmt::Debug for ParquetBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetBatches")
            .field("name", &self.name)
            .field("names", &self.names)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetBatches {
    /// The columns of every batch, in order.
    ///
    /// ```
    /// # use mlflow_ml::data::{parquet_bytes, Column, ParquetFile, ParquetOptions, Table};
    /// # let bytes = parquet_bytes(&Table::new(vec![("a".into(), Column::Int(vec![])), ("b".into(), Column::Int(vec![]))])?)?;
    /// let file = ParquetFile::from_bytes(bytes, "x.parquet")?;
    /// assert_eq!(file.batches(&ParquetOptions::new().columns(["b", "a"]))?.names(), ["b", "a"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Rows returned so far.
    ///
    /// ```
    /// # use mlflow_ml::data::{parquet_bytes, Column, ParquetFile, ParquetOptions, Table};
    /// # let bytes = parquet_bytes(&Table::new(vec![("a".into(), Column::Int(vec![Some(1), Some(2)]))])?)?;
    /// let mut batches = ParquetFile::from_bytes(bytes, "x.parquet")?.batches(&ParquetOptions::new())?;
    /// assert_eq!(batches.rows_read(), 0);
    /// batches.next();
    /// assert_eq!(batches.rows_read(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows_read(&self) -> usize {
        self.rows
    }
}

impl Iterator for ParquetBatches {
    type Item = Result<Table, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        let name = &self.name;
        let next = guarded(name, || Ok(reader.next()));
        let batch = match next {
            Ok(None) => None,
            Ok(Some(Ok(batch))) => Some(Ok(batch)),
            Ok(Some(Err(e))) => Some(Err(decode_error(name, ParquetError::ArrowError(e.to_string())))),
            Err(e) => Some(Err(e)),
        };
        let result = match batch? {
            Ok(batch) => select(&batch, &self.names, name, self.rows),
            Err(e) => Err(e),
        };
        match &result {
            Ok(table) => self.rows += table.rows(),
            // A reader that failed (or panicked) is not used again.
            Err(_) => self.reader = None,
        }
        Some(result)
    }
}

/// The batch's columns as a table, in the order asked for (the reader returns file order).
fn select(batch: &RecordBatch, names: &[String], file: &str, first_row: usize) -> Result<Table, DataError> {
    let table = table_from_batch(batch, file, first_row)?;
    if table.names() == names {
        return Ok(table);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    table.select(&names)
}

fn empty_column(kind: ColumnType) -> crate::data::Column {
    match kind {
        ColumnType::Int => crate::data::Column::Int(vec![]),
        ColumnType::Float => crate::data::Column::Float(vec![]),
        ColumnType::Str => crate::data::Column::Str(vec![]),
    }
}

/// Runs a call into the Parquet decoder, turning a panic on malformed data into an error.
///
/// The decoder validates what it reads, but a malformed file has been known to reach an
/// assertion or an out-of-bounds index in some versions: a bad file must be an error, not a
/// crash of the program reading it. (The panic message is still printed by the panic hook.)
fn guarded<T>(file: &str, f: impl FnOnce() -> Result<T, DataError>) -> Result<T, DataError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_owned());
            Err(DataError::ParquetCorrupt {
                file: file.to_owned(),
                detail: format!("the decoder failed on malformed data ({message})"),
            })
        }
    }
}

/// A decoder error: an I/O error as such, anything else a damaged file.
fn decode_error(file: &str, e: ParquetError) -> DataError {
    match e {
        ParquetError::External(source) => match source.downcast::<std::io::Error>() {
            Ok(source) => DataError::Io { file: file.to_owned(), source: *source },
            Err(other) => DataError::ParquetCorrupt { file: file.to_owned(), detail: other.to_string() },
        },
        other => DataError::ParquetCorrupt { file: file.to_owned(), detail: other.to_string() },
    }
}

fn check_magic(name: &str, len: u64, head: &[u8; 4], tail: &[u8; 4]) -> Result<(), DataError> {
    let detail = if len < 12 {
        format!("it has {len} bytes, fewer than the 12 of the smallest Parquet file")
    } else if head != MAGIC {
        "it does not start with the Parquet magic bytes `PAR1`".to_owned()
    } else if tail == b"PARE" {
        "it is an encrypted Parquet file, which is not supported; write it without encryption".to_owned()
    } else if tail != MAGIC {
        "it does not end with the Parquet magic bytes `PAR1` (is it cut short, or still being written?)"
            .to_owned()
    } else {
        return Ok(());
    };
    Err(DataError::NotParquet { file: name.to_owned(), detail })
}

fn read_at(file: &mut File, offset: u64, buf: &mut [u8; 4], len: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    if len < 4 {
        return Ok(());
    }
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

fn load_metadata<T: parquet::file::reader::ChunkReader>(
    reader: &T,
    name: &str,
) -> Result<ArrowReaderMetadata, DataError> {
    guarded(name, || {
        ArrowReaderMetadata::load(reader, ArrowReaderOptions::new()).map_err(|e| decode_error(name, e))
    })
}

/// The codecs this build reads: a column compressed otherwise is refused before decoding, with
/// what to do.
fn check_codecs(metadata: &ArrowReaderMetadata, roots: &[usize], file: &str) -> Result<(), DataError> {
    let schema = metadata.parquet_schema();
    for group in metadata.metadata().row_groups() {
        for (leaf, chunk) in group.columns().iter().enumerate() {
            if leaf >= schema.num_columns() || !roots.contains(&schema.get_column_root_idx(leaf)) {
                continue;
            }
            let codec = match chunk.compression() {
                Compression::UNCOMPRESSED | Compression::SNAPPY | Compression::ZSTD(_) => continue,
                Compression::GZIP(_) => "gzip",
                Compression::BROTLI(_) => "brotli",
                Compression::LZ4 => "lz4",
                Compression::LZ4_RAW => "lz4_raw",
                Compression::LZO => "lzo",
                #[allow(unreachable_patterns)]
                _ => "an unknown codec",
            };
            return Err(DataError::UnsupportedCodec {
                file: file.to_owned(),
                column: chunk.column_path().string(),
                codec: codec.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads the Parquet file `file` was opened on, refusing it if its bytes changed since, and
/// decodes it; the Parquet counterpart of [`read_csv`](crate::data::read_csv).
///
/// Column types come from the file's schema, not from its values (see [`column_type_of`]);
/// `options.columns` reads only some columns (the others are not decoded). The data version
/// is recorded with the run, when there is one, as `read_csv` does.
///
/// ```
/// use mlflow_ml::data::{read_parquet, write_parquet, Column, ColumnType, DataFile, ParquetOptions, Table};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("people.parquet");
/// let table = Table::new(vec![
///     ("name".into(), Column::Str(vec![Some("Ada".into()), Some("Alan".into())])),
///     ("age".into(), Column::Int(vec![Some(36), None])),
/// ])?;
/// write_parquet(&table, &path)?;
///
/// let ingested = read_parquet(&DataFile::open(&path)?, &ParquetOptions::new())?;
/// assert_eq!((ingested.rows, ingested.schema.get("age")), (2, Some(ColumnType::Int)));
/// assert_eq!(ingested.table, table);
///
/// let ages = read_parquet(&DataFile::open(&path)?, &ParquetOptions::new().columns(["age"]))?;
/// assert_eq!(ages.table.names(), ["age"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_parquet(file: &DataFile, options: &ParquetOptions) -> Result<Ingested, DataError> {
    let bytes = file.read_bytes()?;
    let table = parse_parquet(bytes, &file.path, options)?;
    // Inside a pipeline step, the run records the data version; outside one there is no run.
    let _ = mlflow_core::track::log_data(&file.path, file.version);
    Ok(Ingested { version: file.version, rows: table.rows(), schema: table.schema(), table })
}

/// Decodes a Parquet file held in memory; `name` names it in messages.
///
/// # Errors
/// [`DataError::NotParquet`] for bytes that are not a Parquet file, [`DataError::ParquetCorrupt`]
/// for a file that cannot be decoded, [`DataError::UnsupportedType`] for a column a table cannot
/// hold, [`DataError::BadValue`] for a value it cannot hold (NaN, an infinity, an unsigned
/// integer above `i64::MAX`), [`DataError::MissingColumn`] for a column asked for that the file
/// does not have.
///
/// ```
/// use mlflow_ml::data::{parquet_bytes, parse_parquet, Column, DataError, ParquetOptions, Table};
/// let table = Table::new(vec![("x".into(), Column::Float(vec![Some(0.5), None]))])?;
/// let bytes = parquet_bytes(&table)?;
/// assert_eq!(parse_parquet(bytes.clone(), "x.parquet", &ParquetOptions::new())?, table);
///
/// let err = parse_parquet(bytes, "x.parquet", &ParquetOptions::new().columns(["y"])).unwrap_err();
/// assert!(matches!(err, DataError::MissingColumn { .. }), "{err}");
/// assert!(parse_parquet(b"x\n1\n".to_vec(), "x.csv", &ParquetOptions::new()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_parquet(
    bytes: impl Into<Vec<u8>>,
    name: &str,
    options: &ParquetOptions,
) -> Result<Table, DataError> {
    ParquetFile::from_bytes(bytes, name)?.read(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;
    use crate::data::{ParquetWriter, parquet_bytes, write_parquet};

    fn sample(rows: usize) -> Table {
        Table::new(vec![
            (
                "id".into(),
                Column::Int((0..rows as i64).map(|i| (i % 7 != 3).then_some(i * 1_000_003 - 5)).collect()),
            ),
            (
                "x".into(),
                Column::Float((0..rows).map(|i| (i % 5 != 1).then_some(i as f64 / 3.0 - 1e-9)).collect()),
            ),
            (
                "s".into(),
                Column::Str((0..rows).map(|i| (i % 4 != 2).then(|| format!("v{i}, é\n\"q\""))).collect()),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn tables_round_trip_through_files_and_bytes() {
        let table = sample(1000);
        let bytes = parquet_bytes(&table).unwrap();
        assert_eq!(parse_parquet(bytes.clone(), "t", &ParquetOptions::new()).unwrap(), table);
        for batch_rows in [1, 7, 1000, 5000] {
            let options = ParquetOptions::new().batch_rows(batch_rows);
            assert_eq!(parse_parquet(bytes.clone(), "t", &options).unwrap(), table);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&table, &path).unwrap();
        let ingested = read_parquet(&DataFile::open(&path).unwrap(), &ParquetOptions::new()).unwrap();
        assert_eq!((ingested.rows, ingested.schema, ingested.table), (1000, table.schema(), table.clone()));
        // Empty tables keep their columns and types.
        let empty = table.take(&[]);
        assert_eq!(
            parse_parquet(parquet_bytes(&empty).unwrap(), "t", &ParquetOptions::new()).unwrap(),
            empty
        );
    }

    #[test]
    fn several_row_groups_concatenate_and_batches_cross_them() {
        let table = sample(100);
        let mut writer = ParquetWriter::new(Vec::new(), &table.schema(), "t").unwrap();
        let parts = [0..30, 30..31, 31..100];
        for part in parts.clone() {
            writer.write(&table.take(&part.collect::<Vec<_>>())).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let file = ParquetFile::from_bytes(bytes, "t").unwrap();
        assert_eq!(file.metadata.metadata().num_row_groups(), 3);
        assert_eq!(file.rows(), 100);
        assert_eq!(file.read(&ParquetOptions::new()).unwrap(), table);
        let sizes: Vec<usize> =
            file.batches(&ParquetOptions::new().batch_rows(40)).unwrap().map(|t| t.unwrap().rows()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        // A writer refuses a table of another schema.
        let mut writer = ParquetWriter::new(Vec::new(), &table.schema(), "t").unwrap();
        let err = writer.write(&table.select(&["id"]).unwrap()).unwrap_err();
        assert!(matches!(err, DataError::ParquetWrite { .. }), "{err}");
    }

    #[test]
    fn columns_are_projected_in_the_order_asked() {
        let table = sample(10);
        let file = ParquetFile::from_bytes(parquet_bytes(&table).unwrap(), "t.parquet").unwrap();
        let got = file.read(&ParquetOptions::new().columns(["s", "id"])).unwrap();
        assert_eq!(got, table.select(&["s", "id"]).unwrap());
        let err = file.read(&ParquetOptions::new().columns(["id", "id"])).unwrap_err();
        assert!(matches!(err, DataError::DuplicateColumn { .. }), "{err}");
        let err = file.read(&ParquetOptions::new().columns(["nope\x07"])).unwrap_err();
        assert!(matches!(&err, DataError::MissingColumn { available, .. } if available.len() == 3), "{err}");
        assert!(err.to_string().contains("`nope\\u{7}`"), "{err}");
    }

    #[test]
    fn a_changed_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&sample(3), &path).unwrap();
        let file = DataFile::open(&path).unwrap();
        write_parquet(&sample(4), &path).unwrap();
        let err = read_parquet(&file, &ParquetOptions::new()).unwrap_err();
        assert!(matches!(err, DataError::Changed { .. }), "{err}");
    }

    #[test]
    fn write_failures_leave_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_parquet(&sample(3), dir.path().join("missing/t.parquet")).unwrap_err();
        assert!(matches!(err, DataError::Write { .. }), "{err}");
        assert!(err.to_string().contains("check that the folder exists"), "{err}");
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, "keep").unwrap();
        let dup = Table::new(vec![("a".into(), Column::Int(vec![]))]).unwrap();
        let schema = Schema::new([("a", ColumnType::Int), ("a", ColumnType::Int)]);
        assert!(matches!(ParquetWriter::new(Vec::new(), &schema, "d"), Err(DataError::DuplicateName { .. })));
        write_parquet(&dup, &path).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn files_that_are_not_parquet_are_named_as_such() {
        let cases: [(&[u8], &str); 5] = [
            (b"", "0 bytes"),
            (b"id,x\n1,2\n", "fewer than the 12"),
            (b"id,x,y,z\n1,2,3,4\n", "does not start with the Parquet magic bytes"),
            (b"PAR1 and then some text", "does not end with"),
            (b"PAR1 encrypted, or so PARE", "encrypted"),
        ];
        for (bytes, fragment) in cases {
            let err = ParquetFile::from_bytes(bytes.to_vec(), "f\x1b.parquet").unwrap_err();
            assert!(matches!(err, DataError::NotParquet { .. }), "{err}");
            let message = err.to_string();
            assert!(message.contains(fragment) && message.contains("`f\\u{1b}.parquet`"), "{message}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.parquet");
        std::fs::write(&path, b"PAR").unwrap();
        assert!(matches!(ParquetFile::open(&path), Err(DataError::NotParquet { .. })));
        std::fs::write(&path, b"PAR1\0\0\0\0\0\0\0\0PAR1").unwrap();
        let err = ParquetFile::open(&path).unwrap_err();
        assert!(matches!(err, DataError::ParquetCorrupt { .. }), "{err}");
    }

    /// Every truncation and many bit flips of a real file: each is read to an error or to a
    /// table, never a panic out of the reader.
    #[test]
    fn truncated_and_bit_flipped_files_are_errors_not_panics() {
        let mut writer = ParquetWriter::new(Vec::new(), &sample(0).schema(), "t").unwrap();
        writer.write(&sample(20)).unwrap();
        writer.write(&sample(5)).unwrap();
        let bytes = writer.finish().unwrap();
        let read = |b: Vec<u8>| {
            let outcome = std::panic::catch_unwind(|| {
                ParquetFile::from_bytes(b, "bad.parquet")
                    .and_then(|f| f.read(&ParquetOptions::new().batch_rows(8)))
            });
            outcome.expect("the reader let a panic out")
        };
        let mut errors = 0;
        for len in 0..bytes.len() {
            if read(bytes[..len].to_vec()).is_err() {
                errors += 1;
            }
        }
        assert_eq!(errors, bytes.len(), "every truncated file is an error");
        let mut flipped_errors = 0;
        for i in 0..bytes.len() {
            for bit in [0, 3, 7] {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                if read(b).is_err() {
                    flipped_errors += 1;
                }
            }
        }
        assert!(flipped_errors > 0, "some flips break the file");
    }
}
