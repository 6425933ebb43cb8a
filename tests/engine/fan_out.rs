//! One task of a mapped node run alone (step mode, what a fan-out pod does): the tasks are
//! listed from the upstream in the store, each runs once under its own cache key, the node's own
//! run then only puts them together, and the refusals say what to do.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::temp_store;
use mlflow::EngineError as Error;
use mlflow::exec::NodeRun;
use mlflow::prelude::*;

static MADE: AtomicUsize = AtomicUsize::new(0);
static SQUARED: AtomicUsize = AtomicUsize::new(0);
static CUBED: AtomicUsize = AtomicUsize::new(0);

#[step]
fn make(n: &u64) -> Vec<u64> {
    MADE.fetch_add(1, Ordering::SeqCst);
    (1..=*n).collect()
}

#[step]
fn square(x: &u64, offset: &u64) -> u64 {
    SQUARED.fetch_add(1, Ordering::SeqCst);
    x * x + offset
}

#[step]
fn cube(x: &u64) -> u64 {
    CUBED.fetch_add(1, Ordering::SeqCst);
    x * x * x
}

#[step]
fn sum_all(xs: &Vec<u64>) -> u64 {
    xs.iter().sum()
}

/// n -> make -> square over (make's list, offsets) -> sum_all.
fn squares() -> Pipeline {
    let mut p = Pipeline::new("fan-out");
    let n = p.param("n", 2u64);
    let offsets = p.param("offsets", vec![0u64, 100]);
    let xs = p.step(MakeStep, n);
    let squares = p.map(SquareStep, (xs, offsets));
    p.step(SumAllStep, squares);
    p
}

#[test]
fn each_task_of_a_map_runs_alone_once_and_the_node_then_only_puts_them_together() {
    let (_dir, store) = temp_store();
    let p = squares();
    let hash = p.execution_plan().unwrap().plan_hash().to_hex();
    let node = |id: &str| NodeRun::new(id).plan(&hash);
    let made = p.run_node(&store, &node("make")).unwrap().output.to_hex();
    // Two elements times two offsets.
    let n = p.map_tasks(&store, &node("square").input("make", &made)).unwrap();
    assert_eq!(n, 4);
    let before = SQUARED.load(Ordering::SeqCst);
    let mut task_hashes = Vec::new();
    for k in 0..n {
        let outcome = p.run_node(&store, &node("square").input("make", &made).task(k)).unwrap();
        let counts = outcome.report.step("square").unwrap().tasks.clone().unwrap();
        assert_eq!((counts.total, counts.ran, counts.cached), (4, 1, 0), "task {k}");
        assert_eq!(outcome.report.step("make").unwrap().status, StepStatus::Cached);
        task_hashes.push(outcome.output);
    }
    assert_eq!(SQUARED.load(Ordering::SeqCst) - before, 4, "each task ran once");
    // A task again (a retried pod): a cache hit with the same hash.
    let again = p.run_node(&store, &node("square").task(2)).unwrap();
    assert_eq!(again.output, task_hashes[2]);
    assert_eq!(again.report.step("square").unwrap().status, StepStatus::Cached);

    // The node itself: every task from the store, nothing computed.
    let whole = p.run_node(&store, &node("square").input("make", &made)).unwrap();
    let counts = whole.report.step("square").unwrap().tasks.clone().unwrap();
    assert_eq!((counts.total, counts.ran, counts.cached), (4, 0, 4));
    assert_eq!(SQUARED.load(Ordering::SeqCst) - before, 4, "the node only put the tasks together");
    let sum = p.run_node(&store, &node("sum-all").input("square", whole.output.to_hex())).unwrap();
    assert_eq!(sum.report.step("square").unwrap().status, StepStatus::Cached);

    // The same hashes as one process on a fresh store, whose tasks are numbered the same way
    // (the first list outermost).
    let (_fresh_dir, fresh) = temp_store();
    let report = p.run(&fresh).unwrap().into_result().unwrap();
    assert_eq!(report.step("square").unwrap().output_hash, Some(whole.output));
    assert_eq!(report.step("sum_all").unwrap().output_hash, Some(sum.output));
    let squares: Vec<u64> = vec![1, 101, 4, 104];
    for (k, value) in squares.iter().enumerate() {
        let bytes = mlflow::codec::encode(value).unwrap();
        assert_eq!(mlflow::codec::hash_bytes(&bytes), task_hashes[k], "task {k} is element {value}");
    }
}

#[test]
fn tasks_of_a_plain_step_and_indices_out_of_range_are_refused_with_what_to_do() {
    let (_dir, store) = temp_store();
    let p = squares();
    let hash = p.execution_plan().unwrap().plan_hash().to_hex();
    let node = |id: &str| NodeRun::new(id).plan(&hash);
    // The upstream is not in the store yet: listing the tasks computes nothing.
    let made_before = MADE.load(Ordering::SeqCst);
    let err = p.map_tasks(&store, &node("square")).unwrap_err();
    assert!(err.to_string().contains("upstream step `make` is not in the store"), "{err}");
    assert_eq!(MADE.load(Ordering::SeqCst), made_before);

    p.run_node(&store, &node("make")).unwrap();
    let err = p.run_node(&store, &node("make").task(0)).unwrap_err();
    assert!(matches!(&err, Error::NotAMap { node, .. } if node == "make"), "{err:?}");
    assert!(
        err.to_string().contains("not a mapped step") && err.to_string().contains("without --task"),
        "{err}"
    );
    assert!(matches!(p.map_tasks(&store, &node("sum-all")), Err(Error::NotAMap { .. })));

    let err = p.run_node(&store, &node("square").task(4)).unwrap_err();
    assert!(matches!(err, Error::TaskOutOfRange { task: 4, tasks: 4, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("has 4 task(s)") && message.contains("--tasks"), "{message}");
    let err = p.run_node(&store, &node("nope").task(0)).unwrap_err();
    assert!(matches!(err, Error::NotInPlan { .. }), "{err:?}");
}

#[test]
fn a_node_downstream_of_a_map_needs_the_maps_own_task_to_have_run() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("cubes");
    let xs = p.param("xs", vec![1u64, 2, 3]);
    let cubes = p.map(CubeStep, xs);
    p.step(SumAllStep, cubes);
    let hash = p.execution_plan().unwrap().plan_hash().to_hex();
    let node = |id: &str| NodeRun::new(id).plan(&hash);
    assert_eq!(p.map_tasks(&store, &node("cube")).unwrap(), 3);
    let before = CUBED.load(Ordering::SeqCst);
    for k in 0..3 {
        p.run_node(&store, &node("cube").task(k)).unwrap();
    }
    // The tasks ran, but the node's own task (which puts them together) did not: the node
    // downstream refuses rather than running the map itself.
    let err = p.run_node(&store, &node("sum-all")).unwrap_err();
    assert!(err.to_string().contains("upstream mapped step `cube` is not in the store"), "{err}");
    let whole = p.run_node(&store, &node("cube")).unwrap();
    let sum = p.run_node(&store, &node("sum-all").input("cube", whole.output.to_hex())).unwrap();
    assert_eq!(sum.report.step("cube").unwrap().status, StepStatus::Cached);
    assert_eq!(CUBED.load(Ordering::SeqCst) - before, 3);
}
