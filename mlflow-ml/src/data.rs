//! Ingestion: CSV files into typed, column-oriented tables; the data version of a file is the
//! content hash of its bytes.
//!
//! This room has one job: turn bytes on disk into a [`Table`] whose every value is typed, and say
//! exactly which bytes those were. It knows nothing of features, models or validation rules.
//!
//! - [`DataFile::open`] reads a file and hashes its bytes: the [`DataFile`] (path + version) is
//!   what a pipeline takes as a param, so the cache key changes whenever the file's bytes change.
//!   A path alone would give a stale cache hit after the file is edited.
//! - [`read_csv`] re-reads the file, refuses it if its bytes changed since it was opened, and
//!   parses it into an [`Ingested`] (table + source + row count + schema), the ingest artifact.
//! - [`parse_csv`] parses bytes already in memory.
//!
//! # Rules of the CSV reader
//! - The first record is the header; names must be non-empty and unique.
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

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use mlflow_core::codec::ContentHash;

/// Everything that can go wrong reading data or building a table.
///
/// Every message says what was wrong, where (file, 1-based line, column) and what to do.
///
/// ```
/// use mlflow_ml::data::{parse_csv, CsvOptions, DataError};
/// let err = parse_csv(b"a,b\n1,2\n3\n", "small.csv", &CsvOptions::default()).unwrap_err();
/// assert!(matches!(err, DataError::RaggedRow { line: 3, expected: 2, found: 1, .. }));
/// assert!(err.to_string().contains("small.csv"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file does not exist.
    #[error(
        "data file `{file}` does not exist; check the path (relative paths start at the current directory)"
    )]
    NotFound {
        /// The path as given.
        file: String,
    },
    /// The file could not be read.
    #[error("cannot read data file `{file}`: {source}; check the path and its permissions")]
    Io {
        /// The path as given.
        file: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The path is not valid UTF-8, so it cannot be recorded as a data version.
    #[error("data file path `{file}` is not valid UTF-8; rename the file or folder")]
    PathNotUtf8 {
        /// The path, lossily converted.
        file: String,
    },
    /// The file has no header row.
    #[error("`{file}` is empty: a CSV file needs a header row and at least one data row")]
    Empty {
        /// The file.
        file: String,
    },
    /// The file has a header row but no data rows.
    #[error("`{file}` has a header ({columns} columns) but no data rows; add data or check that the right file was given")]
    HeaderOnly {
        /// The file.
        file: String,
        /// Number of header fields.
        columns: usize,
    },
    /// A header field is empty.
    #[error("`{file}` line 1: header field {position} (1-based) has no name; give every column a name")]
    EmptyHeader {
        /// The file.
        file: String,
        /// 1-based position of the field in the header.
        position: usize,
    },
    /// Two header fields have the same name.
    #[error("`{file}` line 1: column name `{name}` appears at positions {first} and {second} (1-based); column names must be unique")]
    DuplicateHeader {
        /// The file.
        file: String,
        /// The repeated name.
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// A record has a different number of fields than the header.
    #[error("`{file}` line {line}: expected {expected} fields (as in the header), found {found}; look for an unquoted comma or a missing field")]
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
    /// A field is not valid UTF-8.
    #[error("`{file}` line {line}, column `{column}`: the field is not valid UTF-8 (after {valid_up_to} valid bytes); re-save the file as UTF-8")]
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
    #[error("`{file}` line {line}, column `{column}`: `{value}` is not a valid {expected} value; fix the value or declare the column with another type in the schema")]
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
    #[error("`{file}` line {line}, column `{column}`: `{value}` is not a finite number (NaN and infinities are not accepted); leave the field empty to mark a missing value")]
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
    #[error("`{file}` has no column `{column}`, which the schema requires; columns found: {}", .available.join(", "))]
    MissingColumn {
        /// The file.
        file: String,
        /// The missing column.
        column: String,
        /// The header's names.
        available: Vec<String>,
    },
    /// The CSV parser failed for another reason.
    #[error("`{file}`{}: malformed CSV: {message}", .line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Csv {
        /// The file.
        file: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// The file's bytes no longer hash to the version recorded when it was opened.
    #[error("`{file}` changed since it was opened (version {} when opened, {} now); rebuild the pipeline so the new version is part of the cache key", .expected.short(), .found.short())]
    Changed {
        /// The file.
        file: String,
        /// The version recorded by [`DataFile::open`].
        expected: ContentHash,
        /// The version of the bytes read now.
        found: ContentHash,
    },
    /// Columns of different lengths in [`Table::new`] or [`Table::with_column`].
    #[error("column `{column}` has {len} values but the table has {expected} rows; all columns must have the same length")]
    LengthMismatch {
        /// The offending column.
        column: String,
        /// Its length.
        len: usize,
        /// The table's row count.
        expected: usize,
    },
    /// A column name used twice in [`Table::new`] or [`Table::select`].
    #[error("column `{column}` appears twice; column names must be unique")]
    DuplicateColumn {
        /// The repeated name.
        column: String,
    },
    /// A column that is not in the table.
    #[error("no column `{column}` in the table; columns: {}", .available.join(", "))]
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
}

/// The type of a column.
///
/// ```
/// use mlflow_ml::data::ColumnType;
/// assert_eq!(ColumnType::Float.to_string(), "float");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ColumnType {
    /// 64-bit signed integers.
    Int,
    /// 64-bit floats (finite).
    Float,
    /// UTF-8 text.
    Str,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Int => "integer",
            ColumnType::Float => "float",
            ColumnType::Str => "text",
        })
    }
}

/// One value of a table, owned; used to show offending values in reports.
///
/// ```
/// use mlflow_ml::data::{Column, Value};
/// let c = Column::Str(vec![Some("male".into()), None]);
/// assert_eq!(c.value(0), Some(Value::Str("male".into())));
/// assert_eq!(c.value(1), Some(Value::Missing));
/// assert_eq!(c.value(2), None);
/// assert_eq!(Value::Str("male".into()).to_string(), "\"male\"");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// A missing value.
    Missing,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Str(String),
}

impl fmt::Display for Value {
    /// Missing shows as `missing`, text in double quotes (so spaces show), numbers as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("missing"),
            Value::Int(x) => write!(f, "{x}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One column's values; `None` is a missing value (an empty CSV field).
///
/// ```
/// use mlflow_ml::data::{Column, ColumnType};
/// let c = Column::Int(vec![Some(1), None, Some(3)]);
/// assert_eq!(c.column_type(), ColumnType::Int);
/// assert_eq!(c.len(), 3);
/// assert_eq!(c.null_count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Column {
    /// Integers.
    Int(Vec<Option<i64>>),
    /// Floats.
    Float(Vec<Option<f64>>),
    /// Text.
    Str(Vec<Option<String>>),
}

impl Column {
    /// The column's type.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, ColumnType};
    /// assert_eq!(Column::Str(vec![]).column_type(), ColumnType::Str);
    /// ```
    pub fn column_type(&self) -> ColumnType {
        match self {
            Column::Int(_) => ColumnType::Int,
            Column::Float(_) => ColumnType::Float,
            Column::Str(_) => ColumnType::Str,
        }
    }

    /// Number of values.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert_eq!(Column::Float(vec![Some(1.0), None]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    /// Whether the column has no values.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert!(Column::Int(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, if this is an `Int` column.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert_eq!(Column::Int(vec![Some(2)]).as_int(), Some(&[Some(2)][..]));
    /// assert_eq!(Column::Float(vec![]).as_int(), None);
    /// ```
    pub fn as_int(&self) -> Option<&[Option<i64>]> {
        match self {
            Column::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The values, if this is a `Float` column.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert_eq!(Column::Float(vec![None]).as_float(), Some(&[None][..]));
    /// ```
    pub fn as_float(&self) -> Option<&[Option<f64>]> {
        match self {
            Column::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The values, if this is a `Str` column.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// let c = Column::Str(vec![Some("S".into())]);
    /// assert_eq!(c.as_text().unwrap()[0].as_deref(), Some("S"));
    /// ```
    pub fn as_text(&self) -> Option<&[Option<String>]> {
        match self {
            Column::Str(v) => Some(v),
            _ => None,
        }
    }

    /// Number of missing values.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert_eq!(Column::Str(vec![None, Some("x".into()), None]).null_count(), 2);
    /// ```
    pub fn null_count(&self) -> usize {
        match self {
            Column::Int(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Float(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Str(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    /// Whether value `row` is missing; `false` past the end.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// let c = Column::Int(vec![Some(1), None]);
    /// assert!(!c.is_missing(0) && c.is_missing(1) && !c.is_missing(9));
    /// ```
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            Column::Int(v) => matches!(v.get(row), Some(None)),
            Column::Float(v) => matches!(v.get(row), Some(None)),
            Column::Str(v) => matches!(v.get(row), Some(None)),
        }
    }

    /// Value `row` as `f64` (ints widened); `None` when missing, text or past the end.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// assert_eq!(Column::Int(vec![Some(3)]).f64_at(0), Some(3.0));
    /// assert_eq!(Column::Str(vec![Some("3".into())]).f64_at(0), None);
    /// ```
    pub fn f64_at(&self, row: usize) -> Option<f64> {
        match self {
            Column::Int(v) => v.get(row).copied().flatten().map(|x| x as f64),
            Column::Float(v) => v.get(row).copied().flatten(),
            Column::Str(_) => None,
        }
    }

    /// Value `row` as text, if this is a `Str` column and the value is present.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// let c = Column::Str(vec![Some("C85".into()), None]);
    /// assert_eq!(c.str_at(0), Some("C85"));
    /// assert_eq!(c.str_at(1), None);
    /// ```
    pub fn str_at(&self, row: usize) -> Option<&str> {
        match self {
            Column::Str(v) => v.get(row).and_then(|x| x.as_deref()),
            _ => None,
        }
    }

    /// Value `row` as an owned [`Value`]; `None` past the end.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Value};
    /// assert_eq!(Column::Float(vec![Some(7.25)]).value(0), Some(Value::Float(7.25)));
    /// ```
    pub fn value(&self, row: usize) -> Option<Value> {
        if row >= self.len() {
            return None;
        }
        Some(match self {
            Column::Int(v) => v[row].map_or(Value::Missing, Value::Int),
            Column::Float(v) => v[row].map_or(Value::Missing, Value::Float),
            Column::Str(v) => v[row].clone().map_or(Value::Missing, Value::Str),
        })
    }

    /// The values at `rows`, in that order (repeats allowed).
    ///
    /// # Panics
    /// If an index is past the end; use [`Column::try_take`] for indices from outside the program.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// let c = Column::Int(vec![Some(10), Some(20), None]);
    /// assert_eq!(c.take(&[2, 0, 0]), Column::Int(vec![None, Some(10), Some(10)]));
    /// ```
    pub fn take(&self, rows: &[usize]) -> Column {
        match self {
            Column::Int(v) => Column::Int(rows.iter().map(|&r| v[r]).collect()),
            Column::Float(v) => Column::Float(rows.iter().map(|&r| v[r]).collect()),
            Column::Str(v) => Column::Str(rows.iter().map(|&r| v[r].clone()).collect()),
        }
    }

    /// Like [`Column::take`], but an index past the end is an error.
    ///
    /// ```
    /// use mlflow_ml::data::Column;
    /// let c = Column::Int(vec![Some(10)]);
    /// assert!(c.try_take(&[0]).is_ok());
    /// assert!(c.try_take(&[1]).is_err());
    /// ```
    pub fn try_take(&self, rows: &[usize]) -> Result<Column, DataError> {
        let len = self.len();
        match rows.iter().find(|&&r| r >= len) {
            Some(&row) => Err(DataError::RowOutOfRange { row, rows: len }),
            None => Ok(self.take(rows)),
        }
    }
}

/// Column names and types, in order.
///
/// ```
/// use mlflow_ml::data::{ColumnType, Schema};
/// let s = Schema::new([("Age", ColumnType::Float), ("Sex", ColumnType::Str)]);
/// assert_eq!(s.get("Sex"), Some(ColumnType::Str));
/// assert_eq!(s.names().collect::<Vec<_>>(), ["Age", "Sex"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// `(name, type)` per column.
    pub fields: Vec<(String, ColumnType)>,
}

impl Schema {
    /// A schema from `(name, type)` pairs, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{ColumnType, Schema};
    /// let s = Schema::new([("PassengerId", ColumnType::Int)]);
    /// assert_eq!(s.fields.len(), 1);
    /// ```
    pub fn new<N: Into<String>>(fields: impl IntoIterator<Item = (N, ColumnType)>) -> Schema {
        Schema { fields: fields.into_iter().map(|(n, t)| (n.into(), t)).collect() }
    }

    /// The type of column `name`.
    ///
    /// ```
    /// use mlflow_ml::data::{ColumnType, Schema};
    /// assert_eq!(Schema::new([("a", ColumnType::Int)]).get("b"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<ColumnType> {
        self.fields.iter().find(|(n, _)| n == name).map(|&(_, t)| t)
    }

    /// The column names, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{ColumnType, Schema};
    /// assert_eq!(Schema::new([("a", ColumnType::Int)]).names().next(), Some("a"));
    /// ```
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_str())
    }
}

/// A typed table: named columns of equal length.
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// let t = Table::new(vec![
///     ("x".to_string(), Column::Int(vec![Some(1), Some(2)])),
///     ("y".to_string(), Column::Float(vec![Some(0.5), None])),
/// ])?;
/// assert_eq!(t.rows(), 2);
/// assert_eq!(t.names(), ["x", "y"]);
/// # Ok::<(), mlflow_ml::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TableParts")]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

/// A [`Table`] as stored, checked before it becomes one: a decoded table keeps the invariants
/// of [`Table::new`] (one unique name per column, every column `rows` long).
#[derive(Deserialize)]
#[serde(rename = "Table")]
struct TableParts {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl TryFrom<TableParts> for Table {
    type Error = String;

    fn try_from(parts: TableParts) -> Result<Table, String> {
        let TableParts { names, columns, rows } = parts;
        if names.len() != columns.len() {
            return Err(format!("a table of {} column names but {} columns", names.len(), columns.len()));
        }
        for (j, (name, column)) in names.iter().zip(&columns).enumerate() {
            if column.len() != rows {
                return Err(format!("column `{name}` has {} values in a table of {rows} rows", column.len()));
            }
            if names[..j].contains(name) {
                return Err(format!("column name `{name}` appears twice in a table"));
            }
        }
        Ok(Table { names, columns, rows })
    }
}

impl Table {
    /// Builds a table; every column must have the same length and names must be unique.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, DataError, Table};
    /// let bad = Table::new(vec![
    ///     ("x".to_string(), Column::Int(vec![Some(1)])),
    ///     ("y".to_string(), Column::Int(vec![])),
    /// ]);
    /// assert!(matches!(bad, Err(DataError::LengthMismatch { .. })));
    /// ```
    pub fn new(columns: Vec<(String, Column)>) -> Result<Table, DataError> {
        let rows = columns.first().map(|(_, c)| c.len()).unwrap_or(0);
        let mut names: Vec<String> = Vec::with_capacity(columns.len());
        let mut cols = Vec::with_capacity(columns.len());
        for (name, column) in columns {
            if column.len() != rows {
                return Err(DataError::LengthMismatch { column: name, len: column.len(), expected: rows });
            }
            if names.contains(&name) {
                return Err(DataError::DuplicateColumn { column: name });
            }
            names.push(name);
            cols.push(column);
        }
        Ok(Table { names, columns: cols, rows })
    }

    /// Number of rows.
    ///
    /// ```
    /// use mlflow_ml::data::Table;
    /// assert_eq!(Table::new(vec![])?.rows(), 0);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column names, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![]))])?;
    /// assert_eq!(t.names(), ["a"]);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column with this name.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![Some(1)]))])?;
    /// assert_eq!(t.column("a").unwrap().len(), 1);
    /// assert!(t.column("b").is_none());
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i])
    }

    /// The column with this name, or an error naming the columns there are.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![]))])?;
    /// let err = t.require_column("Age").unwrap_err();
    /// assert_eq!(err.to_string(), "no column `Age` in the table; columns: a");
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn require_column(&self, name: &str) -> Result<&Column, DataError> {
        self.column(name).ok_or_else(|| DataError::UnknownColumn {
            column: name.to_owned(),
            available: self.names.clone(),
        })
    }

    /// `(name, column)` pairs, in order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![]))])?;
    /// assert_eq!(t.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["a"]);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.names.iter().map(String::as_str).zip(&self.columns)
    }

    /// Names and types.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, ColumnType, Table};
    /// let t = Table::new(vec![("a".into(), Column::Float(vec![]))])?;
    /// assert_eq!(t.schema().get("a"), Some(ColumnType::Float));
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn schema(&self) -> Schema {
        Schema { fields: self.iter().map(|(n, c)| (n.to_owned(), c.column_type())).collect() }
    }

    /// The rows at `rows`, in that order (repeats allowed): a split's subset, a bootstrap sample.
    ///
    /// # Panics
    /// If an index is `>= self.rows()`; use [`Table::try_take`] for indices from outside the
    /// program.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(1), Some(2), Some(3)]))])?;
    /// let sub = t.take(&[2, 0]);
    /// assert_eq!(sub.column("x").unwrap().as_int().unwrap(), &[Some(3), Some(1)]);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn take(&self, rows: &[usize]) -> Table {
        Table {
            names: self.names.clone(),
            columns: self.columns.iter().map(|c| c.take(rows)).collect(),
            rows: rows.len(),
        }
    }

    /// Like [`Table::take`], but an index past the end is an error.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, DataError, Table};
    /// let t = Table::new(vec![("x".into(), Column::Int(vec![Some(1)]))])?;
    /// assert!(matches!(t.try_take(&[5]), Err(DataError::RowOutOfRange { row: 5, rows: 1 })));
    /// # Ok::<(), DataError>(())
    /// ```
    pub fn try_take(&self, rows: &[usize]) -> Result<Table, DataError> {
        match rows.iter().find(|&&r| r >= self.rows) {
            Some(&row) => Err(DataError::RowOutOfRange { row, rows: self.rows }),
            None => Ok(self.take(rows)),
        }
    }

    /// A table of the named columns, in the given order.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![
    ///     ("a".into(), Column::Int(vec![Some(1)])),
    ///     ("b".into(), Column::Int(vec![Some(2)])),
    /// ])?;
    /// assert_eq!(t.select(&["b"])?.names(), ["b"]);
    /// assert!(t.select(&["c"]).is_err());
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn select(&self, names: &[&str]) -> Result<Table, DataError> {
        let mut columns = Vec::with_capacity(names.len());
        for &name in names {
            columns.push((name.to_owned(), self.require_column(name)?.clone()));
        }
        let mut table = Table::new(columns)?;
        table.rows = self.rows;
        Ok(table)
    }

    /// This table with `column` added at the end, or replacing the column of the same name in place.
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![Some(1)]))])?;
    /// let t = t.with_column("b", Column::Float(vec![Some(0.5)]))?;
    /// let t = t.with_column("a", Column::Int(vec![Some(9)]))?;
    /// assert_eq!(t.names(), ["a", "b"]);
    /// assert_eq!(t.column("a").unwrap().as_int().unwrap(), &[Some(9)]);
    /// assert!(t.with_column("c", Column::Int(vec![])).is_err()); // wrong length
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn with_column(mut self, name: impl Into<String>, column: Column) -> Result<Table, DataError> {
        let name = name.into();
        if !self.names.is_empty() && column.len() != self.rows {
            return Err(DataError::LengthMismatch { column: name, len: column.len(), expected: self.rows });
        }
        if self.names.is_empty() {
            self.rows = column.len();
        }
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.columns[i] = column,
            None => {
                self.names.push(name);
                self.columns.push(column);
            }
        }
        Ok(self)
    }

    /// This table without the named column (unchanged if there is none).
    ///
    /// ```
    /// use mlflow_ml::data::{Column, Table};
    /// let t = Table::new(vec![("a".into(), Column::Int(vec![])), ("b".into(), Column::Int(vec![]))])?;
    /// assert_eq!(t.without("a").names(), ["b"]);
    /// # Ok::<(), mlflow_ml::data::DataError>(())
    /// ```
    pub fn without(mut self, name: &str) -> Table {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            self.names.remove(i);
            self.columns.remove(i);
        }
        self
    }
}

/// A data file pinned to one version: its path and the content hash of its bytes.
///
/// Take this as a pipeline param (`p.param("train", DataFile::open(path)?)`): its content, hence
/// every downstream cache key, changes when the file's bytes change, so an edited file can never be
/// served from a stale cache entry. The path is part of it too, so moving the file is a new input.
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
    /// The path as given to [`DataFile::open`].
    pub path: String,
    /// The content hash of the file's bytes when opened.
    pub version: ContentHash,
}

impl DataFile {
    /// Reads the file and hashes its bytes.
    ///
    /// ```
    /// use mlflow_ml::data::{DataError, DataFile};
    /// let err = DataFile::open("no/such/file.csv").unwrap_err();
    /// assert!(matches!(err, DataError::NotFound { .. }));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<DataFile, DataError> {
        let path = path.as_ref();
        let Some(text) = path.to_str() else {
            return Err(DataError::PathNotUtf8 { file: path.to_string_lossy().into_owned() });
        };
        let bytes = read_file(text)?;
        Ok(DataFile { path: text.to_owned(), version: ContentHash::of(&bytes) })
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
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound { file: path.to_owned() },
        _ => DataError::Io { file: path.to_owned(), source },
    })
}

/// How to read a CSV file. Serializable, so it can be a pipeline param.
///
/// ```
/// use mlflow_ml::data::{ColumnType, CsvOptions, Schema};
/// let opts = CsvOptions::default()
///     .with_schema(Schema::new([("Age", ColumnType::Float)]))
///     .with_delimiter(b';');
/// assert_eq!(opts.delimiter, b';');
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvOptions {
    /// Columns that must be present, with their types. Other columns are kept, their types inferred.
    pub schema: Option<Schema>,
    /// Field delimiter (default `,`).
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { schema: None, delimiter: b',' }
    }
}

impl CsvOptions {
    /// Declares the types of some columns; each must be present in the file.
    ///
    /// ```
    /// use mlflow_ml::data::{ColumnType, CsvOptions, Schema};
    /// let opts = CsvOptions::default().with_schema(Schema::new([("Fare", ColumnType::Float)]));
    /// assert!(opts.schema.is_some());
    /// ```
    pub fn with_schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Sets the field delimiter.
    ///
    /// ```
    /// use mlflow_ml::data::CsvOptions;
    /// assert_eq!(CsvOptions::default().with_delimiter(b'\t').delimiter, b'\t');
    /// ```
    pub fn with_delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// The ingest artifact: the table, the exact file version it came from, its row count and schema
/// (what a run records about its data).
///
/// ```
/// use mlflow_ml::data::{read_csv, CsvOptions, DataFile};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.csv");
/// std::fs::write(&path, "x,y\n1,a\n2,b\n")?;
/// let ingested = read_csv(&DataFile::open(&path)?, &CsvOptions::default())?;
/// assert_eq!((ingested.rows, ingested.schema.fields.len()), (2, 2));
/// assert_eq!(ingested.source.version, mlflow_core::codec::ContentHash::of(b"x,y\n1,a\n2,b\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// The file and the version (content hash) that was read.
    pub source: DataFile,
    /// Number of data rows.
    pub rows: usize,
    /// Column names and types as read.
    pub schema: Schema,
    /// The data.
    pub table: Table,
}

/// Reads the file `file` was opened on, refusing it if its bytes changed since, and parses it.
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
    Ok(Ingested { source: file.clone(), rows: table.rows(), schema: table.schema(), table })
}

/// Parses CSV bytes already in memory; `file` is the name used in error messages.
///
/// ```
/// use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, DataError};
/// let t = parse_csv(b"id,score\n1,0.5\n2,\n", "mem.csv", &CsvOptions::default())?;
/// assert_eq!(t.schema().fields[1], ("score".to_string(), ColumnType::Float));
///
/// let err = parse_csv(b"id,score\n1,NaN\n", "mem.csv", &CsvOptions::default()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "`mem.csv` line 2, column `score`: `NaN` is not a finite number (NaN and infinities are not \
///      accepted); leave the field empty to mark a missing value"
/// );
/// # Ok::<(), DataError>(())
/// ```
pub fn parse_csv(bytes: &[u8], file: &str, options: &CsvOptions) -> Result<Table, DataError> {
    let raw = RawCsv::parse(bytes, file, options.delimiter)?;
    let mut declared: Vec<Option<ColumnType>> = vec![None; raw.header.len()];
    if let Some(schema) = &options.schema {
        for (name, ty) in &schema.fields {
            match raw.header.iter().position(|h| h == name) {
                Some(j) => declared[j] = Some(*ty),
                None => {
                    return Err(DataError::MissingColumn {
                        file: file.to_owned(),
                        column: name.clone(),
                        available: raw.header.clone(),
                    })
                }
            }
        }
    }
    let mut columns = Vec::with_capacity(raw.header.len());
    for (j, ty) in declared.into_iter().enumerate() {
        let column = match ty {
            Some(ty) => raw.typed(j, ty)?,
            None => raw.inferred(j)?,
        };
        columns.push((raw.header[j].clone(), column));
    }
    Table::new(columns)
}

/// The fields of a CSV file, UTF-8 checked and field-count checked, before typing: all field
/// text in one buffer, field `(row, j)` ending at `ends[row * width + j]`.
struct RawCsv<'a> {
    file: &'a str,
    header: Vec<String>,
    text: String,
    ends: Vec<usize>,
    lines: Vec<u64>,
}

/// A present (non-blank) field, trimmed for numeric parsing.
fn present(field: &str) -> Option<&str> {
    let t = field.trim_ascii();
    (!t.is_empty()).then_some(t)
}

/// A field parsed as a finite float: `Ok(None)` when it is a number but not finite.
fn finite(t: &str) -> Result<Option<f64>, std::num::ParseFloatError> {
    t.parse::<f64>().map(|x| x.is_finite().then_some(x))
}

impl<'a> RawCsv<'a> {
    fn parse(bytes: &[u8], file: &'a str, delimiter: u8) -> Result<Self, DataError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let csv_error = |e: csv::Error| DataError::Csv {
            file: file.to_owned(),
            line: e.position().map(|p| p.line()),
            message: e.to_string(),
        };
        let not_utf8 = |line: u64, column: String, e: std::str::Utf8Error| DataError::NotUtf8 {
            file: file.to_owned(),
            line,
            column,
            valid_up_to: e.valid_up_to(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(DataError::Empty { file: file.to_owned() });
        }
        let mut header = Vec::with_capacity(record.len());
        for (j, field) in record.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|e| not_utf8(1, format!("#{}", j + 1), e))?;
            header.push(name.trim().to_owned());
        }
        for (j, name) in header.iter().enumerate() {
            if name.is_empty() {
                return Err(DataError::EmptyHeader { file: file.to_owned(), position: j + 1 });
            }
            if let Some(first) = header[..j].iter().position(|h| h == name) {
                return Err(DataError::DuplicateHeader {
                    file: file.to_owned(),
                    name: name.clone(),
                    first: first + 1,
                    second: j + 1,
                });
            }
        }
        let mut text = String::with_capacity(bytes.len());
        let mut ends = Vec::new();
        let mut lines = Vec::new();
        while reader.read_byte_record(&mut record).map_err(csv_error)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != header.len() {
                return Err(DataError::RaggedRow {
                    file: file.to_owned(),
                    line,
                    row: lines.len(),
                    expected: header.len(),
                    found: record.len(),
                });
            }
            // Validate the record's text at once (fast); only on failure go field by field to
            // name the bad one. Fields that are valid one by one are valid concatenated, and a
            // character split across two fields makes the first one invalid on its own.
            let valid = std::str::from_utf8(record.as_slice()).map(|all| text.push_str(all)).is_ok();
            let mut end = ends.last().copied().unwrap_or(0);
            for field in record.iter() {
                end += field.len();
                ends.push(end);
            }
            let aligned =
                valid && ends[ends.len() - record.len()..].iter().all(|&e| text.is_char_boundary(e));
            if !aligned {
                for (j, field) in record.iter().enumerate() {
                    std::str::from_utf8(field).map_err(|e| not_utf8(line, header[j].clone(), e))?;
                }
                return Err(DataError::Csv {
                    file: file.to_owned(),
                    line: Some(line),
                    message: "field boundaries split a UTF-8 character".to_owned(),
                });
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(DataError::HeaderOnly { file: file.to_owned(), columns: header.len() });
        }
        Ok(RawCsv { file, header, text, ends, lines })
    }

    fn rows(&self) -> usize {
        self.lines.len()
    }

    /// The text of field `j` of data row `row`.
    fn field(&self, row: usize, j: usize) -> &str {
        let i = row * self.header.len() + j;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn non_finite(&self, row: usize, j: usize) -> DataError {
        DataError::NonFinite {
            file: self.file.to_owned(),
            line: self.lines[row],
            row,
            column: self.header[j].clone(),
            value: self.field(row, j).to_owned(),
        }
    }

    fn parse_error(&self, row: usize, j: usize, expected: ColumnType) -> DataError {
        DataError::Parse {
            file: self.file.to_owned(),
            line: self.lines[row],
            row,
            column: self.header[j].clone(),
            value: self.field(row, j).to_owned(),
            expected,
        }
    }

    fn text_column(&self, j: usize) -> Column {
        Column::Str(
            (0..self.rows())
                .map(|row| {
                    let f = self.field(row, j);
                    present(f).map(|_| f.to_owned())
                })
                .collect(),
        )
    }

    /// Column `j` with its type inferred (see the module docs), each field parsed once in the
    /// common case: as integers until one is not, then as floats until one is not, then text.
    fn inferred(&self, j: usize) -> Result<Column, DataError> {
        let rows = self.rows();
        let mut ints: Vec<Option<i64>> = Vec::with_capacity(rows);
        let mut row = 0;
        while row < rows {
            match present(self.field(row, j)) {
                None => ints.push(None),
                Some(t) => match t.parse::<i64>() {
                    Ok(x) => ints.push(Some(x)),
                    Err(_) => break,
                },
            }
            row += 1;
        }
        if row == rows {
            if ints.iter().all(Option::is_none) {
                return Ok(self.text_column(j));
            }
            return Ok(Column::Int(ints));
        }
        let mut floats: Vec<Option<f64>> = Vec::with_capacity(rows);
        floats.extend(ints.iter().map(|x| x.map(|x| x as f64)));
        let mut non_finite = None;
        for row in row..rows {
            match present(self.field(row, j)) {
                None => floats.push(None),
                Some(t) => match finite(t) {
                    Ok(Some(x)) => floats.push(Some(x)),
                    Ok(None) => {
                        non_finite.get_or_insert(row);
                        floats.push(None);
                    }
                    Err(_) => return Ok(self.text_column(j)),
                },
            }
        }
        match non_finite {
            Some(row) => Err(self.non_finite(row, j)),
            None => Ok(Column::Float(floats)),
        }
    }

    /// Column `j` parsed as `ty`.
    fn typed(&self, j: usize, ty: ColumnType) -> Result<Column, DataError> {
        let rows = 0..self.rows();
        Ok(match ty {
            ColumnType::Int => Column::Int(
                rows.map(|row| {
                    present(self.field(row, j))
                        .map(|t| t.parse::<i64>().map_err(|_| self.parse_error(row, j, ty)))
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
            ),
            ColumnType::Float => Column::Float(
                rows.map(|row| {
                    present(self.field(row, j))
                        .map(|t| match finite(t) {
                            Ok(Some(x)) => Ok(x),
                            Ok(None) => Err(self.non_finite(row, j)),
                            Err(_) => Err(self.parse_error(row, j, ty)),
                        })
                        .transpose()
                })
                .collect::<Result<_, _>>()?,
            ),
            ColumnType::Str => self.text_column(j),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Table, DataError> {
        parse_csv(text.as_bytes(), "t.csv", &CsvOptions::default())
    }

    #[test]
    fn infers_int_float_str_and_missing() {
        let t = parse("a,b,c,d\n1,1.5,x,\n2, 3 ,\"y, z\",\n,,,\n").unwrap();
        assert_eq!(t.column("a").unwrap(), &Column::Int(vec![Some(1), Some(2), None]));
        assert_eq!(t.column("b").unwrap(), &Column::Float(vec![Some(1.5), Some(3.0), None]));
        assert_eq!(t.column("c").unwrap(), &Column::Str(vec![Some("x".into()), Some("y, z".into()), None]));
        // No values at all: text.
        assert_eq!(t.column("d").unwrap(), &Column::Str(vec![None, None, None]));
    }

    #[test]
    fn non_finite_is_an_error_wherever_it_appears() {
        for bad in ["inf", "-inf", "NaN", "1e400"] {
            let err = parse(&format!("a,b\n1,2\n3,{bad}\n")).unwrap_err();
            assert!(
                matches!(&err, DataError::NonFinite { line: 3, row: 1, column, .. } if column == "b"),
                "{bad}: {err}"
            );
        }
        // A non-finite value before an int turns the column float, still an error.
        assert!(matches!(parse("a\nnan\n1\n"), Err(DataError::NonFinite { line: 2, .. })));
    }

    #[test]
    fn text_that_looks_like_nan_in_a_text_column_is_text() {
        let t = parse("name\nNan\nBob\n").unwrap();
        assert_eq!(t.column("name").unwrap().str_at(0), Some("Nan"));
    }

    #[test]
    fn bom_is_skipped_and_header_trimmed() {
        let t = parse_csv(b"\xEF\xBB\xBFid , x\n1,2\n", "t.csv", &CsvOptions::default()).unwrap();
        assert_eq!(t.names(), ["id", "x"]);
    }

    #[test]
    fn header_errors() {
        assert!(matches!(parse(""), Err(DataError::Empty { .. })));
        assert!(matches!(parse("a,b\n"), Err(DataError::HeaderOnly { columns: 2, .. })));
        assert!(matches!(parse("a,,b\n1,2,3\n"), Err(DataError::EmptyHeader { position: 2, .. })));
        assert!(matches!(
            parse("a,b,a\n1,2,3\n"),
            Err(DataError::DuplicateHeader { first: 1, second: 3, .. })
        ));
    }

    #[test]
    fn ragged_row_names_its_line_even_after_multiline_fields() {
        let err = parse("a,b\n\"x\ny\",1\n2\n").unwrap_err();
        assert!(matches!(err, DataError::RaggedRow { line: 4, row: 1, expected: 2, found: 1, .. }), "{err}");
    }

    #[test]
    fn schema_types_and_missing_columns() {
        let schema = Schema::new([("a", ColumnType::Float), ("b", ColumnType::Str)]);
        let opts = CsvOptions::default().with_schema(schema);
        let t = parse_csv(b"a,b,c\n1,2,3\n", "t.csv", &opts).unwrap();
        assert_eq!(t.column("a").unwrap(), &Column::Float(vec![Some(1.0)]));
        assert_eq!(t.column("b").unwrap(), &Column::Str(vec![Some("2".into())]));
        assert_eq!(t.column("c").unwrap(), &Column::Int(vec![Some(3)]));

        let err = parse_csv(b"b,c\n1,2\n", "t.csv", &opts).unwrap_err();
        assert!(matches!(&err, DataError::MissingColumn { column, .. } if column == "a"));

        let opts = CsvOptions::default().with_schema(Schema::new([("a", ColumnType::Int)]));
        let err = parse_csv(b"a\n1\n2.5\n", "t.csv", &opts).unwrap_err();
        assert!(
            matches!(&err, DataError::Parse { line: 3, row: 1, value, expected: ColumnType::Int, .. } if value == "2.5")
        );
    }

    #[test]
    fn table_ops() {
        let t = parse("a,b\n1,x\n2,y\n3,z\n").unwrap();
        let s = t.take(&[2, 0]);
        assert_eq!(s.rows(), 2);
        assert_eq!(s.column("b").unwrap().str_at(0), Some("z"));
        assert_eq!(t.take(&[]).rows(), 0);
        assert!(matches!(t.try_take(&[3]), Err(DataError::RowOutOfRange { row: 3, rows: 3 })));
        assert!(matches!(t.select(&["a", "a"]), Err(DataError::DuplicateColumn { .. })));
        assert_eq!(t.select(&[]).unwrap().rows(), 3);
        let w = t.clone().with_column("c", Column::Int(vec![None; 3])).unwrap();
        assert_eq!(w.names(), ["a", "b", "c"]);
        assert!(matches!(
            t.with_column("c", Column::Int(vec![])),
            Err(DataError::LengthMismatch { len: 0, expected: 3, .. })
        ));
    }
}
