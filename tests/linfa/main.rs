//! The linfa adapters (cargo feature `linfa`) through the public API: parity with scikit-learn on
//! the iris and diabetes data, and linfa models through packaging, in-process and batch scoring.
//!
//! `tests/fixtures/linfa/expected.json` is written by `tests/fixtures/linfa/generate.py`
//! (scikit-learn 1.9.1; see the script for the versions and how to rerun it). The data are
//! `examples/data/iris/iris.csv` and `examples/data/diabetes/diabetes.csv`.
//! `cargo test --features serve,linfa --test linfa -- --nocapture` prints the differences.

use std::path::Path;
use std::sync::OnceLock;

use mlflow::features::FeatureMatrix;
use mlflow::linfa::*;
use mlflow::models::*;
use ndarray::{Array2, Axis};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    elastic_net: Vec<ElasticCase>,
    logistic: Vec<LogisticCase>,
    tree: TreeCase,
    pca: PcaCase,
    kmeans: KMeansCase,
}

#[derive(Deserialize)]
struct ElasticCase {
    scaling: String,
    alpha: f64,
    l1_ratio: f64,
    coef: Vec<f64>,
    intercept: f64,
    n_iter: u32,
    predictions: Vec<f64>,
}

#[derive(Deserialize)]
struct LogisticCase {
    task: String,
    alpha: f64,
    probabilities: Vec<Vec<f64>>,
    test_accuracy: f64,
}

#[derive(Deserialize)]
struct TreeCase {
    test_accuracy: f64,
}

#[derive(Deserialize)]
struct PcaCase {
    components: Vec<Vec<f64>>,
    explained_variance: Vec<f64>,
    transform: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct KMeansCase {
    centers: Vec<Vec<f64>>,
    inertia: f64,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("tests/fixtures/linfa/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
    Array2::from_shape_vec((rows.len(), rows[0].len()), rows.concat()).unwrap()
}

/// A CSV of numbers: the feature columns and the last column, after `skip` lines.
fn read(path: &str, skip: usize) -> (Array2<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(skip)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let p = rows[0].len() - 1;
    let x = Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]);
    (x, rows.iter().map(|r| r[p]).collect())
}

fn iris() -> (Array2<f64>, Vec<usize>) {
    let (x, y) = read("examples/data/iris/iris.csv", 1);
    (x, y.iter().map(|&c| c as usize).collect())
}

fn diabetes() -> (Array2<f64>, Vec<f64>) {
    read("examples/data/diabetes/diabetes.csv", 1)
}

/// Column mean 0, population standard deviation 1 (scikit-learn's `StandardScaler`).
fn standardized(x: &Array2<f64>) -> Array2<f64> {
    let mean = x.mean_axis(Axis(0)).unwrap();
    let std = x.std_axis(Axis(0), 0.0);
    (x - &mean) / &std
}

fn max_relative(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

fn rmse(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

/// The hold-out split of the fixture: rows whose index is a multiple of 3 are the test rows.
fn split<T: Clone>(x: &Array2<f64>, y: &[T]) -> (Array2<f64>, Vec<T>, Array2<f64>, Vec<T>) {
    let train: Vec<usize> = (0..y.len()).filter(|i| i % 3 != 0).collect();
    let test: Vec<usize> = (0..y.len()).filter(|i| i % 3 == 0).collect();
    (
        x.select(Axis(0), &train),
        train.iter().map(|&i| y[i].clone()).collect(),
        x.select(Axis(0), &test),
        test.iter().map(|&i| y[i].clone()).collect(),
    )
}

fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    predicted.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Elastic net equals scikit-learn's `ElasticNet` on the diabetes data: with the features centered
/// by the adapter, linfa's coordinate descent is scikit-learn's (same sweeps, same stopping rule:
/// the duality gap below `tol |y - mean|^2`), and it stops after the same number of sweeps with
/// the same coefficients to rounding (about 1e-14 relative here).
#[test]
fn elastic_net_matches_scikit_learn_on_diabetes() {
    let (x, y) = diabetes();
    let xs = standardized(&x);
    for case in &fixture().elastic_net {
        let data = if case.scaling == "raw" { &x } else { &xs };
        let params =
            LinfaElasticNetParams { l1_ratio: case.l1_ratio, ..LinfaElasticNetParams::new(case.alpha) };
        let m = LinfaElasticNet::fit(data.view(), &y, &params).unwrap();
        let predictions = m.predict(data.view()).unwrap().to_vec();
        let prediction_gap = rmse(&predictions, &case.predictions) / rmse(&case.predictions, &y);
        let coef_gap = max_relative(m.coef().as_slice().unwrap(), &case.coef);
        println!(
            "elastic net {} alpha={} l1_ratio={}: coef {coef_gap:.2e} relative, predictions rmse {prediction_gap:.2e} of the residual rmse, intercept {} vs {}, sweeps {} vs {}",
            case.scaling,
            case.alpha,
            case.l1_ratio,
            m.intercept(),
            case.intercept,
            m.fitted().n_steps(),
            case.n_iter
        );
        assert!(coef_gap < 1e-10, "coefficients {coef_gap}");
        assert!(prediction_gap < 1e-10, "predictions {prediction_gap}");
        assert_eq!(m.fitted().n_steps(), case.n_iter, "coordinate descent sweeps");
        // Relative RMSE against the target within 2% (the regression bound).
        let ours = rmse(&predictions, &y);
        let theirs = rmse(&case.predictions, &y);
        assert!((ours - theirs).abs() <= 0.02 * theirs, "{ours} vs {theirs}");
    }
}

/// linfa's ordinary least squares equals ours and scikit-learn's on the diabetes data.
#[test]
fn linfa_linear_matches_ours_on_diabetes() {
    let (x, y) = diabetes();
    let linfa = LinfaLinear::fit(x.view(), &y, &LinfaLinearParams::default()).unwrap();
    let ours = LinearRegression::fit(x.view(), &y, &LinearParams::default()).unwrap();
    let gap = max_relative(linfa.coef().as_slice().unwrap(), ours.coef());
    let intercept_gap = (linfa.intercept() - ours.intercept()).abs() / ours.intercept().abs();
    println!("linfa OLS vs ours on diabetes: coef {gap:.2e} relative, intercept {intercept_gap:.2e}");
    assert!(gap < 1e-8 && intercept_gap < 1e-8, "{gap} {intercept_gap}");
}

/// Logistic regression: linfa's L-BFGS and scikit-learn's lbfgs stop at gradient tolerance 1e-4
/// on the same objective (`C = 1 / alpha`; scikit-learn scales its loss by the number of rows, so
/// the two tolerances are not the same): probabilities agree to within 1e-2 (3.7e-3 at most here),
/// hold-out accuracy within 0.02.
#[test]
fn logistic_matches_scikit_learn_on_iris() {
    let (x, y) = iris();
    let xs = standardized(&x);
    for case in &fixture().logistic {
        // Rows (of the 150) in the task, and the hold-out split by their index among the 150.
        let rows: Vec<usize> = match case.task.as_str() {
            "multinomial" => (0..y.len()).collect(),
            _ => (0..y.len()).filter(|&i| y[i] > 0).collect(),
        };
        let shift = usize::from(case.task != "multinomial");
        let data = xs.select(Axis(0), &rows);
        let pick = |test: bool| -> (Array2<f64>, Vec<usize>) {
            let chosen: Vec<usize> = rows.iter().copied().filter(|i| (i % 3 == 0) == test).collect();
            (xs.select(Axis(0), &chosen), chosen.iter().map(|&i| y[i] - shift).collect())
        };
        let ((train_x, train_y), (test_x, test_y)) = (pick(false), pick(true));
        let params = LinfaLogisticParams { alpha: case.alpha, ..Default::default() };
        let m = LinfaLogistic::fit(train_x.view(), &train_y, &params).unwrap();
        let p = m.predict_proba(data.view()).unwrap();
        let want = matrix(&case.probabilities);
        let gap = (&p - &want).iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let acc = accuracy(m.predict(test_x.view()).unwrap().as_slice().unwrap(), &test_y);
        println!(
            "logistic {} alpha={}: probabilities {gap:.2e} apart, hold-out accuracy {acc} vs {}",
            case.task, case.alpha, case.test_accuracy
        );
        assert!(gap < 1e-2, "{gap}");
        assert!((acc - case.test_accuracy).abs() <= 0.02 + 1e-12, "{acc}");
    }
}

/// A linfa tree's hold-out accuracy on iris, beside scikit-learn's (trees differ by how they break
/// ties between equally good splits, so one test row may differ).
#[test]
fn tree_accuracy_on_iris_is_near_scikit_learn_s() {
    let (x, y) = iris();
    let (train_x, train_y, test_x, test_y) = split(&x, &y);
    let m = LinfaTree::fit(train_x.view(), &train_y, &LinfaTreeParams::default()).unwrap();
    let acc = accuracy(m.predict(test_x.view()).unwrap().as_slice().unwrap(), &test_y);
    let theirs = fixture().tree.test_accuracy;
    println!("linfa tree on iris: hold-out accuracy {acc} vs scikit-learn's {theirs}");
    assert!((acc - theirs).abs() <= 0.04 + 1e-12, "{acc} vs {theirs}");
}

/// PCA equals scikit-learn's on iris, signs included.
#[test]
fn pca_matches_scikit_learn_on_iris() {
    let (x, _) = iris();
    let pca = LinfaPca::fit(x.view(), &LinfaPcaParams::new(2)).unwrap();
    let case = &fixture().pca;
    let gap = (&pca.components() - &matrix(&case.components)).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let ev = max_relative(pca.explained_variance().as_slice().unwrap(), &case.explained_variance);
    let out = pca.transform(x.view()).unwrap();
    let t = (&out - &matrix(&case.transform)).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    println!("PCA on iris: components {gap:.2e}, explained variance {ev:.2e} relative, transform {t:.2e}");
    assert!(gap < 1e-10 && ev < 1e-10 && t < 1e-10, "{gap} {ev} {t}");
}

/// k-means finds scikit-learn's clusters on iris (up to their order) and the same inertia.
#[test]
fn kmeans_matches_scikit_learn_on_iris() {
    let (x, _) = iris();
    let km = LinfaKMeans::fit(x.view(), &LinfaKMeansParams::new(3)).unwrap();
    let case = &fixture().kmeans;
    let centers = km.centroids();
    let mut worst = 0.0f64;
    for want in &case.centers {
        let nearest = centers
            .rows()
            .into_iter()
            .map(|c| c.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
            .fold(f64::INFINITY, f64::min);
        worst = worst.max(nearest);
    }
    let d = km.transform(x.view()).unwrap();
    let inertia: f64 =
        d.rows().into_iter().map(|r| r.iter().cloned().fold(f64::INFINITY, f64::min).powi(2)).sum();
    println!("k-means on iris: centers {worst:.2e} apart, inertia {inertia} vs {}", case.inertia);
    assert!(worst < 1e-9, "{worst}");
    assert!((inertia - case.inertia).abs() < 1e-9 * case.inertia);
    // The transformers append to a feature matrix.
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"].map(String::from).to_vec();
    let m = km.append_to(&FeatureMatrix { names, x: x.clone() }).unwrap();
    assert_eq!(&m.names[4..], ["kmeans_dist_0", "kmeans_dist_1", "kmeans_dist_2"]);
}

mod serving;
