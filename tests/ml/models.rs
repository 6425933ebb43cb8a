//! The `models` room through the public API: quality on Titanic, determinism, orientation of
//! probabilities, and every bad-input case as a clear error.
//!
//! The Titanic data is the demo pipeline's own (`examples/titanic/pipeline.rs`): its 13 features
//! and its stratified split (seed `pipeline::SPLIT_SEED`, 20% held out: 713 training rows, 178
//! hold-out rows), made by calling its block steps; the SVM gets the features standardized on
//! the training rows, as its `train_svm` step does. `cargo test --test models -- --ignored --nocapture export_titanic` writes
//! those matrices and labels to `/tmp/mlflow-models-titanic/` for a comparison with scikit-learn.

use crate::titanic;

use std::sync::OnceLock;

use mlflow::blocks::Prepared as Dataset;
use mlflow::codec::{decode, encode};
use mlflow::models::*;
use ndarray::{Array2, array};

// ---------- the Titanic data: the pipeline's features and split ----------

/// The pipeline's training and hold-out features (`data`), and the same standardized on the
/// training rows (`scaled`, what the SVM sees).
struct Titanic {
    data: Dataset,
    scaled: Dataset,
}

impl Titanic {
    /// The inputs a model kind gets in the pipeline: standardized for the SVM, raw otherwise.
    fn inputs(&self, params: &ModelParams) -> &Dataset {
        match params {
            ModelParams::Svm(_) => &self.scaled,
            _ => &self.data,
        }
    }
}

fn titanic_split() -> &'static Titanic {
    static DATA: OnceLock<Titanic> = OnceLock::new();
    DATA.get_or_init(|| {
        let data = titanic::dataset();
        let scaled = titanic::scaled(&data);
        Titanic { data, scaled }
    })
}

fn all_params() -> Vec<ModelParams> {
    vec![
        ModelParams::Tree(TreeParams::default()),
        ModelParams::Forest(ForestParams::default()),
        ModelParams::Logistic(LogisticParams::default()),
        ModelParams::NaiveBayes(NaiveBayesParams::default()),
        ModelParams::Svm(SvmParams::default()),
    ]
}

fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Hold-out accuracy of one model fitted on the pipeline's training rows.
fn holdout_accuracy(t: &Titanic, params: &ModelParams) -> f64 {
    let d = t.inputs(params);
    let model = Model::fit(d.train.x.view(), d.train_classes().unwrap(), params).unwrap();
    let pred = model.predict(d.test.x.view()).unwrap();
    accuracy(pred.as_slice().unwrap(), d.test_classes().unwrap())
}

/// The forest's hold-out accuracy averaged over seeds `0..n` (one seed is too noisy to compare).
fn forest_mean_accuracy(t: &Titanic, n: u64) -> f64 {
    let accs = (0..n)
        .map(|seed| holdout_accuracy(t, &ModelParams::Forest(ForestParams { seed, ..Default::default() })));
    accs.sum::<f64>() / n as f64
}

/// Hold-out accuracy of each model kind as the pipeline trains it (the forest: mean over seeds
/// 0..5).
fn holdout_accuracies(t: &Titanic) -> Vec<(&'static str, f64)> {
    all_params()
        .iter()
        .map(|params| match params {
            ModelParams::Forest(_) => (params.kind(), forest_mean_accuracy(t, 5)),
            _ => (params.kind(), holdout_accuracy(t, params)),
        })
        .collect()
}

/// scikit-learn 1.9.1 hold-out accuracy on exactly the pipeline's features and split (the
/// matrices `export_titanic` writes; measured by the lead and re-checked from that export):
/// `DecisionTreeClassifier(random_state=0)`, `RandomForestClassifier(100)` averaged over
/// `random_state` 0..5, `LogisticRegression()`, `GaussianNB()`, and `SVC()` on `StandardScaler`
/// features (which equal the pipeline's `fit_scaler` output). Ours, at the time of writing:
/// 0.7753, 0.7910 (forest seed 0 alone: 0.7865), 0.8202, 0.7584, 0.7978.
const SKLEARN_SPLIT_0: [(&str, f64); 5] = [
    ("decision tree", 0.7865),
    ("random forest", 0.7933),
    ("logistic regression", 0.8202),
    ("naive Bayes", 0.7584),
    ("SVM", 0.7978),
];

#[test]
fn titanic_holdout_accuracy_is_within_002_of_scikit_learn() {
    let t = titanic_split();
    assert_eq!((t.data.train.rows(), t.data.test.rows()), (713, 178));
    assert_eq!(t.data.train.x.ncols(), 13);
    let acc = holdout_accuracies(t);
    for ((kind, a), (expected_kind, reference)) in acc.iter().zip(SKLEARN_SPLIT_0) {
        assert_eq!(*kind, expected_kind);
        assert!((a - reference).abs() <= 0.02, "{kind}: hold-out accuracy {a:.4}, scikit-learn {reference}");
    }
}

#[test]
fn same_seed_gives_identical_bytes() {
    let t = titanic_split();
    for params in all_params() {
        let d = t.inputs(&params);
        let a = Model::fit(d.train.x.view(), d.train_classes().unwrap(), &params).unwrap();
        let b = Model::fit(d.train.x.view(), d.train_classes().unwrap(), &params).unwrap();
        let bytes = encode(&a).unwrap();
        assert_eq!(bytes, encode(&b).unwrap(), "{} refit differs", params.kind());
        let back: Model = decode(&bytes, 1 << 30).unwrap();
        assert_eq!(back, a);
        assert_eq!(
            back.predict_positive(d.test.x.view()).unwrap(),
            a.predict_positive(d.test.x.view()).unwrap()
        );
    }
}

#[test]
fn forest_is_the_same_for_any_thread_count_and_differs_by_seed() {
    let d = &titanic_split().data;
    let fit = |threads, seed| {
        let p = ForestParams { n_trees: 24, threads, seed, ..Default::default() };
        encode(&RandomForest::fit(d.train.x.view(), d.train_classes().unwrap(), &p).unwrap()).unwrap()
    };
    let one = fit(1, 7);
    assert_eq!(one, fit(2, 7));
    assert_eq!(one, fit(5, 7));
    assert_ne!(one, fit(2, 8));
}

#[test]
fn probabilities_are_in_range_and_oriented_toward_class_1() {
    // Class 1 for large x: every model must give larger P(class 1) to larger x.
    let x =
        Array2::from_shape_fn((40, 2), |(i, j)| if j == 0 { i as f64 / 4.0 } else { ((i * 7) % 5) as f64 });
    let y: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
    let probe = array![[0.0, 2.0], [2.0, 2.0], [8.0, 2.0], [9.75, 2.0]];
    for params in all_params() {
        let m = Model::fit(x.view(), &y, &params).unwrap();
        let p = m.predict_positive(probe.view()).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{}: {p}", params.kind());
        assert!(p[3] > p[0] && p[2] > 0.5 && p[1] < 0.5, "{}: {p}", params.kind());
        assert_eq!(m.predict(probe.view()).unwrap().to_vec(), [0, 0, 1, 1], "{}", params.kind());
        // Flipping the labels flips the orientation.
        let flipped: Vec<usize> = y.iter().map(|l| 1 - l).collect();
        let q = Model::fit(x.view(), &flipped, &params).unwrap().predict_positive(probe.view()).unwrap();
        assert!(q[0] > q[3], "{} flipped: {q}", params.kind());
    }
    let t = titanic_split();
    for params in all_params() {
        let d = t.inputs(&params);
        let p = Model::fit(d.train.x.view(), d.train_classes().unwrap(), &params)
            .unwrap()
            .predict_positive(d.test.x.view())
            .unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{}", params.kind());
    }
}

#[test]
fn models_work_behind_the_object_safe_trait() {
    let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]];
    let y = [0, 0, 0, 1, 1, 1];
    let boxed: Vec<Box<dyn Classifier>> = all_params()
        .iter()
        .map(|p| Box::new(Model::fit(x.view(), &y, p).unwrap()) as Box<dyn Classifier>)
        .collect();
    for m in &boxed {
        assert_eq!(m.n_features(), 1);
        assert_eq!(m.predict(array![[-1.0], [6.0]].view()).unwrap().to_vec(), [0, 1]);
        assert_eq!(m.predict_positive(Array2::zeros((0, 1)).view()).unwrap().len(), 0);
    }
}

// ---------- bad input: each case, for every model kind ----------

fn fit_all(x: Array2<f64>, y: &[usize]) -> Vec<ModelError> {
    all_params().iter().map(|p| Model::fit(x.view(), y, p).expect_err(p.kind())).collect()
}

#[test]
fn nan_in_x_names_row_and_column() {
    let mut x = Array2::from_shape_fn((5, 3), |(i, j)| (i + j) as f64);
    x[[3, 2]] = f64::NAN;
    for e in fit_all(x, &[0, 1, 0, 1, 0]) {
        assert!(matches!(e, ModelError::NonFinite { row: 3, column: 2, .. }), "{e}");
        assert!(e.to_string().contains("row 3, column 2") && e.to_string().contains("impute"), "{e}");
    }
}

#[test]
fn infinity_in_x_names_row_and_column() {
    let mut x = Array2::from_shape_fn((5, 3), |(i, j)| (i + j) as f64);
    x[[1, 0]] = f64::NEG_INFINITY;
    for e in fit_all(x, &[0, 1, 0, 1, 0]) {
        assert!(matches!(e, ModelError::NonFinite { row: 1, column: 0, .. }), "{e}");
        assert!(e.to_string().contains("-inf"), "{e}");
    }
}

#[test]
fn length_mismatch_is_an_error() {
    for e in fit_all(Array2::zeros((4, 2)), &[0, 1, 0]) {
        assert_eq!(e, ModelError::LengthMismatch { rows: 4, labels: 3 });
        assert!(e.to_string().contains("4 rows but y has 3 labels"));
    }
}

#[test]
fn labels_are_classes_0_to_k_with_none_skipped() {
    let x = Array2::from_shape_fn((4, 2), |(i, j)| (i * j) as f64);
    for params in all_params() {
        // Three classes: a model with one probability column per class.
        let fitted =
            Model::fit(x.view(), &[0, 1, 2, 1], &params).unwrap_or_else(|e| panic!("{}: {e}", params.kind()));
        assert_eq!(fitted.n_classes(), 3, "{}", params.kind());
        // Skipping a class index is the error, naming the class.
        let e = Model::fit(x.view(), &[0, 1, 3, 1], &params).expect_err(params.kind());
        assert_eq!(e, ModelError::MissingClass { class: 2, classes: 4 }, "{}", params.kind());
        assert!(e.to_string().contains("class 2 has no rows"), "{e}");
    }
}

#[test]
fn a_single_class_is_an_error() {
    let x = Array2::from_shape_fn((4, 2), |(i, j)| (i * j) as f64);
    for params in all_params() {
        // Labels 0..k with class 0 absent.
        let e = Model::fit(x.view(), &[1, 1, 1, 1], &params).expect_err(params.kind());
        assert_eq!(e, ModelError::MissingClass { class: 0, classes: 2 }, "{}", params.kind());
        assert!(e.to_string().contains("class 0 has no rows"));
    }
    for e in fit_all(x, &[0, 0, 0, 0]) {
        assert_eq!(e, ModelError::SingleClass { class: 0, count: 4 });
    }
}

#[test]
fn empty_x_is_an_error() {
    for e in fit_all(Array2::zeros((0, 3)), &[]) {
        assert!(matches!(e, ModelError::Empty { rows: 0, columns: 3, .. }), "{e}");
        assert!(e.to_string().contains("empty"));
    }
    for e in fit_all(Array2::zeros((2, 0)), &[0, 1]) {
        assert!(matches!(e, ModelError::Empty { rows: 2, columns: 0, .. }), "{e}");
    }
}

#[test]
fn predicting_with_a_different_feature_count_is_an_error() {
    let x = Array2::from_shape_fn((6, 3), |(i, j)| (i * (j + 1)) as f64);
    let y = [0, 0, 0, 1, 1, 1];
    for params in all_params() {
        let m = Model::fit(x.view(), &y, &params).unwrap();
        let e = m.predict_positive(Array2::zeros((2, 4)).view()).unwrap_err();
        assert_eq!(e, ModelError::FeatureCount { expected: 3, found: 4 });
        assert!(e.to_string().contains("fitted on 3 features but the input has 4 columns"));
        assert!(m.predict(Array2::zeros((1, 2)).view()).is_err());
    }
}

#[test]
fn nan_at_prediction_time_names_row_and_column() {
    let x = Array2::from_shape_fn((6, 2), |(i, j)| (i * (j + 1)) as f64);
    let y = [0, 0, 0, 1, 1, 1];
    let mut probe = Array2::zeros((3, 2));
    probe[[2, 1]] = f64::NAN;
    for params in all_params() {
        let m = Model::fit(x.view(), &y, &params).unwrap();
        let e = m.predict(probe.view()).unwrap_err();
        assert!(
            matches!(e, ModelError::NonFinite { row: 2, column: 1, what: "prediction input", .. }),
            "{e}"
        );
    }
}

#[test]
fn invalid_hyperparameters_are_errors() {
    let x = array![[0.0], [1.0], [2.0], [3.0]];
    let y = [0, 0, 1, 1];
    let bad = [
        ModelParams::Tree(TreeParams { max_depth: Some(0), ..Default::default() }),
        ModelParams::Tree(TreeParams { min_samples_split: 1, ..Default::default() }),
        ModelParams::Tree(TreeParams { max_features: MaxFeatures::Fraction(1.5), ..Default::default() }),
        ModelParams::Forest(ForestParams { n_trees: 0, ..Default::default() }),
        ModelParams::Forest(ForestParams { max_features: MaxFeatures::Count(0), ..Default::default() }),
        ModelParams::Logistic(LogisticParams { c: f64::NAN, ..Default::default() }),
        ModelParams::Logistic(LogisticParams { max_iter: 0, ..Default::default() }),
        ModelParams::Logistic(LogisticParams { c: 1e-310, ..Default::default() }), // subnormal
        ModelParams::NaiveBayes(NaiveBayesParams { var_smoothing: -1.0 }),
        ModelParams::Svm(SvmParams { c: -1.0, ..Default::default() }),
        ModelParams::Svm(SvmParams { gamma: Gamma::Value(0.0), ..Default::default() }),
        ModelParams::Svm(SvmParams { tol: 0.0, ..Default::default() }),
        ModelParams::Svm(SvmParams { platt_folds: 3, ..Default::default() }), // smaller class has 2 rows
    ];
    for p in bad {
        let e = Model::fit(x.view(), &y, &p).unwrap_err();
        assert!(matches!(e, ModelError::InvalidParam { .. }), "{p:?}: {e}");
        assert!(e.to_string().starts_with("invalid"), "{e}");
    }
}

#[test]
fn svm_cross_validated_platt_is_deterministic_and_accurate() {
    let d = &titanic_split().scaled;
    let p = SvmParams { platt_folds: 5, ..Default::default() };
    let a = Svm::fit(d.train.x.view(), d.train_classes().unwrap(), &p).unwrap();
    assert_eq!(
        encode(&a).unwrap(),
        encode(&Svm::fit(d.train.x.view(), d.train_classes().unwrap(), &p).unwrap()).unwrap()
    );
    let pred = a.predict(d.test.x.view()).unwrap();
    let acc = accuracy(pred.as_slice().unwrap(), d.test_classes().unwrap());
    // scikit-learn 1.9.1 `SVC(probability=True, random_state=0)` (5-fold Platt) on the same
    // standardized features: 0.7978.
    assert!((acc - 0.7978).abs() <= 0.02, "5-fold Platt SVM hold-out accuracy {acc:.4}, scikit-learn 0.7978");
}

/// Writes the pipeline's training and hold-out matrices and labels (raw and standardized) for a
/// scikit-learn comparison, and prints our hold-out accuracies.
#[test]
#[ignore]
fn export_titanic() {
    let t = titanic_split();
    let dir = std::path::Path::new("/tmp/mlflow-models-titanic");
    std::fs::create_dir_all(dir).unwrap();
    let matrix = |x: &Array2<f64>| {
        let rows: Vec<String> = x
            .rows()
            .into_iter()
            .map(|r| r.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(","))
            .collect();
        rows.join("\n") + "\n"
    };
    let labels = |v: &[usize]| v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n") + "\n";
    for (prefix, d) in [("", &t.data), ("scaled_", &t.scaled)] {
        std::fs::write(dir.join(format!("{prefix}X_train.csv")), matrix(&d.train.x)).unwrap();
        std::fs::write(dir.join(format!("{prefix}X_test.csv")), matrix(&d.test.x)).unwrap();
    }
    std::fs::write(dir.join("y_train.csv"), labels(t.data.train_classes().unwrap())).unwrap();
    std::fs::write(dir.join("y_test.csv"), labels(t.data.test_classes().unwrap())).unwrap();
    std::fs::write(dir.join("names.csv"), t.data.train.names.join(",") + "\n").unwrap();
    for params in all_params() {
        println!("ours: {:<20} {:.4}", params.kind(), holdout_accuracy(t, &params));
    }
    for n in [5, 20] {
        println!("ours: random forest mean over seeds 0..{n}: {:.4}", forest_mean_accuracy(t, n));
    }
    let d = &t.scaled;
    let cv = Svm::fit(
        d.train.x.view(),
        d.train_classes().unwrap(),
        &SvmParams { platt_folds: 5, ..Default::default() },
    )
    .unwrap();
    let f = cv.decision_function(d.test.x.view()).unwrap();
    let by_sign: Vec<usize> = f.iter().map(|v| usize::from(*v > 0.0)).collect();
    let by_proba = cv.predict(d.test.x.view()).unwrap();
    println!(
        "ours: SVM decision>0 {:.4}, SVM 5-fold Platt {:.4}, n_support {}",
        accuracy(&by_sign, d.test_classes().unwrap()),
        accuracy(by_proba.as_slice().unwrap(), d.test_classes().unwrap()),
        cv.n_support()
    );
}

#[test]
fn extreme_finite_values_do_not_panic() {
    let x =
        array![[1e300, -1e300], [-1e300, 1e300], [1e-300, 0.0], [f64::MAX, f64::MIN], [0.0, 1.0], [2.0, 3.0]];
    let y = [0, 1, 0, 1, 1, 0];
    for params in all_params() {
        let m = Model::fit(x.view(), &y, &params).unwrap();
        let p = m.predict_positive(x.view()).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{}: {p}", params.kind());
    }
}

// ---------- numerics against scikit-learn (tests/fixtures/numerics, written by generate.py) ----------

fn array2(rows: &[Vec<f64>]) -> Array2<f64> {
    let p = rows.first().map_or(0, Vec::len);
    Array2::from_shape_vec((rows.len(), p), rows.iter().flat_map(|r| r.iter().copied()).collect()).unwrap()
}

#[derive(serde::Deserialize)]
struct SvmNearConstant {
    x_train: Vec<Vec<f64>>,
    y_train: Vec<usize>,
    x_test: Vec<Vec<f64>>,
    y_test: Vec<usize>,
    scale: Vec<f64>,
    gamma: f64,
    auc_proba: f64,
}

/// A column that is 0.1 in all 455 training rows and 0.2 in the test rows: the standardized test
/// value stays 0.1 (scikit-learn's near-constant rule), so the RBF SVM keeps scikit-learn's AUC.
/// (Before the rule, the computed std of the 0.1s was 8e-16, 0.2 became 1.2e14, every test row
/// was so far from every support vector that every kernel value was 0, and the AUC fell to 0.5.)
#[test]
fn svm_on_a_near_constant_column_matches_scikit_learn_auc() {
    use mlflow::eval::roc_auc;
    use mlflow::features::{FeatureMatrix, StandardScaler};
    let f: SvmNearConstant =
        serde_json::from_str(include_str!("../fixtures/numerics/svm_near_constant.json")).unwrap();
    assert_eq!(f.x_train.len(), 455);
    let mut rows = f.x_train.clone();
    rows.extend(f.x_test.iter().cloned());
    let names: Vec<String> = (0..f.scale.len()).map(|j| format!("x{j}")).collect();
    let m = FeatureMatrix { names, x: array2(&rows) };
    let train: Vec<usize> = (0..455).collect();
    let test: Vec<usize> = (455..rows.len()).collect();
    let scaler = StandardScaler.fit_matrix(&m, &train).unwrap();
    for (s, expected) in scaler.scalers().iter().zip(&f.scale) {
        assert!((s.scale() - expected).abs() <= 1e-12 * expected, "scale {} vs {expected}", s.scale());
    }
    let scaled = scaler.transform(&m).unwrap();
    let (xtr, xte) = (scaled.select_rows(&train).unwrap().x, scaled.select_rows(&test).unwrap().x);
    assert!(xte.column(5).iter().all(|v| (v - 0.1).abs() < 1e-15), "{}", xte.column(5));
    let gamma = Gamma::Scale.resolve(xtr.view());
    assert!((gamma - f.gamma).abs() <= 1e-12 * f.gamma, "gamma {gamma} vs {}", f.gamma);
    let svm = Svm::fit(xtr.view(), &f.y_train, &SvmParams { platt_folds: 5, ..Default::default() }).unwrap();
    let auc = roc_auc(&f.y_test, svm.predict_positive(xte.view()).unwrap().as_slice().unwrap()).unwrap();
    assert!(
        (auc - f.auc_proba).abs() <= 0.02,
        "SVM test AUC {auc:.4}, scikit-learn StandardScaler + SVC(probability=True): {:.4}",
        f.auc_proba
    );
}

/// `Gamma::Scale` calls a matrix constant by the scaler's rule: 455 rows of 0.1 give gamma 1,
/// not 1 / (rounding noise).
#[test]
fn gamma_scale_of_a_near_constant_matrix_is_one() {
    let x = Array2::from_elem((455, 2), 0.1);
    assert_eq!(Gamma::Scale.resolve(x.view()), 1.0);
    let x = Array2::from_shape_fn((400, 1), |(i, _)| 1e9 + [0.0, 1.2e-7, -1.2e-7, 2.4e-7][i % 4]);
    assert_eq!(Gamma::Scale.resolve(x.view()), 1.0);
}
#[derive(serde::Deserialize)]
struct LogisticFixture {
    x: Vec<Vec<f64>>,
    y: Vec<usize>,
    unpenalized: Coefficients,
    default_c: Coefficients,
}

#[derive(serde::Deserialize)]
struct Coefficients {
    coef: Vec<f64>,
    intercept: f64,
}

fn logistic_fixture() -> LogisticFixture {
    serde_json::from_str(include_str!("../fixtures/numerics/logistic_huge_features.json")).unwrap()
}

#[test]
fn logistic_matches_scikit_learn_coefficients() {
    let f = logistic_fixture();
    let m = LogisticRegression::fit(array2(&f.x).view(), &f.y, &LogisticParams::default()).unwrap();
    assert!(m.converged());
    for (w, expected) in m.coefficients().iter().zip(&f.default_c.coef) {
        assert!((w - expected).abs() <= 1e-8 * expected.abs().max(1.0), "{w} vs {expected}");
    }
    assert!((m.intercept() - f.default_c.intercept).abs() <= 1e-8, "{}", m.intercept());
}

/// Features around 1e154 (and up to 1e300): their squares overflow the Hessian, which used to
/// send Newton's method to a gradient step some 1e308 times too long, reject every halving of it
/// and report the starting point, zero weights, as converged. scikit-learn's lbfgs stops there
/// after 0 iterations with a ConvergenceWarning and zero weights (the fixture records it). Ours
/// fits: the L2 penalty on weights of ~1e-154 is below 1e-300, so the answer is the unpenalized
/// fit on the unscaled features, with the weights divided by the factor.
#[test]
fn logistic_fits_features_around_1e154() {
    let f = logistic_fixture();
    let x = array2(&f.x);
    for factor in [1e154, 1e200, 1e300, 2f64.powi(600)] {
        let xs = x.mapv(|v| v * factor);
        let m = LogisticRegression::fit(xs.view(), &f.y, &LogisticParams::default()).unwrap();
        assert!(m.converged(), "{factor:e}: not converged after {} iterations", m.n_iter());
        for (w, expected) in m.coefficients().iter().zip(&f.unpenalized.coef) {
            let w = w * factor;
            assert!(
                (w - expected).abs() <= 1e-6 * expected.abs(),
                "{factor:e}: weight x factor {w} vs {expected}"
            );
        }
        assert!(
            (m.intercept() - f.unpenalized.intercept).abs() <= 1e-6,
            "{factor:e}: intercept {} vs {}",
            m.intercept(),
            f.unpenalized.intercept
        );
        let p = m.predict_positive(xs.view()).unwrap();
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));
        let acc = accuracy(m.predict(xs.view()).unwrap().as_slice().unwrap(), &f.y);
        assert!(acc > 0.9, "{factor:e}: training accuracy {acc}");
    }
}

/// Stopping at `max_iter` is reported, never called convergence.
#[test]
fn logistic_that_stops_early_is_not_converged() {
    let f = logistic_fixture();
    let x = array2(&f.x).mapv(|v| v * 1e154);
    let m = LogisticRegression::fit(x.view(), &f.y, &LogisticParams { max_iter: 1, ..Default::default() })
        .unwrap();
    assert!(!m.converged() && m.n_iter() == 1);
}
