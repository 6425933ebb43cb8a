//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use mlflow::exec::{Event, RunOptions};
use mlflow::prelude::*;

/// A fresh store in a temporary folder (removed when the guard drops).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("store")).expect("open store");
    (dir, store)
}

/// Status of each step, by node name, as `name=status` strings in pipeline order.
pub fn statuses(report: &RunReport) -> Vec<String> {
    report.steps().iter().map(|s| format!("{}={}", s.node, s.status)).collect()
}

/// The miss reason kind of a step.
pub fn reason(report: &RunReport, node: &str) -> Option<&'static str> {
    report.step(node).and_then(|s| s.miss_reason.as_ref()).map(|r| r.kind())
}

/// Run options that record every event as a debug string.
pub fn recording() -> (RunOptions, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&log);
    let options = RunOptions::new().observe(move |e: &Event<'_>| sink.lock().unwrap().push(format!("{e:?}")));
    (options, log)
}
