//! Stopping unpromising trials early: Optuna's median (percentile) pruner, on the intermediate
//! values a trial reports as it goes (a running cross-validated score after each fold, say).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TuneError;

/// A trial's intermediate values: step (from 0) to value.
pub type Intermediate = BTreeMap<u64, f64>;

/// Optuna's `PercentilePruner` (and `MedianPruner`, its 50th percentile) with Optuna's defaults
/// and rules: a trial is pruned at a step when the best value it has reported so far is worse
/// than the given percentile of the values the completed trials reported at that step.
///
/// Pruning waits for `n_startup_trials` completed trials, for the trial to reach step
/// `n_warmup_steps`, for a step on the `interval_steps` grid (offset by the warm-up) and for
/// `n_min_trials` completed trials with a value at the step. A trial whose values are all NaN is
/// pruned. The percentile interpolates linearly (numpy's `nanpercentile`). The decisions equal
/// Optuna 4.6.0's on committed cases (`tests/fixtures/tune/pruner.py`).
///
/// ```
/// use mlflow_ml::tune::{Intermediate, Pruner};
/// let pruner = Pruner::median();
/// let curve = |v: [f64; 3]| Intermediate::from([(0, v[0]), (1, v[1]), (2, v[2])]);
/// let completed: Vec<Intermediate> =
///     [0.70, 0.72, 0.74, 0.76, 0.78].map(|s| curve([s, s + 0.01, s + 0.02])).into();
/// // Higher is better: at step 1 the median of the completed trials is 0.75.
/// let weak = Intermediate::from([(0, 0.60), (1, 0.62)]);
/// let strong = Intermediate::from([(0, 0.80), (1, 0.81)]);
/// assert!(pruner.should_prune(&completed, &weak, true));
/// assert!(!pruner.should_prune(&completed, &strong, true));
/// // Too few completed trials: never pruned.
/// assert!(!pruner.should_prune(&completed[..4], &weak, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pruner {
    /// The percentile of the completed trials' values a trial must reach (50: the median).
    pub percentile: f64,
    /// Completed trials needed before anything is pruned (Optuna: 5).
    pub n_startup_trials: usize,
    /// Steps of each trial before it can be pruned (Optuna: 0).
    pub n_warmup_steps: u64,
    /// Steps between pruning checks, after the warm-up (Optuna: 1).
    pub interval_steps: u64,
    /// Completed trials with a value at a step needed to judge it (Optuna: 1).
    pub n_min_trials: usize,
}

impl Default for Pruner {
    fn default() -> Self {
        Pruner::median()
    }
}

impl Pruner {
    /// Optuna's `MedianPruner()`: the 50th percentile, 5 startup trials, no warm-up, every step.
    pub fn median() -> Self {
        Pruner {
            percentile: 50.0,
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
            n_min_trials: 1,
        }
    }

    /// Optuna's `PercentilePruner(percentile)` with its defaults otherwise: a trial must reach the
    /// top `percentile` per cent of the completed trials (25 keeps the best quarter).
    pub fn percentile(percentile: f64) -> Self {
        Pruner { percentile, ..Pruner::median() }
    }

    /// Checks the settings: a percentile in `[0, 100]`, `interval_steps` and `n_min_trials` at
    /// least 1 (Optuna's rules).
    ///
    /// ```
    /// use mlflow_ml::tune::Pruner;
    /// assert!(Pruner::median().check().is_ok());
    /// let err = Pruner { interval_steps: 0, ..Pruner::median() }.check().unwrap_err();
    /// assert!(err.to_string().contains("interval_steps"), "{err}");
    /// ```
    pub fn check(&self) -> Result<(), TuneError> {
        let bad = |detail: String| Err(TuneError::BadSearch { detail });
        if !(0.0..=100.0).contains(&self.percentile) {
            return bad(format!("the pruner's percentile is {}; give one from 0 to 100", self.percentile));
        }
        if self.interval_steps == 0 {
            return bad("the pruner's interval_steps is 0; give at least 1 (1 checks every step)".into());
        }
        if self.n_min_trials == 0 {
            return bad("the pruner's n_min_trials is 0; give at least 1".into());
        }
        Ok(())
    }

    /// Whether a trial that has reported `intermediate` (its last step the one just reported)
    /// should stop, given the intermediate values of the `completed` trials (neither pruned nor
    /// failed), where higher values are better or lower.
    pub fn should_prune(
        &self,
        completed: &[Intermediate],
        intermediate: &Intermediate,
        higher_is_better: bool,
    ) -> bool {
        if completed.is_empty() || completed.len() < self.n_startup_trials {
            return false;
        }
        let Some((&step, _)) = intermediate.last_key_value() else { return false };
        if step < self.n_warmup_steps || !self.first_in_interval(step, intermediate) {
            return false;
        }
        let finite = intermediate.values().filter(|v| !v.is_nan());
        let best = if higher_is_better {
            finite.fold(f64::NAN, |a: f64, &b| a.max(b))
        } else {
            finite.fold(f64::NAN, |a: f64, &b| a.min(b))
        };
        if best.is_nan() {
            return true;
        }
        let at_step: Vec<f64> = completed.iter().filter_map(|t| t.get(&step).copied()).collect();
        if at_step.len() < self.n_min_trials {
            return false;
        }
        let percentile = if higher_is_better { 100.0 - self.percentile } else { self.percentile };
        let Some(threshold) = nan_percentile(&at_step, percentile) else { return false };
        if higher_is_better { best < threshold } else { best > threshold }
    }

    /// Whether `step` is the first step reported in its interval (Optuna checks once per
    /// interval, at the first value reported in it).
    fn first_in_interval(&self, step: u64, intermediate: &Intermediate) -> bool {
        let warmup = self.n_warmup_steps;
        let nearest_lower = (step - warmup) / self.interval_steps * self.interval_steps + warmup;
        let second_last = intermediate.keys().copied().filter(|&s| s != step).max();
        second_last.is_none_or(|s| s < nearest_lower)
    }
}

/// numpy's `nanpercentile` with linear interpolation; `None` when every value is NaN.
fn nan_percentile(values: &[f64], percentile: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(crate::features::quantile(&v, percentile / 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_interpolates_as_numpy() {
        assert_eq!(nan_percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        assert_eq!(nan_percentile(&[4.0, f64::NAN, 1.0], 25.0), Some(1.75));
        assert_eq!(nan_percentile(&[f64::NAN], 50.0), None);
        assert_eq!(nan_percentile(&[3.0], 90.0), Some(3.0));
    }

    #[test]
    fn checks_only_at_the_first_report_of_each_interval() {
        let pruner = Pruner { interval_steps: 3, n_startup_trials: 1, ..Pruner::median() };
        let completed = vec![Intermediate::from([(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)])];
        let bad = |steps: &[u64]| steps.iter().map(|&s| (s, 0.0)).collect::<Intermediate>();
        assert!(pruner.should_prune(&completed, &bad(&[0]), true));
        assert!(!pruner.should_prune(&completed, &bad(&[0, 1]), true), "step 1 is inside the first interval");
        assert!(pruner.should_prune(&completed, &bad(&[0, 1, 2, 3]), true), "step 3 opens the next one");
        assert!(!pruner.should_prune(&completed, &bad(&[0, 1, 2, 3, 4]), true));
    }

    #[test]
    fn lower_is_better_prunes_the_high_ones_and_all_nan_is_pruned() {
        let pruner = Pruner { n_startup_trials: 0, ..Pruner::median() };
        let completed: Vec<Intermediate> = [1.0, 2.0, 3.0].map(|v| Intermediate::from([(0, v)])).into();
        assert!(pruner.should_prune(&completed, &Intermediate::from([(0, 2.5)]), false));
        assert!(!pruner.should_prune(&completed, &Intermediate::from([(0, 1.5)]), false));
        assert!(pruner.should_prune(&completed, &Intermediate::from([(0, f64::NAN)]), false));
        assert!(!pruner.should_prune(&[], &Intermediate::from([(0, f64::NAN)]), false), "nothing completed");
    }
}
