//! Metrics on hand-computed cases and against scikit-learn reference values; champion selection.
//!
//! Reference values marked "scikit-learn" were computed once with scikit-learn 1.9.1 / numpy
//! (`sklearn.metrics.*`, predictions as `(scores > threshold).astype(int)`) on exactly the inputs
//! below; scikit-learn is not needed to run these tests.

use mlflow::codec;
use mlflow::eval::{
    BinaryMetrics, EvalError, Metric, accuracy, average_precision, confusion_matrix, evaluate, evaluate_at,
    f1, log_loss, pr_curve, precision, recall, roc_auc, roc_curve, select_champion,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

#[track_caller]
fn assert_close(a: f64, b: f64) {
    assert!(close(a, b), "{a} != {b}");
}

// The small example. Positives (y = 1): 0.35, 0.8, 0.5, 0.9, 0.65; negatives: 0.1, 0.4, 0.5, 0.2, 0.7.
const Y: [usize; 10] = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0];
const S: [f64; 10] = [0.1, 0.4, 0.35, 0.8, 0.5, 0.5, 0.2, 0.9, 0.65, 0.7];

#[test]
fn small_example_by_hand_and_scikit_learn() {
    let m = evaluate(&Y, &S).unwrap();
    // Class 1 when score > 0.5: 0.8, 0.9, 0.65 (tp = 3) and 0.7 (fp = 1); the positives 0.35 and
    // 0.5 are missed (fn = 2); the negatives 0.1, 0.4, 0.5, 0.2 are right (tn = 4).
    assert_eq!(m.confusion, [[4, 1], [2, 3]]); // scikit-learn confusion_matrix: [[4, 1], [2, 3]]
    assert_eq!(m.accuracy, 0.7); // (4 + 3) / 10
    assert_eq!(m.precision, 0.75); // 3 / (3 + 1)
    assert_eq!(m.recall, 0.6); // 3 / (3 + 2)
    assert_close(m.f1, 2.0 / 3.0); // 2*3 / (2*3 + 1 + 2) = 6/9
    // AUC: negatives below each positive (ties half): 0.35 -> 2, 0.8 -> 5, 0.5 -> 3 + 0.5,
    // 0.9 -> 5, 0.65 -> 4; sum 19.5 over 5 x 5 pairs = 0.78. scikit-learn roc_auc_score: 0.78.
    assert_eq!(m.roc_auc, 0.78);
    assert_close(m.log_loss, 0.5238705963747021); // scikit-learn log_loss
    assert_close(m.average_precision, 0.8083333333333333); // scikit-learn average_precision_score
    assert_eq!((m.samples, m.positives, m.threshold), (10, 5, 0.5));

    // The standalone functions agree with the all-in-one.
    assert_eq!(accuracy(&Y, &S, 0.5).unwrap(), m.accuracy);
    assert_eq!(precision(&Y, &S, 0.5).unwrap(), m.precision);
    assert_eq!(recall(&Y, &S, 0.5).unwrap(), m.recall);
    assert_eq!(f1(&Y, &S, 0.5).unwrap(), m.f1);
    assert_eq!(roc_auc(&Y, &S).unwrap(), m.roc_auc);
    assert_eq!(log_loss(&Y, &S).unwrap(), m.log_loss);
    assert_eq!(average_precision(&Y, &S).unwrap(), m.average_precision);
    assert_eq!(confusion_matrix(&Y, &S, 0.5).unwrap(), m.confusion);
}

#[test]
fn small_example_curves_match_scikit_learn() {
    // scikit-learn roc_curve(y, s, drop_intermediate=False).
    let fpr = [0.0, 0.0, 0.0, 0.2, 0.2, 0.4, 0.6, 0.6, 0.8, 1.0];
    let tpr = [0.0, 0.2, 0.4, 0.4, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0];
    let thr = [f64::INFINITY, 0.9, 0.8, 0.7, 0.65, 0.5, 0.4, 0.35, 0.2, 0.1];
    let roc = roc_curve(&Y, &S).unwrap();
    assert_eq!(roc.len(), 10);
    for (i, p) in roc.iter().enumerate() {
        assert_close(p.fpr, fpr[i]);
        assert_close(p.tpr, tpr[i]);
        assert_eq!(p.threshold, thr[i]);
    }
    // scikit-learn precision_recall_curve, reversed (it lists increasing thresholds and appends a
    // final (precision 1, recall 0) point without a threshold, which we do not).
    let precision =
        [1.0, 1.0, 2.0 / 3.0, 0.75, 2.0 / 3.0, 0.5714285714285714, 0.625, 0.5555555555555556, 0.5];
    let recall = [0.2, 0.4, 0.4, 0.6, 0.8, 0.8, 1.0, 1.0, 1.0];
    let pr = pr_curve(&Y, &S).unwrap();
    assert_eq!(pr.len(), 9);
    for (i, p) in pr.iter().enumerate() {
        assert_close(p.precision, precision[i]);
        assert_close(p.recall, recall[i]);
        assert_eq!(p.threshold, thr[i + 1]);
    }
}

#[test]
fn forty_samples_with_many_ties_and_extreme_scores_match_scikit_learn() {
    // numpy default_rng(7): labels integers(0, 2, 40), scores round(random(40), 1). Scores include
    // exact 0.0 and 1.0 and many ties.
    let y: [usize; 40] = [
        1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1,
        1, 1, 1, 1, 0, 1,
    ];
    let s: [f64; 40] = [
        0.2, 0.2, 0.6, 0.0, 0.0, 0.5, 0.5, 0.9, 0.6, 0.5, 0.5, 0.2, 0.0, 0.2, 0.7, 0.2, 0.4, 0.0, 0.8, 0.2,
        0.3, 0.9, 0.5, 0.8, 0.6, 0.7, 0.1, 0.5, 0.5, 0.9, 0.4, 0.6, 0.1, 0.4, 0.3, 0.2, 0.8, 0.4, 1.0, 0.6,
    ];
    let m = evaluate_at(&y, &s, 0.3).unwrap();
    // scikit-learn at (s > 0.3): confusion [[2, 14], [13, 11]], accuracy 0.325, precision 0.44,
    // recall 0.4583333333333333, f1 0.4489795918367347.
    assert_eq!(m.confusion, [[2, 14], [13, 11]]);
    assert_close(m.accuracy, 0.325);
    assert_close(m.precision, 0.44);
    assert_close(m.recall, 0.4583333333333333);
    assert_close(m.f1, 0.4489795918367347);
    // scikit-learn roc_auc_score 0.22786458333333331 (a worse-than-random scorer: AUC < 0.5 is
    // reported as is, not flipped); log_loss with scores 0.0 and 1.0 clipped to [eps, 1 - eps]
    // (machine epsilon, as scikit-learn 1.9.1 clips): 5.433916910043775;
    // average_precision_score 0.4772099024795104.
    assert_close(m.roc_auc, 0.22786458333333331);
    assert!((m.log_loss - 5.433916910043775).abs() < 1e-12, "{}", m.log_loss);
    assert_close(m.average_precision, 0.4772099024795104);
}

#[test]
fn perfect_classifier() {
    let y = [0, 0, 1, 1];
    let m = evaluate(&y, &[0.1, 0.2, 0.8, 0.9]).unwrap();
    assert_eq!(m.confusion, [[2, 0], [0, 2]]);
    assert_eq!((m.accuracy, m.precision, m.recall, m.f1, m.roc_auc), (1.0, 1.0, 1.0, 1.0, 1.0));
    assert_eq!(m.average_precision, 1.0);
    // -(ln 0.9 + ln 0.8 + ln 0.8 + ln 0.9) / 4
    assert_close(m.log_loss, -(0.8f64.ln() + 0.9f64.ln()) / 2.0);
    // Certain and right: the clipped loss is -ln(1 - eps); scikit-learn 1.9.1 gives
    // log_loss([0, 0, 1, 1], [0, 0, 1, 1]) = 2.220446049250313e-16.
    let sure = evaluate(&y, &[0.0, 0.0, 1.0, 1.0]).unwrap();
    assert!((sure.log_loss - 2.220446049250313e-16).abs() < 1e-30, "{}", sure.log_loss);
}

#[test]
fn inverted_classifier() {
    let m = evaluate(&[0, 0, 1, 1], &[0.9, 0.8, 0.2, 0.1]).unwrap();
    // Every positive scores below every negative: no pair won, AUC 0.
    assert_eq!(m.roc_auc, 0.0);
    assert_eq!(m.confusion, [[0, 2], [2, 0]]);
    // tp = 0: precision 0/2, recall 0/2, F1 0 (not NaN).
    assert_eq!((m.accuracy, m.precision, m.recall, m.f1), (0.0, 0.0, 0.0, 0.0));
    // Certain and wrong: the score is clipped to [eps, 1 - eps] with eps = f64::EPSILON (as
    // scikit-learn 1.9 clips), so label 1 at score 0 costs -ln(eps), and label 0 at score 1 costs
    // -ln(1 - (1 - eps)) = -ln(eps) too (1 - eps = 1 - 2^-52 is exact in f64). scikit-learn 1.9.1:
    // log_loss([0, 1], [1.0, 0.0]) = 36.04365338911715.
    let sure = evaluate(&[0, 1], &[1.0, 0.0]).unwrap();
    assert_close(sure.log_loss, 36.04365338911715);
}

#[test]
fn ties_in_scores_count_half() {
    // Positives 0.6, 0.9; negatives 0.2, 0.6. Pairs: (0.6, 0.2) 1, (0.6, 0.6) 1/2, (0.9, *) 2.
    // AUC = 3.5 / 4 = 0.875.
    assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.2, 0.6, 0.6, 0.9]).unwrap(), 0.875);
    // Positives 0.3, 0.7; negatives 0.3, 0.7: (0.3,0.3) 1/2 + (0.3,0.7) 0 + (0.7,0.3) 1 + (0.7,0.7) 1/2.
    assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.3, 0.3, 0.7, 0.7]).unwrap(), 0.5);
    // Tied scores make one curve point, not two.
    let roc = roc_curve(&[0, 0, 1, 1], &[0.2, 0.6, 0.6, 0.9]).unwrap();
    let pts: Vec<(f64, f64, f64)> = roc.iter().map(|p| (p.fpr, p.tpr, p.threshold)).collect();
    assert_eq!(pts, [(0.0, 0.0, f64::INFINITY), (0.0, 0.5, 0.9), (0.5, 1.0, 0.6), (1.0, 1.0, 0.2)]);
}

#[test]
fn a_lowest_score_of_exactly_zero_is_handled() {
    // (linfa's roc().area_under_curve() gets this wrong.) Positives 0.5, 1.0 beat both zeros: AUC 1.
    assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.0, 0.5, 0.0, 1.0]).unwrap(), 1.0);
    assert_eq!(roc_auc(&[1, 0, 0], &[0.0, 0.0, 0.3]).unwrap(), 0.25); // (0 vs 0.0) 1/2, (0 vs 0.3) 0
}

#[test]
fn all_scores_equal_give_exactly_one_half() {
    let y: Vec<usize> = (0..1001).map(|i| usize::from(i % 3 == 0)).collect();
    let s = vec![0.37; y.len()];
    let m = evaluate(&y, &s).unwrap();
    assert_eq!(m.roc_auc, 0.5);
    assert_eq!(m.roc.len(), 2); // (0, 0) and (1, 1)
    // Nothing is above 0.5: everything is predicted 0, precision 0 by the zero-division rule.
    assert_eq!(m.confusion, [[667, 0], [334, 0]]);
    assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
    // And a score of exactly 0.5 is class 0 at the default threshold.
    assert_eq!(confusion_matrix(&[0, 1], &[0.5, 0.5], 0.5).unwrap(), [[1, 0], [1, 0]]);
}

#[test]
fn a_single_class_is_an_error_for_auc_and_evaluate_but_not_for_accuracy() {
    let y = [1, 1, 1];
    let s = [0.9, 0.4, 0.7];
    let err = evaluate(&y, &s).unwrap_err();
    assert_eq!(err, EvalError::SingleClass { class: 1, count: 3 });
    assert!(err.to_string().contains("only class 1 is present (3 samples)"), "{err}");
    assert!(err.to_string().contains("stratified split"), "{err}");
    assert!(matches!(roc_auc(&[0, 0], &[0.1, 0.2]), Err(EvalError::SingleClass { class: 0, count: 2 })));
    assert!(roc_curve(&y, &s).is_err() && pr_curve(&y, &s).is_err() && average_precision(&y, &s).is_err());
    // These stay defined.
    assert_close(accuracy(&y, &s, 0.5).unwrap(), 2.0 / 3.0);
    assert_close(recall(&y, &s, 0.5).unwrap(), 2.0 / 3.0);
    assert_eq!(precision(&y, &s, 0.5).unwrap(), 1.0);
    assert_eq!(recall(&[0, 0], &[0.9, 0.1], 0.5).unwrap(), 0.0); // no actual positives: 0
    assert_close(log_loss(&y, &s).unwrap(), -(0.9f64.ln() + 0.4f64.ln() + 0.7f64.ln()) / 3.0);
}

#[test]
fn bad_input_is_an_error_never_nan() {
    assert_eq!(evaluate(&[], &[]), Err(EvalError::Empty));
    assert_eq!(accuracy(&[], &[], 0.5), Err(EvalError::Empty));
    assert_eq!(roc_auc(&[0, 1], &[0.5]), Err(EvalError::LengthMismatch { labels: 2, scores: 1 }));
    assert_eq!(log_loss(&[0, 1, 2], &[0.1, 0.2, 0.3]), Err(EvalError::BadLabel { index: 2, value: 2 }));
    assert_eq!(evaluate(&[0, 1], &[-0.1, 0.3]), Err(EvalError::BadScore { index: 0, value: -0.1 }));
    assert!(matches!(evaluate(&[0, 1], &[0.2, f64::NAN]), Err(EvalError::BadScore { index: 1, .. })));
    assert!(matches!(roc_auc(&[0, 1], &[0.2, f64::INFINITY]), Err(EvalError::BadScore { index: 1, .. })));
    assert_eq!(evaluate_at(&[0, 1], &[0.2, 0.3], -1.0), Err(EvalError::BadThreshold { value: -1.0 }));
    let msg = EvalError::BadScore { index: 4, value: 1.5 }.to_string();
    assert_eq!(msg, "score 1.5 at index 4 is not a probability in [0, 1]; pass P(class 1) for each sample");
    let msg = EvalError::LengthMismatch { labels: 3, scores: 2 }.to_string();
    assert_eq!(msg, "3 labels but 2 scores; pass one score per label");
}

fn named(name: &str, m: BinaryMetrics) -> (String, BinaryMetrics) {
    (name.to_string(), m)
}

#[test]
fn champion_by_each_metric_with_first_wins_ties() {
    let y = [0, 0, 1, 1];
    let candidates = vec![
        named("tree", evaluate(&y, &[0.1, 0.6, 0.4, 0.9]).unwrap()), // acc 0.5, auc 0.75
        named("forest", evaluate(&y, &[0.2, 0.3, 0.7, 0.8]).unwrap()), // acc 1, auc 1, ll 0.29
        named("logistic", evaluate(&y, &[0.1, 0.2, 0.8, 0.9]).unwrap()), // acc 1, auc 1, ll 0.16
    ];
    let by = |m: Metric| select_champion(&candidates, m).unwrap();
    assert_eq!(by(Metric::RocAuc).name, "forest"); // tie at 1.0 with logistic: first wins
    assert_eq!(by(Metric::Accuracy).index, 1);
    assert_eq!(by(Metric::LogLoss).name, "logistic"); // lower is better
    let c = by(Metric::LogLoss);
    assert_eq!((c.metric, c.value), (Metric::LogLoss, candidates[2].1.log_loss));
    assert_eq!(select_champion(&[], Metric::RocAuc), Err(EvalError::NoCandidates));
    // Reversing the input reverses the tie-break.
    let reversed: Vec<_> = candidates.iter().rev().cloned().collect();
    assert_eq!(select_champion(&reversed, Metric::RocAuc).unwrap().name, "logistic");
}

#[test]
fn metric_names_parse() {
    for m in Metric::ALL {
        assert_eq!(m.name().parse::<Metric>().unwrap(), m);
        assert_eq!(m.to_string().parse::<Metric>().unwrap(), m);
    }
    assert_eq!("AUC".parse::<Metric>().unwrap(), Metric::RocAuc);
    assert_eq!(" Log-Loss ".parse::<Metric>().unwrap(), Metric::LogLoss);
    let err = "rmse".parse::<Metric>().unwrap_err();
    assert_eq!(err, EvalError::UnknownMetric { name: "rmse".into() });
    assert!(err.to_string().contains("use one of: accuracy, precision, recall, f1, roc_auc, log_loss"));
}

#[test]
fn metrics_are_deterministic_artifacts() {
    let a = codec::encode(&evaluate(&Y, &S).unwrap()).unwrap();
    assert_eq!(a, codec::encode(&evaluate(&Y, &S).unwrap()).unwrap());
    let back: BinaryMetrics = codec::decode(&a, 1 << 20).unwrap();
    assert_eq!(back, evaluate(&Y, &S).unwrap()); // including the +inf first ROC threshold
    let table = mlflow::eval::comparison_table(&[named("tree", back)]);
    assert_eq!(
        table,
        "model  accuracy  precision  recall      f1  roc_auc  log_loss     tn fp fn tp\n\
         tree     0.7000     0.7500  0.6000  0.6667   0.7800    0.5239         4 1 2 3\n"
    );
}

// ---------- multiclass and regression against scikit-learn (tests/fixtures/metrics) ----------
//
// tests/fixtures/metrics/generate.py ran scikit-learn 1.9.1 (numpy 2.4.6) on seeded cases and
// wrote every metric into classification.json and regression.json; `null` marks a value
// scikit-learn leaves undefined (NaN) or refuses (ValueError), with the reason in `undefined`.
// Values agree to 1e-9: absolute below 1, relative above (MAPE reaches 4e13).

mod sklearn_fixtures {
    use mlflow::eval::classification::{
        average_precision_ovr, average_precision_per_class, binary_average_precision, binary_brier_score,
        brier_score, log_loss, predict_argmax, predict_binary, roc_auc_ovo, roc_auc_ovr, unnormalized_rows,
    };
    use mlflow::eval::regression::{
        explained_variance_score, max_error, mean_absolute_error, mean_absolute_percentage_error,
        mean_squared_error, median_absolute_error, r2_score, root_mean_squared_error,
    };
    use mlflow::eval::{
        Average, ClassMetric, ClassificationReport, ConfusionMatrix, EvalError, KappaWeights,
        MulticlassAverage, RegressionReport, Threshold,
    };
    use ndarray::Array2;
    use serde_json::Value;

    const TOL: f64 = 1e-9;

    #[track_caller]
    fn near(got: f64, want: f64, what: &str) {
        assert!(
            (got - want).abs() <= TOL * want.abs().max(1.0),
            "{what}: got {got}, scikit-learn {want} (difference {})",
            (got - want).abs()
        );
    }

    #[track_caller]
    fn near_all(got: &[f64], want: &Value, what: &str) {
        let want = floats(want);
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            near(*g, *w, &format!("{what}[{i}]"));
        }
    }

    /// A metric scikit-learn defines must come out equal; one it leaves undefined must be an
    /// error of the kind given.
    #[track_caller]
    fn near_or_undefined(got: Result<f64, EvalError>, want: &Value, what: &str) {
        match want.as_f64() {
            Some(w) => near(got.unwrap_or_else(|e| panic!("{what}: {e}")), w, what),
            None => {
                let err = got.expect_err(what);
                assert!(
                    matches!(err, EvalError::Undefined { .. } | EvalError::RowSum { .. }),
                    "{what}: unexpected error {err:?}"
                );
            }
        }
    }

    fn floats(v: &Value) -> Vec<f64> {
        v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
    }

    fn classes(v: &Value) -> Vec<usize> {
        v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
    }

    fn counts(v: &Value) -> Vec<Vec<u64>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect())
            .collect()
    }

    fn matrix(v: &Value) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
        let (n, k) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, k), rows.into_iter().flatten().collect()).unwrap()
    }

    fn cases(json: &str) -> Vec<Value> {
        let doc: Value = serde_json::from_str(json).unwrap();
        assert_eq!(doc["versions"]["scikit-learn"], "1.9.1");
        doc["cases"].as_array().unwrap().clone()
    }

    fn classification_cases() -> Vec<Value> {
        let cases = cases(include_str!("../fixtures/metrics/classification.json"));
        assert_eq!(cases.len(), 8, "every case is checked");
        cases
    }

    #[test]
    fn confusion_matrix_metrics_match_scikit_learn() {
        for case in classification_cases() {
            let name = case["name"].as_str().unwrap();
            let n = case["n_classes"].as_u64().unwrap() as usize;
            let (y, p) = (classes(&case["y_true"]), classes(&case["y_pred"]));
            let e = &case["expected"];
            let m = ConfusionMatrix::compute(&y, &p, n).unwrap();
            let at = |what: &str| format!("{name}: {what}");
            assert_eq!(m.rows(), counts(&e["confusion"]), "{name}: confusion");
            near(m.accuracy(), e["accuracy"].as_f64().unwrap(), &at("accuracy"));
            near(m.balanced_accuracy(), e["balanced_accuracy"].as_f64().unwrap(), &at("balanced_accuracy"));
            let pc = &e["per_class"];
            near_all(&m.precision_per_class(), &pc["precision"], &at("precision per class"));
            near_all(&m.recall_per_class(), &pc["recall"], &at("recall per class"));
            near_all(&m.f1_per_class(), &pc["f1"], &at("f1 per class"));
            near_all(&m.f_beta_per_class(0.5).unwrap(), &pc["f_beta_0.5"], &at("f0.5 per class"));
            near_all(&m.f_beta_per_class(2.0).unwrap(), &pc["f_beta_2.0"], &at("f2 per class"));
            let support: Vec<u64> = (0..n).map(|c| m.support(c)).collect();
            assert_eq!(support, counts(&Value::Array(vec![pc["support"].clone()]))[0], "{name}: support");
            for (key, avg) in
                [("macro", Average::Macro), ("micro", Average::Micro), ("weighted", Average::Weighted)]
            {
                let w = &e[key];
                near(
                    m.precision(avg).unwrap(),
                    w["precision"].as_f64().unwrap(),
                    &at(&format!("{key} precision")),
                );
                near(m.recall(avg).unwrap(), w["recall"].as_f64().unwrap(), &at(&format!("{key} recall")));
                near(m.f1(avg).unwrap(), w["f1"].as_f64().unwrap(), &at(&format!("{key} f1")));
                near(
                    m.f_beta(0.5, avg).unwrap(),
                    w["f_beta_0.5"].as_f64().unwrap(),
                    &at(&format!("{key} f0.5")),
                );
                near(
                    m.f_beta(2.0, avg).unwrap(),
                    w["f_beta_2.0"].as_f64().unwrap(),
                    &at(&format!("{key} f2")),
                );
            }
            for b in e["binary"].as_array().unwrap() {
                let avg = Average::Binary { positive: b["positive"].as_u64().unwrap() as usize };
                near(
                    m.precision(avg).unwrap(),
                    b["precision"].as_f64().unwrap(),
                    &at(&format!("{avg:?} precision")),
                );
                near(m.recall(avg).unwrap(), b["recall"].as_f64().unwrap(), &at(&format!("{avg:?} recall")));
                near(m.f1(avg).unwrap(), b["f1"].as_f64().unwrap(), &at(&format!("{avg:?} f1")));
            }
            if n == 2 {
                let b = &e["binary_average_binary"];
                let avg = Average::Binary { positive: 1 };
                near(
                    m.precision(avg).unwrap(),
                    b["precision"].as_f64().unwrap(),
                    &at("average='binary' precision"),
                );
                near(m.recall(avg).unwrap(), b["recall"].as_f64().unwrap(), &at("average='binary' recall"));
                near(m.f1(avg).unwrap(), b["f1"].as_f64().unwrap(), &at("average='binary' f1"));
            }
            near(m.matthews(), e["matthews"].as_f64().unwrap(), &at("matthews"));
            for (key, w) in [
                ("kappa_none", KappaWeights::None),
                ("kappa_linear", KappaWeights::Linear),
                ("kappa_quadratic", KappaWeights::Quadratic),
            ] {
                near_or_undefined(m.cohen_kappa(w), &e[key], &at(key));
            }
            near_all(&m.specificity_per_class(), &e["specificity"], &at("specificity"));
            near(m.specificity_macro(), e["specificity_macro"].as_f64().unwrap(), &at("specificity macro"));

            // The report carries the same numbers.
            let r = ClassificationReport::compute(&y, &p, None, n).unwrap();
            assert_eq!(r.confusion, m);
            assert_eq!((r.samples, r.n_classes), (y.len() as u64, n));
            assert_eq!(r.macro_.f1, m.f1(Average::Macro).unwrap());
            assert_eq!(r.weighted.recall, m.recall(Average::Weighted).unwrap());
            assert_eq!(r.micro.precision, m.precision(Average::Micro).unwrap());
            assert_eq!(r.per_class[n - 1].specificity, m.specificity_per_class()[n - 1]);
            assert_eq!(r.cohen_kappa, m.cohen_kappa(KappaWeights::None).ok());
            assert_eq!(r.get(ClassMetric::Matthews), Some(m.matthews()));
            assert_eq!(r.get(ClassMetric::LogLoss), None, "no probabilities given");
        }
    }

    #[test]
    fn probability_metrics_match_scikit_learn() {
        for case in classification_cases() {
            let name = case["name"].as_str().unwrap();
            let n = case["n_classes"].as_u64().unwrap() as usize;
            let (y, p) = (classes(&case["y_true"]), classes(&case["y_pred"]));
            let proba = matrix(&case["proba"]);
            let pv = proba.view();
            let e = &case["expected"];
            let at = |what: &str| format!("{name}: {what}");
            if case["y_pred_is_argmax"].as_bool().unwrap() {
                assert_eq!(predict_argmax(pv).unwrap(), p, "{name}: argmax, first class on ties");
            }
            near(log_loss(&y, pv, n).unwrap(), e["log_loss"].as_f64().unwrap(), &at("log_loss"));
            near(brier_score(&y, pv, n).unwrap(), e["brier"].as_f64().unwrap(), &at("brier"));
            let warned = !e["log_loss_warns"].as_array().unwrap().is_empty();
            assert_eq!(!unnormalized_rows(pv).is_empty(), warned, "{name}: rows not summing to one");

            let r = ClassificationReport::compute(&y, &p, Some(pv), n).unwrap();
            let probs = r.probability.as_ref().unwrap();
            assert_eq!(probs.log_loss, log_loss(&y, pv, n).unwrap());
            assert_eq!(probs.unnormalized_rows, unnormalized_rows(pv).len());
            if n == 2 {
                let want = &e["roc_auc_binary"];
                for avg in [MulticlassAverage::Macro, MulticlassAverage::Weighted] {
                    near_or_undefined(roc_auc_ovr(&y, pv, n, avg), want, &at("roc_auc (binary, ovr)"));
                    near_or_undefined(roc_auc_ovo(&y, pv, n, avg), want, &at("roc_auc (binary, ovo)"));
                    near(
                        average_precision_ovr(&y, pv, n, avg).unwrap(),
                        e["average_precision_binary"].as_f64().unwrap(),
                        &at("average precision (binary)"),
                    );
                }
                let s: Vec<f64> = proba.column(1).to_vec();
                near(
                    binary_average_precision(&y, &s).unwrap(),
                    e["average_precision_binary"].as_f64().unwrap(),
                    &at("binary AP"),
                );
                near(
                    binary_brier_score(&y, &s).unwrap(),
                    e["brier_binary"].as_f64().unwrap(),
                    &at("binary brier"),
                );
                assert_eq!(
                    probs.roc_auc_ovr_macro,
                    want.as_f64().map(|_| roc_auc_ovr(&y, pv, n, MulticlassAverage::Macro).unwrap())
                );
                continue;
            }
            for (key, f) in [("ovr", roc_auc_ovr as fn(_, _, _, _) -> _), ("ovo", roc_auc_ovo)] {
                for (avg_key, avg) in
                    [("macro", MulticlassAverage::Macro), ("weighted", MulticlassAverage::Weighted)]
                {
                    let k = format!("roc_auc_{key}_{avg_key}");
                    near_or_undefined(f(&y, pv, n, avg), &e[k.as_str()], &at(&k));
                }
            }
            near_all(
                &average_precision_per_class(&y, pv, n).unwrap(),
                &e["average_precision_per_class"],
                &at("AP per class"),
            );
            let ap_macro = average_precision_ovr(&y, pv, n, MulticlassAverage::Macro).unwrap();
            near(ap_macro, e["average_precision_macro"].as_f64().unwrap(), &at("AP macro"));
            let ap_weighted = average_precision_ovr(&y, pv, n, MulticlassAverage::Weighted).unwrap();
            near(ap_weighted, e["average_precision_weighted"].as_f64().unwrap(), &at("AP weighted"));
            // The report's ranking metrics: the value where scikit-learn has one, None where not.
            for (got, key) in [
                (probs.roc_auc_ovr_macro, "roc_auc_ovr_macro"),
                (probs.roc_auc_ovr_weighted, "roc_auc_ovr_weighted"),
                (probs.roc_auc_ovo_macro, "roc_auc_ovo_macro"),
                (probs.roc_auc_ovo_weighted, "roc_auc_ovo_weighted"),
            ] {
                match e[key].as_f64() {
                    Some(w) => near(got.unwrap(), w, &at(&format!("report {key}"))),
                    None => assert_eq!(got, None, "{}", at(key)),
                }
            }
            assert_eq!(
                (probs.average_precision_macro, probs.average_precision_weighted),
                (ap_macro, ap_weighted)
            );
        }
    }

    #[test]
    fn binary_decision_rules_match_scikit_learn() {
        let cases = classification_cases();
        let case = cases.iter().find(|c| c["name"] == "binary ties").unwrap();
        let y = classes(&case["y_true"]);
        let s = floats(&case["scores"]);
        assert!(s.contains(&0.0) && s.contains(&0.5) && s.contains(&1.0), "the case has exact 0, 0.5 and 1");
        for (key, rule) in [("greater", Threshold::Above(0.5)), ("greater_or_equal", Threshold::AtLeast(0.5))]
        {
            let t = &case["thresholds"][key];
            let pred = predict_binary(&s, rule).unwrap();
            assert_eq!(pred, classes(&t["y_pred"]), "{key}");
            let m = ConfusionMatrix::compute(&y, &pred, 2).unwrap();
            assert_eq!(m.rows(), counts(&t["confusion"]), "{key}");
            let pos = Average::Binary { positive: 1 };
            near(m.precision(pos).unwrap(), t["precision"].as_f64().unwrap(), key);
            near(m.recall(pos).unwrap(), t["recall"].as_f64().unwrap(), key);
            near(m.f1(pos).unwrap(), t["f1"].as_f64().unwrap(), key);
        }
        // `score > 0.5` is argmax of [1 - p, p], and the rule of the binary `evaluate`.
        assert_eq!(predict_binary(&s, Threshold::default()).unwrap(), classes(&case["y_pred"]));
        let binary = mlflow::eval::confusion_matrix(&y, &s, 0.5).unwrap();
        let m = ConfusionMatrix::compute(&y, &predict_binary(&s, Threshold::Above(0.5)).unwrap(), 2).unwrap();
        assert_eq!(m.rows(), binary.iter().map(|r| r.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn regression_metrics_match_scikit_learn() {
        let cases = cases(include_str!("../fixtures/metrics/regression.json"));
        assert_eq!(cases.len(), 9);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let (y, p) = (floats(&case["y_true"]), floats(&case["y_pred"]));
            let e = &case["expected"];
            let want = |k: &str| e[k].as_f64().unwrap();
            let at = |what: &str| format!("{name}: {what}");
            near(mean_absolute_error(&y, &p).unwrap(), want("mae"), &at("mae"));
            near(mean_squared_error(&y, &p).unwrap(), want("mse"), &at("mse"));
            near(root_mean_squared_error(&y, &p).unwrap(), want("rmse"), &at("rmse"));
            near_or_undefined(r2_score(&y, &p), &e["r2"], &at("r2"));
            near(
                explained_variance_score(&y, &p).unwrap(),
                want("explained_variance"),
                &at("explained variance"),
            );
            near(mean_absolute_percentage_error(&y, &p).unwrap(), want("mape"), &at("mape"));
            near(median_absolute_error(&y, &p).unwrap(), want("median_absolute_error"), &at("median ae"));
            near(max_error(&y, &p).unwrap(), want("max_error"), &at("max error"));

            let r = RegressionReport::compute(&y, &p).unwrap();
            assert_eq!(r.r2, r2_score(&y, &p).ok(), "{name}");
            assert_eq!(r.r2.is_none(), e["r2"].is_null(), "{name}");
            assert_eq!(
                (r.mape, r.max_error),
                (mean_absolute_percentage_error(&y, &p).unwrap(), max_error(&y, &p).unwrap())
            );
        }
    }

    #[test]
    fn constant_and_degenerate_regression_follow_scikit_learn_conventions() {
        // force_finite: constant y_true gives 1.0 when perfect, 0.0 otherwise (never NaN or -inf).
        assert_eq!(r2_score(&[0.1; 455], &[0.1; 455]).unwrap(), 1.0);
        assert_eq!(r2_score(&[0.1; 455], &[0.2; 455]).unwrap(), 0.0);
        assert_eq!(explained_variance_score(&[5.0; 3], &[1.0, 2.0, 3.0]).unwrap(), 0.0);
        // One sample: R² undefined, explained variance 1.
        let err = r2_score(&[1.0], &[0.0]).unwrap_err();
        assert!(err.to_string().contains("at least two samples"), "{err}");
        assert_eq!(explained_variance_score(&[1.0], &[0.0]).unwrap(), 1.0);
        // MAPE: epsilon in the denominator, never inf.
        assert_eq!(mean_absolute_percentage_error(&[0.0, 0.0], &[0.0, 0.0]).unwrap(), 0.0);
        assert!(mean_absolute_percentage_error(&[0.0], &[1e-300]).unwrap().is_finite());
    }

    #[test]
    fn bad_classification_input_is_a_clear_error() {
        let proba = ndarray::array![[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]];
        let pv = proba.view();
        // Empty.
        assert_eq!(ConfusionMatrix::compute(&[], &[], 3), Err(EvalError::Empty));
        let empty = Array2::<f64>::zeros((0, 3));
        assert_eq!(log_loss(&[], empty.view(), 3), Err(EvalError::Empty));
        // Length mismatch, in both kinds of input.
        let err = ConfusionMatrix::compute(&[0, 1], &[0], 2).unwrap_err();
        assert_eq!(err, EvalError::RowsMismatch { y_true: 2, other: "y_pred", got: 1 });
        assert_eq!(
            err.to_string(),
            "y_true has 2 rows but y_pred has 1; pass one y_pred value (or row) per element of y_true"
        );
        assert_eq!(log_loss(&[0], pv, 3), Err(EvalError::RowsMismatch { y_true: 1, other: "proba", got: 2 }));
        // A class index >= n_classes, in y_true and y_pred, with its row.
        let err = ConfusionMatrix::compute(&[0, 3, 1], &[0, 1, 1], 3).unwrap_err();
        assert_eq!(err, EvalError::ClassOutOfRange { what: "y_true", row: 1, value: 3, n_classes: 3 });
        assert!(err.to_string().starts_with("y_true at row 1 is class 3, but there are 3 classes"), "{err}");
        assert_eq!(
            ClassificationReport::compute(&[0, 1], &[0, 5], None, 2).unwrap_err(),
            EvalError::ClassOutOfRange { what: "y_pred", row: 1, value: 5, n_classes: 2 }
        );
        assert_eq!(
            roc_auc_ovr(&[0, 3], pv, 3, MulticlassAverage::Macro).unwrap_err(),
            EvalError::ClassOutOfRange { what: "y_true", row: 1, value: 3, n_classes: 3 }
        );
        let m = ConfusionMatrix::compute(&[0, 1], &[0, 1], 2).unwrap();
        assert!(matches!(
            m.precision(Average::Binary { positive: 2 }),
            Err(EvalError::ClassOutOfRange { value: 2, .. })
        ));
        // Probability rows of the wrong width.
        let err = log_loss(&[0, 1], pv, 4).unwrap_err();
        assert_eq!(err, EvalError::ProbaWidth { columns: 3, n_classes: 4 });
        assert!(err.to_string().contains("one column per class"), "{err}");
        assert_eq!(
            ClassificationReport::compute(&[0, 1], &[0, 1], Some(pv), 2).unwrap_err(),
            EvalError::ProbaWidth { columns: 3, n_classes: 2 }
        );
        // NaN, infinite, negative and > 1 probabilities, with row and column.
        for bad in [f64::NAN, f64::INFINITY, -0.1, 1.5] {
            let mut p = proba.clone();
            p[[1, 2]] = bad;
            for err in [
                log_loss(&[0, 1], p.view(), 3).unwrap_err(),
                brier_score(&[0, 1], p.view(), 3).unwrap_err(),
                roc_auc_ovo(&[0, 1], p.view(), 3, MulticlassAverage::Macro).unwrap_err(),
                average_precision_ovr(&[0, 1], p.view(), 3, MulticlassAverage::Macro).unwrap_err(),
            ] {
                assert!(matches!(err, EvalError::BadProbability { row: 1, column: 2, .. }), "{bad}: {err:?}");
                assert!(err.to_string().contains("at row 1, column 2 is not in [0, 1]"), "{err}");
            }
        }
        let mut p = proba.clone();
        p[[0, 0]] = f64::NAN;
        assert!(matches!(predict_argmax(p.view()), Err(EvalError::NotFinite { what: "proba", row: 0, .. })));
        assert!(matches!(
            predict_binary(&[0.1, f64::NAN], Threshold::Above(0.5)),
            Err(EvalError::NotFinite { row: 1, .. })
        ));
        assert!(matches!(
            predict_binary(&[0.1], Threshold::AtLeast(f64::NAN)),
            Err(EvalError::BadThreshold { .. })
        ));
        assert!(matches!(
            binary_average_precision(&[0, 1], &[0.1, f64::INFINITY]),
            Err(EvalError::NotFinite { row: 1, .. })
        ));
        assert_eq!(
            binary_brier_score(&[0, 1], &[0.1, 1.2]),
            Err(EvalError::BadScore { index: 1, value: 1.2 })
        );
        assert!(matches!(
            binary_brier_score(&[0, 2], &[0.1, 0.2]),
            Err(EvalError::ClassOutOfRange { value: 2, .. })
        ));
        // Fewer than two classes for a probability metric.
        let one = ndarray::array![[1.0]];
        assert_eq!(
            log_loss(&[0], one.view(), 1),
            Err(EvalError::TooFewClasses { metric: "log_loss", n_classes: 1, min: 2 })
        );
        // Multiclass ROC AUC needs rows summing to 1 (scikit-learn raises); log loss scores them.
        let off = ndarray::array![[0.7, 0.2, 0.2], [0.1, 0.8, 0.1]];
        let err = roc_auc_ovr(&[0, 1], off.view(), 3, MulticlassAverage::Macro).unwrap_err();
        assert!(matches!(err, EvalError::RowSum { metric: "roc_auc_ovr", row: 0, .. }), "{err:?}");
        assert!(err.to_string().contains("normalise the rows"), "{err}");
        assert!(log_loss(&[0, 1], off.view(), 3).is_ok());
        assert_eq!(unnormalized_rows(off.view()), vec![0]);
        // A bad beta.
        assert!(
            matches!(m.f_beta(f64::NAN, Average::Macro), Err(EvalError::BadBeta { value }) if value.is_nan())
        );
        assert!(matches!(m.f_beta_per_class(-0.5), Err(EvalError::BadBeta { .. })));
        // A confusion matrix that is not square does not deserialise.
        assert!(serde_json::from_str::<ConfusionMatrix>("[[1, 2], [3]]").is_err());
        assert!(serde_json::from_str::<ConfusionMatrix>("[]").is_err());
        assert_eq!(
            ConfusionMatrix::try_from(vec![vec![1, 2], vec![3]]),
            Err(EvalError::NotSquare { rows: 2, row: 1, len: 1 })
        );
    }

    #[test]
    fn bad_regression_input_is_a_clear_error() {
        assert_eq!(mean_absolute_error(&[], &[]), Err(EvalError::Empty));
        assert_eq!(
            RegressionReport::compute(&[1.0, 2.0], &[1.0]),
            Err(EvalError::RowsMismatch { y_true: 2, other: "y_pred", got: 1 })
        );
        let err = r2_score(&[1.0, f64::NAN, 3.0], &[1.0, 2.0, 3.0]).unwrap_err();
        assert!(matches!(err, EvalError::NotFinite { what: "y_true", row: 1, .. }));
        assert_eq!(
            err.to_string(),
            "y_true at row 1 is NaN, not a finite number; drop or impute that row before evaluating"
        );
        assert!(matches!(
            max_error(&[1.0, 2.0], &[1.0, f64::NEG_INFINITY]),
            Err(EvalError::NotFinite { what: "y_pred", row: 1, .. })
        ));
        for f in [
            mean_squared_error,
            root_mean_squared_error,
            explained_variance_score,
            mean_absolute_percentage_error,
            median_absolute_error,
        ] {
            assert!(matches!(
                f(&[f64::INFINITY], &[1.0]),
                Err(EvalError::NotFinite { what: "y_true", row: 0, .. })
            ));
            assert_eq!(f(&[1.0], &[]), Err(EvalError::RowsMismatch { y_true: 1, other: "y_pred", got: 0 }));
        }
    }

    fn report(y: &[usize], p: &[usize], proba: Option<&Array2<f64>>) -> ClassificationReport {
        ClassificationReport::compute(y, p, proba.map(|a| a.view()), 3).unwrap()
    }

    #[test]
    fn champion_by_class_and_regression_metrics_in_their_direction() {
        use mlflow::eval::{RegressionMetric, select_best};
        let y = [0, 1, 2, 2, 1, 0];
        let sharp = ndarray::array![
            [0.9, 0.05, 0.05],
            [0.05, 0.9, 0.05],
            [0.05, 0.05, 0.9],
            [0.1, 0.1, 0.8],
            [0.1, 0.8, 0.1],
            [0.4, 0.5, 0.1]
        ];
        let vague = ndarray::array![
            [0.4, 0.3, 0.3],
            [0.3, 0.4, 0.3],
            [0.3, 0.3, 0.4],
            [0.3, 0.3, 0.4],
            [0.3, 0.4, 0.3],
            [0.4, 0.3, 0.3]
        ];
        let a = report(&y, &predict_argmax(sharp.view()).unwrap(), Some(&sharp)); // one mistake, confident
        let b = report(&y, &predict_argmax(vague.view()).unwrap(), Some(&vague)); // all right, unsure
        let c = report(&y, &[0, 1, 2, 2, 1, 0], None); // all right, no probabilities
        let candidates = vec![("sharp".to_string(), a), ("vague".to_string(), b), ("labels".to_string(), c)];
        let by = |m: ClassMetric| select_best(&candidates, m).unwrap();
        assert_eq!(by(ClassMetric::Accuracy).name, "vague"); // tie at 1.0 with "labels": first wins
        assert_eq!(by(ClassMetric::Matthews).index, 1);
        assert_eq!(by(ClassMetric::LogLoss).name, "sharp"); // lower is better; "labels" has none
        assert_eq!(by(ClassMetric::Brier).name, "sharp");
        let best = by(ClassMetric::LogLoss);
        assert_eq!(
            (best.metric, Some(best.value)),
            (ClassMetric::LogLoss, candidates[0].1.get(ClassMetric::LogLoss))
        );
        // Undefined everywhere: an error naming the metric.
        let only_labels = vec![candidates[2].clone()];
        let err = select_best(&only_labels, ClassMetric::RocAucOvr).unwrap_err();
        assert_eq!(err, EvalError::NoUsableScore { metric: "roc_auc_ovr".into() });
        assert_eq!(
            select_best(&Vec::<(String, ClassificationReport)>::new(), ClassMetric::F1Macro),
            Err(EvalError::NoCandidates)
        );

        let t = [1.0, 2.0, 3.0, 4.0];
        let r = |p: &[f64]| RegressionReport::compute(&t, p).unwrap();
        let regs = vec![
            ("bias".to_string(), r(&[2.0, 3.0, 4.0, 5.0])),
            ("noise".to_string(), r(&[1.5, 1.5, 3.5, 3.5])),
        ];
        let by = |m: RegressionMetric| select_best(&regs, m).unwrap().name;
        assert_eq!(by(RegressionMetric::Mae), "noise"); // 0.5 < 1
        assert_eq!(by(RegressionMetric::ExplainedVariance), "bias"); // a pure bias explains all variance
        assert_eq!(by(RegressionMetric::R2), "noise");
        assert_eq!(by(RegressionMetric::MaxError), "noise");
        // A NaN or undefined value never wins; R² of one sample is undefined.
        let one = vec![("one".to_string(), RegressionReport::compute(&[1.0], &[2.0]).unwrap())];
        assert!(matches!(select_best(&one, RegressionMetric::R2), Err(EvalError::NoUsableScore { .. })));

        // The binary metrics select the same champion as select_champion.
        let yb = [0, 0, 1, 1];
        let bin = vec![
            ("x".to_string(), mlflow::eval::evaluate(&yb, &[0.1, 0.6, 0.4, 0.9]).unwrap()),
            ("y".to_string(), mlflow::eval::evaluate(&yb, &[0.1, 0.2, 0.8, 0.9]).unwrap()),
        ];
        for m in mlflow::eval::Metric::ALL {
            let old = mlflow::eval::select_champion(&bin, m).unwrap();
            let new = select_best(&bin, m).unwrap();
            assert_eq!((old.index, old.value), (new.index, new.value), "{m}");
        }
    }

    #[test]
    fn metric_names_parse_and_carry_their_direction() {
        use mlflow::eval::RegressionMetric;
        use mlflow_core::registry::{Promotion, PromotionMetric};
        for m in ClassMetric::ALL {
            assert_eq!(m.name().parse::<ClassMetric>().unwrap(), m);
            assert_eq!(m.to_string(), m.name());
            assert_eq!(Promotion::by(m).higher_is_better, m.higher_is_better());
            assert_eq!(m.metric_name(), m.name());
        }
        let lower: Vec<_> = ClassMetric::ALL.into_iter().filter(|m| !m.higher_is_better()).collect();
        assert_eq!(lower, [ClassMetric::LogLoss, ClassMetric::Brier]);
        for m in RegressionMetric::ALL {
            assert_eq!(m.name().parse::<RegressionMetric>().unwrap(), m);
            assert_eq!(Promotion::by(m).metric, m.name());
        }
        let higher: Vec<_> = RegressionMetric::ALL.into_iter().filter(|m| m.higher_is_better()).collect();
        assert_eq!(higher, [RegressionMetric::R2, RegressionMetric::ExplainedVariance]);
        assert_eq!(" ROC-AUC ovo ".parse::<ClassMetric>().unwrap(), ClassMetric::RocAucOvo);
        let err = "auc".parse::<RegressionMetric>().unwrap_err();
        assert!(matches!(&err, EvalError::UnknownMetricName { name, .. } if name == "auc"));
        assert!(err.to_string().contains("use one of: mae, mse, rmse, r2"), "{err}");
    }

    #[test]
    fn reports_are_deterministic_artifacts() {
        use mlflow::codec;
        let proba = ndarray::array![[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.5, 0.0, 0.5]];
        let y = [0, 1, 2, 2];
        let p = predict_argmax(proba.view()).unwrap();
        assert_eq!(p, [0, 1, 2, 0]); // the 0.5 / 0.5 tie goes to the first class
        let r = report(&y, &p, Some(&proba));
        let bytes = codec::encode(&r).unwrap();
        assert_eq!(bytes, codec::encode(&report(&y, &p, Some(&proba))).unwrap());
        let back: ClassificationReport = codec::decode(&bytes, 1 << 20).unwrap();
        assert_eq!(back, r);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["confusion"], serde_json::json!([[1, 0, 0], [0, 1, 0], [1, 0, 1]]));
        assert!(json["macro"]["f1"].is_f64());
        let reg = RegressionReport::compute(&[1.0, 2.0], &[1.5, 2.0]).unwrap();
        let back: RegressionReport = codec::decode(&codec::encode(&reg).unwrap(), 1 << 20).unwrap();
        assert_eq!(back, reg);
    }
}
