//! Serving tests: model packages and in-process scoring, and the crash-safe prediction log.
//! The HTTP server and batch scoring are tested with the command line, in `mlflow-cli/tests`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/monitored.rs"]
mod monitored;
#[path = "../support/titanic.rs"]
mod titanic;

mod classify;
mod fuzz_regressions;
mod monitoring;
mod packages;
mod predlog;
mod serve;
mod watch;
