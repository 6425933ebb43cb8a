//! Tuning: search spaces, candidates from a grid or drawn at random, successive halving, and
//! cross-validated results ranked as scikit-learn ranks them.
//!
//! - [`Space`]: hyperparameters by name, each an integer or float range (uniform, log or
//!   stepped) or a list of choices, some present only for some values of another
//!   ([`Space::when`]). [`Space::grid`] lists its candidates in scikit-learn's `ParameterGrid`
//!   order; [`random_candidates`] draws them, each from a seed of its own (the study's seed and
//!   the trial's number), so the same study gives the same trials at any parallelism; [`Tpe`]
//!   asks the next trial from the trials so far (the tree-structured Parzen estimator).
//! - [`Halving`]: `HalvingGridSearchCV`'s schedule of candidates and resources per iteration,
//!   and [`top_k`], the candidates that go on.
//! - [`CvResults`]: each candidate's fold scores, mean, standard deviation and rank;
//!   [`param_importance`], the share of the spread of the scores each hyperparameter explains.
//! - [`Pruner`]: Optuna's median pruner, which stops a trial whose running score falls behind.
//!
//! Folds come from [`CrossValidation`](crate::features::CrossValidation); each trial x fold is a
//! task of a mapped step ([`Pipeline::map`](mlflow_core::dag::Pipeline::map)), so a finished
//! study reruns from the cache and a larger grid runs only its new candidates.

mod halving;
mod importance;
mod pruner;
mod results;
mod space;
mod tpe;

use mlflow_core::codec::Hasher;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use halving::{Halving, MinResources, Rung, top_k};
pub use importance::{ParamImportance, param_importance};
pub use pruner::{Intermediate, Pruner};
pub use results::{CandidateResult, CvResults};
pub use space::{Dimension, Dist, ParamValue, Params, Space};
pub use tpe::{Observed, Tpe};

/// What can go wrong defining or running a search.
///
/// ```
/// use mlflow_ml::tune::{Space, TuneError};
/// assert!(matches!(Space::new().grid(), Err(TuneError::EmptySpace)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    /// A space with no hyperparameter.
    #[error("the search space has no hyperparameter: add one with `int`, `float` or `choice`")]
    EmptySpace,
    /// A hyperparameter that cannot be searched as declared.
    #[error("hyperparameter `{name}` {detail}")]
    BadDimension {
        /// The hyperparameter.
        name: String,
        /// What is wrong, and the fix.
        detail: String,
    },
    /// A range asked for as a grid that has none.
    #[error("hyperparameter `{name}` has no grid: {detail}; give a step, or list its values with `choice`")]
    NoGrid {
        /// The hyperparameter.
        name: String,
        /// Why.
        detail: String,
    },
    /// Nothing to search.
    #[error("the search has no candidate: give at least one")]
    NoCandidates,
    /// A successive-halving schedule that cannot run.
    #[error("successive halving: {detail}")]
    BadHalving {
        /// What is wrong, and the fix.
        detail: String,
    },
    /// A search that cannot run as set.
    #[error("search: {detail}")]
    BadSearch {
        /// What is wrong, and the fix.
        detail: String,
    },
    /// Scores that do not fit the candidates.
    #[error("cross-validation results: {detail}")]
    BadResults {
        /// What is wrong.
        detail: String,
    },
}

/// The seed of trial `trial` of a study seeded with `seed`: the same for a trial whatever ran
/// before it or beside it.
///
/// ```
/// use mlflow_ml::tune::trial_seed;
/// assert_eq!(trial_seed(7, 3), trial_seed(7, 3));
/// assert_ne!(trial_seed(7, 3), trial_seed(7, 4));
/// ```
pub fn trial_seed(seed: u64, trial: u64) -> u64 {
    let hash =
        Hasher::new("mlflow/trial-seed/v1").part(&seed.to_le_bytes()).part(&trial.to_le_bytes()).finish();
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// `n` candidates drawn from `space`, trial `i` with [`trial_seed`]`(seed, i)`.
///
/// ```
/// use mlflow_ml::tune::{random_candidates, Space};
/// let space = Space::new().float_log("c", 1e-3, 1e3).int("depth", 2, 8);
/// let trials = random_candidates(&space, 20, 42)?;
/// assert_eq!(trials.len(), 20);
/// assert_eq!(trials, random_candidates(&space, 20, 42)?);
/// // A longer study begins with the same trials.
/// assert_eq!(trials[..], random_candidates(&space, 30, 42)?[..20]);
/// assert!(trials.iter().all(|t| (2..=8).contains(&t["depth"].as_i64().unwrap())));
/// # Ok::<(), mlflow_ml::tune::TuneError>(())
/// ```
pub fn random_candidates(space: &Space, n: usize, seed: u64) -> Result<Vec<Params>, TuneError> {
    (0..n as u64).map(|trial| space.sample(&mut StdRng::seed_from_u64(trial_seed(seed, trial)))).collect()
}
