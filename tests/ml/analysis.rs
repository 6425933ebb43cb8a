//! Model analysis: calibration curves equal to scikit-learn's and group rates equal to
//! fairlearn's (tests/fixtures/analysis, made by its generate.py), permutation importance on a
//! real model, and refused inputs.

use std::collections::BTreeMap;

use mlflow::analysis::{AnalysisError, Binning, calibration_curve, fairness, permutation_importance};
use mlflow::models::{Classifier, ForestParams, Model, ModelParams};

#[derive(serde::Deserialize)]
struct Fixture {
    calibration: Vec<CalibrationCase>,
    fairness: Vec<FairnessCase>,
}

#[derive(serde::Deserialize)]
struct CalibrationCase {
    y: Vec<usize>,
    p: Vec<f64>,
    n_bins: usize,
    strategy: String,
    prob_true: Vec<f64>,
    prob_pred: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct FairnessCase {
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
    groups: Vec<String>,
    by_group: BTreeMap<String, BTreeMap<String, f64>>,
    demographic_parity_difference: f64,
    equalized_odds_difference: f64,
}

fn fixture() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/analysis/analysis.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-9)
}

#[test]
fn calibration_curves_are_scikit_learns() {
    for case in fixture().calibration {
        let binning = if case.strategy == "uniform" { Binning::Uniform } else { Binning::Quantile };
        let curve = calibration_curve(&case.y, &case.p, case.n_bins, binning).unwrap();
        let label = format!("{} bins {}", case.n_bins, case.strategy);
        assert!(
            close(&curve.fraction_positive, &case.prob_true),
            "{label}: {:?} vs {:?}",
            curve.fraction_positive,
            case.prob_true
        );
        assert!(
            close(&curve.mean_predicted, &case.prob_pred),
            "{label}: {:?} vs {:?}",
            curve.mean_predicted,
            case.prob_pred
        );
        assert_eq!(curve.counts.iter().sum::<usize>(), case.y.len());
        let ece = curve.expected_calibration_error();
        assert!((0.0..=1.0).contains(&ece), "{label}: {ece}");
    }
}

#[test]
fn a_perfectly_calibrated_bin_has_no_calibration_error() {
    let curve = calibration_curve(&[0, 1, 0, 1], &[0.5, 0.5, 0.5, 0.5], 2, Binning::Uniform).unwrap();
    assert_eq!((curve.fraction_positive.as_slice(), curve.counts.as_slice()), (&[0.5][..], &[4][..]));
    assert_eq!(curve.expected_calibration_error(), 0.0);
}

#[test]
fn group_rates_are_fairlearns() {
    for case in fixture().fairness {
        let f = fairness(&case.y_true, &case.y_pred, &case.groups).unwrap();
        assert_eq!(f.groups.len(), case.by_group.len());
        for g in &f.groups {
            let want = &case.by_group[&g.group];
            assert!((g.selection_rate - want["selection_rate"]).abs() <= 1e-12, "{}", g.group);
            assert!((g.true_positive_rate - want["tpr"]).abs() <= 1e-12, "{}", g.group);
            assert!((g.false_positive_rate - want["fpr"]).abs() <= 1e-12, "{}", g.group);
        }
        assert!((f.demographic_parity_difference - case.demographic_parity_difference).abs() <= 1e-12);
        assert!((f.equalized_odds_difference - case.equalized_odds_difference).abs() <= 1e-12);
    }
}

#[test]
fn permutation_importance_finds_the_informative_feature_and_zero_for_an_unused_one() {
    // Column 0 decides the class; column 1 is noise; column 2 is constant (never split on).
    let n = 200;
    let x = ndarray::Array2::from_shape_fn((n, 3), |(i, j)| match j {
        0 => (i % 2) as f64 + (i % 7) as f64 * 0.01,
        1 => ((i * 37) % 11) as f64,
        _ => 1.0,
    });
    let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let model =
        Model::fit(x.view(), &y, &ModelParams::Forest(ForestParams { n_trees: 20, ..Default::default() }))
            .unwrap();
    let accuracy = |x: ndarray::ArrayView2<'_, f64>| {
        model.predict(x).map(|p| p.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / n as f64)
    };
    let importances = permutation_importance(x.view(), accuracy, 5, 3, true).unwrap();
    assert!(importances[0].mean > 0.3, "{:?}", importances[0]);
    assert_eq!(importances[2].mean, 0.0, "a constant column changes nothing when shuffled");
    assert_eq!(importances[2].std, 0.0);
    assert!(importances[1].mean.abs() < importances[0].mean);
    assert_eq!(importances, permutation_importance(x.view(), accuracy, 5, 3, true).unwrap(), "seeded");
}

#[test]
fn bad_inputs_are_refused_with_what_and_where() {
    let err = calibration_curve(&[0, 2], &[0.1, 0.2], 5, Binning::Uniform).unwrap_err();
    assert!(err.to_string().contains("row 1: label 2 is not 0 or 1"), "{err}");
    let err = calibration_curve(&[0, 1], &[0.1, 1.2], 5, Binning::Uniform).unwrap_err();
    assert!(err.to_string().contains("row 1: probability 1.2 is outside [0, 1]"), "{err}");
    let err = calibration_curve(&[0, 1], &[0.1, f64::NAN], 5, Binning::Uniform).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    assert!(calibration_curve(&[0], &[0.1], 0, Binning::Uniform).is_err());
    let err = fairness(&[0, 1], &[0, 1], &["a"]).unwrap_err();
    assert!(err.to_string().contains("one of each per row"), "{err}");
    let err = fairness(&[0, 1], &[0, 3], &["a", "b"]).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let x = ndarray::Array2::<f64>::zeros((3, 2));
    let nan = |_: ndarray::ArrayView2<'_, f64>| Ok::<f64, String>(f64::NAN);
    let err = permutation_importance(x.view(), nan, 2, 1, true).unwrap_err();
    assert!(
        matches!(&err, AnalysisError::Score { detail } if detail.contains("not a finite number")),
        "{err}"
    );
    let failing = |_: ndarray::ArrayView2<'_, f64>| Err::<f64, _>("model refused");
    assert!(
        permutation_importance(x.view(), failing, 2, 1, true)
            .unwrap_err()
            .to_string()
            .contains("model refused")
    );
    assert!(permutation_importance(x.view(), |_| Ok::<f64, String>(1.0), 0, 1, true).is_err());
}

#[test]
fn slices_by_value_bins_and_crosses_count_rows_and_flag_small_ones() {
    use mlflow::analysis::{Slicing, slice_metrics};
    use mlflow::data::{Column, Table};
    let sex: Vec<Option<String>> =
        ["f", "m", "f", "m", "f", "m", "m", "m"].iter().map(|s| Some(s.to_string())).collect();
    let age = vec![Some(5.0), Some(30.0), Some(40.0), None, Some(17.0), Some(60.0), Some(18.0), Some(35.0)];
    let table =
        Table::new(vec![("Sex".into(), Column::Str(sex)), ("Age".into(), Column::Float(age))]).unwrap();
    let y = [1, 0, 1, 0, 1, 0, 1, 1];
    let proba = ndarray::Array2::from_shape_fn((8, 2), |(i, j)| {
        let p1 = [0.9, 0.2, 0.7, 0.4, 0.6, 0.1, 0.3, 0.8][i];
        if j == 1 { p1 } else { 1.0 - p1 }
    });
    let by_sex = Slicing::by_value(&table, "Sex").unwrap();
    let slices = slice_metrics(&by_sex, &y, proba.view(), 3).unwrap();
    assert_eq!(slices.iter().map(|s| (s.slice.as_str(), s.count)).collect::<Vec<_>>(), [("f", 3), ("m", 5)]);
    // Every female passenger survived: one class only, so no ROC AUC, and the note says why.
    assert!(slices[0].metrics.is_none() && slices[0].note.is_some(), "{:?}", slices[0]);
    let male = slices[1].metrics.as_ref().unwrap().binary().unwrap();
    assert_eq!((male.samples, male.positives), (5, 2));

    let ages = Slicing::by_bins(&table, "Age", &[17.0, 35.0]).unwrap();
    assert_eq!(ages.labels, ["<= 17", "(17, 35]", "> 35", "null", "<= 17", "> 35", "(17, 35]", "(17, 35]"]);
    let crossed = by_sex.cross(&ages).unwrap();
    let slices = slice_metrics(&crossed, &y, proba.view(), 2).unwrap();
    let counts: Vec<(&str, usize)> = slices.iter().map(|s| (s.slice.as_str(), s.count)).collect();
    assert_eq!(
        counts,
        [("f x <= 17", 2), ("f x > 35", 1), ("m x (17, 35]", 3), ("m x > 35", 1), ("m x null", 1)]
    );
    assert!(slices[1].note.as_deref().unwrap().contains("fewer than 2 rows"));

    assert!(
        Slicing::by_value(&table, "Pclass")
            .unwrap_err()
            .to_string()
            .contains("no column `Pclass`; its columns are Sex, Age")
    );
    assert!(Slicing::by_bins(&table, "Sex", &[1.0]).unwrap_err().to_string().contains("holds text"));
    assert!(
        Slicing::by_bins(&table, "Age", &[30.0, 20.0])
            .unwrap_err()
            .to_string()
            .contains("strictly ascending")
    );
    assert!(
        slice_metrics(&by_sex, &y[..3], proba.view(), 1)
            .unwrap_err()
            .to_string()
            .contains("one of each per row")
    );
}
