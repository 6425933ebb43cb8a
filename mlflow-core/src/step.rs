//! The `Step` trait: a typed, hashable unit of work. `#[step]` implements it for you.

use std::any::TypeId;
use std::collections::HashSet;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use crate::artifact::{AnyArtifact, Artifact};
use crate::codec::{ContentHash, Hasher};

/// How the executor treats a step: caching, retries, backoff and timeout; and what it asks of
/// the machine it runs on ([`Resources`], for an exported [execution plan](crate::exec_plan)).
///
/// Set through `#[step(cache = false, retries = 2, backoff = "50ms", timeout = "10s", cpu = "500m",
/// memory = "512Mi")]`.
///
/// ```
/// use mlflow_core::step::{Resources, StepOptions};
/// let o = StepOptions::DEFAULT;
/// assert!(o.cache);
/// assert_eq!(o.retries, 0);
/// assert_eq!(o.backoff_before(2), o.backoff * 2);
/// assert_eq!(o.resources, Resources::NONE);
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
    /// The CPU and memory the step asks for when it runs as a pod of its own (default: none).
    /// Not part of the cache key: they change where a step runs, not what it computes.
    pub resources: Resources,
}

impl StepOptions {
    /// Cache on, no retries, 100 ms backoff, no timeout, no resource requests.
    pub const DEFAULT: StepOptions = StepOptions {
        cache: true,
        retries: 0,
        backoff: Duration::from_millis(100),
        timeout: None,
        resources: Resources::NONE,
    };

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

/// What a step asks of the machine it runs on: `#[step(cpu = "500m", memory = "512Mi")]`,
/// checked when the macro expands (Kubernetes quantities: millicores or cores, bytes with a
/// binary or decimal suffix). An orchestrator turns them into the resource requests of the step's
/// pod; the local executor does not use them.
///
/// ```
/// use mlflow_core::step::Resources;
/// let r = Resources { cpu_millis: Some(500), memory_bytes: Some(512 << 20) };
/// assert_eq!(r.cpu_quantity().as_deref(), Some("500m"));
/// assert_eq!(r.memory_quantity().as_deref(), Some("512Mi"));
/// assert_eq!(Resources::NONE.cpu_quantity(), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// CPU, in thousandths of a core (`cpu = "500m"` is 500, `cpu = 2` is 2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_millis: Option<u32>,
    /// Memory, in bytes (`memory = "512Mi"` is 512 * 2^20, `memory = "1G"` is 10^9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

impl Resources {
    /// No request: the orchestrator's defaults apply.
    pub const NONE: Resources = Resources { cpu_millis: None, memory_bytes: None };

    /// The CPU request as a Kubernetes quantity: whole cores as a number (`"2"`), anything else
    /// in millicores (`"1500m"`).
    ///
    /// ```
    /// use mlflow_core::step::Resources;
    /// let cpu = |m| Resources { cpu_millis: Some(m), ..Resources::NONE }.cpu_quantity().unwrap();
    /// assert_eq!((cpu(2000), cpu(1500), cpu(1)), ("2".to_owned(), "1500m".to_owned(), "1m".to_owned()));
    /// ```
    pub fn cpu_quantity(&self) -> Option<String> {
        self.cpu_millis
            .map(|m| if m.is_multiple_of(1000) { format!("{}", m / 1000) } else { format!("{m}m") })
    }

    /// The memory request as a Kubernetes quantity: with the largest binary suffix (`Ki` to `Ei`)
    /// that divides it, else the largest decimal one (`k` to `E`), else in bytes.
    ///
    /// ```
    /// use mlflow_core::step::Resources;
    /// let mem = |b| Resources { memory_bytes: Some(b), ..Resources::NONE }.memory_quantity().unwrap();
    /// assert_eq!(mem(3 << 30), "3Gi");
    /// assert_eq!(mem(1_000_000_000), "1G");
    /// assert_eq!(mem(1_500), "1500");
    /// ```
    pub fn memory_quantity(&self) -> Option<String> {
        const BINARY: [(&str, u32); 6] =
            [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)];
        const DECIMAL: [(&str, u32); 6] = [("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3)];
        let bytes = self.memory_bytes?;
        let binary = BINARY.iter().map(|&(suffix, shift)| (suffix, 1u64 << shift));
        let decimal = DECIMAL.iter().map(|&(suffix, exp)| (suffix, 10u64.pow(exp)));
        Some(
            binary
                .chain(decimal)
                .find(|&(_, unit)| bytes != 0 && bytes.is_multiple_of(unit))
                .map_or_else(|| bytes.to_string(), |(suffix, unit)| format!("{}{suffix}", bytes / unit)),
        )
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
    /// Code hashes of the helpers listed in `#[step(deps = [...])]` (each helper's own code; the
    /// full, transitive list is [`Step::helpers`]).
    const DEPS: &'static [fn() -> ContentHash] = &[];
    /// Caching, retries, backoff and timeout.
    const OPTIONS: StepOptions = StepOptions::DEFAULT;
    /// The crate the step was defined in.
    const CRATE: CrateId;

    /// Runs the step on borrowed inputs.
    fn call(&self, inputs: <Self::Inputs as StepInputs>::Refs<'_>) -> Result<Self::Output, StepError>;

    /// Every helper whose code the step depends on, each once, with its own code hash, sorted by
    /// name: part of the cache key (see [`fold_helpers`]).
    ///
    /// `#[step]` implements it: the helpers listed in `deps`, the `#[helper]` functions found in
    /// the step's body, and, transitively, the helpers those depend on. The default (for
    /// hand-written impls) lists [`Step::DEPS`], named `deps[0]`, `deps[1]`, ...
    fn helpers() -> Vec<HelperHash>
    where
        Self: Sized,
    {
        let mut list: Vec<HelperHash> = Self::DEPS
            .iter()
            .enumerate()
            .map(|(i, dep)| HelperHash::new(format!("deps[{i}]"), dep()))
            .collect();
        list.sort();
        list
    }
}

/// A function marked `#[helper]`: steps that call it (or list it in `deps`) fold its code hash
/// into their cache key.
///
/// `#[helper] fn clamp` implements this for a hidden braced struct `clamp` (a type with the
/// function's own name). By hand:
///
/// ```
/// use mlflow_core::{codec::ContentHash, step::{collect_helpers, Helper, HelperRef}};
/// #[allow(non_camel_case_types)]
/// struct clamp {}
/// impl Helper for clamp {
///     fn code_hash() -> ContentHash { ContentHash::of(b"fn clamp ...") }
///     fn name() -> &'static str { "demo::clamp" }
/// }
/// let list = collect_helpers(vec![HelperRef::of::<clamp>()]);
/// assert_eq!((list[0].name.as_str(), list[0].path.as_str()), ("clamp", "demo::clamp"));
/// assert_eq!(list[0].code_hash, clamp::code_hash());
/// ```
pub trait Helper: 'static {
    /// The hash of the helper's own code (its tokens; not the helpers it calls).
    fn code_hash() -> ContentHash;

    /// The helper's path: `#[helper]` gives the function's (`my_crate::util::clamp`); its last
    /// segment is the name folded into cache keys.
    fn name() -> &'static str {
        std::any::type_name::<Self>()
    }

    /// The helpers this one depends on directly: its `deps` and the helpers found in its body.
    fn helpers() -> Vec<HelperRef> {
        Vec::new()
    }
}

/// A handle to a [`Helper`] type, for walking the graph of helpers at run time.
#[derive(Clone, Copy)]
pub struct HelperRef {
    id: fn() -> TypeId,
    name: fn() -> &'static str,
    code_hash: fn() -> ContentHash,
    helpers: fn() -> Vec<HelperRef>,
}

impl HelperRef {
    /// The handle of the helper `H`.
    pub fn of<H: Helper>() -> Self {
        HelperRef { id: TypeId::of::<H>, name: H::name, code_hash: H::code_hash, helpers: H::helpers }
    }

    /// A handle to something that stands in for code discovery cannot see (no [`Helper`] type):
    /// `id` identifies it, `name` and `code_hash` are what the cache key gets.
    #[doc(hidden)]
    pub fn stand_in(id: fn() -> TypeId, name: fn() -> &'static str, code_hash: fn() -> ContentHash) -> Self {
        HelperRef { id, name, code_hash, helpers: Vec::new }
    }

    /// The helper's display name.
    pub fn name(&self) -> &'static str {
        (self.name)()
    }
}

impl fmt::Debug for HelperRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HelperRef({})", self.name())
    }
}

/// One helper in a step's cache key: its name and its own code hash (both folded into the key,
/// see [`fold_helpers`]), and its path (for display only: moving a helper to another module does
/// not change the key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct HelperHash {
    /// The helper function's name, e.g. `clamp`.
    pub name: String,
    /// The hash of the helper's own code.
    pub code_hash: ContentHash,
    /// The helper's path, e.g. `my_crate::util::clamp` (see [`Helper::name`]).
    pub path: String,
}

impl HelperHash {
    /// The entry for a helper with this path (its name is the last `::` segment) and hash.
    pub fn new(path: impl Into<String>, code_hash: ContentHash) -> Self {
        let path = path.into();
        let name = path.rsplit("::").next().unwrap_or_default().to_owned();
        HelperHash { name, code_hash, path }
    }
}

/// Every helper reachable from `roots` (the roots, the helpers they depend on, and so on), each
/// once, sorted by name, then hash, then path. Cycles (a helper calling itself, or `a` calling `b` calling
/// `a`) are fine: each helper is visited once.
///
/// ```
/// use mlflow_core::{codec::ContentHash, step::{collect_helpers, Helper, HelperRef}};
/// struct A;
/// struct B;
/// impl Helper for A {
///     fn code_hash() -> ContentHash { ContentHash::of(b"a") }
///     fn name() -> &'static str { "a" }
///     fn helpers() -> Vec<HelperRef> { vec![HelperRef::of::<B>()] }
/// }
/// impl Helper for B {
///     fn code_hash() -> ContentHash { ContentHash::of(b"b") }
///     fn name() -> &'static str { "b" }
///     fn helpers() -> Vec<HelperRef> { vec![HelperRef::of::<A>(), HelperRef::of::<B>()] }
/// }
/// let names: Vec<String> = collect_helpers(vec![HelperRef::of::<B>()]).into_iter().map(|h| h.path).collect();
/// assert_eq!(names, ["a", "b"]);
/// ```
pub fn collect_helpers(roots: Vec<HelperRef>) -> Vec<HelperHash> {
    let mut seen = HashSet::new();
    let mut stack = roots;
    let mut list = Vec::new();
    while let Some(helper) = stack.pop() {
        if seen.insert((helper.id)()) {
            list.push(HelperHash::new(helper.name(), (helper.code_hash)()));
            stack.extend((helper.helpers)());
        }
    }
    list.sort();
    list
}

/// Folds a step's helpers (as [`Step::helpers`] lists them) into one hash for its cache key:
/// their names and code hashes, in order; not their paths.
///
/// ```
/// use mlflow_core::{codec::ContentHash, step::{fold_helpers, HelperHash}};
/// let a = HelperHash::new("demo::a", ContentHash::of(b"fn a"));
/// let edited = HelperHash::new("demo::a", ContentHash::of(b"fn a, edited"));
/// let moved = HelperHash::new("demo::util::a", ContentHash::of(b"fn a"));
/// assert_ne!(fold_helpers(&[a.clone()]), fold_helpers(&[edited]));
/// assert_eq!(fold_helpers(&[a.clone()]), fold_helpers(&[moved]));
/// assert_ne!(fold_helpers(&[a]), fold_helpers(&[]));
/// ```
pub fn fold_helpers(helpers: &[HelperHash]) -> ContentHash {
    helpers
        .iter()
        .fold(Hasher::new("mlflow/helpers/v1"), |h, helper| {
            h.part(helper.name.as_bytes()).part(helper.code_hash.as_bytes())
        })
        .finish()
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
