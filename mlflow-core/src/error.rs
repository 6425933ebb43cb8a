//! The library's error type: one enum per room, wrapped here.

use crate::codec::CodecError;
use crate::dag::WiringError;
use crate::data::DataError;
use crate::eval::EvalError;
use crate::features::FeatureError;
use crate::models::ModelError;
use crate::registry::RegistryError;
use crate::serve::ServeError;
use crate::store::StoreError;
use crate::track::TrackError;
use crate::validate::ValidationError;

/// Everything that can go wrong in `mlflow`.
///
/// ```
/// use mlflow_core::{prelude::*, Error};
/// let mut other = Pipeline::new("other");
/// let foreign = other.param("x", 1u32);
/// let mut p = Pipeline::new("mine");
/// let _ = p.param("y", 2u32);
/// let report = p.run(&Store::open(tempfile::tempdir().unwrap().path()).unwrap()).unwrap();
/// assert!(matches!(report.get(foreign), Err(Error::ForeignNode { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store could not be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An artifact could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Reading or ingesting data failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Data did not meet its expectations.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Fitting or applying a feature transform failed.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Fitting or applying a model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Computing metrics or selecting a champion failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A model registry operation failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Packaging a model or scoring with one failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// Logging a metric, tag or data version failed.
    #[error(transparent)]
    Track(#[from] TrackError),
    /// The pipeline was wired wrongly in a way rustc could not catch.
    #[error("{} wiring error(s):\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Wiring(Vec<WiringError>),
    /// A step failed, so its output does not exist.
    #[error("step `{step}` failed: {message}")]
    StepFailed {
        /// The node name.
        step: String,
        /// The failure as reported.
        message: String,
    },
    /// A step did not run because something upstream failed.
    #[error("step `{step}` was skipped: {reason}")]
    StepSkipped {
        /// The node name.
        step: String,
        /// Why.
        reason: String,
    },
    /// No run with this id in the store.
    #[error("no run `{id}` in this store; list runs with `mlflow runs` or `Store::runs`")]
    UnknownRun {
        /// The id asked for.
        id: String,
    },
    /// The run has no step with this node name.
    #[error("run `{run}` has no step `{node}`; `mlflow run show {run}` lists its steps")]
    UnknownNode {
        /// The run.
        run: String,
        /// The node asked for.
        node: String,
    },
    /// The step has no stored output.
    #[error("step `{node}` of run `{run}` has no stored output (it {status}; outputs of failed or skipped steps, and of steps with `cache = false`, are not stored)")]
    NoOutput {
        /// The run.
        run: String,
        /// The node.
        node: String,
        /// Its status.
        status: String,
    },
    /// A node handle that does not belong to the pipeline this report or plan is about.
    #[error(
        "node {node} does not belong to pipeline `{pipeline}`; use the handles returned while building it"
    )]
    ForeignNode {
        /// The node, as debug-printed.
        node: String,
        /// The pipeline's name.
        pipeline: String,
    },
}

/// `Result` with [`Error`].
///
/// ```
/// fn open(path: &std::path::Path) -> mlflow_core::Result<mlflow_core::store::Store> {
///     Ok(mlflow_core::store::Store::open(path)?)
/// }
/// assert!(open(tempfile::tempdir().unwrap().path()).is_ok());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
