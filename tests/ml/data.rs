//! Ingestion: the Titanic files read into typed tables, data versions, and every bad-input case.

use crate::common;
use crate::titanic as support;

use std::fs;
use std::path::{Path, PathBuf};

use common::{statuses, temp_store};
use mlflow::codec::{self, ContentHash};
use mlflow::data::{
    Column, ColumnType, CsvOptions, DataError, DataFile, Ingested, Schema, parse_csv, read_csv,
};
use mlflow::prelude::*;
use mlflow::validate::Check;
use support::pipeline;

fn titanic(name: &str) -> PathBuf {
    support::path(name)
}

/// Reads a file with the pipeline's `ingest` step and CSV options.
fn read(path: &Path) -> Result<Ingested, DataError> {
    mlflow::blocks::ingest(&DataFile::open(path)?, &CsvOptions::default())
}

/// Writes `bytes` to `name` in a fresh temp dir and reads it with default options.
fn read_bytes(name: &str, bytes: &[u8]) -> Result<Ingested, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    read(&path)
}

/// The Titanic files' schema: the column types the pipeline's suite expects (`Survived` only
/// `with_label`), in file order, plus `Ticket` (which the pipeline neither checks nor uses)
/// between `Parch` and `Fare`.
fn titanic_schema(with_label: bool) -> Schema {
    let mut fields: Vec<(String, ColumnType)> = pipeline::suite()
        .expectations
        .into_iter()
        .filter_map(|e| match e.check {
            Check::Present { column_type: Some(ty) } => Some((e.column, ty)),
            _ => None,
        })
        .filter(|(name, _)| with_label || name != pipeline::LABEL)
        .collect();
    if !fields.iter().any(|(name, _)| name == "Ticket") {
        let fare = fields.iter().position(|(name, _)| name == "Fare").expect("the suite checks Fare");
        fields.insert(fare, ("Ticket".into(), ColumnType::Str));
    }
    Schema::new(fields)
}

#[test]
fn titanic_train_is_read_with_inferred_types() {
    let ingested = read(&titanic("train.csv")).unwrap();
    assert_eq!(ingested.rows, 891);
    assert_eq!(ingested.schema, titanic_schema(true));
    assert_eq!(ingested.table.schema(), ingested.schema);
    let t = &ingested.table;
    // Quoted commas stay inside the name.
    assert_eq!(t.column("Name").unwrap().str_at(0), Some("Braund, Mr. Owen Harris"));
    assert_eq!(t.column("Fare").unwrap().f64_at(0), Some(7.25));
    // Known missing counts of the Kaggle file.
    let nulls = |c: &str| t.column(c).unwrap().null_count();
    assert_eq!((nulls("Age"), nulls("Cabin"), nulls("Embarked"), nulls("Fare")), (177, 687, 2, 0));
    let survived = t.column("Survived").unwrap().as_int().unwrap();
    assert_eq!(survived.iter().filter(|s| **s == Some(1)).count(), 342);
    let bytes = fs::read(titanic("train.csv")).unwrap();
    assert_eq!(ingested.version, ContentHash::of(&bytes));
}

#[test]
fn titanic_test_has_no_label_and_one_missing_fare() {
    let ingested = read(&titanic("test.csv")).unwrap();
    assert_eq!(ingested.rows, 418);
    assert_eq!(ingested.schema, titanic_schema(false));
    assert_eq!(ingested.table.column("Fare").unwrap().null_count(), 1);
}

#[test]
fn an_explicit_schema_matches_inference_on_titanic() {
    let file = DataFile::open(titanic("train.csv")).unwrap();
    let opts = CsvOptions::default().with_schema(titanic_schema(true));
    let declared = read_csv(&file, &opts).unwrap();
    assert_eq!(declared, read_csv(&file, &CsvOptions::default()).unwrap());
}

#[test]
fn a_schema_column_missing_from_the_file_is_an_error() {
    // test.csv has no Survived: reading it with the training schema names the column.
    let file = DataFile::open(titanic("test.csv")).unwrap();
    let err = read_csv(&file, &CsvOptions::default().with_schema(titanic_schema(true))).unwrap_err();
    assert!(matches!(&err, DataError::MissingColumn { column, .. } if column == "Survived"), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("test.csv") && msg.contains("no column `Survived`"), "{msg}");
    assert!(msg.contains("columns found: PassengerId, Pclass, Name"), "{msg}");
}

#[test]
fn reading_is_deterministic_down_to_the_bytes() {
    let a = codec::encode(&read(&titanic("train.csv")).unwrap()).unwrap();
    let b = codec::encode(&read(&titanic("train.csv")).unwrap()).unwrap();
    assert_eq!(a, b);
    let back: Ingested = codec::decode(&a, 1 << 30).unwrap();
    assert_eq!(codec::encode(&back).unwrap(), a);
}

#[test]
fn table_subsets_for_splits() {
    let t = read(&titanic("train.csv")).unwrap().table;
    let sub = t.take(&[890, 0]);
    assert_eq!(sub.rows(), 2);
    assert_eq!(sub.column("PassengerId").unwrap(), &Column::Int(vec![Some(891), Some(1)]));
    let features = t.select(&["Pclass", "Sex"]).unwrap();
    assert_eq!(features.names(), ["Pclass", "Sex"]);
    assert_eq!(features.rows(), 891);
    assert!(matches!(t.try_take(&[891]), Err(DataError::RowOutOfRange { row: 891, rows: 891 })));
}

// ---- bad input: one test per case -------------------------------------------------------------

#[test]
fn missing_file() {
    let err = DataFile::open("examples/data/titanic/nope.csv").unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    assert!(err.to_string().contains("`examples/data/titanic/nope.csv` does not exist"), "{err}");
}

#[test]
fn a_folder_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = DataFile::open(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
}

#[test]
fn empty_file() {
    let err = read_bytes("empty.csv", b"").unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err}");
    assert!(err.to_string().contains("empty.csv` is empty"), "{err}");
}

#[test]
fn header_only() {
    let err = read_bytes("header.csv", b"PassengerId,Survived,Pclass\n").unwrap_err();
    assert!(matches!(err, DataError::HeaderOnly { columns: 3, .. }), "{err}");
    assert!(err.to_string().contains("header.csv` has a header (3 columns) but no data rows"), "{err}");
}

#[test]
fn ragged_row_names_file_and_line() {
    let err = read_bytes("ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n").unwrap_err();
    assert!(matches!(err, DataError::RaggedRow { line: 3, row: 1, expected: 3, found: 2, .. }), "{err}");
    assert!(err.to_string().contains("ragged.csv` line 3: expected 3 fields"), "{err}");
    // Too many fields too (an unquoted comma in a name).
    let err = read_bytes("ragged.csv", b"id,name\n1,Braund, Mr. Owen\n").unwrap_err();
    assert!(matches!(err, DataError::RaggedRow { line: 2, expected: 2, found: 3, .. }), "{err}");
}

#[test]
fn lines_are_the_same_with_lf_and_crlf_line_ends() {
    // The shipped Titanic files end their lines with `\r\n`: line 12 made ragged names line 12.
    let crlf = fs::read_to_string(titanic("train.csv")).unwrap();
    assert!(crlf.contains("\r\n"), "the shipped file has CRLF line ends");
    let lf = crlf.replace("\r\n", "\n");
    for (ends, text) in [("CRLF", &crlf), ("LF", &lf)] {
        let end = if ends == "CRLF" { "\r\n" } else { "\n" };
        let mut lines: Vec<String> = text.split(end).map(str::to_owned).collect();
        lines[11].push_str(",extra");
        let err = read_bytes("train.csv", lines.join(end).as_bytes()).unwrap_err();
        assert!(matches!(err, DataError::RaggedRow { line: 12, row: 10, .. }), "{ends}: {err}");
        assert!(err.to_string().contains("train.csv` line 12: expected 12 fields"), "{ends}: {err}");
    }
    // A quoted field holding line ends, then a bad value: the same line with either line end.
    let text = "Name,Age\n\"Ada\nLovelace\",36\n\"Alan\r\nTuring\",41\nGrace,NaN\n";
    for end in ["\n", "\r\n"] {
        let err =
            read_bytes("multi.csv", text.replace('\n', end).replace("\r\r", "\r").as_bytes()).unwrap_err();
        assert!(matches!(&err, DataError::NonFinite { line: 6, row: 2, .. }), "{end:?}: {err}");
        assert!(err.to_string().contains("multi.csv` line 6, column `Age`"), "{end:?}: {err}");
    }
}

/// Panics if `message` holds a control character or a bidi override.
fn assert_no_controls(message: &str) {
    assert!(!message.chars().any(mlflow::text::is_unsafe_char), "raw control character in {message:?}");
}

#[test]
fn messages_escape_control_characters_from_the_file() {
    // A terminal title escape in a header, a carriage return in a quoted field.
    let title = "\x1b]0;pwned\x07";
    let escaped = "\\u{1b}]0;pwned\\u{7}";
    let schema = CsvOptions::default().with_schema(Schema::new([(title, ColumnType::Int)]));
    let bytes = format!("\"{title}\",Fare\n1,2\n\"x\r\",3\n");
    let err = parse_csv(bytes.as_bytes(), "in\x1b[2J.csv", &schema).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { column, value, .. } if column == title && value == "x\r"),
        "{err:?}"
    );
    let message = err.to_string();
    assert_no_controls(&message);
    assert!(
        message.starts_with(&format!("`in\\u{{1b}}[2J.csv` line 3, column `{escaped}`: `x\\u{{d}}` is not")),
        "{message}"
    );
    // Names in lists, duplicates, non-finite values, unknown columns.
    let bidi = "Age\u{202e}";
    let errors = [
        parse_csv(
            format!("{title},a\n1,2\n").as_bytes(),
            "t.csv",
            &CsvOptions::default().with_schema(Schema::new([("b", ColumnType::Int)])),
        )
        .unwrap_err(),
        parse_csv(format!("{title},{title}\n1,2\n").as_bytes(), "t.csv", &CsvOptions::default()).unwrap_err(),
        parse_csv(format!("{bidi}\n1\n\"inf\u{9b}\"\n").as_bytes(), "t.csv", &schema_float(bidi))
            .unwrap_err(),
        parse_csv(format!("{title}\n1\n").as_bytes(), "t.csv", &CsvOptions::default())
            .unwrap()
            .require_column(bidi)
            .unwrap_err(),
    ];
    for err in errors {
        let message = err.to_string();
        assert_no_controls(&message);
        assert!(message.contains(escaped) || message.contains("Age\\u{202e}"), "{message}");
    }
}

fn schema_float(name: &str) -> CsvOptions {
    CsvOptions::default().with_schema(Schema::new([(name, ColumnType::Float)]))
}

#[test]
fn duplicate_header_names() {
    let err = read_bytes("dup.csv", b"Age,Fare,Age\n1,2,3\n").unwrap_err();
    assert!(matches!(&err, DataError::DuplicateHeader { name, first: 1, second: 3, .. } if name == "Age"));
    assert!(err.to_string().contains("column name `Age` appears at positions 1 and 3"), "{err}");
}

#[test]
fn empty_header_name() {
    let err = read_bytes("blank.csv", b"Age, ,Fare\n1,2,3\n").unwrap_err();
    assert!(matches!(err, DataError::EmptyHeader { position: 2, .. }), "{err}");
}

#[test]
fn nan_in_a_numeric_column() {
    let err = read_bytes("nan.csv", b"Age,Fare\n22,7.25\n38,NaN\n").unwrap_err();
    assert!(
        matches!(&err, DataError::NonFinite { line: 3, row: 1, column, value, .. } if column == "Fare" && value == "NaN"),
        "{err}"
    );
    assert!(err.to_string().contains("nan.csv` line 3, column `Fare`: `NaN` is not a finite number"));
}

#[test]
fn infinity_in_a_numeric_column_even_with_a_schema() {
    let err = read_bytes("inf.csv", b"Age,Fare\n22,inf\n").unwrap_err();
    assert!(matches!(&err, DataError::NonFinite { line: 2, column, .. } if column == "Fare"), "{err}");
    let opts = CsvOptions::default().with_schema(Schema::new([("Fare", ColumnType::Float)]));
    let err = parse_csv(b"Fare\n1\n-infinity\n", "inf.csv", &opts).unwrap_err();
    assert!(matches!(err, DataError::NonFinite { line: 3, .. }), "{err}");
}

#[test]
fn non_numeric_value_in_a_declared_numeric_column() {
    let opts = CsvOptions::default().with_schema(Schema::new([("Age", ColumnType::Float)]));
    let err = parse_csv(b"Name,Age\nAda,36\nBob,thirty\n", "ages.csv", &opts).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { line: 3, row: 1, column, value, expected: ColumnType::Float, .. }
            if column == "Age" && value == "thirty"),
        "{err}"
    );
    assert!(err.to_string().contains("ages.csv` line 3, column `Age`: `thirty` is not a valid float value"));
}

#[test]
fn non_utf8_bytes_name_line_and_column() {
    let err = read_bytes("latin1.csv", b"Name,Age\nAda,36\nJos\xe9,40\n").unwrap_err();
    assert!(matches!(&err, DataError::NotUtf8 { line: 3, column, valid_up_to: 3, .. } if column == "Name"));
    assert!(err.to_string().contains("latin1.csv` line 3, column `Name`: the field is not valid UTF-8"));
    // In the header.
    let err = read_bytes("latin1.csv", b"Na\xefme,Age\nAda,36\n").unwrap_err();
    assert!(matches!(err, DataError::NotUtf8 { line: 1, .. }), "{err}");
}

#[test]
fn a_file_changed_after_opening_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    fs::write(&path, "x\n1\n").unwrap();
    let file = DataFile::open(&path).unwrap();
    fs::write(&path, "x\n2\n").unwrap();
    let err = read_csv(&file, &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Changed { .. }), "{err}");
    assert!(err.to_string().contains("changed since it was opened"), "{err}");
    assert!(err.to_string().contains("rebuild the pipeline"), "{err}");
}

// ---- data versions and the cache ---------------------------------------------------------------

#[step]
fn count_rows(data: &Ingested) -> usize {
    data.rows
}

/// The pipeline's `ingest` step over `path`, and a row count.
fn count_pipeline(path: &Path) -> (Pipeline, Node<usize>) {
    let mut p = Pipeline::new("data-version");
    let file = p.param("train", DataFile::open(path).unwrap());
    let options = p.param("csv", CsvOptions::default());
    let data = p.step(mlflow::blocks::IngestStep, (file, options));
    let rows = p.step(CountRowsStep, data);
    (p, rows)
}

#[test]
fn changing_the_file_bytes_changes_the_cache_key() {
    let (_dir, store) = temp_store();
    let data_dir = tempfile::tempdir().unwrap();
    let path = data_dir.path().join("train.csv");
    fs::write(&path, "x\n1\n2\n").unwrap();

    let (p, rows) = count_pipeline(&path);
    assert_eq!(*p.run(&store).unwrap().get(rows).unwrap(), 2);
    let again = count_pipeline(&path).0.run(&store).unwrap();
    assert_eq!(statuses(&again), ["ingest=cached", "count_rows=cached"]);

    // Same path, new bytes: a new data version, so ingest reruns; never a stale hit.
    fs::write(&path, "x\n1\n2\n3\n").unwrap();
    let (p2, rows2) = count_pipeline(&path);
    let report = p2.run(&store).unwrap();
    assert_eq!(statuses(&report), ["ingest=ran", "count_rows=ran"]);
    assert_eq!(*report.get(rows2).unwrap(), 3);

    // A pipeline built for bytes that are gone cannot read the new ones by mistake.
    fs::write(&path, "x\n9\n").unwrap();
    let report = p2.run(&store).unwrap(); // its key is unchanged: served from the cache, 3 rows
    assert_eq!(*report.get(rows2).unwrap(), 3);
    let report = p2.run_with(&store, RunOptions::new().force_all()).unwrap();
    let failed = report.step("ingest").unwrap();
    assert_eq!(failed.status, StepStatus::Failed);
    let msg = failed.error.as_deref().unwrap_or_default();
    assert!(msg.contains("changed since it was opened"), "{msg}");
    assert!(report.get(rows2).is_err());
}
