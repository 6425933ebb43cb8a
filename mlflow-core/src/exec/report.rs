//! What a run did: per step its status, timing, cache key, output hash and error, and the
//! outputs themselves.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::miss::MissReason;
use super::output::Output;
use crate::artifact::Artifact;
use crate::codec::ContentHash;
use crate::dag::Node;
use crate::error::{Error, Result};
use crate::step::SharedStepError;
use crate::track::StepLog;
use crate::track::runs::TaskCounts;

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
    /// For a mapped step ([`Pipeline::map`](crate::dag::Pipeline::map)), what happened to its
    /// tasks (absent for other steps, and for a mapped step that was skipped or could not start).
    pub tasks: Option<TaskCounts>,
}

/// What a run did: per step its status, timing, cache key and output hash, and the outputs.
///
/// `Display` prints one line per step, `step <name>: <status> (<duration>)`, then
/// `run <id>: <n> ran, <m> cached, <f> failed`.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # #[mlflow_macros::step(crate = mlflow_core)]
/// # fn double(x: &u64) -> u64 {
/// #     x * 2
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// use mlflow_core::exec::{MissReason, StepStatus};
///
/// let mut p = Pipeline::new("report");
/// let x = p.param("x", 21u64);
/// let y = p.step(DoubleStep, x);
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
    pub(super) run_id: String,
    pub(super) pipeline: String,
    pub(super) pipeline_id: u64,
    pub(super) steps: Vec<StepReport>,
    pub(super) outputs: Vec<Option<Output>>,
    pub(super) step_of_node: Vec<Option<usize>>,
    pub(super) duration: Duration,
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

    /// The report of the step behind `node`: `None` for a param or a node of another pipeline.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn double(x: &u64) -> u64 {
    /// #     x * 2
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// let mut p = Pipeline::new("typed");
    /// let x = p.param("x", 1u64);
    /// let y = p.step_named("doubled", DoubleStep, x);
    /// let report = p.run(&store)?;
    /// assert_eq!(report.step_of(y).unwrap().node, "doubled");
    /// assert!(report.step_of(x).is_none());
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn step_of<T>(&self, node: Node<T>) -> Option<&StepReport> {
        if node.pipeline != self.pipeline_id {
            return None;
        }
        let step = (*self.step_of_node.get(node.index)?)?;
        self.steps.get(step)
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
        let output = self.output_of(node)?;
        Arc::clone(output.value()?)
            .downcast::<T>()
            .map_err(|_| Error::ForeignNode { node: format!("{node:?}"), pipeline: self.pipeline.clone() })
    }

    /// Ok when `node` has an output in this run, without decoding it; else why not (see
    /// `output_of`).
    pub(crate) fn has_output<T>(&self, node: Node<T>) -> Result<()> {
        self.output_of(node).map(|_| ())
    }

    /// The (possibly not yet decoded) output of `node`, or why there is none: the node belongs to
    /// another pipeline, or its step failed or was skipped.
    fn output_of<T>(&self, node: Node<T>) -> Result<&Output> {
        if node.pipeline != self.pipeline_id || node.index >= self.outputs.len() {
            return Err(Error::ForeignNode { node: format!("{node:?}"), pipeline: self.pipeline.clone() });
        }
        match &self.outputs[node.index] {
            Some(output) => Ok(output),
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
    pub(super) fn failure(&self) -> Error {
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
            if let Some(tasks) = &s.tasks {
                write!(f, " [{tasks}]")?;
            }
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
