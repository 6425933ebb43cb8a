//! Successive halving: scikit-learn's `HalvingGridSearchCV` schedule of candidates and resources
//! per iteration, and its choice of the candidates that go on.

use serde::{Deserialize, Serialize};

use super::TuneError;

/// How many resources (rows, by default) the first iteration gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinResources {
    /// This many.
    Count(usize),
    /// scikit-learn's `"smallest"`: `2 x n_splits` rows, times the number of classes for a
    /// classifier (pass that product).
    Smallest(usize),
    /// scikit-learn's `"exhaust"`: as many as lets the last iteration use nearly all of
    /// `max_resources`, and at least the `smallest` given.
    Exhaust {
        /// The `"smallest"` amount, the floor.
        smallest: usize,
    },
}

/// A successive-halving search's settings (scikit-learn's defaults: factor 3, `exhaust`, no
/// aggressive elimination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halving {
    /// Each iteration keeps `ceil(n / factor)` candidates and multiplies the resources by it.
    pub factor: usize,
    /// The resources of the first iteration.
    pub min_resources: MinResources,
    /// The most resources an iteration may use (the number of training rows, usually).
    pub max_resources: usize,
    /// Eliminate at the first iteration's resources until the remaining iterations fit.
    pub aggressive_elimination: bool,
}

/// One iteration of a [`Halving`] schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rung {
    /// The candidates evaluated.
    pub candidates: usize,
    /// The resources each gets.
    pub resources: usize,
}

impl Halving {
    /// scikit-learn's defaults for `max_resources` rows and a `"smallest"` of `smallest`
    /// (`2 x n_splits x n_classes` for a classifier): factor 3, `exhaust`.
    pub fn new(max_resources: usize, smallest: usize) -> Self {
        Halving {
            factor: 3,
            min_resources: MinResources::Exhaust { smallest },
            max_resources,
            aggressive_elimination: false,
        }
    }

    /// The iterations for `n_candidates` candidates, exactly as `HalvingGridSearchCV` computes
    /// them (`n_candidates_` and `n_resources_`), the candidates of each iteration being
    /// `ceil(previous / factor)`.
    ///
    /// ```
    /// use mlflow_ml::tune::{Halving, Rung};
    /// // 36 candidates, 5-fold CV on 891 rows of 2 classes: smallest = 2 x 5 x 2 = 20.
    /// let rungs = Halving::new(891, 20).schedule(36)?;
    /// assert_eq!(rungs, [
    ///     Rung { candidates: 36, resources: 33 },
    ///     Rung { candidates: 12, resources: 99 },
    ///     Rung { candidates: 4, resources: 297 },
    ///     Rung { candidates: 2, resources: 891 },
    /// ]);
    /// # Ok::<(), mlflow_ml::tune::TuneError>(())
    /// ```
    ///
    /// Errors: no candidate, a factor under 2, no resources, or more resources at the start than
    /// at most.
    pub fn schedule(&self, n_candidates: usize) -> Result<Vec<Rung>, TuneError> {
        if n_candidates == 0 {
            return Err(TuneError::NoCandidates);
        }
        if self.factor < 2 {
            return Err(TuneError::BadHalving { detail: format!("factor {} is under 2", self.factor) });
        }
        let factor = self.factor as f64;
        // Python's math.log(x, base), as scikit-learn floors it.
        let log = |x: usize| (x as f64).ln() / factor.ln();
        let required = 1 + log(n_candidates).floor() as u32;
        let mut min = match self.min_resources {
            MinResources::Count(n) | MinResources::Smallest(n) | MinResources::Exhaust { smallest: n } => n,
        };
        if min == 0 || self.max_resources == 0 {
            return Err(TuneError::BadHalving {
                detail: "no resources: the first iteration would train on 0 rows".into(),
            });
        }
        if min > self.max_resources {
            return Err(TuneError::BadHalving {
                detail: format!(
                    "min_resources {min} is greater than max_resources {}: use fewer folds or more rows",
                    self.max_resources
                ),
            });
        }
        if let MinResources::Exhaust { .. } = self.min_resources {
            min = min.max(self.max_resources / self.factor.pow(required - 1));
        }
        let possible = 1 + log(self.max_resources / min).floor() as u32;
        let iterations = if self.aggressive_elimination { required } else { possible.min(required) };
        let mut candidates = n_candidates;
        let mut rungs = Vec::with_capacity(iterations as usize);
        for itr in 0..iterations {
            let power =
                if self.aggressive_elimination { (itr + possible).saturating_sub(required) } else { itr };
            let resources = (self.factor.pow(power) * min).min(self.max_resources);
            rungs.push(Rung { candidates, resources });
            candidates = candidates.div_ceil(self.factor);
        }
        Ok(rungs)
    }
}

/// The indices of the `k` best of `scores` (higher is better) in scikit-learn's order for
/// `_top_k`: ascending by score, NaN first (worst), ties in a stable order, the best last.
///
/// ```
/// use mlflow_ml::tune::top_k;
/// assert_eq!(top_k(&[0.5, f64::NAN, 0.9, 0.7], 2), [3, 2]);
/// ```
pub fn top_k(scores: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // numpy's default argsort is not stable on ties; scikit-learn's result on ties is therefore
    // whatever quicksort gives. A stable order is the documented choice here.
    order.sort_by(|&a, &b| match (scores[a].is_nan(), scores[b].is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => scores[a].total_cmp(&scores[b]),
    });
    order[order.len().saturating_sub(k)..].to_vec()
}
