//! Dynamic fan-out (`Pipeline::map`): one cached task per element, results in order, tasks that
//! share their cache entries with plain steps, combinations of several lists, chained maps,
//! failures that keep the other tasks, parallel tasks, plans and events.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{reason, recording, temp_store};
use mlflow::dag::WiringError;
use mlflow::exec::{PlanOutcome, PlannedTasks, TaskCounts};
use mlflow::prelude::*;

#[step]
fn power(x: &u64, exponent: &u32) -> u64 {
    x.pow(*exponent)
}

#[step]
fn describe(x: &u64, label: &String) -> String {
    format!("{label}{x}")
}

#[step]
fn total(xs: &Vec<u64>) -> u64 {
    xs.iter().sum()
}

fn tasks(report: &RunReport, node: &str) -> TaskCounts {
    report.step(node).and_then(|s| s.tasks.clone()).unwrap_or_else(|| panic!("{node} has task counts"))
}

fn counts(report: &RunReport, node: &str) -> (usize, usize, usize, usize) {
    let t = tasks(report, node);
    (t.total, t.ran, t.cached, t.failed.len())
}

fn powers(xs: Vec<u64>, exponent: u32) -> (Pipeline, Node<Vec<u64>>, Node<u64>) {
    let mut p = Pipeline::new("powers");
    let xs = p.param("xs", xs);
    let exponent = p.param("exponent", exponent);
    let powers = p.map(PowerStep, (xs, exponent));
    let sum = p.step(TotalStep, powers);
    (p, powers, sum)
}

#[test]
fn each_element_is_a_cached_task_and_only_new_or_changed_elements_run() {
    let (_dir, store) = temp_store();
    let (p, squares, sum) = powers(vec![1, 2, 3], 2);
    let first = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*first.get(squares).unwrap(), [1, 4, 9]);
    assert_eq!(*first.get(sum).unwrap(), 14);
    assert_eq!(counts(&first, "power"), (3, 3, 0, 0));
    assert_eq!(first.step("power").unwrap().status, StepStatus::Ran);
    assert_eq!(first.step("power").unwrap().step, "power");

    // The same inputs: the mapped step is one cache hit as a whole.
    let again = p.run(&store).unwrap();
    assert_eq!(again.step("power").unwrap().status, StepStatus::Cached);
    assert_eq!(counts(&again, "power"), (3, 0, 3, 0));
    assert_eq!(again.step("total").unwrap().status, StepStatus::Cached);
    assert!(
        again.to_string().contains("step power: cached")
            && again.to_string().contains("[3 tasks: 0 ran, 3 cached]")
    );

    // A longer list runs only its new element; a changed element only itself.
    let (p, squares, sum) = powers(vec![1, 2, 3, 4], 2);
    let longer = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*longer.get(squares).unwrap(), [1, 4, 9, 16]);
    assert_eq!(*longer.get(sum).unwrap(), 30);
    assert_eq!(counts(&longer, "power"), (4, 1, 3, 0));
    assert_eq!(reason(&longer, "power"), Some("param"));
    let (p, squares, _) = powers(vec![1, 7, 3, 4], 2);
    let changed = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*changed.get(squares).unwrap(), [1, 49, 9, 16]);
    assert_eq!(counts(&changed, "power"), (4, 1, 3, 0));

    // A shared input changes every task.
    let (p, cubes, _) = powers(vec![1, 2], 3);
    let other = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*other.get(cubes).unwrap(), [1, 8]);
    assert_eq!(counts(&other, "power"), (2, 2, 0, 0));
}

#[test]
fn the_output_is_the_vec_a_step_would_store_and_a_task_is_the_step_on_its_element() {
    let (_dir, store) = temp_store();
    // A plain run of the step on 5 squared...
    let mut p = Pipeline::new("plain");
    let x = p.param("x", 5u64);
    let exponent = p.param("exponent", 2u32);
    p.step(PowerStep, (x, exponent));
    p.run(&store).unwrap().into_result().unwrap();
    // ...is the cached task of element 5.
    let (p, squares, _) = powers(vec![5, 6], 2);
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(counts(&report, "power"), (2, 1, 1, 0));
    let bytes = mlflow::codec::encode(report.get(squares).unwrap()).unwrap();
    assert_eq!(report.step("power").unwrap().output_hash, Some(mlflow::codec::hash_bytes(&bytes)));
}

#[test]
fn several_lists_give_every_combination_first_list_outermost() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("grid");
    let xs = p.param("xs", vec![1u64, 2, 3]);
    let labels = p.param("labels", vec!["a".to_string(), "b".to_string()]);
    let described = p.map(DescribeStep, (xs, labels));
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*report.get(described).unwrap(), ["a1", "b1", "a2", "b2", "a3", "b3"]);
    assert_eq!(counts(&report, "describe"), (6, 6, 0, 0));
}

#[test]
fn maps_chain_and_an_empty_list_gives_an_empty_output() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("chain");
    let xs = p.param("xs", vec![1u64, 2, 3]);
    let two = p.param("two", 2u32);
    let squares = p.map(PowerStep, (xs, two));
    let label = p.param("label", "x=".to_string());
    let described = p.map(DescribeStep, (squares, label));
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*report.get(described).unwrap(), ["x=1", "x=4", "x=9"]);

    let mut p = Pipeline::new("empty");
    let xs = p.param("xs", Vec::<u64>::new());
    let two = p.param("two", 2u32);
    let squares = p.map(PowerStep, (xs, two));
    let sum = p.step(TotalStep, squares);
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert!(report.get(squares).unwrap().is_empty());
    assert_eq!(*report.get(sum).unwrap(), 0);
    assert_eq!(counts(&report, "power"), (0, 0, 0, 0));
}

static FAIL_ODD: AtomicBool = AtomicBool::new(true);

#[derive(Debug, thiserror::Error)]
#[error("{0} is odd")]
struct Odd(u64);

#[step]
fn halve(x: &u64) -> Result<u64, Odd> {
    if x % 2 == 1 && FAIL_ODD.load(Ordering::SeqCst) { Err(Odd(*x)) } else { Ok(x / 2) }
}

#[test]
fn a_failing_task_fails_the_map_keeps_the_others_and_a_rerun_runs_only_it() {
    let (_dir, store) = temp_store();
    let build = || {
        let mut p = Pipeline::new("halves");
        let xs = p.param("xs", vec![2u64, 3, 4, 6]);
        let halves = p.map(HalveStep, xs);
        let sum = p.step(TotalStep, halves);
        (p, halves, sum)
    };
    FAIL_ODD.store(true, Ordering::SeqCst);
    let (p, halves, _) = build();
    let failed = p.run_with(&store, RunOptions::new().fail_fast(false)).unwrap();
    let step = failed.step("halve").unwrap();
    assert_eq!(step.status, StepStatus::Failed);
    assert_eq!(counts(&failed, "halve"), (4, 3, 0, 1));
    assert_eq!(tasks(&failed, "halve").failed[0].index, 1);
    let error = step.error.clone().unwrap();
    assert!(error.contains("1 of 4 tasks failed") && error.contains("task 1: 3 is odd"), "{error}");
    assert!(
        step.error_source.as_deref().and_then(|e| e.downcast_ref::<Odd>()).is_some(),
        "the task's typed error"
    );
    assert_eq!(failed.step("total").unwrap().status, StepStatus::Skipped);
    assert!(failed.get(halves).is_err());

    FAIL_ODD.store(false, Ordering::SeqCst);
    let (p, halves, sum) = build();
    let fixed = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(counts(&fixed, "halve"), (4, 1, 3, 0), "only the failed task runs again");
    assert_eq!(*fixed.get(halves).unwrap(), [1, 1, 2, 3]);
    assert_eq!(*fixed.get(sum).unwrap(), 7);
}

#[test]
fn try_map_tolerates_up_to_max_failed_tasks_as_none_and_retries_them_on_a_rerun() {
    let (_dir, store) = temp_store();
    let build = |max_failed| {
        let mut p = Pipeline::new("tolerant");
        let xs = p.param("xs", vec![2u64, 3, 4, 5]);
        let halves = p.try_map(HalveTolerantStep, xs, max_failed);
        (p, halves)
    };
    FAIL_ODD_TOLERANT.store(true, Ordering::SeqCst);
    let (p, halves) = build(2);
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*report.get(halves).unwrap(), [Some(1), None, Some(2), None]);
    let failed: Vec<usize> = tasks(&report, "halve_tolerant").failed.iter().map(|f| f.index).collect();
    assert_eq!(failed, [1, 3]);
    assert_eq!(report.step("halve_tolerant").unwrap().status, StepStatus::Ran);
    // The bytes are those of the `Vec<Option<u64>>` itself.
    let bytes = mlflow::codec::encode(report.get(halves).unwrap()).unwrap();
    assert_eq!(report.step("halve_tolerant").unwrap().output_hash, Some(mlflow::codec::hash_bytes(&bytes)));

    // One failure fewer allowed than happen: the step fails, naming the limit.
    let (p, _) = build(1);
    let over = p.run_with(&store, RunOptions::new().fail_fast(false)).unwrap();
    let error = over.step("halve_tolerant").unwrap().error.clone().unwrap();
    assert!(error.contains("2 of 4 tasks failed, more than the 1 allowed"), "{error}");

    // Not cached as a whole while tasks fail: once fixed, a rerun runs just those two.
    FAIL_ODD_TOLERANT.store(false, Ordering::SeqCst);
    let (p, halves) = build(2);
    let fixed = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*fixed.get(halves).unwrap(), [Some(1), Some(1), Some(2), Some(2)]);
    assert_eq!(counts(&fixed, "halve_tolerant"), (4, 2, 2, 0));
    let again = p.run(&store).unwrap();
    assert_eq!(again.step("halve_tolerant").unwrap().status, StepStatus::Cached);

    // The same step and list through `map`: its own whole (of `u64`s, not `Option`s), its tasks
    // shared.
    let mut p = Pipeline::new("tolerant");
    let xs = p.param("xs", vec![2u64, 3, 4, 5]);
    let plain = p.map(HalveTolerantStep, xs);
    let report = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*report.get(plain).unwrap(), [1, 1, 2, 2]);
    assert_eq!(counts(&report, "halve_tolerant"), (4, 0, 4, 0));
}

static FAIL_ODD_TOLERANT: AtomicBool = AtomicBool::new(true);

#[step]
fn halve_tolerant(x: &u64) -> Result<u64, Odd> {
    if x % 2 == 1 && FAIL_ODD_TOLERANT.load(Ordering::SeqCst) { Err(Odd(*x)) } else { Ok(x / 2) }
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

#[step(cache = false)]
fn slow_square(x: &u64) -> u64 {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(40));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    x * x
}

#[test]
fn tasks_run_in_parallel_and_give_the_same_output_at_any_thread_count() {
    let (_dir, store) = temp_store();
    let build = || {
        let mut p = Pipeline::new("parallel");
        let xs = p.param("xs", (0..8u64).collect::<Vec<_>>());
        let squares = p.map(SlowSquareStep, xs);
        (p, squares)
    };
    let (p, squares) = build();
    let serial = p.run_with(&store, RunOptions::new().threads(1)).unwrap().into_result().unwrap();
    assert_eq!(MOST.swap(0, Ordering::SeqCst), 1);
    let (p, squares2) = build();
    let parallel = p.run_with(&store, RunOptions::new().threads(4)).unwrap().into_result().unwrap();
    assert!(MOST.load(Ordering::SeqCst) >= 2, "tasks overlapped on 4 threads");
    assert_eq!(serial.get(squares).unwrap(), parallel.get(squares2).unwrap());
    assert_eq!(*parallel.get(squares2).unwrap(), [0, 1, 4, 9, 16, 25, 36, 49]);
    assert_eq!(counts(&parallel, "slow_square"), (8, 8, 0, 0), "caching off: every task runs");
}

#[test]
fn the_plan_sees_a_mapped_step_as_one_node_and_events_count_its_tasks() {
    let (_dir, store) = temp_store();
    let (p, _, _) = powers(vec![1, 2], 2);
    let plan = p.plan(&store).unwrap();
    assert!(matches!(plan.step("power").unwrap().outcome, PlanOutcome::Miss(_)));
    assert_eq!(plan.step("power").unwrap().tasks, Some(PlannedTasks { total: 2, cached: 0 }));
    assert_eq!(plan.step("total").unwrap().tasks, None);
    let (options, events) = recording();
    p.run_with(&store, options).unwrap().into_result().unwrap();
    let events = events.lock().unwrap().join("\n");
    assert!(events.contains(r#"TasksQueued { node: "power", total: 2, cached: 0 }"#), "{events}");
    assert_eq!(events.matches("TaskFinished { node: \"power\"").count(), 2, "{events}");
    let plan = p.plan(&store).unwrap();
    assert!(matches!(plan.step("power").unwrap().outcome, PlanOutcome::Hit), "{plan}");
    assert!(matches!(plan.step("total").unwrap().outcome, PlanOutcome::Hit), "{plan}");
    let (p, _, _) = powers(vec![1, 2, 3], 2);
    let plan = p.plan(&store).unwrap();
    assert!(
        matches!(&plan.step("power").unwrap().outcome, PlanOutcome::Miss(r) if r.kind() == "param"),
        "{plan}"
    );
}

#[test]
fn drawings_show_a_mapped_step_as_a_stack() {
    let (p, _, _) = powers(vec![1], 2);
    let mermaid = p.to_mermaid();
    assert!(mermaid.contains(r#"n2[["power"]]"#) && mermaid.contains(r#"n3["total"]"#), "{mermaid}");
    let dot = p.to_dot();
    assert!(dot.contains("shape=box3d") && dot.matches("shape=box]").count() == 1, "{dot}");
}

#[test]
fn mapping_over_no_list_is_a_wiring_error() {
    let mut p = Pipeline::new("nothing");
    let x = p.param("x", 3u64);
    let two = p.param("two", 2u32);
    p.map(PowerStep, (x, two));
    let errors = p.check().unwrap_err();
    assert!(matches!(&errors[0], WiringError::NothingToMap { step, .. } if step == "power"), "{errors:?}");
    assert!(errors[0].to_string().contains("use `step`"));
}
