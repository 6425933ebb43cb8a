//! The engine of `mlflow-pipelines`: steps, typed wiring, the parallel executor, the
//! content-addressed store, tracking and the model registry. It knows nothing of machine
//! learning, HTTP or the command line. Use it through the `mlflow` facade crate, which adds the
//! `#[step]` attribute and the machine-learning and serving layers.
//!
//! Rooms: [`step`], [`artifact`], [`codec`], [`dag`], [`exec`], [`exec_plan`] (the pipeline as a
//! plan for an orchestrator: stable node ids, edges, options, resources, a plan hash), [`store`],
//! [`track`] (metrics, tags, data versions, environment, run queries, lineage), [`registry`] (model versions,
//! aliases with their history, guarded promotion), [`text`] (escaping input echoed in messages),
//! and `progress` (a terminal progress bar for runs; cargo feature `progress`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod artifact;
pub mod codec;
pub mod dag;
pub mod error;
pub mod exec;
pub mod exec_plan;
pub mod export;
pub mod gc;
mod map;
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
        CrateId, Helper, HelperHash, HelperRef, Resources, Step, StepError, StepInputs, StepOptions,
        StepResult, collect_helpers, fold_hashes,
    };
    pub use core::clone::Clone;
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Ok};
    pub use core::time::Duration;
    pub use std::vec::Vec;

    /// Fails to compile, at the span of `T`, when `T` is not an artifact.
    pub const fn assert_artifact<T: Artifact>() {}

    /// Stands for an input or output type of a `#[step]` function whose signature has errors,
    /// when the intended type cannot be told (a type parameter, `impl Trait`, a borrow): the
    /// placeholder `FooStep` keeps compiling, the signature errors are what is reported.
    #[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
    pub struct StepSignatureError;

    /// What a name a step or helper calls resolves to, in the type namespace, at the function's
    /// site: `T` is the `#[helper]`'s marker struct, a fallback struct the expansion declares for
    /// names that resolve to nothing there, or whatever else has the name (a plain function has
    /// no type, so the fallback is used).
    pub struct Probe<T: ?Sized>(core::marker::PhantomData<fn() -> *const T>);

    impl<T: ?Sized> Probe<T> {
        /// The probe.
        pub const NEW: Self = Probe(core::marker::PhantomData);
    }

    /// Autoref specialization, step 1: `(&Probe::<T>::NEW).__mlflow_discover()` picks this impl
    /// when `T` is a helper...
    pub trait DiscoverHelper {
        /// The helper, or `None`.
        fn __mlflow_discover(&self) -> Option<HelperRef>;
    }

    impl<T: Helper> DiscoverHelper for Probe<T> {
        fn __mlflow_discover(&self) -> Option<HelperRef> {
            Some(HelperRef::of::<T>())
        }
    }

    /// ... and this one (one more autoref) otherwise.
    pub trait DiscoverOther {
        /// `None`.
        fn __mlflow_discover(&self) -> Option<HelperRef>;
    }

    impl<T: ?Sized> DiscoverOther for &Probe<T> {
        fn __mlflow_discover(&self) -> Option<HelperRef> {
            None
        }
    }

    /// Implemented by the fallback structs of a discovery probe: a name that resolved to nothing.
    pub trait Unresolved {}

    /// Whether `T` is one of the fallback structs (autoref, like [`DiscoverHelper`]).
    pub trait IsUnresolved {
        /// `true` for a fallback.
        fn __mlflow_unresolved(&self) -> bool;
    }

    impl<T: Unresolved> IsUnresolved for Probe<T> {
        fn __mlflow_unresolved(&self) -> bool {
            true
        }
    }

    /// The other case of [`IsUnresolved`].
    pub trait IsResolved {
        /// `false`.
        fn __mlflow_unresolved(&self) -> bool;
    }

    impl<T: ?Sized> IsResolved for &Probe<T> {
        fn __mlflow_unresolved(&self) -> bool {
            false
        }
    }

    /// The site marker of a step or helper declared in a module: its probe finds the marker
    /// through `use super::*`. A step declared in a function body does not (the body's items are
    /// not in the module), and its probe finds a fallback.
    pub trait Site {}

    /// Whether `T` is a real [`Site`] marker.
    pub trait IsSite {
        /// `true` for a site marker.
        fn __mlflow_in_module(&self) -> bool;
    }

    impl<T: Site> IsSite for Probe<T> {
        fn __mlflow_in_module(&self) -> bool {
            true
        }
    }

    /// The other case of [`IsSite`].
    pub trait IsNotSite {
        /// `false`.
        fn __mlflow_in_module(&self) -> bool;
    }

    impl<T: ?Sized> IsNotSite for &Probe<T> {
        fn __mlflow_in_module(&self) -> bool {
            false
        }
    }
}
