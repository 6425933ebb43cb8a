//! `parse_csv` on arbitrary bytes. The first byte picks the options: bits 0-2 the delimiter
//! (`,` `;` tab `|`, or the second byte as is), bit 3 an explicit schema over the header's
//! names (types from the following bits), bit 4 a schema naming a column that may be absent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlflow_core::codec;
use mlflow_ml::data::{parse_csv, ColumnType, CsvOptions, Schema, Table};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let (delimiter, bytes) = match flags & 7 {
        0 => (b',', rest),
        1 => (b';', rest),
        2 => (b'\t', rest),
        3 => (b'|', rest),
        _ => match rest.split_first() {
            Some((&d, bytes)) => (d, bytes),
            None => return,
        },
    };
    let mut options = CsvOptions::default().with_delimiter(delimiter);
    if flags & 8 != 0 {
        // Declare types for the columns the header names (as the first line split naively).
        let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let mut types = u32::from(flags >> 4) | (bytes.len() as u32) << 4;
        let mut fields = Vec::new();
        for name in first.split(|&b| b == delimiter).take(8) {
            let ty = match types % 3 {
                0 => ColumnType::Int,
                1 => ColumnType::Float,
                _ => ColumnType::Str,
            };
            types /= 3;
            fields.push((String::from_utf8_lossy(name).trim().to_owned(), ty));
        }
        options = options.with_schema(Schema { fields });
    } else if flags & 16 != 0 {
        options = options.with_schema(Schema::new([("a", ColumnType::Float), ("b", ColumnType::Str)]));
    }
    let Ok(table) = parse_csv(bytes, "fuzz.csv", &options) else { return };
    check(&table, &options);
});

/// What any table `parse_csv` returns must satisfy.
fn check(table: &Table, options: &CsvOptions) {
    assert!(table.rows() > 0, "a parsed table has data rows");
    assert_eq!(table.names().len(), table.iter().count());
    for (name, column) in table.iter() {
        assert_eq!(column.len(), table.rows(), "column {name}");
        if let Some(ty) = options.schema.as_ref().and_then(|s| s.get(name)) {
            assert_eq!(column.column_type(), ty, "declared type of {name}");
        }
        if let Some(values) = column.as_float() {
            assert!(values.iter().flatten().all(|v| v.is_finite()), "floats are finite");
        }
    }
    let last = table.rows() - 1;
    let taken = table.take(&[last, 0]);
    assert_eq!(taken.rows(), 2);
    let bytes = codec::encode(table).expect("encode");
    let back: Table = codec::decode(&bytes, u64::MAX).expect("decode");
    assert_eq!(&back, table);
}
