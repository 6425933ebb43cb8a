//! Multiclass (class labels as text) and regression models end to end: trained, compared and
//! registered by a pipeline, answered over HTTP (KServe V1) and scored in batch by the command
//! line, each answer equal to the in-process scorer's, and the prediction log keeping the class
//! index with P(label) or the value.

use crate::http;
use crate::run;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use mlflow::blocks::{self, Candidate, Prepare};
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::{ClassMetric, RegressionMetric};
use mlflow::features::ClassLabel;
use mlflow::models::{ForestParams, LinearParams, NaiveBayesParams, Outputs, RegressionParams, TreeParams};
use mlflow::prelude::*;
use mlflow::registry::Registry;
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use mlflow::serve::{PredictionLog, Scorer};
use ndarray::Array2;

const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];
const IRIS_FEATURES: [&str; 4] = ["sepal_length", "sepal_width", "petal_length", "petal_width"];

/// A store with `iris@production` (a classifier of three species named as text) and
/// `diabetes@production` (a regressor), each the champion of a small comparison, shared by the
/// tests (which only read it, or write prediction logs of their own model).
struct Fixture {
    dir: tempfile::TempDir,
    store: PathBuf,
}

fn data(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("examples/data").join(relative))
        .find(|path| path.is_file())
        .expect("examples/data above the package")
}

/// The bundled iris file with species names for scikit-learn's 0, 1, 2 and a header line for
/// its count line.
fn iris_with_names(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data("iris/iris.csv")).unwrap();
    let mut out = format!("{},species\n", IRIS_FEATURES.join(","));
    for line in text.lines().skip(1) {
        let (features, class) = line.rsplit_once(',').unwrap();
        out.push_str(&format!("{features},{}\n", SPECIES[class.trim().parse::<usize>().unwrap()]));
    }
    let path = dir.join("iris_named.csv");
    std::fs::write(&path, out).unwrap();
    path
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store_path = dir.path().join("store");
        let store = Store::open(&store_path).unwrap();
        let registry = Registry::new(&store).unwrap();

        let mut p = Pipeline::new("iris-named");
        let file = p.param("data", DataFile::open(iris_with_names(dir.path())).unwrap());
        let csv = p.param("csv", CsvOptions::default());
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let candidates = [
            Candidate::new("naive bayes", NaiveBayesParams::default()),
            Candidate::new("forest", ForestParams { n_trees: 20, ..Default::default() }),
        ];
        let compared = blocks::compare(&mut p, prepared, candidates, ClassMetric::F1Macro);
        let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));
        let report = p.run(&store).unwrap().into_result().unwrap();
        blocks::register_champion(&registry, "iris", &report, package, &compared, "production").unwrap();

        let mut p = Pipeline::new("diabetes");
        let file = p.param("data", DataFile::open(data("diabetes/diabetes.csv")).unwrap());
        let csv = p.param("csv", CsvOptions::default());
        let raw = p.step(blocks::IngestStep, (file, csv));
        let setup = p.param("setup", Prepare::regression("target").test_fraction(0.2).seed(7));
        let prepared = p.step(blocks::PrepareStep, (raw, setup));
        let candidates = [
            Candidate::new("ols", LinearParams::default()),
            Candidate::new(
                "tree",
                RegressionParams::Tree(TreeParams { max_depth: Some(4), ..Default::default() }),
            ),
        ];
        let compared = blocks::compare(&mut p, prepared, candidates, RegressionMetric::Rmse);
        let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));
        let report = p.run(&store).unwrap().into_result().unwrap();
        blocks::register_champion(&registry, "diabetes", &report, package, &compared, "production").unwrap();
        Fixture { dir, store: store_path }
    })
}

fn scorer(reference: &str) -> Scorer {
    let store = Store::open(&fixture().store).unwrap();
    Scorer::from_registry(&Registry::new(&store).unwrap(), reference).unwrap()
}

/// A server of `model@production` with its own prediction log folder.
fn serve(model: &str) -> Server {
    let config = ServerConfig::new("127.0.0.1:0".parse().unwrap())
        .model(ModelSpec::new(format!("{model}@production")));
    Server::start(Store::open(&fixture().store).unwrap(), config).expect("server starts")
}

/// Rows 0, 60 and 120 of the bundled iris file (one of each species).
fn iris_rows() -> Array2<f64> {
    let text = std::fs::read_to_string(data("iris/iris.csv")).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .step_by(60)
        .map(|line| line.split(',').take(4).map(|v| v.parse().unwrap()).collect())
        .collect();
    Array2::from_shape_fn((rows.len(), 4), |(i, j)| rows[i][j])
}

fn instances(x: &Array2<f64>) -> serde_json::Value {
    serde_json::json!(x.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

#[test]
fn a_multiclass_model_answers_its_class_names_and_every_class_probability_over_http() {
    let scorer = scorer("iris@production");
    let classes = scorer.package().classes().expect("a classifier records its classes").clone();
    assert_eq!(classes.labels(), SPECIES.map(|s| ClassLabel::Text(s.into())));
    let x = iris_rows();
    let Outputs::Probabilities(p) = scorer.predict(x.view()).unwrap() else { panic!("a classifier") };
    let expected = scorer.score_batch(x.view()).unwrap();
    let names: Vec<&str> = expected.iter().map(|e| SPECIES[e.label as usize]).collect();
    assert_eq!(names, SPECIES, "the champion tells the three flowers apart");

    let server = serve("iris");
    let addr = server.local_addr();
    let path = "/v1/models/iris:predict";
    let answer = http::post(addr, path, &serde_json::json!({ "instances": instances(&x) }).to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json(), serde_json::json!({ "predictions": SPECIES }));

    let body = serde_json::json!({ "instances": instances(&x), "probabilities": true }).to_string();
    let answer = http::post(addr, path, &body).json();
    let rows = answer["probabilities"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let object = row.as_object().expect("one object per row, keyed by class");
        assert_eq!(object.keys().collect::<Vec<_>>(), SPECIES.iter().collect::<Vec<_>>());
        for (k, species) in SPECIES.iter().enumerate() {
            assert_eq!(
                object[*species].as_f64().unwrap(),
                p[[i, k]],
                "row {i} {species} round-trips exactly"
            );
        }
    }

    // Named instances (the features by name, in any order) answer the same.
    let named: Vec<serde_json::Value> = x
        .rows()
        .into_iter()
        .map(|r| {
            let pairs = IRIS_FEATURES.iter().zip(r).rev();
            pairs.map(|(&f, &v)| (f.to_owned(), serde_json::json!(v))).collect()
        })
        .collect();
    let answer = http::post(addr, path, &serde_json::json!({ "instances": named }).to_string());
    assert_eq!(answer.json()["predictions"], serde_json::json!(SPECIES));

    let metadata = http::get(addr, "/v1/models/iris").body;
    for species in SPECIES {
        assert!(metadata.contains(&format!("probability_{species}")), "{metadata}");
    }
    server.shutdown().unwrap();

    // The log keeps the class index and P(label), not the name.
    let store = Store::open(&fixture().store).unwrap();
    let log = PredictionLog::read(PredictionLog::dir_in(&store, "iris")).unwrap().records;
    let ours: Vec<_> = log.iter().filter(|r| r.row < 3).take(3).collect();
    for (record, expected) in ours.iter().zip(&expected) {
        assert_eq!((record.label, record.probability), (expected.label, expected.probability));
        assert_eq!(record.probability, p[[record.row as usize, record.label as usize]]);
    }
}

#[test]
fn a_regressor_answers_values_over_http_and_refuses_probabilities() {
    let scorer = scorer("diabetes@production");
    assert!(scorer.package().classes().is_none());
    let x = ndarray::array![
        [59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0],
        [48.0, 1.0, 21.6, 87.0, 183.0, 103.2, 70.0, 3.0, 3.8918, 69.0]
    ];
    let Outputs::Values(values) = scorer.predict(x.view()).unwrap() else { panic!("a regressor") };

    let server = serve("diabetes");
    let addr = server.local_addr();
    let path = "/v1/models/diabetes:predict";
    let answer = http::post(addr, path, &serde_json::json!({ "instances": instances(&x) }).to_string());
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({ "predictions": values.to_vec() }),
        "values round-trip exactly"
    );

    let body = serde_json::json!({ "instances": instances(&x), "probabilities": true }).to_string();
    let refused = http::post(addr, path, &body);
    assert_eq!(refused.status, 400, "{}", refused.body);
    let message = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("probabilities") && message.contains("regress"), "{message}");
    server.shutdown().unwrap();

    let store = Store::open(&fixture().store).unwrap();
    let log = PredictionLog::read(PredictionLog::dir_in(&store, "diabetes")).unwrap().records;
    let logged: Vec<f64> = log.iter().take(2).map(|r| r.probability).collect();
    assert_eq!(logged, values.to_vec(), "the log keeps each value");
}

/// Parses CSV text into its header and rows of fields.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

#[test]
fn batch_scoring_writes_the_class_name_and_one_probability_column_per_class() {
    let x = iris_rows();
    let scorer = scorer("iris@production");
    let Outputs::Probabilities(p) = scorer.predict(x.view()).unwrap() else { panic!("a classifier") };
    let input = fixture().dir.path().join("iris_batch_in.csv");
    let mut text = format!("{}\n", IRIS_FEATURES.join(","));
    for row in x.rows() {
        text.push_str(&format!("{}\n", row.iter().map(f64::to_string).collect::<Vec<_>>().join(",")));
    }
    std::fs::write(&input, text).unwrap();
    let out = run::ok(&fixture().store, &["score", "iris", input.to_str().unwrap()]);
    let (header, rows) = read_csv(&out);
    let expected_header: Vec<String> = IRIS_FEATURES
        .iter()
        .map(|s| s.to_string())
        .chain(["prediction".into()])
        .chain(SPECIES.iter().map(|s| format!("probability_{s}")))
        .collect();
    assert_eq!(header, expected_header);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[4], SPECIES[i], "row {i}");
        for k in 0..3 {
            assert_eq!(row[5 + k].parse::<f64>().unwrap(), p[[i, k]], "row {i} class {k}");
        }
    }
}

#[test]
fn batch_scoring_a_regressor_writes_the_value_as_the_prediction() {
    let input = data("diabetes/diabetes.csv");
    let out = run::ok(&fixture().store, &["score", "diabetes", input.to_str().unwrap(), "--keep", "target"]);
    let (header, rows) = read_csv(&out);
    assert_eq!(header, ["target", "prediction"]);
    assert_eq!(rows.len(), 442);
    let scorer = scorer("diabetes@production");
    let table =
        mlflow::data::parse_csv(&std::fs::read(&input).unwrap(), "diabetes.csv", &CsvOptions::default())
            .unwrap();
    let features = scorer.package().features().unwrap().transform(&table).unwrap();
    let Outputs::Values(values) = scorer.predict(features.x.view()).unwrap() else { panic!("a regressor") };
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[1].parse::<f64>().unwrap(), values[i], "row {i}");
    }
}

#[test]
fn explain_answers_each_features_contribution_to_the_champions_prediction() {
    let x = iris_rows();
    let local = scorer("iris@production").explain(x.view()).unwrap();
    let server = serve("iris");
    let addr = server.local_addr();
    let body = serde_json::json!({ "instances": instances(&x) }).to_string();
    let answer = http::Client::connect(addr)
        .and_then(|mut c| {
            let headers = [("content-type", "application/json"), ("x-request-id", "explain-only")];
            c.send("POST", "/v1/models/iris:explain", &headers, body.as_bytes())
        })
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = answer.json();
    let explanations = body["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 3);
    for (i, e) in explanations.iter().enumerate() {
        assert_eq!(e["prediction"], serde_json::json!(SPECIES[i]));
        assert_eq!(e["output"].as_f64().unwrap(), local.outputs[i]);
        for (j, feature) in IRIS_FEATURES.iter().enumerate() {
            assert_eq!(
                e["contributions"][feature].as_f64().unwrap(),
                local.contributions[[i, j]],
                "row {i} {feature}"
            );
        }
    }
    // Petals tell the species apart: they move the setosa row's prediction most.
    let setosa = &explanations[0]["contributions"];
    let petal =
        setosa["petal_length"].as_f64().unwrap().abs() + setosa["petal_width"].as_f64().unwrap().abs();
    let sepal =
        setosa["sepal_length"].as_f64().unwrap().abs() + setosa["sepal_width"].as_f64().unwrap().abs();
    assert!(petal > sepal, "petal {petal} vs sepal {sepal}");
    let unknown = http::post(addr, "/v1/models/iris:why", "{}");
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains(":explain"), "{}", unknown.body);
    server.shutdown().unwrap();
    // Explanations are not predictions: nothing of that request is logged.
    let store = Store::open(&fixture().store).unwrap();
    let log =
        PredictionLog::read(PredictionLog::dir_in(&store, "iris")).map(|c| c.records).unwrap_or_default();
    assert!(log.iter().all(|r| r.request_id != "explain-only"));

    // A regressor's explanation is of its value.
    let server = serve("diabetes");
    let row = [[59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]];
    let answer = http::post(
        server.local_addr(),
        "/v1/models/diabetes:explain",
        &serde_json::json!({ "instances": row }).to_string(),
    );
    let value = scorer("diabetes@production").score_row(&row[0]).unwrap().probability;
    assert_eq!(answer.json()["explanations"][0]["prediction"].as_f64().unwrap(), value);
    server.shutdown().unwrap();
}
