//! The `Step` trait: a typed, hashable unit of work. `#[step]` implements it for you.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::artifact::{AnyArtifact, Artifact};
use crate::codec::{ContentHash, Hasher};

/// How the executor treats a step: caching, retries, backoff and timeout.
///
/// Set through `#[step(cache = false, retries = 2, backoff = "50ms", timeout = "10s")]`.
///
/// ```
/// use mlflow_core::step::StepOptions;
/// let o = StepOptions::DEFAULT;
/// assert!(o.cache);
/// assert_eq!(o.retries, 0);
/// assert_eq!(o.backoff_before(2), o.backoff * 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepOptions {
    /// Look the output up in the cache and store it there (default `true`).
    pub cache: bool,
    /// How many times a failed attempt is tried again (default 0).
    pub retries: u32,
    /// Wait before the first retry; doubles for each later one (default 100 ms).
    pub backoff: Duration,
    /// Give up on an attempt after this long (default: wait forever). The attempt's thread cannot
    /// be killed: it runs on in the background, its result is discarded.
    pub timeout: Option<Duration>,
}

impl StepOptions {
    /// Cache on, no retries, 100 ms backoff, no timeout.
    pub const DEFAULT: StepOptions =
        StepOptions { cache: true, retries: 0, backoff: Duration::from_millis(100), timeout: None };

    /// The wait before retry number `retry` (1-based): `backoff * 2^(retry-1)`, capped at 2^16 times.
    pub fn backoff_before(&self, retry: u32) -> Duration {
        self.backoff.saturating_mul(1u32 << retry.saturating_sub(1).min(16))
    }
}

impl Default for StepOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The crate a step was defined in; part of the cache key, so a new release of your crate never
/// reuses results of the old one.
///
/// ```
/// use mlflow_core::step::CrateId;
/// const ME: CrateId = CrateId { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") };
/// assert_eq!(ME.name, "mlflow_core".replace('_', "-"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrateId {
    /// `CARGO_PKG_NAME` of the defining crate.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION` of the defining crate.
    pub version: &'static str,
}

/// The error a step returned, shared (a run report hands it out once per `get`) and typed: it
/// dereferences to the error itself, so `downcast_ref` finds the step's own error type.
///
/// It is deliberately not an `Error` itself: as the `source` of
/// [`Error::StepFailed`](crate::Error::StepFailed) it gives the step's error, not a wrapper.
#[derive(Clone)]
pub struct SharedStepError(std::sync::Arc<dyn StdError + Send + Sync + 'static>);

impl std::ops::Deref for SharedStepError {
    type Target = dyn StdError + Send + Sync + 'static;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for SharedStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

/// The error a step returned, boxed, with its source chain kept (see [`StepError::new`]).
pub struct StepError(Box<dyn StdError + Send + Sync>);

impl StepError {
    /// Wraps any error (or message) a step returned.
    ///
    /// ```
    /// let e = mlflow_core::step::StepError::new("disk full");
    /// assert_eq!(e.to_string(), "disk full");
    /// ```
    pub fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        StepError(error.into())
    }

    /// The error itself.
    pub fn inner(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }

    /// The error, shared, keeping its type for `downcast_ref`.
    pub(crate) fn into_shared(self) -> SharedStepError {
        SharedStepError(std::sync::Arc::from(self.0))
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StepError({self})")
    }
}

/// A unit of pipeline work with typed inputs and output.
///
/// `#[step]` implements this for a sibling unit struct of your function (`FooStep` for `fn foo`);
/// implementing it by hand is possible but then the code hash is yours to keep honest.
///
/// ```
/// use mlflow_core::prelude::*;
/// use mlflow_core::step::{CrateId, StepError};
///
/// struct Double;
/// impl Step for Double {
///     type Inputs = (u64,);
///     type Output = u64;
///     const NAME: &'static str = "double";
///     const CODE_HASH: ContentHash = ContentHash::from_bytes([7; 32]);
///     const CRATE: CrateId = CrateId { name: "demo", version: "1.0.0" };
///     fn call(&self, (x,): (&u64,)) -> Result<u64, StepError> {
///         Ok(x * 2)
///     }
/// }
///
/// let mut p = Pipeline::new("doc");
/// let x = p.param("x", 21u64);
/// let y = p.step(Double, x);
/// let dir = std::env::temp_dir().join(format!("mlflow-doc-step-{}", std::process::id()));
/// let store = Store::open(&dir).unwrap();
/// assert_eq!(*p.run(&store).unwrap().get(y).unwrap(), 42);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub trait Step: Send + Sync + 'static {
    /// The input artifact types, as a tuple: `()`, `(A,)`, `(A, B)`, ...
    type Inputs: StepInputs;
    /// The output artifact type.
    type Output: Artifact;
    /// The step's name: in reports, and in the cache key.
    const NAME: &'static str;
    /// Hash of the step's code (a canonical walk of its tokens).
    const CODE_HASH: ContentHash;
    /// Bump to invalidate cached results when something the code hash cannot see changed.
    const VERSION: u32 = 0;
    /// Code hashes of helpers whose code the step depends on.
    const DEPS: &'static [fn() -> ContentHash] = &[];
    /// Caching, retries, backoff and timeout.
    const OPTIONS: StepOptions = StepOptions::DEFAULT;
    /// The crate the step was defined in.
    const CRATE: CrateId;

    /// Runs the step on borrowed inputs.
    fn call(&self, inputs: <Self::Inputs as StepInputs>::Refs<'_>) -> Result<Self::Output, StepError>;
}

/// A function marked `#[helper]`: its code hash can be folded into steps with `deps = [...]`.
///
/// ```
/// use mlflow_core::{codec::ContentHash, step::{fold_hashes, Helper}};
/// #[allow(non_camel_case_types)]
/// struct clamp {}
/// impl Helper for clamp {
///     fn code_hash() -> ContentHash { ContentHash::of(b"fn clamp ...") }
/// }
/// assert_ne!(fold_hashes(&[clamp::code_hash]), fold_hashes(&[]));
/// ```
pub trait Helper {
    /// The helper's code hash, including its own `deps`.
    fn code_hash() -> ContentHash;
}

/// Folds dependency hashes into one (order matters; no dependencies gives a fixed value).
///
/// ```
/// use mlflow_core::{codec::ContentHash, step::fold_hashes};
/// fn a() -> ContentHash { ContentHash::of(b"a") }
/// fn b() -> ContentHash { ContentHash::of(b"b") }
/// assert_ne!(fold_hashes(&[a, b]), fold_hashes(&[b, a]));
/// ```
pub fn fold_hashes(deps: &[fn() -> ContentHash]) -> ContentHash {
    deps.iter().fold(Hasher::new("mlflow/deps/v1"), |h, dep| h.part(dep().as_bytes())).finish()
}

/// The tuple of a step's input types. Implemented for tuples of up to 12 artifacts.
///
/// ```
/// use std::sync::Arc;
/// use mlflow_core::{artifact::AnyArtifact, step::StepInputs};
/// let values: Vec<AnyArtifact> = vec![Arc::new(2u32), Arc::new(String::from("x"))];
/// let (n, s) = <(u32, String)>::downcast(&values).unwrap();
/// assert_eq!((*n, s.as_str()), (2, "x"));
/// assert!(<(String, u32)>::downcast(&values).is_none());
/// ```
pub trait StepInputs: Send + Sync + 'static {
    /// Borrowed view of the inputs, handed to [`Step::call`]: `(&A, &B, ...)`.
    type Refs<'a>;
    /// Number of inputs.
    const ARITY: usize;
    /// Recovers typed references from erased values; `None` if a type does not match.
    fn downcast(values: &[AnyArtifact]) -> Option<Self::Refs<'_>>;
}

macro_rules! impl_step_inputs {
    ($($name:ident : $idx:tt),*) => {
        impl<$($name: Artifact),*> StepInputs for ($($name,)*) {
            type Refs<'a> = ($(&'a $name,)*);
            const ARITY: usize = 0 $(+ { let _ = $idx; 1 })*;
            #[allow(unused_variables)]
            fn downcast(values: &[AnyArtifact]) -> Option<Self::Refs<'_>> {
                if values.len() != Self::ARITY {
                    return None;
                }
                Some(($(values[$idx].downcast_ref::<$name>()?,)*))
            }
        }
    };
}

impl_step_inputs!();
impl_step_inputs!(A: 0);
impl_step_inputs!(A: 0, B: 1);
impl_step_inputs!(A: 0, B: 1, C: 2);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10);
impl_step_inputs!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11);

/// Turns what a step function returned into the executor's result; used by `#[step]` for
/// functions returning `Result<T, E>`.
///
/// ```
/// use mlflow_core::step::StepResult;
/// let failed: Result<u32, std::io::Error> = Err(std::io::Error::other("disk full"));
/// assert_eq!(failed.into_step_result().unwrap_err().to_string(), "disk full");
/// ```
pub trait StepResult {
    /// The success type.
    type Ok;
    /// Converts, boxing the error.
    fn into_step_result(self) -> Result<Self::Ok, StepError>;
}

impl<T, E: Into<Box<dyn StdError + Send + Sync>>> StepResult for Result<T, E> {
    type Ok = T;
    fn into_step_result(self) -> Result<T, StepError> {
        self.map_err(StepError::new)
    }
}
