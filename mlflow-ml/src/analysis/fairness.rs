//! Group fairness of a binary classifier's decisions: per group its selection rate, true and
//! false positive rates, and the differences fairlearn reports.

use serde::{Deserialize, Serialize};

use super::AnalysisError;

/// One group's rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// The group's value (`female`, `3`, ...).
    pub group: String,
    /// Its rows.
    pub count: usize,
    /// The fraction predicted positive.
    pub selection_rate: f64,
    /// Recall: positives predicted positive (0 when the group has no positive, as fairlearn).
    pub true_positive_rate: f64,
    /// Negatives predicted positive (0 when the group has no negative).
    pub false_positive_rate: f64,
}

/// Per-group rates and fairlearn's summary differences (`method="between_groups"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// The groups, sorted by value.
    pub groups: Vec<GroupRates>,
    /// `demographic_parity_difference`: the largest selection rate minus the smallest.
    pub demographic_parity_difference: f64,
    /// `equalized_odds_difference`: the larger of the true and false positive rates' spreads.
    pub equalized_odds_difference: f64,
}

/// Rates of the decisions `y_pred` (0 or 1) against `y_true` in each group of `groups`, as
/// fairlearn's `MetricFrame` and its `demographic_parity_difference` and
/// `equalized_odds_difference` compute them.
///
/// ```
/// use mlflow_ml::analysis::fairness;
/// let y_true = [1, 0, 1, 0, 1, 0];
/// let y_pred = [1, 0, 1, 1, 0, 0];
/// let sex = ["f", "f", "f", "m", "m", "m"];
/// let f = fairness(&y_true, &y_pred, &sex)?;
/// assert_eq!(f.groups[0].selection_rate, 2.0 / 3.0);
/// assert_eq!(f.groups[1].false_positive_rate, 0.5);
/// assert_eq!(f.equalized_odds_difference, 1.0); // TPR 1 for f, 0 for m
/// # Ok::<(), mlflow_ml::analysis::AnalysisError>(())
/// ```
///
/// Errors: no rows, different lengths, a label or decision other than 0 or 1.
pub fn fairness<G: ToString>(
    y_true: &[usize],
    y_pred: &[usize],
    groups: &[G],
) -> Result<Fairness, AnalysisError> {
    if y_true.is_empty() || y_true.len() != y_pred.len() || y_true.len() != groups.len() {
        return Err(AnalysisError::BadInput {
            detail: format!(
                "{} labels, {} decisions and {} group values: give one of each per row, at least one row",
                y_true.len(),
                y_pred.len(),
                groups.len()
            ),
        });
    }
    if let Some(row) = y_true.iter().chain(y_pred).position(|&v| v > 1) {
        return Err(AnalysisError::BadInput {
            detail: format!("row {}: labels and decisions must be 0 or 1", row % y_true.len()),
        });
    }
    let mut by_group: std::collections::BTreeMap<String, [usize; 4]> = Default::default();
    for ((&t, &p), g) in y_true.iter().zip(y_pred).zip(groups) {
        // [true negatives, false positives, false negatives, true positives]
        by_group.entry(g.to_string()).or_default()[2 * t + p] += 1;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let groups: Vec<GroupRates> = by_group
        .into_iter()
        .map(|(group, [tn, fp, fn_, tp])| GroupRates {
            group,
            count: tn + fp + fn_ + tp,
            selection_rate: ratio(fp + tp, tn + fp + fn_ + tp),
            true_positive_rate: ratio(tp, tp + fn_),
            false_positive_rate: ratio(fp, fp + tn),
        })
        .collect();
    let spread = |rate: fn(&GroupRates) -> f64| {
        let values = groups.iter().map(rate);
        values.clone().fold(f64::NEG_INFINITY, f64::max) - values.fold(f64::INFINITY, f64::min)
    };
    let tpr = spread(|g| g.true_positive_rate);
    let fpr = spread(|g| g.false_positive_rate);
    Ok(Fairness {
        demographic_parity_difference: spread(|g| g.selection_rate),
        equalized_odds_difference: tpr.max(fpr),
        groups,
    })
}
