//! A search's results, as scikit-learn's `cv_results_`: per candidate its params, its score on
//! each fold, their mean, standard deviation and rank.

use serde::{Deserialize, Serialize};

use super::{Params, TuneError};

/// One candidate of a [`CvResults`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateResult {
    /// Its hyperparameters.
    pub params: Params,
    /// Its score on each fold, in fold order (NaN where the fold failed).
    pub fold_scores: Vec<f64>,
    /// The mean of the fold scores (NaN if one is NaN).
    pub mean: f64,
    /// Their standard deviation (over the folds, as numpy's default: divided by n).
    pub std: f64,
    /// 1 for the best mean; equal means share the smaller rank (`rankdata(method="min")`); a
    /// NaN mean ranks last.
    pub rank: u32,
}

/// Every candidate's cross-validated score, ranked (scikit-learn's `cv_results_` for one
/// metric).
///
/// ```
/// use mlflow_ml::tune::{CvResults, Params, ParamValue};
/// let params = |c: f64| Params::from([("c".to_string(), ParamValue::Float(c))]);
/// let results = CvResults::new(
///     vec![params(0.1), params(1.0), params(10.0)],
///     vec![vec![0.70, 0.80], vec![0.90, 0.80], vec![0.80, 0.90]],
///     true,
/// )?;
/// assert_eq!(results.candidates.iter().map(|c| c.rank).collect::<Vec<_>>(), [3, 1, 1]);
/// assert_eq!(results.best().params, params(1.0)); // the first of the best
/// assert!((results.candidates[0].std - 0.05).abs() < 1e-12);
/// # Ok::<(), mlflow_ml::tune::TuneError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvResults {
    /// The candidates in the order searched.
    pub candidates: Vec<CandidateResult>,
    /// Whether higher scores are better (accuracy) or lower (a loss).
    pub higher_is_better: bool,
}

impl CvResults {
    /// Ranks `params[i]` by the mean of `fold_scores[i]`.
    ///
    /// Errors: no candidate, as many score lists as candidates not given, candidates with
    /// different numbers of folds or none.
    pub fn new(
        params: Vec<Params>,
        fold_scores: Vec<Vec<f64>>,
        higher_is_better: bool,
    ) -> Result<Self, TuneError> {
        if params.is_empty() {
            return Err(TuneError::NoCandidates);
        }
        let folds = fold_scores.first().map_or(0, Vec::len);
        if params.len() != fold_scores.len() || folds == 0 || fold_scores.iter().any(|s| s.len() != folds) {
            return Err(TuneError::BadResults {
                detail: format!(
                    "{} candidates with {} score lists of {} fold(s) each; give every candidate one score per fold",
                    params.len(),
                    fold_scores.len(),
                    fold_scores.iter().map(|s| s.len().to_string()).collect::<Vec<_>>().join("/")
                ),
            });
        }
        let means: Vec<f64> = fold_scores.iter().map(|s| s.iter().sum::<f64>() / s.len() as f64).collect();
        let ranks = ranks(&means, higher_is_better);
        let candidates = params
            .into_iter()
            .zip(fold_scores)
            .zip(means.iter().zip(ranks))
            .map(|((params, scores), (&mean, rank))| {
                let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / scores.len() as f64;
                CandidateResult { params, fold_scores: scores, mean, std: var.sqrt(), rank }
            })
            .collect();
        Ok(CvResults { candidates, higher_is_better })
    }

    /// The best candidate: rank 1, the first searched among equals (scikit-learn's
    /// `best_index_`).
    pub fn best(&self) -> &CandidateResult {
        self.candidates.iter().find(|c| c.rank == 1).unwrap_or(&self.candidates[0])
    }

    /// The position of [`CvResults::best`] among the candidates.
    pub fn best_index(&self) -> usize {
        self.candidates.iter().position(|c| c.rank == 1).unwrap_or(0)
    }
}

/// scikit-learn's ranks: NaN means become the worst finite mean minus one (plus one for a loss),
/// then `rankdata(-means, method="min")`; all NaN: every rank 1.
fn ranks(means: &[f64], higher_is_better: bool) -> Vec<u32> {
    let sign = if higher_is_better { 1.0 } else { -1.0 };
    let finite: Vec<f64> = means.iter().filter(|m| !m.is_nan()).map(|m| m * sign).collect();
    if finite.is_empty() {
        return vec![1; means.len()];
    }
    let worst = finite.iter().copied().fold(f64::INFINITY, f64::min) - 1.0;
    let scores: Vec<f64> = means.iter().map(|m| if m.is_nan() { worst } else { m * sign }).collect();
    scores.iter().map(|s| 1 + scores.iter().filter(|other| *other > s).count() as u32).collect()
}
