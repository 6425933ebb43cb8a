//! Parquet files (feature `parquet`): the files pyarrow and pandas wrote
//! (`tests/fixtures/parquet/generate.py`) read to the values pyarrow reads, with their types and
//! nulls; the files a table cannot hold refused with what to do; tables round-trip; reading a file
//! in a pipeline step records its data version.

use crate::common::temp_store;

use std::path::PathBuf;

use mlflow::data::{
    Column, ColumnType, DataError, DataFile, Ingested, ParquetFile, ParquetOptions, Table, parquet_bytes,
    parse_parquet, read_parquet, write_parquet,
};
use mlflow::prelude::*;
use mlflow::track::DataInput;
use serde_json::Value as Json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parquet").join(name)
}

fn expected() -> serde_json::Map<String, Json> {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str::<Json>(&text).unwrap().as_object().unwrap().clone()
}

fn read(name: &str, options: &ParquetOptions) -> Result<Ingested, DataError> {
    read_parquet(&DataFile::open(fixture(name))?, options)
}

/// The column as the JSON the fixture script wrote for it.
fn as_json(column: &Column) -> Vec<Json> {
    match column {
        Column::Int(v) => v.iter().map(|x| x.map_or(Json::Null, Json::from)).collect(),
        Column::Float(v) => v.iter().map(|x| x.map_or(Json::Null, Json::from)).collect(),
        Column::Str(v) => v.iter().map(|x| x.clone().map_or(Json::Null, Json::from)).collect(),
    }
}

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Int => "int",
        ColumnType::Float => "float",
        ColumnType::Str => "text",
    }
}

#[test]
fn files_pyarrow_and_pandas_wrote_read_to_the_values_pyarrow_reads() {
    let mut checked = 0;
    for (name, want) in expected() {
        let Some(columns) = want["columns"].as_array() else { continue };
        let ingested = read(&name, &ParquetOptions::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ingested.rows as u64, want["rows"].as_u64().unwrap(), "{name}");
        assert_eq!(ingested.version, DataFile::open(fixture(&name)).unwrap().version);
        assert_eq!(ingested.table.names().len(), columns.len(), "{name}");
        for column in columns {
            let column_name = column["name"].as_str().unwrap();
            let got =
                ingested.table.column(column_name).unwrap_or_else(|| panic!("{name}: no {column_name}"));
            assert_eq!(type_name(got.column_type()), column["type"], "{name}: {column_name}");
            assert_eq!(as_json(got), *column["values"].as_array().unwrap(), "{name}: {column_name}");
            checked += 1;
        }
        // Decoding a batch of rows at a time gives the same table.
        for batch_rows in [1, 3] {
            let options = ParquetOptions::new().batch_rows(batch_rows);
            assert_eq!(
                read(&name, &options).unwrap().table,
                ingested.table,
                "{name}, batches of {batch_rows}"
            );
        }
    }
    assert!(checked >= 3 * 15 + 5, "every typed column of every file: {checked}");
}

#[test]
fn several_row_groups_and_every_codec_read_the_same() {
    let snappy = read("types_snappy.parquet", &ParquetOptions::new()).unwrap();
    let zstd = read("types_zstd.parquet", &ParquetOptions::new()).unwrap();
    let plain = read("types_plain_v1.parquet", &ParquetOptions::new()).unwrap();
    assert_eq!(snappy.table, zstd.table);
    assert_eq!(snappy.table, plain.table);
    assert_ne!(snappy.version, zstd.version, "other bytes, another data version");
    // The schema comes from the file, not from the values: a column of nulls only is text, a
    // boolean column an integer one.
    assert_eq!(snappy.schema.get("all_null"), Some(ColumnType::Str));
    assert_eq!(snappy.schema.get("bool"), Some(ColumnType::Int));
    assert_eq!(snappy.schema.get("float32"), Some(ColumnType::Float));
    let file = ParquetFile::open(fixture("types_snappy.parquet")).unwrap();
    assert_eq!(file.rows(), 10);
    assert_eq!(file.schema().unwrap(), snappy.schema);
}

#[test]
fn files_a_table_cannot_hold_are_refused_saying_what_to_do() {
    for (name, want) in expected() {
        let Some(kind) = want["error"].as_str() else { continue };
        let err = read(&name, &ParquetOptions::new()).expect_err(&name);
        let message = err.to_string();
        let column = want["column"].as_str().unwrap();
        assert!(message.contains(&format!("`{column}`")), "{name}: {message}");
        assert!(message.contains(&name), "{name}: the file is named: {message}");
        match (kind, &err) {
            ("UnsupportedCodec", DataError::UnsupportedCodec { codec, .. }) => {
                assert_eq!(codec, "gzip");
                assert!(message.contains("compression=\"snappy\""), "{message}");
            }
            ("UnsupportedType", DataError::UnsupportedType { arrow_type, .. }) => {
                assert!(arrow_type.starts_with("Timestamp"), "{arrow_type}");
                assert!(message.contains("cast the column to int64, float64 or string"), "{message}");
            }
            ("BadValue", DataError::BadValue { row, .. }) => {
                assert_eq!(*row as u64, want["row"].as_u64().unwrap(), "{name}");
                assert!(message.contains(&format!("row {} (1-based)", row + 1)), "{message}");
            }
            _ => panic!("{name}: expected {kind}, got {err:?}"),
        }
    }
    // Projection: the columns a table cannot hold are not read, and do not matter.
    let ids = read("unsupported.parquet", &ParquetOptions::new().columns(["id"])).unwrap();
    assert_eq!(ids.table.column("id"), Some(&Column::Int(vec![Some(1), Some(2)])));
    let err = read("unsupported.parquet", &ParquetOptions::new().columns(["id", "tags"])).unwrap_err();
    assert!(matches!(&err, DataError::UnsupportedType { column, .. } if column == "tags"), "{err}");
    // A CSV file is not a Parquet file.
    let err =
        read_parquet(&DataFile::open(crate::titanic::path("test.csv")).unwrap(), &ParquetOptions::new())
            .unwrap_err();
    assert!(matches!(err, DataError::NotParquet { .. }), "{err}");
}

#[test]
fn tables_round_trip_through_parquet() {
    let table = crate::titanic::table("train.csv");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.parquet");
    write_parquet(&table, &path).unwrap();
    let back = read_parquet(&DataFile::open(&path).unwrap(), &ParquetOptions::new()).unwrap();
    assert_eq!(back.table, table);
    assert_eq!(back.schema, table.schema());
    assert_eq!(parse_parquet(parquet_bytes(&table).unwrap(), "m", &ParquetOptions::new()).unwrap(), table);
    let record_batch = table.to_record_batch().unwrap();
    assert_eq!(Table::from_record_batch(&record_batch).unwrap(), table);
    // Overwriting is atomic: a new version replaces the old one whole.
    let head = table.take(&[0, 1, 2]);
    write_parquet(&head, &path).unwrap();
    assert_eq!(read_parquet(&DataFile::open(&path).unwrap(), &ParquetOptions::new()).unwrap().table, head);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[step]
fn ingest_parquet(file: &DataFile) -> Result<Ingested, DataError> {
    read_parquet(file, &ParquetOptions::new())
}

#[test]
fn a_step_reading_parquet_records_the_data_version() {
    let (_dir, store) = temp_store();
    let file = DataFile::open(fixture("pandas.parquet")).unwrap();
    let mut p = Pipeline::new("parquet");
    let data = p.param("data", file.clone());
    p.step(IngestParquetStep, data);
    let report = p.run(&store).unwrap();
    let run = store.run(report.run_id()).unwrap().unwrap();
    assert_eq!(
        run.data,
        [("ingest_parquet".to_string(), DataInput { name: file.path.clone(), version: file.version })]
    );
}
