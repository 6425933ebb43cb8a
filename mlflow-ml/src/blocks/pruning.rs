//! A pruned TPE study's trials: each a task that runs its folds in turn and stops when the
//! [`Pruner`] judges its running score behind the trials that completed in earlier batches.

use mlflow_macros::step;
use serde::{Deserialize, Serialize};

use super::tune::{Asking, StudyHistory, fit_and_score};
use super::types::{BlockError, Candidate, Prepared};
use crate::eval::TaskMetric;
use crate::tune::{Intermediate, Pruner, TuneError};

/// A study's pruner and the direction of its metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pruning {
    /// The pruner.
    pub pruner: Pruner,
    /// Whether higher scores are better.
    pub higher_is_better: bool,
}

/// What one trial of a pruned study did: its score per fold (`None` for folds it skipped) and
/// the fold after which it stopped, if it was pruned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    /// Its score per fold, in fold order (NaN where the metric is undefined).
    pub fold_scores: Vec<Option<f64>>,
    /// The fold after which it was pruned; `None` if it ran every fold.
    pub pruned_after: Option<usize>,
}

/// Trains and scores `candidate` on each fold in turn (as [`fit_and_score`]), reporting the
/// running mean score after each fold as the intermediate value at that step, and stops when
/// `pruning` judges it behind the completed trials of `history` (those neither pruned nor with a
/// failed fold). The last fold is never pruned: the trial has finished by then.
///
/// Errors: a fold fails to train or score (the trial fails, as a task of the study's map).
#[step(crate = mlflow_core)]
pub fn fit_and_score_pruned(
    folds: &Vec<Prepared>,
    candidate: &Candidate,
    metric: &TaskMetric,
    history: &StudyHistory,
    pruning: &Pruning,
) -> Result<TrialOutcome, BlockError> {
    let completed = completed_curves(history);
    let mut fold_scores = vec![None; folds.len()];
    let mut intermediate = Intermediate::new();
    for (f, fold) in folds.iter().enumerate() {
        let score = fit_and_score(fold, candidate, metric)?;
        fold_scores[f] = Some(score);
        let running = fold_scores[..=f].iter().flatten().sum::<f64>() / (f + 1) as f64;
        intermediate.insert(f as u64, running);
        if f + 1 < folds.len()
            && pruning.pruner.should_prune(&completed, &intermediate, pruning.higher_is_better)
        {
            return Ok(TrialOutcome { fold_scores, pruned_after: Some(f) });
        }
    }
    Ok(TrialOutcome { fold_scores, pruned_after: None })
}

/// The running mean after each fold of every completed trial of `history`: not pruned, and no
/// fold failed.
fn completed_curves(history: &StudyHistory) -> Vec<Intermediate> {
    history
        .fold_scores
        .iter()
        .enumerate()
        .filter(|(t, _)| history.pruned.get(*t).copied().flatten().is_none())
        .filter_map(|(_, scores)| {
            let scores: Option<Vec<f64>> = scores.iter().copied().collect();
            let scores = scores?;
            let mut sum = 0.0;
            Some(
                scores
                    .iter()
                    .enumerate()
                    .map(|(f, s)| {
                        sum += s;
                        (f as u64, sum / (f + 1) as f64)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The history with a pruned batch's trials and outcomes added (a failed trial: every fold
/// `None`, not pruned).
#[step(crate = mlflow_core)]
pub fn tell_outcomes(
    history: &StudyHistory,
    asked: &Vec<Candidate>,
    outcomes: &Vec<Option<TrialOutcome>>,
    asking: &Asking,
) -> Result<StudyHistory, BlockError> {
    if asked.is_empty() || asked.len() != outcomes.len() {
        return Err(TuneError::NoCandidates.into());
    }
    let folds = outcomes.iter().flatten().map(|o| o.fold_scores.len()).max().unwrap_or(1);
    let mut next = history.clone();
    next.pruned.resize(next.trials.len(), None);
    for (trial, outcome) in asked.iter().zip(outcomes) {
        let (scores, pruned) = match outcome {
            Some(o) => (o.fold_scores.clone(), o.pruned_after),
            None => (vec![None; folds], None),
        };
        next.push(asking, trial, scores);
        next.pruned.push(pruned);
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruned_and_failed_trials_are_not_completed() {
        let history = StudyHistory {
            fold_scores: vec![vec![Some(0.5), Some(0.7)], vec![Some(0.9), None], vec![Some(0.1), None]],
            pruned: vec![None, None, Some(0)],
            ..StudyHistory::default()
        };
        assert_eq!(completed_curves(&history), vec![Intermediate::from([(0, 0.5), (1, 0.6)])]);
    }
}
