//! Ingestion: CSV files into typed, column-oriented tables; the data version of a file is the
//! content hash of its bytes.
//!
//! This room has one job: turn bytes on disk into a [`Table`] whose every value is typed, and say
//! exactly which bytes those were. It knows nothing of features, models or validation rules.
//!
//! - [`DataFile::open`] reads a file and hashes its bytes: the [`DataFile`] (path + version) is
//!   what a pipeline takes as a param, so the cache key changes whenever the file's bytes change.
//!   A path alone would give a stale cache hit after the file is edited. A [`StatCache`] keeps
//!   unchanged large files from being hashed again on every run.
//! - [`read_csv`] re-reads the file, refuses it if its bytes changed since it was opened, and
//!   parses it into an [`Ingested`] (table + data version + row count + schema), the ingest
//!   artifact.
//! - [`parse_csv`] parses bytes already in memory.
//! - With the `parquet` feature: `read_parquet` (the same checks and [`Ingested`] as
//!   [`read_csv`], column types from the file's schema as `column_type_of` maps them),
//!   `ParquetFile` (a batch of rows at a time, only the columns asked for), `write_parquet`, and
//!   `Table::from_record_batch` / `Table::to_record_batch` for Arrow.
//!
//! # Rules of the CSV reader
//! - The first record is the header; names must be non-empty and unique. [`CsvOptions`] can skip
//!   leading lines first, or say there is no header row and give the names (or a [`Schema`] does).
//! - Every record must have as many fields as the header ([`DataError::RaggedRow`] otherwise).
//! - A field that is empty or only ASCII whitespace is missing (`None`).
//! - Column types are inferred, unless a [`Schema`] is given in [`CsvOptions`]: `Int` if every
//!   present value parses as an `i64`, else `Float` if every one parses as a finite `f64`, else
//!   `Str`. A column with no values at all is `Str`. Numbers may have surrounding spaces; text is
//!   kept verbatim.
//! - NaN and infinite values in a numeric column are an error, never silently accepted.
//! - The file must be UTF-8 (a leading byte-order mark is skipped).
//!
//! Errors name the file, the 1-based line (as an editor shows it) and the column.
//!
//! ```
//! use mlflow_ml::data::{read_csv, ColumnType, CsvOptions, DataFile};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("people.csv");
//! std::fs::write(&path, "name,age,height\nAda,36,1.65\n\"Turing, Alan\",,1.78\n")?;
//!
//! let file = DataFile::open(&path)?; // hashes the bytes: the data version
//! let ingested = read_csv(&file, &CsvOptions::default())?;
//! assert_eq!(ingested.rows, 2);
//! assert_eq!(ingested.schema.get("age"), Some(ColumnType::Int));
//! let age = ingested.table.column("age").unwrap().as_int().unwrap();
//! assert_eq!(age, &[Some(36), None]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "parquet")]
mod columnar;
mod csv;
mod error;
mod file;
mod stat_cache;
mod table;

pub use self::csv::{CsvOptions, Header, LineCounter, parse_csv};
pub use error::DataError;
pub use file::{DataFile, Ingested, read_csv};
pub use stat_cache::StatCache;
pub use table::{Column, ColumnType, Schema, Table, Value};

/// The Arrow array crate this room converts to and from (feature `parquet`): name
/// `RecordBatch` and the array types through it to get the same version.
#[cfg(feature = "parquet")]
pub use arrow_array;
/// The Arrow schema crate (feature `parquet`): `DataType`, `Field`, `Schema`.
#[cfg(feature = "parquet")]
pub use arrow_schema;
#[cfg(feature = "parquet")]
pub use columnar::{
    DEFAULT_BATCH_ROWS, ParquetBatches, ParquetFile, ParquetOptions, ParquetWriter, column_type_of,
    parquet_bytes, parse_parquet, read_parquet, write_parquet,
};
