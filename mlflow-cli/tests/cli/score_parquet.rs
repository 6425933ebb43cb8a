//! Batch scoring of Parquet files (`mlflow::serve::score_parquet`, `score_file` and
//! `mlflow-pipelines score IN.parquet`): the same rows give the same bytes as from CSV, a file
//! pandas wrote gives the CSV file's predictions, Parquet output reads back, and bad input is an
//! error naming the row and column.

use super::{fails, mlflow, path_str, records, score, scorer, support, test_csv};

use std::path::PathBuf;

use mlflow::data::{
    Column, CsvOptions, DataError, DataFile, ParquetFile, ParquetOptions, ParquetWriter, Table, parse_csv,
    read_parquet, write_parquet,
};
use mlflow::serve::{BatchError, BatchOptions, score_file, score_parquet};

/// A fixture written by pyarrow and pandas (`tests/fixtures/parquet/generate.py`).
fn pandas_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/parquet").join(name)
}

/// The Titanic test rows as a typed table.
fn test_table() -> Table {
    parse_csv(test_csv().as_bytes(), "test.csv", &CsvOptions::default()).unwrap()
}

/// The table as CSV, each value as batch scoring writes a Parquet value: integers as written,
/// floats as Rust's `{:?}` (`22.0`, `0.1`), text as is, missing values empty.
fn to_csv(table: &Table, delimiter: u8) -> String {
    let mut writer = csv::WriterBuilder::new().delimiter(delimiter).from_writer(Vec::new());
    writer.write_record(table.names()).unwrap();
    for i in 0..table.rows() {
        let row: Vec<String> = table
            .iter()
            .map(|(_, column)| match column {
                Column::Int(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
                Column::Float(v) => v[i].map(|x| format!("{x:?}")).unwrap_or_default(),
                Column::Str(v) => v[i].clone().unwrap_or_default(),
            })
            .collect();
        writer.write_record(&row).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The table as a Parquet file of row groups of `group` rows.
fn to_parquet(table: &Table, group: usize) -> Vec<u8> {
    let mut writer = ParquetWriter::new(Vec::new(), &table.schema(), "test.parquet").unwrap();
    let rows: Vec<usize> = (0..table.rows()).collect();
    for part in rows.chunks(group) {
        writer.write(&table.take(part)).unwrap();
    }
    writer.finish().unwrap()
}

fn score_bytes(bytes: Vec<u8>, options: &BatchOptions) -> Result<String, BatchError> {
    let file = ParquetFile::from_bytes(bytes, "in.parquet")?;
    let mut out = Vec::new();
    score_parquet(scorer(), &file, &mut out, options)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn parquet_input_scores_byte_for_byte_as_the_same_rows_in_csv() {
    let table = test_table();
    let parquet = to_parquet(&table, 100);
    let options = [
        BatchOptions::new(),
        BatchOptions::new().chunk_rows(7),
        BatchOptions::new().chunk_rows(1000).keep(["Age", "PassengerId", "Cabin"]),
        BatchOptions::new().keep(Vec::<String>::new()).delimiter(b';'),
    ];
    for options in &options {
        let from_csv = score(&to_csv(&table, options.delimiter), options).unwrap();
        let from_parquet = score_bytes(parquet.clone(), options).unwrap();
        assert!(from_csv == from_parquet, "{options:?}: the outputs differ");
    }
    let out = score(&to_csv(&table, b','), &BatchOptions::new()).unwrap();
    assert_eq!(records(&out).len(), 419);
    assert!(out.contains(",34.5,") && out.contains(",62.0,"), "floats keep their decimal point");
}

#[test]
fn a_file_pandas_wrote_gets_the_predictions_of_the_csv_file() {
    let path = pandas_fixture("titanic_test.parquet");
    let file = ParquetFile::open(&path).unwrap();
    assert_eq!(file.rows(), 418);
    let mut out = Vec::new();
    let summary = score_parquet(scorer(), &file, &mut out, &BatchOptions::new().chunk_rows(64)).unwrap();
    assert_eq!((summary.rows, summary.chunks), (418, 7));
    assert_eq!(summary.bytes_read, std::fs::metadata(&path).unwrap().len());
    let from_parquet = records(&String::from_utf8(out).unwrap());
    let from_csv = records(&score(&test_csv(), &BatchOptions::new()).unwrap());
    assert_eq!(from_parquet.len(), from_csv.len());
    assert_eq!(from_parquet[0], from_csv[0], "same header");
    for (i, (p, c)) in from_parquet.iter().zip(&from_csv).enumerate().skip(1) {
        assert_eq!(p[0], c[0], "row {i}: PassengerId");
        assert_eq!(p[11..], c[11..], "row {i}: prediction and probability");
    }
}

#[test]
fn parquet_output_reads_back_with_types_and_the_csv_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let input = pandas_fixture("titanic_test.parquet");
    let (csv_out, parquet_out) = (dir.path().join("out.csv"), dir.path().join("out.parquet"));
    let options = BatchOptions::new().keep(["PassengerId", "Name"]);
    score_file(scorer(), &input, &csv_out, &options).unwrap();
    score_file(scorer(), &input, &parquet_out, &options).unwrap();
    let scored = read_parquet(&DataFile::open(&parquet_out).unwrap(), &ParquetOptions::new()).unwrap().table;
    assert_eq!(scored.names(), ["PassengerId", "Name", "prediction", "probability"]);
    let csv = records(&std::fs::read_to_string(&csv_out).unwrap());
    let Some(Column::Int(ids)) = scored.column("PassengerId") else { panic!("PassengerId stays an integer") };
    let Some(Column::Int(labels)) = scored.column("prediction") else { panic!("prediction is an integer") };
    let Some(Column::Float(p)) = scored.column("probability") else { panic!("probability is a float") };
    for i in 0..418 {
        assert_eq!(ids[i].unwrap().to_string(), csv[i + 1][0]);
        assert_eq!(labels[i].unwrap().to_string(), csv[i + 1][2]);
        assert_eq!(p[i].unwrap(), csv[i + 1][3].parse::<f64>().unwrap(), "row {i}: exact");
    }

    // A CSV input can be written as Parquet too: its kept columns as text.
    let from_csv = dir.path().join("from_csv.parquet");
    score_file(scorer(), support::path("test.csv"), &from_csv, &options).unwrap();
    let scored = read_parquet(&DataFile::open(&from_csv).unwrap(), &ParquetOptions::new()).unwrap().table;
    assert_eq!(scored.column("PassengerId").unwrap().str_at(0), Some("892"));
    assert_eq!(scored.column("prediction"), Some(&Column::Int(labels.clone())));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
}

#[test]
fn bad_parquet_values_name_the_row_and_column() {
    let table = test_table();
    let mut ages: Vec<Option<String>> =
        table.column("Age").unwrap().as_float().unwrap().iter().map(|a| a.map(|a| a.to_string())).collect();
    ages[300] = Some("old".into());
    let bad = table.clone().with_column("Age", Column::Str(ages)).unwrap();
    let err = score_bytes(to_parquet(&bad, 100), &BatchOptions::new().chunk_rows(50)).unwrap_err();
    assert!(matches!(&err, BatchError::RowValue { row: 300, column, .. } if column == "Age"), "{err}");
    assert!(
        err.to_string().starts_with("`in.parquet` row 301 (1-based), column `Age`: `old` is not a number"),
        "{err}"
    );

    let mut sexes: Vec<Option<String>> = table.column("Sex").unwrap().as_text().unwrap().to_vec();
    sexes[5] = Some("?".into());
    let bad = table.clone().with_column("Sex", Column::Str(sexes)).unwrap();
    let err = score_bytes(to_parquet(&bad, 100), &BatchOptions::new()).unwrap_err();
    assert!(err.to_string().contains("row 6 (1-based), column `Sex`: category `?` is unknown"), "{err}");

    // A column the model reads in a type a table cannot hold is refused before any row.
    let err =
        score_bytes(std::fs::read(pandas_fixture("unsupported.parquet")).unwrap(), &BatchOptions::new())
            .unwrap_err();
    assert!(matches!(err, BatchError::MissingColumns { .. }), "{err}");
}

#[test]
fn cli_scores_parquet_to_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let input = pandas_fixture("titanic_test.parquet");
    let library = {
        let mut out = Vec::new();
        score_parquet(scorer(), &ParquetFile::open(&input).unwrap(), &mut out, &BatchOptions::new()).unwrap();
        String::from_utf8(out).unwrap()
    };
    let out = dir.path().join("out.csv");
    let run = mlflow(&["score", "titanic@production", path_str(&input), "-o", path_str(&out)], None);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.starts_with("scored 418 rows of ") && stderr.contains("titanic_test.parquet"), "{stderr}");
    assert!(std::fs::read_to_string(&out).unwrap() == library, "the CLI writes what the library does");

    let stdout = mlflow(&["score", "titanic", path_str(&input)], None);
    assert!(stdout.status.success(), "{}", String::from_utf8_lossy(&stdout.stderr));
    assert!(String::from_utf8(stdout.stdout).unwrap() == library, "standard output: the same CSV");

    let parquet = dir.path().join("out.parquet");
    let run = mlflow(
        &["score", "titanic@production", path_str(&input), "-o", path_str(&parquet), "--keep", "PassengerId"],
        None,
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let scored = read_parquet(&DataFile::open(&parquet).unwrap(), &ParquetOptions::new()).unwrap();
    assert_eq!(
        (scored.rows, scored.table.names()),
        (418, &["PassengerId".to_owned(), "prediction".into(), "probability".into()][..])
    );
}

#[test]
fn cli_parquet_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let fake = dir.path().join("fake.parquet");
    std::fs::write(&fake, test_csv()).unwrap();
    let error = fails(&["score", "titanic@production", path_str(&fake), "-o", path_str(&out)]);
    assert!(error.contains("fake.parquet` is not a Parquet file"), "{error}");
    let error = fails(&["score", "titanic@production", path_str(&fake)]);
    assert!(error.contains("is not a Parquet file"), "{error}");
    let error = fails(&["score", "titanic@production", "-", "-o", path_str(&dir.path().join("x.parquet"))]);
    assert!(error.contains("standard input, which is read as CSV"), "{error}");

    // A file without the model's columns: the plan is checked before any value is decoded
    // (this one also holds a NaN, which the reader would refuse).
    let nan = pandas_fixture("nan.parquet");
    let error = fails(&["score", "titanic@production", path_str(&nan), "-o", path_str(&out)]);
    assert!(error.contains("has no column"), "the plan is checked first: {error}");

    // A failed run leaves an existing output unchanged, and no temporary file.
    std::fs::write(&out, "precious\n").unwrap();
    let table = test_table();
    let mut fares: Vec<Option<String>> =
        table.column("Fare").unwrap().as_float().unwrap().iter().map(|f| f.map(|f| f.to_string())).collect();
    fares[417] = Some("free".into());
    let bad = dir.path().join("bad.parquet");
    write_parquet(&table.with_column("Fare", Column::Str(fares)).unwrap(), &bad).unwrap();
    let error =
        fails(&["score", "titanic@production", path_str(&bad), "-o", path_str(&out), "--chunk-rows", "10"]);
    assert!(error.contains("row 418 (1-based), column `Fare`"), "{error}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["bad.parquet", "fake.parquet", "out.csv"]);
    let err = ParquetFile::open(&fake).unwrap_err();
    assert!(matches!(err, DataError::NotParquet { .. }), "{err}");
}
