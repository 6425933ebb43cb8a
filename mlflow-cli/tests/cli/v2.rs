//! The Open Inference Protocol (KServe V2 REST) end to end, on three small registered models
//! (binary with integer labels, three species with text labels, a regressor): metadata,
//! readiness, inference with one tensor per feature or one matrix, the outputs a request picks,
//! the shared prediction log and traffic with KServe V1, every refusal, and malformed bodies.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use mlflow::models::Outputs;
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use mlflow::serve::{ChallengerMode, PredictionLog, Role, Scorer};
use serde_json::{Value, json};

use crate::http::{self, Client};
use crate::server::copy_dir;
use crate::v2_models::{self, ROWS, SPECIES};

/// A store with the three models, built once and copied for each test.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("store");
            v2_models::register(&Store::open(&path).unwrap());
            (dir, path)
        })
        .1
}

/// A copy of the template store, for one test (shared with the labels tests).
pub(crate) fn fresh_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("store");
    copy_dir(template(), &to);
    (dir, to)
}

/// A server of the three models at `production`, picking promotions up every 50 ms.
pub(crate) fn serve_all(store: &Path) -> Server {
    let mut config =
        ServerConfig::new("127.0.0.1:0".parse().unwrap()).reload_interval(Duration::from_millis(50));
    for (name, _) in v2_models::MODELS {
        config = config.model(ModelSpec::new(format!("{name}@production")));
    }
    Server::start(Store::open(store).unwrap(), config).expect("server starts")
}

fn scorer(store: &Path, reference: &str) -> Scorer {
    let store = Store::open(store).unwrap();
    Scorer::from_registry(&Registry::new(&store).unwrap(), reference).unwrap()
}

/// Every output of `reference` for [`ROWS`]: class probabilities (rows) or values.
fn expected(store: &Path, reference: &str) -> Outputs {
    let rows = ndarray::Array2::from_shape_fn((ROWS.len(), 2), |(i, j)| ROWS[i][j]);
    scorer(store, reference).predict(rows.view()).unwrap()
}

/// One input per feature, FP64, shape [N].
fn per_feature(names: [&str; 2]) -> Value {
    let inputs: Vec<Value> = (0..2)
        .map(|j| {
            json!({
                "name": names[j],
                "shape": [ROWS.len()],
                "datatype": "FP64",
                "data": ROWS.iter().map(|r| r[j]).collect::<Vec<f64>>(),
            })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// One FP64 matrix [N, 2], flat.
fn matrix() -> Value {
    json!({ "inputs": [{
        "name": "input-0",
        "shape": [ROWS.len(), 2],
        "datatype": "FP64",
        "data": ROWS.iter().flatten().copied().collect::<Vec<f64>>(),
    }]})
}

fn output<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no output {name}: {answer}"))
}

fn floats(value: &Value) -> Vec<f64> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

#[test]
fn server_and_model_metadata_describe_the_signatures() {
    let (_dir, store) = fresh_store();
    let server = serve_all(&store);
    let addr = server.local_addr();
    let answer = http::get(addr, "/v2");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["name"], "mlflow-pipelines");
    assert_eq!(answer.json()["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(answer.json()["extensions"], json!([]));

    let species = http::get(addr, "/v2/models/species").json();
    assert_eq!(species["name"], "species");
    assert_eq!(species["versions"], json!(["1"]));
    assert_eq!(species["platform"], "mlflow-pipelines");
    assert_eq!(
        species["inputs"],
        json!([
            { "name": "petal_length", "datatype": "FP64", "shape": [-1] },
            { "name": "petal_width", "datatype": "FP64", "shape": [-1] },
        ])
    );
    assert_eq!(
        species["outputs"],
        json!([
            { "name": "label", "datatype": "BYTES", "shape": [-1] },
            { "name": "probabilities", "datatype": "FP64", "shape": [-1, 3] },
        ])
    );
    assert_eq!(species["classes"], json!(SPECIES));
    let binary = http::get(addr, "/v2/models/binary").json();
    assert_eq!(binary["outputs"][0], json!({ "name": "label", "datatype": "INT64", "shape": [-1] }));
    assert_eq!(binary["classes"], json!([-1, 1]));
    let price = http::get(addr, "/v2/models/price").json();
    assert_eq!(price["outputs"], json!([{ "name": "value", "datatype": "FP64", "shape": [-1] }]));
    assert!(price.get("classes").is_none());

    let ready = http::get(addr, "/v2/models/price/ready");
    assert_eq!((ready.status, ready.json()), (200, json!({ "name": "price", "ready": true })));
    assert_eq!(http::get(addr, "/v2/health/ready").status, 200);
    let unknown = http::get(addr, "/v2/models/nope/ready");
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.json()["error"].as_str().unwrap().contains("served: binary, price, species"),
        "{}",
        unknown.body
    );
    assert_eq!(http::get(addr, "/v2/models/nope").status, 404);
    server.shutdown().unwrap();
}

#[test]
fn a_binary_model_answers_integer_labels_and_probabilities_per_feature_or_as_a_matrix() {
    let (_dir, store) = fresh_store();
    let Outputs::Probabilities(p) = expected(&store, "binary@production") else { panic!("a classifier") };
    let labels: Vec<i64> = p.rows().into_iter().map(|r| if r[1] > 0.5 { 1 } else { -1 }).collect();
    assert!(labels.contains(&1) && labels.contains(&-1), "the rows cover both classes: {labels:?}");
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();

    let mut nested = matrix();
    nested["inputs"][0]["data"] = json!(ROWS);
    let mut columns = per_feature(["x1", "x2"]);
    columns["inputs"][1]["shape"] = json!([ROWS.len(), 1]);
    columns["inputs"][1]["data"] = json!(ROWS.iter().map(|r| [r[1]]).collect::<Vec<_>>());
    let mut reversed = per_feature(["x1", "x2"]);
    reversed["inputs"].as_array_mut().unwrap().reverse();
    for body in [per_feature(["x1", "x2"]), matrix(), nested, columns, reversed] {
        let answer = c.post("/v2/models/binary/infer", &body.to_string()).unwrap();
        assert_eq!(answer.status, 200, "{body} → {}", answer.body);
        assert_eq!(answer.header("x-model-version"), Some("binary/1"));
        let json = answer.json();
        assert_eq!((&json["model_name"], &json["model_version"]), (&json!("binary"), &json!("1")));
        let label = output(&json, "label");
        assert_eq!((&label["datatype"], &label["shape"]), (&json!("INT64"), &json!([4])));
        assert_eq!(label["data"], json!(labels));
        let probabilities = output(&json, "probabilities");
        assert_eq!((&probabilities["datatype"], &probabilities["shape"]), (&json!("FP64"), &json!([4, 2])));
        assert_eq!(floats(&probabilities["data"]), p.iter().copied().collect::<Vec<f64>>());
        assert_eq!(json["outputs"].as_array().unwrap().len(), 2, "every output by default");
    }

    // Integer and boolean datatypes are numbers too; one row scores alone.
    let body = json!({ "id": "my-request", "inputs": [
        { "name": "x1", "shape": [1], "datatype": "INT32", "data": [4] },
        { "name": "x2", "shape": [1], "datatype": "BOOL", "data": [true] },
    ]});
    let answer = c
        .send("POST", "/v2/models/binary/infer", &[("x-request-id", "abc-1")], body.to_string().as_bytes())
        .unwrap();
    let json = answer.json();
    assert_eq!(json["id"], "my-request", "the body's id is echoed");
    assert_eq!(answer.header("x-request-id"), Some("abc-1"), "the header's id is logged and echoed");
    let single = scorer(&store, "binary@production").score_row(&[4.0, 1.0]).unwrap();
    assert_eq!(output(&json, "label")["data"], json!([if single.label == 1 { 1 } else { -1 }]));
    assert_eq!(
        floats(&output(&json, "probabilities")["data"]),
        [1.0 - single.probability, single.probability]
    );

    // Without an id anywhere the answer carries the one the server made up.
    let answer = c.post("/v2/models/binary/infer", &matrix().to_string()).unwrap();
    assert_eq!(answer.json()["id"].as_str(), answer.header("x-request-id"));
    // With an id in the body only, it is the request's id.
    let mut with_id = matrix();
    with_id["id"] = json!("body-id-7");
    let answer = c.post("/v2/models/binary/infer", &with_id.to_string()).unwrap();
    assert_eq!(answer.header("x-request-id"), Some("body-id-7"));
    server.shutdown().unwrap();
}

#[test]
fn a_multiclass_model_answers_text_labels_and_a_probability_row_per_instance() {
    let (_dir, store) = fresh_store();
    let Outputs::Probabilities(p) = expected(&store, "species@production") else { panic!("a classifier") };
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    let answer = c
        .post("/v2/models/species/infer", &per_feature(["petal_length", "petal_width"]).to_string())
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let json = answer.json();
    let label = output(&json, "label");
    assert_eq!((&label["datatype"], &label["shape"]), (&json!("BYTES"), &json!([4])));
    let labels: Vec<&str> = mlflow::models::argmax_rows(p.view()).iter().map(|&c| SPECIES[c]).collect();
    assert_eq!(labels[..3], SPECIES, "the rows cover every class");
    assert_eq!(label["data"], json!(labels));
    let probabilities = output(&json, "probabilities");
    assert_eq!(probabilities["shape"], json!([4, 3]));
    let data = floats(&probabilities["data"]);
    assert_eq!(data, p.iter().copied().collect::<Vec<f64>>());
    for row in data.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
    }

    // An `outputs` list picks outputs, in its order.
    for (asked, names) in [
        (json!([{ "name": "probabilities" }]), vec!["probabilities"]),
        (json!([{ "name": "label" }]), vec!["label"]),
        (json!([{ "name": "probabilities" }, { "name": "label" }]), vec!["probabilities", "label"]),
    ] {
        let mut body = matrix();
        body["outputs"] = asked;
        let json = c.post("/v2/models/species/infer", &body.to_string()).unwrap().json();
        let got: Vec<&str> =
            json["outputs"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(got, names);
    }
    server.shutdown().unwrap();
}

#[test]
fn a_regressor_answers_values() {
    let (_dir, store) = fresh_store();
    let Outputs::Values(v) = expected(&store, "price@production") else { panic!("a regressor") };
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    for body in [per_feature(["rooms", "age"]), matrix()] {
        let answer = c.post("/v2/models/price/infer", &body.to_string()).unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        assert_eq!(json["outputs"].as_array().unwrap().len(), 1);
        let value = output(&json, "value");
        assert_eq!((&value["datatype"], &value["shape"]), (&json!("FP64"), &json!([4])));
        assert_eq!(floats(&value["data"]), v.to_vec());
    }
    assert!((v[0] - (10.0 + 0.3 - 0.1)).abs() < 0.1, "{v}");
    server.shutdown().unwrap();
}

#[test]
fn v1_and_v2_share_the_prediction_log_the_metrics_and_challenger_traffic() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("binary@production").challenger("binary@candidate", ChallengerMode::Shadow);
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).model(spec);
    let server = Server::start(Store::open(&store).unwrap(), config).unwrap();
    let mut c = Client::connect(server.local_addr()).unwrap();
    let v1 = json!({ "instances": ROWS }).to_string();
    let a =
        c.send("POST", "/v1/models/binary:predict", &[("x-request-id", "v1-req")], v1.as_bytes()).unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let v2 = per_feature(["x1", "x2"]).to_string();
    let b = c.send("POST", "/v2/models/binary/infer", &[("x-request-id", "v2-req")], v2.as_bytes()).unwrap();
    assert_eq!(b.status, 200, "{}", b.body);
    assert_eq!(a.json()["predictions"], output(&b.json(), "label")["data"], "one answer, two wire formats");
    let metrics = c.get("/metrics").unwrap().body;
    assert!(
        metrics.contains(r#"mlflow_predictions_total{model="binary",version="1",role="champion"} 8"#),
        "{metrics}"
    );
    server.shutdown().unwrap();

    let log =
        PredictionLog::read(PredictionLog::dir_in(&Store::open(&store).unwrap(), "binary")).unwrap().records;
    let of = |id: &str, role: Role| -> Vec<(Vec<f64>, u32, u32)> {
        log.iter()
            .filter(|r| r.request_id == id && r.role == role)
            .map(|r| (r.inputs.clone(), r.label, r.version))
            .collect()
    };
    assert_eq!(of("v1-req", Role::Champion).len(), 4);
    assert_eq!(of("v1-req", Role::Champion), of("v2-req", Role::Champion));
    assert_eq!(of("v2-req", Role::Shadow).len(), 4, "the shadow scores V2 requests too");
    assert_eq!(of("v1-req", Role::Shadow), of("v2-req", Role::Shadow));
    assert!(of("v2-req", Role::Shadow).iter().all(|(inputs, _, version)| *version == 2 && inputs.len() == 2));
}

#[test]
fn a_routing_key_in_the_parameters_is_sticky_as_in_v1() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("binary@production")
        .challenger("binary@candidate", ChallengerMode::Canary { fraction: 0.5 });
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).model(spec).prediction_log(None);
    let server = Server::start(Store::open(&store).unwrap(), config).unwrap();
    let mut c = Client::connect(server.local_addr()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for user in 0..40 {
        let key = format!("user-{user}");
        let mut body = matrix();
        body["parameters"] = json!({ "key": key });
        let v2 = c.post("/v2/models/binary/infer", &body.to_string()).unwrap();
        let v1 = c
            .post("/v1/models/binary:predict", &json!({ "instances": ROWS, "key": key }).to_string())
            .unwrap();
        let by_header = c
            .send(
                "POST",
                "/v2/models/binary/infer",
                &[("x-routing-key", &key)],
                matrix().to_string().as_bytes(),
            )
            .unwrap();
        let version = v2.header("x-model-version").unwrap().to_owned();
        assert_eq!(v1.header("x-model-version"), Some(version.as_str()), "{key}");
        assert_eq!(by_header.header("x-model-version"), Some(version.as_str()), "{key}");
        assert_eq!(v2.json()["model_version"], version.trim_start_matches("binary/"));
        seen.insert(version);
    }
    assert_eq!(seen.len(), 2, "both versions answer some keys: {seen:?}");
    server.shutdown().unwrap();
}

#[test]
fn a_version_in_the_path_answers_from_that_version_while_it_serves() {
    let (_dir, store) = fresh_store();
    let spec = ModelSpec::new("binary@production").challenger("binary@candidate", ChallengerMode::Shadow);
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).model(spec);
    let server = Server::start(Store::open(&store).unwrap(), config).unwrap();
    let addr = server.local_addr();
    let metadata = http::get(addr, "/v2/models/binary/versions/2").json();
    assert_eq!(metadata["versions"], json!(["2"]));
    assert_eq!(metadata["classes"], json!([-1, 1]));
    assert_eq!(http::get(addr, "/v2/models/binary/versions/1/ready").status, 200);
    let gone = http::get(addr, "/v2/models/binary/versions/3/ready");
    assert_eq!(gone.status, 404);
    let message = gone.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("does not serve version 3 now; it serves 1, 2"), "{message}");
    let word = http::get(addr, "/v2/models/binary/versions/latest");
    assert_eq!(word.status, 404);
    assert!(
        word.json()["error"].as_str().unwrap().contains("`latest` is not a version number"),
        "{}",
        word.body
    );

    let Outputs::Probabilities(p2) = expected(&store, "binary@candidate") else { panic!("a classifier") };
    let mut c = Client::connect(addr).unwrap();
    let pinned = c
        .send(
            "POST",
            "/v2/models/binary/versions/2/infer",
            &[("x-request-id", "pinned")],
            matrix().to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(pinned.status, 200, "{}", pinned.body);
    assert_eq!(
        (pinned.header("x-model-version"), pinned.header("x-model-role")),
        (Some("binary/2"), Some("challenger"))
    );
    let json = pinned.json();
    assert_eq!(json["model_version"], "2");
    assert_eq!(floats(&output(&json, "probabilities")["data"]), p2.iter().copied().collect::<Vec<f64>>());
    let champion = c.post("/v2/models/binary/versions/1/infer", &matrix().to_string()).unwrap();
    assert_eq!(champion.header("x-model-version"), Some("binary/1"));
    let refused = c.post("/v2/models/binary/versions/9/infer", &matrix().to_string()).unwrap();
    assert_eq!(
        (refused.status, refused.json()["code"].as_str()),
        (404, Some("unknown_model")),
        "{}",
        refused.body
    );
    server.shutdown().unwrap();

    let log =
        PredictionLog::read(PredictionLog::dir_in(&Store::open(&store).unwrap(), "binary")).unwrap().records;
    let pinned: Vec<_> = log.iter().filter(|r| r.request_id == "pinned").collect();
    assert_eq!(pinned.len(), 4, "the pinned version answers, and is not also scored as a shadow");
    assert!(pinned.iter().all(|r| r.role == Role::Challenger && r.version == 2));
}

/// Sends `body` and checks the status, the error code and fragments of the message.
fn refused(client: &mut Client, path: &str, body: &str, status: u16, code: &str, fragments: &[&str]) {
    let answer = client.post(path, body).unwrap_or_else(|e| panic!("{path} {body:.80}: {e}"));
    assert_eq!(answer.status, status, "{body:.120} → {}", answer.body);
    let json = answer.json();
    assert_eq!(json["code"], code, "{body:.120} → {}", answer.body);
    let message = json["error"].as_str().unwrap();
    for fragment in fragments {
        assert!(message.contains(fragment), "{body:.120} → {message}");
    }
}

fn input(name: &str, shape: Value, datatype: &str, data: Value) -> Value {
    json!({ "name": name, "shape": shape, "datatype": datatype, "data": data })
}

fn inputs(list: &[Value]) -> String {
    json!({ "inputs": list }).to_string()
}

#[test]
fn every_bad_infer_request_gets_a_4xx_saying_what_where_and_what_to_do() {
    let (_dir, store) = fresh_store();
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    let infer = "/v2/models/binary/infer";
    let x1 = input("x1", json!([2]), "FP64", json!([0.1, 2.0]));
    let x2 = input("x2", json!([2]), "FP64", json!([0.2, 2.1]));

    refused(
        &mut c,
        "/v2/models/nope/infer",
        &inputs(&[x1.clone(), x2.clone()]),
        404,
        "unknown_model",
        &["no model `nope`", "served: binary, price, species"],
    );
    refused(&mut c, infer, "{\"inputs\": [", 400, "malformed_json", &["not valid JSON", "\"inputs\""]);
    refused(&mut c, infer, "[1]", 400, "bad_request", &["not an object"]);
    refused(&mut c, infer, "{}", 400, "bad_request", &["no `inputs`"]);
    refused(&mut c, infer, r#"{"inputs": 3}"#, 400, "bad_request", &["`inputs` is a number, not a list"]);
    refused(&mut c, infer, r#"{"inputs": []}"#, 400, "empty_instances", &["`inputs` is empty"]);
    refused(
        &mut c,
        infer,
        r#"{"inputs": ["x1"]}"#,
        400,
        "bad_request",
        &["input 0 is a string, not an object"],
    );
    refused(
        &mut c,
        infer,
        r#"{"inputs": [{"shape": [1], "datatype": "FP64", "data": [1]}]}"#,
        400,
        "bad_request",
        &["input 0 has no `name`"],
    );
    refused(
        &mut c,
        infer,
        r#"{"inputs": [{"name": "x1", "datatype": "FP64", "data": [1]}]}"#,
        400,
        "bad_request",
        &["input 0 has no `shape`"],
    );
    refused(
        &mut c,
        infer,
        r#"{"inputs": [{"name": "x1", "shape": [1], "data": [1]}]}"#,
        400,
        "bad_request",
        &["input 0 has no `datatype`"],
    );
    refused(
        &mut c,
        infer,
        r#"{"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64"}]}"#,
        400,
        "bad_request",
        &["input 0 has no `data`"],
    );
    // Unknown input name.
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x3", json!([2]), "FP64", json!([1, 2]))]),
        400,
        "unknown_feature",
        &["input `x3` is not a feature", "(`x1`, `x2`)", "[N, 2]"],
    );
    // Missing features.
    refused(
        &mut c,
        infer,
        &inputs(std::slice::from_ref(&x1)),
        400,
        "missing_feature",
        &["lack feature `x2`", "one input per feature (`x1`, `x2`)"],
    );
    // Shape and data length disagree.
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([3]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["input `x2` has shape [3] (3 values) but its `data` holds 2"],
    );
    // A huge claimed shape is compared with the data, never allocated.
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([1_000_000_000_000_000u64, 2]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["(2000000000000000 values) but its `data` holds 2"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([u64::MAX, u64::MAX]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["more than 2^64"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([-1, 2]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["holds a number -1, not a size"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([1, 1, 2]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["3 dimensions"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([1]), "FP64", json!([1]))]),
        400,
        "shape_mismatch",
        &["input `x2` has 1 rows but `x1` has 2"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([1, 2]), "FP64", json!([1, 2]))]),
        400,
        "shape_mismatch",
        &["input `x2` is a feature but has shape [1, 2]"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[input("x1", json!([0]), "FP64", json!([])), input("x2", json!([0]), "FP64", json!([]))]),
        400,
        "empty_instances",
        &["no rows"],
    );
    // Matrix mistakes.
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([1, 3]), "FP64", json!([1, 2, 3]))]),
        400,
        "feature_count",
        &["3 columns, but the model takes 2 features (`x1`, `x2`)"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[input("m", json!([1, 2]), "FP64", json!([1, 2])), x1.clone()]),
        400,
        "bad_request",
        &["must be the only input"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), x1.clone(), x2.clone()]),
        400,
        "bad_request",
        &["`x1` is sent twice"],
    );
    // Wrong datatypes.
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "INT64", json!([1, 1.5]))]),
        400,
        "wrong_datatype",
        &["input `x2` (INT64) element 1 is a number 1.5, not an integer"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "UINT8", json!([1, 300]))]),
        400,
        "wrong_datatype",
        &["out of the datatype's range"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "BOOL", json!([1, 0]))]),
        400,
        "wrong_datatype",
        &["not true or false"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "FP64", json!(["a", "b"]))]),
        400,
        "wrong_datatype",
        &["element 0 is a string \"a\", not a number"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "BYTES", json!(["a", "b"]))]),
        400,
        "wrong_datatype",
        &["input `x2` is BYTES", "send FP64"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "FLOAT", json!([1, 2]))]),
        400,
        "wrong_datatype",
        &["datatype `FLOAT`", "FP64, FP32"],
    );
    refused(
        &mut c,
        infer,
        &inputs(&[x1.clone(), input("x2", json!([2]), "FP64", json!([1, null]))]),
        400,
        "wrong_datatype",
        &["element 1 is null"],
    );
    let overflowing =
        inputs(&[x1.clone(), input("x2", json!([2]), "FP64", json!([1, 7]))]).replace("7]", "1e400]");
    refused(&mut c, infer, &overflowing, 400, "non_finite", &["too large"]);
    // Outputs.
    let body = |outputs: Value| json!({ "inputs": [x1, x2], "outputs": outputs }).to_string();
    refused(
        &mut c,
        infer,
        &body(json!([{ "name": "value" }])),
        400,
        "unknown_output",
        &["no output `value`", "label, probabilities"],
    );
    refused(&mut c, infer, &body(json!(["label"])), 400, "bad_request", &["output 0 is a string"]);
    refused(
        &mut c,
        infer,
        &body(json!({ "name": "label" })),
        400,
        "bad_request",
        &["`outputs` is an object"],
    );
    let price = json!({ "inputs": [input("m", json!([1, 2]), "FP64", json!([1, 2]))], "outputs": [{ "name": "probabilities" }] });
    refused(
        &mut c,
        "/v2/models/price/infer",
        &price.to_string(),
        400,
        "unknown_output",
        &["model `linear` is a regressor", "not probabilities", "ask for `value`"],
    );
    // Ids and parameters.
    refused(
        &mut c,
        infer,
        &json!({ "id": 7, "inputs": [x1, x2] }).to_string(),
        400,
        "bad_request",
        &["`id` is a number"],
    );
    refused(
        &mut c,
        infer,
        &json!({ "parameters": [], "inputs": [x1, x2] }).to_string(),
        400,
        "bad_request",
        &["`parameters` is a list"],
    );
    refused(
        &mut c,
        infer,
        &json!({ "parameters": { "key": 1 }, "inputs": [x1, x2] }).to_string(),
        400,
        "bad_request",
        &["parameter `key` is a number"],
    );
    // The binary tensor extension.
    let answer = c
        .send(
            "POST",
            infer,
            &[("inference-header-content-length", "10")],
            inputs(&[x1.clone(), x2.clone()]).as_bytes(),
        )
        .unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"].as_str().unwrap().contains("binary_data=False"), "{}", answer.body);
    // Wrong methods and routes.
    let answer = c.get(infer).unwrap();
    assert_eq!(answer.status, 405, "{}", answer.body);
    assert!(answer.json()["error"].as_str().unwrap().contains("/v2/models/NAME/infer"));
    let answer = c.post("/v2/models/binary/predict", "{}").unwrap();
    assert_eq!(answer.status, 404);
    assert!(
        answer.json()["error"].as_str().unwrap().contains("POST /v2/models/NAME[/versions/VERSION]/infer")
    );

    // The server kept serving, and counted every refusal.
    let answer = c.post(infer, &inputs(&[x1, x2])).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let metrics = c.get("/metrics").unwrap().body;
    assert!(
        metrics.contains(r#"mlflow_request_errors_total{model="binary",code="shape_mismatch"} 7"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"mlflow_request_errors_total{model="binary",code="wrong_datatype"} 7"#),
        "{metrics}"
    );
    server.shutdown().unwrap();
}

/// A small deterministic generator for the malformed bodies.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

/// Replaces one random value somewhere in `value` by `with`.
fn mutate(value: &mut Value, rng: &mut Lcg, with: Value) {
    match value {
        Value::Object(map) if !map.is_empty() && !rng.next().is_multiple_of(4) => {
            let key = map.keys().nth(rng.next() as usize % map.len()).unwrap().clone();
            if rng.next().is_multiple_of(5) {
                map.remove(&key);
            } else {
                mutate(map.get_mut(&key).unwrap(), rng, with);
            }
        }
        Value::Array(items) if !items.is_empty() && !rng.next().is_multiple_of(4) => {
            let i = rng.next() as usize % items.len();
            mutate(&mut items[i], rng, with);
        }
        other => *other = with,
    }
}

#[test]
fn malformed_bodies_are_refused_with_a_4xx_and_never_break_the_server() {
    let (_dir, store) = fresh_store();
    let server = serve_all(&store);
    let mut c = Client::connect(server.local_addr()).unwrap();
    let replacements = [
        json!(null),
        json!(-1),
        json!(0),
        json!(1.5),
        json!(1e300),
        json!(u64::MAX),
        json!("FP64"),
        json!("BYTES"),
        json!(true),
        json!([]),
        json!([[]]),
        json!([u64::MAX, u64::MAX]),
        json!([4_000_000_000u64, 4_000_000_000u64]),
        json!({}),
        json!([[1, [2, [3]]]]),
        json!({ "name": "x1" }),
    ];
    let mut rng = Lcg(42);
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..400 {
        let (path, mut body) = match round % 3 {
            0 => ("/v2/models/binary/infer", per_feature(["x1", "x2"])),
            1 => ("/v2/models/species/infer", matrix()),
            _ => ("/v2/models/price/infer", per_feature(["rooms", "age"])),
        };
        if round % 3 != 2 {
            body["outputs"] = json!([{ "name": "label" }]);
        }
        for _ in 0..=(rng.next() % 3) {
            let with = rng.pick(&replacements).clone();
            mutate(&mut body, &mut rng, with);
        }
        let answer = c.post(path, &body.to_string()).unwrap();
        assert!(
            answer.status == 200 || (400..500).contains(&answer.status),
            "{body} → {} {}",
            answer.status,
            answer.body
        );
        if answer.status != 200 {
            assert!(answer.json()["error"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.body);
        }
        *statuses.entry(answer.status).or_insert(0) += 1;
    }
    assert!(statuses.len() > 1, "both answers and refusals: {statuses:?}");
    // Deep nesting and raw garbage.
    let deep = format!(
        "{{\"inputs\": [{{\"name\": \"m\", \"shape\": [1, 2], \"datatype\": \"FP64\", \"data\": {}1, 2{}}}]}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let answer = c.post("/v2/models/binary/infer", &deep).unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    for garbage in ["\u{0}", "{\"inputs\": [{\"name\": \"\u{202e}x\"}]}", "nul", "{\"inputs\": {\"a\": 1}}"] {
        let answer = c.post("/v2/models/binary/infer", garbage).unwrap();
        assert_eq!(answer.status, 400, "{garbage:?} → {}", answer.body);
    }
    assert_eq!(c.post("/v2/models/binary/infer", &matrix().to_string()).unwrap().status, 200);
    server.shutdown().unwrap();
}
