//! Packages of the earlier formats (binary classifiers; no reference profile) still load and
//! answer as they did.

use std::collections::BTreeMap;

use mlflow::features::ClassLabel;
use mlflow::models::Task;
use mlflow::serve::{FORMAT_VERSION, ModelPackage, Scorer};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packages").join(name)
}

#[test]
fn format_1_packages_load_and_answer_as_before() {
    let recorded: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixture("v1.json")).unwrap()).unwrap();
    let x: Vec<Vec<f64>> = serde_json::from_value(recorded["x"].clone()).unwrap();
    let x = ndarray::Array2::from_shape_fn((x.len(), 3), |(i, j)| x[i][j]);
    for kind in ["tree", "forest", "logistic", "naive_bayes", "svm"] {
        let package = ModelPackage::load(fixture(&format!("{kind}_v1.mlpkg"))).unwrap();
        assert_eq!(package.format_version(), FORMAT_VERSION, "{kind} is converted on load");
        assert_eq!(package.task(), Task::Classification { classes: 2 });
        assert_eq!(package.classes().unwrap().labels(), [ClassLabel::Int(0), ClassLabel::Int(1)]);
        let want: Vec<f64> = serde_json::from_value(recorded[kind].clone()).unwrap();
        let got = Scorer::new(package).score_batch(x.view()).unwrap();
        for (row, (p, want)) in got.iter().zip(&want).enumerate() {
            assert!((p.probability - want).abs() <= 1e-12, "{kind} row {row}: {} vs {want}", p.probability);
            assert_eq!(p.label, u32::from(*want > 0.5), "{kind} row {row}");
        }
    }
}

#[test]
fn format_2_packages_load_without_a_profile_and_answer_as_the_same_models_fitted_today() {
    use mlflow::models::{
        LinearParams, Model, ModelParams, NaiveBayesParams, Outputs, RegressionModel, RegressionParams,
        Regressor,
    };
    use mlflow::serve::PROFILELESS_FORMAT_VERSION;
    let x = ndarray::array![[0.0, 1.0], [0.2, 0.5], [2.0, 0.1], [2.2, 0.7], [4.0, 0.3], [4.3, 0.9]];
    let bytes = std::fs::read(fixture("naive_bayes_multiclass_v2.mlpkg")).unwrap();
    assert_eq!(bytes[10..14], PROFILELESS_FORMAT_VERSION.to_le_bytes(), "written in format 2");
    let nb = ModelPackage::from_bytes(&bytes).unwrap();
    assert_eq!((nb.format_version(), nb.profile()), (FORMAT_VERSION, None));
    assert_eq!(nb.task(), Task::Classification { classes: 3 });
    assert_eq!(nb.classes().unwrap().describe(), "setosa, versicolor, virginica");
    assert_eq!(nb.lineage().pipeline.as_deref(), Some("v2"));
    let today =
        Model::fit(x.view(), &[0, 0, 1, 1, 2, 2], &ModelParams::NaiveBayes(NaiveBayesParams::default()))
            .unwrap();
    assert_eq!(nb.model().classifier(), Some(&today), "the same fitted model");

    let linear = ModelPackage::load(fixture("linear_regression_v2.mlpkg")).unwrap();
    assert_eq!((linear.task(), linear.profile()), (Task::Regression, None));
    let y = [1.0, 1.4, 5.0, 5.2, 9.1, 9.5];
    let today =
        RegressionModel::fit(x.view(), &y, &RegressionParams::Linear(LinearParams::default())).unwrap();
    let want = today.predict(x.view()).unwrap();
    assert_eq!(Scorer::new(linear).predict(x.view()).unwrap(), Outputs::Values(want));
}

#[test]
fn a_package_of_a_newer_format_is_refused_with_the_versions() {
    let mut bytes = std::fs::read(fixture("tree_v1.mlpkg")).unwrap();
    bytes[10..14].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = ModelPackage::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains(&format!("{}", FORMAT_VERSION + 1)), "{err}");
}

#[test]
fn multiclass_and_regression_packages_round_trip_with_their_task_and_self_test() {
    use mlflow::features::ClassLabels;
    use mlflow::models::{LinearParams, Model, ModelParams, NaiveBayesParams, Outputs, RegressionModel};
    use mlflow::serve::Lineage;
    let x = ndarray::array![[0.0], [0.2], [2.0], [2.2], [4.0], [4.3]];
    let model =
        Model::fit(x.view(), &[0, 0, 1, 1, 2, 2], &ModelParams::NaiveBayes(NaiveBayesParams::default()))
            .unwrap();
    let classes =
        ClassLabels::new(["setosa", "versicolor", "virginica"].map(|s| ClassLabel::Text(s.into())).to_vec());
    let package = ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())
        .unwrap()
        .with_classes(classes.clone())
        .unwrap();
    assert_eq!(package.self_test().1.len(), 6 * 3, "every class's probability per self-test row");
    let outputs: Vec<&str> = package.signature().outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, ["probability_setosa", "probability_versicolor", "probability_virginica", "label"]);
    let back = ModelPackage::from_bytes(&package.to_bytes().unwrap()).unwrap();
    assert_eq!(back, package);
    let scorer = Scorer::new(back);
    let Outputs::Probabilities(p) = scorer.predict(ndarray::array![[4.1], [0.1]].view()).unwrap() else {
        panic!()
    };
    assert_eq!(p.dim(), (2, 3));
    let labels: Vec<u32> =
        scorer.score_batch(ndarray::array![[4.1], [0.1]].view()).unwrap().iter().map(|p| p.label).collect();
    assert_eq!(labels, [2, 0]);
    assert_eq!(scorer.score_row(&[2.1]).unwrap().label, 1);
    // Two labels for three classes are refused.
    let two = ClassLabels::new(vec![ClassLabel::Int(0), ClassLabel::Int(1)]);
    let err = package.with_classes(two).unwrap_err().to_string();
    assert!(err.contains("2 class labels") && err.contains("3 classes"), "{err}");

    let y = [1.0, 1.4, 5.0, 5.4, 9.0, 9.6];
    let line = RegressionModel::fit(x.view(), &y, &LinearParams::default().into()).unwrap();
    let package = ModelPackage::new("ols", line, None, &["x"], x.view(), Lineage::default()).unwrap();
    assert_eq!((package.task(), package.classes()), (Task::Regression, None));
    assert_eq!(package.signature().outputs[0].name, "value");
    let scorer = Scorer::new(ModelPackage::from_bytes(&package.to_bytes().unwrap()).unwrap());
    let value = scorer.score_row(&[1.0]).unwrap().probability;
    let Outputs::Values(v) = scorer.predict(ndarray::array![[1.0]].view()).unwrap() else { panic!() };
    assert_eq!(v[0], value);
    assert!(value > 1.4 && value < 5.0, "{value}");
}

#[test]
fn a_package_is_measured_for_size_and_speed_in_the_pipeline_every_run() {
    use mlflow::blocks::{self, Candidate, Prepare};
    use mlflow::data::{CsvOptions, DataFile};
    use mlflow::eval::ClassMetric;
    use mlflow::models::NaiveBayesParams;
    use mlflow::prelude::*;
    use mlflow::serve::{MeasureStep, measure_rows};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let iris = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/iris/iris.csv");
    let columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"];
    let mut p = Pipeline::new("measured");
    let file = p.param("data", DataFile::open(iris).unwrap());
    let csv = p.param("csv", CsvOptions::default().skip_lines(1).no_header(columns));
    let raw = p.step(blocks::IngestStep, (file, csv));
    let setup = p.param("setup", Prepare::label("species").test_fraction(0.25).seed(7));
    let prepared = p.step(blocks::PrepareStep, (raw, setup));
    let compared = blocks::compare(
        &mut p,
        prepared,
        [Candidate::new("nb", NaiveBayesParams::default())],
        ClassMetric::Accuracy,
    );
    let package = p.step(blocks::PackageStep, (compared.champion, compared.trained, prepared, raw));
    let measured = p.step(MeasureStep, (package, prepared));
    let first = p.run(&store).unwrap().into_result().unwrap();
    let d = first.get(measured).unwrap().clone();
    let bytes = first.get(package).unwrap().to_bytes().unwrap().len() as u64;
    assert_eq!(d.size_bytes, bytes);
    assert!(d.latency_p50 <= d.latency_p99 && d.latency_p50 > std::time::Duration::ZERO, "{d:?}");
    assert!(d.batch_rows_per_sec > 1000.0, "{d:?}");
    let logged: Vec<&str> =
        first.step("measure").unwrap().log.metrics.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(
        logged,
        ["deploy.size_bytes", "deploy.latency_p50_us", "deploy.latency_p99_us", "deploy.batch_rows_per_sec"]
    );
    let again = p.run(&store).unwrap();
    assert_eq!(again.step("measure").unwrap().status, StepStatus::Ran, "measured on every run");
    assert_eq!(again.step("package").unwrap().status, StepStatus::Cached);

    let none = ndarray::Array2::<f64>::zeros((0, 4));
    let err = measure_rows(first.get(package).unwrap(), none.view()).unwrap_err();
    assert!(err.to_string().contains("no rows to measure"), "{err}");
}

/// A package of a linfa model (made by tests/linfa/serving.rs) in a build without the `linfa`
/// feature: refused with the feature to enable, not as damage.
#[cfg(not(feature = "linfa"))]
#[test]
fn a_linfa_package_without_the_feature_names_the_feature_to_enable() {
    use mlflow::serve::ServeError;
    let err = ModelPackage::load(fixture("linfa_logistic.mlpkg")).unwrap_err();
    assert!(matches!(err, ServeError::NeedsFeature { feature: "linfa", .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("linfa_logistic.mlpkg holds a model fitted with linfa"), "{text}");
    assert!(text.contains("cargo install mlflow-pipelines-cli --features linfa"), "{text}");
}
