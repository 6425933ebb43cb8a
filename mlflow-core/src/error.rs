//! The engine's error type: one enum per room (store, codec, registry, track, wiring, plan), wrapped
//! here, plus what a run can report about its steps. It names no machine-learning or serving
//! room: the facade's `mlflow::Error` wraps this one beside theirs.

use std::error::Error as StdError;
use std::fmt;

use crate::codec::CodecError;
use crate::dag::WiringError;
use crate::exec_plan::PlanError;
use crate::registry::RegistryError;
use crate::store::StoreError;
use crate::track::TrackError;

pub use crate::step::SharedStepError;

/// Everything that can go wrong in the engine.
///
/// `Debug` prints like `Display` followed by the chain of causes (as `anyhow` does), so that
/// `fn main() -> mlflow_core::Result<()>` ends with a readable message.
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
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store could not be opened, read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An artifact could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A model registry operation failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Logging a metric, tag or data version failed.
    #[error(transparent)]
    Track(#[from] TrackError),
    /// The pipeline was wired wrongly in a way rustc could not catch.
    #[error("{} wiring error(s):\n{}", .0.len(), .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Wiring(Vec<WiringError>),
    /// An execution plan read back (from JSON, say) was refused.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A step failed, so its output does not exist. When the step returned an error, that error
    /// is the [`source`](StdError::source), typed: see [`Error::step_error`].
    #[error("step `{step}` failed: {message}")]
    StepFailed {
        /// The node name.
        step: String,
        /// The failure as reported (the error and its causes, or the panic message).
        message: String,
        /// The error the step returned (absent for a panic or a timeout).
        #[source]
        source: Option<SharedStepError>,
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
    #[error("no run `{id}` in this store; list runs with `mlflow-pipelines runs` or `Store::runs`")]
    UnknownRun {
        /// The id asked for.
        id: String,
    },
    /// The run has no step with this node name.
    #[error("run `{run}` has no step `{node}`; `mlflow-pipelines run show {run}` lists its steps")]
    UnknownNode {
        /// The run.
        run: String,
        /// The node asked for.
        node: String,
    },
    /// The step has no stored output.
    #[error(
        "step `{node}` of run `{run}` has no stored output (it {status}; outputs of failed or skipped steps, and of steps with `cache = false`, are not stored)"
    )]
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
    /// A node id that the pipeline's execution plan has no step for.
    #[error(
        "pipeline `{pipeline}` has no step node `{node}` in its execution plan; its step nodes: {}",
        .known.join(", ")
    )]
    NotInPlan {
        /// The pipeline's name.
        pipeline: String,
        /// The id asked for.
        node: String,
        /// The ids it has.
        known: Vec<String>,
    },
    /// A node was asked to run under another plan hash than this binary's: the workflow was
    /// exported from another definition of the pipeline (another build of the image).
    #[error(
        "the workflow was exported with plan {expected}, but this binary's pipeline `{pipeline}` has plan {actual}: run the image built with the exported definition, or export the workflow again from this one"
    )]
    PlanMismatch {
        /// The pipeline's name.
        pipeline: String,
        /// The plan hash the workflow carries.
        expected: String,
        /// This binary's.
        actual: String,
    },
    /// An upstream node's output is not the one its task reported.
    #[error(
        "upstream node `{node}` reported output {expected}, but the store's is {actual}: the tasks ran against different stores or different images"
    )]
    InputMismatch {
        /// The upstream node's id.
        node: String,
        /// The hash its task reported.
        expected: String,
        /// The hash found.
        actual: String,
    },
    /// One task of a node was asked for ([`NodeRun::task`](crate::exec::NodeRun::task),
    /// `step --task`, `step --tasks`), but the node is not a mapped step: it has no tasks.
    #[error(
        "node `{node}` of pipeline `{pipeline}` is not a mapped step, so it has no tasks: run it whole (without --task or --tasks)"
    )]
    NotAMap {
        /// The pipeline's name.
        pipeline: String,
        /// The node's id.
        node: String,
    },
    /// A task index beyond the tasks a mapped node has for its inputs.
    #[error(
        "node `{node}` has {tasks} task(s) for its inputs, numbered from 0, so it has no task {task}: run the indices `step --node {node} --tasks` lists"
    )]
    TaskOutOfRange {
        /// The node's id.
        node: String,
        /// The index asked for.
        task: usize,
        /// How many tasks it has.
        tasks: usize,
    },
    /// A param was given where a step's output is needed (e.g. to register a model).
    #[error(
        "node {node} of pipeline `{pipeline}` is a param, not a step; pass the node of the step whose output you mean"
    )]
    NotAStep {
        /// The node, as debug-printed.
        node: String,
        /// The pipeline's name.
        pipeline: String,
    },
}

impl Error {
    /// The typed error a failed step returned, when this is [`Error::StepFailed`] and the step's
    /// error is an `E`.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("no rows in `{0}`")]
    /// struct Empty(String);
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn load(path: &String) -> Result<Vec<f64>, Empty> {
    ///     Err(Empty(path.clone()))
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let mut p = Pipeline::new("typed");
    /// let path = p.param("path", String::from("a.csv"));
    /// let rows = p.step(LoadStep, path);
    /// let err = p.run(&Store::open(dir.path()).unwrap()).unwrap().get(rows).unwrap_err();
    /// assert_eq!(err.step_error::<Empty>().map(|e| e.0.as_str()), Some("a.csv"));
    /// assert_eq!(err.to_string(), "step `load` failed: no rows in `a.csv`");
    /// ```
    pub fn step_error<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            Error::StepFailed { source: Some(source), .. } => (**source).downcast_ref::<E>(),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return debug_variant(self, f);
        }
        write_report(self, f)
    }
}

fn debug_variant(error: &Error, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match error {
        Error::Store(e) => f.debug_tuple("Store").field(e).finish(),
        Error::Codec(e) => f.debug_tuple("Codec").field(e).finish(),
        Error::Registry(e) => f.debug_tuple("Registry").field(e).finish(),
        Error::Track(e) => f.debug_tuple("Track").field(e).finish(),
        Error::Wiring(e) => f.debug_tuple("Wiring").field(e).finish(),
        Error::Plan(e) => f.debug_tuple("Plan").field(e).finish(),
        Error::StepFailed { step, message, source } => f
            .debug_struct("StepFailed")
            .field("step", step)
            .field("message", message)
            .field("source", source)
            .finish(),
        Error::StepSkipped { step, reason } => {
            f.debug_struct("StepSkipped").field("step", step).field("reason", reason).finish()
        }
        Error::UnknownRun { id } => f.debug_struct("UnknownRun").field("id", id).finish(),
        Error::UnknownNode { run, node } => {
            f.debug_struct("UnknownNode").field("run", run).field("node", node).finish()
        }
        Error::NoOutput { run, node, status } => {
            f.debug_struct("NoOutput").field("run", run).field("node", node).field("status", status).finish()
        }
        Error::ForeignNode { node, pipeline } => {
            f.debug_struct("ForeignNode").field("node", node).field("pipeline", pipeline).finish()
        }
        Error::NotAStep { node, pipeline } => {
            f.debug_struct("NotAStep").field("node", node).field("pipeline", pipeline).finish()
        }
        Error::NotInPlan { pipeline, node, known } => f
            .debug_struct("NotInPlan")
            .field("pipeline", pipeline)
            .field("node", node)
            .field("known", known)
            .finish(),
        Error::PlanMismatch { pipeline, expected, actual } => f
            .debug_struct("PlanMismatch")
            .field("pipeline", pipeline)
            .field("expected", expected)
            .field("actual", actual)
            .finish(),
        Error::NotAMap { pipeline, node } => {
            f.debug_struct("NotAMap").field("pipeline", pipeline).field("node", node).finish()
        }
        Error::TaskOutOfRange { node, task, tasks } => f
            .debug_struct("TaskOutOfRange")
            .field("node", node)
            .field("task", task)
            .field("tasks", tasks)
            .finish(),
        Error::InputMismatch { node, expected, actual } => f
            .debug_struct("InputMismatch")
            .field("node", node)
            .field("expected", expected)
            .field("actual", actual)
            .finish(),
    }
}

/// Writes `error` as a readable, multi-line report: its message, then each cause that the
/// messages before it did not already say, under `Caused by:`. This is what `Debug` of the
/// library's errors prints (`{:#?}` gives the structure instead), so `main() -> Result<()>`
/// reads well.
///
/// ```
/// use std::fmt;
/// #[derive(Debug)]
/// struct Outer(std::io::Error);
/// impl fmt::Display for Outer {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("cannot load the model") }
/// }
/// impl std::error::Error for Outer {
///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.0) }
/// }
/// struct Report(Outer);
/// impl fmt::Display for Report {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { mlflow_core::error::write_report(&self.0, f) }
/// }
/// let text = Report(Outer(std::io::Error::other("disk full"))).to_string();
/// assert_eq!(text, "cannot load the model\n\nCaused by:\n    disk full");
/// ```
pub fn write_report(error: &(dyn StdError + 'static), f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut said = error.to_string();
    f.write_str(&said)?;
    let mut first = true;
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        // A message that already quotes its cause (as `StepFailed` and `#[error(transparent)]`
        // wrappers do) would otherwise print it twice.
        if !text.is_empty() && !said.contains(&text) {
            if first {
                f.write_str("\n\nCaused by:")?;
                first = false;
            }
            write!(f, "\n    {}", text.replace('\n', "\n    "))?;
            said.push('\n');
            said.push_str(&text);
        }
        cause = e.source();
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reads_like_display_with_its_causes() {
        let io = std::io::Error::other("permission denied");
        let err = Error::Store(StoreError::Unwritable { path: "/nowhere".into(), source: io });
        let debug = format!("{err:?}");
        assert!(debug.starts_with("cannot use `/nowhere` as an mlflow store: permission denied"), "{debug}");
        // The cause is already in the message: not repeated.
        assert!(!debug.contains("Caused by"), "{debug}");
        assert!(format!("{err:#?}").starts_with("Store("), "{err:#?}");
    }

    #[test]
    fn a_step_error_keeps_its_type() {
        let source = crate::step::StepError::new(std::io::Error::other("disk full")).into_shared();
        let err =
            Error::StepFailed { step: "save".into(), message: "disk full".into(), source: Some(source) };
        assert_eq!(err.step_error::<std::io::Error>().map(|e| e.to_string()).as_deref(), Some("disk full"));
        assert!(err.step_error::<std::fmt::Error>().is_none());
        assert!(StdError::source(&err).and_then(|e| e.downcast_ref::<std::io::Error>()).is_some());
    }
}
