//! Metrics of predicted probabilities: log loss, Brier score, one-vs-rest and one-vs-one ROC AUC,
//! average precision. Public through [`super::classification`].

use ndarray::ArrayView2;

use super::classification::{check_classes, mean};
use super::{EvalError, MulticlassAverage};

/// scikit-learn's tolerance for "a row sums to 1" in log loss and Brier (a warning there):
/// `|sum - 1| <= 1e-8 + sqrt(eps)` (`array_api_extra.isclose(sum, 1, rtol=sqrt(eps))`).
fn sums_to_one_loosely(sum: f64) -> bool {
    (sum - 1.0).abs() <= 1e-8 + f64::EPSILON.sqrt()
}

/// scikit-learn's check for multiclass ROC AUC (an error there): `np.allclose(1, sum)`,
/// `|1 - sum| <= 1e-8 + 1e-5 |sum|`.
fn sums_to_one_allclose(sum: f64) -> bool {
    (1.0 - sum).abs() <= 1e-8 + 1e-5 * sum.abs()
}

/// Checks labels and probabilities: non-empty, same rows, `n_classes >= 2` columns, classes in
/// range, every value in `[0, 1]`.
pub(super) fn check_proba(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
    metric: &'static str,
) -> Result<(), EvalError> {
    if proba.nrows() != y_true.len() {
        return Err(EvalError::RowsMismatch { y_true: y_true.len(), other: "proba", got: proba.nrows() });
    }
    if n_classes < 2 {
        return Err(EvalError::TooFewClasses { metric, n_classes, min: 2 });
    }
    if proba.ncols() != n_classes {
        return Err(EvalError::ProbaWidth { columns: proba.ncols(), n_classes });
    }
    check_classes(y_true, "y_true", n_classes)?;
    for ((row, column), &value) in proba.indexed_iter() {
        if !(0.0..=1.0).contains(&value) {
            return Err(EvalError::BadProbability { row, column, value });
        }
    }
    Ok(())
}

pub(super) fn row_sums_off(proba: ArrayView2<'_, f64>) -> Vec<usize> {
    proba
        .rows()
        .into_iter()
        .enumerate()
        .filter(|(_, r)| !sums_to_one_loosely(r.sum()))
        .map(|(i, _)| i)
        .collect()
}

fn warn_unnormalized(proba: ArrayView2<'_, f64>, metric: &str) {
    let off = row_sums_off(proba);
    if let Some(&first) = off.first() {
        tracing::warn!(
            "{metric}: the probabilities of {} row(s) do not sum to one (first: row {first}, sum {}); \
             make sure to pass probabilities",
            off.len(),
            proba.row(first).sum()
        );
    }
}

/// The rows whose probabilities do not sum to 1 within scikit-learn's tolerance
/// (`|sum - 1| <= 1e-8 + sqrt(machine epsilon)`, about 1.5e-8): the rows scikit-learn's
/// `log_loss` and `brier_score_loss` warn about ("The y_prob values do not sum to one").
///
/// ```
/// use mlflow_ml::eval::classification::unnormalized_rows;
/// use ndarray::array;
/// let p = array![[0.5, 0.5], [0.5, 0.6], [0.3, 0.7]];
/// assert_eq!(unnormalized_rows(p.view()), vec![1]);
/// ```
pub fn unnormalized_rows(proba: ArrayView2<'_, f64>) -> Vec<usize> {
    row_sums_off(proba)
}

/// Multiclass log loss: the mean of `-ln p[i, y_true[i]]`, probabilities clipped to
/// `[eps, 1 - eps]` with `eps` = [`LOG_LOSS_EPS`](crate::eval::LOG_LOSS_EPS) = `f64::EPSILON`
/// (2.2e-16), as scikit-learn 1.9's `log_loss` (machine epsilon of the dtype), like the binary
/// [`log_loss`](crate::eval::log_loss).
///
/// Rows are **not** renormalised. Like scikit-learn, rows that do not sum to 1 are still scored,
/// with a warning (a `tracing` warning here; [`unnormalized_rows`] lists them).
///
/// Errors: empty input, different lengths, `n_classes < 2`, a width other than `n_classes`, a
/// class `>= n_classes`, a probability outside `[0, 1]` or NaN.
///
/// ```
/// use mlflow_ml::eval::classification::log_loss;
/// use ndarray::array;
/// let p = array![[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]];
/// let loss = log_loss(&[0, 1], p.view(), 3)?;
/// assert!((loss - -(0.7f64.ln() + 0.8f64.ln()) / 2.0).abs() < 1e-15);
/// // A confident wrong answer costs -ln(eps), not infinity.
/// let zero = array![[0.0, 1.0]];
/// assert_eq!(log_loss(&[0], zero.view(), 2)?, -f64::EPSILON.ln());
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn log_loss(y_true: &[usize], proba: ArrayView2<'_, f64>, n_classes: usize) -> Result<f64, EvalError> {
    check_proba(y_true, proba, n_classes, "log_loss")?;
    warn_unnormalized(proba, "log_loss");
    let eps = crate::eval::LOG_LOSS_EPS;
    let losses: Vec<f64> =
        y_true.iter().enumerate().map(|(i, &y)| -proba[[i, y]].clamp(eps, 1.0 - eps).ln()).collect();
    Ok(mean(&losses))
}

/// Multiclass Brier score: the mean over rows of `sum_c (onehot[i, c] - p[i, c])^2`, as
/// scikit-learn's `brier_score_loss(y_true, proba, labels=range(n_classes))` with its default
/// `scale_by_half="auto"`: **halved for two classes** (range `[0, 1]`, the binary Brier score),
/// not halved for three or more (range `[0, 2]`).
///
/// Rows that do not sum to 1 are scored with a warning, as in [`log_loss`]. Errors as
/// [`log_loss`].
///
/// ```
/// use mlflow_ml::eval::classification::brier_score;
/// use ndarray::array;
/// // The example of scikit-learn's docstring: rows cost 0.06, 0.14 and 0.24; mean 0.1466...
/// let p = array![[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.2, 0.2, 0.6]];
/// assert!((brier_score(&[0, 1, 2], p.view(), 3)? - 0.44 / 3.0).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn brier_score(y_true: &[usize], proba: ArrayView2<'_, f64>, n_classes: usize) -> Result<f64, EvalError> {
    check_proba(y_true, proba, n_classes, "brier_score")?;
    warn_unnormalized(proba, "brier_score");
    let rows: Vec<f64> = y_true
        .iter()
        .zip(proba.rows())
        .map(|(&y, r)| {
            r.iter()
                .enumerate()
                .map(|(c, &p)| {
                    let d = f64::from(u8::from(c == y)) - p;
                    d * d
                })
                .sum()
        })
        .collect();
    let score = mean(&rows);
    Ok(if n_classes < 3 { 0.5 * score } else { score })
}

/// Binary labels (0 or 1) and finite scores.
fn check_binary(y_true: &[usize], scores: &[f64]) -> Result<(), EvalError> {
    if y_true.len() != scores.len() {
        return Err(EvalError::RowsMismatch { y_true: y_true.len(), other: "scores", got: scores.len() });
    }
    check_classes(y_true, "y_true", 2)?;
    if let Some((row, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(EvalError::NotFinite { what: "scores", row, value });
    }
    Ok(())
}

/// The binary Brier score: the mean of `(y - p)^2` (scikit-learn's `brier_score_loss(y_true,
/// scores)` with 1-D scores, `pos_label=1`). Unlike ROC AUC it is defined with a single class.
///
/// Errors: empty input, different lengths, a label other than 0/1
/// ([`EvalError::ClassOutOfRange`]), a score outside `[0, 1]` ([`EvalError::BadScore`]).
///
/// ```
/// use mlflow_ml::eval::classification::binary_brier_score;
/// // scikit-learn's example: 0.0375.
/// assert!((binary_brier_score(&[0, 1, 1, 0], &[0.1, 0.9, 0.8, 0.3])? - 0.0375).abs() < 1e-15);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn binary_brier_score(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    check_binary(y_true, scores)?;
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !(0.0..=1.0).contains(*s)) {
        return Err(EvalError::BadScore { index, value });
    }
    let sq: Vec<f64> = y_true.iter().zip(scores).map(|(&y, &p)| (y as f64 - p) * (y as f64 - p)).collect();
    Ok(mean(&sq))
}

/// `(positives, negatives)` per distinct score, in decreasing score order.
fn tie_groups(positive: &[bool], scores: &[f64]) -> Vec<(u64, u64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Finite scores; adding 0.0 turns -0.0 into 0.0 so total_cmp is the numeric order.
    order.sort_by(|&a, &b| (scores[b] + 0.0).total_cmp(&(scores[a] + 0.0)));
    let mut out: Vec<(u64, u64)> = Vec::new();
    let mut last = f64::NAN;
    for i in order {
        let s = scores[i] + 0.0;
        let (p, n) = (u64::from(positive[i]), u64::from(!positive[i]));
        match out.last_mut() {
            Some(g) if s == last => {
                g.0 += p;
                g.1 += n;
            }
            _ => out.push((p, n)),
        }
        last = s;
    }
    out
}

/// ROC AUC of boolean labels and scores (Mann-Whitney, ties half); `None` with a single class.
fn auc(positive: &[bool], scores: &[f64]) -> Option<f64> {
    let pos = positive.iter().filter(|&&p| p).count() as u64;
    let neg = positive.len() as u64 - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut twice_u: u128 = 0;
    let mut neg_above: u64 = 0;
    for (p, n) in tie_groups(positive, scores) {
        let below = neg - neg_above - n;
        twice_u += u128::from(p) * (2 * u128::from(below) + u128::from(n));
        neg_above += n;
    }
    Some(twice_u as f64 / (2 * u128::from(pos) * u128::from(neg)) as f64)
}

/// Average precision of boolean labels and scores: `sum (R_k - R_{k-1}) P_k` over distinct
/// thresholds (scikit-learn's step integral); 0.0 without positives (scikit-learn warns that
/// recall is ill-defined and returns 0.0).
fn ap(positive: &[bool], scores: &[f64]) -> f64 {
    let pos = positive.iter().filter(|&&p| p).count() as u64;
    if pos == 0 {
        return 0.0;
    }
    let (mut tp, mut fp) = (0u64, 0u64);
    let (mut prev_recall, mut sum) = (0.0, 0.0);
    for (p, n) in tie_groups(positive, scores) {
        tp += p;
        fp += n;
        let recall = tp as f64 / pos as f64;
        sum += (recall - prev_recall) * (tp as f64 / (tp + fp) as f64);
        prev_recall = recall;
    }
    sum.max(0.0)
}

/// Binary average precision (scikit-learn's `average_precision_score(y_true, scores)`): the
/// precision-recall step integral over distinct scores, thresholds "positive when
/// `score >= t`". Scores may be any finite numbers. Unlike [`average_precision`](super::average_precision)
/// it accepts a single class, as scikit-learn does: 0.0 without positives (scikit-learn warns),
/// 1.0 without negatives.
///
/// ```
/// use mlflow_ml::eval::classification::binary_average_precision;
/// let ap = binary_average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// assert!((ap - 5.0 / 6.0).abs() < 1e-15);
/// assert_eq!(binary_average_precision(&[0, 0], &[0.1, 0.4])?, 0.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn binary_average_precision(y_true: &[usize], scores: &[f64]) -> Result<f64, EvalError> {
    check_binary(y_true, scores)?;
    let positive: Vec<bool> = y_true.iter().map(|&y| y == 1).collect();
    Ok(ap(&positive, scores))
}

fn check_sums_allclose(proba: ArrayView2<'_, f64>, metric: &'static str) -> Result<(), EvalError> {
    for (row, r) in proba.rows().into_iter().enumerate() {
        let sum = r.sum();
        if !sums_to_one_allclose(sum) {
            return Err(EvalError::RowSum { metric, row, sum });
        }
    }
    Ok(())
}

fn binary_column_auc(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    metric: &'static str,
) -> Result<f64, EvalError> {
    let positive: Vec<bool> = y_true.iter().map(|&y| y == 1).collect();
    let scores: Vec<f64> = proba.column(1).to_vec();
    auc(&positive, &scores).ok_or_else(|| EvalError::Undefined {
        metric,
        reason: format!(
            "only class {} is present in y_true; evaluate on samples of both classes (use a stratified split)",
            y_true[0]
        ),
    })
}

/// One-vs-rest ROC AUC (scikit-learn's `roc_auc_score(y_true, proba, multi_class="ovr",
/// average=..., labels=range(n_classes))`): for each class, the AUC of "this class" against the
/// rest scored by its column, then the macro mean, or the mean weighted by support.
///
/// - With **two classes** it is the binary AUC of column 1 (scikit-learn's
///   `roc_auc_score(y_true, proba[:, 1])`; it refuses a two-column matrix).
/// - A class **never true** has no AUC: the macro mean is undefined ([`EvalError::Undefined`];
///   scikit-learn: NaN with a warning); the weighted mean gives it weight 0, as scikit-learn does.
/// - Each row must sum to 1 (`np.allclose`, as scikit-learn requires): [`EvalError::RowSum`].
///
/// ```
/// use mlflow_ml::eval::classification::roc_auc_ovr;
/// use mlflow_ml::eval::MulticlassAverage;
/// use ndarray::array;
/// let p = array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]];
/// assert_eq!(roc_auc_ovr(&[0, 1, 2, 1], p.view(), 3, MulticlassAverage::Macro)?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn roc_auc_ovr(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
    average: MulticlassAverage,
) -> Result<f64, EvalError> {
    const METRIC: &str = "roc_auc_ovr";
    check_proba(y_true, proba, n_classes, METRIC)?;
    check_sums_allclose(proba, METRIC)?;
    if n_classes == 2 {
        return binary_column_auc(y_true, proba, METRIC);
    }
    let mut scores = Vec::with_capacity(n_classes);
    let mut weights = Vec::with_capacity(n_classes);
    for c in 0..n_classes {
        let positive: Vec<bool> = y_true.iter().map(|&y| y == c).collect();
        let support = positive.iter().filter(|&&p| p).count();
        let column = proba.column(c).to_vec();
        scores.push(auc(&positive, &column));
        weights.push(support as f64);
    }
    let undefined = |c: usize, why: &str| EvalError::Undefined {
        metric: METRIC,
        reason: format!(
            "class {c} {why}, so its one-vs-rest AUC is undefined; {}",
            match average {
                MulticlassAverage::Macro => "use the weighted average or evaluate on samples of every class",
                MulticlassAverage::Weighted => "evaluate on samples of several classes",
            }
        ),
    };
    match average {
        MulticlassAverage::Macro => {
            let mut values = Vec::with_capacity(n_classes);
            for (c, s) in scores.iter().enumerate() {
                let why =
                    if weights[c] == 0.0 { "never occurs in y_true" } else { "is the only class in y_true" };
                values.push(s.ok_or_else(|| undefined(c, why))?);
            }
            Ok(mean(&values))
        }
        MulticlassAverage::Weighted => {
            let (mut sum, mut total) = (0.0, 0.0);
            for (c, s) in scores.iter().enumerate() {
                if weights[c] == 0.0 {
                    continue; // scikit-learn forces the score of a 0-weight class to 0
                }
                sum += s.ok_or_else(|| undefined(c, "is the only class in y_true"))? * weights[c];
                total += weights[c];
            }
            Ok(sum / total)
        }
    }
}

/// One-vs-one ROC AUC (Hand & Till; scikit-learn's `roc_auc_score(y_true, proba,
/// multi_class="ovo", average=..., labels=range(n_classes))`): for each pair `(a, b)` of classes
/// **present in `y_true`**, the samples of either class, the mean of AUC(a vs b by column a) and
/// AUC(b vs a by column b); then the macro mean over pairs, or the mean weighted by the share of
/// samples in each pair.
///
/// With two classes it is the binary AUC of column 1, as [`roc_auc_ovr`]. Undefined
/// ([`EvalError::Undefined`]) when fewer than two classes occur in `y_true`. Rows must sum to 1.
///
/// ```
/// use mlflow_ml::eval::classification::roc_auc_ovo;
/// use mlflow_ml::eval::MulticlassAverage;
/// use ndarray::array;
/// let p = array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]];
/// assert_eq!(roc_auc_ovo(&[0, 1, 2, 1], p.view(), 3, MulticlassAverage::Weighted)?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn roc_auc_ovo(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
    average: MulticlassAverage,
) -> Result<f64, EvalError> {
    const METRIC: &str = "roc_auc_ovo";
    check_proba(y_true, proba, n_classes, METRIC)?;
    check_sums_allclose(proba, METRIC)?;
    if n_classes == 2 {
        return binary_column_auc(y_true, proba, METRIC);
    }
    let present: Vec<usize> = (0..n_classes).filter(|c| y_true.contains(c)).collect();
    if present.len() < 2 {
        return Err(EvalError::Undefined {
            metric: METRIC,
            reason: "fewer than two classes occur in y_true, so there is no pair of classes to compare; evaluate on samples of several classes".to_owned(),
        });
    }
    let n = y_true.len() as f64;
    let (mut scores, mut prevalence) = (Vec::new(), Vec::new());
    for (i, &a) in present.iter().enumerate() {
        for &b in &present[i + 1..] {
            let rows: Vec<usize> = (0..y_true.len()).filter(|&r| y_true[r] == a || y_true[r] == b).collect();
            let is_a: Vec<bool> = rows.iter().map(|&r| y_true[r] == a).collect();
            let is_b: Vec<bool> = is_a.iter().map(|&x| !x).collect();
            let col_a: Vec<f64> = rows.iter().map(|&r| proba[[r, a]]).collect();
            let col_b: Vec<f64> = rows.iter().map(|&r| proba[[r, b]]).collect();
            // Both classes occur among `rows`, so both AUCs exist.
            let (Some(auc_a), Some(auc_b)) = (auc(&is_a, &col_a), auc(&is_b, &col_b)) else {
                continue;
            };
            scores.push((auc_a + auc_b) / 2.0);
            prevalence.push(rows.len() as f64 / n);
        }
    }
    Ok(match average {
        MulticlassAverage::Macro => mean(&scores),
        MulticlassAverage::Weighted => {
            let total: f64 = prevalence.iter().sum();
            scores.iter().zip(&prevalence).map(|(s, w)| s * w).sum::<f64>() / total
        }
    })
}

/// Average precision of each class against the rest, scored by its column (scikit-learn's
/// `average_precision_score(label_binarize(y_true, classes=range(n_classes)), proba,
/// average=None)`); a class never true gets 0.0 (scikit-learn warns). With two classes there
/// are two entries too (class 0 by column 0, class 1 by column 1).
///
/// ```
/// use mlflow_ml::eval::classification::average_precision_per_class;
/// use ndarray::array;
/// let p = array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.4, 0.5]];
/// assert_eq!(average_precision_per_class(&[0, 1, 1], p.view(), 3)?, vec![1.0, 1.0, 0.0]);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn average_precision_per_class(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
) -> Result<Vec<f64>, EvalError> {
    check_proba(y_true, proba, n_classes, "average_precision")?;
    Ok((0..n_classes)
        .map(|c| {
            let positive: Vec<bool> = y_true.iter().map(|&y| y == c).collect();
            ap(&positive, &proba.column(c).to_vec())
        })
        .collect())
}

/// Average precision over classes, one-vs-rest: the macro mean of
/// [`average_precision_per_class`], or its mean weighted by support (a class never true has
/// weight 0), as scikit-learn's `average_precision_score` on `label_binarize`d labels (for three
/// or more classes all present in `y_true`, the same as `average_precision_score(y_true, proba)`).
///
/// With **two classes** it is the binary average precision of column 1 (scikit-learn's
/// `average_precision_score(y_true, proba[:, 1])`), whatever the average.
///
/// ```
/// use mlflow_ml::eval::classification::average_precision_ovr;
/// use mlflow_ml::eval::MulticlassAverage;
/// use ndarray::array;
/// let p = array![[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.4, 0.5]];
/// assert_eq!(average_precision_ovr(&[0, 1, 1], p.view(), 3, MulticlassAverage::Macro)?, 2.0 / 3.0);
/// assert_eq!(average_precision_ovr(&[0, 1, 1], p.view(), 3, MulticlassAverage::Weighted)?, 1.0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn average_precision_ovr(
    y_true: &[usize],
    proba: ArrayView2<'_, f64>,
    n_classes: usize,
    average: MulticlassAverage,
) -> Result<f64, EvalError> {
    let per_class = average_precision_per_class(y_true, proba, n_classes)?;
    if n_classes == 2 {
        return Ok(per_class[1]);
    }
    Ok(match average {
        MulticlassAverage::Macro => mean(&per_class),
        MulticlassAverage::Weighted => {
            let weights: Vec<f64> =
                (0..n_classes).map(|c| y_true.iter().filter(|&&y| y == c).count() as f64).collect();
            per_class.iter().zip(&weights).map(|(s, w)| s * w).sum::<f64>() / weights.iter().sum::<f64>()
        }
    })
}
