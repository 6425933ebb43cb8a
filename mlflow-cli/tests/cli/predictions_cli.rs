//! `mlflow-pipelines predictions`: reading a model's prediction log from the command line, as a table or as
//! JSON lines, filtered and limited, clear one-line errors, and one-line warnings for unreadable
//! segments.

use crate::run;

use std::path::PathBuf;

use mlflow::serve::{LogOptions, LogReader, PredictionLog, PredictionRecord, Role};
use mlflow::store::Store;
use run::{fails, mlflow, ok};

/// Row `row` of request `req-{i}`: the champion's, or for odd requests a shadow's.
fn record(i: u32, row: u32) -> PredictionRecord {
    PredictionRecord {
        request_id: format!("req-{i}"),
        row,
        time_ms: 1_700_000_000_000 + i64::from(i) * 1000,
        model: "titanic".into(),
        version: if i.is_multiple_of(2) { 3 } else { 4 },
        role: if i.is_multiple_of(2) { Role::Champion } else { Role::Shadow },
        inputs: vec![3.0, f64::from(i), f64::from(row)],
        label: i % 2,
        probability: 0.25 + f64::from(i % 50) / 100.0,
        latency_us: u64::from(10 + i),
    }
}

/// A store whose `titanic` log holds requests 0..`requests` of 2 rows each, over several
/// segments; returns every record in order.
fn store_with_log(requests: u32) -> (tempfile::TempDir, PathBuf, Vec<PredictionRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let log_dir = PredictionLog::dir_in(&store, "titanic");
    let log = PredictionLog::open(&log_dir, LogOptions::default().max_segment_bytes(1000)).unwrap();
    let mut all = Vec::new();
    for i in 0..requests {
        let records = [record(i, 0), record(i, 1)];
        log.append(&records).unwrap();
        all.extend(records);
    }
    assert!(PredictionLog::segment_files(&log_dir).unwrap().len() > 3, "several segments");
    (dir, path, all)
}

fn parse_lines(out: &str) -> Vec<PredictionRecord> {
    out.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn the_newest_records_as_a_table() {
    let (_dir, store, all) = store_with_log(30);
    let table = ok(&store, &["predictions", "titanic"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 21, "a header and the newest 20 records:\n{table}");
    for column in ["time", "request", "row", "version", "role", "label", "probability", "latency"] {
        assert!(lines[0].contains(column), "{column}: {}", lines[0]);
    }
    // Oldest first: requests 20..29, two rows each.
    assert!(lines[1].starts_with("2023-11-14 22:13:40 UTC  req-20 "), "{}", lines[1]);
    assert!(lines[20].contains("req-29") && lines[20].contains("shadow"), "{}", lines[20]);
    let last = &all[all.len() - 1];
    assert!(lines[20].contains(&format!("{:.4}", last.probability)), "{}", lines[20]);
    assert!(lines[20].contains("39 µs"), "{}", lines[20]);

    let three = ok(&store, &["predictions", "titanic", "--limit", "3"]);
    assert_eq!(three.lines().count(), 4, "{three}");
    assert!(three.lines().nth(1).unwrap().contains("req-28"), "{three}");
}

#[test]
fn json_lines_filtered_by_role_and_request() {
    let (_dir, store, all) = store_with_log(30);
    let everything = parse_lines(&ok(&store, &["predictions", "titanic", "--json", "--limit", "0"]));
    assert_eq!(everything, all, "--limit 0: every record, across segments, in order");
    let newest = parse_lines(&ok(&store, &["predictions", "titanic", "--json", "--limit", "5"]));
    assert_eq!(newest, all[all.len() - 5..]);

    let shadows = parse_lines(&ok(&store, &["predictions", "titanic", "--json", "--role", "shadow"]));
    let expected: Vec<_> = all.iter().filter(|r| r.role == Role::Shadow).cloned().collect();
    assert_eq!(shadows, expected[expected.len() - 20..], "the newest 20 shadow records");

    let one = parse_lines(&ok(&store, &["--json", "predictions", "titanic", "--request", "req-3"]));
    assert_eq!(one, [record(3, 0), record(3, 1)]);
    let none = ok(&store, &["predictions", "titanic", "--request", "req-3", "--role", "champion"]);
    assert_eq!(none.trim(), "no matching predictions logged for titanic");
    assert_eq!(ok(&store, &["predictions", "titanic", "--json", "--request", "nope"]), "");

    let err = mlflow(&store, &["predictions", "titanic", "--role", "boss"]);
    assert!(!err.status.success());
}

#[test]
fn nan_is_null_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let log = PredictionLog::open(PredictionLog::dir_in(&store, "titanic"), LogOptions::default()).unwrap();
    log.append(&[PredictionRecord { inputs: vec![f64::NAN, 1.5], ..record(0, 0) }]).unwrap();
    let out = ok(dir.path(), &["predictions", "titanic", "--json"]);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(value["inputs"], serde_json::json!([null, 1.5]));
    assert_eq!(value["role"], "champion");
}

#[test]
fn a_missing_log_is_one_clear_line() {
    let (_dir, store, _) = store_with_log(30);
    let error = fails(&store, &["predictions", "iris"]);
    assert!(
        error.contains("no prediction log for model `iris`") && error.contains("mlflow-pipelines serve"),
        "{error}"
    );

    let error = fails(&store.join("nothing"), &["predictions", "titanic"]);
    assert!(error.contains("no mlflow store at"), "{error}");
}

#[test]
fn an_unreadable_segment_is_one_warning_line_and_the_others_are_shown() {
    let (_dir, store, all) = store_with_log(30);
    let log_dir = PredictionLog::dir_in(&Store::open(&store).unwrap(), "titanic");
    let files = PredictionLog::segment_files(&log_dir).unwrap();
    // A segment in the middle becomes one of a newer format version...
    let middle = &files[files.len() / 2];
    let in_middle: Vec<_> = LogReader::new([middle.clone()]).collect::<Result<_, _>>().unwrap();
    assert!(!in_middle.is_empty());
    let mut bytes = std::fs::read(middle).unwrap();
    bytes[10] = 7;
    std::fs::write(middle, &bytes).unwrap();
    // ... and so is a newest one.
    let newer = log_dir.join("predictions-999999.mlog");
    std::fs::write(&newer, b"MLFLOWLOG\0\x07\0\0\0").unwrap();
    let readable: Vec<_> = all.iter().filter(|r| !in_middle.contains(r)).cloned().collect();

    let out = mlflow(&store, &["predictions", "titanic", "--json", "--limit", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(parse_lines(&String::from_utf8(out.stdout).unwrap()), readable);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let warnings: Vec<&str> = stderr.lines().collect();
    assert_eq!(warnings.len(), 2, "one line per unreadable segment: {stderr}");
    for (warning, file) in warnings.iter().zip([&newer, middle]) {
        assert!(warning.starts_with("warning: "), "{warning}");
        assert!(
            warning.contains(&file.display().to_string()) && warning.contains("format version 7"),
            "{warning}"
        );
    }

    // The table still shows the newest readable records.
    let table = ok(&store, &["predictions", "titanic", "--limit", "3"]);
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.lines().last().unwrap().contains("req-29"), "{table}");
}
