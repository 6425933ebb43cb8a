//! The engine of `mlflow-pipelines`: steps, typed wiring, the parallel executor, the
//! content-addressed store, tracking and the model registry. It knows nothing of machine
//! learning, HTTP or the command line. Use it through the `mlflow` facade crate, which adds the
//! `#[step]` attribute and the machine-learning and serving layers.
//!
//! Rooms: [`step`], [`artifact`], [`codec`], [`dag`], [`exec`], [`store`], [`track`] (metrics,
//! tags, data versions, environment, run queries, lineage), [`registry`] (model versions,
//! aliases with their history, guarded promotion), [`text`] (escaping input echoed in messages),
//! and `progress` (a terminal progress bar for runs; cargo feature `progress`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod artifact;
pub mod codec;
pub mod dag;
pub mod error;
pub mod exec;
pub mod gc;
#[cfg(feature = "progress")]
pub mod progress;
pub mod registry;
pub mod step;
pub mod store;
pub mod text;
pub mod track;

pub use error::{Error, Result};

/// The few names almost every pipeline needs: `use mlflow::prelude::*;`.
pub mod prelude {
    pub use crate::artifact::{Artifact, ContentHash};
    pub use crate::dag::{Node, Pipeline};
    pub use crate::exec::{RunOptions, RunReport, StepStatus};
    pub use crate::step::Step;
    pub use crate::store::Store;
}

/// Items the `#[step]` and `#[helper]` expansions name by absolute path. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::artifact::Artifact;
    pub use crate::codec::{ContentHash, Hasher};
    pub use crate::step::{
        fold_hashes, CrateId, Helper, Step, StepError, StepInputs, StepOptions, StepResult,
    };
    pub use core::clone::Clone;
    pub use core::option::Option::{None, Some};
    pub use core::result::Result::{self, Ok};
    pub use core::time::Duration;

    /// Fails to compile, at the span of `T`, when `T` is not an artifact.
    pub const fn assert_artifact<T: Artifact>() {}

    /// A helper's full code hash: its own tokens plus the hashes of its own `deps`.
    pub fn helper_hash(own: ContentHash, deps: &[fn() -> ContentHash]) -> ContentHash {
        if deps.is_empty() {
            return own;
        }
        Hasher::new("mlflow/helper/v1").part(own.as_bytes()).part(fold_hashes(deps).as_bytes()).finish()
    }
}
