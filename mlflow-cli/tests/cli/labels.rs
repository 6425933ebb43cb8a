//! Delayed labels end to end, on the three small registered models of the V2 tests (binary with
//! labels -1 and 1, three species with text labels, a regressor): `POST /v1/models/NAME:feedback`
//! (stored, duplicates, unmatched, every refusal), `mlflow-pipelines labels ingest` (CSV and
//! JSON lines, corrections, a bad line or an empty file refusing the whole file, re-ingesting
//! adding nothing), a torn label segment, and `labels show` with realized and estimated
//! performance.

use std::path::Path;

use mlflow::eval;
use mlflow::models::Task;
use mlflow::prelude::*;
use mlflow::serve::{
    LabelStore, LogOptions, Performance, PredictionLog, PredictionRecord, RealizedMetrics, Role, TrueValue,
    performance,
};
use serde_json::{Value, json};

use crate::http::Client;
use crate::run::{fails, ok};
use crate::v2::{fresh_store, serve_all};

fn post(client: &mut Client, path: &str, body: &Value) -> (u16, Value) {
    let answer = client.post(path, &body.to_string()).unwrap();
    (answer.status, answer.json())
}

/// Sends `body` and checks the refusal: status, code, and fragments of the message.
fn refused(client: &mut Client, path: &str, body: &str, status: u16, code: &str, fragments: &[&str]) {
    let answer = client.post(path, body).unwrap();
    assert_eq!(answer.status, status, "{body} → {}", answer.body);
    let json = answer.json();
    assert_eq!(json["code"], code, "{body} → {}", answer.body);
    let message = json["error"].as_str().unwrap();
    for fragment in fragments {
        assert!(message.contains(fragment), "{body} → {message}");
    }
}

const FEEDBACK: &str = "/v1/models/binary:feedback";

#[test]
fn feedback_stores_labels_of_logged_predictions_by_request_id_and_row() {
    let (_dir, store) = fresh_store();
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    // A client's own request id, two rows; and one the server makes up.
    let body = json!({ "instances": [[0.1, 0.2], [4.2, 4.0]] }).to_string();
    let predict = "/v1/models/binary:predict";
    let answer = c.send("POST", predict, &[("x-request-id", "order-17")], body.as_bytes()).unwrap();
    assert_eq!((answer.status, answer.header("x-request-id")), (200, Some("order-17")));
    let answer = c.post(predict, &json!({ "instances": [[2.1, 1.9]] }).to_string()).unwrap();
    let made_up = answer.header("x-request-id").unwrap().to_owned();

    let labels = json!({ "labels": [
        { "request_id": "order-17", "row": 0, "label": -1 },
        { "request_id": "order-17", "row": 1, "label": 1 },
        { "request_id": made_up, "label": "1" },
        { "request_id": "never-logged", "label": -1 },
    ]});
    let (status, answer) = post(&mut c, FEEDBACK, &labels);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "accepted": 4, "replaced": 0, "duplicates": 0, "superseded": 0, "unmatched": 1 })
    );
    // A retry stores nothing; a correction replaces.
    let (_, answer) = post(&mut c, FEEDBACK, &labels);
    assert_eq!(
        answer,
        json!({ "accepted": 0, "replaced": 0, "duplicates": 4, "superseded": 0, "unmatched": 1 })
    );
    let correction = json!({ "labels": [{ "request_id": "order-17", "row": 1, "label": -1 }] });
    assert_eq!(post(&mut c, FEEDBACK, &correction).1["replaced"], 1);

    // Text classes and regression values.
    let species =
        c.post("/v1/models/species:predict", &json!({ "instances": [[4.2, 4.0]] }).to_string()).unwrap();
    let id = species.header("x-request-id").unwrap().to_owned();
    let (status, answer) = post(
        &mut c,
        "/v1/models/species:feedback",
        &json!({ "labels": [{ "request_id": id, "label": "virginica" }] }),
    );
    assert_eq!((status, answer["accepted"].clone(), answer["unmatched"].clone()), (200, 1.into(), 0.into()));
    let (status, _) = post(
        &mut c,
        "/v1/models/price:feedback",
        &json!({ "labels": [{ "request_id": "p1", "label": 12.5 }] }),
    );
    assert_eq!(status, 200);
    // A large batch (its body is read and stored off the async scheduler).
    let bulk: Vec<Value> =
        (0..600).map(|i| json!({ "request_id": format!("bulk-{i}"), "label": i })).collect();
    let body = json!({ "labels": bulk });
    assert!(body.to_string().len() > 16 * 1024);
    let (status, answer) = post(&mut c, "/v1/models/price:feedback", &body);
    assert_eq!(
        (status, answer["accepted"].clone(), answer["unmatched"].clone()),
        (200, 600.into(), 600.into())
    );

    server.shutdown().unwrap();
    let store = Store::open(&store).unwrap();
    let stored = LabelStore::read(LabelStore::dir_in(&store, "binary")).unwrap();
    assert_eq!((stored.len(), stored.records(), stored.torn()), (4, 5, 0));
    // -1 is class 0, 1 is class 1 (the package's class order).
    assert_eq!(stored.get("order-17", 0), Some(TrueValue::Class(0)));
    assert_eq!(stored.get("order-17", 1), Some(TrueValue::Class(0)));
    assert_eq!(stored.get(&made_up, 0), Some(TrueValue::Class(1)));
    let price = LabelStore::read(LabelStore::dir_in(&store, "price")).unwrap();
    assert_eq!(
        (price.get("p1", 0), price.get("bulk-599", 0)),
        (Some(TrueValue::Value(12.5)), Some(TrueValue::Value(599.0)))
    );

    // The join and the realized metrics, equal to mlflow::eval on the joined rows.
    let records = PredictionLog::read(PredictionLog::dir_in(&store, "binary")).unwrap().records;
    let joined = stored.for_records(&records);
    assert_eq!(joined.iter().filter(|l| l.is_some()).count(), 3);
    let y: Vec<usize> = joined.iter().flatten().map(|t| t.class().unwrap() as usize).collect();
    let p: Vec<f64> =
        records.iter().zip(&joined).filter(|(_, l)| l.is_some()).map(|(r, _)| r.probability).collect();
    match performance(&records, &joined, Task::Classification { classes: 2 }, 3) {
        Performance::Realized { labeled: 3, metrics: RealizedMetrics::Binary(m), .. } => {
            let want = eval::evaluate(&y, &p).unwrap();
            assert_eq!(
                (m.accuracy, m.f1, m.roc_auc, m.log_loss),
                (want.accuracy, want.f1, Some(want.roc_auc), want.log_loss)
            );
        }
        other => panic!("three labels of three needed: {other:?}"),
    }
    assert!(performance(&records, &joined, Task::Classification { classes: 2 }, 4).is_estimated());
}

#[test]
fn every_bad_feedback_is_refused_naming_the_problem_and_stores_nothing() {
    let (_dir, store) = fresh_store();
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    let classes = "its classes are -1, 1";
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": "a", "label": 1}"#,
        400,
        "malformed_json",
        &["not valid JSON", "line 1"],
    );
    refused(&mut c, FEEDBACK, "[]", 400, "bad_request", &["not an object"]);
    refused(&mut c, FEEDBACK, r#"{"instances": []}"#, 400, "bad_request", &["no `labels`"]);
    refused(&mut c, FEEDBACK, r#"{"labels": 3}"#, 400, "bad_request", &["`labels` is a number, not a list"]);
    refused(&mut c, FEEDBACK, r#"{"labels": []}"#, 400, "empty_instances", &["`labels` is empty"]);
    // One bad label refuses the others too.
    let bad_class = r#"{"labels": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": 0}]}"#;
    refused(
        &mut c,
        FEEDBACK,
        bad_class,
        400,
        "bad_label",
        &["labels[1]: `0` is not a class of this model", classes, "nothing was stored"],
    );
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": "a", "label": "yes"}]}"#,
        400,
        "bad_label",
        &["`yes`", classes],
    );
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"label": 1}]}"#,
        400,
        "bad_label",
        &["labels[0]: no `request_id`"],
    );
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": 7, "label": 1}]}"#,
        400,
        "bad_label",
        &["`request_id` is 7, not a string"],
    );
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": "a b", "label": 1}]}"#,
        400,
        "bad_label",
        &["not a request id the server logs"],
    );
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": "a", "row": -1, "label": 1}]}"#,
        400,
        "bad_label",
        &["the row `-1` is not a row index"],
    );
    refused(&mut c, FEEDBACK, r#"{"labels": [{"request_id": "a"}]}"#, 400, "bad_label", &["no `label`"]);
    refused(
        &mut c,
        FEEDBACK,
        r#"{"labels": [{"request_id": "a", "label": null}]}"#,
        400,
        "bad_label",
        &["the label is missing"],
    );
    refused(
        &mut c,
        "/v1/models/species:feedback",
        r#"{"labels": [{"request_id": "a", "label": "rose"}]}"#,
        400,
        "bad_label",
        &["`rose` is not a class", "setosa, versicolor, virginica"],
    );
    refused(
        &mut c,
        "/v1/models/price:feedback",
        r#"{"labels": [{"request_id": "a", "label": "cheap"}]}"#,
        400,
        "bad_label",
        &["not a finite number"],
    );
    refused(
        &mut c,
        "/v1/models/nope:feedback",
        r#"{"labels": []}"#,
        404,
        "unknown_model",
        &["no model `nope`"],
    );
    refused(&mut c, "/v1/models/binary:feedbacks", "{}", 404, "not_found", &[":feedback for delayed labels"]);
    // The connection still serves.
    let (status, _) = post(&mut c, FEEDBACK, &json!({ "labels": [{ "request_id": "a", "label": 1 }] }));
    assert_eq!(status, 200);
    let metrics = c.get("/metrics").unwrap().body;
    assert!(
        metrics.lines().any(|l| l.contains("code=\"bad_label\"") && l.starts_with("mlflow_")),
        "{metrics}"
    );
    server.shutdown().unwrap();
    let stored = LabelStore::read(LabelStore::dir_in(&Store::open(&store).unwrap(), "binary")).unwrap();
    assert_eq!(stored.records(), 1, "only the last, good request stored a label");
}

/// Logs `rows` predictions of `species/1` as the server would: request `r{i}`, row 0.
fn log_species(store: &Path, rows: &[(u32, f64)]) {
    let store = Store::open(store).unwrap();
    let log = PredictionLog::open(PredictionLog::dir_in(&store, "species"), LogOptions::default()).unwrap();
    let records: Vec<PredictionRecord> = rows
        .iter()
        .enumerate()
        .map(|(i, &(label, probability))| PredictionRecord {
            request_id: format!("r{i}"),
            row: 0,
            time_ms: 1_700_000_000_000 + i as i64,
            model: "species".into(),
            version: 1,
            role: Role::Champion,
            inputs: vec![1.0, 1.0],
            label,
            probability,
            latency_us: 10,
        })
        .collect();
    log.append(&records).unwrap();
}

fn json_line(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn labels_ingest_and_show_from_the_command_line() {
    let (dir, store) = fresh_store();
    log_species(&store, &[(0, 0.9), (2, 0.6), (1, 0.7), (2, 0.8)]);
    let csv = dir.path().join("june.csv");
    std::fs::write(&csv, "request_id,row,label\nr0,0,setosa\nr1,,virginica\nghost,0,versicolor\n").unwrap();
    let out = ok(&store, &["labels", "ingest", csv.to_str().unwrap(), "--model", "species"]);
    assert!(out.contains("3 labels for species: 3 accepted") && out.contains("1 unmatched"), "{out}");
    // Again: nothing added.
    let out = json_line(&ok(
        &store,
        &["--json", "labels", "ingest", csv.to_str().unwrap(), "--model", "species@production"],
    ));
    assert_eq!(
        (out["accepted"].clone(), out["duplicates"].clone(), out["format"].clone()),
        (0.into(), 3.into(), "csv".into())
    );

    // JSON lines: a correction and a new label.
    let jsonl = dir.path().join("fix.jsonl");
    std::fs::write(&jsonl, "{\"request_id\": \"r1\", \"label\": \"versicolor\"}\n\n{\"request_id\": \"r2\", \"row\": 0, \"label\": \"versicolor\"}\n").unwrap();
    let out = json_line(&ok(
        &store,
        &["--json", "labels", "ingest", jsonl.to_str().unwrap(), "--model", "species/1"],
    ));
    assert_eq!(
        (out["accepted"].clone(), out["replaced"].clone(), out["unmatched"].clone()),
        (2.into(), 1.into(), 0.into())
    );

    // A bad line refuses the whole file, naming every bad line; nothing is stored.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "request_id,row,label\nr3,0,virginica\nr4,x,setosa\nr5,0,setosa\nr6,0,rose\n")
        .unwrap();
    let err = fails(&store, &["labels", "ingest", bad.to_str().unwrap(), "--model", "species"]);
    for fragment in [
        "2 bad lines",
        "line 3: the row",
        "line 5: `rose` is not a class of this model; its classes are setosa, versicolor, virginica",
        "no label of the file was stored",
    ] {
        assert!(err.contains(fragment), "{err}");
    }
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "request_id,row,label\n").unwrap();
    assert!(
        fails(&store, &["labels", "ingest", empty.to_str().unwrap(), "--model", "species"])
            .contains("holds no label")
    );
    let err = fails(&store, &["labels", "ingest", csv.to_str().unwrap(), "--model", "nope"]);
    assert!(err.contains("nope"), "{err}");

    let show = json_line(&ok(&store, &["--json", "labels", "show", "species"]));
    assert_eq!(
        (show["labels"].clone(), show["records"].clone(), show["unmatched"].clone()),
        (4.into(), 5.into(), 1.into())
    );
    assert_eq!(show["by_class"], json!({ "setosa": 1, "versicolor": 3 }));
    assert_eq!(
        (show["champion_predictions"].clone(), show["champion_labeled"].clone()),
        (4.into(), 3.into())
    );
    // Three labels, 100 needed: an estimate, marked as such: the mean P(predicted class).
    let estimated = &show["performance"];
    assert_eq!(estimated["estimated"], true, "{show}");
    let expected = (0.9 + 0.6 + 0.7 + 0.8) / 4.0;
    assert!(
        (estimated["estimate"]["expected_accuracy"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{show}"
    );
    let text = ok(&store, &["labels", "show", "species"]);
    assert!(
        text.contains("performance: estimated (assumes calibrated probabilities; 3 labels of the 100 needed"),
        "{text}"
    );
    // Enough labels: realized. r0 setosa predicted 0 (right), r1 versicolor predicted 2, r2
    // versicolor predicted 1 (right).
    let show = json_line(&ok(&store, &["--json", "labels", "show", "species", "--min-labels", "3"]));
    let realized = &show["performance"];
    assert_eq!(
        (realized["estimated"].clone(), realized["metrics"]["task"].clone()),
        (false.into(), "multiclass".into())
    );
    assert!((realized["metrics"]["accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12, "{show}");
}

#[test]
fn a_torn_label_segment_loses_only_its_last_label_and_is_reported() {
    let (dir, store) = fresh_store();
    log_species(&store, &[(0, 0.9), (2, 0.6)]);
    let csv = dir.path().join("june.csv");
    std::fs::write(&csv, "request_id,label\nr0,setosa\nr1,virginica\n").unwrap();
    ok(&store, &["labels", "ingest", csv.to_str().unwrap(), "--model", "species"]);
    let labels_dir = LabelStore::dir_in(&Store::open(&store).unwrap(), "species");
    // A crash cut the last label short.
    let segment = labels_dir.join("labels-000001.mlbl");
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&segment).unwrap().set_len(len - 5).unwrap();

    let show = json_line(&ok(&store, &["--json", "labels", "show", "species"]));
    assert_eq!((show["labels"].clone(), show["torn"].clone()), (1.into(), 1.into()), "{show}");
    // Ingesting again restores the lost label into a new segment; the torn one is left as is.
    let out = crate::run::mlflow(
        &store,
        &["--json", "labels", "ingest", csv.to_str().unwrap(), "--model", "species"],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not end with a whole frame"), "the torn tail is reported: {stderr}");
    let line = json_line(&String::from_utf8_lossy(&out.stdout));
    assert_eq!((line["accepted"].clone(), line["duplicates"].clone()), (1.into(), 1.into()));
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), len - 5);
    let labels = LabelStore::read(&labels_dir).unwrap();
    assert_eq!((labels.len(), labels.torn(), labels.segments()), (2, 1, 2));
}
