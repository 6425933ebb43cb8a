//! Batch scoring (`mlflow::serve::score_csv`, `score_csv_file` and `mlflow-pipelines score`) with the
//! Titanic example's registered champion: the predictions equal the online scorer's, the output
//! does not depend on the chunk size, every bad input is an error naming the line and column,
//! and a failed run never clobbers its destination.

use crate::titanic as support;

#[cfg(feature = "parquet")]
#[path = "score_parquet.rs"]
mod parquet;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mlflow::data::{CsvOptions, DataError, parse_csv};
use mlflow::registry::{Promotion, Registry};
use mlflow::serve::{BatchError, BatchOptions, ModelPackage, Scorer, score_csv, score_csv_file};

/// One Titanic run whose packaged champion is registered as `titanic` version 1, alias
/// `production`, shared by the tests.
struct Fixture {
    _dir: tempfile::TempDir,
    store: PathBuf,
    scorer: Scorer,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (dir, store) = support::temp_store();
        let path = store.root().to_owned();
        let (_, _, version) = support::register_demo(&store);
        let registry = Registry::new(&store).unwrap();
        registry.promote("titanic", version, "production", Promotion::new("roc_auc").force(true)).unwrap();
        let scorer = Scorer::from_registry(&registry, "titanic@production").unwrap();
        assert!(scorer.package().features().is_some(), "the champion is packaged with its transformers");
        Fixture { _dir: dir, store: path, scorer }
    })
}

fn scorer() -> &'static Scorer {
    &fixture().scorer
}

fn test_csv() -> String {
    std::fs::read_to_string(support::path("test.csv")).unwrap()
}

/// Scores CSV text in memory.
fn score(text: &str, options: &BatchOptions) -> Result<String, BatchError> {
    let mut out = Vec::new();
    score_csv(scorer(), text.as_bytes(), "in.csv", &mut out, options)?;
    Ok(String::from_utf8(out).unwrap())
}

/// `text` with field `column` of data row `row` (0-based) replaced by `value`.
fn with_field(text: &str, row: usize, column: &str, value: &str) -> String {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let j = header.iter().position(|h| h == column).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).unwrap();
    for (i, record) in reader.records().enumerate() {
        let mut fields: Vec<String> = record.unwrap().iter().map(str::to_owned).collect();
        if i == row {
            fields[j] = value.to_owned();
        }
        writer.write_record(&fields).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The records of a CSV text, header first.
fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn mlflow(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
        .arg("--store")
        .arg(&fixture().store)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Fails with one line on stderr, `mlflow-pipelines: ...`, and returns it.
fn fails(args: &[&str]) -> String {
    let out = mlflow(args, None);
    assert!(!out.status.success(), "mlflow {args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("mlflow-pipelines: "), "{stderr}");
    stderr
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_champion_scores_test_csv_exactly_as_the_online_scorer() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let summary = score_csv_file(scorer(), support::path("test.csv"), &out, &BatchOptions::new()).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();

    let table = parse_csv(test_csv().as_bytes(), "test.csv", &CsvOptions::default()).unwrap();
    let want = scorer().score_table(&table).unwrap();
    assert_eq!((summary.rows, want.len()), (418, 418));
    assert_eq!(summary.positives, want.iter().filter(|p| p.label == 1).count() as u64);
    assert!(summary.positives > 100 && summary.positives < 300, "{summary:?}");
    assert_eq!(summary.chunks, 1);
    assert_eq!(summary.bytes_read, std::fs::metadata(support::path("test.csv")).unwrap().len());
    assert_eq!(summary.model(), "titanic/1");
    assert_eq!((summary.model_name.as_deref(), summary.model_version), (Some("titanic"), Some(1)));

    let input = records(&test_csv());
    let output = records(&text);
    assert_eq!(output.len(), 419);
    let mut header = input[0].clone();
    header.extend(["prediction".to_owned(), "probability".to_owned()]);
    assert_eq!(output[0], header);
    for (i, (row, p)) in output[1..].iter().zip(&want).enumerate() {
        assert_eq!(row[..11], input[i + 1][..], "row {i}: input columns are copied verbatim");
        assert_eq!(row[11], p.label.to_string(), "row {i}");
        assert_eq!(row[12].parse::<f64>().unwrap(), p.probability, "row {i}: exact round trip");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}

#[test]
fn the_output_does_not_depend_on_the_chunk_size() {
    // test.csv has rows without Age, Fare, Cabin or Embarked: with chunks of one row those
    // columns are entirely empty in some chunks, and must still be read as the same features.
    let text = test_csv();
    let reference = score(&text, &BatchOptions::new().chunk_rows(1_000_000)).unwrap();
    for chunk_rows in [1, 2, 7, 100, 417, 418] {
        let out = score(&text, &BatchOptions::new().chunk_rows(chunk_rows)).unwrap();
        assert!(out == reference, "chunks of {chunk_rows} rows give another output");
    }
    // A last chunk (one row) whose imputed columns are all empty, and a numeric-looking Cabin.
    let mut blank = with_field(&text, 416, "Cabin", "123");
    for column in ["Age", "Fare", "Cabin", "Embarked"] {
        blank = with_field(&blank, 417, column, " ");
    }
    let whole = score(&blank, &BatchOptions::new()).unwrap();
    for chunk_rows in [1, 416, 417] {
        let split = score(&blank, &BatchOptions::new().chunk_rows(chunk_rows)).unwrap();
        assert!(whole == split, "chunks of {chunk_rows}: empty or numeric-looking fields read alike");
    }
    let last = records(&whole).pop().unwrap();
    let table = parse_csv(blank.as_bytes(), "blank.csv", &CsvOptions::default()).unwrap();
    let want = scorer().score_table(&table.take(&[417])).unwrap()[0];
    assert_eq!(last[12].parse::<f64>().unwrap(), want.probability, "imputed like the online scorer");
}

#[test]
fn keep_copies_only_the_chosen_columns_in_order() {
    let text = test_csv();
    let all = records(&score(&text, &BatchOptions::new()).unwrap());
    let kept = records(&score(&text, &BatchOptions::new().keep(["PassengerId"])).unwrap());
    assert_eq!(kept[0], ["PassengerId", "prediction", "probability"]);
    assert_eq!(kept[1][0], "892");
    for (k, a) in kept.iter().zip(&all) {
        assert_eq!(k[..], [a[0].clone(), a[11].clone(), a[12].clone()]);
    }
    let two = records(&score(&text, &BatchOptions::new().keep(["Name", "PassengerId"])).unwrap());
    assert_eq!(two[1][..2], ["Kelly, Mr. James", "892"]);
    let none = records(&score(&text, &BatchOptions::new().keep(Vec::<String>::new())).unwrap());
    assert_eq!(none[0], ["prediction", "probability"]);

    let err = score(&text, &BatchOptions::new().keep(["Survived"])).unwrap_err();
    assert!(matches!(&err, BatchError::Keep { column, .. } if column == "Survived"), "{err}");
    assert!(
        err.to_string().contains("not in the header") && err.to_string().contains("PassengerId"),
        "{err}"
    );
}

#[test]
fn a_ragged_row_names_its_line() {
    let mut lines: Vec<String> = test_csv().lines().map(str::to_owned).collect();
    lines[9] = lines[9].rsplit_once(',').unwrap().0.to_owned(); // line 10 loses its last field
    let err = score(&lines.join("\n"), &BatchOptions::new().chunk_rows(4)).unwrap_err();
    assert!(
        matches!(err, BatchError::Data(DataError::RaggedRow { line: 10, expected: 11, found: 10, .. })),
        "{err}"
    );
    assert!(err.to_string().starts_with("`in.csv` line 10: expected 11 fields"), "{err}");
}

#[test]
fn lines_are_the_same_with_lf_and_crlf_line_ends() {
    // The shipped test.csv ends its lines with `\r\n`; data row 20 is line 22 either way.
    let crlf = std::fs::read_to_string(support::path("test.csv")).unwrap();
    assert!(crlf.contains("\r\n"), "the shipped file has CRLF line ends");
    let lf = crlf.replace("\r\n", "\n");
    for (ends, text) in [("CRLF", &crlf), ("LF", &lf)] {
        let end = if ends == "CRLF" { "\r\n" } else { "\n" };
        let mut lines: Vec<String> = text.split(end).map(str::to_owned).collect();
        lines[21].push_str(",extra");
        for chunk in [1, 7, 1000] {
            let err = score(&lines.join(end), &BatchOptions::new().chunk_rows(chunk)).unwrap_err();
            assert!(
                matches!(err, BatchError::Data(DataError::RaggedRow { line: 22, row: 20, .. })),
                "{ends}, chunks of {chunk}: {err}"
            );
        }
        // A bad value, through a file: the same line too.
        let dir = tempfile::tempdir().unwrap();
        let (input, output) = (dir.path().join("bad.csv"), dir.path().join("out.csv"));
        std::fs::write(&input, text.replacen("female", "unknown", 3)).unwrap();
        let err = score_csv_file(scorer(), &input, &output, &BatchOptions::new().chunk_rows(4)).unwrap_err();
        let line = 1 + text.split(end).position(|l| l.contains("female")).unwrap() as u64;
        assert!(
            matches!(&err, BatchError::Row { line: l, column, .. } if *l == line && column == "Sex"),
            "{ends}: {err}"
        );
    }
    // A quoted field holding a `\r\n` before the bad row.
    let mut lines: Vec<String> = lf.split('\n').map(str::to_owned).collect();
    lines[1] = lines[1].replacen(", ", ",\r\n ", 1);
    assert!(lines[1].contains("\"Kelly,\r\n Mr. James\""), "{}", lines[1]);
    lines[3].push_str(",extra");
    for end in ["\n", "\r\n"] {
        let err = score(&lines.join(end), &BatchOptions::new()).unwrap_err();
        assert!(
            matches!(err, BatchError::Data(DataError::RaggedRow { line: 5, row: 2, .. })),
            "{end:?}: {err}"
        );
    }
}

#[test]
fn text_in_a_numeric_column_names_the_line_and_column() {
    // Data row 3 is line 5; with chunks of 2 rows it is the first row of the second chunk.
    let text = with_field(&test_csv(), 3, "Age", "thirty");
    let err = score(&text, &BatchOptions::new().chunk_rows(2)).unwrap_err();
    assert!(matches!(&err, BatchError::Row { line: 5, row: 3, column, .. } if column == "Age"), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("`in.csv` line 5, column `Age`"), "{message}");
    assert!(message.contains("`thirty` is not a number") && message.contains("fix the value"), "{message}");
}

#[test]
fn nan_infinity_missing_required_values_and_unseen_categories_are_refused() {
    let text = test_csv();
    for (row, column, value, needle) in [
        (5, "Fare", "NaN", "`NaN` is not a finite number"),
        (6, "Age", "-inf", "`-inf` is not a finite number"),
        (7, "Pclass", "", "the value is missing"),
        (8, "Sex", "unknown", "category `unknown` is unknown to the model's encoder"),
    ] {
        let bad = with_field(&text, row, column, value);
        let err = score(&bad, &BatchOptions::new().chunk_rows(3)).unwrap_err();
        let line = row as u64 + 2;
        assert!(
            matches!(&err, BatchError::Row { line: l, column: c, .. } if *l == line && c == column),
            "{column}={value:?}: {err}"
        );
        let message = err.to_string();
        assert!(message.starts_with(&format!("`in.csv` line {line}, column `{column}`")), "{message}");
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn messages_escape_control_characters_from_the_input() {
    // An unseen category holding a terminal title escape and a carriage return.
    let bad = with_field(&test_csv(), 4, "Sex", "\x1b]0;pwned\x07\r");
    let message = score(&bad, &BatchOptions::new()).unwrap_err().to_string();
    assert!(!message.chars().any(mlflow::text::is_unsafe_char), "raw control character in {message:?}");
    assert!(
        message.contains("line 6, column `Sex`: category `\\u{1b}]0;pwned\\u{7}\\u{d}` is unknown"),
        "{message}"
    );
}

#[test]
fn a_missing_column_is_reported_before_any_row() {
    let text: String = test_csv()
        .lines()
        .map(|l| {
            let r = records(l).remove(0);
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(r.iter().enumerate().filter(|(j, _)| *j != 3).map(|(_, f)| f)).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        })
        .collect();
    let err = score(&text, &BatchOptions::new()).unwrap_err();
    assert!(matches!(&err, BatchError::MissingColumns { missing, .. } if missing == &["Sex"]), "{err}");
    let message = err.to_string();
    assert!(message.contains("no column `Sex`, which model `titanic/1` needs"), "{message}");
    assert!(message.contains("columns found: PassengerId, Pclass, Name, Age"), "{message}");
}

#[test]
fn empty_and_header_only_files_are_refused() {
    let err = score("", &BatchOptions::new()).unwrap_err();
    assert!(matches!(err, BatchError::Data(DataError::Empty { .. })), "{err}");
    let header = test_csv().lines().next().unwrap().to_owned() + "\n";
    let err = score(&header, &BatchOptions::new()).unwrap_err();
    assert!(matches!(err, BatchError::Data(DataError::HeaderOnly { columns: 11, .. })), "{err}");
    assert!(err.to_string().contains("no data rows"), "{err}");
}

#[test]
fn engineered_features_for_a_package_without_transformers() {
    let with = scorer().package();
    let (rows, _) = with.self_test();
    let names = with.signature().names();
    let bare = ModelPackage::new(
        with.name(),
        with.model().clone(),
        with.scaler().cloned(),
        &names,
        rows,
        Default::default(),
    )
    .unwrap();
    let bare = Scorer::new(bare);
    let table = parse_csv(test_csv().as_bytes(), "test.csv", &CsvOptions::default()).unwrap();
    let matrix = with.features().unwrap().transform(&table).unwrap();
    let want = bare.score_batch(matrix.x.view()).unwrap();

    // An id column and the 13 features in reverse order.
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["id".to_owned()];
    header.extend(names.iter().rev().cloned());
    w.write_record(&header).unwrap();
    for (i, row) in matrix.x.rows().into_iter().enumerate() {
        let mut fields = vec![i.to_string()];
        fields.extend(row.iter().rev().map(|v| v.to_string()));
        w.write_record(&fields).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let mut out = Vec::new();
    let summary =
        score_csv(&bare, text.as_bytes(), "features.csv", &mut out, &BatchOptions::new().keep(["id"]))
            .unwrap();
    assert_eq!(summary.rows, 418);
    let out = records(&String::from_utf8(out).unwrap());
    for (i, p) in want.iter().enumerate() {
        assert_eq!(out[i + 1][0], i.to_string());
        assert_eq!(out[i + 1][2].parse::<f64>().unwrap(), p.probability, "row {i}");
    }
    assert_eq!(want, scorer().score_table(&table).unwrap(), "the same model either way");

    // Raw rows are not features: the message says what this package scores.
    let err =
        score_csv(&bare, test_csv().as_bytes(), "test.csv", Vec::new(), &BatchOptions::new()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("no feature transformers, so it scores engineered features"), "{message}");
    assert!(
        message.contains("no column `relatives`, `not_alone`, `Deck`, `Title`, `Age_Class`"),
        "{message}"
    );
    // Every feature needs a value.
    let bad = with_field(&text, 10, "Title", "");
    let err = score_csv(&bare, bad.as_bytes(), "features.csv", Vec::new(), &BatchOptions::new()).unwrap_err();
    assert!(matches!(&err, BatchError::Row { line: 12, column, .. } if column == "Title"), "{err}");
}

#[test]
fn cli_scores_to_a_file_and_summarizes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let input = support::path("test.csv");
    let run = mlflow(&["score", "titanic@production", path_str(&input), "-o", path_str(&out)], None);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(run.stdout.is_empty());
    assert!(stderr.starts_with("scored 418 rows of ") && stderr.contains("with titanic/1 ("), "{stderr}");
    assert!(
        stderr.contains("predicted 1") && stderr.contains("rows/s") && stderr.ends_with("out.csv\n"),
        "{stderr}"
    );
    let library = score(&test_csv(), &BatchOptions::new()).unwrap();
    assert!(std::fs::read_to_string(&out).unwrap() == library, "the CLI writes what the library does");

    let json =
        mlflow(&["--json", "score", "titanic@production", path_str(&input), "-o", path_str(&out)], None);
    assert!(json.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(summary["rows"], 418);
    assert_eq!(summary["model"], "titanic/1");
    assert_eq!(summary["reference"], "titanic@production");
    assert!(summary["rows_per_sec"].as_f64().unwrap() > 0.0 && summary["elapsed_secs"].as_f64().is_some());

    // Standard output (the default and `-o -`), standard input, --keep and --chunk-rows.
    let kept =
        mlflow(&["score", "titanic", path_str(&input), "--keep", "PassengerId", "--chunk-rows", "5"], None);
    assert!(kept.status.success(), "{}", String::from_utf8_lossy(&kept.stderr));
    assert!(
        String::from_utf8(kept.stdout).unwrap()
            == score(&test_csv(), &BatchOptions::new().keep(["PassengerId"])).unwrap()
    );
    let piped = mlflow(&["--json", "score", "titanic/1", "-", "-o", "-"], Some(&test_csv()));
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));
    assert!(String::from_utf8(piped.stdout).unwrap() == library, "no JSON when the rows go to stdout");
    assert!(String::from_utf8_lossy(&piped.stderr).contains("of standard input"));
}

#[test]
fn cli_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = support::path("test.csv");
    let out = dir.path().join("out.csv");
    let error = fails(&["score", "nope@production", path_str(&input), "-o", path_str(&out)]);
    assert!(error.contains("nope"), "{error}");
    let error = fails(&["score", "titanic@production", "no/such/file.csv", "-o", path_str(&out)]);
    assert!(error.contains("`no/such/file.csv` does not exist"), "{error}");
    let error = fails(&["score", "titanic@production", "no/such/file.csv"]);
    assert!(error.contains("does not exist"), "{error}");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, with_field(&test_csv(), 0, "Age", "old")).unwrap();
    let error = fails(&["score", "titanic@production", path_str(&bad), "-o", path_str(&out)]);
    assert!(error.contains("line 2, column `Age`: `old` is not a number"), "{error}");
    let error = fails(&["score", "titanic@production", path_str(&input), "--keep", "Nope"]);
    assert!(error.contains("cannot keep column `Nope`"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only bad.csv: no output, no temp file");
}

#[test]
fn a_failing_run_leaves_an_existing_output_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "precious\n").unwrap();
    // The bad value is in the last chunk: the earlier chunks were already written (elsewhere).
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, with_field(&test_csv(), 417, "Sex", "?")).unwrap();
    let error =
        fails(&["score", "titanic@production", path_str(&bad), "-o", path_str(&out), "--chunk-rows", "10"]);
    assert!(error.contains("line 419, column `Sex`"), "{error}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["bad.csv", "out.csv"], "no temporary file left behind");

    // The library function behaves the same.
    let err = score_csv_file(scorer(), &bad, &out, &BatchOptions::new().chunk_rows(10)).unwrap_err();
    assert!(matches!(err, BatchError::Row { line: 419, .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    // Success replaces it.
    score_csv_file(scorer(), support::path("test.csv"), &out, &BatchOptions::new()).unwrap();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("PassengerId,"));
}
