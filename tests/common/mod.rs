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

/// Starts this test binary again, running only the ignored test `test` with `env` set, with its
/// output captured: the way tests exercise several processes sharing one store.
pub fn spawn_ignored_test(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut command = std::process::Command::new(std::env::current_exe().expect("test binary"));
    // Not `--exact`: in a test binary of several modules the full name has the module's path.
    command.args([test, "--ignored", "--nocapture", "--test-threads=1"]);
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the child test process")
}

/// Waits for a child from [`spawn_ignored_test`] and returns its stdout; fails the test, showing
/// both outputs, when the child failed.
pub fn child_stdout(child: std::process::Child) -> String {
    let output = child.wait_with_output().expect("wait for the child test process");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A committed input that a fuzz target once failed on: `tests/fuzz_regressions/<target>/<name>`.
pub fn fuzz_input(target: &str, name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}
