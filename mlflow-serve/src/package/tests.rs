//! The package's own checks: refused self-tests, inconsistent parts, duplicate names.
use super::*;
use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
use ndarray::array;

fn package() -> ModelPackage {
    let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
    let model =
        Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default())).unwrap();
    ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default()).unwrap()
}

#[test]
fn a_package_whose_self_test_fails_is_refused_on_load() {
    let mut p = package();
    p.expected[2] = 0.123;
    let err = ModelPackage::from_bytes(&p.to_bytes().unwrap()).unwrap_err();
    assert!(matches!(err, ServeError::SelfTest { row: 2, .. }), "{err}");
    assert!(err.to_string().contains("failed its self-test: row 2"), "{err}");
}

#[test]
fn inconsistent_parts_are_corrupt() {
    let mut p = package();
    p.signature = Signature::new(["a"]);
    let err = ModelPackage::from_bytes(&p.to_bytes().unwrap()).unwrap_err();
    assert!(matches!(err, ServeError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("1 feature names"), "{err}");

    let mut p = package();
    p.expected.pop();
    let err = ModelPackage::from_bytes(&p.to_bytes().unwrap()).unwrap_err();
    assert!(err.to_string().contains("3 expected outputs for 4 self-test rows"), "{err}");
}

#[test]
fn duplicate_names_are_refused_when_building() {
    let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
    let model =
        Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default())).unwrap();
    let err = ModelPackage::new("nb", model, None, &["a", "a"], x.view(), Lineage::default()).unwrap_err();
    assert!(err.to_string().contains("\"a\" at position 1 is empty or repeated"), "{err}");
}
