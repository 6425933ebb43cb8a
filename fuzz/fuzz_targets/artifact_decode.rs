//! `codec::decode::<T>` with the store's default size limit, for representative artifact types.
//! The first byte picks the type; the rest is the artifact. A value that decodes must re-encode
//! to bytes that decode to the same value, and a decoded `Table` must keep its invariants.
#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use mlflow_core::codec::{self, ContentHash, DEFAULT_DECODE_LIMIT};
use mlflow_fuzz::Nested;
use mlflow_ml::data::{Ingested, Table};
use ndarray::Array2;
use serde::{de::DeserializeOwned, Serialize};

fn round_trip<T: Serialize + DeserializeOwned + Debug>(bytes: &[u8]) -> Option<T> {
    let value: T = codec::decode(bytes, DEFAULT_DECODE_LIMIT).ok()?;
    let encoded = codec::encode(&value).expect("re-encode");
    let again: T = codec::decode(&encoded, DEFAULT_DECODE_LIMIT).expect("decode the re-encoding");
    assert_eq!(codec::encode(&again).expect("re-encode"), encoded);
    Some(value)
}

fn check_table(table: &Table) {
    assert_eq!(table.names().len(), table.iter().count(), "one name per column");
    for (name, column) in table.iter() {
        assert_eq!(column.len(), table.rows(), "column {name} has the table's row count");
    }
    let mut names = table.names().to_vec();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), table.names().len(), "unique names");
    if table.rows() > 0 {
        let _ = table.take(&[0, table.rows() - 1]);
    }
    let _ = table.schema();
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    match kind % 8 {
        0 => drop(round_trip::<Vec<f64>>(bytes)),
        1 => drop(round_trip::<String>(bytes)),
        2 => drop(round_trip::<Nested>(bytes)),
        3 => {
            if let Some(a) = round_trip::<Array2<f64>>(bytes) {
                assert_eq!(a.len(), a.nrows() * a.ncols());
                let _ = a.t().to_owned();
            }
        }
        4 => {
            if let Some(t) = round_trip::<Table>(bytes) {
                check_table(&t);
            }
        }
        5 => {
            if let Some(i) = round_trip::<Ingested>(bytes) {
                check_table(&i.table);
            }
        }
        6 => drop(round_trip::<Vec<(String, ContentHash)>>(bytes)),
        _ => drop(round_trip::<Vec<Vec<u8>>>(bytes)),
    }
});
