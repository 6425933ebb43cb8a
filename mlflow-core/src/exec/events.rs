//! What happens during a run, as events for observers.

use std::time::Duration;

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
    /// A mapped step's tasks were looked up: `cached` of `total` were in the cache, the others
    /// are queued to run.
    TasksQueued {
        /// Node name.
        node: &'a str,
        /// Tasks in all.
        total: usize,
        /// Tasks served from the cache.
        cached: usize,
    },
    /// A task of a mapped step finished (ran, or failed for good).
    TaskFinished {
        /// Node name.
        node: &'a str,
        /// The task's position in the step's output.
        task: usize,
        /// Whether it failed.
        failed: bool,
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
/// # #[mlflow_macros::step(crate = mlflow_core)]
/// # fn double(x: &u64) -> u64 {
/// #     x * 2
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
/// p.step(DoubleStep, x);
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
