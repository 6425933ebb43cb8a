//! Tuning a candidate with cross-validation inside the pipeline: folds of the training rows, the
//! features fitted inside each fold, one cached task per trial x fold, the results ranked, and
//! the best trial refitted on all training rows.

use std::fmt::Write as _;

use mlflow_core::prelude::*;
use mlflow_core::registry::PromotionMetric;
use mlflow_macros::step;
use serde::{Deserialize, Serialize};

use super::halving::HalvingSearch;
use super::pruning::{FitAndScorePrunedStep, Pruning, TellOutcomesStep};
use super::steps::{EvaluateStep, TrainStep, fit_features, holdout_metrics};
use super::types::{BlockError, Candidate, Prepare, Prepared, Scored, Targets, Trained};
use crate::data::Ingested;
use crate::eval::{Scores, TaskMetric};
use crate::features::{CrossValidation, Split};
use crate::models::EstimatorParams;
use crate::tune::{
    CvResults, Observed, ParamValue, Params, Pruner, Space, Tpe, TuneError, random_candidates,
};

/// How a [`Study`] picks its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Search {
    /// Every candidate of the space's grid ([`Space::grid`]).
    Grid,
    /// `trials` candidates drawn from the space, each seeded from `seed` and its number
    /// ([`random_candidates`]).
    Random {
        /// How many.
        trials: usize,
        /// The study's seed.
        seed: u64,
    },
    /// Successive halving over the space's grid (scikit-learn's `HalvingGridSearchCV`): all
    /// candidates on few rows, the best `1 / factor` on `factor` times as many, and so on.
    Halving(HalvingSearch),
    /// `trials` candidates asked by [`Tpe`] from the scores of the trials before them, `batch`
    /// at a time (the trials of a batch run in parallel; each batch is asked, and its ask stored,
    /// before it runs).
    Tpe {
        /// How many.
        trials: usize,
        /// How many are asked at once.
        batch: usize,
        /// The study's seed.
        seed: u64,
    },
}

/// A hyperparameter search for one candidate: its space (names of the candidate's params, such
/// as `max_depth` or `c`), how to search it, the folds and the metric. Its identity, and so its
/// cache keys, is all of these.
///
/// ```
/// use mlflow_ml::blocks::{Candidate, Study};
/// use mlflow_ml::eval::ClassMetric;
/// use mlflow_ml::features::CrossValidation;
/// use mlflow_ml::models::ForestParams;
/// use mlflow_ml::tune::Space;
/// let study = Study::grid(
///     Candidate::new("forest", ForestParams { n_trees: 20, ..Default::default() }),
///     Space::new().choice("max_depth", [2, 4]).choice("min_samples_leaf", [1, 5]),
///     ClassMetric::Accuracy,
/// )
/// .cv(CrossValidation::stratified(3));
/// let trials = study.trials()?;
/// assert_eq!(trials.len(), 4);
/// assert_eq!(trials[1].name, "forest #1 (max_depth=2, min_samples_leaf=5)");
/// # Ok::<(), mlflow_ml::blocks::BlockError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    /// The candidate whose params the trials change.
    pub base: Candidate,
    /// The hyperparameters searched.
    pub space: Space,
    /// How the trials are picked.
    pub search: Search,
    /// The folds of the training rows (default: stratified 5-fold for classes, 5-fold for values).
    pub cv: Option<CrossValidation>,
    /// The metric trials are ranked by, in its direction.
    pub metric: TaskMetric,
    /// Stops unpromising trials after a fold (TPE studies only: it judges a trial against the
    /// trials of earlier batches).
    #[serde(default)]
    pub pruner: Option<Pruner>,
}

impl Study {
    /// A grid search of `space` around `base`, ranked by `metric`.
    pub fn grid(base: Candidate, space: Space, metric: impl Into<TaskMetric>) -> Self {
        Study { base, space, search: Search::Grid, cv: None, metric: metric.into(), pruner: None }
    }

    /// A random search: `trials` candidates drawn from `space` with `seed`.
    pub fn random(
        base: Candidate,
        space: Space,
        trials: usize,
        seed: u64,
        metric: impl Into<TaskMetric>,
    ) -> Self {
        Study {
            base,
            space,
            search: Search::Random { trials, seed },
            cv: None,
            metric: metric.into(),
            pruner: None,
        }
    }

    /// A TPE search: `trials` candidates, asked `batch` at a time from the scores so far, seeded
    /// with `seed` (the first 10 are drawn at random, as Optuna's startup trials).
    pub fn tpe(
        base: Candidate,
        space: Space,
        trials: usize,
        batch: usize,
        seed: u64,
        metric: impl Into<TaskMetric>,
    ) -> Self {
        Study {
            base,
            space,
            search: Search::Tpe { trials, batch, seed },
            cv: None,
            metric: metric.into(),
            pruner: None,
        }
    }

    /// Successive halving over the grid of `space` with scikit-learn's defaults (factor 3,
    /// `exhaust`); set other [`HalvingSearch`] settings on `search`.
    pub fn halving(base: Candidate, space: Space, metric: impl Into<TaskMetric>) -> Self {
        Study {
            base,
            space,
            search: Search::Halving(HalvingSearch::default()),
            cv: None,
            metric: metric.into(),
            pruner: None,
        }
    }

    /// Cross-validates with `cv` instead of the default.
    pub fn cv(mut self, cv: CrossValidation) -> Self {
        self.cv = Some(cv);
        self
    }

    /// Prunes with `pruner` (a TPE study only): each trial runs its folds one after another and
    /// reports its running mean score after each; a trial the pruner judges behind the completed
    /// trials of earlier batches stops there, its remaining folds unscored (it ranks last, as
    /// Optuna's pruned trials are never the best).
    ///
    /// ```
    /// use mlflow_ml::blocks::{Candidate, Study};
    /// use mlflow_ml::eval::ClassMetric;
    /// use mlflow_ml::models::ForestParams;
    /// use mlflow_ml::tune::{Pruner, Space};
    /// let space = Space::new().int("max_depth", 2, 12);
    /// let forest = Candidate::new("forest", ForestParams::default());
    /// let study = Study::tpe(forest, space, 30, 3, 7, ClassMetric::Accuracy).pruner(Pruner::median());
    /// assert_eq!(study.pruner, Some(Pruner::median()));
    /// ```
    pub fn pruner(mut self, pruner: Pruner) -> Self {
        self.pruner = Some(pruner);
        self
    }

    /// The trials: the base candidate with each searched set of params, named
    /// `<base> #<i> (<params>)`.
    ///
    /// Errors: a space that cannot be searched ([`TuneError`]), a hyperparameter the model does
    /// not have or a value of the wrong type for it.
    pub fn trials(&self) -> Result<Vec<Candidate>, BlockError> {
        let params = match self.search {
            Search::Grid | Search::Halving(_) => self.space.grid()?,
            Search::Random { trials, seed } => random_candidates(&self.space, trials, seed)?,
            // Asked during the run; what can be checked before is the startup trials.
            Search::Tpe { trials, seed, .. } => {
                random_candidates(&self.space, trials.min(Tpe::new(seed).startup_trials), seed)?
            }
        };
        if params.is_empty() {
            return Err(TuneError::NoCandidates.into());
        }
        params.iter().enumerate().map(|(i, p)| with_params(&self.base, p, i)).collect()
    }
}

/// `base` with its params' fields named in `params` set to those values, named after them.
fn with_params(base: &Candidate, params: &Params, index: usize) -> Result<Candidate, BlockError> {
    let model = base.params.kind();
    let mut json = serde_json::to_value(&base.params).map_err(|e| BlockError::Hyperparameter {
        model,
        detail: format!("its params cannot be written as fields: {e}"),
    })?;
    let fields = innermost_fields(&mut json).ok_or_else(|| BlockError::Hyperparameter {
        model,
        detail: "its params have no named fields to set".into(),
    })?;
    for (name, value) in params {
        let Some(slot) = fields.get_mut(name) else {
            let known: Vec<&str> = fields.keys().map(String::as_str).collect();
            return Err(BlockError::Hyperparameter {
                model,
                detail: format!(
                    "has no hyperparameter `{name}`; its hyperparameters are {}",
                    known.join(", ")
                ),
            });
        };
        *slot = match value {
            ParamValue::Int(v) => (*v).into(),
            ParamValue::Float(v) => (*v).into(),
            ParamValue::Text(v) => v.clone().into(),
            ParamValue::Bool(v) => (*v).into(),
        };
    }
    let searched: EstimatorParams = serde_json::from_value(json).map_err(|e| BlockError::Hyperparameter {
        model,
        detail: format!("refuses {}: {e}", describe(params)),
    })?;
    Ok(Candidate {
        name: format!("{} #{index} ({})", base.name, describe(params)),
        params: searched,
        scaled: base.scaled,
    })
}

/// The object of a model's own fields inside its params' enum wrappers (`{"Classifier":
/// {"Forest": {...}}}`).
fn innermost_fields(json: &mut serde_json::Value) -> Option<&mut serde_json::Map<String, serde_json::Value>> {
    let object = json.as_object_mut()?;
    let wrapper = object.len() == 1 && object.values().next().is_some_and(serde_json::Value::is_object);
    if wrapper { innermost_fields(object.values_mut().next()?) } else { Some(object) }
}

fn describe(params: &Params) -> String {
    params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// The folds of the training rows of `prepared` (indices into them): `cv`, or stratified 5-fold
/// for classes and 5-fold for values.
#[step(crate = mlflow_core)]
pub fn folds(prepared: &Prepared, cv: &Option<CrossValidation>) -> Result<Vec<Split>, BlockError> {
    Ok(match (&prepared.targets, cv) {
        (Targets::Classes { train, .. }, cv) => cv.unwrap_or(CrossValidation::stratified(5)).splits(train)?,
        (Targets::Values { train, .. }, cv) => {
            cv.unwrap_or(CrossValidation::k_fold(5)).splits_of(train.len())?
        }
    })
}

/// One fold as a [`Prepared`]: its training rows and its validation rows (of the training rows
/// of `prepared`), the features fitted on the fold's training rows only, so that nothing of the
/// validation rows leaks into them.
#[step(crate = mlflow_core)]
pub fn prepare_fold(
    raw: &Ingested,
    setup: &Prepare,
    prepared: &Prepared,
    fold: &Split,
) -> Result<Prepared, BlockError> {
    let rows = |positions: &[usize]| positions.iter().map(|&i| prepared.split.train[i]).collect::<Vec<_>>();
    let split = Split { train: rows(&fold.train), test: rows(&fold.test) };
    fit_features(&raw.table, setup, split, prepared.targets.fold(&fold.train, &fold.test))
}

/// Trains `candidate` on a fold's training rows and scores its validation rows by `metric`
/// (NaN when the metric is undefined there).
#[step(crate = mlflow_core)]
pub fn fit_and_score(fold: &Prepared, candidate: &Candidate, metric: &TaskMetric) -> Result<f64, BlockError> {
    let trained = super::steps::train(fold, candidate)?;
    Ok(holdout_metrics(&trained, fold)?.score(*metric).unwrap_or(f64::NAN))
}

/// A finished study: its trials with their fold scores, ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyResults {
    /// The trials, in the order searched.
    pub trials: Vec<Candidate>,
    /// Their cross-validated scores and ranks ([`CvResults::candidates`] in the same order).
    pub results: CvResults,
    /// The metric.
    pub metric: TaskMetric,
    /// For each trial of a pruned study, the fold after which it was pruned (`None`: it ran every
    /// fold); empty when nothing was pruned.
    #[serde(default)]
    pub pruned: Vec<Option<usize>>,
}

impl StudyResults {
    /// The best trial (rank 1, the first searched among equals).
    pub fn best(&self) -> &Candidate {
        &self.trials[self.results.best_index()]
    }

    /// A plain-text table: rank, trial, mean and standard deviation, best first.
    pub fn table(&self) -> String {
        let mut order: Vec<usize> = (0..self.trials.len()).collect();
        order.sort_by_key(|&i| (self.results.candidates[i].rank, i));
        let width = self.trials.iter().map(|t| t.name.chars().count()).max().unwrap_or(5).max(5);
        let mut out =
            format!("{:>4}  {:<width$}  {:>10}  {:>8}\n", "rank", "trial", self.metric.name(), "std");
        for i in order {
            let c = &self.results.candidates[i];
            let _ = writeln!(
                out,
                "{:>4}  {:<width$}  {:>10.4}  {:>8.4}",
                c.rank, self.trials[i].name, c.mean, c.std
            );
        }
        out
    }
}

/// The key prefix of the series a study's ranking logs: each trial's mean score as
/// `cv.<metric>` at step = trial number (what the web UI lists studies by).
pub const TRIAL_SCORES_PREFIX: &str = "cv.";

/// Ranks the trials by their fold scores (`scores[fold * trials + trial]`, `None` for a task
/// that failed, counted as NaN as scikit-learn's `error_score=nan`) and logs each trial's mean as
/// `cv.<metric>` at step = trial number.
///
/// Errors: every task failed or scored NaN.
#[step(crate = mlflow_core)]
pub fn rank_trials(
    scores: &Vec<Option<f64>>,
    trials: &Vec<Candidate>,
    metric: &TaskMetric,
) -> Result<StudyResults, BlockError> {
    let n = trials.len();
    if n == 0 || !scores.len().is_multiple_of(n) {
        return Err(TuneError::NoCandidates.into());
    }
    let folds = scores.len() / n;
    let fold_scores: Vec<Vec<Option<f64>>> =
        (0..n).map(|t| (0..folds).map(|f| scores[f * n + t]).collect()).collect();
    rank(trials, &fold_scores, metric)
}

/// [`rank_trials`] on each trial's fold scores (`None` for a failed task).
pub(super) fn rank(
    trials: &[Candidate],
    fold_scores: &[Vec<Option<f64>>],
    metric: &TaskMetric,
) -> Result<StudyResults, BlockError> {
    let folds = fold_scores.first().map_or(0, Vec::len);
    let fold_scores: Vec<Vec<f64>> =
        fold_scores.iter().map(|s| s.iter().map(|v| v.unwrap_or(f64::NAN)).collect()).collect();
    if fold_scores.iter().flatten().all(|s| s.is_nan()) {
        return Err(BlockError::NoTrialScored { trials: trials.len(), folds });
    }
    let params = trials.iter().map(|t| serde_params(&t.params)).collect();
    let results = CvResults::new(params, fold_scores, metric.higher_is_better())?;
    for (i, c) in results.candidates.iter().enumerate() {
        if c.mean.is_finite() {
            // Finite, under a name the library makes: logging cannot refuse it.
            let _ = mlflow_core::track::log_metric_at(
                &format!("{TRIAL_SCORES_PREFIX}{}", metric.name()),
                i as u64,
                c.mean,
            );
        }
    }
    Ok(StudyResults { trials: trials.to_vec(), results, metric: *metric, pruned: Vec::new() })
}

/// A TPE study's settings for its ask steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asking {
    /// The candidate whose params the trials change.
    pub base: Candidate,
    /// The hyperparameters searched.
    pub space: Space,
    /// The estimator.
    pub tpe: Tpe,
    /// The metric's direction.
    pub higher_is_better: bool,
}

/// A TPE study's trials so far, each with the params it searched and its fold scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StudyHistory {
    /// The trials, in the order asked.
    pub trials: Vec<Candidate>,
    /// The params each searched.
    pub searched: Vec<Params>,
    /// Each trial's score per fold (`None` for a failed task, or a fold a pruned trial skipped).
    pub fold_scores: Vec<Vec<Option<f64>>>,
    /// For each trial of a pruned study, the fold after which it was pruned (`None`: it ran every
    /// fold); empty when the study does not prune.
    #[serde(default)]
    pub pruned: Vec<Option<usize>>,
}

/// The next `count` trials of a TPE study, asked from the trials so far (each trial's mean fold
/// score; NaN if a fold failed). Its output is the ask log: stored before the batch runs. The
/// study's length is not an input, so a longer study asks its first batches as a shorter one did.
#[step(crate = mlflow_core)]
pub fn ask_trials(
    asking: &Asking,
    history: &StudyHistory,
    count: &usize,
) -> Result<Vec<Candidate>, BlockError> {
    let observed: Vec<Observed> = history
        .searched
        .iter()
        .zip(&history.fold_scores)
        .map(|(params, scores)| Observed {
            params: params.clone(),
            score: scores.iter().map(|s| s.unwrap_or(f64::NAN)).sum::<f64>() / scores.len().max(1) as f64,
        })
        .collect();
    let start = history.trials.len();
    (start..start + count)
        .map(|t| {
            let params = asking.tpe.ask_at(&asking.space, &observed, t as u64, asking.higher_is_better)?;
            with_params(&asking.base, &params, t)
        })
        .collect()
}

/// The history with a batch's trials and their scores (`scores[fold * batch + trial]`) added.
#[step(crate = mlflow_core)]
pub fn tell_trials(
    history: &StudyHistory,
    asked: &Vec<Candidate>,
    scores: &Vec<Option<f64>>,
    asking: &Asking,
) -> Result<StudyHistory, BlockError> {
    let n = asked.len();
    if n == 0 || !scores.len().is_multiple_of(n) {
        return Err(TuneError::NoCandidates.into());
    }
    let folds = scores.len() / n;
    let mut next = history.clone();
    for (t, trial) in asked.iter().enumerate() {
        next.push(asking, trial, (0..folds).map(|f| scores[f * n + t]).collect());
    }
    Ok(next)
}

impl StudyHistory {
    /// Adds a trial and its fold scores.
    pub(super) fn push(&mut self, asking: &Asking, trial: &Candidate, fold_scores: Vec<Option<f64>>) {
        self.searched.push(searched_params(&asking.space, &serde_params(&trial.params)));
        self.fold_scores.push(fold_scores);
        self.trials.push(trial.clone());
    }
}

/// The hyperparameters of `space` present in `fields` (a conditional one only when its parent's
/// value calls for it).
pub(super) fn searched_params(space: &Space, fields: &Params) -> Params {
    let mut searched = Params::new();
    for dim in &space.dims {
        let active = match &dim.when {
            Some((parent, allowed)) => searched.get(parent).is_some_and(|v| allowed.contains(v)),
            None => true,
        };
        if let (true, Some(value)) = (active, fields.get(&dim.name)) {
            searched.insert(dim.name.clone(), value.clone());
        }
    }
    searched
}

/// Ranks a TPE study's trials ([`rank_trials`] for a history).
#[step(crate = mlflow_core)]
pub fn rank_history(history: &StudyHistory, metric: &TaskMetric) -> Result<StudyResults, BlockError> {
    if history.trials.is_empty() {
        return Err(TuneError::NoCandidates.into());
    }
    let mut results = rank(&history.trials, &history.fold_scores, metric)?;
    results.pruned = history.pruned.clone();
    Ok(results)
}

/// A trial's params as the results list them: the model's fields, as text.
fn serde_params(params: &EstimatorParams) -> Params {
    let mut json = serde_json::to_value(params).unwrap_or_default();
    innermost_fields(&mut json)
        .map(|fields| {
            fields
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        serde_json::Value::Number(n) if n.is_i64() => {
                            ParamValue::Int(n.as_i64().unwrap_or_default())
                        }
                        serde_json::Value::Number(n) => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                        serde_json::Value::Bool(b) => ParamValue::Bool(*b),
                        serde_json::Value::String(s) => ParamValue::Text(s.clone()),
                        other => ParamValue::Text(other.to_string()),
                    };
                    (k.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The best trial of a study, to refit.
#[step(crate = mlflow_core)]
pub fn best_trial(results: &StudyResults) -> Candidate {
    results.best().clone()
}

/// The nodes [`tune`] added.
#[derive(Debug, Clone, Copy)]
pub struct Tuned {
    /// The ranked trials.
    pub results: Node<StudyResults>,
    /// The best trial.
    pub best: Node<Candidate>,
    /// The best trial refitted on all training rows.
    pub trained: Node<Trained>,
    /// Its hold-out metrics.
    pub scored: Node<Scored>,
}

/// Adds a study to a pipeline: params `study_<name>` (the trials) and `cv_<name>`, the steps
/// `folds_<name>`, `prepare_folds_<name>` (one task per fold), `cv_<name>_trials` (one task per
/// trial x fold; a failed task scores NaN), `rank_<name>`, `best_<name>`, and the refit
/// `train_<name>_tuned` with `evaluate_<name>_tuned` on the hold-out rows. A TPE study has, per
/// batch `k`, `ask_<name>_<k>` (the batch asked from the scores so far), `cv_<name>_trials_<k>`
/// and `tell_<name>_<k>` (the history with the batch's scores), from the param `history_<name>`.
/// With a [`Study::pruner`], each task of `cv_<name>_trials_<k>` is one trial running its folds
/// in turn ([`fit_and_score_pruned`](super::fit_and_score_pruned)), judged after each against
/// the completed trials of earlier batches; the pruner's settings are the param `pruner_<name>`.
///
/// Every task is cached: a finished study reruns from the cache, a grid with one more value runs
/// only the new trials, and a study stopped mid-way runs only the trials that had not finished.
///
/// Errors when building: the study's trials cannot be made ([`Study::trials`]), a pruner's
/// settings are out of range, or a study other than TPE has a pruner.
pub fn tune(
    p: &mut Pipeline,
    raw: Node<Ingested>,
    setup: Node<Prepare>,
    prepared: Node<Prepared>,
    name: &str,
    study: &Study,
) -> Result<Tuned, BlockError> {
    let key = super::node_key(name);
    // Checked before anything runs: the space, and the model's hyperparameter names.
    let trials = study.trials()?;
    if let Some(pruner) = &study.pruner {
        pruner.check()?;
        if !matches!(study.search, Search::Tpe { .. }) {
            let detail =
                "a pruner judges a trial against trials that finished before it, and only a TPE study \
                          runs its trials in batches one after another: use `Study::tpe`, or drop the pruner"
                    .to_owned();
            return Err(TuneError::BadSearch { detail }.into());
        }
    }
    let cv = p.param(format!("cv_{key}"), study.cv);
    let metric = p.param(format!("metric_{key}"), study.metric);
    let folds = p.step_named(format!("folds_{key}"), FoldsStep, (prepared, cv));
    let fold_data =
        p.map_named(format!("prepare_folds_{key}"), PrepareFoldStep, (raw, setup, prepared, folds));
    let results = match study.search {
        Search::Tpe { trials, batch, seed } => {
            if batch == 0 {
                let detail = "a TPE batch of 0 trials asks nothing; give at least 1".to_owned();
                return Err(TuneError::BadSearch { detail }.into());
            }
            let asking = Asking {
                base: study.base.clone(),
                space: study.space.clone(),
                tpe: Tpe::new(seed),
                higher_is_better: study.metric.higher_is_better(),
            };
            let asking = p.param(format!("study_{key}"), asking);
            let pruning = study.pruner.map(|pruner| {
                let pruning = Pruning { pruner, higher_is_better: study.metric.higher_is_better() };
                p.param(format!("pruner_{key}"), pruning)
            });
            let mut history = p.param(format!("history_{key}"), StudyHistory::default());
            for stage in 0..trials.div_ceil(batch) {
                let count = p.param(format!("ask_{key}_{stage}_count"), batch.min(trials - stage * batch));
                let asked =
                    p.step_named(format!("ask_{key}_{stage}"), AskTrialsStep, (asking, history, count));
                let trials_node = format!("cv_{key}_trials_{stage}");
                let tell_node = format!("tell_{key}_{stage}");
                history = match pruning {
                    Some(pruning) => {
                        let inputs = (fold_data, asked, metric, history, pruning);
                        let outcomes =
                            p.try_map_named(trials_node, FitAndScorePrunedStep, inputs, usize::MAX);
                        p.step_named(tell_node, TellOutcomesStep, (history, asked, outcomes, asking))
                    }
                    None => {
                        let inputs = (fold_data, asked, metric);
                        let scores = p.try_map_named(trials_node, FitAndScoreStep, inputs, usize::MAX);
                        p.step_named(tell_node, TellTrialsStep, (history, asked, scores, asking))
                    }
                };
            }
            p.step_named(format!("rank_{key}"), RankHistoryStep, (history, metric))
        }
        Search::Halving(search) => {
            super::halving::add_rungs(p, &key, prepared, cv, fold_data, trials, search, metric)?
        }
        Search::Grid | Search::Random { .. } => {
            let trials = p.param(format!("study_{key}"), trials);
            let scores = p.try_map_named(
                format!("cv_{key}_trials"),
                FitAndScoreStep,
                (fold_data, trials, metric),
                usize::MAX,
            );
            p.step_named(format!("rank_{key}"), RankTrialsStep, (scores, trials, metric))
        }
    };
    let best = p.step_named(format!("best_{key}"), BestTrialStep, results);
    let trained = p.step_named(format!("train_{key}_tuned"), TrainStep, (prepared, best));
    let scored = p.step_named(format!("evaluate_{key}_tuned"), EvaluateStep, (trained, prepared));
    Ok(Tuned { results, best, trained, scored })
}
