//! One attempt of a step: on the worker's thread, or on a thread of its own when it has a
//! timeout; panics caught; what the step logged captured.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use super::report::format_duration;
use crate::artifact::AnyArtifact;
use crate::dag::ErasedStep;
use crate::step::SharedStepError;
use crate::step::StepError;
use crate::track::{self, StepLog};

/// One attempt, with what the step logged during it.
pub(super) fn run_attempt(
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
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) source: Option<SharedStepError>,
}

impl Failure {
    pub(super) fn message(message: String) -> Failure {
        Failure { message, source: None }
    }
}

pub(super) fn flatten(
    result: std::thread::Result<std::result::Result<AnyArtifact, StepError>>,
) -> std::result::Result<AnyArtifact, Failure> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Failure { message: error.to_string(), source: Some(error.into_shared()) }),
        Err(panic) => Err(Failure::message(format!("panicked: {}", panic_message(panic.as_ref())))),
    }
}

pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}
