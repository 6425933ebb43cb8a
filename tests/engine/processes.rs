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

const MARKER: &str = "HANGING STEP STARTED";

#[step(cache = false)]
fn hang(x: &u64) -> u64 {
    use std::io::Write as _;
    println!("{MARKER}");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(120));
    *x
}

/// Not a test of its own: the body of the child process killed below.
#[test]
#[ignore = "run as a child process by a_killed_run_is_marked_abandoned_when_the_store_is_next_opened"]
fn child_process_hangs_in_a_step() {
    let path = std::env::var(STORE_VAR).expect("started by a test");
    let store = Store::open(path).expect("open the shared store");
    let mut p = Pipeline::new("killed");
    let x = p.param("x", 1u64);
    p.step(HangStep, x);
    p.run(&store).expect("run");
}

#[test]
fn a_killed_run_is_marked_abandoned_when_the_store_is_next_opened() {
    use mlflow::track::query::RunFilter;
    use std::io::BufRead as _;

    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let mut child =
        common::spawn_ignored_test("child_process_hangs_in_a_step", &[(STORE_VAR, store_path.as_os_str())]);
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains(MARKER) {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the child ended before its step started");
    }
    // While the process lives, its run is running, whoever looks.
    let status = || {
        let store = Store::open(&store_path).unwrap();
        let runs = store.runs(&RunFilter::new().pipeline("killed")).unwrap();
        assert_eq!(runs.len(), 1);
        (runs[0].status.clone(), runs[0].ended_ms)
    };
    assert_eq!(status(), ("running".to_owned(), None));
    child.kill().unwrap(); // SIGKILL: no chance to record anything
    child.wait().unwrap();
    let (status, ended) = status();
    assert_eq!(status, "abandoned");
    assert!(ended.is_some(), "the time it was found abandoned is recorded");
}

#[step]
fn payload(seed: &u64) -> Vec<u64> {
    (0..2_000).map(|i| seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i)).collect()
}

#[step]
fn total(xs: &Vec<u64>) -> u64 {
    xs.iter().fold(0, |a, b| a.wrapping_add(*b))
}

/// Garbage collection at zero grace, in a loop, while 30 writers run pipelines on the same store
/// (each with a handle of its own, as separate processes would): no writer fails, and every
/// output a run recorded is still there afterwards.
#[test]
fn writers_and_a_collector_at_zero_grace_share_a_store() {
    use mlflow::gc::GcOptions;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    Store::open(&path).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let collector = {
        let (path, done) = (path.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            let store = Store::open(&path).unwrap();
            let mut collections = 0;
            while !done.load(Ordering::Relaxed) {
                store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
                collections += 1;
            }
            collections
        })
    };
    let writers: Vec<_> = (0..30u64)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                let mut ids = Vec::new();
                for round in 0..3u64 {
                    let mut p = Pipeline::new(format!("writer-{w}"));
                    let seed = p.param("seed", w * 1_000 + round);
                    let xs = p.step(PayloadStep, seed);
                    p.step(TotalStep, xs);
                    let report = p.run(&store).unwrap();
                    assert!(report.is_success(), "{report}");
                    ids.push(report.run_id().to_owned());
                }
                ids
            })
        })
        .collect();
    let ids: Vec<String> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    done.store(true, Ordering::Relaxed);
    assert!(collector.join().unwrap() > 0);
    let store = Store::open(&path).unwrap();
    store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
    for id in ids {
        for step in store.run(&id).unwrap().unwrap().steps {
            assert!(store.read_artifact(step.output.unwrap()).is_ok(), "{step:?}");
        }
    }
}
