//! Running the `mlflow` binary on a store from the tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `mlflow --store STORE ARGS...`.
pub fn mlflow(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlflow-pipelines"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// Succeeds and returns stdout.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let out = mlflow(store, args);
    assert!(out.status.success(), "mlflow {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Fails with one line on stderr and returns it.
pub fn fails(store: &Path, args: &[&str]) -> String {
    let out = mlflow(store, args);
    assert!(!out.status.success(), "mlflow {args:?} should fail");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}
