//! Champion selection by any metric that knows its direction.

use mlflow_core::registry::PromotionMetric;
use serde::{Deserialize, Serialize};

use super::{BinaryMetrics, EvalError, Metric};

/// A set of metric values that can be looked up by metric: [`BinaryMetrics`] by [`Metric`],
/// [`ClassificationReport`](super::ClassificationReport) by [`ClassMetric`](super::ClassMetric),
/// [`RegressionReport`](super::RegressionReport) by [`RegressionMetric`](super::RegressionMetric).
///
/// ```
/// use mlflow_ml::eval::{RegressionMetric, RegressionReport, Scores};
/// let r = RegressionReport::compute(&[1.0, 2.0], &[1.0, 3.0])?;
/// assert_eq!(r.score(RegressionMetric::MaxError), Some(1.0));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub trait Scores<M> {
    /// The value of `metric`; `None` when undefined.
    fn score(&self, metric: M) -> Option<f64>;
}

impl Scores<Metric> for BinaryMetrics {
    fn score(&self, metric: Metric) -> Option<f64> {
        Some(self.get(metric))
    }
}

/// The best candidate by one metric (see [`select_best`]).
///
/// ```
/// use mlflow_ml::eval::{select_best, RegressionMetric, RegressionReport};
/// let r = RegressionReport::compute(&[1.0, 2.0], &[1.0, 3.0])?;
/// let best = select_best(&[("only".to_string(), r)], RegressionMetric::Mae)?;
/// assert_eq!((best.index, best.name.as_str(), best.value), (0, "only", 0.5));
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best<M> {
    /// Position in the candidate list.
    pub index: usize,
    /// The candidate's name.
    pub name: String,
    /// The metric it was selected by.
    pub metric: M,
    /// Its value of that metric.
    pub value: f64,
}

/// Picks the candidate with the best value of `metric`, in the metric's direction
/// ([`PromotionMetric::higher_is_better`]: highest accuracy or R², lowest log loss, Brier or
/// error).
///
/// Ties go to the **first** candidate in input order. A candidate whose value is undefined
/// (`None`) or NaN never wins; if none has a value, [`EvalError::NoUsableScore`]; no candidates,
/// [`EvalError::NoCandidates`]. Works for the binary [`BinaryMetrics`] too.
///
/// ```
/// use mlflow_ml::eval::{select_best, ClassMetric, ClassificationReport, RegressionMetric, RegressionReport};
/// let y = [1.0, 2.0, 3.0, 4.0];
/// let a = RegressionReport::compute(&y, &[1.0, 2.0, 3.0, 8.0])?; // one big miss
/// let b = RegressionReport::compute(&y, &[1.5, 2.5, 3.5, 4.5])?; // small misses everywhere
/// let c = vec![("a".to_string(), a), ("b".to_string(), b)];
/// assert_eq!(select_best(&c, RegressionMetric::MedianAbsoluteError)?.name, "a");
/// assert_eq!(select_best(&c, RegressionMetric::Rmse)?.name, "b");
/// assert_eq!(select_best(&c, RegressionMetric::R2)?.name, "b");
///
/// let k = ClassificationReport::compute(&[0, 1, 2], &[0, 1, 1], None, 3)?;
/// let best = select_best(&[("k".to_string(), k)], ClassMetric::F1Macro)?;
/// assert_eq!(best.index, 0);
/// # Ok::<(), mlflow_ml::eval::EvalError>(())
/// ```
pub fn select_best<M, S>(candidates: &[(String, S)], metric: M) -> Result<Best<M>, EvalError>
where
    M: PromotionMetric + Copy,
    S: Scores<M>,
{
    if candidates.is_empty() {
        return Err(EvalError::NoCandidates);
    }
    let higher = metric.higher_is_better();
    let mut best: Option<(usize, f64)> = None;
    for (i, (_, s)) in candidates.iter().enumerate() {
        let Some(v) = s.score(metric).filter(|v| !v.is_nan()) else {
            continue;
        };
        if best.is_none_or(|(_, b)| if higher { v > b } else { v < b }) {
            best = Some((i, v));
        }
    }
    let (index, value) =
        best.ok_or_else(|| EvalError::NoUsableScore { metric: metric.metric_name().to_owned() })?;
    Ok(Best { index, name: candidates[index].0.clone(), metric, value })
}
