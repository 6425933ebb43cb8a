//! Successive halving inside the pipeline (scikit-learn's `HalvingGridSearchCV`): every
//! candidate on a few rows, the best third on three times as many, and so on, each rung one
//! cached task per candidate x fold.

use mlflow_core::prelude::*;
use mlflow_core::registry::PromotionMetric;
use mlflow_macros::step;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::tune::{FitAndScoreStep, StudyResults, rank};
use super::types::{BlockError, Candidate, Prepared, Targets};
use crate::eval::TaskMetric;
use crate::features::{CrossValidation, Split};
use crate::tune::{Halving, MinResources, Rung, TuneError, top_k};

/// A successive-halving search's settings (scikit-learn's defaults: factor 3, `exhaust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalvingSearch {
    /// Each rung keeps `ceil(n / factor)` candidates and multiplies the rows by `factor`.
    pub factor: usize,
    /// The rows of the first rung; `None`: scikit-learn's `exhaust` (as many as lets the last
    /// rung use nearly all training rows, at least `2 x folds x classes`).
    pub min_rows: Option<usize>,
    /// Eliminate on the first rung's rows until the remaining rungs fit.
    pub aggressive_elimination: bool,
}

impl Default for HalvingSearch {
    fn default() -> Self {
        HalvingSearch { factor: 3, min_rows: None, aggressive_elimination: false }
    }
}

/// The rungs of a halving study, and the training rows they are fractions of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HalvingPlan {
    /// Candidates and rows per rung.
    pub rungs: Vec<Rung>,
    /// The study's training rows (scikit-learn's `max_resources`).
    pub rows: usize,
}

/// The rungs of a successive-halving study of `candidates` candidates on the training rows of
/// `prepared`, as `HalvingGridSearchCV` computes them ([`Halving::schedule`]).
#[step(crate = mlflow_core)]
pub fn halving_plan(
    prepared: &Prepared,
    cv: &Option<CrossValidation>,
    search: &HalvingSearch,
    candidates: &usize,
) -> Result<HalvingPlan, BlockError> {
    let (rows, classes) = match &prepared.targets {
        Targets::Classes { train, classes, .. } => (train.len(), classes.len()),
        Targets::Values { train, .. } => (train.len(), 1),
    };
    let splits = cv.map_or(5, |cv| cv.n_splits);
    let smallest = 2 * splits * classes;
    let halving = Halving {
        factor: search.factor,
        min_resources: search.min_rows.map_or(MinResources::Exhaust { smallest }, MinResources::Count),
        max_resources: rows,
        aggressive_elimination: search.aggressive_elimination,
    };
    Ok(HalvingPlan { rungs: halving.schedule(*candidates)?, rows })
}

/// One rung's fold: `resources / training rows` of the fold's training and validation rows, drawn
/// per class (so that every class stays; scikit-learn draws without strata) with a seed of the
/// rung's number. The features stay those fitted on the fold's training rows.
#[step(crate = mlflow_core)]
pub fn subsample_fold(fold: &Prepared, plan: &HalvingPlan, rung: &usize) -> Result<Prepared, BlockError> {
    let Some(step) = plan.rungs.get(*rung) else { return Ok(fold.clone()) };
    let fraction = (step.resources as f64 / plan.rows.max(1) as f64).min(1.0);
    let mut rng = StdRng::seed_from_u64(*rung as u64);
    let mut pick = |labels: Option<&[usize]>, n: usize| -> Vec<usize> {
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for i in 0..n {
            groups.entry(labels.map_or(0, |l| l[i])).or_default().push(i);
        }
        let mut kept = Vec::new();
        for (_, mut rows) in groups {
            let keep = ((rows.len() as f64 * fraction) as usize).clamp(1, rows.len());
            rows.shuffle(&mut rng);
            kept.extend_from_slice(&rows[..keep]);
        }
        kept.sort_unstable();
        kept
    };
    let (train, test) = match &fold.targets {
        Targets::Classes { train, test, .. } => {
            (pick(Some(train), train.len()), pick(Some(test), test.len()))
        }
        Targets::Values { train, test } => (pick(None, train.len()), pick(None, test.len())),
    };
    let targets = fold.targets.subset(&train, &test);
    Ok(Prepared {
        label: fold.label.clone(),
        split: Split {
            train: train.iter().map(|&i| fold.split.train[i]).collect(),
            test: test.iter().map(|&i| fold.split.test[i]).collect(),
        },
        features: fold.features.clone(),
        dropped: fold.dropped.clone(),
        train: fold.train.select_rows(&train)?,
        test: fold.test.select_rows(&test)?,
        targets,
    })
}

/// One rung that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungResult {
    /// Its candidates.
    pub candidates: Vec<Candidate>,
    /// Each one's fold scores (`None` for a failed task).
    pub fold_scores: Vec<Vec<Option<f64>>>,
    /// The rows each candidate had.
    pub rows: usize,
}

/// Each rung run so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HalvingHistory {
    /// Rung by rung.
    pub rungs: Vec<RungResult>,
}

/// The candidates of rung `rung`: every one for the first, then the best `plan[rung].candidates`
/// of the previous rung by mean fold score ([`top_k`]: NaN worst); none past the plan's end.
#[step(crate = mlflow_core)]
pub fn rung_candidates(
    trials: &Vec<Candidate>,
    history: &HalvingHistory,
    plan: &HalvingPlan,
    rung: &usize,
    metric: &TaskMetric,
) -> Result<Vec<Candidate>, BlockError> {
    let Some(step) = plan.rungs.get(*rung) else { return Ok(Vec::new()) };
    let Some(previous) = rung.checked_sub(1).and_then(|r| history.rungs.get(r)) else {
        return Ok(trials.clone());
    };
    let sign = if metric.higher_is_better() { 1.0 } else { -1.0 };
    let means: Vec<f64> = previous
        .fold_scores
        .iter()
        .map(|s| sign * s.iter().map(|v| v.unwrap_or(f64::NAN)).sum::<f64>() / s.len().max(1) as f64)
        .collect();
    Ok(top_k(&means, step.candidates).into_iter().map(|i| previous.candidates[i].clone()).collect())
}

/// The history with rung `rung`'s scores (`scores[fold * candidates + candidate]`) added.
#[step(crate = mlflow_core)]
pub fn tell_rung(
    history: &HalvingHistory,
    candidates: &Vec<Candidate>,
    scores: &Vec<Option<f64>>,
    plan: &HalvingPlan,
    rung: &usize,
) -> HalvingHistory {
    let mut next = history.clone();
    if let (Some(step), false) = (plan.rungs.get(*rung), candidates.is_empty()) {
        let n = candidates.len();
        let folds = scores.len() / n;
        let per_candidate = (0..n).map(|c| (0..folds).map(|f| scores[f * n + c]).collect()).collect();
        next.rungs.push(RungResult {
            candidates: candidates.clone(),
            fold_scores: per_candidate,
            rows: step.resources,
        });
    }
    next
}

/// The last rung's candidates ranked: scikit-learn's best is the best of the last iteration.
#[step(crate = mlflow_core)]
pub fn rank_last_rung(history: &HalvingHistory, metric: &TaskMetric) -> Result<StudyResults, BlockError> {
    let Some(last) = history.rungs.last() else {
        return Err(TuneError::NoCandidates.into());
    };
    rank(&last.candidates, &last.fold_scores, metric)
}

/// Adds the rungs of a halving study to a pipeline (see [`tune`](super::tune)); the number of
/// rungs in the DAG is the most the candidates can need, those past the plan run no task.
#[allow(clippy::too_many_arguments)]
pub(super) fn add_rungs(
    p: &mut Pipeline,
    key: &str,
    prepared: Node<Prepared>,
    cv: Node<Option<CrossValidation>>,
    fold_data: Node<Vec<Prepared>>,
    trials: Vec<Candidate>,
    search: HalvingSearch,
    metric: Node<TaskMetric>,
) -> Result<Node<StudyResults>, BlockError> {
    if search.factor < 2 {
        let detail = format!("successive halving needs a factor of at least 2, not {}", search.factor);
        return Err(TuneError::BadSearch { detail }.into());
    }
    // As many rungs as the candidates can need (scikit-learn's `n_required_iterations`).
    let most = Halving {
        factor: search.factor,
        min_resources: MinResources::Count(1),
        max_resources: usize::MAX,
        aggressive_elimination: true,
    }
    .schedule(trials.len())?
    .len();
    let count = p.param(format!("candidates_{key}"), trials.len());
    let settings = p.param(format!("halving_{key}"), search);
    let plan = p.step_named(format!("plan_{key}"), HalvingPlanStep, (prepared, cv, settings, count));
    let trials = p.param(format!("study_{key}"), trials);
    let mut history = p.param(format!("history_{key}"), HalvingHistory::default());
    for rung in 0..most {
        let index = p.param(format!("rung_{key}_{rung}_index"), rung);
        let candidates = p.step_named(
            format!("rung_{key}_{rung}"),
            RungCandidatesStep,
            (trials, history, plan, index, metric),
        );
        let folds =
            p.map_named(format!("rung_folds_{key}_{rung}"), SubsampleFoldStep, (fold_data, plan, index));
        let scores = p.try_map_named(
            format!("cv_{key}_rung_{rung}"),
            FitAndScoreStep,
            (folds, candidates, metric),
            usize::MAX,
        );
        history = p.step_named(
            format!("tell_{key}_{rung}"),
            TellRungStep,
            (history, candidates, scores, plan, index),
        );
    }
    Ok(p.step_named(format!("rank_{key}"), RankLastRungStep, (history, metric)))
}
