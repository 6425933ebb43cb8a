//! Histogram gradient-boosted trees through the public API: parity with scikit-learn 1.9.1's
//! `HistGradientBoostingClassifier` / `HistGradientBoostingRegressor` on the committed fixtures
//! (bin thresholds, test accuracy and RMSE, probabilities), NaN as missing values, determinism
//! across thread counts, artifacts, and every bad input as a clear error.
//!
//! `tests/fixtures/boosting/expected.json` is written by `tests/fixtures/boosting/generate.py`
//! (see there for the versions and how to rerun it). The iris and diabetes cases read
//! `examples/data/`; the synthetic cases rebuild their data with the integer generator of
//! `tests/fixtures/boosting/synthetic.py` (reimplemented here as [`synthetic`]).
//! `cargo test --features serve --test ml boosting -- --nocapture` prints each case's figures.

use std::path::Path;
use std::sync::OnceLock;

use mlflow::codec::{decode, encode};
use mlflow::models::*;
use ndarray::{Array2, Axis, array};
use serde::Deserialize;

/// Test accuracy must be within this of scikit-learn's.
const ACCURACY: f64 = 0.02;
/// Test RMSE must be within this of scikit-learn's, relative.
const RMSE: f64 = 0.02;
/// Without early stopping the bins and the algorithm are scikit-learn's: test probabilities and
/// predictions agree to within rounding (measured: at most 1.2e-16 absolute, predictions
/// relative 0).
const PREDICTION: f64 = 1e-9;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    classifier: bool,
    params: CaseParams,
    data: Option<String>,
    x: Option<Vec<Vec<Option<f64>>>>,
    y: Option<Vec<f64>>,
    train: Option<Vec<usize>>,
    test: Option<Vec<usize>>,
    synthetic: Option<Synthetic>,
    checksum: Option<Checksum>,
    bin_thresholds: Option<Vec<Vec<f64>>>,
    n_iter: usize,
    proba: Option<Vec<Vec<f64>>>,
    predictions: Option<Vec<f64>>,
    accuracy: Option<f64>,
    rmse: Option<f64>,
}

#[derive(Deserialize, Default)]
struct CaseParams {
    max_iter: Option<usize>,
    learning_rate: Option<f64>,
}

#[derive(Deserialize)]
struct Synthetic {
    rows: usize,
    features: usize,
    seed: u64,
    train_rows: usize,
}

#[derive(Deserialize)]
struct Checksum {
    x_hundredths: i64,
    positives: usize,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("tests/fixtures/boosting/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn case(name: &str) -> &'static Case {
    fixture().cases.iter().find(|c| c.name == name).unwrap()
}

/// The data of `tests/fixtures/boosting/synthetic.py`: `(x, score)`, bit for bit.
fn synthetic(rows: usize, features: usize, seed: u64) -> (Array2<f64>, Vec<f64>) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let mut x = Vec::with_capacity(rows * features);
    let mut score = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f64> =
            (0..features).map(|_| (next() % 2001) as f64 / 1.0 - 1000.0).map(|v| v / 100.0).collect();
        let noise = ((next() % 1001) as f64 - 500.0) / 100.0;
        score.push(((row[0] - row[1]) + (0.05 * row[2]) * row[3]) + noise);
        x.extend(row);
    }
    (Array2::from_shape_vec((rows, features), x).unwrap(), score)
}

/// Rows of a CSV of numbers, skipping `skip` first lines.
fn csv_rows(path: &str, skip: usize) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    text.lines()
        .skip(skip)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// `(x, y)` of a case, all rows.
fn data(case: &Case) -> (Array2<f64>, Vec<f64>) {
    if let Some(s) = &case.synthetic {
        let (x, score) = synthetic(s.rows, s.features, s.seed);
        let y = if case.classifier {
            score.iter().map(|&s| f64::from(u8::from(s > 0.0))).collect()
        } else {
            score
        };
        return (x, y);
    }
    let rows: Vec<Vec<f64>> = match case.data.as_deref() {
        // The first line is scikit-learn's count line (150,4,setosa,...), not a header.
        Some("examples/data/iris/iris.csv") => csv_rows("examples/data/iris/iris.csv", 1),
        Some("examples/data/diabetes/diabetes.csv") => csv_rows("examples/data/diabetes/diabetes.csv", 1),
        Some(other) => panic!("unknown data {other}"),
        None => {
            let x = case.x.as_ref().unwrap();
            let y = case.y.as_ref().unwrap();
            x.iter()
                .zip(y)
                .map(|(r, &y)| r.iter().map(|v| v.unwrap_or(f64::NAN)).chain([y]).collect())
                .collect()
        }
    };
    let p = rows[0].len() - 1;
    let mut x: Array2<f64> =
        Array2::from_shape_vec((rows.len(), p), rows.iter().flat_map(|r| r[..p].to_vec()).collect()).unwrap();
    let y: Vec<f64> = rows.iter().map(|r| r[p]).collect();
    if case.name == "diabetes_nan" {
        // The NaN come from the fixture's own copy of the features.
        let inline = case.x.as_ref().unwrap();
        for (i, r) in inline.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                x[[i, j]] = v.unwrap_or(f64::NAN);
            }
        }
    }
    (x, y)
}

struct Split {
    x_train: Array2<f64>,
    y_train: Vec<f64>,
    x_test: Array2<f64>,
    y_test: Vec<f64>,
}

fn split(case: &Case) -> Split {
    let (x, y) = data(case);
    let (train, test): (Vec<usize>, Vec<usize>) = match (&case.train, &case.test, &case.synthetic) {
        (Some(train), Some(test), _) => (train.clone(), test.clone()),
        (_, _, Some(s)) => ((0..s.train_rows).collect(), (s.train_rows..s.rows).collect()),
        _ => panic!("case {} has no split", case.name),
    };
    Split {
        x_train: x.select(Axis(0), &train),
        y_train: train.iter().map(|&i| y[i]).collect(),
        x_test: x.select(Axis(0), &test),
        y_test: test.iter().map(|&i| y[i]).collect(),
    }
}

fn params(case: &Case) -> BoostingParams {
    let mut p = BoostingParams::default();
    if let Some(m) = case.params.max_iter {
        p.max_iter = m;
    }
    if let Some(l) = case.params.learning_rate {
        p.learning_rate = l;
    }
    p
}

fn labels(y: &[f64]) -> Vec<usize> {
    y.iter().map(|&v| v as usize).collect()
}

fn check_thresholds(case: &Case, ours: &[Vec<f64>]) {
    if let Some(theirs) = &case.bin_thresholds {
        assert_eq!(ours.len(), theirs.len(), "{}", case.name);
        for (f, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert_eq!(a, b, "{}: bin thresholds of feature {f}", case.name);
        }
    }
}

/// Fits a classifier case; returns (our test accuracy, largest probability difference).
fn classifier_case(case: &Case) -> (f64, Option<f64>) {
    let s = split(case);
    let model = GradientBoosting::fit(s.x_train.view(), &labels(&s.y_train), &params(case)).unwrap();
    check_thresholds(case, model.bin_thresholds());
    if case.bin_thresholds.is_some() {
        assert_eq!(model.n_iter(), case.n_iter, "{}: rounds without early stopping", case.name);
    }
    let predicted = model.predict(s.x_test.view()).unwrap();
    let right = predicted.iter().zip(&s.y_test).filter(|(p, y)| **p as f64 == **y).count();
    let accuracy = right as f64 / s.y_test.len() as f64;
    let theirs = case.accuracy.unwrap();
    let proba_diff = case.proba.as_ref().map(|theirs| {
        let ours = model.predict_proba(s.x_test.view()).unwrap();
        ours.rows()
            .into_iter()
            .zip(theirs)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(a, b)| (a - b).abs()).collect::<Vec<_>>())
            .fold(0.0, f64::max)
    });
    println!(
        "{}: accuracy {accuracy:.4} (scikit-learn {theirs:.4}), rounds {} ({}), largest probability difference {:?}",
        case.name,
        model.n_iter(),
        case.n_iter,
        proba_diff
    );
    assert!(
        (accuracy - theirs).abs() <= ACCURACY,
        "{}: accuracy {accuracy} vs scikit-learn's {theirs}",
        case.name
    );
    (accuracy, proba_diff)
}

fn regressor_case(case: &Case) -> (f64, Option<f64>) {
    let s = split(case);
    let model = GradientBoostingRegressor::fit(s.x_train.view(), &s.y_train, &params(case)).unwrap();
    check_thresholds(case, model.bin_thresholds());
    if case.bin_thresholds.is_some() {
        assert_eq!(model.n_iter(), case.n_iter, "{}: rounds without early stopping", case.name);
    }
    let pred = model.predict(s.x_test.view()).unwrap();
    let mse = pred.iter().zip(&s.y_test).map(|(p, y)| (p - y) * (p - y)).sum::<f64>() / s.y_test.len() as f64;
    let rmse = mse.sqrt();
    let theirs = case.rmse.unwrap();
    let pred_diff = case.predictions.as_ref().map(|theirs| {
        pred.iter().zip(theirs).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f64::max)
    });
    println!(
        "{}: RMSE {rmse:.4} (scikit-learn {theirs:.4}), rounds {} ({}), largest relative prediction difference {:?}",
        case.name,
        model.n_iter(),
        case.n_iter,
        pred_diff
    );
    assert!((rmse - theirs).abs() <= RMSE * theirs, "{}: RMSE {rmse} vs scikit-learn's {theirs}", case.name);
    (rmse, pred_diff)
}

#[test]
fn boosting_binary_parity() {
    let (_, diff) = classifier_case(case("binary"));
    assert!(diff.unwrap() < PREDICTION, "{diff:?}");
}

#[test]
fn boosting_iris_multiclass_parity() {
    let c = case("iris");
    // The same 4 features the fixture's thresholds describe.
    assert_eq!(c.bin_thresholds.as_ref().unwrap().len(), 4);
    let (_, diff) = classifier_case(c);
    assert!(diff.unwrap() < PREDICTION, "{diff:?}");
}

#[test]
fn boosting_diabetes_regression_parity() {
    let (_, diff) = regressor_case(case("diabetes"));
    assert!(diff.unwrap() < PREDICTION, "{diff:?}");
}

#[test]
fn boosting_missing_values_parity() {
    let (_, diff) = classifier_case(case("binary_nan"));
    assert!(diff.unwrap() < PREDICTION, "{diff:?}");
    let (_, diff) = regressor_case(case("diabetes_nan"));
    assert!(diff.unwrap() < PREDICTION, "{diff:?}");
}

#[test]
fn boosting_early_stopping_parity() {
    let c = case("synthetic_early_stopping");
    let (x, y) = data(c);
    let sum = c.checksum.as_ref().unwrap();
    let hundredths: i64 = x.iter().map(|v| (v * 100.0).round() as i64).sum();
    assert_eq!(hundredths, sum.x_hundredths, "the synthetic data differ from synthetic.py's");
    assert_eq!(y.iter().filter(|&&v| v == 1.0).count(), sum.positives);
    classifier_case(c);
    regressor_case(case("synthetic_early_stopping_regression"));
}

#[test]
fn boosting_is_deterministic_across_thread_counts() {
    let (x, score) = synthetic(12_000, 8, 7);
    let y: Vec<usize> = score.iter().map(|&s| usize::from(s > 0.0)).collect();
    let fit = |threads| {
        let p = BoostingParams { max_iter: 8, threads, ..Default::default() };
        encode(&GradientBoosting::fit(x.view(), &y, &p).unwrap()).unwrap()
    };
    let one = fit(1);
    assert_eq!(one, fit(2));
    assert_eq!(one, fit(3));
    assert_eq!(one, fit(0));
    let regress = |threads| {
        let p = BoostingParams { max_iter: 5, threads, ..Default::default() };
        encode(&GradientBoostingRegressor::fit(x.view(), &score, &p).unwrap()).unwrap()
    };
    assert_eq!(regress(1), regress(4));
    // Another seed, another validation split.
    let p = BoostingParams { max_iter: 8, seed: 1, threads: 1, ..Default::default() };
    assert_ne!(one, encode(&GradientBoosting::fit(x.view(), &y, &p).unwrap()).unwrap());
}

#[test]
fn boosting_models_are_artifacts() {
    let s = split(case("binary_nan"));
    let model =
        GradientBoosting::fit(s.x_train.view(), &labels(&s.y_train), &params(case("binary_nan"))).unwrap();
    let back: GradientBoosting = decode(&encode(&model).unwrap(), 1 << 24).unwrap();
    assert_eq!(back, model);
    let p = BoostingParams { early_stopping: EarlyStopping::Off, ..Default::default() };
    let back: BoostingParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    let r = GradientBoostingRegressor::fit(s.x_train.view(), &s.y_train, &BoostingParams::default()).unwrap();
    let back: GradientBoostingRegressor = decode(&encode(&r).unwrap(), 1 << 24).unwrap();
    assert_eq!(back, r);
    // As trait objects.
    let c: Box<dyn Classifier> = Box::new(model);
    assert_eq!(c.n_classes(), 2);
    let r: Box<dyn Regressor> = Box::new(r);
    assert_eq!(r.n_features(), 6);
}

#[test]
fn boosting_nan_goes_where_training_sent_it() {
    // No NaN in training: NaN follows the child with more samples.
    let x = Array2::from_shape_fn((100, 1), |(i, _)| i as f64);
    let y: Vec<usize> = (0..100).map(|i| usize::from(i >= 70)).collect();
    let p = BoostingParams { max_iter: 20, ..Default::default() };
    let m = GradientBoosting::fit(x.view(), &y, &p).unwrap();
    assert_eq!(m.predict(array![[f64::NAN], [95.0]].view()).unwrap().to_vec(), [0, 1]);
    // NaN only in class 1 during training: NaN is predicted as class 1.
    let x = Array2::from_shape_fn(
        (100, 1),
        |(i, _)| if i >= 70 && i % 2 == 0 { f64::NAN } else { (i % 50) as f64 },
    );
    let m = GradientBoosting::fit(x.view(), &y, &p).unwrap();
    assert_eq!(m.predict(array![[f64::NAN]].view()).unwrap().to_vec(), [1]);
    // A column of NaN only: a single-leaf model, predicting the class rates.
    let x = Array2::from_elem((50, 2), f64::NAN);
    let y: Vec<usize> = (0..50).map(|i| usize::from(i < 10)).collect();
    let m = GradientBoosting::fit(x.view(), &y, &p).unwrap();
    assert_eq!(m.n_leaves(), 20);
    let proba = m.predict_positive(array![[1.0, f64::NAN]].view()).unwrap();
    assert!((proba[0] - 0.2).abs() < 1e-9, "{proba}");
}

#[test]
fn boosting_bad_input_is_a_clear_error() {
    let x = array![[0.0, 1.0], [1.0, f64::NAN], [2.0, 0.0], [3.0, 1.0]];
    let y = [0, 0, 1, 1];
    let ok = BoostingParams::default();
    let inf = array![[0.0, 1.0], [1.0, f64::NEG_INFINITY]];
    let err = GradientBoosting::fit(inf.view(), &[0, 1], &ok).unwrap_err();
    assert_eq!(
        err,
        ModelError::NonFinite { what: "training data", row: 1, column: 1, value: f64::NEG_INFINITY }
    );
    assert!(err.to_string().contains("row 1, column 1"));
    assert!(matches!(
        GradientBoostingRegressor::fit(inf.view(), &[0.0, 1.0], &ok),
        Err(ModelError::NonFinite { row: 1, column: 1, .. })
    ));
    let m = GradientBoosting::fit(x.view(), &y, &ok).unwrap();
    assert!(matches!(
        m.predict_proba(array![[f64::INFINITY, 0.0]].view()),
        Err(ModelError::NonFinite { what: "prediction input", row: 0, column: 0, .. })
    ));
    assert_eq!(m.predict(array![[1.0]].view()), Err(ModelError::FeatureCount { expected: 2, found: 1 }));
    assert_eq!(m.predict(Array2::zeros((0, 2)).view()).unwrap().len(), 0);
    assert_eq!(m.predict(array![[f64::NAN, f64::NAN]].view()).unwrap().len(), 1);
    assert!(matches!(
        GradientBoosting::fit(Array2::zeros((0, 2)).view(), &[], &ok),
        Err(ModelError::Empty { rows: 0, columns: 2, .. })
    ));
    assert_eq!(
        GradientBoosting::fit(x.view(), &[0, 1], &ok),
        Err(ModelError::LengthMismatch { rows: 4, labels: 2 })
    );
    assert_eq!(
        GradientBoosting::fit(x.view(), &[0, 0, 2, 2], &ok),
        Err(ModelError::MissingClass { class: 1, classes: 3 })
    );
    assert_eq!(
        GradientBoosting::fit(x.view(), &[1, 1, 1, 1], &ok),
        Err(ModelError::MissingClass { class: 0, classes: 2 })
    );
    assert_eq!(
        GradientBoosting::fit(x.view(), &[0, 0, 0, 0], &ok),
        Err(ModelError::SingleClass { class: 0, count: 4 })
    );
    assert_eq!(
        GradientBoostingRegressor::fit(x.view(), &[1.0], &ok),
        Err(ModelError::TargetCount { rows: 4, targets: 1 })
    );
    assert!(matches!(
        GradientBoostingRegressor::fit(x.view(), &[1.0, 2.0, f64::INFINITY, 0.0], &ok),
        Err(ModelError::NonFiniteTarget { row: 2, .. })
    ));
    let bad: Vec<(BoostingParams, &str)> = vec![
        (BoostingParams { learning_rate: 0.0, ..ok.clone() }, "learning_rate"),
        (BoostingParams { learning_rate: f64::NAN, ..ok.clone() }, "learning_rate"),
        (BoostingParams { max_iter: 0, ..ok.clone() }, "max_iter"),
        (BoostingParams { max_leaf_nodes: Some(1), ..ok.clone() }, "max_leaf_nodes"),
        (BoostingParams { max_depth: Some(0), ..ok.clone() }, "max_depth"),
        (BoostingParams { min_samples_leaf: 0, ..ok.clone() }, "min_samples_leaf"),
        (BoostingParams { l2_regularization: -1.0, ..ok.clone() }, "l2_regularization"),
        (BoostingParams { max_bins: 1, ..ok.clone() }, "max_bins"),
        (BoostingParams { max_bins: 256, ..ok.clone() }, "max_bins"),
        (BoostingParams { validation_fraction: 1.0, ..ok.clone() }, "validation_fraction"),
        (BoostingParams { validation_fraction: 0.0, ..ok.clone() }, "validation_fraction"),
        (BoostingParams { n_iter_no_change: 0, ..ok.clone() }, "n_iter_no_change"),
        (BoostingParams { tol: -1e-9, ..ok.clone() }, "tol"),
    ];
    for (p, name) in bad {
        match GradientBoosting::fit(x.view(), &y, &p) {
            Err(ModelError::InvalidParam { param, .. }) => assert_eq!(param, name),
            other => panic!("{name}: {other:?}"),
        }
        match GradientBoostingRegressor::fit(x.view(), &[0.0, 1.0, 2.0, 3.0], &p) {
            Err(e @ ModelError::InvalidParam { .. }) => assert!(e.to_string().contains(name), "{e}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn boosting_limits_shape_the_trees() {
    let (x, score) = synthetic(2_000, 4, 3);
    let stumps = BoostingParams { max_depth: Some(1), max_iter: 5, ..Default::default() };
    let m = GradientBoostingRegressor::fit(x.view(), &score, &stumps).unwrap();
    let c = GradientBoosting::fit(
        x.view(),
        &score.iter().map(|&s| usize::from(s > 0.0)).collect::<Vec<_>>(),
        &BoostingParams { max_leaf_nodes: Some(4), max_iter: 5, ..Default::default() },
    )
    .unwrap();
    assert!(c.n_leaves() <= 20 && c.n_leaves() > 5);
    assert_eq!(m.n_iter(), 5);
    let capped = BoostingParams { max_bins: 8, max_iter: 3, ..Default::default() };
    let m = GradientBoostingRegressor::fit(x.view(), &score, &capped).unwrap();
    assert!(m.bin_thresholds().iter().all(|t| t.len() == 7));
    let forced = BoostingParams {
        early_stopping: EarlyStopping::On,
        n_iter_no_change: 2,
        tol: 1e9,
        ..Default::default()
    };
    let m = GradientBoostingRegressor::fit(x.view(), &score, &forced).unwrap();
    assert_eq!(m.n_iter(), 2, "no round improves by 1e9: stop after n_iter_no_change rounds");
    assert_eq!(m.validation_loss().len(), 3);
}
