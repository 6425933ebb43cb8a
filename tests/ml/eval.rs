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
    // reported as is, not flipped); log_loss on scores clipped to [1e-15, 1 - 1e-15]:
    // 5.245827275703722; average_precision_score 0.4772099024795104.
    assert_close(m.roc_auc, 0.22786458333333331);
    assert!((m.log_loss - 5.245827275703722).abs() < 1e-12, "{}", m.log_loss);
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
    // Certain and right: the clipped loss is -ln(1 - 1e-15), about 1e-15.
    let sure = evaluate(&y, &[0.0, 0.0, 1.0, 1.0]).unwrap();
    assert!(sure.log_loss < 2e-15 && sure.log_loss > 0.0, "{}", sure.log_loss);
}

#[test]
fn inverted_classifier() {
    let m = evaluate(&[0, 0, 1, 1], &[0.9, 0.8, 0.2, 0.1]).unwrap();
    // Every positive scores below every negative: no pair won, AUC 0.
    assert_eq!(m.roc_auc, 0.0);
    assert_eq!(m.confusion, [[0, 2], [2, 0]]);
    // tp = 0: precision 0/2, recall 0/2, F1 0 (not NaN).
    assert_eq!((m.accuracy, m.precision, m.recall, m.f1), (0.0, 0.0, 0.0, 0.0));
    // Certain and wrong: the score is clipped to [1e-15, 1 - 1e-15] (as scikit-learn clipped it), so
    // label 1 at score 0 costs -ln(1e-15) = 34.538776394910684 and label 0 at score 1 costs
    // -ln(1 - (1 - 1e-15)) = -ln(9.992007221626409e-16) = 34.53957599234088 (1 - 1e-15 rounds in f64).
    let sure = evaluate(&[0, 1], &[1.0, 0.0]).unwrap();
    let label0 = -(1.0 - (1.0 - 1e-15f64)).ln();
    assert_close(label0, 34.53957599234088);
    assert_close(sure.log_loss, (label0 + 34.538776394910684) / 2.0);
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
