//! Linear regression (ordinary least squares and ridge) through the public API: parity with
//! scikit-learn on the committed fixtures, determinism, and every bad-input case as a clear error.
//!
//! `tests/fixtures/linear/expected.json` is written by `tests/fixtures/linear/generate.py`
//! (scikit-learn 1.9.1's `LinearRegression` and `Ridge`; see the script for the versions and how
//! to rerun it). The diabetes case reads `examples/data/diabetes/diabetes.csv`.
//! `cargo test --features serve --test ml regression_parity -- --nocapture` prints the largest
//! relative differences to scikit-learn (coefficients, intercept, predictions) and, where the
//! fixture has the exact solution, ours and scikit-learn's distance to it.

use std::path::Path;
use std::sync::OnceLock;

use mlflow::codec::{decode, encode};
use mlflow::models::*;
use ndarray::{Array2, array};
use serde::Deserialize;

/// Coefficients, intercepts and predictions must equal scikit-learn's to this, relative (plus
/// scikit-learn's own distance to the exact solution, where the fixture has it: its Cholesky solve
/// of the normal equations on an ill-conditioned case is 1.35e-8 off).
const RELATIVE: f64 = 1e-8;
/// Coefficients must equal the exact solution (rounded to floats), where the fixture has it, to
/// this, relative: the largest condition number among the cases is about 1e5.
const EXACT: f64 = 1e-10;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Option<Vec<Vec<f64>>>,
    y: Option<Vec<f64>>,
    x_test: Option<Vec<Vec<f64>>>,
    data: Option<String>,
    fits: Vec<Fit>,
}

#[derive(Deserialize)]
struct Fit {
    estimator: String,
    alpha: f64,
    fit_intercept: bool,
    coef: Vec<f64>,
    intercept: f64,
    rank: Option<usize>,
    exact_coef: Option<Vec<f64>>,
    predictions: Vec<f64>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let text = std::fs::read_to_string(root().join("tests/fixtures/linear/expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
    let p = rows[0].len();
    Array2::from_shape_vec((rows.len(), p), rows.concat()).unwrap()
}

/// The diabetes data: 442 rows of 10 raw features, and the target.
fn diabetes() -> (Array2<f64>, Vec<f64>) {
    static DATA: OnceLock<(Array2<f64>, Vec<f64>)> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut reader = csv::Reader::from_path(root().join("examples/data/diabetes/diabetes.csv")).unwrap();
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut rows = 0;
        for record in reader.records() {
            let values: Vec<f64> = record.unwrap().iter().map(|v| v.parse().unwrap()).collect();
            assert_eq!(values.len(), 11);
            x.extend_from_slice(&values[..10]);
            y.push(values[10]);
            rows += 1;
        }
        (Array2::from_shape_vec((rows, 10), x).unwrap(), y)
    })
    .clone()
}

/// `(x, y, x_test)` of a case.
fn inputs(case: &Case) -> (Array2<f64>, Vec<f64>, Array2<f64>) {
    match &case.data {
        Some(path) => {
            assert_eq!(path, "examples/data/diabetes/diabetes.csv");
            let (x, y) = diabetes();
            (x.clone(), y, x)
        }
        None => {
            (matrix(case.x.as_ref().unwrap()), case.y.clone().unwrap(), matrix(case.x_test.as_ref().unwrap()))
        }
    }
}

fn params(fit: &Fit) -> LinearParams {
    LinearParams { alpha: fit.alpha, fit_intercept: fit.fit_intercept, ..Default::default() }
}

/// `|ours - theirs| / |theirs|`, with a floor of `scale` (the largest magnitude of the vector)
/// times 1e-12 under the denominator, so that an exact zero compares with rounding noise.
fn relative(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let floor = (scale * 1e-12).max(f64::MIN_POSITIVE);
    ours.iter().zip(theirs).map(|(a, b)| (a - b).abs() / b.abs().max(floor)).fold(0.0, f64::max)
}

#[test]
fn regression_parity_with_scikit_learn() {
    let fixture = fixture();
    assert_eq!(fixture.cases.len(), 9);
    let mut failures = Vec::new();
    println!(
        "{:<26} {:<40} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "case", "estimator", "coef", "intercept", "predict", "ours-ex", "skl-ex"
    );
    for case in &fixture.cases {
        let (x, y, x_test) = inputs(case);
        for fit in &case.fits {
            let model = LinearRegression::fit(x.view(), &y, &params(fit)).unwrap();
            let coef = relative(model.coef(), &fit.coef);
            let intercept = relative(&[model.intercept()], &[fit.intercept]);
            let predictions =
                relative(model.predict(x_test.view()).unwrap().as_slice().unwrap(), &fit.predictions);
            let (ours_exact, theirs_exact, shown) = match &fit.exact_coef {
                Some(exact) => {
                    let (ours, theirs) = (relative(model.coef(), exact), relative(&fit.coef, exact));
                    (ours, theirs, format!("{ours:>9.2e} {theirs:>9.2e}"))
                }
                None => (0.0, 0.0, format!("{:>9} {:>9}", "-", "-")),
            };
            println!(
                "{:<26} {:<40} {coef:>9.2e} {intercept:>9.2e} {predictions:>9.2e} {shown}",
                case.name, fit.estimator
            );
            let allowed = RELATIVE + theirs_exact;
            if coef > allowed || intercept > allowed || predictions > allowed || ours_exact > EXACT {
                failures.push(format!(
                    "{} / {}: coef {coef:.2e}, intercept {intercept:.2e}, predictions {predictions:.2e} \
                     (allowed {allowed:.2e}); to the exact solution {ours_exact:.2e} (allowed {EXACT:e})",
                    case.name, fit.estimator
                ));
            }
            if let Some(rank) = fit.rank {
                assert_eq!(model.rank(), rank, "{} / {}: rank", case.name, fit.estimator);
            }
            assert_eq!(model.alpha(), fit.alpha);
            assert_eq!(model.n_features(), fit.coef.len());
            if !fit.fit_intercept {
                assert_eq!(model.intercept(), 0.0);
            }
        }
    }
    assert!(failures.is_empty(), "not within tolerance:\n{}", failures.join("\n"));
}

/// The parity test can fail: a slightly different penalty is far off scikit-learn's coefficients.
#[test]
fn regression_parity_detects_a_different_fit() {
    let case = fixture().cases.iter().find(|c| c.name == "well conditioned").unwrap();
    let (x, y, _) = inputs(case);
    let fit = case.fits.iter().find(|f| f.alpha == 1.0 && f.fit_intercept).unwrap();
    let off = LinearParams { alpha: 1.0 + 1e-6, ..params(fit) };
    let model = LinearRegression::fit(x.view(), &y, &off).unwrap();
    assert!(relative(model.coef(), &fit.coef) > RELATIVE);
}

#[test]
fn regression_minimum_norm_on_duplicated_columns() {
    let case = fixture().cases.iter().find(|c| c.name == "duplicated column").unwrap();
    let (x, y, _) = inputs(case);
    let model = LinearRegression::fit(x.view(), &y, &LinearParams::default()).unwrap();
    assert_eq!(model.rank(), 3);
    let w = model.coef();
    // Column 3 is a copy of column 1: the weight is split evenly, to rounding.
    assert!((w[1] - w[3]).abs() <= 1e-12 * w[1].abs(), "{w:?}");
}

#[test]
fn regression_is_deterministic() {
    let (x, y) = diabetes();
    for params in [LinearParams::default(), LinearParams::ridge(1.0)] {
        let a = LinearRegression::fit(x.view(), &y, &params).unwrap();
        let b = LinearRegression::fit(x.view(), &y, &params).unwrap();
        assert_eq!(a, b);
        let bytes = encode(&a).unwrap();
        assert_eq!(bytes, encode(&b).unwrap());
        let back: LinearRegression = decode(&bytes, 1 << 20).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.predict(x.view()).unwrap(), a.predict(x.view()).unwrap());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<LinearRegression>(&json).unwrap(), a);
    }
}

#[test]
fn regression_as_a_trait_object() {
    let (x, y) = diabetes();
    let models: Vec<Box<dyn Regressor>> = vec![
        Box::new(LinearRegression::fit(x.view(), &y, &LinearParams::default()).unwrap()),
        Box::new(LinearRegression::fit(x.view(), &y, &LinearParams::ridge(1.0)).unwrap()),
    ];
    for m in &models {
        assert_eq!(m.n_features(), 10);
        let p = m.predict(x.view()).unwrap();
        // Better than predicting the mean: R^2 on the training rows is about 0.52.
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        let ss_res: f64 = p.iter().zip(&y).map(|(p, y)| (p - y).powi(2)).sum();
        let ss_tot: f64 = y.iter().map(|y| (y - mean).powi(2)).sum();
        let r2 = 1.0 - ss_res / ss_tot;
        assert!((0.5..0.53).contains(&r2), "R^2 {r2}");
        assert_eq!(m.predict(Array2::zeros((0, 10)).view()).unwrap().len(), 0);
    }
}

// ---------- bad input: what, where and what to do ----------

fn fit_err(x: Array2<f64>, y: &[f64], params: &LinearParams) -> ModelError {
    LinearRegression::fit(x.view(), y, params).unwrap_err()
}

#[test]
fn regression_rejects_empty_data() {
    let e = fit_err(Array2::zeros((0, 3)), &[], &LinearParams::default());
    assert_eq!(e, ModelError::Empty { what: "training data", rows: 0, columns: 3 });
    assert_eq!(
        e.to_string(),
        "training data is empty (0 rows x 3 columns); a model needs at least one row and one feature column"
    );
    let e = fit_err(Array2::zeros((2, 0)), &[1.0, 2.0], &LinearParams::ridge(1.0));
    assert_eq!(e, ModelError::Empty { what: "training data", rows: 2, columns: 0 });
}

#[test]
fn regression_rejects_non_finite_features() {
    let e =
        fit_err(array![[1.0, 2.0], [3.0, f64::NAN], [5.0, 6.0]], &[1.0, 2.0, 3.0], &LinearParams::default());
    assert!(matches!(e, ModelError::NonFinite { what: "training data", row: 1, column: 1, .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "training data has a non-finite value NaN at row 1, column 1; impute or drop missing values and clip \
         infinities before fitting or predicting"
    );
    let e = fit_err(array![[f64::INFINITY, 2.0], [3.0, 4.0]], &[1.0, 2.0], &LinearParams::ridge(1.0));
    assert!(e.to_string().contains("non-finite value inf at row 0, column 0"), "{e}");
}

#[test]
fn regression_rejects_non_finite_targets() {
    let x = array![[1.0], [2.0], [3.0]];
    let e = fit_err(x.clone(), &[1.0, 2.0, f64::NEG_INFINITY], &LinearParams::default());
    assert_eq!(e, ModelError::NonFiniteTarget { row: 2, value: f64::NEG_INFINITY });
    assert_eq!(
        e.to_string(),
        "the target y has a non-finite value -inf at row 2; drop or impute the rows with a missing or infinite \
         target before fitting"
    );
    let e = fit_err(x, &[f64::NAN, 2.0, 3.0], &LinearParams::ridge(1.0));
    assert!(matches!(e, ModelError::NonFiniteTarget { row: 0, .. }), "{e:?}");
}

#[test]
fn regression_rejects_length_mismatch() {
    let e = fit_err(array![[1.0], [2.0], [3.0]], &[1.0, 2.0], &LinearParams::default());
    assert_eq!(e, ModelError::TargetCount { rows: 3, targets: 2 });
    assert_eq!(e.to_string(), "x has 3 rows but y has 2 target values; pass one target value per row of x");
}

#[test]
fn regression_rejects_bad_alpha() {
    let x = array![[1.0], [2.0]];
    let e = fit_err(x.clone(), &[1.0, 2.0], &LinearParams::ridge(-0.5));
    assert_eq!(
        e.to_string(),
        "invalid linear regression parameter `alpha` = -0.5: a finite number >= 0: 0 for ordinary least \
         squares, > 0 for ridge (scikit-learn's Ridge uses 1.0)"
    );
    for alpha in [f64::NAN, f64::INFINITY, -f64::MIN_POSITIVE] {
        let e = fit_err(x.clone(), &[1.0, 2.0], &LinearParams::ridge(alpha));
        assert!(matches!(e, ModelError::InvalidParam { param: "alpha", .. }), "{alpha}: {e:?}");
    }
    for rank_tol in [f64::NAN, -1e-6, f64::INFINITY] {
        let e = fit_err(x.clone(), &[1.0, 2.0], &LinearParams { rank_tol, ..Default::default() });
        assert!(matches!(e, ModelError::InvalidParam { param: "rank_tol", .. }), "{rank_tol}: {e:?}");
        assert!(e.to_string().contains("1e-6"), "{e}");
    }
}

#[test]
fn regression_prediction_input_is_checked() {
    let m = LinearRegression::fit(
        array![[1.0, 0.0], [2.0, 1.0], [3.0, 5.0]].view(),
        &[1.0, 2.0, 4.0],
        &LinearParams::default(),
    )
    .unwrap();
    let e = m.predict(array![[1.0, 2.0, 3.0]].view()).unwrap_err();
    assert_eq!(e, ModelError::FeatureCount { expected: 2, found: 3 });
    assert!(e.to_string().contains("fitted on 2 features but the input has 3 columns"), "{e}");
    let e = m.predict(array![[1.0, 2.0], [f64::NAN, 0.0]].view()).unwrap_err();
    assert!(matches!(e, ModelError::NonFinite { what: "prediction input", row: 1, column: 0, .. }), "{e:?}");
}
