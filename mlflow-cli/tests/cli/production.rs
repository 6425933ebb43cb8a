//! The feedback loop of `examples/titanic_production.rs`, run whole: serve, a drifted stream,
//! delayed labels, monitoring, the triggers, retraining through the gate, and the server
//! answering with the promoted version.

// The example brings its own copies of the HTTP client and the Titanic pipeline, which this
// test binary also loads for the other tests.
#[allow(clippy::duplicate_mod)]
#[path = "../../../examples/titanic_production.rs"]
mod demo;

use mlflow::serve::watch::{Action, WatchStore};

#[test]
fn the_titanic_loop_detects_drift_retrains_promotes_and_the_server_swaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let summary = demo::run(dir.path(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // The Kaggle test passengers are the training population; the drifted stream is not.
    assert!(summary.drift_share.0 < 0.5, "{text}");
    assert!(summary.drift_share.1 >= 0.5, "{text}");
    for feature in ["Pclass", "Sex", "Age"] {
        assert!(summary.drifted_features.iter().any(|f| f == feature), "{feature} drifted\n{text}");
    }
    // Every served row was replayed from its logged raw row: the 418 test passengers the server
    // featurized and the 168 drifted ones the client did, with the package's transformers.
    assert_eq!(summary.skewed_rows, (0, 418 + 168), "{text}");
    assert_eq!(summary.errors, 1, "the stale client's request is logged as a failure\n{text}");
    // Realized performance on the labels that came back.
    let accuracy = summary.accuracy.expect("enough labels for realized metrics");
    assert!((0.5..=1.0).contains(&accuracy), "{text}");
    assert_eq!(summary.fired_by, ["dataset drift"], "{text}");
    assert_eq!(summary.action, Action::Promoted, "{text}");
    assert_eq!((summary.first_version, summary.served_version), (1, 2), "the server swapped\n{text}");
    // Every decision is in the store, with its figures.
    let store = mlflow::store::Store::open(dir.path().join("store")).unwrap();
    let decisions = WatchStore::new(&store).decisions("titanic").unwrap();
    assert_eq!(decisions.iter().map(|d| d.action).collect::<Vec<_>>(), [Action::None, Action::Promoted]);
    assert!(
        decisions[1].explanation.contains("of the features drifted, threshold 0.5"),
        "{}",
        decisions[1].explanation
    );
    assert_eq!(decisions[1].version, Some(2));
    for step in
        ["1. registered titanic/1", "4. feedback", "5. drift share", "7. the server answers with titanic/2"]
    {
        assert!(text.contains(step), "{step}\n{text}");
    }
}

#[test]
fn raw_rows_are_featurized_by_the_package_or_refused_with_the_fix() {
    use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let store = mlflow::store::Store::open(dir.path().join("store")).unwrap();
    crate::v2_models::register(&store);
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).model(ModelSpec::new("binary@production"));
    let server = Server::start(store, config).unwrap();
    let addr = server.local_addr();
    // A package without transformers takes features only.
    let body = json!({ "raw": true, "instances": [{"a": 0.1, "b": 0.2}] }).to_string();
    let answer = crate::http::post(addr, "/v1/models/binary:predict", &body);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("has no feature transformers") && answer.body.contains("without"),
        "{}",
        answer.body
    );
    let answer = crate::http::post(
        addr,
        "/v1/models/binary:predict",
        &json!({ "raw": "yes", "instances": [[0.1, 0.2]] }).to_string(),
    );
    assert!(answer.status == 400 && answer.body.contains("`raw` is"), "{}", answer.body);
    let answer = crate::http::post(
        addr,
        "/v1/models/binary:predict",
        &json!({ "raw": true, "instances": [[0.1, 0.2]] }).to_string(),
    );
    assert!(answer.status == 400 && answer.body.contains("raw rows are objects"), "{}", answer.body);
    let mixed = json!({ "raw": true, "instances": [{"a": 1}, {"a": "x"}] }).to_string();
    let answer = crate::http::post(addr, "/v1/models/binary:predict", &mixed);
    assert!(answer.status == 400 && answer.body.contains("one type per column"), "{}", answer.body);

    // Features with the raw rows they were computed from, beside: scored on the features, the
    // raw rows logged for the skew replay.
    let post =
        |body: serde_json::Value| crate::http::post(addr, "/v1/models/binary:predict", &body.to_string());
    let beside = json!({ "instances": [[0.1, 0.2], [0.3, 0.4]], "raw_instances": [{"a": "x"}, {"a": "y"}] });
    let answer = post(beside);
    assert_eq!(answer.status, 200, "{}", answer.body);
    for (body, expected) in [
        (
            json!({ "instances": [[0.1, 0.2]], "raw_instances": [{"a": 1}, {"a": 2}] }),
            "has 2 rows for 1 instances",
        ),
        (
            json!({ "instances": [[0.1, 0.2]], "raw_instances": {"a": 1} }),
            "`raw_instances` is an object, not a list",
        ),
        (json!({ "raw": true, "instances": [{"a": 1}], "raw_instances": [{"a": 1}] }), "send them once"),
    ] {
        let answer = post(body);
        assert!(answer.status == 400 && answer.body.contains(expected), "{expected}: {}", answer.body);
    }
    // An explanation's refusal is not a failed prediction: counted in /metrics only.
    let answer = crate::http::post(addr, "/v1/models/binary:explain", "{}");
    assert_eq!(answer.status, 400, "{}", answer.body);
    server.shutdown().unwrap();

    let store = mlflow::store::Store::open(dir.path().join("store")).unwrap();
    let log =
        mlflow::serve::PredictionLog::read(mlflow::serve::PredictionLog::dir_in(&store, "binary")).unwrap();
    assert_eq!(log.records.len(), 2);
    assert_eq!(log.raw.len(), 1, "{:?}", log.raw);
    assert_eq!(
        (log.raw[0].request_id.as_str(), log.raw[0].table.rows()),
        (log.records[0].request_id.as_str(), 2)
    );
    let codes: Vec<(u16, &str)> = log.failures.iter().map(|f| (f.status, f.code.as_str())).collect();
    assert_eq!(
        codes,
        [
            (400, "bad_request"),
            (400, "bad_request"),
            (400, "bad_request"),
            (400, "non_numeric"),
            (400, "bad_request"),
            (400, "bad_request"),
            (400, "bad_request"),
        ]
    );
    assert!(log.failures.iter().all(|f| f.model == "binary" && !f.timed_out()), "{:?}", log.failures);
}
