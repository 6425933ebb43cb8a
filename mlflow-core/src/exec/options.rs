//! How to run a pipeline: threads, fail-fast, forced steps, observers.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::thread;

use super::events::Observer;

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
    pub(super) fn covers(&self, node: &str, step: &str) -> bool {
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
    pub(super) threads: Option<usize>,
    pub(super) fail_fast: bool,
    pub(super) force: Force,
    pub(super) observers: Vec<Arc<dyn Observer>>,
    /// Step mode: every cached step but this node must be a cache hit.
    pub(super) cached_upstream_of: Option<String>,
    /// Step mode on one task of a mapped node: the node's name and the task's index.
    pub(super) map_task: Option<(String, usize)>,
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
    /// Step mode ([`Pipeline::run_node`](crate::dag::Pipeline::run_node)): every cached step other
    /// than `node` must come from the store; a miss fails it instead of computing it.
    pub(super) fn cached_upstream_of(mut self, node: String) -> Self {
        self.cached_upstream_of = Some(node);
        self
    }

    /// Step mode on task `task` of mapped node `node`: only that task runs (or hits the cache),
    /// stored under its own key; the node's output is not put together.
    pub(super) fn map_task(mut self, node: String, task: usize) -> Self {
        self.map_task = Some((node, task));
        self
    }

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

    pub(super) fn thread_count(&self) -> usize {
        // available_parallelism reads cgroup files on every call: ask once per process.
        static CORES: OnceLock<usize> = OnceLock::new();
        self.threads.unwrap_or_else(|| {
            *CORES.get_or_init(|| thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        })
    }
}
