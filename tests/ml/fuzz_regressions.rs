//! Inputs the fuzz targets (`fuzz/`) once failed on, in the ML layer: each must be refused with
//! a clear error, without a panic and without reserving memory the input does not hold.

use crate::common::fuzz_input;

use mlflow::codec::{self, CodecError};
use mlflow::data::Table;

/// Decodes an `artifact_decode` input whose type selector is 4 (`Table`).
fn decode_table(name: &str) -> Result<Table, CodecError> {
    let input = fuzz_input("artifact_decode", name);
    let (&kind, bytes) = input.split_first().unwrap();
    assert_eq!(kind % 8, 4, "the fuzz target's selector for Table");
    codec::decode::<Table>(bytes, codec::DEFAULT_DECODE_LIMIT)
}

/// The fuzzer's first finding: a `Table` whose first column name claims 4 GiB (0xFCFCFCFC
/// bytes) in a 56-byte artifact; bincode reserved it before reading (out of memory).
#[test]
fn artifact_decode_table_name_claiming_4_gib_is_a_decode_error() {
    let err = decode_table("table-name-claims-4gib").unwrap_err();
    assert!(matches!(err, CodecError::Decode { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot decode 56 bytes as a `mlflow_ml::data::")
            && err.to_string().contains("Table`"),
        "{err}"
    );
}

/// A `Table` of one column name and no column (4 bytes): it decoded, and code relying on one
/// name per column (`Table::iter`, `schema`, `select`) went wrong on it.
#[test]
fn artifact_decode_table_with_names_but_no_columns_is_refused() {
    let err = decode_table("table-names-without-columns").unwrap_err();
    assert!(matches!(err, CodecError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("a table of 1 column names but 0 columns"), "{err}");
}

/// The other invariants of `Table::new` hold for decoded tables too: a column of the wrong
/// length and a repeated name are refused, and a valid table still round-trips.
#[test]
fn decoded_tables_keep_the_invariants_of_table_new() {
    use mlflow::data::Column;
    #[derive(serde::Serialize)]
    struct Parts {
        names: Vec<String>,
        columns: Vec<Column>,
        rows: usize,
    }
    let encode = |names: &[&str], columns: Vec<Column>, rows| {
        let names = names.iter().map(|n| n.to_string()).collect();
        codec::encode(&Parts { names, columns, rows }).unwrap()
    };
    let short = encode(&["a"], vec![Column::Int(vec![Some(1)])], 2);
    let err = codec::decode::<Table>(&short, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("column `a` has 1 values in a table of 2 rows"), "{err}");
    let twice = encode(&["a", "a"], vec![Column::Int(vec![]), Column::Int(vec![])], 0);
    let err = codec::decode::<Table>(&twice, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("column name `a` appears twice"), "{err}");
    let table = Table::new(vec![("a".into(), Column::Float(vec![Some(0.5), None]))]).unwrap();
    let bytes = codec::encode(&table).unwrap();
    assert_eq!(bytes, encode(&["a"], vec![Column::Float(vec![Some(0.5), None])], 2), "same encoding");
    assert_eq!(codec::decode::<Table>(&bytes, 1 << 20).unwrap(), table);
    // A table with no column may have rows (`select(&[])` keeps them).
    let empty = encode(&[], vec![], 3);
    assert_eq!(codec::decode::<Table>(&empty, 1 << 20).unwrap().rows(), 3);
}
