//! [`Table`] <-> Arrow [`RecordBatch`]: the type mapping, nulls kept, several batches
//! concatenated.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, LargeStringArray, RecordBatch, RecordBatchOptions, StringArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};

use crate::data::{Column, ColumnType, DataError, Table};

/// The column type an Arrow type becomes in a [`Table`], or `None` when a table cannot hold it.
///
/// - every integer type (`Int8` to `Int64`, `UInt8` to `UInt64`) and `Boolean` (`false` = 0,
///   `true` = 1) become [`ColumnType::Int`] (a `UInt64` value above `i64::MAX` is an error);
/// - `Float16`, `Float32` and `Float64` become [`ColumnType::Float`] (NaN and infinities are an
///   error, as in a CSV file);
/// - `Utf8`, `LargeUtf8`, `Utf8View` and `Null` (a column of nulls only) become
///   [`ColumnType::Str`];
/// - a `Dictionary` becomes the type of its values (pandas' and polars' categoricals are
///   dictionaries of strings).
///
/// Anything else (decimals, dates, times, timestamps, durations, binary, lists, structs, maps)
/// is refused: cast such a column to `int64`, `float64` or `string` before writing the file.
///
/// ```
/// use mlflow_ml::data::arrow_schema::DataType;
/// use mlflow_ml::data::{column_type_of, ColumnType};
/// assert_eq!(column_type_of(&DataType::UInt8), Some(ColumnType::Int));
/// assert_eq!(column_type_of(&DataType::Boolean), Some(ColumnType::Int));
/// assert_eq!(column_type_of(&DataType::Float32), Some(ColumnType::Float));
/// let categorical = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8));
/// assert_eq!(column_type_of(&categorical), Some(ColumnType::Str));
/// assert_eq!(column_type_of(&DataType::Date32), None);
/// ```
pub fn column_type_of(data_type: &DataType) -> Option<ColumnType> {
    match data_type {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => Some(ColumnType::Int),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Some(ColumnType::Float),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => Some(ColumnType::Str),
        DataType::Dictionary(key, value) if key.is_dictionary_key_type() => column_type_of(value),
        _ => None,
    }
}

/// The error for a column of a type a table cannot hold.
pub(crate) fn unsupported(file: &str, column: &str, data_type: &DataType) -> DataError {
    DataError::UnsupportedType {
        file: file.to_owned(),
        column: column.to_owned(),
        arrow_type: data_type.to_string(),
    }
}

/// Checks that every field of `schema` maps to a column type and that names are unique.
pub(crate) fn check_schema(schema: &ArrowSchema, file: &str) -> Result<(), DataError> {
    let fields = schema.fields();
    for (j, field) in fields.iter().enumerate() {
        if let Some(first) = fields[..j].iter().position(|f| f.name() == field.name()) {
            return Err(DataError::DuplicateName {
                file: file.to_owned(),
                name: field.name().clone(),
                first: first + 1,
                second: j + 1,
            });
        }
        if column_type_of(field.data_type()).is_none() {
            return Err(unsupported(file, field.name(), field.data_type()));
        }
    }
    Ok(())
}

/// Where a column's values sit, for error messages: the source's name, the column's name, and
/// the table row of the array's first value.
#[derive(Clone, Copy)]
pub(crate) struct Place<'a> {
    pub(crate) file: &'a str,
    pub(crate) column: &'a str,
    pub(crate) first_row: usize,
}

impl Place<'_> {
    fn bad_value(&self, i: usize, value: String, problem: &'static str) -> DataError {
        DataError::BadValue {
            file: self.file.to_owned(),
            column: self.column.to_owned(),
            row: self.first_row + i,
            value,
            problem,
        }
    }
}

const NOT_FINITE: &str =
    "is not a finite number (NaN and infinities are not accepted); write a missing value as a null instead";
const TOO_BIG: &str =
    "does not fit in a 64-bit signed integer; cast the column to int64 or float64 before writing the file";

/// The values of `array` as a column, following [`column_type_of`].
pub(crate) fn column_from_array(array: &dyn Array, place: Place<'_>) -> Result<Column, DataError> {
    fn ints<T>(values: impl Iterator<Item = Option<T>>) -> Column
    where
        i64: From<T>,
    {
        Column::Int(values.map(|v| v.map(i64::from)).collect())
    }
    fn floats(values: impl Iterator<Item = Option<f64>>, place: Place<'_>) -> Result<Column, DataError> {
        let mut out = Vec::with_capacity(values.size_hint().0);
        for (i, v) in values.enumerate() {
            if let Some(x) = v
                && !x.is_finite()
            {
                return Err(place.bad_value(i, format!("{x}"), NOT_FINITE));
            }
            out.push(v);
        }
        Ok(Column::Float(out))
    }
    fn texts<'s>(values: impl Iterator<Item = Option<&'s str>>) -> Column {
        Column::Str(values.map(|v| v.map(str::to_owned)).collect())
    }
    let data_type = array.data_type();
    let bad_type = || unsupported(place.file, place.column, data_type);
    let column = match data_type {
        DataType::Boolean => Column::Int(
            array.as_boolean_opt().ok_or_else(bad_type)?.iter().map(|v| v.map(i64::from)).collect(),
        ),
        DataType::Int8 => ints(array.as_primitive_opt::<Int8Type>().ok_or_else(bad_type)?.iter()),
        DataType::Int16 => ints(array.as_primitive_opt::<Int16Type>().ok_or_else(bad_type)?.iter()),
        DataType::Int32 => ints(array.as_primitive_opt::<Int32Type>().ok_or_else(bad_type)?.iter()),
        DataType::Int64 => ints(array.as_primitive_opt::<Int64Type>().ok_or_else(bad_type)?.iter()),
        DataType::UInt8 => ints(array.as_primitive_opt::<UInt8Type>().ok_or_else(bad_type)?.iter()),
        DataType::UInt16 => ints(array.as_primitive_opt::<UInt16Type>().ok_or_else(bad_type)?.iter()),
        DataType::UInt32 => ints(array.as_primitive_opt::<UInt32Type>().ok_or_else(bad_type)?.iter()),
        DataType::UInt64 => {
            let values = array.as_primitive_opt::<UInt64Type>().ok_or_else(bad_type)?;
            let mut out = Vec::with_capacity(values.len());
            for (i, v) in values.iter().enumerate() {
                match v.map(i64::try_from) {
                    None => out.push(None),
                    Some(Ok(x)) => out.push(Some(x)),
                    Some(Err(_)) => {
                        return Err(place.bad_value(i, v.unwrap_or_default().to_string(), TOO_BIG));
                    }
                }
            }
            Column::Int(out)
        }
        DataType::Float16 => floats(
            array
                .as_primitive_opt::<Float16Type>()
                .ok_or_else(bad_type)?
                .iter()
                .map(|v| v.map(|x| x.to_f64())),
            place,
        )?,
        DataType::Float32 => floats(
            array.as_primitive_opt::<Float32Type>().ok_or_else(bad_type)?.iter().map(|v| v.map(f64::from)),
            place,
        )?,
        DataType::Float64 => {
            floats(array.as_primitive_opt::<Float64Type>().ok_or_else(bad_type)?.iter(), place)?
        }
        DataType::Utf8 => texts(array.as_string_opt::<i32>().ok_or_else(bad_type)?.iter()),
        DataType::LargeUtf8 => texts(array.as_string_opt::<i64>().ok_or_else(bad_type)?.iter()),
        DataType::Utf8View => texts(array.as_string_view_opt().ok_or_else(bad_type)?.iter()),
        DataType::Null => Column::Str(vec![None; array.len()]),
        DataType::Dictionary(_, _) => {
            let dictionary = array.as_any_dictionary_opt().ok_or_else(bad_type)?;
            let Column::Int(keys) = column_from_array(dictionary.keys(), place)? else {
                return Err(bad_type());
            };
            // The values' rows are not table rows: a bad value is reported at the first row
            // that uses it.
            let values = column_from_array(dictionary.values().as_ref(), Place { first_row: 0, ..place })
                .map_err(|e| match e {
                    DataError::BadValue { row, value, problem, .. } => {
                        let used = keys.iter().position(|k| *k == i64::try_from(row).ok()).unwrap_or(0);
                        place.bad_value(used, value, problem)
                    }
                    other => other,
                })?;
            let mut rows = Vec::with_capacity(keys.len());
            for (i, key) in keys.iter().enumerate() {
                rows.push(match *key {
                    None => None,
                    Some(k) => match usize::try_from(k).ok().filter(|&k| k < values.len()) {
                        Some(k) => Some(k),
                        None => {
                            return Err(DataError::ParquetCorrupt {
                                file: place.file.to_owned(),
                                detail: format!(
                                    "column `{}` row {} (1-based): dictionary key {k} is past the end of its {} values",
                                    mlflow_core::text::escape_controls(place.column),
                                    place.first_row + i + 1,
                                    values.len()
                                ),
                            });
                        }
                    },
                });
            }
            take_optional(&values, &rows)
        }
        _ => return Err(bad_type()),
    };
    if column.len() != array.len() {
        return Err(bad_type());
    }
    Ok(column)
}

/// The values at `rows`, a missing value where the row is `None` (indices are in range).
fn take_optional(values: &Column, rows: &[Option<usize>]) -> Column {
    match values {
        Column::Int(v) => {
            Column::Int(rows.iter().map(|r| r.and_then(|r| v.get(r).copied().flatten())).collect())
        }
        Column::Float(v) => {
            Column::Float(rows.iter().map(|r| r.and_then(|r| v.get(r).copied().flatten())).collect())
        }
        Column::Str(v) => {
            Column::Str(rows.iter().map(|r| r.and_then(|r| v.get(r).cloned().flatten())).collect())
        }
    }
}

/// Appends `more` to `column`; `false` (nothing appended) when their types differ.
pub(crate) fn append(column: &mut Column, more: Column) -> bool {
    match (column, more) {
        (Column::Int(a), Column::Int(b)) => a.extend(b),
        (Column::Float(a), Column::Float(b)) => a.extend(b),
        (Column::Str(a), Column::Str(b)) => a.extend(b),
        _ => return false,
    }
    true
}

/// Converts one batch whose rows start at table row `first_row`.
pub(crate) fn table_from_batch(
    batch: &RecordBatch,
    file: &str,
    first_row: usize,
) -> Result<Table, DataError> {
    let schema = batch.schema();
    check_schema(&schema, file)?;
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        let place = Place { file, column: field.name(), first_row };
        columns.push((field.name().clone(), column_from_array(array.as_ref(), place)?));
    }
    Table::new(columns)
}

/// Concatenates tables of the same names and types (the batches of one file or stream).
pub(crate) fn concat(tables: Vec<Table>, file: &str) -> Result<Table, DataError> {
    let mut tables = tables.into_iter();
    let Some(first) = tables.next() else { return Table::new(vec![]) };
    let names: Vec<String> = first.names().to_vec();
    let expected: Vec<String> = first.schema().fields.iter().map(|(n, t)| format!("{n}: {t}")).collect();
    let mut columns: Vec<Column> = first.iter().map(|(_, c)| c.clone()).collect();
    for (k, table) in tables.enumerate() {
        let mismatch = || DataError::SchemaMismatch {
            file: file.to_owned(),
            batch: k + 2,
            expected: expected.clone(),
            found: table.schema().fields.iter().map(|(n, t)| format!("{n}: {t}")).collect(),
        };
        if table.names() != names.as_slice() {
            return Err(mismatch());
        }
        for (column, (_, more)) in columns.iter_mut().zip(table.iter()) {
            if !append(column, more.clone()) {
                return Err(mismatch());
            }
        }
    }
    Table::new(names.into_iter().zip(columns).collect())
}

impl Table {
    /// The table of one Arrow record batch: names and nulls kept, types mapped as
    /// [`column_type_of`] says.
    ///
    /// # Errors
    /// [`DataError::UnsupportedType`] for a column a table cannot hold (e.g. a timestamp: cast it
    /// first), [`DataError::BadValue`] for NaN, infinities and `UInt64` values above `i64::MAX`,
    /// [`DataError::DuplicateName`] when two columns share a name.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlflow_ml::data::arrow_array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
    /// use mlflow_ml::data::{Column, Table};
    ///
    /// let batch = RecordBatch::try_from_iter([
    ///     ("age", Arc::new(Int32Array::from(vec![Some(36), None])) as ArrayRef),
    ///     ("name", Arc::new(StringArray::from(vec![Some("Ada"), None])) as ArrayRef),
    ///     ("alive", Arc::new(BooleanArray::from(vec![true, false])) as ArrayRef),
    /// ])?;
    /// let table = Table::from_record_batch(&batch)?;
    /// assert_eq!(table.column("age"), Some(&Column::Int(vec![Some(36), None])));
    /// assert_eq!(table.column("name"), Some(&Column::Str(vec![Some("Ada".into()), None])));
    /// assert_eq!(table.column("alive"), Some(&Column::Int(vec![Some(1), Some(0)])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_record_batch(batch: &RecordBatch) -> Result<Table, DataError> {
        table_from_batch(batch, "", 0)
    }

    /// The table of several record batches of one schema, one after the other.
    ///
    /// # Errors
    /// As [`Table::from_record_batch`], and [`DataError::SchemaMismatch`] when a batch's names or
    /// column types differ from the first one's.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use mlflow_ml::data::arrow_array::{ArrayRef, Float64Array, RecordBatch};
    /// use mlflow_ml::data::{Column, Table};
    ///
    /// let batch = |v: Vec<Option<f64>>| {
    ///     RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as ArrayRef)])
    /// };
    /// let table = Table::from_record_batches(&[batch(vec![Some(0.5)])?, batch(vec![None, Some(2.0)])?])?;
    /// assert_eq!(table.column("x"), Some(&Column::Float(vec![Some(0.5), None, Some(2.0)])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_record_batches(batches: &[RecordBatch]) -> Result<Table, DataError> {
        let mut tables = Vec::with_capacity(batches.len());
        let mut first_row = 0;
        for batch in batches {
            tables.push(table_from_batch(batch, "", first_row)?);
            first_row += batch.num_rows();
        }
        concat(tables, "")
    }

    /// This table as one Arrow record batch: `Int` columns become `Int64`, `Float` columns
    /// `Float64`, `Str` columns `Utf8` (`LargeUtf8` past 2 GiB of text in a column); every
    /// field is nullable and missing values are nulls.
    ///
    /// ```
    /// use mlflow_ml::data::arrow_schema::DataType;
    /// use mlflow_ml::data::{Column, Table};
    /// let table = Table::new(vec![
    ///     ("x".into(), Column::Int(vec![Some(1), None])),
    ///     ("s".into(), Column::Str(vec![None, Some("b".into())])),
    /// ])?;
    /// let batch = table.to_record_batch()?;
    /// assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
    /// assert_eq!(batch.column(1).null_count(), 1);
    /// assert_eq!(Table::from_record_batch(&batch)?, table);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_record_batch(&self) -> Result<RecordBatch, DataError> {
        let mut fields = Vec::with_capacity(self.names().len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.names().len());
        for (name, column) in self.iter() {
            let array: ArrayRef = match column {
                Column::Int(v) => Arc::new(Int64Array::from(v.clone())),
                Column::Float(v) => Arc::new(Float64Array::from(v.clone())),
                Column::Str(v) => {
                    let bytes: usize = v.iter().flatten().map(String::len).sum();
                    if bytes <= i32::MAX as usize {
                        Arc::new(StringArray::from(v.iter().map(Option::as_deref).collect::<Vec<_>>()))
                    } else {
                        Arc::new(LargeStringArray::from(v.iter().map(Option::as_deref).collect::<Vec<_>>()))
                    }
                }
            };
            fields.push(Field::new(name, array.data_type().clone(), true));
            arrays.push(array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows()));
        RecordBatch::try_new_with_options(Arc::new(ArrowSchema::new(fields)), arrays, &options).map_err(|e| {
            DataError::ParquetWrite {
                file: String::new(),
                detail: format!("cannot build a record batch: {e}"),
            }
        })
    }
}

impl TryFrom<&RecordBatch> for Table {
    type Error = DataError;

    /// See [`Table::from_record_batch`].
    fn try_from(batch: &RecordBatch) -> Result<Table, DataError> {
        Table::from_record_batch(batch)
    }
}

impl TryFrom<&Table> for RecordBatch {
    type Error = DataError;

    /// See [`Table::to_record_batch`].
    fn try_from(table: &Table) -> Result<RecordBatch, DataError> {
        table.to_record_batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        BooleanArray, DictionaryArray, Float32Array, Int8Array, NullArray, StringViewArray, UInt64Array,
        types::Int8Type as K8,
    };

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    #[test]
    fn every_supported_type_maps_with_nulls() {
        let dict: DictionaryArray<K8> = vec![Some("a"), None, Some("b")].into_iter().collect();
        let b = batch(vec![
            ("i8", Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)]))),
            ("u64", Arc::new(UInt64Array::from(vec![Some(0), Some(i64::MAX as u64), None]))),
            ("f32", Arc::new(Float32Array::from(vec![Some(0.5), None, Some(-1.25)]))),
            ("bool", Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))),
            ("view", Arc::new(StringViewArray::from(vec![None, Some("x"), Some("")]))),
            ("dict", Arc::new(dict)),
            ("null", Arc::new(NullArray::new(3))),
        ]);
        let t = Table::from_record_batch(&b).unwrap();
        assert_eq!(t.column("i8"), Some(&Column::Int(vec![Some(-128), None, Some(127)])));
        assert_eq!(t.column("u64"), Some(&Column::Int(vec![Some(0), Some(i64::MAX), None])));
        assert_eq!(t.column("f32"), Some(&Column::Float(vec![Some(0.5), None, Some(-1.25)])));
        assert_eq!(t.column("bool"), Some(&Column::Int(vec![Some(1), Some(0), None])));
        assert_eq!(t.column("view"), Some(&Column::Str(vec![None, Some("x".into()), Some(String::new())])));
        assert_eq!(t.column("dict"), Some(&Column::Str(vec![Some("a".into()), None, Some("b".into())])));
        assert_eq!(t.column("null"), Some(&Column::Str(vec![None, None, None])));
    }

    #[test]
    fn bad_values_and_types_name_the_column_and_row() {
        let b = batch(vec![("big", Arc::new(UInt64Array::from(vec![Some(1), Some(u64::MAX)])))]);
        let err = Table::from_record_batch(&b).unwrap_err();
        assert!(matches!(&err, DataError::BadValue { row: 1, column, .. } if column == "big"), "{err}");
        assert!(err.to_string().contains("row 2 (1-based), column `big`"), "{err}");
        assert!(err.to_string().contains("cast the column to int64 or float64"), "{err}");

        let b = batch(vec![("x", Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN)])))]);
        let second = batch(vec![("x", Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::INFINITY)])))]);
        assert!(matches!(Table::from_record_batch(&b), Err(DataError::BadValue { row: 1, .. })));
        let err = Table::from_record_batches(&[b.clone(), second]).unwrap_err();
        assert!(matches!(err, DataError::BadValue { row: 1, .. }), "the first batch's NaN first");

        // A bad dictionary value is reported at the first row that uses it.
        let values = Float64Array::from(vec![1.0, f64::NAN]);
        let keys = Int8Array::from(vec![Some(0), None, Some(1), Some(1)]);
        let dict = DictionaryArray::<K8>::try_new(keys, Arc::new(values)).unwrap();
        let err = Table::from_record_batch(&batch(vec![("d", Arc::new(dict))])).unwrap_err();
        assert!(matches!(err, DataError::BadValue { row: 2, .. }), "{err}");

        let dates = arrow_array::Date32Array::from(vec![Some(1)]);
        let err = Table::from_record_batch(&batch(vec![("day\x1b[2J", Arc::new(dates))])).unwrap_err();
        assert!(
            matches!(&err, DataError::UnsupportedType { arrow_type, .. } if arrow_type == "Date32"),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("`day\\u{1b}[2J`") && message.contains("cast"), "{message}");
    }

    #[test]
    fn batches_concatenate_and_must_agree() {
        let a = batch(vec![("x", Arc::new(Int64Array::from(vec![Some(1)])))]);
        let b = batch(vec![("x", Arc::new(Int8Array::from(vec![None, Some(3)])))]);
        let t = Table::from_record_batches(&[a.clone(), b]).unwrap();
        assert_eq!(t.column("x"), Some(&Column::Int(vec![Some(1), None, Some(3)])));
        let c = batch(vec![("x", Arc::new(StringArray::from(vec!["1"])))]);
        let err = Table::from_record_batches(&[a.clone(), c]).unwrap_err();
        assert!(matches!(err, DataError::SchemaMismatch { batch: 2, .. }), "{err}");
        let d = batch(vec![("y", Arc::new(Int64Array::from(vec![Some(1)])))]);
        assert!(matches!(Table::from_record_batches(&[a, d]), Err(DataError::SchemaMismatch { .. })));
        assert_eq!(Table::from_record_batches(&[]).unwrap().rows(), 0);
    }

    #[test]
    fn duplicate_names_are_refused() {
        let x: ArrayRef = Arc::new(Int64Array::from(vec![Some(1)]));
        let schema = ArrowSchema::new(vec![
            Field::new("x", DataType::Int64, true),
            Field::new("x", DataType::Int64, true),
        ]);
        let b = RecordBatch::try_new(Arc::new(schema), vec![x.clone(), x]).unwrap();
        let err = Table::from_record_batch(&b).unwrap_err();
        assert!(matches!(err, DataError::DuplicateName { first: 1, second: 2, .. }), "{err}");
    }

    #[test]
    fn record_batch_round_trip_keeps_types_nulls_and_empty_tables() {
        let t = Table::new(vec![
            ("i".into(), Column::Int(vec![Some(i64::MIN), None, Some(i64::MAX)])),
            ("f".into(), Column::Float(vec![None, Some(0.1), Some(-0.0)])),
            ("s".into(), Column::Str(vec![Some("é\n,\"".into()), Some(String::new()), None])),
        ])
        .unwrap();
        let b = RecordBatch::try_from(&t).unwrap();
        assert_eq!(b.num_rows(), 3);
        assert_eq!(Table::try_from(&b).unwrap(), t);
        let empty = t.take(&[]);
        assert_eq!(Table::from_record_batch(&empty.to_record_batch().unwrap()).unwrap(), empty);
        let none = Table::new(vec![]).unwrap();
        assert_eq!(Table::from_record_batch(&none.to_record_batch().unwrap()).unwrap(), none);
    }
}
