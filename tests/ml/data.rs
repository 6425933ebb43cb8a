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

// ---- CSV options: leading lines, no header row, delimiter and quote ---------------------------

/// Writes `bytes` to `name` in a fresh temp dir and reads it with `options`.
fn read_with(name: &str, bytes: &[u8], options: &CsvOptions) -> Result<Ingested, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    read_csv(&DataFile::open(&path)?, options)
}

#[test]
fn a_count_line_before_the_header_is_skipped() {
    let opts = CsvOptions::default().skip_lines(1);
    let ingested = read_with("counted.csv", b"2\nname,age\nAda,36\nAlan,41\n", &opts).unwrap();
    assert_eq!(ingested.rows, 2);
    assert_eq!(ingested.table.names(), ["name", "age"]);
    assert_eq!(ingested.schema.get("age"), Some(ColumnType::Int));
    // Without skipping, the count line is the header and the real header a data row.
    let err = read_with("counted.csv", b"2\nname,age\nAda,36\n", &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::RaggedRow { line: 2, expected: 1, found: 2, .. }), "{err}");
}

#[test]
fn a_file_without_a_header_row_with_names_given() {
    let opts = CsvOptions::default().no_header(["id", "name", "fare"]);
    let ingested = read_with("rows.csv", b"1,Ada,7.25\n2,Alan,\n", &opts).unwrap();
    assert_eq!(ingested.rows, 2, "the first row is data");
    assert_eq!(ingested.table.names(), ["id", "name", "fare"]);
    assert_eq!(ingested.table.column("fare").unwrap(), &Column::Float(vec![Some(7.25), None]));
}

#[test]
fn a_file_without_a_header_row_read_with_a_schema() {
    let schema = Schema::new([("id", ColumnType::Str), ("fare", ColumnType::Float)]);
    let opts = CsvOptions::default().skip_lines(1).no_header_with_schema(schema.clone());
    let ingested = read_with("rows.csv", b"# 2 rows\n007,7\n008,8\n", &opts).unwrap();
    assert_eq!(ingested.schema, schema, "names and types from the schema, not inferred");
    // A declared type is enforced, at the file's line (the skipped line counts).
    let err = read_with("rows.csv", b"# 2 rows\n007,7\n008,eight\n", &opts).unwrap_err();
    assert!(
        matches!(&err, DataError::Parse { line: 3, row: 1, column, expected: ColumnType::Float, .. }
            if column == "fare"),
        "{err}"
    );
    assert!(err.to_string().starts_with("`"), "{err}");
    assert!(err.to_string().contains("rows.csv` line 3, column `fare`: `eight` is not a valid float value"));
}

#[test]
fn a_schema_with_names_given_types_some_columns() {
    let opts = CsvOptions::default()
        .no_header(["id", "fare"])
        .with_schema(Schema::new([("fare", ColumnType::Float)]));
    let ingested = read_with("rows.csv", b"1,7\n2,8\n", &opts).unwrap();
    assert_eq!(ingested.schema, Schema::new([("id", ColumnType::Int), ("fare", ColumnType::Float)]));
}

#[test]
fn line_numbers_count_skipped_lines_whatever_the_line_ends() {
    let text = "title\n\"a quote\nnotes\nx,y\n1,2\n3\n";
    for end in ["\n", "\r\n", "\r"] {
        let bytes = text.replace('\n', end);
        let err = read_with("t.csv", bytes.as_bytes(), &CsvOptions::default().skip_lines(3)).unwrap_err();
        assert!(matches!(err, DataError::RaggedRow { line: 6, row: 1, .. }), "{end:?}: {err}");
        assert!(err.to_string().contains("t.csv` line 6: expected 2 fields"), "{end:?}: {err}");
        // With no header row, the same lines.
        let opts = CsvOptions::default().skip_lines(4).no_header(["x", "y"]);
        let err = read_with("t.csv", bytes.as_bytes(), &opts).unwrap_err();
        assert!(matches!(err, DataError::NamesMismatch { line: 6, row: 1, found: 1, .. }), "{end:?}: {err}");
    }
    // A header problem names the header's line, not line 1.
    let err = read_with("t.csv", b"title\nx,x\n1,2\n", &CsvOptions::default().skip_lines(1)).unwrap_err();
    assert!(matches!(err, DataError::DuplicateHeader { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("t.csv` line 2: column name `x` appears at positions 1 and 2"));
}

#[test]
fn more_fields_than_names_given() {
    let opts = CsvOptions::default().no_header(["id", "name"]);
    let err = read_with("rows.csv", b"1,Ada,7.25\n", &opts).unwrap_err();
    assert!(
        matches!(&err, DataError::NamesMismatch { line: 1, row: 0, found: 3, names, .. } if names.len() == 2)
    );
    assert_eq!(
        err.to_string().rsplit_once("rows.csv").unwrap().1,
        "` line 1: the record has 3 fields but 2 column names were given (id, name); give one name per \
         field (`CsvOptions::no_header`, or the schema's columns with `no_header_with_schema`), or \
         check the delimiter"
    );
}

#[test]
fn fewer_fields_than_names_given() {
    let opts = CsvOptions::default().skip_lines(2).no_header(["id", "name", "fare", "cabin"]);
    let err = read_with("rows.csv", b"a\nb\n1,Ada,7.25\n", &opts).unwrap_err();
    assert!(matches!(err, DataError::NamesMismatch { line: 3, row: 0, found: 3, .. }), "{err}");
    assert!(
        err.to_string().contains(
            "rows.csv` line 3: the record has 3 fields but 4 column names were given (id, name, fare, cabin); give one name per field"
        ),
        "{err}"
    );
}

#[test]
fn a_later_row_with_another_number_of_fields_than_the_names() {
    let opts = CsvOptions::default().no_header(["id", "name"]);
    let err = read_with("rows.csv", b"1,Ada\n2,Alan,Turing\n", &opts).unwrap_err();
    assert!(matches!(err, DataError::NamesMismatch { line: 2, row: 1, found: 3, .. }), "{err}");
    assert!(
        err.to_string().ends_with(
            "the rows before have one field per name: look for an unquoted delimiter or a missing field"
        ),
        "{err}"
    );
}

#[test]
fn fields_against_the_schema_columns_with_no_header_row() {
    let schema = Schema::new([("id", ColumnType::Int), ("fare", ColumnType::Float)]);
    let err =
        read_with("rows.csv", b"1\n", &CsvOptions::default().no_header_with_schema(schema)).unwrap_err();
    assert!(matches!(err, DataError::NamesMismatch { line: 1, found: 1, .. }), "{err}");
    assert!(err.to_string().contains("but 2 column names were given (id, fare)"), "{err}");
}

#[test]
fn skipping_past_the_end_of_the_file() {
    let err = read_with("short.csv", b"x,y\n1,2\n", &CsvOptions::default().skip_lines(5)).unwrap_err();
    assert!(matches!(err, DataError::SkipPastEnd { skip: 5, lines: 2, .. }), "{err}");
    assert_eq!(
        err.to_string().rsplit_once("short.csv").unwrap().1,
        "` has 2 lines, fewer than the 5 lines to skip (`skip_lines`); lower `skip_lines` or check that \
         the right file was given"
    );
    // An empty file has no lines at all.
    let err = read_with("empty.csv", b"", &CsvOptions::default().skip_lines(1)).unwrap_err();
    assert!(matches!(err, DataError::SkipPastEnd { skip: 1, lines: 0, .. }), "{err}");
}

#[test]
fn nothing_left_after_skipping() {
    // Exactly every line skipped, with or without a final line end, or only blank lines left.
    for text in [&b"a\nb\n"[..], b"a\nb", b"a\r\nb\r\n\r\n\n"] {
        let err = read_with("skipped.csv", text, &CsvOptions::default().skip_lines(2)).unwrap_err();
        assert!(matches!(err, DataError::NothingAfterSkip { skipped: 2, .. }), "{text:?}: {err}");
        assert!(
            err.to_string().contains(
                "skipped.csv`: nothing is left to read after skipping its first 2 lines (`skip_lines`); \
                 lower `skip_lines`"
            ),
            "{err}"
        );
    }
    // The header row is left, but no data.
    let err = read_with("skipped.csv", b"n\nx,y\n", &CsvOptions::default().skip_lines(1)).unwrap_err();
    assert!(matches!(err, DataError::HeaderOnly { columns: 2, .. }), "{err}");
}

#[test]
fn the_quote_character_as_delimiter() {
    let err = read_with("q.csv", b"a\"b\n1\"2\n", &CsvOptions::default().with_delimiter(b'"')).unwrap_err();
    assert!(matches!(err, DataError::InvalidOptions { .. }), "{err}");
    assert_eq!(
        err.to_string().rsplit_once("q.csv").unwrap().1,
        "`: invalid CSV options: the delimiter `\\\"` is also the quote character; choose another \
         delimiter (`with_delimiter`: `,` `;` `\\t` `|`) or another quote character (`with_quote`)"
    );
    // The same with another quote character.
    let opts = CsvOptions::default().with_quote(b'\'').with_delimiter(b'\'');
    let err = read_with("q.csv", b"a'b\n1'2\n", &opts).unwrap_err();
    assert!(err.to_string().contains("the delimiter `\\'` is also the quote character"), "{err}");
}

#[test]
fn a_line_end_as_delimiter_or_quote() {
    for (opts, what) in [
        (
            CsvOptions::default().with_delimiter(b'\n'),
            "delimiter is a line end (`\\n`); choose another one with `with_delimiter`",
        ),
        (CsvOptions::default().with_delimiter(b'\r'), "delimiter is a line end (`\\r`)"),
        (
            CsvOptions::default().with_quote(b'\n'),
            "quote character is a line end (`\\n`); choose another one with `with_quote`",
        ),
    ] {
        let err = read_with("nl.csv", b"a\n1\n", &opts).unwrap_err();
        assert!(matches!(err, DataError::InvalidOptions { .. }), "{err}");
        assert!(err.to_string().contains(&format!("nl.csv`: invalid CSV options: the {what}")), "{err}");
    }
}

#[test]
fn a_non_ascii_delimiter() {
    // `é` is 0xC3 0xA9 in UTF-8: 0xC3 as a delimiter would cut it in two.
    let err =
        read_with("e.csv", "aéb\n1é2\n".as_bytes(), &CsvOptions::default().with_delimiter(0xC3)).unwrap_err();
    assert!(
        err.to_string().contains(
            "invalid CSV options: the delimiter `\\xc3` is not an ASCII character, so it would split \
             UTF-8 characters; choose an ASCII one with `with_delimiter`"
        ),
        "{err}"
    );
}

#[test]
fn names_given_twice_or_empty() {
    let err = read_with("r.csv", b"1,2,3\n", &CsvOptions::default().no_header(["a", "b", "a"])).unwrap_err();
    assert!(
        err.to_string().contains(
            "invalid CSV options: column name `a` is given to `no_header` twice (positions 1 and 3); \
             column names must be unique"
        ),
        "{err}"
    );
    let err = read_with("r.csv", b"1,2\n", &CsvOptions::default().no_header(["a", " "])).unwrap_err();
    assert!(err.to_string().contains("column name 2 (1-based) given to `no_header` is empty"), "{err}");
    let err = read_with("r.csv", b"1\n", &CsvOptions::default().no_header(Vec::<String>::new())).unwrap_err();
    assert!(err.to_string().contains("`no_header` was given no column names; give one name per field"));
}

#[test]
fn a_schema_declaring_a_column_twice() {
    let opts =
        CsvOptions::default().with_schema(Schema::new([("a", ColumnType::Int), ("a", ColumnType::Float)]));
    let err = read_with("s.csv", b"a\n1\n", &opts).unwrap_err();
    assert!(matches!(err, DataError::InvalidOptions { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the schema declares column `a` twice (positions 1 and 2); declare each column once"),
        "{err}"
    );
}

#[test]
fn a_header_from_the_schema_without_a_schema() {
    let opts = CsvOptions { header: mlflow::data::Header::FromSchema, ..CsvOptions::default() };
    let err = read_with("s.csv", b"1\n", &opts).unwrap_err();
    assert!(
        err.to_string().contains(
            "the header comes from the schema (`Header::FromSchema`) but no schema columns are set; \
             use `no_header_with_schema(schema)`"
        ),
        "{err}"
    );
}

#[test]
fn a_schema_column_not_among_the_names_given() {
    let opts = CsvOptions::default()
        .no_header(["id", "fare"])
        .with_schema(Schema::new([("age", ColumnType::Float)]));
    let err = read_with("r.csv", b"1,2\n", &opts).unwrap_err();
    assert!(matches!(&err, DataError::MissingColumn { column, .. } if column == "age"), "{err}");
    assert!(err.to_string().contains("no column `age`, which the schema requires; columns found: id, fare"));
}

#[test]
fn csv_options_round_trip_as_a_param() {
    let opts = CsvOptions::default()
        .skip_lines(2)
        .no_header(["a", "b"])
        .with_quote(b'\'')
        .with_schema(Schema::new([("a", ColumnType::Int)]));
    let back: CsvOptions = codec::decode(&codec::encode(&opts).unwrap(), 1 << 20).unwrap();
    assert_eq!(back, opts);
    let json = serde_json::to_string(&opts).unwrap();
    assert_eq!(serde_json::from_str::<CsvOptions>(&json).unwrap(), opts);
    // Options written before the new fields existed still read, with the defaults.
    let old: CsvOptions = serde_json::from_str(r#"{"schema":null,"delimiter":59}"#).unwrap();
    assert_eq!(old, CsvOptions::default().with_delimiter(b';'));
    // Every field counts in the param's key.
    let key = |o: &CsvOptions| codec::identity_hash(o).unwrap();
    let base = CsvOptions::default();
    for other in [
        base.clone().skip_lines(1),
        base.clone().with_quote(b'\''),
        base.clone().no_header(["a"]),
        base.clone().no_header_with_schema(Schema::new([("a", ColumnType::Int)])),
    ] {
        assert_ne!(key(&other), key(&base), "{other:?}");
    }
}

#[test]
fn scikit_learns_iris_file_reads_past_its_count_line_with_the_names_given() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/iris/iris.csv");
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];
    let options = CsvOptions::default().skip_lines(1).no_header(names);
    let iris = read_csv(&DataFile::open(&path).unwrap(), &options).unwrap();
    assert_eq!(iris.rows, 150);
    assert_eq!(iris.table.names(), names);
    assert_eq!(iris.schema.get("petal_width"), Some(ColumnType::Float));
    assert_eq!(iris.schema.get("species"), Some(ColumnType::Int));
    let species = iris.table.column("species").unwrap().as_int().unwrap();
    for class in 0..3 {
        assert_eq!(species.iter().filter(|s| **s == Some(class)).count(), 50, "class {class}");
    }
    // With the defaults the count line would be the header: its five fields name the columns.
    let misread = read_csv(&DataFile::open(&path).unwrap(), &CsvOptions::default()).unwrap();
    assert_eq!(misread.table.names(), ["150", "4", "setosa", "versicolor", "virginica"]);
}
