//! Continuous training: a loop that judges a model's triggers on what monitoring observed, and
//! when they fire, retrains (the user's pipeline: a cached rerun, so only what changed
//! recomputes), registers the new version and offers it to the alias through the gate; a
//! running server picks a promotion up without a restart. Every decision is recorded in the
//! store ([`WatchStore`]), the trigger state survives restarts, and a lease keeps two watchers
//! on one store from both retraining.

mod observe;
mod state;

pub use observe::{Observed, observe};
pub use state::{Action, DecisionRecord, WATCH, WatchState, WatchStore};

use mlflow_core::store::{Store, StoreError};
use mlflow_ml::monitor::{Decision, Observations, Trigger};

use crate::blocks::{PromotionOutcome, Registration};

/// What a retraining produced: the run and what registering its model did.
#[derive(Debug, Clone)]
pub struct Retrained {
    /// The retraining run's id.
    pub run_id: String,
    /// The new version and whether the gate promoted it.
    pub registration: Registration,
}

/// What one [`Watcher::tick`] did.
#[derive(Debug, Clone)]
pub enum Tick {
    /// Another watcher holds the model's lease: nothing was judged or recorded.
    Leased {
        /// Who holds it.
        holder: String,
    },
    /// The triggers were judged; the decision and what followed are recorded.
    Judged {
        /// The triggers' decision.
        decision: Decision,
        /// What the loop did.
        action: Action,
        /// The recorded decision's id.
        record: i64,
        /// The gate's verdict or the retraining's error, in words (empty when nothing fired).
        detail: String,
        /// The retraining, if the triggers fired and it succeeded.
        retrained: Option<Box<Retrained>>,
    },
}

/// Errors of the loop itself (a retraining that fails is recorded as a decision, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The store refused a read or write.
    #[error("the watch state of `{model}`: {source}")]
    Store {
        /// The model watched.
        model: String,
        /// The store's error.
        source: StoreError,
    },
    /// The model, its alias or its package could not be read.
    #[error(transparent)]
    Registry(#[from] mlflow_core::registry::RegistryError),
    /// The package or the prediction log could not be read.
    #[error(transparent)]
    Serve(#[from] crate::ServeError),
    /// The labels could not be read.
    #[error(transparent)]
    Labels(#[from] crate::LabelError),
    /// The window could not be monitored.
    #[error(transparent)]
    Monitor(#[from] crate::monitoring::MonitorError),
}

/// Watches one model: judges its triggers and retrains when they fire.
///
/// ```
/// use mlflow_ml::monitor::{Observations, Trigger};
/// use mlflow_serve::watch::{Action, Tick, Watcher};
/// let dir = tempfile::tempdir().unwrap();
/// let store = mlflow_core::store::Store::open(dir.path())?;
/// let watcher = Watcher::new(&store, "titanic", Trigger::new_labels(100)).holder("host-a");
/// let now = 1_800_000_000_000;
/// // The first tick starts counting labels; 40 new ones are not enough.
/// let never = || -> Result<_, String> { unreachable!("nothing fires") };
/// watcher.tick(Observations { now_ms: now, ..Default::default() }, 1_000, never)?;
/// let quiet = watcher.tick(Observations { now_ms: now + 1, ..Default::default() }, 1_040, never)?;
/// assert!(matches!(quiet, Tick::Judged { action: Action::None, .. }));
/// let decisions = mlflow_serve::watch::WatchStore::new(&store).decisions("titanic")?;
/// assert!(decisions[1].explanation.contains("40 new labeled rows, at least 100"), "{}", decisions[1].explanation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Watcher<'a> {
    store: &'a Store,
    model: String,
    trigger: Trigger,
    holder: String,
    lease_ms: i64,
}

impl<'a> Watcher<'a> {
    /// A watcher of `model` in `store` judged by `trigger`; its lease holder is this process
    /// (`host:pid`), held 10 minutes at a time.
    pub fn new(store: &'a Store, model: impl Into<String>, trigger: Trigger) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_owned());
        Watcher {
            store,
            model: model.into(),
            trigger,
            holder: format!("{host}:{}", std::process::id()),
            lease_ms: 10 * 60_000,
        }
    }

    /// Names the lease holder (two watchers must differ).
    pub fn holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// How long a lease lasts without a tick to renew it.
    pub fn lease(mut self, ms: i64) -> Self {
        self.lease_ms = ms.max(1);
        self
    }

    /// Gives the lease up (a watcher that stops; otherwise it expires after [`Watcher::lease`]).
    pub fn release(&self) -> Result<(), WatchError> {
        WatchStore::new(self.store)
            .release_lease(&self.model, &self.holder)
            .map_err(|source| WatchError::Store { model: self.model.clone(), source })
    }

    /// The triggers.
    pub fn trigger(&self) -> &Trigger {
        &self.trigger
    }

    /// One round: takes the lease, judges the triggers on `observed` (its `last_training_ms`
    /// and `new_labeled_rows` are filled from the stored state and `total_labels`, the labeled
    /// rows there are now), and if they fire, calls `retrain` and records what it did (an
    /// error of `retrain` is recorded as [`Action::Failed`] with its text; the triggers that
    /// fired still start their cooldowns, so a failing retraining is not retried in a tight
    /// loop). The first tick for a model starts its clock: triggers count from then.
    pub fn tick<E: std::fmt::Display>(
        &self,
        mut observed: Observations,
        total_labels: u64,
        retrain: impl FnOnce() -> Result<Retrained, E>,
    ) -> Result<Tick, WatchError> {
        let watch = WatchStore::new(self.store);
        let store_error = |source| WatchError::Store { model: self.model.clone(), source };
        let now = observed.now_ms;
        if !watch.acquire_lease(&self.model, &self.holder, now, self.lease_ms).map_err(store_error)? {
            let holder = watch.lease_holder(&self.model).map_err(store_error)?.unwrap_or_default();
            return Ok(Tick::Leased { holder });
        }
        let mut state = watch.state(&self.model).map_err(store_error)?;
        if state.last_training_ms.is_none() {
            state.last_training_ms = Some(now);
            state.labels_at_training = total_labels;
        }
        observed.last_training_ms = state.last_training_ms;
        observed.new_labeled_rows = total_labels.saturating_sub(state.labels_at_training);
        let decision = self.trigger.evaluate(&observed, &state.triggers);
        let explanation = decision.explain();
        let (action, retrained, detail) = if decision.fired {
            state.triggers.record(&decision, now);
            match retrain() {
                Ok(retrained) => {
                    state.last_training_ms = Some(now);
                    state.labels_at_training = total_labels;
                    let action = match &retrained.registration.promotion {
                        PromotionOutcome::Promoted(_) => Action::Promoted,
                        PromotionOutcome::AlreadyThere => Action::Unchanged,
                        _ => Action::Refused,
                    };
                    let detail = retrained.registration.to_string();
                    (action, Some(Box::new(retrained)), detail)
                }
                Err(e) => (Action::Failed, None, format!("retraining failed: {e}")),
            }
        } else {
            (Action::None, None, String::new())
        };
        watch.save_state(&self.model, &state).map_err(store_error)?;
        let record = watch
            .record(
                &self.model,
                now,
                decision.fired,
                &explanation,
                action,
                retrained.as_ref().map(|r| r.run_id.as_str()),
                retrained.as_ref().map(|r| r.registration.version.version),
                &detail,
            )
            .map_err(store_error)?;
        Ok(Tick::Judged { decision, action, record, detail, retrained })
    }
}
