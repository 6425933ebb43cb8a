//! What can go wrong reading data or building a table.

use mlflow_core::codec::ContentHash;

use super::ColumnType;

/// Everything that can go wrong reading data or building a table.
///
/// Every message says what was wrong, where (file, 1-based line, column) and what to do. Text
/// from the input (file names, column names, fields) is quoted with its control characters
/// escaped ([`mlflow_core::text::escape_controls`]), so printing a message cannot drive a
/// terminal; the fields keep the text as it was.
///
/// ```
/// use mlflow_ml::data::{parse_csv, CsvOptions, DataError};
/// let err = parse_csv(b"a,b\n1,2\n3\n", "small.csv", &CsvOptions::default()).unwrap_err();
/// assert!(matches!(err, DataError::RaggedRow { line: 3, expected: 2, found: 1, .. }));
/// assert!(err.to_string().contains("small.csv"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error(
        "data file `{}` does not exist; check the path (relative paths start at the current directory)",
        esc(.file)
    )]
    NotFound {
        /// The path as given.
        file: String,
    },
    /// The file could not be read.
    #[error("cannot read data file `{}`: {source}; check the path and its permissions", esc(.file))]
    Io {
        /// The path as given.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not valid UTF-8, so it cannot be recorded as a data version.
    #[error("data file path `{}` is not valid UTF-8; rename the file or folder", esc(.file))]
    PathNotUtf8 {
        /// The path, lossily converted.
        file: String,
    },
    /// The file has no header row.
    #[error("`{}` is empty: a CSV file needs a header row and at least one data row", esc(.file))]
    Empty {
        /// The file.
        file: String,
    },
    /// The file has a header row but no data rows.
    #[error("`{}` has a header ({columns} columns) but no data rows; add data or check that the right file was given", esc(.file))]
    HeaderOnly {
        /// The file.
        file: String,
        /// Number of header fields.
        columns: usize,
    },
    /// A header field is empty.
    #[error("`{}` line {line}: header field {position} (1-based) has no name; give every column a name", esc(.file))]
    EmptyHeader {
        /// The file.
        file: String,
        /// 1-based line of the header row.
        line: u64,
        /// 1-based position of the field in the header.
        position: usize,
    },
    /// Two header fields have the same name.
    #[error("`{}` line {line}: column name `{}` appears at positions {first} and {second} (1-based); column names must be unique", esc(.file), esc(.name))]
    DuplicateHeader {
        /// The file.
        file: String,
        /// 1-based line of the header row.
        line: u64,
        /// The repeated name.
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// A record has a different number of fields than the header.
    #[error("`{}` line {line}: expected {expected} fields (as in the header), found {found}; look for an unquoted comma or a missing field", esc(.file))]
    RaggedRow {
        /// The file.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// 0-based index the row would have in the table.
        row: usize,
        /// Number of header fields.
        expected: usize,
        /// Number of fields in this record.
        found: usize,
    },
    /// With no header row ([`CsvOptions::no_header`](super::CsvOptions::no_header)), a record has
    /// a different number of fields than the column names given.
    #[error("`{}` line {line}: the record has {found} fields but {} column names were given ({}); {}", esc(.file), .names.len(), esc_list(.names), names_fix(*.row))]
    NamesMismatch {
        /// The file.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// 0-based index the row would have in the table.
        row: usize,
        /// The column names given (or the schema's, with no header row).
        names: Vec<String>,
        /// Number of fields in this record.
        found: usize,
    },
    /// [`CsvOptions::skip_lines`](super::CsvOptions::skip_lines) asks to skip more lines than the
    /// file has.
    #[error("`{}` has {lines} lines, fewer than the {skip} lines to skip (`skip_lines`); lower `skip_lines` or check that the right file was given", esc(.file))]
    SkipPastEnd {
        /// The file.
        file: String,
        /// Lines to skip.
        skip: usize,
        /// Lines in the file.
        lines: usize,
    },
    /// Nothing but blank lines is left after the lines skipped by
    /// [`CsvOptions::skip_lines`](super::CsvOptions::skip_lines).
    #[error("`{}`: nothing is left to read after skipping its first {skipped} lines (`skip_lines`); lower `skip_lines` (it counts the lines before the header row, or before the first data row when there is no header row)", esc(.file))]
    NothingAfterSkip {
        /// The file.
        file: String,
        /// Lines skipped.
        skipped: usize,
    },
    /// The [`CsvOptions`](super::CsvOptions) cannot read any file: a delimiter that is the quote
    /// character or a line end, column names given twice, a schema declaring a column twice...
    #[error("`{}`: invalid CSV options: {}", esc(.file), esc(.problem))]
    InvalidOptions {
        /// The file being read.
        file: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A field is not valid UTF-8.
    #[error("`{}` line {line}, column `{}`: the field is not valid UTF-8 (after {valid_up_to} valid bytes); re-save the file as UTF-8", esc(.file), esc(.column))]
    NotUtf8 {
        /// The file.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// The column's name (or its 1-based position when the header itself is bad).
        column: String,
        /// Valid bytes before the first bad one, within the field.
        valid_up_to: usize,
    },
    /// A value does not parse as the column's declared type.
    #[error("`{}` line {line}, column `{}`: `{}` is not a valid {expected} value; fix the value or declare the column with another type in the schema", esc(.file), esc(.column), esc(.value))]
    Parse {
        /// The file.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// 0-based table row.
        row: usize,
        /// The column's name.
        column: String,
        /// The field as written.
        value: String,
        /// The type the schema declares.
        expected: ColumnType,
    },
    /// NaN or an infinite value in a numeric column.
    #[error("`{}` line {line}, column `{}`: `{}` is not a finite number (NaN and infinities are not accepted); leave the field empty to mark a missing value", esc(.file), esc(.column), esc(.value))]
    NonFinite {
        /// The file.
        file: String,
        /// 1-based line where the record starts.
        line: u64,
        /// 0-based table row.
        row: usize,
        /// The column's name.
        column: String,
        /// The field as written.
        value: String,
    },
    /// A column the schema requires is not in the header.
    #[error("`{}` has no column `{}`, which the schema requires; columns found: {}", esc(.file), esc(.column), esc_list(.available))]
    MissingColumn {
        /// The file.
        file: String,
        /// The missing column.
        column: String,
        /// The header's names.
        available: Vec<String>,
    },
    /// The CSV parser failed for another reason.
    #[error("`{}`{}: malformed CSV: {}", esc(.file), .line.map(|l| format!(" line {l}")).unwrap_or_default(), esc(.message))]
    Csv {
        /// The file.
        file: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// The file's bytes no longer hash to the version recorded when it was opened.
    #[error("`{}` changed since it was opened (version {} when opened, {} now); rebuild the pipeline so the new version is part of the cache key", esc(.file), .expected.short(), .found.short())]
    Changed {
        /// The file.
        file: String,
        /// The version recorded by [`DataFile::open`](super::DataFile::open).
        expected: ContentHash,
        /// The version of the bytes read now.
        found: ContentHash,
    },
    /// Columns of different lengths in [`Table::new`](super::Table::new) or [`Table::with_column`](super::Table::with_column).
    #[error("column `{}` has {len} values but the table has {expected} rows; all columns must have the same length", esc(.column))]
    LengthMismatch {
        /// The offending column.
        column: String,
        /// Its length.
        len: usize,
        /// The table's row count.
        expected: usize,
    },
    /// A column name used twice in [`Table::new`](super::Table::new) or [`Table::select`](super::Table::select).
    #[error("column `{}` appears twice; column names must be unique", esc(.column))]
    DuplicateColumn {
        /// The repeated name.
        column: String,
    },
    /// A column that is not in the table.
    #[error("no column `{}` in the table; columns: {}", esc(.column), esc_list(.available))]
    UnknownColumn {
        /// The requested name.
        column: String,
        /// The table's names.
        available: Vec<String>,
    },
    /// A row index past the end of the table.
    #[error("row index {row} is out of range for a table of {rows} rows")]
    RowOutOfRange {
        /// The requested index.
        row: usize,
        /// The table's row count.
        rows: usize,
    },
    /// The file is not a Parquet file (no `PAR1` magic bytes at its start and end), or is cut
    /// short.
    #[error("`{}` is not a Parquet file: {detail}; check that the right file was given (a CSV file is read with `read_csv`)", esc(.file))]
    NotParquet {
        /// The file.
        file: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A Parquet file whose metadata or data cannot be decoded.
    #[error("`{}` is a damaged or unsupported Parquet file: {}; write it again from its source (pyarrow, pandas, polars, Spark)", esc(.file), esc(.detail))]
    ParquetCorrupt {
        /// The file.
        file: String,
        /// The decoder's message.
        detail: String,
    },
    /// A Parquet column compressed with a codec this build does not read.
    #[error("`{}`, column `{}`: compressed with {}, which this build does not read (it reads snappy, zstd and uncompressed Parquet); write the file again with compression=\"snappy\" or \"zstd\"", esc(.file), esc(.column), esc(.codec))]
    UnsupportedCodec {
        /// The file.
        file: String,
        /// The column (its dotted path for a nested one).
        column: String,
        /// The codec, as Parquet names it in lower case (`gzip`, `brotli`, `lz4`, ...).
        codec: String,
    },
    /// A Parquet or Arrow column of a type a table cannot hold.
    #[error("{}, column `{}`: type {} cannot be read into a table (it holds integers, floats and text); cast the column to int64, float64 or string before writing it, or leave it out of the columns read", place(.file), esc(.column), esc(.arrow_type))]
    UnsupportedType {
        /// The file; empty for an in-memory record batch.
        file: String,
        /// The column.
        column: String,
        /// The Arrow type, as Arrow prints it (e.g. `Timestamp(ns)`).
        arrow_type: String,
    },
    /// A Parquet or Arrow value a table cannot hold: NaN or an infinity, or an unsigned integer
    /// above `i64::MAX`.
    #[error("{} row {} (1-based), column `{}`: `{}` {problem}", place(.file), .row + 1, esc(.column), esc(.value))]
    BadValue {
        /// The file; empty for an in-memory record batch.
        file: String,
        /// The column.
        column: String,
        /// 0-based table row.
        row: usize,
        /// The value as text.
        value: String,
        /// What is wrong and what to do.
        problem: &'static str,
    },
    /// Two columns of a Parquet file or record batch share a name.
    #[error("{}: column name `{}` appears at positions {first} and {second} (1-based); column names must be unique, so rename one before writing the file", place(.file), esc(.name))]
    DuplicateName {
        /// The file; empty for an in-memory record batch.
        file: String,
        /// The repeated name.
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// A record batch whose names or column types differ from the first batch's.
    #[error("{}: record batch {batch} (1-based) has columns {} but the first has {}; give batches of one schema", place(.file), esc_list(.found), esc_list(.expected))]
    SchemaMismatch {
        /// The file; empty for in-memory record batches.
        file: String,
        /// 1-based index of the batch.
        batch: usize,
        /// The first batch's names.
        expected: Vec<String>,
        /// This batch's names and types.
        found: Vec<String>,
    },
    /// A Parquet file with columns but no rows.
    #[error("`{}` has {columns} columns but no rows; add data or check that the right file was given", esc(.file))]
    NoRows {
        /// The file.
        file: String,
        /// Number of columns.
        columns: usize,
    },
    /// Writing a file failed.
    #[error("cannot write `{}`: {source}; check that the folder exists and is writable and that the disk has room", esc(.file))]
    Write {
        /// The file.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet encoder refused the table.
    #[error("cannot encode {} as Parquet: {}", place(.file), esc(.detail))]
    ParquetWrite {
        /// The file; empty for an in-memory table.
        file: String,
        /// The encoder's message.
        detail: String,
    },
}

/// Where columnar data came from, as shown in messages: the quoted file name, or `the record
/// batch` for data that came from memory.
fn place(file: &str) -> String {
    if file.is_empty() { "the record batch".to_owned() } else { format!("`{}`", esc(file)) }
}

/// Text from the input as shown in messages: control characters and bidi overrides escaped.
fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    mlflow_core::text::escape_controls(text)
}

/// What to do about [`DataError::NamesMismatch`]: on the first row the names are likely wrong,
/// on a later one the record.
fn names_fix(row: usize) -> &'static str {
    if row == 0 {
        "give one name per field (`CsvOptions::no_header`, or the schema's columns with \
         `no_header_with_schema`), or check the delimiter"
    } else {
        "the rows before have one field per name: look for an unquoted delimiter or a missing field"
    }
}

/// Names as shown in messages: escaped, comma-separated.
fn esc_list(names: &[String]) -> String {
    names.iter().map(|n| esc(n)).collect::<Vec<_>>().join(", ")
}
