//! Typed, column-oriented tables: column types, values, columns, schemas.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::DataError;

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
