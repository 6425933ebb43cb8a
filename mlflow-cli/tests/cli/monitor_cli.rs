//! `mlflow-pipelines monitor`: the drift and health report of a model's prediction log, exit code
//! 3 when an alert fires, JSON that parses, and clear errors (exit 1; 2 for bad arguments).

use crate::monitored::{self, records};
use crate::run;

use std::path::PathBuf;

use mlflow::serve::{LogOptions, PredictionLog, RequestFailure, Role};
use mlflow::store::Store;
use run::{fails, mlflow, ok};

const T0: i64 = 1_700_000_000_000;

/// A store with `demo` versions 1 and 2 registered (`production` = 1), and a log: 1000
/// champion records of version 1 as trained, then 1000 with the age shifted by 15 years, and
/// 500 shadow records of version 2.
pub(crate) fn store_with_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).unwrap();
    monitored::register(&store);
    let (model, _) = monitored::package();
    let log = PredictionLog::open(PredictionLog::dir_in(&store, "demo"), LogOptions::default()).unwrap();
    log.append(&records(&model, 21, 0, 1000, T0, 1, Role::Champion, 0.0)).unwrap();
    log.append(&records(&model, 22, 1000, 1000, T0 + 1_000_000, 1, Role::Champion, 15.0)).unwrap();
    log.append(&records(&model, 23, 0, 500, T0, 2, Role::Shadow, 0.0)).unwrap();
    (dir, path)
}

#[test]
fn monitor_prints_drift_and_health_and_exits_3_on_an_alert() {
    let (_dir, store) = store_with_log();
    // The newest window of 1000 of each version and role: the champion's shifted one.
    let table = ok(&store, &["monitor", "demo", "--window", "1000"]);
    assert!(
        table.starts_with("2500 records read from 1 segment, 2500 matched, 0 failed requests"),
        "{table}"
    );
    assert!(table.contains("demo version 1 (champion), window 1 "), "{table}");
    assert!(table.contains("demo version 2 (shadow), window 0 ") && table.contains("(partial)"), "{table}");
    for column in ["column", "test", "statistic", "p-value", "drifted", "nulls"] {
        assert!(table.contains(column), "{column}:\n{table}");
    }
    let age = table.lines().find(|l| l.starts_with("age")).unwrap();
    assert!(age.contains(" ks ") && age.contains("DRIFT"), "{age}");
    let fare = table.lines().find(|l| l.starts_with("fare")).unwrap();
    assert!(fare.contains(" no "), "{fare}");
    assert!(table.contains("dataset drift: 1 of 3 features drifted (33%)"), "{table}");
    assert!(table.contains("health: ") && table.contains("latency p50 0.25 ms"), "{table}");
    assert!(table.contains("error rate 0.00%") && table.contains("0 failed (0 timed out)"), "{table}");
    assert!(!table.contains("ALERT"), "{table}");

    // Every window of the production version's champion: the first did not drift.
    let all = ok(
        &store,
        &[
            "monitor",
            "demo",
            "--alias",
            "production",
            "--role",
            "champion",
            "--window",
            "1000",
            "--last",
            "0",
        ],
    );
    assert_eq!(all.matches("demo version 1 (champion)").count(), 2, "{all}");
    assert!(!all.contains("version 2"), "{all}");

    // The newest 1500 of the champion's: 500 as trained, 1000 shifted.
    let newest = ok(&store, &["monitor", "demo", "--role", "champion", "--window", "last:1500"]);
    assert!(newest.contains("1500 rows, 1500 requests") && newest.contains("DRIFT"), "{newest}");

    // An alert on the shifted feature: the report, one line on stderr, exit code 3.
    let out =
        mlflow(&store, &["monitor", "demo", "--version", "1", "--window", "1000", "--alert-feature", "age"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("ALERT: feature `age` drifted"), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim(), "mlflow-pipelines: 1 alert fired (exit code 3)");
    // A share of a third of the features, and the latency.
    let out = mlflow(&store, &["monitor", "demo", "--window", "1000", "--alert-share", "0.3"]);
    assert_eq!(out.status.code(), Some(3));
    let out =
        mlflow(&store, &["monitor", "demo", "--window", "1000", "--alert-share", "0", "--alert-p99-ms", "1"]);
    assert_eq!(out.status.code(), Some(0), "p99 is 0.3 ms");
    let out = mlflow(&store, &["monitor", "demo", "--window", "1000", "--alert-p99-ms", "0.1"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn monitor_json_parses_and_the_time_windows_and_tfdv() {
    let (_dir, store) = store_with_log();
    let out = mlflow(
        &store,
        &["monitor", "demo", "--json", "--window", "1000", "--last", "0", "--alert-feature", "age"],
    );
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let windows = json["report"]["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 3);
    assert_eq!(windows[1]["features"][0]["name"], "age");
    assert_eq!(windows[1]["features"][0]["drift"]["Numeric"]["drifted"], true);
    assert_eq!(windows[0]["errors"], 0, "no request failed");
    let alerts = json["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0]["window"].as_u64(), alerts[0]["version"].as_u64()), (Some(1), Some(1)));
    assert!(alerts[0]["message"].as_str().unwrap().contains("age"));

    // Hours aligned to the epoch: T0 is 22:13:20 UTC; the shifted records run to 22:46:59 + 1000 s.
    let hours = ok(
        &store,
        &[
            "monitor", "demo", "--json", "--window", "1h", "--last", "0", "--preset", "tfdv", "--role",
            "champion",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&hours).unwrap();
    let windows = json["report"]["windows"].as_array().unwrap();
    let rows: Vec<u64> = windows.iter().map(|w| w["rows"].as_u64().unwrap()).collect();
    assert_eq!(rows.iter().sum::<u64>(), 2000, "{rows:?}");
    assert!(windows.iter().all(|w| w["window"]["start_ms"].as_i64().unwrap() % 3_600_000 == 0));
    assert_eq!(windows[0]["features"][0]["drift"]["Numeric"]["test"], "JensenShannon");
}

#[test]
fn monitor_errors_are_one_clear_line() {
    let (_dir, store) = store_with_log();
    let e = fails(&store, &["monitor", "nosuch"]);
    assert!(e.contains("nosuch"), "{e}");
    let e = fails(&store, &["monitor", "demo", "--version", "7"]);
    assert!(e.contains("no predictions of model `demo` version 7"), "{e}");
    let e = fails(&store, &["monitor", "demo", "--alias", "staging"]);
    assert!(e.contains("staging"), "{e}");
    let out = mlflow(&store, &["monitor", "demo", "--window", "1 fortnight"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("give a count of predictions"));

    // A registered model that was never served.
    let other = tempfile::tempdir().unwrap();
    let path = other.path().join("store");
    monitored::register(&Store::open(&path).unwrap());
    let e = fails(&path, &["monitor", "demo"]);
    assert!(e.contains("no prediction log in") && e.contains("--no-log"), "{e}");
    assert_eq!(mlflow(&path, &["monitor", "demo"]).status.code(), Some(1));
}

#[test]
fn monitor_measures_each_windows_performance_on_its_labels_realized_or_estimated() {
    use mlflow::serve::{LabelSource, LabelStore, NewLabel, TrueValue};
    let (_dir, store) = store_with_log();
    // Labels for 200 of the shifted window's predictions (req-1000 ..), each the predicted class:
    // realized accuracy 1; and 10 for the first window: too few, estimated.
    let records = {
        let s = Store::open(&store).unwrap();
        PredictionLog::read(PredictionLog::dir_in(&s, "demo")).unwrap().records
    };
    let label = |r: &mlflow::serve::PredictionRecord| NewLabel {
        request_id: r.request_id.clone(),
        row: r.row,
        value: TrueValue::Class(r.label),
    };
    let champion: Vec<_> = records.iter().filter(|r| r.role == Role::Champion).collect();
    let mut labels: Vec<NewLabel> = champion[1000..1200].iter().map(|r| label(r)).collect();
    labels.extend(champion[..10].iter().map(|r| label(r)));
    let s = Store::open(&store).unwrap();
    LabelStore::open(LabelStore::dir_in(&s, "demo"))
        .unwrap()
        .append(&labels, &LabelSource::FeedbackApi)
        .unwrap();

    let out = ok(
        &store,
        &[
            "monitor",
            "demo",
            "--alias",
            "production",
            "--role",
            "champion",
            "--window",
            "1000",
            "--last",
            "0",
            "--alert-share",
            "0",
        ],
    );
    assert!(
        out.contains("performance (estimated from the probabilities, too few on 10 labels): accuracy"),
        "{out}"
    );
    assert!(out.contains("performance (realized on 200 labels): accuracy 1.0000"), "{out}");
    // The same pass as an HTML page: both windows, realized and estimated accuracy over time.
    let page = store.parent().unwrap().join("monitoring.html");
    let args = ["monitor", "demo", "--version", "1", "--role", "champion", "--window", "1000", "--last", "0"];
    let out = ok(&store, &[&args[..], &["--alert-share", "0", "--html", page.to_str().unwrap()]].concat());
    assert!(out.contains("wrote ") && out.contains("monitoring.html"), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h3>accuracy</h3>") && html.contains("<h3>accuracy (estimated)</h3>"));
    let age = html.lines().find(|l| l.starts_with("<tr><td>age</td>")).unwrap();
    assert_eq!(age.matches("num drifted").count(), 1, "the shifted age, in the second window: {age}");
    let fare = html.lines().find(|l| l.starts_with("<tr><td>fare</td>")).unwrap();
    assert!(!fare.contains("num drifted"), "{fare}");
    let json: serde_json::Value = serde_json::from_str(&ok(
        &store,
        &[
            "monitor",
            "demo",
            "--version",
            "1",
            "--role",
            "champion",
            "--window",
            "1000",
            "--last",
            "0",
            "--alert-share",
            "0",
            "--json",
        ],
    ))
    .unwrap();
    let windows = json["report"]["windows"].as_array().unwrap();
    assert_eq!(
        (windows[0]["performance_estimated"].as_bool(), windows[1]["labeled"].as_u64()),
        (Some(true), Some(200))
    );
}

#[test]
fn the_server_exports_the_champions_drift_as_gauges() {
    use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
    let (_dir, store) = store_with_log();
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).model(ModelSpec::new("demo@production"));
    let server = Server::start(Store::open(&store).unwrap(), config).unwrap();
    let text = crate::http::get(server.local_addr(), "/metrics").body;
    // The champion's newest 1000 predictions are the shifted ones: the age drifted, the fare not.
    assert!(text.contains("# TYPE mlflow_drift_share gauge"), "{text}");
    assert!(text.contains("mlflow_drift_window_rows{model=\"demo\",version=\"1\"} 1000"), "{text}");
    let share =
        text.lines().find(|l| l.starts_with("mlflow_drift_share{model=\"demo\",version=\"1\"}")).unwrap();
    let share: f64 = share.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((share - 1.0 / 3.0).abs() < 1e-12, "{share}");
    assert!(
        text.contains("mlflow_feature_drifted{model=\"demo\",version=\"1\",feature=\"age\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("mlflow_feature_drifted{model=\"demo\",version=\"1\",feature=\"fare\"} 0"),
        "{text}"
    );
    assert!(
        text.contains(
            "mlflow_feature_drift_statistic{model=\"demo\",version=\"1\",feature=\"age\",test=\"ks\"}"
        ),
        "{text}"
    );
    server.shutdown().unwrap();
}

#[test]
fn monitor_counts_failed_requests_and_alerts_on_the_error_rate() {
    let (_dir, store) = store_with_log();
    let log_dir = PredictionLog::dir_in(&Store::open(&store).unwrap(), "demo");
    let log = PredictionLog::open(&log_dir, LogOptions::default()).unwrap();
    let failure = |i: i64, status: u16, code: &str| RequestFailure {
        request_id: format!("failed-{i}"),
        time_ms: T0 + 1_999_000 + i,
        model: "demo".into(),
        version: 1,
        status,
        code: code.into(),
        latency_us: 40,
    };
    log.append(&[failure(1, 400, "feature_count"), failure(2, 408, "request_timeout")]).unwrap();
    drop(log);
    let args = ["monitor", "demo", "--role", "champion", "--window", "1000"];
    let table = ok(&store, &args);
    assert!(table.contains("2 failed requests"), "{table}");
    assert!(table.contains("1000 rows, 1000 requests, 2 failed (1 timed out)"), "{table}");
    assert!(table.contains("error rate 0.20%"), "{table}");
    let out = mlflow(&store, &[&args[..], &["--alert-error-rate", "0.001"]].concat());
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("ALERT: 2 requests failed: error rate 0.20% is above 0.10%"), "{stdout}");
    // JSON carries the counts.
    let json: serde_json::Value =
        serde_json::from_str(&ok(&store, &[&args[..], &["--json"]].concat())).unwrap();
    let window = &json["report"]["windows"][0];
    assert_eq!((window["errors"].as_u64(), window["timeouts"].as_u64()), (Some(2), Some(1)));
    // `predictions --failures` lists them, oldest first; by request; as JSON lines.
    let table = ok(&store, &["predictions", "demo", "--failures"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].contains("status") && lines[0].contains("code"), "{table}");
    assert!(lines[1].contains("failed-1") && lines[1].contains("feature_count"), "{table}");
    assert!(lines[2].contains("failed-2") && lines[2].contains("408"), "{table}");
    let one = ok(&store, &["predictions", "demo", "--failures", "--request", "failed-2", "--json"]);
    let parsed: Vec<RequestFailure> = one.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(parsed, [failure(2, 408, "request_timeout")]);
    // A package without transformers has nothing to replay: one clear line.
    let err = fails(&store, &["monitor", "demo", "--skew"]);
    assert!(err.contains("no feature transformers"), "{err}");
}
