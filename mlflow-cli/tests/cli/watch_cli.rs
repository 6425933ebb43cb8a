//! `mlflow-pipelines watch`: a round judges the config's triggers on the model's newest
//! predictions, runs the retraining command when they fire, records every decision (`--history`),
//! and refuses a bad config or a command that registers nothing, with the reason.

use std::path::{Path, PathBuf};

use crate::monitor_cli::store_with_log;
use crate::run::{fails, mlflow, ok};

fn config(dir: &Path, trigger: serde_json::Value) -> PathBuf {
    let path = dir.join("watch.json");
    let gate = serde_json::json!({"metric": "accuracy", "margin": 0.0, "higher_is_better": true, "force": false, "reason": ""});
    std::fs::write(&path, serde_json::json!({ "trigger": trigger, "gate": gate }).to_string()).unwrap();
    path
}

fn trigger(name: &str, condition: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "name": name, "condition": condition, "cooldown_ms": 0 })
}

#[test]
fn a_round_judges_drift_runs_the_command_and_records_why_it_failed() {
    let (dir, store) = store_with_log();
    let drift = config(dir.path(), trigger("drift", serde_json::json!({ "DatasetDrift": 0.3 })));
    let drift = drift.to_str().unwrap();
    // The shifted age is one of three features: the trigger fires; `true` registers nothing.
    let out = ok(&store, &["watch", "demo", "--config", drift, "--retrain", "true", "--once"]);
    assert!(out.contains("demo@production (version 1):"), "{out}");
    assert!(out.contains("drift [fires]: 0.333 of the features drifted, threshold 0.3"), "{out}");
    assert!(out.contains("action: failed: retraining failed: the retraining command `true` registered no new version of `demo`"), "{out}");

    // A command that fails is recorded with its status.
    let out = ok(&store, &["watch", "demo", "--config", drift, "--retrain", "exit 7", "--once"]);
    assert!(out.contains("the retraining command `exit 7` failed (exit status: 7)"), "{out}");

    // Nothing to do: 100 new labels are wanted, none came.
    let labels = config(dir.path(), trigger("labels", serde_json::json!({ "NewLabels": 100 })));
    let out = ok(
        &store,
        &["watch", "demo", "--config", labels.to_str().unwrap(), "--retrain", "false", "--once", "--json"],
    );
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((line["fired"].as_bool(), line["action"].as_str()), (Some(false), Some("none")), "{out}");

    let history = ok(&store, &["watch", "demo", "--history"]);
    assert_eq!(history.lines().count(), 4, "a header and three decisions:\n{history}");
    assert!(history.contains("failed") && history.contains("none"), "{history}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&store, &["watch", "demo", "--history", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert!(json[0]["explanation"].as_str().unwrap().contains("0.333 of the features drifted"));
}

#[test]
fn bad_configs_and_missing_arguments_are_refused_with_the_fix() {
    let (dir, store) = store_with_log();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"trigger": {"name": "x", "condition": {"Schedule": "61 * * * *"}, "cooldown_ms": 0}, "gate": {"metric": "accuracy", "margin": 0, "higher_is_better": true, "force": false, "reason": ""}}"#).unwrap();
    let err =
        fails(&store, &["watch", "demo", "--config", bad.to_str().unwrap(), "--retrain", "true", "--once"]);
    assert!(err.contains("is not valid") && err.contains("minute: 61 is out of range"), "{err}");
    let missing = dir.path().join("missing.json");
    let err = fails(&store, &["watch", "demo", "--config", missing.to_str().unwrap(), "--retrain", "true"]);
    assert!(err.contains("cannot read the watch config"), "{err}");
    // The README's example config reads, and judges this window quiet (1 of 3 features drifted).
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/watch.json");
    let out = ok(&store, &["watch", "demo", "--config", example, "--retrain", "false", "--once"]);
    assert!(out.contains("dataset drift [quiet]: 0.333 of the features drifted, threshold 0.5"), "{out}");
    assert!(out.contains("nightly [quiet]: `0 3 * * *` not due since the last training"), "{out}");
    let out = mlflow(&store, &["watch", "demo", "--once"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses a missing --config");
    let err = fails(
        &store,
        &[
            "watch",
            "nobody",
            "--config",
            config(dir.path(), trigger("asked", serde_json::json!("OnDemand"))).to_str().unwrap(),
            "--retrain",
            "true",
            "--once",
        ],
    );
    assert!(err.contains("nobody"), "{err}");
}
