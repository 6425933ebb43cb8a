//! linfa models through packages, the scorer, batch scoring and the blocks' compare.

use mlflow::linfa::*;
use mlflow::models::*;
use mlflow::serve::{Lineage, ModelPackage, Scorer};

use super::{diabetes, iris, standardized};

#[test]
fn linfa_packages_round_trip_and_score_like_ours() {
    let (x, y) = iris();
    let xs = standardized(&x);
    let names = ["a", "b", "c", "d"];
    let models: Vec<Estimator> = vec![
        Model::fit(xs.view(), &y, &LinfaLogisticParams::default().into()).map(|m| m.into()).unwrap(),
        Model::fit(x.view(), &y, &LinfaClassifierParams::from(LinfaTreeParams::default()).into())
            .map(|m| m.into())
            .unwrap(),
    ];
    for model in models {
        let package =
            ModelPackage::new("iris", model.clone(), None, &names, xs.view(), Lineage::default()).unwrap();
        let bytes = package.to_bytes().unwrap();
        let back = ModelPackage::from_bytes(&bytes).unwrap();
        assert_eq!(back, package);
        back.verify().unwrap();
        let scorer = Scorer::new(back);
        let Outputs::Probabilities(p) = scorer.predict(xs.view()).unwrap() else { panic!() };
        let want = model.classifier().unwrap().predict_proba(xs.view()).unwrap();
        assert_eq!(
            p.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let labels: Vec<u32> = scorer.score_batch(xs.view()).unwrap().iter().map(|p| p.label).collect();
        let predicted = model.classifier().unwrap().predict(xs.view()).unwrap();
        assert_eq!(labels, predicted.iter().map(|&c| c as u32).collect::<Vec<_>>());
    }

    let (x, y) = diabetes();
    let m = RegressionModel::fit(x.view(), &y, &LinfaElasticNetParams::new(0.1).into()).unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("f{i}")).collect();
    let package =
        ModelPackage::new("diabetes", m.clone(), None, &names, x.view(), Lineage::default()).unwrap();
    let scorer = Scorer::new(ModelPackage::from_bytes(&package.to_bytes().unwrap()).unwrap());
    let Outputs::Values(v) = scorer.predict(x.view()).unwrap() else { panic!() };
    assert_eq!(v, m.predict(x.view()).unwrap());
    assert_eq!(scorer.score_row(x.row(3).as_slice().unwrap()).unwrap().probability, v[3]);
    // A wrong feature count is a clear error through the scorer too.
    let err = scorer.score_row(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(err.contains("10") && err.contains('2'), "{err}");
}

#[test]
fn a_linfa_model_is_a_candidate_of_the_blocks() {
    use mlflow::blocks::{Candidate, Prepare, evaluate, prepare, select, train};
    use mlflow::data::{Column, Ingested, Table};
    use mlflow::eval::{ClassMetric, TaskMetric};
    let (x, y) = iris();
    let mut columns: Vec<(String, Column)> = (0..4)
        .map(|j| (format!("f{j}"), Column::Float(x.column(j).iter().map(|&v| Some(v)).collect())))
        .collect();
    columns.push(("species".into(), Column::Int(y.iter().map(|&c| Some(c as i64)).collect())));
    let table = Table::new(columns).unwrap();
    let raw = Ingested {
        version: mlflow::codec::ContentHash::of(b"iris"),
        rows: 150,
        schema: table.schema(),
        table,
    };
    let prepared = prepare(&raw, &Prepare::label("species")).unwrap();
    let candidates = [
        Candidate::new("linfa logistic", LinfaLogisticParams::default()).scaled(),
        Candidate::new("linfa tree", LinfaTreeParams::default()),
        Candidate::new("tree", TreeParams::default()),
    ];
    let scored: Vec<_> =
        candidates.iter().map(|c| evaluate(&train(&prepared, c).unwrap(), &prepared).unwrap()).collect();
    let best = select(&scored, &TaskMetric::from(ClassMetric::F1Macro)).unwrap();
    assert!(best.value > 0.85, "{}", best.value);
}

/// A package holding a linfa model, committed for builds without the feature to refuse by name
/// (tests/serving/packages.rs). Rewrite with `cargo test --features serve,linfa --test linfa
/// write_linfa_package_fixture -- --ignored`.
const PACKAGE_FIXTURE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/packages/linfa_logistic.mlpkg");

fn fixture_package() -> ModelPackage {
    let x = ndarray::array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
    let model = Model::fit(x.view(), &[0, 0, 0, 1, 1, 1], &LinfaLogisticParams::default().into()).unwrap();
    ModelPackage::new("linfa logistic", model, None, &["x"], x.view(), Lineage::default()).unwrap()
}

#[test]
#[ignore = "writes the fixture"]
fn write_linfa_package_fixture() {
    std::fs::write(PACKAGE_FIXTURE, fixture_package().to_bytes().unwrap()).unwrap();
}

#[test]
fn the_committed_linfa_package_loads_and_answers_with_the_feature() {
    let package = ModelPackage::load(PACKAGE_FIXTURE).unwrap();
    assert_eq!(package, fixture_package());
    let scorer = Scorer::new(package);
    assert_eq!(scorer.score_row(&[4.5]).unwrap().label, 1);
    assert_eq!(scorer.score_row(&[0.5]).unwrap().label, 0);
}
