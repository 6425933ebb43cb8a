//! The `mlflow` command line against a store holding real Titanic runs and a registered model.

use crate::titanic as support;

use crate::run;

use mlflow::data::DataFile;
use mlflow::eval::Metric;
use mlflow::prelude::*;
use mlflow::registry::{Promotion, RegisterRequest, Registry};
use run::{fails, ok};
use support::pipeline;

/// Two Titanic runs (champions by ROC AUC, then by accuracy), both registered; the first is
/// `production`.
fn populated() -> (tempfile::TempDir, std::path::PathBuf, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    let file = DataFile::open(support::path("train.csv")).unwrap();
    let registry = Registry::new(&store).unwrap();
    let mut runs = Vec::new();
    for metric in [Metric::RocAuc, Metric::Accuracy] {
        let (p, nodes) = pipeline::build(file.clone(), metric);
        let report = p.run(&store).unwrap();
        let champion = report.get(nodes.compared.champion).unwrap();
        let scored = &report.get(nodes.compared.scored).unwrap()[champion.index];
        let request = RegisterRequest::new(report.run_id(), "package")
            .metrics(Metric::ALL.map(|m| (m.name(), scored.metrics.binary().unwrap().get(m))));
        registry.register("titanic", request).unwrap();
        runs.push(report.run_id().to_owned());
    }
    registry.promote("titanic", 1, "production", Promotion::new("roc_auc")).unwrap();
    (dir, path, runs, file.version.to_hex())
}

#[test]
fn a_missing_store_is_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let error = fails(&dir.path().join("nothing-here"), &["runs"]);
    assert!(error.contains("no mlflow store at") && error.contains("nothing-here"), "{error}");
    assert!(!dir.path().join("nothing-here").exists(), "looking must not create a store");
}

#[test]
fn runs_list_show_compare_and_filter() {
    let (_dir, store, runs, _) = populated();
    let table = ok(&store, &["runs"]);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with(&runs[1]), "newest first:\n{table}");

    let json: serde_json::Value = serde_json::from_str(&ok(&store, &["runs", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert!(json[0]["metrics"]["evaluate_svm.roc_auc"].as_f64().unwrap() > 0.5);

    let sorted = ok(&store, &["runs", "--sort", "evaluate_forest.accuracy", "--limit", "1"]);
    assert!(sorted.contains("evaluate_forest.accuracy"), "{sorted}");
    let filtered = ok(&store, &["runs", "--where", r#"param.selection_metric="accuracy""#]);
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
    assert!(filtered.contains(&runs[1]));
    assert_eq!(ok(&store, &["runs", "--where", "evaluate_svm.roc_auc>2"]).lines().count(), 1);

    let error = fails(&store, &["runs", "--where", "roc_auc>>x"]);
    assert!(error.contains("malformed filter"), "{error}");

    let shown = ok(&store, &["run", "show", &runs[0]]);
    for needle in [
        "pipeline titanic: succeeded",
        "ingest",
        "evaluate_svm",
        "train.csv",
        "environment: mlflow",
        "roc_auc",
    ] {
        assert!(shown.contains(needle), "`{needle}` missing:\n{shown}");
    }
    let error = fails(&store, &["run", "show", "no-such-run"]);
    assert!(error.contains("no run `no-such-run`"), "{error}");

    let diff = ok(&store, &["runs", "compare", &runs[0], &runs[1]]);
    assert!(
        diff.contains("param selection_metric")
            && diff.contains("\"roc_auc\"")
            && diff.contains("\"accuracy\""),
        "{diff}"
    );
}

#[test]
fn models_show_promote_and_refuse() {
    let (_dir, store, _, _) = populated();
    let models = ok(&store, &["models"]);
    assert!(models.contains("titanic") && models.contains("production=1"), "{models}");
    let shown = ok(&store, &["model", "show", "titanic@production"]);
    assert!(shown.contains("titanic version 1") && shown.contains("roc_auc"), "{shown}");
    let error = fails(&store, &["model", "show", "nope@production"]);
    assert!(error.contains("nope"), "{error}");

    // Version 2 (champion by accuracy) has a lower ROC AUC than version 1: the guard refuses.
    let error = fails(&store, &["model", "promote", "titanic", "2", "production"]);
    assert!(error.contains("roc_auc") && error.contains("0.86"), "both figures: {error}");
    let forced = ok(&store, &["model", "promote", "titanic", "2", "production", "--force"]);
    assert!(
        forced.contains("titanic@production -> version 2 (was 1)") && forced.contains("forced"),
        "{forced}"
    );
    let staged = ok(&store, &["model", "promote", "titanic", "1", "staging", "--metric", "accuracy"]);
    assert!(staged.contains("titanic@staging -> version 1"), "{staged}");
    let history = ok(&store, &["model", "show", "titanic"]);
    assert!(history.contains("(forced)"), "{history}");
}

#[test]
fn promote_checks_every_threshold_prints_and_records_the_figures() {
    let (_dir, store, _, _) = populated();
    fn promote<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [&["model", "promote", "titanic"][..], args].concat()
    }

    // Malformed thresholds: one clear line, before anything is read.
    let error = fails(&store, &promote(&["2", "production", "--require", "roc_auc>0.8"]));
    assert!(
        error.contains("--require \"roc_auc>0.8\": it has no `>=` or `<=`")
            && error.contains("METRIC>=NUMBER"),
        "{error}"
    );
    let error = fails(&store, &promote(&["2", "production", "--require-change", "log_loss<=lots"]));
    assert!(error.contains("--require-change \"log_loss<=lots\": `lots` is not a number"), "{error}");
    let error =
        fails(&store, &promote(&["2", "production", "--metric", "roc_auc", "--require", "roc_auc>=nan"]));
    assert!(error.contains("not a finite number"), "{error}");

    // Version 2 fails its own guard and both thresholds: every failure is listed with figures.
    let error = fails(
        &store,
        &promote(&["2", "production", "--require", "roc_auc>=0.99", "--require-change", "log_loss<=-1"]),
    );
    for needle in
        ["3 requirements failed", "must be at least 0.99", "its log_loss is", "lower is better", "force"]
    {
        assert!(error.contains(needle), "`{needle}` missing: {error}");
    }

    // With no holder the change bounds are not checked; each threshold's figures are printed.
    let staged = ok(
        &store,
        &promote(&[
            "1",
            "staging",
            "--metric",
            "roc_auc",
            "--require",
            "accuracy>=0.5",
            "--require-relative-change",
            "log_loss<=0.05",
        ]),
    );
    for needle in [
        "titanic@staging -> version 1",
        "passed: roc_auc: candidate 0.8",
        "no baseline (the alias had no holder); change >= 0: not checked (no baseline)",
        "passed: accuracy: candidate",
        "at least 0.5: passed",
        "passed: log_loss: candidate",
    ] {
        assert!(staged.contains(needle), "`{needle}` missing:\n{staged}");
    }
    // Forced past failing thresholds: printed and recorded as failed; the metric defaults to the
    // last guarded move's.
    let forced = ok(&store, &promote(&["2", "staging", "--require", "roc_auc>=0.99", "--force"]));
    assert!(
        forced.contains("forced past the guard") && forced.contains("FAILED: roc_auc: candidate"),
        "{forced}"
    );
    assert!(forced.contains("at least 0.99: FAILED") && forced.contains("version 1 has 0.8"), "{forced}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&store, &["--json", "model", "show", "titanic"])).unwrap();
    let last = json["history"].as_array().unwrap().last().unwrap().clone();
    let thresholds = last["guard"]["thresholds"].as_array().unwrap();
    assert_eq!(thresholds.len(), 2, "{last}");
    assert_eq!(thresholds[1]["threshold"]["at_least"], 0.99);
    assert_eq!(thresholds[1]["passed"], false);
    let shown = ok(&store, &["model", "show", "titanic"]);
    assert!(shown.contains("staging -> version 2:") && shown.contains("at least 0.99: FAILED"), "{shown}");
}

#[test]
fn lineage_backward_from_a_model_and_forward_from_data() {
    let (_dir, store, runs, data_version) = populated();
    let back = ok(&store, &["lineage", "model", "titanic@production"]);
    for needle in
        ["package [package]", "select [select]", "ingest [ingest]", "param train_file", &data_version[..12]]
    {
        assert!(back.contains(needle), "`{needle}` missing:\n{back}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&store, &["--json", "lineage", "run", &runs[0], "select"])).unwrap();
    assert_eq!(json["node"], "select");
    // `select` reads the collected `scored` list, fed by the five evaluations.
    let upstream = json["upstream"].as_array().unwrap();
    assert_eq!(upstream.len(), 1);
    assert_eq!(upstream[0]["node"], "scored");
    let evaluations: Vec<&str> =
        upstream[0]["upstream"].as_array().unwrap().iter().map(|u| u["node"].as_str().unwrap()).collect();
    assert_eq!(evaluations.len(), 5);
    assert!(evaluations.contains(&"evaluate_svm"), "{evaluations:?}");

    let forward = ok(&store, &["lineage", "data", &data_version]);
    assert!(forward.contains(&runs[0]) && forward.contains(&runs[1]), "{forward}");
    assert!(forward.contains("model titanic/1") && forward.contains("model titanic/2"), "{forward}");
    let error = fails(&store, &["lineage", "data", "xyz"]);
    assert!(error.contains("not a data version"), "{error}");
}

#[test]
fn gc_reports_what_it_removed() {
    let (_dir, store, _, _) = populated();
    let out = ok(&store, &["gc", "--grace-secs", "0"]);
    assert!(out.starts_with("removed 0 artifacts"), "everything is referenced: {out}");
    let json: serde_json::Value = serde_json::from_str(&ok(&store, &["gc", "--json"])).unwrap();
    assert!(json["artifacts_kept"].as_u64().unwrap() > 10);
}

#[test]
fn run_exported_runs_each_task_as_a_process_of_the_binary_and_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    // A stand-in for a pipeline's binary: writes a hash made of its node to the hash file.
    let binary = dir.path().join("fake-pipeline.sh");
    std::fs::write(
        &binary,
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in --node) node=$2;; --hash-file) out=$2;; esac; shift; done\nprintf '%s-hash' \"$node\" > \"$out\"\n",
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&binary).status().unwrap();
    let workflow = serde_json::json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "spec": {"entrypoint": "pipeline", "arguments": {"parameters": [{"name": "store", "value": "/nowhere"}]},
            "templates": [
                {"name": "pipeline", "dag": {"tasks": [
                    {"name": "a", "template": "a"},
                    {"name": "b", "template": "b", "dependencies": ["a"], "arguments": {"parameters": [
                        {"name": "in-a", "value": "{{tasks.a.outputs.parameters.hash}}"}]}}]}},
                {"name": "a", "container": {"image": "x", "command": ["/app/p"], "args": [
                    "step", "--node", "a", "--store", "{{workflow.parameters.store}}", "--hash-file", "/tmp/mlflow/output-hash"]}},
                {"name": "b", "inputs": {"parameters": [{"name": "in-a"}]}, "container": {"image": "x", "command": ["/app/p"], "args": [
                    "step", "--node", "b", "--input", "a={{inputs.parameters.in-a}}", "--hash-file", "/tmp/mlflow/output-hash"]}}]}
    });
    let file = dir.path().join("wf.json");
    std::fs::write(&file, workflow.to_string()).unwrap();
    let store = dir.path().join("store");
    let bin = binary.to_str().unwrap();
    let args = ["run-exported", file.to_str().unwrap(), "--local", "--binary", bin];
    let out = run::ok(&store, &args);
    assert!(out.contains("a-hash") && out.contains("b-hash") && out.contains("2 tasks"), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&run::ok(&store, &[&args[..], &["--json"]].concat())).unwrap();
    assert_eq!(json["tasks"][1]["hash"], "b-hash");

    let yaml = dir.path().join("wf.yaml");
    std::fs::write(&yaml, "kind: Workflow\n").unwrap();
    let err = run::fails(&store, &["run-exported", yaml.to_str().unwrap(), "--local", "--binary", bin]);
    assert!(err.contains("is not JSON") && err.contains("-o FILE.json"), "{err}");
    let err = run::fails(
        &store,
        &["run-exported", file.to_str().unwrap(), "--local", "--binary", "/no/such/binary"],
    );
    assert!(err.contains("cannot start /no/such/binary for task `a`"), "{err}");
}
