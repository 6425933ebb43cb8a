//! Writing Parquet files: whole ([`write_parquet`], [`parquet_bytes`]) or a table at a time
//! ([`ParquetWriter`]).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use crate::data::{ColumnType, DataError, Schema, Table};

/// The Arrow schema a table is written with: `Int64`, `Float64` and `Utf8`, all nullable.
fn arrow_schema(schema: &Schema) -> Arc<ArrowSchema> {
    Arc::new(ArrowSchema::new(
        schema
            .fields
            .iter()
            .map(|(name, kind)| {
                let data_type = match kind {
                    ColumnType::Int => DataType::Int64,
                    ColumnType::Float => DataType::Float64,
                    ColumnType::Str => DataType::Utf8,
                };
                Field::new(name, data_type, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// Writes tables of one schema to a Parquet file, each table a row group of its own (split
/// past 1,048,576 rows, so memory stays bounded by the tables written), with snappy
/// compression (what pandas and pyarrow write by default): `Int` columns as `int64`, `Float`
/// as `double`, `Str` as UTF-8 strings, missing values as nulls.
///
/// Nothing is complete before [`ParquetWriter::finish`]: the footer, which readers need, is
/// written last.
///
/// ```
/// use mlflow_ml::data::{parse_parquet, Column, ParquetOptions, ParquetWriter, Table};
/// let part = |v: Vec<Option<i64>>| Table::new(vec![("x".into(), Column::Int(v))]);
/// let mut writer = ParquetWriter::new(Vec::new(), &part(vec![])?.schema(), "memory")?;
/// writer.write(&part(vec![Some(1), None])?)?;
/// writer.write(&part(vec![Some(3)])?)?;
/// let bytes = writer.finish()?;
/// assert_eq!(parse_parquet(bytes, "memory", &ParquetOptions::new())?, part(vec![Some(1), None, Some(3)])?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetWriter<W: Write + Send> {
    name: String,
    schema: Schema,
    arrow: Arc<ArrowSchema>,
    writer: ArrowWriter<W>,
}

impl<W: Write + Send> std::fmt::Debug for ParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("name", &self.name)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of tables of `schema` into `output`; `name` names the output in messages.
    ///
    /// See [`ParquetWriter`] for an example.
    pub fn new(output: W, schema: &Schema, name: &str) -> Result<Self, DataError> {
        if let Some((j, (dup, _))) = schema
            .fields
            .iter()
            .enumerate()
            .find(|(j, (n, _))| schema.fields[..*j].iter().any(|(m, _)| m == n))
        {
            let first = schema.fields.iter().position(|(n, _)| n == dup).unwrap_or(0);
            return Err(DataError::DuplicateName {
                file: name.to_owned(),
                name: dup.clone(),
                first: first + 1,
                second: j + 1,
            });
        }
        let arrow = arrow_schema(schema);
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(output, arrow.clone(), Some(properties))
            .map_err(|e| write_error(name, e))?;
        Ok(ParquetWriter { name: name.to_owned(), schema: schema.clone(), arrow, writer })
    }

    /// Writes the rows of `table`, whose names and types must be the writer's schema.
    ///
    /// See [`ParquetWriter`] for an example.
    pub fn write(&mut self, table: &Table) -> Result<(), DataError> {
        let schema = table.schema();
        if schema != self.schema {
            return Err(DataError::ParquetWrite {
                file: self.name.clone(),
                detail: format!(
                    "the table has columns {} but the writer was made for {}; write tables of one schema",
                    describe(&schema),
                    describe(&self.schema)
                ),
            });
        }
        let batch = table.to_record_batch()?;
        let batch = batch
            .with_schema(self.arrow.clone())
            .map_err(|e| DataError::ParquetWrite { file: self.name.clone(), detail: e.to_string() })?;
        self.writer.write(&batch).map_err(|e| write_error(&self.name, e))?;
        // A row group per table written, so memory stays bounded by the tables' size.
        self.writer.flush().map_err(|e| write_error(&self.name, e))
    }

    /// Writes the footer and returns the output.
    ///
    /// See [`ParquetWriter`] for an example.
    pub fn finish(self) -> Result<W, DataError> {
        let name = self.name;
        self.writer.into_inner().map_err(|e| write_error(&name, e))
    }
}

fn describe(schema: &Schema) -> String {
    schema.fields.iter().map(|(n, t)| format!("{n}: {t}")).collect::<Vec<_>>().join(", ")
}

fn write_error(file: &str, e: ParquetError) -> DataError {
    match e {
        ParquetError::External(source) => match source.downcast::<std::io::Error>() {
            Ok(source) => DataError::Write { file: file.to_owned(), source: *source },
            Err(other) => DataError::ParquetWrite { file: file.to_owned(), detail: other.to_string() },
        },
        other => DataError::ParquetWrite { file: file.to_owned(), detail: other.to_string() },
    }
}

/// The table as the bytes of a Parquet file (see [`ParquetWriter`] for the format).
///
/// ```
/// use mlflow_ml::data::{parquet_bytes, Column, Table};
/// let bytes = parquet_bytes(&Table::new(vec![("x".into(), Column::Int(vec![Some(1)]))])?)?;
/// assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parquet_bytes(table: &Table) -> Result<Vec<u8>, DataError> {
    let mut writer = ParquetWriter::new(Vec::new(), &table.schema(), "")?;
    writer.write(table)?;
    writer.finish()
}

/// Writes the table to a Parquet file at `path` (see [`ParquetWriter`] for the format):
/// written to a temporary file beside it, synced, and renamed over `path` only when complete,
/// so a reader never sees half a file and a failure leaves an existing file unchanged.
///
/// ```
/// use mlflow_ml::data::{write_parquet, Column, DataError, Table};
/// let dir = tempfile::tempdir()?;
/// let table = Table::new(vec![("x".into(), Column::Int(vec![Some(1)]))])?;
/// write_parquet(&table, dir.path().join("x.parquet"))?;
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 1); // no temporary file left
///
/// let err = write_parquet(&table, dir.path().join("no/such/folder/x.parquet")).unwrap_err();
/// assert!(matches!(err, DataError::Write { .. }), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_parquet(table: &Table, path: impl AsRef<Path>) -> Result<(), DataError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let io_error = |source| DataError::Write { file: name.clone(), source };
    let file = File::create(&tmp).map_err(io_error)?;
    let result = (|| {
        let mut writer = ParquetWriter::new(std::io::BufWriter::new(file), &table.schema(), &name)?;
        writer.write(table)?;
        let file = writer.finish()?.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io_error)
    })();
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}
