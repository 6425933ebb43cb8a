//! The metrics themselves: confusion matrix, accuracy, precision, recall, F1, log loss, ROC AUC
//! and the ROC and precision-recall curves, with their input checks.

use super::{EvalError, LOG_LOSS_EPS, PrPoint, RocPoint};

/// Checks labels and scores; returns the number of positives.
fn check(y_true: &[usize], scores: &[f64]) -> Result<u64, EvalError> {
    if y_true.len() != scores.len() {
        return Err(EvalError::LengthMismatch { labels: y_true.len(), scores: scores.len() });
    }
    if y_true.is_empty() {
        return Err(EvalError::Empty);
    }
    if let Some((index, &value)) = y_true.iter().enumerate().find(|&(_, &y)| y > 1) {
        return Err(EvalError::BadLabel { index, value });
    }
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !(0.0..=1.0).contains(*s)) {
        return Err(EvalError::BadScore { index, value });
    }
    Ok(y_true.iter().filter(|&&y| y == 1).count() as u64)
}

fn check_threshold(threshold: f64) -> Result<(), EvalError> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(EvalError::BadThreshold { value: threshold });
    }
    Ok(())
}

/// Checks inputs and that both classes are present; returns `(positives, negatives)`.
pub(super) fn check_both(y_true: &[usize], scores: &[f64]) -> Result<(u64, u64), EvalError> {
    let pos = check(y_true, scores)?;
    let neg = y_true.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return Err(EvalError::SingleClass { class: usize::from(pos > 0), count: y_true.len() });
    }
    Ok((pos, neg))
}

pub(super) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// `[[tn, fp], [fn, tp]]` at `threshold` (class 1 when `score > threshold`): rows = actual class
/// (0, 1), columns = predicted class (0, 1).
///
/// ```
/// use mlflow_ml::eval::confusion_matrix;
/// //                          actual:  0    0    1    1
/// let m = confusion_matrix(&[0, 0, 1, 1], &[0.2, 0.7, 0.4, 0.9], 0.5)?;
/// assert_eq!(m, [[1, 1], [1, 1]]); // tn=1 (0.2), fp=1 (0.7), fn=1 (0.4), tp=1 (0.9)
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn confusion_matrix(
    y_true: &[usize],
    scores: &[f64],
    threshold: f64,
) -> Result<[[u64; 2]; 2], EvalError> {
    check(y_true, scores)?;
    check_threshold(threshold)?;
    let mut m = [[0u64; 2]; 2];
    for (&y, &s) in y_true.iter().zip(scores) {
        m[y][usize::from(s > threshold)] += 1;
    }
    Ok(m)
}

/// Fraction of samples whose predicted class (`score > threshold`) equals the label.
///
/// ```
/// use mlflow_ml::eval::accuracy;
/// assert_eq!(accuracy(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5);
/// // A single class is fine here.
/// assert_eq!(accuracy(&[1, 1], &[0.9, 0.8], 0.5)?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn accuracy(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[tn, _], [_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tn + tp, y_true.len() as u64))
}

/// tp / (tp + fp) at `threshold`; 0.0 when nothing is predicted positive.
///
/// ```
/// use mlflow_ml::eval::precision;
/// assert_eq!(precision(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5); // tp=1, fp=1
/// assert_eq!(precision(&[0, 1], &[0.1, 0.2], 0.5)?, 0.0); // no predicted positives
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn precision(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[_, fp], [_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tp, tp + fp))
}

/// tp / (tp + fn) at `threshold`; 0.0 when there are no actual positives.
///
/// ```
/// use mlflow_ml::eval::recall;
/// assert_eq!(recall(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5); // tp=1, fn=1
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn recall(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [_, [fn_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(tp, tp + fn_))
}

/// Harmonic mean of precision and recall at `threshold`, as 2tp / (2tp + fp + fn); 0.0 when tp = 0.
///
/// ```
/// use mlflow_ml::eval::f1;
/// // tp=1, fp=1, fn=1: 2 / (2 + 1 + 1)
/// assert_eq!(f1(&[0, 1, 1, 0], &[0.1, 0.9, 0.3, 0.6], 0.5)?, 0.5);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn f1(y_true: &[usize], scores: &[f64], threshold: f64) -> Result<f64, EvalError> {
    let [[_, fp], [fn_, tp]] = confusion_matrix(y_true, scores, threshold)?;
    Ok(ratio(2 * tp, 2 * tp + fp + fn_))
}

/// Mean of `-(y ln p + (1 - y) ln(1 - p))`, with `p` clipped to `[eps, 1 - eps]`
/// ([`LOG_LOSS_EPS`](super::LOG_LOSS_EPS), machine epsilon, as scikit-learn).
///
/// ```
/// use mlflow_ml::eval::log_loss;
/// // -(ln 0.8 + ln 0.8) / 2 = -ln 0.8
/// assert!((log_loss(&[1, 0], &[0.8, 0.2])? - 0.2231435513142097).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn log_loss(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    check(y_true, scores)?;
    let sum: f64 = y_true
        .iter()
        .zip(scores)
        .map(|(&y, &s)| {
            let p = s.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    Ok(sum / y_true.len() as f64)
}

/// Groups of equal scores in decreasing score order: `(score, positives, negatives)`.
fn groups(y_true: &[usize], scores: &[f64]) -> Vec<(f64, u64, u64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Scores are checked finite, so total_cmp is the numeric order once -0.0 (a valid score) is
    // normalised to 0.0 by adding 0.0; equal scores keep input order (stable sort).
    order.sort_by(|&a, &b| (scores[b] + 0.0).total_cmp(&(scores[a] + 0.0)));
    let mut out: Vec<(f64, u64, u64)> = Vec::new();
    for i in order {
        let s = scores[i] + 0.0;
        let (p, n) = (u64::from(y_true[i] == 1), u64::from(y_true[i] == 0));
        match out.last_mut() {
            Some(last) if last.0 == s => {
                last.1 += p;
                last.2 += n;
            }
            _ => out.push((s, p, n)),
        }
    }
    out
}

/// Area under the ROC curve: the probability that a random positive scores higher than a random
/// negative, ties counting half (the Mann-Whitney U statistic over positives x negatives).
///
/// ```
/// use mlflow_ml::eval::{roc_auc, EvalError};
/// // Pairs (pos, neg): (0.35, 0.1) win, (0.35, 0.4) loss, (0.8, 0.1) win, (0.8, 0.4) win: 3/4.
/// assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?, 0.75);
/// assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.3; 4])?, 0.5); // all equal: exactly 0.5
/// assert!(matches!(roc_auc(&[1, 1], &[0.2, 0.8]), Err(EvalError::SingleClass { class: 1, .. })));
/// # Ok::<(), EvalError>(())
/// ```
pub fn roc_auc(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    let (pos, neg) = check_both(y_true, scores)?;
    // twice_u = sum over positives of 2 x (negatives scoring lower) + (negatives scoring equal).
    let mut twice_u: u128 = 0;
    let mut neg_above: u64 = 0;
    for (_, p, n) in groups(y_true, scores) {
        let below = neg - neg_above - n;
        twice_u += u128::from(p) * (2 * u128::from(below) + u128::from(n));
        neg_above += n;
    }
    Ok(twice_u as f64 / (2 * u128::from(pos) * u128::from(neg)) as f64)
}

/// The ROC curve: `(fpr, tpr)` at each distinct score (decreasing), after a first point `(0, 0)`
/// at threshold `+inf`. No intermediate point is dropped.
///
/// ```
/// use mlflow_ml::eval::roc_curve;
/// let c = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// let pairs: Vec<(f64, f64)> = c.iter().map(|p| (p.fpr, p.tpr)).collect();
/// assert_eq!(pairs, [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn roc_curve(y_true: &[usize], scores: &[f64]) -> Result<Vec<RocPoint>, EvalError> {
    let (pos, neg) = check_both(y_true, scores)?;
    let mut out = vec![RocPoint { fpr: 0.0, tpr: 0.0, threshold: f64::INFINITY }];
    let (mut tp, mut fp) = (0, 0);
    for (s, p, n) in groups(y_true, scores) {
        tp += p;
        fp += n;
        out.push(RocPoint { fpr: ratio(fp, neg), tpr: ratio(tp, pos), threshold: s });
    }
    Ok(out)
}

/// The precision-recall curve: precision and recall at each distinct score, decreasing.
///
/// ```
/// use mlflow_ml::eval::pr_curve;
/// let c = pr_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// let pairs: Vec<(f64, f64)> = c.iter().map(|p| (p.recall, p.precision)).collect();
/// assert_eq!(pairs, [(0.5, 1.0), (0.5, 0.5), (1.0, 2.0 / 3.0), (1.0, 0.5)]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn pr_curve(y_true: &[usize], scores: &[f64]) -> Result<Vec<PrPoint>, EvalError> {
    let (pos, _) = check_both(y_true, scores)?;
    let (mut tp, mut fp) = (0, 0);
    Ok(groups(y_true, scores)
        .into_iter()
        .map(|(s, p, n)| {
            tp += p;
            fp += n;
            PrPoint { precision: ratio(tp, tp + fp), recall: ratio(tp, pos), threshold: s }
        })
        .collect())
}

/// Average precision: the sum over the PR curve of (recall increase) x precision, recall starting
/// at 0 (scikit-learn's `average_precision_score`; no interpolation).
///
/// ```
/// use mlflow_ml::eval::average_precision;
/// // PR points (recall, precision): (0.5, 1), (0.5, 1/2), (1, 2/3), (1, 1/2)
/// // AP = 0.5 x 1 + 0 x 1/2 + 0.5 x 2/3 + 0 = 5/6
/// let ap = average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// assert!((ap - 5.0 / 6.0).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn average_precision(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    Ok(ap_of(&pr_curve(y_true, scores)?))
}

pub(super) fn ap_of(pr: &[PrPoint]) -> f64 {
    let mut prev = 0.0;
    let mut ap = 0.0;
    for p in pr {
        ap += (p.recall - prev) * p.precision;
        prev = p.recall;
    }
    ap
}
