//! The model registry: named models with numbered versions, movable aliases with a full history,
//! and gated promotion.
//!
//! A **version** is the output artifact of one step of one recorded run, registered under a model
//! name with metrics, a description and tags. Versions of a name are numbered 1, 2, 3 ... in the
//! order they were registered; the number is assigned inside one write transaction, so several
//! threads or processes registering at once never get the same number. Versions are never
//! changed or deleted.
//!
//! Registering an artifact that is **already a version of that name** (same content hash) does not
//! create a new version: [`Registry::register`] returns the existing one, unchanged (its metrics,
//! description, tags and source run stay those of the first registration). So rerunning a
//! pipeline whose steps are all cached, and registering its output again, is harmless. The same
//! artifact may be a version of several names.
//!
//! An **alias** (`staging`, `production`, any valid name) points at one version of a model at a
//! time. Every move, including a removal, is appended to a history that is never rewritten, with
//! its time, reason and, for [`Registry::promote`], the figures of every threshold of the gate
//! ([`gate`]) and whether each passed; so "which version was
//! `production` at time T" has an answer ([`Registry::alias_at`]). The times of the moves of one
//! alias never go backwards: a move is stamped with the clock, or with the previous move's time if
//! the clock is behind it.
//!
//! A **reference** names a version: `NAME` (the latest version), `NAME/3` (version 3) or
//! `NAME@production` (the version an alias points at now); see [`ModelRef`].
//!
//! Model names and aliases are 1 to 128 characters from `A-Z a-z 0-9 _ . -`.
//!
//! # Tables
//! The registry keeps its tables in the store's metadata database, as the room [`REGISTRY`],
//! created on first use by [`Registry::new`]: `registry_versions` (one row per version: name,
//! version, artifact hash and size, source run, pipeline, node and step, description, creation
//! time; unique on `(artifact, name)`), `registry_metrics` and `registry_tags` (per version), and
//! `registry_alias_moves` (the append-only alias history; triggers refuse updates and deletes)
//! with `registry_gate_checks` (one row per threshold of each promotion, as appended).
//! Garbage collection keeps the artifact of every version. The format is recorded as
//! `registry_format` in the store's `meta` table; a store whose registry was written by a newer
//! mlflow is refused ([`RegistryError::NewerFormat`]).
//!
//! ```
//! # use mlflow_core::prelude::*;
//! use mlflow_core::registry::{Promotion, RegisterRequest, Registry};
//! # #[mlflow_macros::step(crate = mlflow_core)]
//! # fn train(x: &f64) -> Vec<f64> {
//! #     vec![*x, 2.0 * x]
//! # }
//! # let dir = tempfile::tempdir().unwrap();
//! # let store = Store::open(dir.path()).unwrap();
//! let mut p = Pipeline::new("demo");
//! let scale = p.param("scale", 1.5f64);
//! p.step(TrainStep, scale); // the node is named `train`
//! let run = p.run(&store)?;
//!
//! let registry = Registry::new(&store)?;
//! let v1 = registry.register(
//!     "demo-model",
//!     RegisterRequest::new(run.run_id(), "train").metric("auc", 0.81).description("first try"),
//! )?;
//! assert_eq!(v1.version, 1);
//! registry.promote("demo-model", 1, "production", Promotion::new("auc").reason("first model"))?;
//! let weights: Vec<f64> = registry.load("demo-model@production")?;
//! assert_eq!(weights, [1.5, 3.0]);
//! # Ok::<(), mlflow_core::Error>(())
//! ```

mod aliases;
mod error;
pub mod gate;
mod reference;
mod rows;
mod schema;
mod types;
mod versions;

#[cfg(test)]
mod promote_tests;

use std::fmt;
use std::sync::Arc;

pub use error::RegistryError;
pub use gate::{MetricThreshold, ThresholdCheck};
pub use reference::{MAX_NAME_LEN, ModelRef};
pub use schema::{REGISTRY, REGISTRY_FORMAT};
pub use types::{
    AliasMove, GuardCheck, ModelSummary, ModelVersion, Promotion, PromotionMetric, RegisterRequest,
};

use crate::store::meta::{Tx, params};
use crate::store::{Mode, Store, now_ms};

/// The model registry of one store. Cheap to make; make one wherever it is needed.
///
/// See the [module documentation](self) for an example.
pub struct Registry<'s> {
    store: &'s Store,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl fmt::Debug for Registry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry").field("store", &self.store).finish()
    }
}

impl<'s> Registry<'s> {
    /// The registry of `store`, creating its tables on first use. Fails with
    /// [`RegistryError::NewerFormat`] if a newer mlflow wrote them.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert!(registry.models()?.is_empty());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn new(store: &'s Store) -> Result<Registry<'s>, RegistryError> {
        let registry = Registry { store, clock: Arc::new(now_ms) };
        registry.meta(Mode::Autocommit, check_format)?;
        Ok(registry)
    }

    /// Replaces the clock (milliseconds since the Unix epoch) that stamps new versions and alias
    /// moves: for tests, or to replay a history. Moves of one alias still never go backwards.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?.with_clock(|| 1_000);
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The store this registry lives in.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// let registry = mlflow_core::registry::Registry::new(&store)?;
    /// assert_eq!(registry.store().root(), dir.path());
    /// # Ok::<(), mlflow_core::registry::RegistryError>(())
    /// ```
    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// Runs `f` on the registry's tables in `mode`; an error rolls a transaction back.
    fn meta<T>(
        &self,
        mode: Mode,
        f: impl FnOnce(&mut dyn Tx) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        self.store.with_meta(&REGISTRY, mode, f)
    }
}

/// Refuses registry tables written by a newer mlflow. The store checks when a handle first uses
/// the registry (its refusal becomes [`RegistryError::NewerFormat`] too); this checks each time
/// a [`Registry`] is made, as the registry always has, so that a long-lived store handle notices
/// tables a newer mlflow upgraded since.
fn check_format(tx: &mut dyn Tx) -> Result<(), RegistryError> {
    let key = REGISTRY.format_key();
    let Some(row) = tx.query_opt("SELECT value FROM meta WHERE key = ?1", params![key.as_str()])? else {
        return Ok(());
    };
    let found = row.get::<String>(0)?.trim().parse::<u32>().unwrap_or(u32::MAX);
    if found > REGISTRY_FORMAT {
        return Err(RegistryError::NewerFormat { found, supported: REGISTRY_FORMAT });
    }
    Ok(())
}
