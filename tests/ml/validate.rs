//! Validation: the real Titanic training file passes a sensible suite; a corrupted copy fails with a
//! report that names each problem; a failing validate step fails the run with that report.

use crate::common;
use crate::titanic as support;

use std::fs;
use std::path::{Path, PathBuf};

use common::temp_store;
use mlflow::codec;
use mlflow::data::{CsvOptions, DataFile, Table, Value};
use mlflow::prelude::*;
use mlflow::validate::{Example, Expectation, Severity, Suite, ValidationError, ValidationReport, validate};
use support::pipeline;

fn titanic_train() -> PathBuf {
    support::path("train.csv")
}

/// A file as the pipeline's `ingest` step reads it.
fn read(path: &Path) -> Table {
    mlflow::blocks::ingest(&DataFile::open(path).unwrap(), &CsvOptions::default()).unwrap().table
}

fn outcome<'a>(report: &'a ValidationReport, name: &str, column: &str) -> &'a mlflow::validate::Outcome {
    report
        .outcomes
        .iter()
        .find(|o| o.expectation == name && o.column == column)
        .unwrap_or_else(|| panic!("no outcome {name} on {column}"))
}

#[test]
fn the_titanic_training_file_passes_with_warnings_recorded() {
    let suite = pipeline::suite();
    let report = validate(&read(&titanic_train()), &suite);
    assert!(report.passed(), "{report}");
    assert!(report.check().is_ok());
    assert_eq!(report.rows, 891);
    assert_eq!(report.outcomes.len(), suite.expectations.len());

    let warnings: Vec<String> =
        report.warnings().map(|o| format!("{} {}", o.expectation, o.column)).collect();
    assert_eq!(warnings, ["max_null_rate Cabin"]);
    let cabin = outcome(&report, "max_null_rate", "Cabin");
    assert_eq!(cabin.offending, 687);
    assert_eq!(cabin.detail, "687 of 891 values missing (77.1%)");
    assert_eq!(cabin.examples[0], Example { row: 0, value: Value::Missing });
    // Outliers and missing values within the suite's limits are counted, not flagged: Fare beyond
    // 3 x IQR is 53 of 891 (5.9%, under 10%); Age misses 177 (19.9%, under 25%).
    let fare = outcome(&report, "iqr_outliers", "Fare");
    assert_eq!((fare.offending, fare.passed), (53, true));
    assert_eq!(outcome(&report, "max_null_rate", "Age").offending, 177);

    let text = report.to_string();
    assert!(
        text.starts_with("validation `titanic` on 891 rows: 29 passed, 0 failed, 1 warning(s)"),
        "{text}"
    );
    assert!(text.contains("warn column `Cabin`: at most 50% missing: 687 offending row(s)"), "{text}");
}

#[test]
fn outlier_counts_match_numpy() {
    // Cross-checked with numpy (np.percentile default "linear", np.std ddof=0) on the same file:
    // Fare beyond 3 x IQR: 53; |z| > 3: 20; Age beyond 1.5 x IQR: 11 of 714; |z| > 4: 0.
    let suite = Suite::new("outliers")
        .with(Expectation::iqr_outliers("Fare", 3.0, 0.10))
        .with(Expectation::zscore_outliers("Fare", 3.0, 0.05))
        .with(Expectation::iqr_outliers("Age", 1.5, 0.0).warning())
        .with(Expectation::zscore_outliers("Age", 4.0, 0.0));
    let report = validate(&read(&titanic_train()), &suite);
    assert!(report.passed(), "{report}");
    let warnings: Vec<String> =
        report.warnings().map(|o| format!("{} {}", o.expectation, o.column)).collect();
    assert_eq!(warnings, ["iqr_outliers Age"]);
    assert_eq!(outcome(&report, "iqr_outliers", "Fare").offending, 53);
    assert_eq!(outcome(&report, "zscore_outliers", "Fare").offending, 20);
    assert_eq!(outcome(&report, "zscore_outliers", "Age").offending, 0);
    let age = outcome(&report, "iqr_outliers", "Age");
    assert_eq!(age.offending, 11);
    assert!(age.detail.starts_with("11 of 714 values (1.5%) outside [-6.6875, 64.8125]"), "{}", age.detail);
}

/// The Titanic file with: a negative Fare (row 0), Sex = "unknown" (row 2), Survived = 2 (row 4),
/// and the Embarked column removed.
fn corrupted_copy(dir: &Path) -> PathBuf {
    let original = fs::read_to_string(titanic_train()).unwrap();
    let mut out = String::new();
    for (i, line) in original.lines().enumerate() {
        let line = match i {
            1 => line.replace(",7.25,,S", ",-7.25,,S"),
            3 => line.replace(",female,26,", ",unknown,26,"),
            5 => line.replacen("5,0,3,", "5,2,3,", 1),
            _ => line.to_owned(),
        };
        // Embarked is the last field and never contains a comma.
        out += line.rsplit_once(',').unwrap().0;
        out.push('\n');
    }
    let path = dir.join("train-corrupted.csv");
    fs::write(&path, out).unwrap();
    path
}

#[test]
fn a_corrupted_copy_fails_with_a_report_naming_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let report = validate(&read(&corrupted_copy(dir.path())), &pipeline::suite());
    assert!(!report.passed());

    let failed: Vec<String> = report.failures().map(|o| format!("{} {}", o.expectation, o.column)).collect();
    assert_eq!(
        failed,
        // In the suite's order.
        [
            "column Embarked",
            "binary_label Survived",
            "allowed_values Sex",
            "allowed_values Embarked",
            "max_null_rate Embarked",
            "range Fare",
        ]
    );
    let fare = outcome(&report, "range", "Fare");
    assert_eq!(
        (fare.offending, &fare.examples[..]),
        (1, &[Example { row: 0, value: Value::Float(-7.25) }][..])
    );
    let sex = outcome(&report, "allowed_values", "Sex");
    assert_eq!(sex.examples, [Example { row: 2, value: Value::Str("unknown".into()) }]);
    let label = outcome(&report, "binary_label", "Survived");
    assert_eq!(label.examples, [Example { row: 4, value: Value::Int(2) }]);
    assert_eq!(label.detail, "1 value(s) missing or not 0/1; class 0: 548, class 1: 342");

    let err = report.check().unwrap_err();
    let ValidationError::Failed { failures, rows, .. } = &err else { panic!("{err}") };
    assert_eq!((failures.len(), *rows), (6, 891));
    let msg = err.to_string();
    for needle in [
        "validation `titanic` failed on 891 rows: 6 expectation(s) violated",
        "column `Embarked`: present, text: column missing; the table has: PassengerId, Survived",
        "column `Fare`: range [0, 1000]: 1 offending row(s): 1 value(s) out of range; e.g. row 0 = -7.25",
        "column `Sex`: allowed values {\"female\", \"male\"}: 1 offending row(s): 1 value(s) not allowed; e.g. row 2 = \"unknown\"",
        "column `Survived`: binary label: 0 or 1, never missing, both classes present: 1 offending row(s)",
        "e.g. row 4 = 2",
        "fix the data, or relax these expectations in the suite",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    // Warnings are not failures.
    assert!(!msg.contains("at most 50% missing"), "{msg}");
}

#[test]
fn examples_stop_at_five_but_the_count_is_complete() {
    let report = validate(&read(&titanic_train()), &Suite::new("strict").with(Expectation::not_null("Age")));
    let o = &report.outcomes[0];
    assert_eq!(o.offending, 177);
    assert_eq!(o.examples.iter().map(|e| e.row).collect::<Vec<_>>(), [5, 17, 19, 26, 28]);
}

#[test]
fn suites_and_reports_are_deterministic_artifacts() {
    let suite = pipeline::suite();
    let bytes = codec::encode(&suite).unwrap();
    assert_eq!(codec::decode::<Suite>(&bytes, 1 << 20).unwrap(), suite);
    let table = read(&titanic_train());
    let a = codec::encode(&validate(&table, &suite)).unwrap();
    let b = codec::encode(&validate(&table, &suite)).unwrap();
    assert_eq!(a, b);
    let back: ValidationReport = codec::decode(&a, 1 << 24).unwrap();
    assert_eq!(back.outcomes[0].severity, Severity::Error);
}

#[test]
fn messages_escape_control_characters_from_the_data_and_the_suite() {
    // A terminal title escape in a column name, carriage returns and bidi overrides in values.
    let title = "\x1b]0;pwned\x07";
    let t = Table::new(vec![
        (title.into(), mlflow::data::Column::Str(vec![Some("a\r".into()), Some("b\u{202e}".into())])),
        ("other".into(), mlflow::data::Column::Int(vec![Some(1), Some(2)])),
    ])
    .unwrap();
    let suite = Suite::new("suite\x1b[2J")
        .with(Expectation::allowed(title, ["a\r\x07"]))
        .with(Expectation::present("missing\x1b[1A"));
    let message = validate(&t, &suite).check().unwrap_err().to_string();
    // The message's own lines end with `\n`; nothing else is a control character.
    let raw = message.split('\n').any(|line| line.chars().any(mlflow::text::is_unsafe_char));
    assert!(!raw, "raw control character in {message:?}");
    for fragment in [
        "validation `suite\\u{1b}[2J`",
        "column `\\u{1b}]0;pwned\\u{7}`: allowed values {\"a\\r\\u{7}\"}: 2 offending row(s)",
        "e.g. row 0 = \"a\\r\", row 1 = \"b\\u{202e}\"",
        "column `missing\\u{1b}[1A`: present: column missing; the table has: \\u{1b}]0;pwned\\u{7}, other",
    ] {
        assert!(message.contains(fragment), "no {fragment:?} in {message}");
    }
}

// ---- in a pipeline -------------------------------------------------------------------------------

#[test]
fn a_failing_validate_step_fails_the_run_with_the_report() {
    let (_dir, store) = temp_store();
    let data_dir = tempfile::tempdir().unwrap();
    for (path, ok) in [(titanic_train(), true), (corrupted_copy(data_dir.path()), false)] {
        let mut p = Pipeline::new("validate");
        let file = p.param("train", DataFile::open(&path).unwrap());
        let options = p.param("csv", CsvOptions::default());
        let suite = p.param("suite", pipeline::suite());
        let data = p.step(mlflow::blocks::IngestStep, (file, options));
        let checked = p.step(mlflow::blocks::CheckStep, (data, suite));
        let report = p.run(&store).unwrap();
        if ok {
            assert_eq!(report.get(checked).unwrap().warnings().count(), 1);
        } else {
            let step = report.step("check").unwrap();
            assert_eq!(step.status, StepStatus::Failed);
            let msg = step.error.as_deref().unwrap();
            assert!(msg.contains("6 expectation(s) violated"), "{msg}");
            assert!(msg.contains("e.g. row 2 = \"unknown\""), "{msg}");
        }
    }
}
