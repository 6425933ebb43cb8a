#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod binary;
mod error;
mod location;

pub use binary::{CommandError, USAGE, main, run_command};
pub use error::{Error, Result};
pub use location::{ARTIFACTS_VAR, METADATA_VAR, OpenStoreError, StoreLocation};
/// The engine's error, returned by pipeline runs, the store, tracking and the registry.
pub use mlflow_core::Error as EngineError;

// The engine: always there.
#[cfg(feature = "progress")]
pub use mlflow_core::progress;
pub use mlflow_core::{
    artifact, codec, dag, exec, exec_plan, export, gc, registry, step, store, text, track,
};

// The machine-learning rooms (feature `ml`, on by default).
#[cfg(feature = "ml")]
pub use mlflow_ml::{analysis, data, eval, features, models, ndarray, report, tune, validate};

/// Monitoring: the reference profile and the drift statistics (`mlflow_ml::monitor`), and with
/// the `serve` feature, windows over a model's prediction log compared with its package's
/// profile, health and alerts (`mlflow_serve::monitoring`: `scan_windows`, `monitor_log`,
/// `WindowReport`, `AlertRules`).
///
/// ```
/// use mlflow::monitor::{DriftTest, Preset};
/// assert_eq!(Preset::evidently().numeric_test(5000, 40), DriftTest::Wasserstein);
/// ```
#[cfg(feature = "ml")]
pub mod monitor {
    pub use mlflow_ml::monitor::*;
    #[cfg(feature = "serve")]
    pub use mlflow_serve::monitoring::*;
}
// linfa models behind the same faces (feature `linfa`).
#[cfg(feature = "linfa")]
pub use mlflow_ml::linfa;

/// Serde, as the library uses it: derive `Serialize` and `Deserialize` for your own artifacts
/// without adding the crate yourself by pointing the derive at this re-export (or add `serde`
/// with its `derive` feature to your crate: any 1.x works with this one).
///
/// ```
/// use mlflow::serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// #[serde(crate = "mlflow::serde")]
/// struct Settings {
///     depth: u32,
/// }
///
/// fn takes_artifacts<T: mlflow::artifact::Artifact>() {}
/// takes_artifacts::<Settings>();
/// ```
pub use serde;

/// Ready-made steps for the common path of a classification pipeline: ingest, check, prepare,
/// train candidates, evaluate, select (`mlflow_ml::blocks`), and with the `serve` feature,
/// package the champion and register it (`mlflow_serve::blocks`). `examples/classify.rs` runs
/// them all on any CSV with a 0/1 label.
#[cfg(feature = "ml")]
pub mod blocks {
    pub use mlflow_ml::blocks::*;
    #[cfg(feature = "serve")]
    pub use mlflow_serve::blocks::*;
}

/// Model packages, in-process and batch scoring, the prediction log, (feature `server`) the
/// HTTP scoring service and (feature `ui`) the local web UI. Cargo feature `serve`.
#[cfg(feature = "serve")]
pub mod serve {
    pub use mlflow_serve::*;
}

/// Turns a plain function into a pipeline step.
///
/// The function stays as written (call it directly in unit tests) and a sibling unit struct
/// `FooStep` (for `fn foo`) implements [`Step`](crate::step::Step). Arguments are the step's
/// inputs: `&T` borrows the shared artifact, `T` receives a clone. The return type `T` or
/// `Result<T, E>` (with `E: std::error::Error + Send + Sync`) is the output. Every input and
/// output type must be an [`Artifact`](crate::artifact::Artifact).
///
/// Options: `name = "..."`, `version = N`, `deps = [helper, ...]`, `cache = false`,
/// `retries = N`, `backoff = "100ms"` (doubles for each retry), `timeout = "30s"`,
/// `cpu = "500m"` and `memory = "512Mi"` (what the step asks for when an orchestrator runs it,
/// see [`Pipeline::execution_plan`](crate::dag::Pipeline::execution_plan); Kubernetes
/// quantities, checked at compile time), `crate = path` (where the generated code finds mlflow,
/// for crates re-exporting it).
///
/// The cache key holds the step's code hash and those of the [`helper`]s it calls: helpers are
/// discovered in the body (calls like `square(x)` and `util::square(x)`, function values like
/// `.map(square)`, renamed imports, `name(...)` inside macro invocations, and, transitively, the
/// helpers those helpers call). Discovery cannot see method calls, functions reached through
/// pointers, closures or trait objects stored elsewhere, or calls a macro's own expansion makes:
/// list such helpers in `deps = [...]` (or bump `version`). A step declared inside a function
/// body cannot see that body's items: when it calls anything but its module's helpers, its key
/// also holds a value unique to the build, so it misses after each rebuild rather than risk a
/// stale hit (declare steps at module level, as below, to avoid that).
///
/// ```
/// use mlflow::prelude::*;
///
/// #[helper]
/// fn square(x: f64) -> f64 {
///     x * x
/// }
///
/// // `square` is found in the body: no need for `deps = [square]`.
/// #[step(version = 2, retries = 1, backoff = "10ms", timeout = "5s")]
/// fn sum_of_squares(xs: &Vec<f64>) -> f64 {
///     xs.iter().map(|&x| square(x)).sum()
/// }
///
/// #[step(cache = false)]
/// fn checked_sqrt(x: f64) -> Result<f64, std::io::Error> {
///     if x < 0.0 {
///         return Err(std::io::Error::other("negative"));
///     }
///     Ok(x.sqrt())
/// }
///
/// fn main() -> mlflow::Result<()> {
///     // Still a plain function.
///     assert_eq!(sum_of_squares(&vec![3.0, 4.0]), 25.0);
///
///     let mut p = Pipeline::new("norm");
///     let xs = p.param("xs", vec![3.0, 4.0]);
///     let sum = p.step(SumOfSquaresStep, xs);
///     let norm = p.step(CheckedSqrtStep, sum);
///     assert_eq!(p.helpers_of(sum).unwrap()[0].name, "square");
///     let dir = std::env::temp_dir().join(format!("mlflow-doc-step-macro-{}", std::process::id()));
///     let store = Store::open(&dir)?;
///     assert_eq!(*p.run(&store)?.get(norm)?, 5.0);
///     # std::fs::remove_dir_all(&dir).ok();
///     Ok(())
/// }
/// ```
pub use mlflow_macros::step;

/// Marks a function that steps call, so that its code hash is folded into their cache keys:
/// editing the helper then invalidates the cached results of the steps that call it, directly or
/// through other helpers. Calls are discovered (see [`step`](macro@step)); `deps = [...]` (on a step or a
/// helper) adds helpers reached in ways discovery cannot see, such as through a function pointer.
///
/// ```
/// use mlflow::prelude::*;
///
/// #[helper]
/// fn clamp01(x: f64) -> f64 {
///     x.clamp(0.0, 1.0)
/// }
///
/// #[helper]
/// fn scale(x: f64) -> f64 {
///     clamp01(x / 100.0)
/// }
///
/// // Reached only through a function pointer: listed.
/// #[helper]
/// fn round2(x: f64) -> f64 {
///     (x * 100.0).round() / 100.0
/// }
///
/// #[step(deps = [round2])]
/// fn normalise(xs: &Vec<f64>) -> Vec<f64> {
///     let finish: fn(f64) -> f64 = pick();
///     xs.iter().map(|&x| finish(scale(x))).collect()
/// }
///
/// fn pick() -> fn(f64) -> f64 {
///     round2
/// }
///
/// fn main() {
///     assert_eq!(normalise(&vec![50.0, 250.0]), [0.5, 1.0]);
///     let names: Vec<String> = NormaliseStep::helpers().into_iter().map(|h| h.name).collect();
///     assert_eq!(names, ["clamp01", "round2", "scale"]);
/// }
/// ```
pub use mlflow_macros::helper;

/// The few names almost every pipeline needs: `use mlflow::prelude::*;`.
pub mod prelude {
    pub use mlflow_core::prelude::*;
    pub use mlflow_macros::{helper, step};
}

/// Items the `#[step]` and `#[helper]` expansions name by absolute path. Not a public API.
#[doc(hidden)]
pub use mlflow_core::__private;
