//! The executor: runs a [`Pipeline`] against a [`Store`], in parallel, serving unchanged steps
//! from the cache, and reports what happened.
//!
//! Scheduling: the calling thread is the first worker; more workers (up to
//! [`RunOptions::threads`], default the number of cores) are started only when more than one step
//! is ready at once, and a worker that finishes a step goes straight on with one of the steps it
//! made ready. A linear chain therefore runs on one thread with no hand-offs, and independent
//! branches run side by side.
//!
//! Timeouts: a step with a timeout runs each attempt on a thread of its own and the executor stops
//! waiting after the timeout. Rust cannot kill a thread: the abandoned attempt runs on in the
//! background until it returns, and its result is thrown away.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::artifact::{AnyArtifact, Artifact};
use crate::codec::{ContentHash, Hasher};
use crate::dag::{ErasedStep, Node, NodeKind, Pipeline, StepIdentity};
use crate::error::{Error, Result, SharedStepError};
use crate::step::StepError;
use crate::store::{
    now_ms, now_nanos, CacheEntry, FinishedRun, InputPart, KeyParts, StepRecord, Store, StoreError,
};
use crate::track::{self, Environment, StepLog};

/// The mlflow version, part of every cache key.
///
/// ```
/// assert!(!mlflow_core::exec::LIBRARY_VERSION.is_empty());
/// ```
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Something that happened during a run, in the order it happened. See [`Observer`] for an
/// example.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The run began.
    RunStarted {
        /// Run id.
        run_id: &'a str,
        /// Pipeline name.
        pipeline: &'a str,
        /// Number of steps.
        steps: usize,
    },
    /// An attempt of a step began (the cache missed).
    StepStarted {
        /// Node name.
        node: &'a str,
        /// 1-based attempt number.
        attempt: u32,
    },
    /// A step was served from the cache.
    StepCached {
        /// Node name.
        node: &'a str,
        /// Time spent looking it up and loading it.
        duration: Duration,
    },
    /// An attempt failed and the step will be tried again after `wait`.
    StepRetrying {
        /// Node name.
        node: &'a str,
        /// The attempt that failed.
        attempt: u32,
        /// Why it failed.
        error: &'a str,
        /// The backoff before the next attempt.
        wait: Duration,
    },
    /// A step ran and produced its output.
    StepFinished {
        /// Node name.
        node: &'a str,
        /// Wall time, all attempts included.
        duration: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// A step failed for good.
    StepFailed {
        /// Node name.
        node: &'a str,
        /// The last error.
        error: &'a str,
        /// Attempts made.
        attempts: u32,
    },
    /// A step did not run because something upstream failed (or fail-fast stopped the run).
    StepSkipped {
        /// Node name.
        node: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// The run ended.
    RunFinished {
        /// Run id.
        run_id: &'a str,
        /// Steps that ran.
        ran: usize,
        /// Steps served from the cache.
        cached: usize,
        /// Steps that failed.
        failed: usize,
        /// Steps skipped.
        skipped: usize,
    },
}

/// Receives every [`Event`] of a run. Closures `Fn(&Event)` are observers.
///
/// Called from the worker threads, so keep it quick.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # use mlflow_core::step::{CrateId, StepError};
/// # struct Double;
/// # impl Step for Double {
/// #     type Inputs = (u64,);
/// #     type Output = u64;
/// #     const NAME: &'static str = "double";
/// #     const CODE_HASH: ContentHash = ContentHash::from_bytes([7; 32]);
/// #     const CRATE: CrateId = CrateId { name: "demo", version: "1.0.0" };
/// #     fn call(&self, (x,): (&u64,)) -> Result<u64, StepError> { Ok(x * 2) }
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// use std::sync::{Arc, Mutex};
/// use mlflow_core::exec::{Event, Observer, RunOptions};
///
/// struct Log(Mutex<Vec<String>>);
/// impl Observer for Log {
///     fn on_event(&self, event: &Event<'_>) {
///         if let Event::StepFinished { node, attempts, .. } = event {
///             self.0.lock().unwrap().push(format!("{node} after {attempts} attempt(s)"));
///         }
///     }
/// }
/// let log = Arc::new(Log(Mutex::new(Vec::new())));
/// let mut p = Pipeline::new("observed");
/// let x = p.param("x", 1u64);
/// p.step(Double, x);
/// let sink = Arc::clone(&log);
/// p.run_with(&store, RunOptions::new().observe(move |e: &Event<'_>| sink.on_event(e)))?;
/// assert_eq!(log.0.lock().unwrap().as_slice(), ["double after 1 attempt(s)"]);
/// # Ok::<(), mlflow_core::Error>(())
/// ```
pub trait Observer: Send + Sync {
    /// Called once per event.
    fn on_event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Which steps to rerun regardless of the cache.
///
/// ```
/// use mlflow_core::exec::{Force, RunOptions};
/// let options = RunOptions::new().force(Force::Steps(vec!["train".into()]));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Force {
    /// Trust the cache (default).
    #[default]
    None,
    /// Rerun every step.
    All,
    /// Rerun these steps (node names or step names). Their downstream still hits when the rerun
    /// produces the same bytes.
    Steps(Vec<String>),
}

impl Force {
    fn covers(&self, node: &str, step: &str) -> bool {
        match self {
            Force::None => false,
            Force::All => true,
            Force::Steps(names) => names.iter().any(|n| n == node || n == step),
        }
    }
}

/// How to run a pipeline.
///
/// ```
/// use mlflow_core::exec::{Event, RunOptions};
/// let options = RunOptions::new()
///     .threads(2)
///     .fail_fast(true)
///     .force_steps(["train"])
///     .observe(|e: &Event<'_>| eprintln!("{e:?}"));
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct RunOptions {
    threads: Option<usize>,
    fail_fast: bool,
    force: Force,
    observers: Vec<Arc<dyn Observer>>,
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("threads", &self.threads)
            .field("fail_fast", &self.fail_fast)
            .field("force", &self.force)
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl RunOptions {
    /// Defaults: one worker per core, keep going after a failure, trust the cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `n` steps run at once (at least 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n.max(1));
        self
    }

    /// Stop starting new steps after the first failure; what did not start is `skipped`.
    pub fn fail_fast(mut self, yes: bool) -> Self {
        self.fail_fast = yes;
        self
    }

    /// Rerun every step.
    pub fn force_all(mut self) -> Self {
        self.force = Force::All;
        self
    }

    /// Rerun the named steps (node or step names).
    pub fn force_steps<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.force = Force::Steps(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets what to force.
    pub fn force(mut self, force: Force) -> Self {
        self.force = force;
        self
    }

    /// Adds an observer (a closure `Fn(&Event)` or an [`Observer`]).
    pub fn observe(mut self, observer: impl Observer + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    fn thread_count(&self) -> usize {
        // available_parallelism reads cgroup files on every call: ask once per process.
        static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        self.threads.unwrap_or_else(|| {
            *CORES.get_or_init(|| thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        })
    }
}

/// What happened to a step in a run.
///
/// ```
/// use mlflow_core::exec::StepStatus;
/// assert_eq!(StepStatus::Cached.to_string(), "cached");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// It ran and produced its output.
    Ran,
    /// Its output came from the cache.
    Cached,
    /// It failed (error, panic or timeout) on every attempt.
    Failed,
    /// It did not run because something upstream failed.
    Skipped,
}

impl StepStatus {
    /// `ran`, `cached`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Ran => "ran",
            StepStatus::Cached => "cached",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a step did not come from the cache.
///
/// ```
/// use mlflow_core::exec::MissReason;
/// let reason = MissReason::Param { name: "seed".into() };
/// assert_eq!(reason.kind(), "param");
/// assert_eq!(reason.to_string(), "param `seed` changed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MissReason {
    /// No run of this step was recorded in this pipeline before.
    FirstRun,
    /// The step's code changed.
    Code,
    /// The step's `version` changed.
    Version,
    /// The code of a helper in `deps` changed.
    Deps,
    /// The crate defining the step has another name or version.
    Crate {
        /// Before.
        was: String,
        /// Now.
        now: String,
    },
    /// mlflow itself has another version.
    Library {
        /// Before.
        was: String,
        /// Now.
        now: String,
    },
    /// A param feeding the step changed.
    Param {
        /// The param's name.
        name: String,
    },
    /// The output of an upstream step changed.
    Input {
        /// The upstream node.
        node: String,
    },
    /// The step's inputs were rewired (other nodes, or another number of them).
    Wiring,
    /// The key is as last time, but nothing is cached under it (the last attempt failed, ran with
    /// caching off, or the entry was removed).
    NotCached,
    /// The cache entry exists but its artifact file is gone.
    ArtifactMissing,
    /// The artifact file's bytes do not hash to the recorded value.
    ArtifactCorrupt,
    /// The artifact could not be read or decoded.
    ArtifactUnreadable {
        /// Why.
        error: String,
    },
    /// The run forced this step.
    Forced,
    /// The step has `cache = false`.
    CacheDisabled,
}

impl MissReason {
    /// A one-word category: `first run`, `code`, `version`, `deps`, `crate`, `library`, `param`,
    /// `input`, `wiring`, `not cached`, `artifact missing`, `artifact corrupt`,
    /// `artifact unreadable`, `forced`, `cache disabled`.
    pub fn kind(&self) -> &'static str {
        match self {
            MissReason::FirstRun => "first run",
            MissReason::Code => "code",
            MissReason::Version => "version",
            MissReason::Deps => "deps",
            MissReason::Crate { .. } => "crate",
            MissReason::Library { .. } => "library",
            MissReason::Param { .. } => "param",
            MissReason::Input { .. } => "input",
            MissReason::Wiring => "wiring",
            MissReason::NotCached => "not cached",
            MissReason::ArtifactMissing => "artifact missing",
            MissReason::ArtifactCorrupt => "artifact corrupt",
            MissReason::ArtifactUnreadable { .. } => "artifact unreadable",
            MissReason::Forced => "forced",
            MissReason::CacheDisabled => "cache disabled",
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::FirstRun => f.write_str("first run of this step"),
            MissReason::Code => f.write_str("code changed"),
            MissReason::Version => f.write_str("version changed"),
            MissReason::Deps => f.write_str("code of a helper in deps changed"),
            MissReason::Crate { was, now } => write!(f, "crate changed from {was} to {now}"),
            MissReason::Library { was, now } => write!(f, "mlflow changed from {was} to {now}"),
            MissReason::Param { name } => write!(f, "param `{name}` changed"),
            MissReason::Input { node } => write!(f, "input from `{node}` changed"),
            MissReason::Wiring => f.write_str("inputs were rewired"),
            MissReason::NotCached => f.write_str("nothing cached for this key"),
            MissReason::ArtifactMissing => f.write_str("cached artifact is missing"),
            MissReason::ArtifactCorrupt => f.write_str("cached artifact is corrupt"),
            MissReason::ArtifactUnreadable { error } => write!(f, "cached artifact is unreadable: {error}"),
            MissReason::Forced => f.write_str("forced"),
            MissReason::CacheDisabled => f.write_str("cache disabled for this step"),
        }
    }
}

/// One step of a [`RunReport`] (see its example).
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Node name.
    pub node: String,
    /// Step name.
    pub step: &'static str,
    /// What happened.
    pub status: StepStatus,
    /// Wall time, from the cache lookup to the stored output, retries and backoff included.
    pub duration: Duration,
    /// Attempts made (0 when cached or skipped).
    pub attempts: u32,
    /// The cache key (absent when skipped).
    pub cache_key: Option<ContentHash>,
    /// Content hash of the output bytes (absent when failed or skipped).
    pub output_hash: Option<ContentHash>,
    /// Why the cache missed (for steps that ran or failed).
    pub miss_reason: Option<MissReason>,
    /// The error of a failed step (with its causes), or why a step was skipped.
    pub error: Option<String>,
    /// The error value a failed step returned, typed (absent for panics, timeouts, and storage
    /// failures): `report.error_source.as_deref().and_then(|e| e.downcast_ref::<MyError>())`.
    pub error_source: Option<SharedStepError>,
    /// When the step started, from the start of the run.
    pub started: Duration,
    /// For a cached step, the run that computed the output.
    pub source_run: Option<String>,
    /// Metrics, tags and data versions the step logged (for a cached step: when it was computed).
    pub log: StepLog,
}

/// What a run did: per step its status, timing, cache key and output hash, and the outputs.
///
/// `Display` prints one line per step, `step <name>: <status> (<duration>)`, then
/// `run <id>: <n> ran, <m> cached, <f> failed`.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # use mlflow_core::step::{CrateId, StepError};
/// # struct Double;
/// # impl Step for Double {
/// #     type Inputs = (u64,);
/// #     type Output = u64;
/// #     const NAME: &'static str = "double";
/// #     const CODE_HASH: ContentHash = ContentHash::from_bytes([7; 32]);
/// #     const CRATE: CrateId = CrateId { name: "demo", version: "1.0.0" };
/// #     fn call(&self, (x,): (&u64,)) -> Result<u64, StepError> { Ok(x * 2) }
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// use mlflow_core::exec::{MissReason, StepStatus};
///
/// let mut p = Pipeline::new("report");
/// let x = p.param("x", 21u64);
/// let y = p.step(Double, x);
/// let first = p.run(&store)?;
/// assert_eq!(*first.get(y)?, 42);
/// let step = first.step("double").unwrap();
/// assert_eq!((step.status, step.attempts), (StepStatus::Ran, 1));
/// assert_eq!(step.miss_reason, Some(MissReason::FirstRun));
/// assert!(first.to_string().ends_with("1 ran, 0 cached, 0 failed"));
///
/// let again = p.run(&store)?;
/// assert_eq!(again.steps()[0].status, StepStatus::Cached);
/// assert_eq!(again.steps()[0].output_hash, step.output_hash);
/// # Ok::<(), mlflow_core::Error>(())
/// ```
pub struct RunReport {
    run_id: String,
    pipeline: String,
    pipeline_id: u64,
    steps: Vec<StepReport>,
    outputs: Vec<Option<Output>>,
    step_of_node: Vec<Option<usize>>,
    duration: Duration,
}

impl fmt::Debug for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunReport")
            .field("run_id", &self.run_id)
            .field("pipeline", &self.pipeline)
            .field("steps", &self.steps)
            .field("duration", &self.duration)
            .finish()
    }
}

impl RunReport {
    /// The run id (also in the store).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The pipeline's name.
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// Every step, in pipeline order.
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }

    /// The step with this node name.
    pub fn step(&self, node: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.node == node)
    }

    /// Wall time of the whole run.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// How many steps had `status`.
    pub fn count(&self, status: StepStatus) -> usize {
        self.steps.iter().filter(|s| s.status == status).count()
    }

    /// No step failed or was skipped.
    pub fn is_success(&self) -> bool {
        self.count(StepStatus::Failed) == 0 && self.count(StepStatus::Skipped) == 0
    }

    /// Ok if the run succeeded, else the first failure as an error.
    pub fn into_result(self) -> Result<RunReport> {
        match self.steps.iter().find(|s| s.status == StepStatus::Failed) {
            Some(s) => Err(s.failure()),
            None => Ok(self),
        }
    }

    /// The output of a node (a step or a param) of this run, shared.
    pub fn get_arc<T: Artifact>(&self, node: Node<T>) -> Result<Arc<T>> {
        if node.pipeline != self.pipeline_id || node.index >= self.outputs.len() {
            return Err(Error::ForeignNode { node: format!("{node:?}"), pipeline: self.pipeline.clone() });
        }
        match &self.outputs[node.index] {
            Some(output) => Arc::clone(output.value()?).downcast::<T>().map_err(|_| Error::ForeignNode {
                node: format!("{node:?}"),
                pipeline: self.pipeline.clone(),
            }),
            None => {
                let step = &self.steps[self.step_of_node[node.index].expect("params always have outputs")];
                Err(match step.status {
                    StepStatus::Skipped => Error::StepSkipped {
                        step: step.node.clone(),
                        reason: step.error.clone().unwrap_or_default(),
                    },
                    _ => step.failure(),
                })
            }
        }
    }

    /// The output of a node of this run. Errors if the step failed or was skipped, or if the node
    /// belongs to another pipeline.
    pub fn get<T: Artifact>(&self, node: Node<T>) -> Result<&T> {
        self.get_arc(node)?;
        let output = self.outputs[node.index].as_ref().expect("checked by get_arc");
        Ok(output.value()?.downcast_ref::<T>().expect("checked by get_arc"))
    }
}

impl StepReport {
    /// This failed step as an [`Error::StepFailed`], keeping the step's typed error.
    fn failure(&self) -> Error {
        Error::StepFailed {
            step: self.node.clone(),
            message: self.error.clone().unwrap_or_default(),
            source: self.error_source.clone(),
        }
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            write!(f, "step {}: {} ({})", s.node, s.status, format_duration(s.duration))?;
            match (&s.status, &s.error) {
                (StepStatus::Failed, Some(error)) => writeln!(f, ": {error}")?,
                (StepStatus::Skipped, Some(reason)) => writeln!(f, ": {reason}")?,
                _ => writeln!(f)?,
            }
        }
        write!(
            f,
            "run {}: {} ran, {} cached, {} failed",
            self.run_id,
            self.count(StepStatus::Ran),
            self.count(StepStatus::Cached),
            self.count(StepStatus::Failed)
        )
    }
}

/// Formats a duration compactly: `850ns`, `12.3µs`, `4.56ms`, `1.23s`.
///
/// ```
/// use std::time::Duration;
/// use mlflow_core::exec::format_duration;
/// assert_eq!(format_duration(Duration::from_micros(4560)), "4.56ms");
/// assert_eq!(format_duration(Duration::from_millis(1234)), "1.23s");
/// ```
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{:.1}µs", nanos as f64 / 1e3)
    } else if nanos < 1_000_000_000 {
        format!("{:.2}ms", nanos as f64 / 1e6)
    } else {
        format!("{:.2}s", nanos as f64 / 1e9)
    }
}

/// The cache key of a step given its identity and its inputs' content hashes.
fn cache_key(id: &StepIdentity, inputs: &[ContentHash]) -> ContentHash {
    let mut h = Hasher::new("mlflow/cache-key/v1")
        .part(id.name.as_bytes())
        .part(id.code_hash.as_bytes())
        .part(&id.version.to_le_bytes())
        .part(id.deps_hash.as_bytes())
        .part(id.krate.name.as_bytes())
        .part(id.krate.version.as_bytes())
        .part(LIBRARY_VERSION.as_bytes());
    for input in inputs {
        h = h.part(input.as_bytes());
    }
    h.finish()
}

fn key_parts(id: &StepIdentity, inputs: Vec<InputPart>) -> KeyParts {
    KeyParts {
        code: id.code_hash,
        version: id.version,
        deps: id.deps_hash,
        krate: format!("{}@{}", id.krate.name, id.krate.version),
        library: LIBRARY_VERSION.to_owned(),
        inputs,
    }
}

/// The first component of the key that differs from last time, looking only at the step itself
/// (not its inputs).
fn own_change(was: &KeyParts, now: &KeyParts) -> Option<MissReason> {
    if was.code != now.code {
        Some(MissReason::Code)
    } else if was.version != now.version {
        Some(MissReason::Version)
    } else if was.deps != now.deps {
        Some(MissReason::Deps)
    } else if was.krate != now.krate {
        Some(MissReason::Crate { was: was.krate.clone(), now: now.krate.clone() })
    } else if was.library != now.library {
        Some(MissReason::Library { was: was.library.clone(), now: now.library.clone() })
    } else if was.inputs.len() != now.inputs.len()
        || was.inputs.iter().zip(&now.inputs).any(|(a, b)| a.node != b.node)
    {
        Some(MissReason::Wiring)
    } else {
        None
    }
}

fn input_change(was: &KeyParts, now: &KeyParts) -> MissReason {
    match was.inputs.iter().zip(&now.inputs).find(|(a, b)| a.hash != b.hash) {
        Some((_, b)) if b.is_param => MissReason::Param { name: b.node.clone() },
        Some((_, b)) => MissReason::Input { node: b.node.clone() },
        None => MissReason::NotCached,
    }
}

fn explain_miss(previous: Option<&KeyParts>, now: &KeyParts) -> MissReason {
    match previous {
        Some(was) => own_change(was, now).unwrap_or_else(|| input_change(was, now)),
        None => MissReason::FirstRun,
    }
}

/// Looks a key up and reads and verifies the artifact's bytes, or says why it cannot.
fn lookup(store: &Store, key: ContentHash) -> Result<(Vec<u8>, CacheEntry), Option<MissReason>> {
    let entry = match store.cache_get(key) {
        Ok(Some(entry)) => entry,
        Ok(None) => return Err(None),
        Err(e) => return Err(Some(MissReason::ArtifactUnreadable { error: e.to_string() })),
    };
    let bytes = store.read_artifact(entry.output).map_err(|e| {
        Some(match e {
            StoreError::ArtifactMissing { .. } => MissReason::ArtifactMissing,
            StoreError::ArtifactCorrupt { .. } => MissReason::ArtifactCorrupt,
            other => MissReason::ArtifactUnreadable { error: other.to_string() },
        })
    })?;
    if bytes.len() as u64 > store.decode_limit() {
        let error = crate::codec::CodecError::TooLarge {
            type_name: "artifact",
            len: bytes.len() as u64,
            limit: store.decode_limit(),
        };
        return Err(Some(MissReason::ArtifactUnreadable { error: error.to_string() }));
    }
    Ok((bytes, entry))
}

/// A node's output: in memory, or verified bytes from the store that are decoded only when
/// something needs the value (a step that runs, or `RunReport::get`). A fully cached run decodes
/// nothing it does not hand out.
#[derive(Clone)]
enum Output {
    Value(AnyArtifact),
    Stored(Arc<Stored>),
}

struct Stored {
    node: String,
    bytes: Vec<u8>,
    step: Arc<dyn ErasedStep>,
    limit: u64,
    value: OnceLock<AnyArtifact>,
}

impl Output {
    fn value(&self) -> std::result::Result<&AnyArtifact, crate::codec::CodecError> {
        match self {
            Output::Value(value) => Ok(value),
            Output::Stored(stored) => {
                if stored.value.get().is_none() {
                    let value = stored.step.decode(&stored.bytes, stored.limit)?;
                    // A racing thread may have set it first: both decoded the same bytes.
                    let _ = stored.value.set(value);
                }
                Ok(stored.value.get().expect("set above"))
            }
        }
    }

    fn decode_error(&self, error: crate::codec::CodecError) -> String {
        match self {
            Output::Stored(stored) => {
                format!("cannot decode the cached output of `{}`: {error}", stored.node)
            }
            Output::Value(_) => error.to_string(),
        }
    }
}

enum Slot {
    Pending,
    Done { value: Output, hash: ContentHash },
    Failed,
}

struct Sched {
    ready: Vec<usize>,
    unmet: Vec<usize>,
    slots: Vec<Slot>,
    reports: Vec<Option<StepReport>>,
    input_hashes: Vec<Option<Vec<ContentHash>>>,
    /// For a node that cannot run, the first failed upstream node.
    blocked_by: Vec<Option<usize>>,
    unfinished: usize,
    running: usize,
    idle: usize,
    workers: usize,
    stopped: bool,
}

struct Run<'a> {
    pipeline: &'a Pipeline,
    store: &'a Store,
    options: &'a RunOptions,
    run_id: String,
    dependents: Vec<Vec<usize>>,
    /// The key (and its parts) of each step at its last run, by node name.
    previous: HashMap<String, ContentHash>,
    max_workers: usize,
    sched: Mutex<Sched>,
    wake: Condvar,
    /// When the run started: step start offsets are measured from here.
    started: Instant,
}

struct Task {
    node: usize,
    inputs: Vec<Output>,
    input_hashes: Vec<ContentHash>,
}

struct Outcome {
    report: StepReport,
    input_hashes: Vec<ContentHash>,
    value: Option<(Output, ContentHash)>,
}

impl<'a> Run<'a> {
    fn lock(&self) -> MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, event: Event<'_>) {
        for observer in &self.options.observers {
            observer.on_event(&event);
        }
    }

    fn worker<'s>(&'s self, scope: &'s thread::Scope<'s, '_>) {
        let mut sched = self.lock();
        loop {
            if sched.unfinished == 0 || (sched.stopped && sched.running == 0) {
                self.wake.notify_all();
                return;
            }
            let next = if sched.stopped { None } else { sched.ready.pop() };
            let Some(node) = next else {
                sched.idle += 1;
                sched = self.wake.wait(sched).unwrap_or_else(|p| p.into_inner());
                sched.idle -= 1;
                continue;
            };
            sched.running += 1;
            let task = self.task(&sched, node);
            if !sched.ready.is_empty() {
                if sched.idle > 0 {
                    self.wake.notify_one();
                } else if sched.workers < self.max_workers {
                    sched.workers += 1;
                    scope.spawn(move || self.worker(scope));
                }
            }
            drop(sched);
            let outcome = self.execute(task);
            sched = self.lock();
            sched.running -= 1;
            self.complete(&mut sched, node, outcome);
            if sched.ready.len() > 1 {
                self.wake.notify_all();
            }
        }
    }

    fn task(&self, sched: &Sched, node: usize) -> Task {
        let NodeKind::Step { inputs, .. } = &self.pipeline.nodes[node].kind else {
            unreachable!("only steps are scheduled")
        };
        let mut values = Vec::with_capacity(inputs.len());
        let mut hashes = Vec::with_capacity(inputs.len());
        for &input in inputs {
            let Slot::Done { value, hash } = &sched.slots[input] else {
                unreachable!("a step is ready only when its inputs are done")
            };
            values.push(value.clone());
            hashes.push(*hash);
        }
        Task { node, inputs: values, input_hashes: hashes }
    }

    fn complete(&self, sched: &mut Sched, node: usize, outcome: Outcome) {
        sched.unfinished -= 1;
        let failed = outcome.value.is_none();
        sched.slots[node] = match outcome.value {
            Some((value, hash)) => Slot::Done { value, hash },
            None => Slot::Failed,
        };
        sched.input_hashes[node] = Some(outcome.input_hashes);
        sched.reports[node] = Some(outcome.report);
        if failed && self.options.fail_fast {
            sched.stopped = true;
        }
        let mut stack = vec![node];
        while let Some(done) = stack.pop() {
            for &dependent in &self.dependents[done] {
                if matches!(sched.slots[done], Slot::Failed) && sched.blocked_by[dependent].is_none() {
                    sched.blocked_by[dependent] = Some(sched.blocked_by[done].unwrap_or(done));
                }
                sched.unmet[dependent] -= 1;
                if sched.unmet[dependent] > 0 {
                    continue;
                }
                match sched.blocked_by[dependent] {
                    None => sched.ready.push(dependent),
                    Some(cause) => {
                        let reason = format!("upstream step `{}` failed", self.pipeline.nodes[cause].name);
                        self.skip(sched, dependent, reason);
                        stack.push(dependent);
                    }
                }
            }
        }
    }

    fn skip(&self, sched: &mut Sched, node: usize, reason: String) {
        sched.unfinished -= 1;
        mark_skipped(self.options, sched, &self.pipeline.nodes[node], node, reason);
    }

    fn execute(&self, task: Task) -> Outcome {
        let spec = &self.pipeline.nodes[task.node];
        let NodeKind::Step { step, identity, .. } = &spec.kind else {
            unreachable!("only steps are scheduled")
        };
        let span = tracing::info_span!(target: "mlflow", "step", node = %spec.name);
        let _entered = span.enter();
        let started = Instant::now();
        let key = cache_key(identity, &task.input_hashes);
        let hashes = task.input_hashes;
        let forced = self.options.force.covers(&spec.name, identity.name);
        let mut report = StepReport {
            node: spec.name.clone(),
            step: identity.name,
            status: StepStatus::Ran,
            duration: Duration::ZERO,
            attempts: 0,
            cache_key: Some(key),
            output_hash: None,
            miss_reason: None,
            error: None,
            error_source: None,
            started: started.duration_since(self.started),
            source_run: None,
            log: StepLog::default(),
        };
        let reason = if forced {
            MissReason::Forced
        } else if !identity.options.cache {
            MissReason::CacheDisabled
        } else {
            match lookup(self.store, key) {
                Ok((bytes, entry)) => {
                    let hash = entry.output;
                    report.source_run = Some(entry.run_id);
                    report.log = entry.log;
                    let value = Output::Stored(Arc::new(Stored {
                        node: spec.name.clone(),
                        bytes,
                        step: Arc::clone(step),
                        limit: self.store.decode_limit(),
                        value: OnceLock::new(),
                    }));
                    report.status = StepStatus::Cached;
                    report.output_hash = Some(hash);
                    report.duration = started.elapsed();
                    self.emit(Event::StepCached { node: &spec.name, duration: report.duration });
                    tracing::info!(target: "mlflow", node = %spec.name, "step cached");
                    return Outcome { report, input_hashes: hashes, value: Some((value, hash)) };
                }
                Err(Some(reason)) => reason,
                Err(None) => {
                    // The last key's parts are read only when a miss needs explaining.
                    let was = self
                        .previous
                        .get(&spec.name)
                        .and_then(|key| self.store.key_parts(*key).ok().flatten());
                    explain_miss(
                        was.as_ref(),
                        &key_parts(identity, self.pipeline.input_parts(task.node, &hashes)),
                    )
                }
            }
        };
        report.miss_reason = Some(reason);
        let inputs: std::result::Result<Vec<AnyArtifact>, Failure> = task
            .inputs
            .iter()
            .map(|input| input.value().map(Arc::clone).map_err(|e| Failure::message(input.decode_error(e))))
            .collect();
        let mut log = StepLog::default();
        let result = inputs.and_then(|inputs| {
            self.attempts(&spec.name, step, identity, &inputs, &mut report.attempts, &mut log)
        });
        let stored = result.and_then(|value| {
            let bytes = step
                .encode(&value)
                .map_err(|e| Failure::message(format!("cannot encode the output: {e}")))?;
            let hash = crate::codec::hash_bytes(&bytes);
            if identity.options.cache {
                self.store
                    .write_artifact(hash, &bytes)
                    .and_then(|()| {
                        self.store.cache_put(key, identity.name, hash, bytes.len(), &self.run_id, &log)
                    })
                    .map_err(|e| Failure::message(format!("cannot store the output: {e}")))?;
            }
            Ok((Output::Value(value), hash))
        });
        report.duration = started.elapsed();
        report.log = log;
        match stored {
            Ok((value, hash)) => {
                report.output_hash = Some(hash);
                self.emit(Event::StepFinished {
                    node: &spec.name,
                    duration: report.duration,
                    attempts: report.attempts,
                });
                tracing::info!(target: "mlflow", node = %spec.name, attempts = report.attempts, "step finished");
                Outcome { report, input_hashes: hashes, value: Some((value, hash)) }
            }
            Err(Failure { message: error, source }) => {
                report.status = StepStatus::Failed;
                self.emit(Event::StepFailed { node: &spec.name, error: &error, attempts: report.attempts });
                tracing::warn!(target: "mlflow", node = %spec.name, %error, "step failed");
                report.error = Some(error);
                report.error_source = source;
                Outcome { report, input_hashes: hashes, value: None }
            }
        }
    }

    /// Runs the attempts of a step until one succeeds or retries run out.
    fn attempts(
        &self,
        node: &str,
        step: &Arc<dyn ErasedStep>,
        identity: &StepIdentity,
        inputs: &[AnyArtifact],
        attempts: &mut u32,
        log: &mut StepLog,
    ) -> std::result::Result<AnyArtifact, Failure> {
        let options = identity.options;
        loop {
            *attempts += 1;
            self.emit(Event::StepStarted { node, attempt: *attempts });
            // What the step logged is what its last attempt logged.
            let (result, attempt_log) = run_attempt(step, inputs, options.timeout);
            *log = attempt_log;
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if *attempts > options.retries {
                return Err(error);
            }
            let wait = options.backoff_before(*attempts);
            self.emit(Event::StepRetrying { node, attempt: *attempts, error: &error.message, wait });
            tracing::info!(target: "mlflow", %node, attempt = *attempts, error = %error.message, "retrying step");
            thread::sleep(wait);
        }
    }
}

fn step_identity(spec: &crate::dag::NodeSpec) -> &StepIdentity {
    match &spec.kind {
        NodeKind::Step { identity, .. } => identity,
        NodeKind::Param { .. } => unreachable!("params are never skipped"),
    }
}

/// One attempt, with what the step logged during it.
fn run_attempt(
    step: &Arc<dyn ErasedStep>,
    inputs: &[AnyArtifact],
    timeout: Option<Duration>,
) -> (std::result::Result<AnyArtifact, Failure>, StepLog) {
    let Some(timeout) = timeout else {
        let (result, log) = track::capture(|| catch_unwind(AssertUnwindSafe(|| step.run(inputs))));
        return (flatten(result), log);
    };
    let (tx, rx) = mpsc::channel();
    let step = Arc::clone(step);
    let inputs = inputs.to_vec();
    let spawned = thread::Builder::new().name("mlflow-step".into()).spawn(move || {
        let outcome = track::capture(|| catch_unwind(AssertUnwindSafe(|| step.run(&inputs))));
        // The receiver is gone when the attempt timed out: nobody wants the result any more.
        let _ = tx.send(outcome);
    });
    if let Err(e) = spawned {
        return (
            Err(Failure::message(format!("cannot start a thread for the step: {e}"))),
            StepLog::default(),
        );
    }
    match rx.recv_timeout(timeout) {
        Ok((result, log)) => (flatten(result), log),
        Err(_) => (
            Err(Failure::message(format!(
                "timed out after {} (the attempt's thread cannot be killed; it is abandoned and its result discarded)",
                format_duration(timeout)
            ))),
            StepLog::default(),
        ),
    }
}

/// Why an attempt failed: the message for reports and the store, and the step's own error,
/// typed, when it returned one.
struct Failure {
    message: String,
    source: Option<SharedStepError>,
}

impl Failure {
    fn message(message: String) -> Failure {
        Failure { message, source: None }
    }
}

fn flatten(
    result: std::thread::Result<std::result::Result<AnyArtifact, StepError>>,
) -> std::result::Result<AnyArtifact, Failure> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Failure { message: error.to_string(), source: Some(error.into_shared()) }),
        Err(panic) => Err(Failure::message(format!("panicked: {}", panic_message(panic.as_ref())))),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    Hasher::new("mlflow/run-id/v1")
        .part(&now_nanos().to_le_bytes())
        .part(&std::process::id().to_le_bytes())
        .part(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes())
        .finish()
        .short()
}

impl Pipeline {
    /// The inputs of step `node` with their content hashes, as recorded in key parts.
    fn input_parts(&self, node: usize, hashes: &[ContentHash]) -> Vec<InputPart> {
        let NodeKind::Step { inputs, .. } = &self.nodes[node].kind else { return Vec::new() };
        inputs
            .iter()
            .zip(hashes)
            .map(|(&i, hash)| InputPart {
                node: self.nodes[i].name.clone(),
                is_param: matches!(self.nodes[i].kind, NodeKind::Param { .. }),
                hash: *hash,
            })
            .collect()
    }

    /// Runs the pipeline with default [`RunOptions`].
    ///
    /// Returns `Err` only when the run cannot happen at all (a wiring error, an unusable store);
    /// failed steps are in the report (see [`RunReport::is_success`], [`RunReport::into_result`]).
    pub fn run(&self, store: &Store) -> Result<RunReport> {
        self.run_with(store, RunOptions::default())
    }

    /// Runs the pipeline.
    pub fn run_with(&self, store: &Store, options: RunOptions) -> Result<RunReport> {
        self.check().map_err(Error::Wiring)?;
        let started = Instant::now();
        let run_id = new_run_id();
        let nodes = &self.nodes;
        let mut dependents = vec![Vec::new(); nodes.len()];
        let mut sched = Sched {
            ready: Vec::new(),
            unmet: vec![0; nodes.len()],
            slots: Vec::with_capacity(nodes.len()),
            reports: vec![None; nodes.len()],
            input_hashes: vec![None; nodes.len()],
            blocked_by: vec![None; nodes.len()],
            unfinished: 0,
            running: 0,
            idle: 0,
            workers: 1,
            stopped: false,
        };
        let mut params = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            match &node.kind {
                NodeKind::Param { value, hash, json } => {
                    sched.slots.push(Slot::Done { value: Output::Value(Arc::clone(value)), hash: *hash });
                    params.push((node.name.clone(), *hash, json.clone()));
                }
                NodeKind::Step { inputs, .. } => {
                    sched.slots.push(Slot::Pending);
                    sched.unfinished += 1;
                    for &input in inputs {
                        dependents[input].push(i);
                        if matches!(nodes[input].kind, NodeKind::Step { .. }) {
                            sched.unmet[i] += 1;
                        }
                    }
                    if sched.unmet[i] == 0 {
                        sched.ready.push(i);
                    }
                }
            }
        }
        // Params are done before the run starts: only step-to-step edges gate scheduling.
        for list in &mut dependents {
            list.retain(|&d| matches!(nodes[d].kind, NodeKind::Step { .. }));
        }
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Param { .. }) {
                dependents[i].clear();
            }
        }
        // Pop from the back: start with the first ready step.
        sched.ready.reverse();
        let step_count = sched.unfinished;
        let previous = store.last_cache_keys(self.name())?;
        store.begin_run(&run_id, self.name(), now_ms())?;
        let run = Run {
            pipeline: self,
            store,
            options: &options,
            run_id,
            dependents,
            previous,
            max_workers: options.thread_count(),
            sched: Mutex::new(sched),
            wake: Condvar::new(),
            started,
        };
        run.emit(Event::RunStarted { run_id: &run.run_id, pipeline: self.name(), steps: step_count });
        tracing::info!(target: "mlflow", run_id = %run.run_id, pipeline = %self.name(), steps = step_count, "run started");
        thread::scope(|scope| run.worker(scope));

        let Run { run_id, sched, previous, .. } = run;
        let mut sched = sched.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut outputs = Vec::with_capacity(nodes.len());
        let mut steps = Vec::with_capacity(step_count);
        let mut step_of_node = Vec::with_capacity(nodes.len());
        let mut records = Vec::with_capacity(step_count);
        for (i, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Param { .. }) {
                step_of_node.push(None);
            } else {
                if sched.reports[i].is_none() {
                    let cause = sched.blocked_by[i]
                        .map(|c| format!("upstream step `{}` failed", nodes[c].name))
                        .unwrap_or_else(|| "the run stopped at the first failure (fail-fast)".to_owned());
                    mark_skipped(&options, &mut sched, node, i, cause);
                }
                let report = sched.reports[i].take().expect("every step has a report after the run");
                records.push(StepRecord {
                    node: report.node.clone(),
                    step: report.step.to_owned(),
                    status: report.status.as_str().to_owned(),
                    duration: report.duration,
                    attempts: report.attempts,
                    cache_key: report.cache_key,
                    output: report.output_hash,
                    miss_reason: report.miss_reason.as_ref().map(|r| r.to_string()),
                    error: report.error.clone(),
                    started: report.started,
                    source_run: report.source_run.clone(),
                });
                step_of_node.push(Some(steps.len()));
                steps.push(report);
            }
            outputs.push(match std::mem::replace(&mut sched.slots[i], Slot::Pending) {
                Slot::Done { value, .. } => Some(value),
                _ => None,
            });
        }
        let report = RunReport {
            run_id,
            pipeline: self.name().to_owned(),
            pipeline_id: self.id(),
            steps,
            outputs,
            step_of_node,
            duration: started.elapsed(),
        };
        let status = if report.is_success() { "succeeded" } else { "failed" };
        // Key parts are built only for the steps whose key changed: most reruns change none.
        let changed_parts: Vec<(&str, ContentHash, KeyParts)> = (0..nodes.len())
            .filter_map(|i| {
                let key = report.steps[report.step_of_node[i]?].cache_key?;
                let hashes = sched.input_hashes[i].as_ref()?;
                let unchanged = previous.get(&nodes[i].name).is_some_and(|k| *k == key);
                (!unchanged).then(|| {
                    (
                        nodes[i].name.as_str(),
                        key,
                        key_parts(step_identity(&nodes[i]), self.input_parts(i, hashes)),
                    )
                })
            })
            .collect();
        let changed_keys: Vec<(&str, ContentHash, &KeyParts)> =
            changed_parts.iter().map(|(node, key, parts)| (*node, *key, parts)).collect();
        let logs: Vec<(&str, &StepLog)> =
            report.steps.iter().filter(|s| !s.log.is_empty()).map(|s| (s.node.as_str(), &s.log)).collect();
        let mut crates: Vec<(&str, &str)> = nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Step { identity, .. } => Some((identity.krate.name, identity.krate.version)),
                NodeKind::Param { .. } => None,
            })
            .collect();
        crates.sort_unstable();
        crates.dedup();
        let crates: Vec<String> = crates.iter().map(|(name, version)| format!("{name}@{version}")).collect();
        store.finish_run(FinishedRun {
            id: &report.run_id,
            pipeline: self.name(),
            status,
            params: &params,
            steps: &records,
            logs: &logs,
            changed_keys: &changed_keys,
            environment: &Environment::current(&crates),
        })?;
        let event = Event::RunFinished {
            run_id: &report.run_id,
            ran: report.count(StepStatus::Ran),
            cached: report.count(StepStatus::Cached),
            failed: report.count(StepStatus::Failed),
            skipped: report.count(StepStatus::Skipped),
        };
        for observer in &options.observers {
            observer.on_event(&event);
        }
        tracing::info!(target: "mlflow", run_id = %report.run_id, status, "run finished");
        Ok(report)
    }

    /// Says, without running anything, which steps will be served from the cache and, for the
    /// others, which component of their key changed since the last run of this pipeline.
    pub fn plan(&self, store: &Store) -> Result<Plan> {
        self.plan_with(store, &RunOptions::default())
    }

    /// [`Pipeline::plan`] for a run with these options (forcing is taken into account).
    pub fn plan_with(&self, store: &Store, options: &RunOptions) -> Result<Plan> {
        self.check().map_err(Error::Wiring)?;
        let previous = store.last_keys(self.name())?;
        let mut known: Vec<Option<ContentHash>> = Vec::with_capacity(self.nodes.len());
        let mut steps = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let (identity, inputs) = match &node.kind {
                NodeKind::Param { hash, .. } => {
                    known.push(Some(*hash));
                    continue;
                }
                NodeKind::Step { identity, inputs, .. } => (identity, inputs),
            };
            let unknown: Vec<String> =
                inputs.iter().filter(|&&i| known[i].is_none()).map(|&i| self.nodes[i].name.clone()).collect();
            let hashes: Vec<ContentHash> =
                inputs.iter().map(|&i| known[i].unwrap_or(ContentHash::from_bytes([0; 32]))).collect();
            let parts = key_parts(identity, self.input_parts(index, &hashes));
            let last = previous.get(&node.name).map(|(_, parts)| parts);
            let own = match last {
                Some(was) => own_change(was, &parts),
                None => Some(MissReason::FirstRun),
            };
            let (outcome, output) = if options.force.covers(&node.name, identity.name) {
                (PlanOutcome::Miss(MissReason::Forced), None)
            } else if !identity.options.cache {
                (PlanOutcome::Miss(MissReason::CacheDisabled), None)
            } else if !unknown.is_empty() {
                match own {
                    Some(reason) => (PlanOutcome::Miss(reason), None),
                    None => (PlanOutcome::DependsOn { upstream: unknown }, None),
                }
            } else {
                let key = cache_key(identity, &hashes);
                match lookup(store, key) {
                    Ok((_, entry)) => (PlanOutcome::Hit, Some(entry.output)),
                    Err(Some(reason)) => (PlanOutcome::Miss(reason), None),
                    Err(None) => (PlanOutcome::Miss(explain_miss(last, &parts)), None),
                }
            };
            known.push(output);
            steps.push(PlannedStep { node: node.name.clone(), step: identity.name, outcome });
        }
        Ok(Plan { steps })
    }
}

fn mark_skipped(
    options: &RunOptions,
    sched: &mut Sched,
    spec: &crate::dag::NodeSpec,
    node: usize,
    reason: String,
) {
    for observer in &options.observers {
        observer.on_event(&Event::StepSkipped { node: &spec.name, reason: &reason });
    }
    tracing::info!(target: "mlflow", node = %spec.name, %reason, "step skipped");
    sched.slots[node] = Slot::Failed;
    sched.reports[node] = Some(StepReport {
        node: spec.name.clone(),
        step: step_identity(spec).name,
        status: StepStatus::Skipped,
        duration: Duration::ZERO,
        attempts: 0,
        cache_key: None,
        output_hash: None,
        miss_reason: None,
        error: Some(reason),
        error_source: None,
        started: Duration::ZERO,
        source_run: None,
        log: StepLog::default(),
    });
}

/// What a run would do, per step; see [`Pipeline::plan`].
///
/// ```
/// # use mlflow_core::prelude::*;
/// # use mlflow_core::step::{CrateId, StepError};
/// # struct Double;
/// # impl Step for Double {
/// #     type Inputs = (u64,);
/// #     type Output = u64;
/// #     const NAME: &'static str = "double";
/// #     const CODE_HASH: ContentHash = ContentHash::from_bytes([7; 32]);
/// #     const CRATE: CrateId = CrateId { name: "demo", version: "1.0.0" };
/// #     fn call(&self, (x,): (&u64,)) -> Result<u64, StepError> { Ok(x * 2) }
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// use mlflow_core::exec::{MissReason, PlanOutcome};
///
/// let build = |x: u64| {
///     let mut p = Pipeline::new("planned");
///     let x = p.param("x", x);
///     let a = p.step(Double, x);
///     p.step_named("again", Double, a);
///     p
/// };
/// build(1).run(&store)?;
/// let plan = build(3).plan(&store)?;
/// assert_eq!(plan.step("double").unwrap().outcome, PlanOutcome::Miss(MissReason::Param { name: "x".into() }));
/// assert_eq!(plan.step("again").unwrap().outcome, PlanOutcome::DependsOn { upstream: vec!["double".into()] });
/// assert_eq!(plan.to_string(), "step double: run (param `x` changed)\nstep again: hit unless the output of `double` changes\n");
/// # Ok::<(), mlflow_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Plan {
    /// Steps in pipeline order.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// The planned step with this node name.
    pub fn step(&self, node: &str) -> Option<&PlannedStep> {
        self.steps.iter().find(|s| s.node == node)
    }
}

/// One step of a [`Plan`] (see its example).
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Node name.
    pub node: String,
    /// Step name.
    pub step: &'static str,
    /// Whether it will hit.
    pub outcome: PlanOutcome,
}

/// Whether a step will hit the cache (see [`Plan`] for an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOutcome {
    /// Served from the cache (the artifact is present and sound).
    Hit,
    /// Will run, for this reason.
    Miss(MissReason),
    /// Its own key parts are unchanged, but upstream steps will run first: it hits if they
    /// produce the same bytes as before (early cutoff), else it runs.
    DependsOn {
        /// The upstream nodes that will run.
        upstream: Vec<String>,
    },
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            match &s.outcome {
                PlanOutcome::Hit => writeln!(f, "step {}: hit", s.node)?,
                PlanOutcome::Miss(reason) => writeln!(f, "step {}: run ({reason})", s.node)?,
                PlanOutcome::DependsOn { upstream } => {
                    writeln!(f, "step {}: hit unless the output of {} changes", s.node, quote_list(upstream))?
                }
            }
        }
        Ok(())
    }
}

fn quote_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
