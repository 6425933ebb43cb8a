//! Ready-made steps for the common path of a classification or regression pipeline: ingest a CSV,
//! validate it, prepare train and hold-out features, train candidates, evaluate them, select a
//! champion. Each is an ordinary `#[step]` (call it as a plain function in a test) built on the
//! public API of the other rooms, the way a user's own steps are; mix them with your own.
//!
//! | step | inputs | output |
//! |---|---|---|
//! | [`IngestStep`] | [`DataFile`](crate::data::DataFile), [`CsvOptions`](crate::data::CsvOptions) | [`Ingested`](crate::data::Ingested) |
//! | [`CheckStep`] | `Ingested`, [`Suite`](crate::validate::Suite) | [`ValidationReport`](crate::validate::ValidationReport) (fails on errors) |
//! | [`PrepareStep`] | `Ingested`, [`Prepare`] | [`Prepared`] |
//! | [`TrainStep`] | `Prepared`, [`Candidate`] | [`Trained`] |
//! | [`EvaluateStep`] | `Trained`, `Prepared` | [`Scored`] (metrics logged) |
//! | [`SelectStep`] | `Vec<Scored>`, [`TaskMetric`](crate::eval::TaskMetric) | [`Best`](crate::eval::Best) (the champion) |
//!
//! [`compare`] wires one train and one evaluate step per candidate, collects them and selects
//! the champion. Packaging and registering the champion are in the serving layer
//! (`mlflow::blocks` gathers both).
//!
//! ```
//! use mlflow_core::prelude::*;
//! use mlflow_ml::blocks::{self, Candidate, Prepare};
//! use mlflow_ml::data::{CsvOptions, DataFile};
//! use mlflow_ml::eval::Metric;
//! use mlflow_ml::models::{LogisticParams, TreeParams};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("data.csv");
//! let mut csv = String::from("x,kind,y\n");
//! for i in 0..40 {
//!     csv += &format!("{},{},{}\n", i % 10, if i % 3 == 0 { "a" } else { "b" }, (i % 10 >= 5) as u8);
//! }
//! std::fs::write(&path, csv)?;
//!
//! let mut p = Pipeline::new("doc");
//! let file = p.param("data", DataFile::open(&path)?);
//! let options = p.param("csv", CsvOptions::default());
//! let raw = p.step(blocks::IngestStep, (file, options));
//! let prepared = p.param("prepare", Prepare::label("y"));
//! let prepared = p.step(blocks::PrepareStep, (raw, prepared));
//! let candidates = [
//!     Candidate::new("tree", TreeParams::default()),
//!     Candidate::new("logistic", LogisticParams::default()).scaled(),
//! ];
//! let compared = blocks::compare(&mut p, prepared, candidates, Metric::RocAuc);
//! let report = p.run(&Store::open(dir.path().join("store"))?)?.into_result()?;
//! let champion = report.get(compared.champion)?;
//! assert_eq!(champion.value, 1.0);
//! assert_eq!(report.get(compared.scored)?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compare;
mod halving;
mod profile;
mod pruning;
mod steps;
mod tune;
mod types;

pub use compare::{Compared, compare, node_key};
pub use halving::{
    HalvingHistory, HalvingPlan, HalvingPlanStep, HalvingSearch, RankLastRungStep, RungCandidatesStep,
    RungResult, SubsampleFoldStep, TellRungStep, halving_plan, rank_last_rung, rung_candidates,
    subsample_fold, tell_rung,
};
pub use profile::reference_profile;
pub use pruning::{
    FitAndScorePrunedStep, Pruning, TellOutcomesStep, TrialOutcome, fit_and_score_pruned, tell_outcomes,
};
pub use steps::{
    CheckStep, EvaluateStep, IngestStep, PrepareStep, SelectStep, TrainStep, check, evaluate, ingest,
    prepare, select, train,
};
pub use tune::{
    AskTrialsStep, Asking, BestTrialStep, FitAndScoreStep, FoldsStep, PrepareFoldStep, RankHistoryStep,
    RankTrialsStep, Search, Study, StudyHistory, StudyResults, TRIAL_SCORES_PREFIX, TellTrialsStep, Tuned,
    ask_trials, best_trial, fit_and_score, folds, prepare_fold, rank_history, rank_trials, tell_trials, tune,
};
pub use types::{
    BlockError, Candidate, FeatureChoice, Prepare, Prepared, Scored, TargetKind, Targets, Trained,
    comparison_table,
};
