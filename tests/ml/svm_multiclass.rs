//! The SVM on more than two classes against scikit-learn's `SVC(probability=True)`, on the
//! committed fixtures `tests/fixtures/svm_multiclass/expected.json` (written by `generate.py`
//! beside it, scikit-learn 1.9.1): iris (3 classes) and four Gaussian blobs (4 classes).
//!
//! What is compared, and to what tolerance:
//!
//! - **Pairwise coupling, exactly**: fed the same pairwise probabilities (scikit-learn's own, from
//!   its decision values and fitted `probA_`/`probB_`), [`pairwise_coupling`] gives scikit-learn's
//!   `predict_proba` to within 1e-14: the same fixed-point iteration, in the same order.
//! - **Decision values per pair**, to within [`DECISION_TOL`]: both solvers stop when the largest
//!   KKT violation falls under `tol = 1e-3`, from different paths (LIBSVM shrinks, we do not; LIBSVM
//!   caches the kernel in single precision, we in double), so each solution is only `tol`-close to
//!   the optimum: allowed `2 tol`; measured 3.7e-4 on iris, 6.1e-4 on the blobs.
//! - **Probabilities**, to within [`PROBA_TOL`]: the Platt sigmoids are fitted on out-of-fold
//!   decision values, and LIBSVM draws its 5 folds at random (seeded) while ours are stratified and
//!   deterministic, so the sigmoids, hence the coupled probabilities, differ by more than the
//!   decision values do: allowed 0.1; measured 0.069 on iris, 0.029 on the blobs.
//! - **Accuracy**, to within 0.02 (one of the 50 iris test rows), of scikit-learn's, and our votes
//!   equal scikit-learn's `predict` row for row.

use std::path::Path;
use std::sync::OnceLock;

use mlflow::codec::{decode, encode};
use mlflow::features::{FeatureMatrix, StandardScaler};
use mlflow::models::*;
use ndarray::{Array2, array};
use serde::Deserialize;

/// The largest difference allowed between our pairwise decision values and scikit-learn's.
const DECISION_TOL: f64 = 2e-3;
/// The largest difference allowed between our class probabilities and scikit-learn's.
const PROBA_TOL: f64 = 0.1;

#[derive(Deserialize)]
struct Fixture {
    min_prob: f64,
    iris: Case,
    blobs4: Case,
    coupling: Vec<Coupling>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(default)]
    train_index: Vec<usize>,
    #[serde(default)]
    test_index: Vec<usize>,
    x_train: Vec<Vec<f64>>,
    x_test: Vec<Vec<f64>>,
    y_train: Vec<usize>,
    y_test: Vec<usize>,
    gamma: f64,
    n_support: Vec<usize>,
    decision_ovo: Vec<Vec<f64>>,
    predict: Vec<usize>,
    predict_proba: Vec<Vec<f64>>,
    pairwise: Vec<Vec<Vec<f64>>>,
    coupled: Vec<Vec<f64>>,
    accuracy_votes: f64,
}

#[derive(Deserialize)]
struct Coupling {
    note: String,
    r: Vec<Vec<f64>>,
    p: Vec<f64>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let text =
            std::fs::read_to_string(root().join("tests/fixtures/svm_multiclass/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
    let cols = rows.first().map_or(0, Vec::len);
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).unwrap()
}

fn max_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).map(|(u, v)| (u - v).abs()).fold(0.0, f64::max)
}

fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// `examples/data/iris/iris.csv`: its first line is scikit-learn's count line, not a header.
fn iris() -> (Array2<f64>, Vec<usize>) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(root().join("examples/data/iris/iris.csv"))
        .unwrap();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let values: Vec<f64> = record.unwrap().iter().map(|v| v.parse().unwrap()).collect();
        x.extend_from_slice(&values[..4]);
        y.push(values[4] as usize);
    }
    (Array2::from_shape_vec((y.len(), 4), x).unwrap(), y)
}

/// The iris split of the fixture, standardized by our `StandardScaler` (checked against
/// scikit-learn's to 1e-12).
fn iris_split() -> (Array2<f64>, Vec<usize>, Array2<f64>, Vec<usize>) {
    let f = &fixture().iris;
    let (x, y) = iris();
    assert_eq!(y.len(), 150);
    let m = FeatureMatrix { names: (0..4).map(|i| format!("f{i}")).collect(), x };
    let scaler = StandardScaler.fit_matrix(&m, &f.train_index).unwrap();
    let scaled = scaler.transform(&m).unwrap().x;
    let x_train = scaled.select(ndarray::Axis(0), &f.train_index);
    let x_test = scaled.select(ndarray::Axis(0), &f.test_index);
    assert!(max_diff(&x_train, &matrix(&f.x_train)) < 1e-12);
    assert!(max_diff(&x_test, &matrix(&f.x_test)) < 1e-12);
    let pick = |index: &[usize]| index.iter().map(|&i| y[i]).collect::<Vec<_>>();
    assert_eq!(pick(&f.train_index), f.y_train);
    assert_eq!(pick(&f.test_index), f.y_test);
    (x_train, f.y_train.clone(), x_test, f.y_test.clone())
}

/// LIBSVM's probability setting: 5-fold out-of-fold decision values for each pair's sigmoid.
fn params() -> SvmParams {
    SvmParams { platt_folds: 5, ..Default::default() }
}

/// Everything compared with scikit-learn on one case; prints the figures.
fn compare(name: &str, case: &Case, x_train: &Array2<f64>, y_train: &[usize], x_test: &Array2<f64>) {
    let svm = Svm::fit(x_train.view(), y_train, &params()).unwrap();
    let k = case.n_support.len();
    assert_eq!(svm.n_classes(), k);
    assert!((svm.gamma() - case.gamma).abs() < 1e-12, "{name}: gamma {} vs {}", svm.gamma(), case.gamma);

    let f = svm.decision_function_ovo(x_test.view()).unwrap();
    assert_eq!(f.ncols(), k * (k - 1) / 2);
    let decision = max_diff(&f, &matrix(&case.decision_ovo));
    assert!(decision <= DECISION_TOL, "{name}: decision values {decision} off scikit-learn's");
    let votes = svm.predict_votes(x_test.view()).unwrap();
    assert_eq!(votes.to_vec(), case.predict, "{name}: votes differ from scikit-learn's predict");

    let proba = svm.predict_proba(x_test.view()).unwrap();
    for row in proba.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12, "{name}: {row} does not sum to 1");
        assert!(row.iter().all(|p| (0.0..=1.0).contains(p)), "{name}: {row}");
    }
    let proba_diff = max_diff(&proba, &matrix(&case.predict_proba));
    assert!(proba_diff <= PROBA_TOL, "{name}: probabilities {proba_diff} off scikit-learn's");

    let pred = svm.predict(x_test.view()).unwrap();
    assert_eq!(pred, argmax_rows(proba.view()));
    let ours = accuracy(pred.as_slice().unwrap(), &case.y_test);
    assert!(
        (ours - case.accuracy_votes).abs() <= 0.02 + 1e-12,
        "{name}: accuracy {ours:.4}, scikit-learn {:.4}",
        case.accuracy_votes
    );

    // The coupling step alone, on scikit-learn's pairwise probabilities.
    let mut coupling: f64 = 0.0;
    for ((r, coupled), sk) in case.pairwise.iter().zip(&case.coupled).zip(&case.predict_proba) {
        let p = pairwise_coupling(matrix(r).view()).unwrap();
        for ((a, b), c) in p.iter().zip(coupled).zip(sk) {
            coupling = coupling.max((a - b).abs()).max((a - c).abs());
        }
    }
    assert!(coupling <= 1e-14, "{name}: coupling {coupling} off scikit-learn's predict_proba");
    println!(
        "{name}: accuracy ours {ours:.4} (votes {:.4}), scikit-learn {:.4}; n_support ours {}, scikit-learn {}; \
         max |decision diff| {decision:.2e}, max |proba diff| {proba_diff:.4}, coupling {coupling:.1e}",
        accuracy(votes.as_slice().unwrap(), &case.y_test),
        case.accuracy_votes,
        svm.n_support(),
        case.n_support.iter().sum::<usize>(),
    );
}

#[test]
fn iris_matches_scikit_learn() {
    let (x_train, y_train, x_test, _) = iris_split();
    compare("iris", &fixture().iris, &x_train, &y_train, &x_test);
}

#[test]
fn four_blobs_match_scikit_learn() {
    let c = &fixture().blobs4;
    compare("4 blobs", c, &matrix(&c.x_train), &c.y_train, &matrix(&c.x_test));
}

#[test]
fn coupling_matches_libsvm_on_fixed_pairwise_matrices() {
    let f = fixture();
    assert_eq!(f.min_prob, 1e-7);
    for case in &f.coupling {
        let p = pairwise_coupling(matrix(&case.r).view()).unwrap();
        assert_eq!(p.len(), case.p.len());
        for (a, b) in p.iter().zip(&case.p) {
            assert!((a - b).abs() <= 1e-14, "{}: {p} vs {:?}", case.note, case.p);
        }
        assert!((p.sum() - 1.0).abs() < 1e-12, "{}: {p}", case.note);
    }
}

#[test]
fn multiclass_fits_are_deterministic_and_round_trip() {
    let c = &fixture().blobs4;
    let x = matrix(&c.x_train);
    let a = Svm::fit(x.view(), &c.y_train, &params()).unwrap();
    let b = Svm::fit(x.view(), &c.y_train, &params()).unwrap();
    let bytes = encode(&a).unwrap();
    assert_eq!(bytes, encode(&b).unwrap());
    let back: Svm = decode(&bytes, 1 << 24).unwrap();
    assert_eq!(back, a);
    let model = Model::fit(x.view(), &c.y_train, &ModelParams::Svm(params())).unwrap();
    let back: Model = decode(&encode(&model).unwrap(), 1 << 24).unwrap();
    let x_test = matrix(&c.x_test);
    assert_eq!(back.predict_proba(x_test.view()).unwrap(), a.predict_proba(x_test.view()).unwrap());
    assert_eq!(back.n_classes(), 4);
}

#[test]
fn binary_only_views_say_so_on_more_classes() {
    let c = &fixture().blobs4;
    let x = matrix(&c.x_train);
    let svm = Svm::fit(x.view(), &c.y_train, &SvmParams::default()).unwrap();
    assert_eq!(svm.decision_function(x.view()), Err(ModelError::NotBinary { classes: 4 }));
    assert_eq!(svm.predict_positive(x.view()), Err(ModelError::NotBinary { classes: 4 }));
    // A two-class SVM keeps its one decision function; its one-vs-one column is the negation.
    let y: Vec<usize> = c.y_train.iter().map(|&l| usize::from(l >= 2)).collect();
    let binary = Svm::fit(x.view(), &y, &SvmParams::default()).unwrap();
    assert_eq!(binary.n_classes(), 2);
    let f = binary.decision_function(x.view()).unwrap();
    assert_eq!(binary.decision_function_ovo(x.view()).unwrap().column(0), f.mapv(|v| -v));
    let votes = binary.predict_votes(x.view()).unwrap();
    assert_eq!(votes.to_vec(), f.iter().map(|&v| usize::from(v >= 0.0)).collect::<Vec<_>>());
}

#[test]
fn missing_classes_and_bad_folds_are_errors() {
    let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * 3 + j) as f64);
    let e = Svm::fit(x.view(), &[0, 2, 0, 2, 3, 3], &SvmParams::default()).unwrap_err();
    assert_eq!(e, ModelError::MissingClass { class: 1, classes: 4 });
    assert!(e.to_string().contains("class 1 has no rows"), "{e}");
    let e = Svm::fit(x.view(), &[1, 1, 1, 1, 1, 1], &SvmParams::default()).unwrap_err();
    assert_eq!(e, ModelError::MissingClass { class: 0, classes: 2 });
    let e = Svm::fit(x.view(), &[0; 6], &SvmParams::default()).unwrap_err();
    assert_eq!(e, ModelError::SingleClass { class: 0, count: 6 });
    // Labels beyond 1 are classes now: three classes of two rows each fit.
    let svm = Svm::fit(x.view(), &[0, 1, 2, 0, 1, 2], &SvmParams::default()).unwrap();
    assert_eq!(svm.n_classes(), 3);
    // Platt folds are bounded by the smallest class (2 rows).
    let e = Svm::fit(x.view(), &[0, 1, 2, 0, 1, 2], &SvmParams { platt_folds: 3, ..Default::default() })
        .unwrap_err();
    assert!(matches!(e, ModelError::InvalidParam { param: "platt_folds", .. }), "{e}");
    assert!(e.to_string().contains("smallest class"), "{e}");
    let e = svm.predict_proba(array![[1.0, 2.0, 3.0]].view()).unwrap_err();
    assert_eq!(e, ModelError::FeatureCount { expected: 2, found: 3 });
    let e = svm.predict_votes(array![[f64::NAN, 0.0]].view()).unwrap_err();
    assert!(matches!(e, ModelError::NonFinite { row: 0, column: 0, .. }), "{e}");
    assert_eq!(svm.predict_proba(Array2::zeros((0, 2)).view()).unwrap().dim(), (0, 3));
}

#[test]
fn in_sample_platt_works_on_many_classes() {
    // Ten classes on a line: the default (in-sample Platt) fits 45 pairs and orders them.
    let x = Array2::from_shape_fn((60, 1), |(i, _)| (i / 6) as f64 + (i % 6) as f64 * 0.05);
    let y: Vec<usize> = (0..60).map(|i| i / 6).collect();
    let svm = Svm::fit(x.view(), &y, &SvmParams { gamma: Gamma::Value(4.0), ..Default::default() }).unwrap();
    assert_eq!(svm.decision_function_ovo(x.view()).unwrap().ncols(), 45);
    let pred = svm.predict(x.view()).unwrap();
    assert!(accuracy(pred.as_slice().unwrap(), &y) >= 0.95);
}
