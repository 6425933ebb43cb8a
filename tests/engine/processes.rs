//! Several processes sharing one store.

use crate::common;

use std::time::Duration;

use mlflow::prelude::*;

const STORE_VAR: &str = "MLFLOW_TEST_SHARED_STORE";

#[step]
fn slow_square(x: &u64) -> u64 {
    std::thread::sleep(Duration::from_millis(30));
    x * x
}

#[step]
fn add(a: &u64, b: &u64, c: &u64, d: &u64, e: &u64, f: &u64) -> u64 {
    a + b + c + d + e + f
}

fn build() -> (Pipeline, Node<u64>) {
    let mut p = Pipeline::new("shared-store");
    let squares: Vec<_> = (1..=6u64)
        .map(|i| {
            let x = p.param(format!("x{i}"), i);
            p.step_named(format!("square{i}"), SlowSquareStep, x)
        })
        .collect();
    let sum = p.step(AddStep, (squares[0], squares[1], squares[2], squares[3], squares[4], squares[5]));
    (p, sum)
}

/// Not a test of its own: the body of each child process started below.
#[test]
#[ignore = "run as a child process by two_processes_share_one_store"]
fn child_process_runs_the_pipeline() {
    let path = std::env::var(STORE_VAR).expect("started by two_processes_share_one_store");
    let store = Store::open(path).expect("open the shared store");
    let (p, sum) = build();
    let report = p.run(&store).expect("run");
    assert!(report.is_success(), "{report}");
    println!("RESULT {}", report.get(sum).expect("output"));
}

#[test]
fn two_processes_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let children: Vec<_> = (0..2)
        .map(|_| {
            common::spawn_ignored_test(
                "child_process_runs_the_pipeline",
                &[(STORE_VAR, store_path.as_os_str())],
            )
        })
        .collect();
    for child in children {
        let stdout = common::child_stdout(child);
        assert!(stdout.contains("RESULT 91"), "1+4+9+16+25+36 = 91, got:\n{stdout}");
    }
    let store = Store::open(&store_path).unwrap();
    let runs = store.run_ids("shared-store").unwrap();
    assert_eq!(runs.len(), 2);
    for id in &runs {
        let run = store.run(id).unwrap().unwrap();
        assert_eq!(run.status, "succeeded");
        assert_eq!(run.steps.len(), 7);
        for step in &run.steps {
            assert!(step.status == "ran" || step.status == "cached", "{step:?}");
            assert!(store.read_artifact(step.output.unwrap()).is_ok(), "{step:?}");
        }
    }
    let (p, sum) = build();
    let report = p.run(&store).unwrap();
    assert_eq!(report.count(StepStatus::Cached), 7);
    assert_eq!(*report.get(sum).unwrap(), 91);
}
