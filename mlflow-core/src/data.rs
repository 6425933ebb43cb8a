//! Ingestion: CSV files into typed, column-oriented tables; the data version of a file is the
//! content hash of its bytes.

use serde::{Deserialize, Serialize};

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ColumnType {
    /// 64-bit signed integers.
    Int,
    /// 64-bit floats (finite).
    Float,
    /// UTF-8 text.
    Str,
}

/// One column's values; `None` is a missing value (an empty CSV field).
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
    pub fn column_type(&self) -> ColumnType {
        match self {
            Column::Int(_) => ColumnType::Int,
            Column::Float(_) => ColumnType::Float,
            Column::Str(_) => ColumnType::Str,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Int(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Column names and types, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// `(name, type)` per column.
    pub fields: Vec<(String, ColumnType)>,
}

/// A typed table: named columns of equal length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
    rows: usize,
}

impl Column {
    /// The values, if this is an `Int` column.
    pub fn as_int(&self) -> Option<&[Option<i64>]> {
        match self {
            Column::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The values, if this is a `Float` column.
    pub fn as_float(&self) -> Option<&[Option<f64>]> {
        match self {
            Column::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The values, if this is a `Str` column.
    pub fn as_text(&self) -> Option<&[Option<String>]> {
        match self {
            Column::Str(v) => Some(v),
            _ => None,
        }
    }

    /// Number of missing values.
    pub fn null_count(&self) -> usize {
        match self {
            Column::Int(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Float(v) => v.iter().filter(|x| x.is_none()).count(),
            Column::Str(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    /// Value `row` as `f64` (ints widened); `None` when missing or text.
    pub fn f64_at(&self, row: usize) -> Option<f64> {
        match self {
            Column::Int(v) => v.get(row).copied().flatten().map(|x| x as f64),
            Column::Float(v) => v.get(row).copied().flatten(),
            Column::Str(_) => None,
        }
    }
}

impl Table {
    /// Builds a table; every column must have the same length and names must be unique.
    pub fn new(columns: Vec<(String, Column)>) -> Result<Table, String> {
        let rows = columns.first().map(|(_, c)| c.len()).unwrap_or(0);
        let mut names = Vec::with_capacity(columns.len());
        let mut cols = Vec::with_capacity(columns.len());
        for (name, column) in columns {
            if column.len() != rows {
                return Err(format!("column `{name}` has {} values, the first column {rows}", column.len()));
            }
            if names.contains(&name) {
                return Err(format!("column `{name}` appears twice"));
            }
            names.push(name);
            cols.push(column);
        }
        Ok(Table { names, columns: cols, rows })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i])
    }

    /// `(name, column)` pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.names.iter().map(String::as_str).zip(&self.columns)
    }

    /// Names and types.
    pub fn schema(&self) -> Schema {
        Schema { fields: self.iter().map(|(n, c)| (n.to_owned(), c.column_type())).collect() }
    }
}
