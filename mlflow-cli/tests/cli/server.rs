//! The HTTP scoring service end to end, on the Titanic example's registered champion: the demo's
//! request, every bad request, metadata, health and metrics, champion/challenger traffic, a
//! promotion under load, graceful shutdown, and the prediction log across a SIGKILL.

use crate::titanic as support;

use crate::http;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mlflow::models::{Model, ModelParams, NaiveBayesParams};
use mlflow::prelude::*;
use mlflow::registry::{Promotion, RegisterRequest, Registry};
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use mlflow::serve::{
    ChallengerMode, Durability, Lineage, LogOptions, ModelPackage, PredictionLog, Role, Scorer, ServeError,
};
use ndarray::s;

use http::Client;
use mlflow::blocks::Prepared as Dataset;

/// The demo's request body, as in the README.
const DEMO: &str = r#"{"instances": [[3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#;
const DEMO_ROW: [f64; 13] = [3.0, 0.0, 4.0, 1.0, 2.0, 3.0, 0.0, 1.0, 0.0, 8.0, 3.0, 6.0, 2.0];
const PREDICT: &str = "/v1/models/titanic:predict";

/// A second model for the same features: a Gaussian naive Bayes, packaged by a pipeline step.
#[step]
fn package_naive_bayes(data: &Dataset) -> Result<ModelPackage, ServeError> {
    let params = ModelParams::NaiveBayes(NaiveBayesParams::default());
    let model = Model::fit(data.train.x.view(), data.train_classes().unwrap(), &params)?;
    ModelPackage::new(
        "naive_bayes",
        model,
        None,
        &data.train.names,
        data.train.x.slice(s![..5, ..]),
        Lineage::default(),
    )
}

/// A store holding `titanic/1` (the pipeline's champion, alias `production`) and `titanic/2`
/// (naive Bayes, alias `candidate`), built once and copied for each test.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let (dir, store) = support::temp_store();
            let path = store.root().to_owned();
            let (report, nodes, v1) = support::register_demo(&store);
            let mut challenger = Pipeline::new("titanic-challenger");
            let data = challenger.param("data", report.get(nodes.prepared).unwrap().clone());
            challenger.step(PackageNaiveBayesStep, data);
            let challenger_run = challenger.run(&store).unwrap();
            assert!(challenger_run.is_success(), "{challenger_run}");
            let registry = Registry::new(&store).unwrap();
            registry.set_alias("titanic", "production", v1, "test champion").unwrap();
            let v2 = registry
                .register("titanic", RegisterRequest::new(challenger_run.run_id(), "package_naive_bayes"))
                .unwrap();
            registry.set_alias("titanic", "candidate", v2.version, "test challenger").unwrap();
            let bayes = registry
                .register("bayes", RegisterRequest::new(challenger_run.run_id(), "package_naive_bayes"))
                .unwrap();
            registry.set_alias("bayes", "production", bayes.version, "a second served model").unwrap();
            assert_eq!((v1, v2.version), (1, 2));
            (dir, path)
        })
        .1
}

/// A private copy of the template store.
fn fresh_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("store");
    copy_dir(template(), &to);
    (dir, to)
}

/// Copies a store folder (the tests' templates) whole.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn config() -> ServerConfig {
    ServerConfig::new("127.0.0.1:0".parse().unwrap()).reload_interval(Duration::from_millis(50))
}

fn start(store: &Path, config: ServerConfig) -> Server {
    Server::start(Store::open(store).unwrap(), config).expect("server starts")
}

fn scorer(store: &Path, reference: &str) -> Scorer {
    let store = Store::open(store).unwrap();
    Scorer::from_registry(&Registry::new(&store).unwrap(), reference).unwrap()
}

fn log_of(store: &Path) -> Vec<mlflow::serve::PredictionRecord> {
    let dir = PredictionLog::dir_in(&Store::open(store).unwrap(), "titanic");
    PredictionLog::read(dir).unwrap().records
}

#[test]
fn the_demo_request_gets_the_in_process_scorers_prediction() {
    let (_dir, store) = fresh_store();
    let expected = scorer(&store, "titanic@production").score_row(&DEMO_ROW).unwrap();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());

    let answer = http::post(addr, PREDICT, DEMO);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({ "predictions": [expected.label] }));
    assert_eq!(answer.header("x-model-version"), Some("titanic/1"));
    assert_eq!(answer.header("x-model-role"), Some("champion"));
    assert_eq!(answer.header("content-type"), Some("application/json"));

    let with_p = http::post(
        addr,
        PREDICT,
        r#"{"instances": [[3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]], "probabilities": true}"#,
    );
    let p = with_p.json()["probabilities"][0].as_f64().unwrap();
    assert_eq!(p, expected.probability, "probabilities round-trip exactly");

    let names = scorer(&store, "titanic@production").names().to_vec();
    let named: BTreeMap<&str, f64> = names.iter().map(String::as_str).zip(DEMO_ROW).collect();
    let body = serde_json::json!({ "instances": [named, DEMO_ROW] }).to_string();
    assert_eq!(
        http::post(addr, PREDICT, &body).json()["predictions"],
        serde_json::json!([expected.label, expected.label])
    );

    // A 100-row batch answers as the in-process batch scorer.
    let table = support::table("test.csv");
    let rows = scorer(&store, "titanic@production");
    let features =
        rows.package().features().unwrap().transform(&table.take(&(0..100).collect::<Vec<_>>())).unwrap();
    let expected_batch: Vec<u32> =
        rows.score_batch(features.x.view()).unwrap().iter().map(|p| p.label).collect();
    let instances: Vec<Vec<f64>> = features.x.rows().into_iter().map(|r| r.to_vec()).collect();
    let answer = http::post(addr, PREDICT, &serde_json::json!({ "instances": instances }).to_string());
    assert_eq!(answer.json()["predictions"], serde_json::json!(expected_batch));
    server.shutdown().unwrap();

    let log = log_of(&store);
    assert_eq!(log.len(), 1 + 1 + 2 + 100, "one record per scored row");
    assert!(log.iter().all(|r| r.role == Role::Champion && r.version == 1 && r.model == "titanic"));
    assert_eq!(log[0].inputs, DEMO_ROW);
    assert_eq!((log[0].label, log[0].probability), (expected.label, expected.probability));
}

/// Sends `body` and checks the status, the error code and a fragment of the message.
fn refused(client: &mut Client, path: &str, body: &str, status: u16, code: &str, fragment: &str) {
    let answer = client.post(path, body).unwrap_or_else(|e| panic!("{path} {body:.80}: {e}"));
    assert_eq!(answer.status, status, "{body:.80} → {}", answer.body);
    let json = answer.json();
    assert_eq!(json["code"], code, "{body:.80} → {}", answer.body);
    let message = json["error"].as_str().unwrap();
    assert!(message.contains(fragment), "{body:.80} → {message}");
}

#[test]
fn every_bad_request_gets_a_4xx_naming_the_problem_and_the_server_keeps_serving() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")).max_body_bytes(4096));
    let mut c = Client::connect(server.local_addr()).unwrap();
    refused(&mut c, PREDICT, r#"{"instances": [[3, 0, 4"#, 400, "malformed_json", "not valid JSON");
    refused(&mut c, PREDICT, "", 400, "malformed_json", "not valid JSON");
    refused(&mut c, PREDICT, "[1, 2]", 400, "bad_request", "not an object");
    refused(&mut c, PREDICT, r#"{"rows": []}"#, 400, "bad_request", "no `instances`");
    refused(&mut c, PREDICT, r#"{"instances": 3}"#, 400, "bad_request", "not a list");
    refused(&mut c, PREDICT, r#"{"instances": []}"#, 400, "empty_instances", "empty");
    refused(&mut c, PREDICT, r#"{"instances": ["x"]}"#, 400, "bad_request", "instance 0 is a string");
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[1, 2, 3]]}"#,
        400,
        "feature_count",
        "has 3 values but the model takes 13",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2], [3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2, 9]]}"#,
        400,
        "feature_count",
        "row 1 has 14 values",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[3, 0, "four", 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#,
        400,
        "non_numeric",
        "column 2) is a string \"four\"",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[3, 0, null, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#,
        400,
        "non_numeric",
        "(column 2) is null, not a number",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [{"Pclass": 3, "Sex": true}]}"#,
        400,
        "non_numeric",
        "feature `Sex` is a boolean true, not a number",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[3, 0, [1, 2], 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#,
        400,
        "non_numeric",
        "(column 2) is a list [1,2], not a number",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[3, 0, 1e999, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#,
        400,
        "non_finite",
        "finite",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [{"Pclass": 3, "Colour": 1}]}"#,
        400,
        "unknown_feature",
        "unknown feature `Colour`",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [{"Pclass": 3}]}"#,
        400,
        "missing_feature",
        "no value for feature",
    );
    refused(
        &mut c,
        PREDICT,
        r#"{"instances": [[1]], "probabilities": "yes"}"#,
        400,
        "bad_request",
        "send true or false",
    );
    let row = format!("[{}]", DEMO_ROW.map(|v| v.to_string()).join(","));
    let big = format!(r#"{{"instances": [{}]}}"#, vec![row; 200].join(","));
    refused(&mut c, PREDICT, &big, 413, "body_too_large", "limit of 4096 bytes");
    refused(
        &mut c,
        "/v1/models/passengers:predict",
        DEMO,
        404,
        "unknown_model",
        "no model `passengers` is served here; served: titanic",
    );
    refused(
        &mut c,
        "/v1/models/titanic:why",
        DEMO,
        404,
        "not_found",
        "unknown verb `:why`; POST to /v1/models/NAME:predict to score, /v1/models/NAME:explain",
    );
    refused(
        &mut c,
        "/v2/models/titanic/infer",
        DEMO,
        400,
        "bad_request",
        "POST it to /v1/models/NAME:predict",
    );
    refused(&mut c, "/v2/models/titanic/explain", DEMO, 404, "not_found", "no route");
    let long_key = "k".repeat(2000);
    let answer = c.send("POST", PREDICT, &[("x-routing-key", &long_key)], DEMO.as_bytes()).unwrap();
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (400, Some("bad_request")),
        "{}",
        answer.body
    );
    assert!(answer.json()["error"].as_str().unwrap().contains("at most 1024"), "{}", answer.body);
    let answer = c.send("DELETE", "/v1/models/titanic", &[], b"").unwrap();
    assert_eq!((answer.status, answer.json()["code"].as_str()), (405, Some("method_not_allowed")));

    // Still serving, on the same connection, and every refusal was counted.
    let answer = c.post(PREDICT, DEMO).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let metrics = c.get("/metrics").unwrap().body;
    for (code, n) in [("malformed_json", 2), ("feature_count", 2), ("non_numeric", 4), ("body_too_large", 1)]
    {
        let line = format!("mlflow_request_errors_total{{model=\"titanic\",code=\"{code}\"}} {n}");
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in\n{metrics}");
    }
    server.shutdown().unwrap();
    assert_eq!(log_of(&store).len(), 1, "refused requests log nothing");
}

#[test]
fn error_messages_escape_control_characters_the_client_sent() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")).prediction_log(None));
    let mut c = Client::connect(server.local_addr()).unwrap();
    let cases = [
        (
            PREDICT,
            r#"{"instances": [{"\u001b]0;pwned\u0007": 1}]}"#,
            "unknown_feature",
            r"unknown feature `\u{1b}]0;pwned\u{7}`",
        ),
        (
            PREDICT,
            r#"{"instances": [[3, 0, "a\r\u202e\u009b", 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]]}"#,
            "non_numeric",
            r#"is a string "a\r\u{202e}\u{9b}""#,
        ),
        (PREDICT, r#"{"instances": [[1]], "key": ["\u2066"]}"#, "bad_request", r#"`key` is ["\u{2066}"]"#),
        (
            "/v1/models/%1B%5D0;pwned%07:predict",
            DEMO,
            "unknown_model",
            r"no model `\u{1b}]0;pwned\u{7}` is served",
        ),
        ("/v1/models/titanic:%E2%80%AEexplain", DEMO, "not_found", r"unknown verb `:\u{202e}explain`"),
    ];
    for (path, body, code, fragment) in cases {
        let answer = c.post(path, body).unwrap();
        let json = answer.json();
        assert_eq!(json["code"], code, "{body} → {}", answer.body);
        let message = json["error"].as_str().unwrap();
        assert!(!message.chars().any(mlflow::text::is_unsafe_char), "raw control character in {message:?}");
        assert!(message.contains(fragment), "no {fragment:?} in {message}");
    }
    // A long value is cut short.
    let long = format!(r#"{{"instances": [{{"Pclass": "{}"}}]}}"#, "x".repeat(5000));
    let message = c.post(PREDICT, &long).unwrap().json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains(&format!("is a string \"{}...,", "x".repeat(63))), "{message}");
    assert!(message.len() < 300, "{message}");
    let answer = c.get("/v1/models/%1B%5B2J").unwrap();
    assert_eq!(answer.status, 404);
    assert!(answer.json()["error"].as_str().unwrap().contains(r"no model `\u{1b}[2J`"), "{}", answer.body);
    server.shutdown().unwrap();
}

#[test]
fn metadata_health_and_metrics_describe_what_is_served() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("titanic@production").challenger("titanic@candidate", ChallengerMode::Shadow);
    let server = start(&store, config().model(spec));
    let addr = server.local_addr();
    let meta = http::get(addr, "/v1/models/titanic").json();
    assert_eq!(meta["name"], "titanic");
    assert_eq!(meta["ready"], true);
    assert_eq!(meta["version"], 1);
    assert_eq!(meta["reference"], "titanic@production");
    assert_eq!(meta["signature"]["inputs"].as_array().unwrap().len(), 13);
    assert_eq!(meta["signature"]["inputs"][0]["name"], scorer(&store, "titanic/1").names()[0].as_str());
    assert_eq!(meta["lineage"]["pipeline"], "titanic");
    assert_eq!(meta["challengers"][0]["version"], 2);
    assert_eq!(meta["challengers"][0]["mode"], "shadow");
    assert_eq!(http::get(addr, "/v1/models").json()["models"][0]["name"], "titanic");
    assert_eq!(http::get(addr, "/v1/models/nothing").status, 404);
    for path in ["/v2/health/live", "/healthz", "/v2/health/ready", "/readyz"] {
        assert_eq!(http::get(addr, path).status, 200, "{path}");
    }
    // KServe's V1 client checks liveness with `GET /`, as its Python model server answers it.
    let root = http::get(addr, "/");
    assert_eq!((root.status, root.header("content-type")), (200, Some("application/json")), "{}", root.body);
    assert_eq!(root.json(), serde_json::json!({ "status": "alive" }));
    for _ in 0..3 {
        assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    }
    let metrics = http::get(addr, "/metrics");
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let text = metrics.body;
    for line in [
        "mlflow_requests_total{model=\"titanic\",version=\"1\",role=\"champion\"} 3",
        "mlflow_request_duration_seconds_count{model=\"titanic\",version=\"1\",role=\"champion\"} 3",
        "mlflow_model_serving{model=\"titanic\",version=\"1\",role=\"champion\",mode=\"champion\",reference=\"titanic@production\"} 1",
        "mlflow_model_serving{model=\"titanic\",version=\"2\",role=\"shadow\",mode=\"shadow\",reference=\"titanic@candidate\"} 1",
        "# TYPE mlflow_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    server.shutdown().unwrap();
}

#[test]
fn a_shadow_scores_every_request_off_the_answer_and_is_logged() {
    let (_dir, store) = fresh_store();
    let champion = scorer(&store, "titanic@production");
    let shadow = scorer(&store, "titanic@candidate");
    let spec = ModelSpec::new("titanic@production").challenger("titanic@candidate", ChallengerMode::Shadow);
    let server = start(&store, config().model(spec));
    let mut c = Client::connect(server.local_addr()).unwrap();
    let table = support::table("test.csv");
    let features = champion.package().features().unwrap().transform(&table).unwrap();
    let mut ids = Vec::new();
    for row in features.x.rows().into_iter().take(50) {
        let body = serde_json::json!({ "instances": [row.to_vec()], "probabilities": true }).to_string();
        let answer = c.post(PREDICT, &body).unwrap();
        assert_eq!(answer.header("x-model-version"), Some("titanic/1"), "the champion answers");
        let expected = champion.score_row(row.as_slice().unwrap()).unwrap();
        assert_eq!(answer.json()["probabilities"][0].as_f64(), Some(expected.probability));
        ids.push(answer.header("x-request-id").unwrap().to_owned());
    }
    server.shutdown().unwrap(); // drains the shadow queue

    let log = log_of(&store);
    let by_role = |role: Role| -> HashMap<String, mlflow::serve::PredictionRecord> {
        log.iter().filter(|r| r.role == role).map(|r| (r.request_id.clone(), r.clone())).collect()
    };
    let (answered, shadowed) = (by_role(Role::Champion), by_role(Role::Shadow));
    assert_eq!((answered.len(), shadowed.len()), (50, 50));
    for id in &ids {
        let (a, s) = (&answered[id], &shadowed[id]);
        assert_eq!((a.version, s.version), (1, 2));
        assert_eq!(a.inputs, s.inputs);
        assert_eq!(s.probability, shadow.score_row(&s.inputs).unwrap().probability);
    }
}

#[test]
fn a_canary_answers_its_share_sticky_by_key_and_ab_needs_a_key() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("titanic@production")
        .challenger("titanic@candidate", ChallengerMode::Canary { fraction: 0.3 });
    let server = start(&store, config().model(spec).prediction_log(None));
    let mut c = Client::connect(server.local_addr()).unwrap();
    let version = |c: &mut Client, key: Option<&str>| -> String {
        let headers: Vec<(&str, &str)> = key.map(|k| ("x-routing-key", k)).into_iter().collect();
        let answer = c.send("POST", PREDICT, &headers, DEMO.as_bytes()).unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.header("x-model-version").unwrap().to_owned()
    };
    let unkeyed = (0..400).filter(|_| version(&mut c, None) == "titanic/2").count();
    assert!((80..160).contains(&unkeyed), "{unkeyed} of 400 unkeyed requests went to a 30% canary");
    let mut seen = BTreeSet::new();
    for user in 0..40 {
        let key = format!("user {user}");
        let first = version(&mut c, Some(&key));
        for _ in 0..3 {
            assert_eq!(version(&mut c, Some(&key)), first, "key {key} is sticky");
        }
        // The key also works in the body.
        let body = format!(r#"{{"instances": [[3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]], "key": "{key}"}}"#);
        assert_eq!(c.post(PREDICT, &body).unwrap().header("x-model-version").unwrap(), first);
        seen.insert(first);
    }
    assert_eq!(seen.len(), 2, "40 keys reach both models");
    server.shutdown().unwrap();

    let spec = ModelSpec::new("titanic@production")
        .challenger("titanic@candidate", ChallengerMode::AbTest { fraction: 0.5 });
    let server = start(&store, config().model(spec).prediction_log(None));
    let mut c = Client::connect(server.local_addr()).unwrap();
    assert!(
        (0..50).all(|_| version(&mut c, None) == "titanic/1"),
        "requests without a key are not in the test"
    );
    let roles: BTreeSet<String> = (0..40)
        .map(|u| {
            let answer =
                c.send("POST", PREDICT, &[("x-routing-key", &format!("u{u}"))], DEMO.as_bytes()).unwrap();
            answer.header("x-model-role").unwrap().to_owned()
        })
        .collect();
    assert_eq!(roles, BTreeSet::from(["champion".to_owned(), "challenger".to_owned()]));
    server.shutdown().unwrap();
}

#[test]
fn misconfigured_servers_refuse_to_start_with_the_fix() {
    let (_dir, store) = fresh_store();
    let fails = |config: ServerConfig| match Server::start(Store::open(&store).unwrap(), config) {
        Ok(_) => panic!("started"),
        Err(e) => e.to_string(),
    };
    assert!(fails(config()).contains("no model to serve"));
    assert!(fails(config().model(ModelSpec::new("titanic@staging"))).contains("staging"));
    let twice = config().model(ModelSpec::new("titanic@production")).model(ModelSpec::new("titanic/2"));
    assert!(fails(twice).contains("configured twice"));
    let greedy = ModelSpec::new("titanic@production")
        .challenger("titanic/2", ChallengerMode::Canary { fraction: 0.7 })
        .challenger("titanic/2", ChallengerMode::AbTest { fraction: 0.7 });
    assert!(fails(config().model(greedy)).contains("add up to"));
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let taken = ServerConfig::new(server.local_addr())
        .model(ModelSpec::new("titanic@production"))
        .prediction_log(None);
    assert!(fails(taken).contains("is the port taken"));
    // A second server logging into the same store would interleave with the first one's log.
    assert!(fails(config().model(ModelSpec::new("titanic@production"))).contains("another process"));
    server.shutdown().unwrap();
}

#[test]
fn a_promotion_under_load_switches_versions_without_a_failed_request() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                let mut versions = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let answer = c.post(PREDICT, DEMO).expect("no dropped connection");
                    assert_eq!(answer.status, 200, "{}", answer.body);
                    versions.push(answer.header("x-model-version").unwrap().to_owned());
                }
                versions
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    {
        let store = Store::open(&store).unwrap();
        let registry = Registry::new(&store).unwrap();
        registry.promote("titanic", 2, "production", Promotion::new("roc_auc").force(true)).unwrap();
    }
    let switched = Instant::now();
    while http::get(addr, "/v1/models/titanic").json()["version"] != 2 {
        assert!(switched.elapsed() < Duration::from_secs(10), "the server never picked up the promotion");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for client in clients {
        let versions = client.join().expect("every request succeeded");
        total += versions.len();
        let first_new = versions.iter().position(|v| v == "titanic/2").expect("saw the new version");
        assert!(first_new > 0, "saw the old version first");
        assert!(versions[first_new..].iter().all(|v| v == "titanic/2"), "never back to the old version");
    }
    assert!(total > 100, "{total} requests under load");
    let metrics = http::get(addr, "/metrics").body;
    assert!(metrics.contains("mlflow_model_reloads_total{model=\"titanic\"} 1"), "{metrics}");
    server.shutdown().unwrap();
    assert_eq!(log_of(&store).len(), total);
}

#[test]
fn shutdown_finishes_the_requests_in_flight() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let addr = server.local_addr();
    let mut c = Client::connect(addr).unwrap();
    // A request whose body is still arriving when the shutdown starts.
    c.send_head("POST", PREDICT, &[], DEMO.len()).unwrap();
    c.write_raw(&DEMO.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let stopping = std::thread::spawn(move || server.shutdown());
    std::thread::sleep(Duration::from_millis(200));
    assert!(!stopping.is_finished(), "the shutdown waits for the request in flight");
    assert!(std::net::TcpStream::connect(addr).is_err() || http_refused(addr), "no new connections");
    c.write_raw(&DEMO.as_bytes()[10..]).unwrap();
    let answer = c.read_answer().unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    stopping.join().unwrap().unwrap();
    assert_eq!(log_of(&store).len(), 1);
}

/// Whether a new connection is accepted but never answered (the listener is closed but the
/// kernel's backlog took the connection).
fn http_refused(addr: SocketAddr) -> bool {
    Client::connect(addr).and_then(|mut c| c.get("/healthz")).is_err()
}

/// The `mlflow` binary serving the store: the child, its stderr after the line announcing the
/// address, the address, and the lines before it.
fn start_cli(store: &Path) -> (Child, BufReader<ChildStderr>, SocketAddr, Vec<String>) {
    start_cli_with(store, &[])
}

/// [`start_cli`] with more arguments for `serve`.
fn start_cli_with(store: &Path, args: &[&str]) -> (Child, BufReader<ChildStderr>, SocketAddr, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
        .args(["--store", store.to_str().unwrap(), "serve", "titanic@production", "--port", "0"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut lines = Vec::new();
    let addr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server exited before listening: {lines:?}");
        if let Some(addr) = line.trim().strip_prefix("mlflow-pipelines serve: listening on http://") {
            break addr.parse().unwrap();
        }
        lines.push(line);
    };
    (child, stderr, addr, lines)
}

/// [`start_cli`], with its stderr drained in the background so the server never blocks on a pipe.
fn spawn_cli(store: &Path) -> (Child, SocketAddr) {
    let (child, mut stderr, addr, _) = start_cli(store);
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr)
}

#[test]
fn the_prediction_log_keeps_every_acknowledged_prediction_across_a_sigkill() {
    let (_dir, store) = fresh_store();
    let (mut child, addr) = spawn_cli(&store);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let Ok(mut c) = Client::connect(addr) else { return acknowledged };
                while !stop.load(Ordering::Relaxed) {
                    match c.post(PREDICT, DEMO) {
                        Ok(answer) if answer.status == 200 => {
                            acknowledged.push(answer.header("x-request-id").unwrap().to_owned())
                        }
                        Ok(answer) => panic!("refused: {}", answer.body),
                        Err(_) => break, // killed mid-request: not acknowledged
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<String> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert!(acknowledged.len() > 50, "only {} requests before the kill", acknowledged.len());
    let records = log_of(&store);
    let logged: BTreeSet<String> = records.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(logged.len(), records.len(), "every request logged once");
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !logged.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged predictions missing from the log, e.g. {:?}",
        missing.len(),
        missing.first()
    );

    // Restarted, it appends after what survived.
    let (mut child, addr) = spawn_cli(&store);
    let answer = http::post(addr, PREDICT, DEMO);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let id = answer.header("x-request-id").unwrap().to_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    let contents =
        PredictionLog::read(PredictionLog::dir_in(&Store::open(&store).unwrap(), "titanic")).unwrap();
    assert!(contents.records.iter().any(|r| r.request_id == id));
    assert!(acknowledged.iter().all(|id| contents.records.iter().any(|r| &r.request_id == id)));
}

#[test]
fn the_command_line_refuses_unknown_models_and_challengers_of_unserved_models() {
    let (_dir, store) = fresh_store();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
            .args(["--store", store.to_str().unwrap(), "serve", "--port", "0"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(run(&["titanic@staging"]).contains("staging"));
    assert!(
        run(&["titanic@production", "--shadow", "other@x"]).contains("model `other`, which is not served")
    );
    assert!(run(&["titanic@production", "--canary", "titanic@candidate=2"]).contains("outside [0, 1]"));
}

#[test]
fn the_command_line_server_stops_gracefully_on_sigterm() {
    let (_dir, store) = fresh_store();
    let (mut child, mut stderr, addr, lines) = start_cli(&store);
    assert!(lines.iter().any(|l| l.contains("titanic@production → titanic/1")), "{lines:?}");
    let mut c = Client::connect(addr).unwrap();
    // A request in flight when the signal arrives is still answered.
    c.send_head("POST", PREDICT, &[], DEMO.len()).unwrap();
    c.write_raw(&DEMO.as_bytes()[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));
    c.write_raw(&DEMO.as_bytes()[5..]).unwrap();
    assert_eq!(c.read_answer().unwrap().status, 200);
    drop(c);
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "exit {status}: {rest}");
    assert!(rest.contains("mlflow-pipelines serve: stopped"), "{rest}");
    assert_eq!(log_of(&store).len(), 1);
}

#[test]
fn a_promoted_version_that_fails_to_load_leaves_the_old_one_serving() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let addr = server.local_addr();
    {
        let store = Store::open(&store).unwrap();
        let registry = Registry::new(&store).unwrap();
        let artifact =
            store.artifact_path(registry.version("titanic", 2).unwrap().artifact).expect("a local store");
        std::fs::write(&artifact, b"not a model any more").unwrap();
        registry.promote("titanic", 2, "production", Promotion::new("roc_auc").force(true)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = "mlflow_model_reload_errors_total{model=\"titanic\"} 1";
    while !http::get(addr, "/metrics").body.lines().any(|l| l == line) {
        assert!(Instant::now() < deadline, "the failed reload was never counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    let answer = http::post(addr, PREDICT, DEMO);
    assert_eq!((answer.status, answer.header("x-model-version")), (200, Some("titanic/1")));
    assert_eq!(http::get(addr, "/v1/models/titanic").json()["version"], 1);
    // The request id a client sends is kept.
    let mut c = Client::connect(addr).unwrap();
    let answer = c.send("POST", PREDICT, &[("x-request-id", "client-42")], DEMO.as_bytes()).unwrap();
    assert_eq!(answer.header("x-request-id"), Some("client-42"));
    server.shutdown().unwrap();
    assert!(log_of(&store).iter().any(|r| r.request_id == "client-42"));
}

#[test]
fn a_shutdown_reports_not_ready_first_and_does_not_wait_forever_for_a_stalled_client() {
    let (_dir, store) = fresh_store();
    let config = config()
        .model(ModelSpec::new("titanic@production"))
        .shutdown_delay(Duration::from_millis(400))
        .drain_timeout(Duration::from_millis(300));
    let server = start(&store, config);
    let addr = server.local_addr();
    // A client that sends half a request and then stalls.
    let mut stalled = Client::connect(addr).unwrap();
    stalled.write_raw(b"POST /v1/models/titanic:predict HTTP/1.1\r\nhost: x\r\ncontent-len").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let stopping = std::thread::spawn(move || server.shutdown());
    std::thread::sleep(Duration::from_millis(100));
    // During the delay: not ready, but still answering.
    assert_eq!(http::get(addr, "/readyz").status, 503);
    assert_eq!(http::get(addr, "/v2/health/ready").json()["ready"], false);
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    stopping.join().unwrap().unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(650), "stopped after {took:?}, before the delay and the drain");
    assert!(took < Duration::from_secs(5), "waited {took:?} for a stalled client");
    assert!(stalled.read_answer().is_err(), "the stalled connection was closed");
}

#[test]
fn the_command_line_server_warns_about_a_damaged_log_and_keeps_every_whole_record() {
    let (_dir, store) = fresh_store();
    let (mut child, addr) = spawn_cli(&store);
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let dir = PredictionLog::dir_in(&Store::open(&store).unwrap(), "titanic");
    let last = PredictionLog::segment_files(&dir).unwrap().pop().unwrap();
    // A crash in the middle of a write: half a frame at the end.
    let mut file = std::fs::OpenOptions::new().append(true).open(&last).unwrap();
    std::io::Write::write_all(&mut file, &[40, 0, 0, 0, 1, 2]).unwrap();
    drop(file);

    let (mut child, _stderr, addr, lines) = start_cli(&store);
    assert!(
        lines.iter().any(|l| l.starts_with(
            "mlflow-pipelines: warning: a prediction log segment does not end with a whole frame"
        )),
        "{lines:?}"
    );
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let contents = PredictionLog::read(&dir).unwrap();
    assert_eq!((contents.records.len(), contents.torn), (2, 1));
}

#[test]
fn two_models_are_served_side_by_side_with_well_formed_metrics() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("titanic@production").challenger("titanic@candidate", ChallengerMode::Shadow);
    let server = start(&store, config().model(spec).model(ModelSpec::new("bayes@production")));
    let addr = server.local_addr();
    let bayes = http::post(addr, "/v1/models/bayes:predict", DEMO);
    assert_eq!((bayes.status, bayes.header("x-model-version")), (200, Some("bayes/1")), "{}", bayes.body);
    assert_eq!(http::post(addr, PREDICT, DEMO).header("x-model-version"), Some("titanic/1"));
    let names: Vec<String> = http::get(addr, "/v1/models").json()["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bayes", "titanic"]);
    assert_eq!(
        http::post(addr, "/v1/models/nobody:predict", DEMO).json()["error"]
            .as_str()
            .map(|e| e.contains("served: bayes, titanic")),
        Some(true)
    );

    // The text format: every sample right after its family's `# TYPE` line, families not split.
    let text = http::get(addr, "/metrics").body;
    let mut seen = BTreeSet::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            current = rest.split(' ').next().unwrap().to_owned();
            assert!(seen.insert(current.clone()), "family {current} appears twice:\n{text}");
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix).filter(|base| *base == current))
                .unwrap_or(name);
            assert_eq!(family, current, "sample `{line}` outside its family:\n{text}");
        }
    }
    for line in [
        "mlflow_requests_total{model=\"bayes\",version=\"1\",role=\"champion\"} 1",
        "mlflow_model_reloads_total{model=\"bayes\"} 0",
        "mlflow_model_reloads_total{model=\"titanic\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
    server.shutdown().unwrap();
    let bayes_log =
        PredictionLog::read(PredictionLog::dir_in(&Store::open(&store).unwrap(), "bayes")).unwrap();
    assert_eq!(bayes_log.records.len(), 1, "each model has its own log");
}

#[test]
fn a_synced_prediction_log_answers_concurrent_requests_and_logs_each() {
    let (_dir, store) = fresh_store();
    let log = LogOptions::default().durability(Durability::Sync);
    let server =
        start(&store, config().model(ModelSpec::new("titanic@production")).prediction_log(Some(log)));
    let addr = server.local_addr();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                (0..25)
                    .map(|_| c.post(PREDICT, DEMO).unwrap().header("x-request-id").unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: BTreeSet<String> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    server.shutdown().unwrap();
    let logged: BTreeSet<String> = log_of(&store).into_iter().map(|r| r.request_id).collect();
    assert_eq!((ids.len(), logged), (100, ids));
}

// ---- slow clients and protocol refusals ----------------------------------------------------------

/// The start of a request that never ends: its headers go on and on.
const ENDLESS_HEAD: &[u8] = b"POST /v1/models/titanic:predict HTTP/1.1\r\nhost: localhost\r\nx-slow: ";

/// Connects and writes `ENDLESS_HEAD` (then `x`s) one byte every `every`, until the server
/// closes the connection or `stop` is set; returns the stream to read from.
fn trickle(addr: SocketAddr, every: Duration, stop: Arc<AtomicBool>) -> std::net::TcpStream {
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        for &byte in ENDLESS_HEAD.iter().chain(std::iter::repeat(&b'x')) {
            if stop.load(Ordering::Relaxed) || writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(every);
        }
    });
    stream
}

/// Reads until the server closes `stream`: true if it did, without answering anything.
fn closed_without_an_answer(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!("the server answered: {:?}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
        ),
    }
}

#[test]
fn a_client_sending_its_headers_a_byte_at_a_time_is_disconnected_after_the_header_timeout() {
    let (_dir, store) = fresh_store();
    let timeout = Duration::from_millis(600);
    let server = start(
        &store,
        config()
            .model(ModelSpec::new("titanic@production"))
            .prediction_log(None)
            .header_read_timeout(timeout),
    );
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut slow = trickle(addr, Duration::from_millis(20), Arc::clone(&stop));
    // A normal client is served meanwhile, on a connection opened after the slow one.
    let mut c = Client::connect(addr).unwrap();
    assert_eq!(c.post(PREDICT, DEMO).unwrap().status, 200);
    assert!(closed_without_an_answer(&mut slow), "the slow client is still connected");
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    assert!(took >= timeout - Duration::from_millis(50), "disconnected after {took:?}, before the timeout");
    assert!(took < timeout + Duration::from_secs(4), "disconnected only after {took:?}");
    // A client that connects and sends nothing is disconnected too; the server still serves.
    let mut silent = std::net::TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    assert!(closed_without_an_answer(&mut silent));
    // So is a keep-alive connection idle for longer than the timeout; new ones are served.
    assert!(c.post(PREDICT, DEMO).is_err(), "an idle keep-alive connection is closed after the timeout");
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn the_server_keeps_serving_while_many_slow_clients_are_connected_then_drops_them() {
    let (_dir, store) = fresh_store();
    let timeout = Duration::from_secs(5);
    let server = start(
        &store,
        config()
            .model(ModelSpec::new("titanic@production"))
            .prediction_log(None)
            .worker_threads(2)
            .header_read_timeout(timeout),
    );
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut slow: Vec<_> =
        (0..60).map(|_| trickle(addr, Duration::from_millis(50), Arc::clone(&stop))).collect();
    // 200 requests from 4 clients while the 60 slow ones hold their connections.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr).unwrap();
                (0..50).filter(|_| c.post(PREDICT, DEMO).unwrap().status == 200).count()
            })
        })
        .collect();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let busy = started.elapsed();
    assert_eq!(answered, 200);
    assert!(busy < timeout, "200 requests took {busy:?}: not all while the slow clients were connected");
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(closed_without_an_answer(stream), "slow client {i} is still connected");
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    assert!(took >= timeout - Duration::from_millis(100), "slow clients dropped after {took:?}");
    assert!(took < timeout + Duration::from_secs(5), "slow clients dropped only after {took:?}");
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    server.shutdown().unwrap();
}

#[test]
fn a_body_slower_than_the_body_timeout_gets_a_json_408_and_the_connection_is_closed() {
    let (_dir, store) = fresh_store();
    let timeout = Duration::from_millis(500);
    let server =
        start(&store, config().model(ModelSpec::new("titanic@production")).body_read_timeout(timeout));
    let addr = server.local_addr();
    // A body that stalls after 10 bytes, and one trickled a byte every 100 ms (too slow in all).
    for every in [None, Some(Duration::from_millis(100))] {
        let mut c = Client::connect(addr).unwrap();
        let started = Instant::now();
        c.send_head("POST", PREDICT, &[], DEMO.len()).unwrap();
        c.write_raw(&DEMO.as_bytes()[..10]).unwrap();
        if let Some(every) = every {
            for &byte in &DEMO.as_bytes()[10..20] {
                std::thread::sleep(every);
                let _ = c.write_raw(&[byte]);
            }
        }
        let answer = c.read_answer().unwrap();
        let took = started.elapsed();
        assert_eq!(
            (answer.status, answer.json()["code"].as_str()),
            (408, Some("request_timeout")),
            "{}",
            answer.body
        );
        assert!(
            answer.json()["error"].as_str().unwrap().contains("did not arrive within 0.5 s"),
            "{}",
            answer.body
        );
        assert_eq!(answer.header("connection"), Some("close"));
        assert!(
            took >= timeout - Duration::from_millis(50) && took < timeout + Duration::from_secs(4),
            "{took:?}"
        );
        assert!(c.read_answer().is_err(), "the connection is closed");
    }
    // A body on time is scored, and so is one on an unknown route refused as usual.
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    assert_eq!(http::post(addr, "/v2/nothing", DEMO).json()["code"], "not_found");
    server.shutdown().unwrap();
    // Both timeouts are in the model's log beside the answered request, against the champion.
    let store = Store::open(&store).unwrap();
    let log = PredictionLog::read(PredictionLog::dir_in(&store, "titanic")).unwrap();
    assert_eq!(log.records.len(), 1);
    let failures: Vec<(u16, &str, u32, bool)> =
        log.failures.iter().map(|f| (f.status, f.code.as_str(), f.version, f.timed_out())).collect();
    assert_eq!(failures, [(408, "request_timeout", 1, true); 2]);
    assert!(log.failures.iter().all(|f| f.latency_us >= 450_000), "{:?}", log.failures);
}

#[test]
fn oversized_headers_get_a_json_431_and_what_hyper_refuses_itself_gets_a_bare_answer() {
    let (_dir, store) = fresh_store();
    let server = start(
        &store,
        config().model(ModelSpec::new("titanic@production")).prediction_log(None).max_header_bytes(8 * 1024),
    );
    let addr = server.local_addr();
    // Over the limit but under hyper's cap (4 times it): a JSON 431, and the connection closes.
    let mut c = Client::connect(addr).unwrap();
    let big = "v".repeat(10 * 1024);
    let answer = c.send("POST", PREDICT, &[("x-big", &big)], DEMO.as_bytes()).unwrap();
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (431, Some("headers_too_large")),
        "{}",
        answer.body
    );
    assert!(
        answer.json()["error"].as_str().unwrap().contains("over the limit of 8192 bytes"),
        "{}",
        answer.body
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(c.read_answer().is_err(), "the connection is closed");
    // On any route, and with many small headers too.
    let many: Vec<(String, String)> = (0..90).map(|i| (format!("x-h{i}"), "w".repeat(100))).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = Client::connect(addr).unwrap().send("GET", "/healthz", &many, b"").unwrap();
    assert_eq!((answer.status, answer.json()["code"].as_str()), (431, Some("headers_too_large")));

    // Refused by hyper before the service sees them: bare answers, no JSON (see the `conn`
    // module of mlflow-serve). These document the HTTP stack's behavior.
    let bare = |request: &[u8]| {
        let mut c = Client::connect(addr).unwrap();
        c.write_raw(request).unwrap();
        let answer = c.read_answer().unwrap();
        assert_eq!(answer.body, "", "hyper's own answers have no body");
        answer.status
    };
    let huge = format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-huge: {}\r\n\r\n", "h".repeat(40 * 1024));
    assert_eq!(bare(huge.as_bytes()), 431, "over hyper's cap");
    assert_eq!(bare(b"POST /v1/models/titanic:predict HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd"), 400);
    assert_eq!(bare(b"NOT A REQUEST LINE\r\n\r\n"), 400);
    // A body over the limit is the service's: JSON (see every_bad_request_...).
    let answer = http::post(addr, PREDICT, DEMO);
    assert_eq!(answer.status, 200, "still serving: {}", answer.body);
    server.shutdown().unwrap();
}

#[test]
fn the_command_line_takes_the_timeouts_and_the_header_limit() {
    let (_dir, store) = fresh_store();
    let args =
        ["--header-timeout-secs", "1", "--body-timeout-secs", "1", "--max-header-bytes", "9000", "--no-log"];
    let (mut child, stderr, addr, _) = start_cli_with(&store, &args);
    let mut stderr = stderr;
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut slow = trickle(addr, Duration::from_millis(20), Arc::clone(&stop));
    assert!(closed_without_an_answer(&mut slow));
    stop.store(true, Ordering::Relaxed);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_secs(5), "{took:?}");
    let mut c = Client::connect(addr).unwrap();
    c.send_head("POST", PREDICT, &[], DEMO.len()).unwrap();
    assert_eq!(c.read_answer().unwrap().status, 408);
    let answer =
        Client::connect(addr).unwrap().send("GET", "/healthz", &[("x-big", &"v".repeat(9000))], b"").unwrap();
    assert_eq!(answer.status, 431);
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn monitor_skew_replays_the_logged_raw_rows_and_exits_3_when_a_client_featurizes_its_own_way() {
    let (_dir, store) = fresh_store();
    let server = start(&store, config().model(ModelSpec::new("titanic@production")));
    let addr = server.local_addr();
    let passenger = serde_json::json!({
        "PassengerId": 1, "Pclass": 3, "Name": "Braund, Mr. Owen Harris", "Sex": "male", "Age": 22,
        "SibSp": 1, "Parch": 0, "Ticket": "A/5 21171", "Fare": 7.25, "Cabin": null, "Embarked": "S"
    });
    let raw = serde_json::json!({ "raw": true, "instances": [&passenger] }).to_string();
    let answer = http::post(addr, PREDICT, &raw);
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The server's own features of that passenger, as a careful client would send them.
    let served = log_of(&store)[0].inputs.clone();
    let beside = |features: &[f64]| {
        serde_json::json!({ "instances": [features], "raw_instances": [&passenger] }).to_string()
    };
    assert_eq!(http::post(addr, PREDICT, &beside(&served)).status, 200);
    let clean = crate::run::ok(&store, &["monitor", "titanic", "--skew"]);
    assert!(clean.contains("skew of version 1: 0 of 2 served rows differ"), "{clean}");
    // A client that computes the last feature its own way.
    let mut own = served.clone();
    *own.last_mut().unwrap() += 1.0;
    assert_eq!(http::post(addr, PREDICT, &beside(&own)).status, 200);
    // And one without raw rows: not replayable, counted.
    assert_eq!(http::post(addr, PREDICT, DEMO).status, 200);
    server.shutdown().unwrap();
    let out = crate::run::mlflow(&store, &["monitor", "titanic", "--skew"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("skew of version 1: 1 of 3 served rows differ from the package's own features (1 rows without raw rows)"), "{stdout}");
    let names = scorer(&store, "titanic@production").names().to_vec();
    let last = names.last().unwrap();
    assert!(stdout.contains(&format!("SKEW: `{last}` differs in 1 rows, by up to 1")), "{stdout}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("served features differ from the package's own (exit code 3)"), "{stderr}");
    let json = crate::run::mlflow(&store, &["monitor", "titanic", "--skew", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["skew"]["1"]["skewed_rows"], 1);
}
