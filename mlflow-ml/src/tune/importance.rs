//! How much each hyperparameter matters to a finished search: the share of the spread of the
//! trials' mean scores that the hyperparameter explains on its own.

use std::collections::BTreeMap;

use super::{CvResults, ParamValue};

/// Distinct numeric values above which a hyperparameter is grouped into quantile bins (a random
/// or TPE search draws a new value per trial, and a group of one trial explains everything).
const MAX_GROUPS: usize = 10;
/// How many quantile bins a many-valued numeric hyperparameter is grouped into.
const BINS: usize = 5;

/// One hyperparameter's importance in a search (see [`param_importance`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamImportance {
    /// The hyperparameter.
    pub name: String,
    /// The share of the variance of the trials' mean scores explained by this hyperparameter's
    /// value alone, in `[0, 1]`.
    pub share: f64,
    /// How many groups its values formed (distinct values, or quantile bins).
    pub groups: usize,
}

/// The importance of each hyperparameter that varies across the trials of `results`, most
/// important first: the share of the variance of the trials' mean scores explained by that
/// hyperparameter alone (the between-group sum of squares over the total, one-way ANOVA's η²).
///
/// Trials whose mean is not finite (a failed fold) are left out. A hyperparameter absent from a
/// trial (a conditional one) forms a group of its own. A numeric hyperparameter with more than 10
/// distinct values is grouped into 5 quantile bins of the trials, by value.
///
/// On a complete grid this is functional ANOVA's first-order (main effect) variance fraction of
/// the grid's table of scores, the quantity Optuna's default fANOVA evaluator estimates with a
/// random forest; unlike Optuna, the shares are not rescaled to sum to 1, so what the
/// hyperparameters explain only together (their interactions) stays visible as `1 - sum`.
/// Returns nothing when fewer than two trials scored or all scored alike.
///
/// ```
/// use mlflow_ml::tune::{param_importance, CvResults, Params, ParamValue};
/// // Depth decides the score; the seed changes nothing.
/// let trial = |depth: i64, seed: i64| {
///     Params::from([("depth".into(), ParamValue::Int(depth)), ("seed".into(), ParamValue::Int(seed))])
/// };
/// let results = CvResults::new(
///     vec![trial(2, 0), trial(2, 1), trial(8, 0), trial(8, 1)],
///     vec![vec![0.70], vec![0.70], vec![0.80], vec![0.80]],
///     true,
/// )?;
/// let importance = param_importance(&results);
/// assert_eq!(importance[0].name, "depth");
/// assert!((importance[0].share - 1.0).abs() < 1e-12);
/// assert_eq!(importance[1].share, 0.0);
/// # Ok::<(), mlflow_ml::tune::TuneError>(())
/// ```
pub fn param_importance(results: &CvResults) -> Vec<ParamImportance> {
    let scored: Vec<_> = results.candidates.iter().filter(|c| c.mean.is_finite()).collect();
    if scored.len() < 2 {
        return Vec::new();
    }
    let n = scored.len() as f64;
    // Centered first: scores are bounded, but a constant offset must not cost precision.
    let grand = scored.iter().map(|c| c.mean).sum::<f64>() / n;
    let total: f64 = scored.iter().map(|c| (c.mean - grand).powi(2)).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    let names: std::collections::BTreeSet<&String> = scored.iter().flat_map(|c| c.params.keys()).collect();
    let mut out: Vec<ParamImportance> = names
        .into_iter()
        .filter_map(|name| {
            let values: Vec<Option<&ParamValue>> = scored.iter().map(|c| c.params.get(name)).collect();
            let groups = group_of(&values);
            let count = groups.iter().collect::<std::collections::BTreeSet<_>>().len();
            if count < 2 {
                return None; // the same value in every trial: not searched
            }
            let mut sums: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
            for (g, c) in groups.iter().zip(&scored) {
                let entry = sums.entry(*g).or_default();
                entry.0 += c.mean - grand;
                entry.1 += 1.0;
            }
            let between: f64 = sums.values().map(|(sum, k)| sum * sum / k).sum();
            Some(ParamImportance {
                name: name.clone(),
                share: (between / total).clamp(0.0, 1.0),
                groups: count,
            })
        })
        .collect();
    out.sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The group of each trial's value: one per distinct value, or a quantile bin of a many-valued
/// number; absent values share one group of their own.
fn group_of(values: &[Option<&ParamValue>]) -> Vec<usize> {
    let numbers: Vec<Option<f64>> = values
        .iter()
        .map(|v| match v {
            Some(ParamValue::Int(i)) => Some(*i as f64),
            Some(ParamValue::Float(f)) => Some(*f),
            _ => None,
        })
        .collect();
    let mut distinct: Vec<f64> = numbers.iter().flatten().copied().collect();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let all_numeric = values.iter().zip(&numbers).all(|(v, n)| v.is_none() || n.is_some());
    if all_numeric && distinct.len() > MAX_GROUPS {
        let mut order: Vec<usize> = (0..values.len()).filter(|&i| numbers[i].is_some()).collect();
        order.sort_by(|&a, &b| numbers[a].unwrap_or_default().total_cmp(&numbers[b].unwrap_or_default()));
        let mut groups = vec![BINS; values.len()]; // absent: the group after the bins
        for (rank, &i) in order.iter().enumerate() {
            groups[i] = rank * BINS / order.len();
        }
        return groups;
    }
    let mut seen: Vec<Option<&ParamValue>> = Vec::new();
    values
        .iter()
        .map(|v| {
            seen.iter().position(|s| s == v).unwrap_or_else(|| {
                seen.push(*v);
                seen.len() - 1
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::Params;

    fn results(trials: &[(f64, f64, f64)]) -> CvResults {
        let params = trials
            .iter()
            .map(|&(a, b, _)| {
                Params::from([("a".into(), ParamValue::Float(a)), ("b".into(), ParamValue::Float(b))])
            })
            .collect();
        CvResults::new(params, trials.iter().map(|t| vec![t.2]).collect(), true).unwrap()
    }

    #[test]
    fn additive_grid_splits_the_variance_between_its_parameters() {
        // score = a + 2b on a 2x2 grid: var(a-effect) = 0.25, var(b-effect) = 1, no interaction.
        let r = results(&[(0.0, 0.0, 0.0), (0.0, 1.0, 2.0), (1.0, 0.0, 1.0), (1.0, 1.0, 3.0)]);
        let imp = param_importance(&r);
        assert_eq!(imp.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert!((imp[0].share - 0.8).abs() < 1e-12 && (imp[1].share - 0.2).abs() < 1e-12, "{imp:?}");
    }

    #[test]
    fn a_pure_interaction_leaves_each_main_effect_at_zero() {
        let r = results(&[(0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (1.0, 1.0, 1.0)]);
        assert!(param_importance(&r).iter().all(|p| p.share.abs() < 1e-12));
    }

    #[test]
    fn many_valued_numbers_are_binned_and_failed_trials_left_out() {
        let mut trials: Vec<(f64, f64, f64)> = (0..20).map(|i| (i as f64, 0.5, i as f64)).collect();
        trials.push((99.0, 0.5, f64::NAN));
        let imp = param_importance(&results(&trials));
        assert_eq!(imp.len(), 1, "b is constant: not searched");
        assert_eq!(imp[0].groups, BINS);
        assert!(imp[0].share > 0.9 && imp[0].share < 1.0, "{imp:?}");
    }

    #[test]
    fn nothing_to_explain_gives_nothing() {
        assert!(param_importance(&results(&[(0.0, 0.0, 0.5), (1.0, 1.0, 0.5)])).is_empty());
        assert!(param_importance(&results(&[(0.0, 0.0, 0.5)])).is_empty());
    }
}
