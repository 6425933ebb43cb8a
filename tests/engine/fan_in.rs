//! Fan-in of a list (`Pipeline::collect`), ordering-only edges (`Pipeline::wait_for`), and steps
//! that log staying testable as plain calls.

use crate::common;

use std::sync::Mutex;

use common::{reason, statuses, temp_store};
use mlflow::dag::WiringError;
use mlflow::prelude::*;
use mlflow::track::{self, TrackError};

#[step]
fn square(x: &u64) -> u64 {
    x * x
}

#[step]
fn total(xs: &Vec<u64>) -> u64 {
    xs.iter().sum()
}

#[step]
fn listed(xs: &Vec<u64>) -> String {
    format!("{xs:?}")
}

/// Builds `x_i = values[i]`, squares each, collects the squares, and sums them.
fn squares_pipeline(values: &[u64]) -> (Pipeline, Node<Vec<u64>>, Node<u64>) {
    let mut p = Pipeline::new("fan-in");
    let squares: Vec<Node<u64>> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = p.param(format!("x{i}"), v);
            p.step_named(format!("square{i}"), SquareStep, x)
        })
        .collect();
    let all = p.collect_named("squares", squares);
    let sum = p.step(TotalStep, all);
    (p, all, sum)
}

#[test]
fn collect_gathers_outputs_in_the_order_given_and_is_cached_like_a_step() {
    let (_dir, store) = temp_store();
    let (p, all, sum) = squares_pipeline(&[1, 2, 3]);
    let first = p.run(&store).unwrap().into_result().unwrap();
    assert_eq!(*first.get(all).unwrap(), [1, 4, 9]);
    assert_eq!(*first.get(sum).unwrap(), 14);
    assert_eq!(first.step("squares").unwrap().step, "collect");

    let again = p.run(&store).unwrap();
    assert!(statuses(&again).iter().all(|s| s.ends_with("=cached")), "{:?}", statuses(&again));

    // One element changes: its square, the list and the sum rerun; the other squares hit.
    let (p, all, sum) = squares_pipeline(&[1, 5, 3]);
    let changed = p.run(&store).unwrap();
    assert_eq!(
        statuses(&changed),
        ["square0=cached", "square1=ran", "square2=cached", "squares=ran", "total=ran"]
    );
    assert_eq!(reason(&changed, "squares"), Some("input"));
    let why = changed.step("squares").unwrap().miss_reason.as_ref().unwrap().to_string();
    assert!(why.contains("square1"), "{why}");
    assert_eq!(*changed.get(all).unwrap(), [1, 25, 9]);
    assert_eq!(*changed.get(sum).unwrap(), 35);
}

#[test]
fn collect_keeps_the_order_so_another_order_is_another_list() {
    let (_dir, store) = temp_store();
    let build = |order: [usize; 2]| {
        let mut p = Pipeline::new("order");
        let a = p.param("a", 1u64);
        let b = p.param("b", 2u64);
        let nodes = [a, b];
        let list = p.collect(order.map(|i| nodes[i]));
        let text = p.step(ListedStep, list);
        (p, text)
    };
    let (p, text) = build([0, 1]);
    assert_eq!(*p.run(&store).unwrap().get(text).unwrap(), "[1, 2]");
    let (p, text) = build([1, 0]);
    let report = p.run(&store).unwrap();
    assert_eq!(*report.get(text).unwrap(), "[2, 1]");
    assert_eq!(statuses(&report), ["collect=ran", "listed=ran"]);
}

#[test]
fn an_empty_collect_is_an_empty_list_and_names_do_not_clash() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("empty");
    let none = p.collect(Vec::<Node<u64>>::new());
    let one = p.param("one", 1u64);
    let single = p.collect([one]);
    let report = p.run(&store).unwrap();
    assert!(report.get(none).unwrap().is_empty());
    assert_eq!(*report.get(single).unwrap(), [1]);
    assert_eq!(p.node_name(single), Some("collect#2"));
}

#[test]
fn a_failed_element_skips_the_collect_and_names_the_failure() {
    #[step]
    fn checked(x: &u64) -> Result<u64, std::io::Error> {
        if *x == 0 { Err(std::io::Error::other("zero is not allowed")) } else { Ok(*x) }
    }
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("failing element");
    let items: Vec<Node<u64>> = [3u64, 0]
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = p.param(format!("x{i}"), v);
            p.step_named(format!("checked{i}"), CheckedStep, x)
        })
        .collect();
    let all = p.collect(items);
    let report = p.run_with(&store, mlflow::exec::RunOptions::new().fail_fast(false)).unwrap();
    assert!(!report.is_success());
    let skipped = report.step("collect").unwrap();
    assert_eq!(skipped.status, StepStatus::Skipped);
    assert_eq!(skipped.error.as_deref(), Some("upstream step `checked1` failed"));
    assert!(report.get(all).is_err());
}

#[test]
fn collecting_a_node_of_another_pipeline_is_a_wiring_error() {
    let mut other = Pipeline::new("other");
    let foreign = other.param("x", 1u64);
    let mut p = Pipeline::new("mine");
    let own = p.param("y", 2u64);
    p.collect([own, foreign]);
    let errors = p.check().unwrap_err();
    assert!(
        matches!(&errors[..], [WiringError::ForeignNode { step, position: 2, .. }] if step == "collect"),
        "{errors:?}"
    );
}

static ORDER: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

#[derive(Debug, thiserror::Error)]
#[error("{0} rows fail the check")]
struct Invalid(usize);

#[step(cache = false)]
fn gate(rows: &Vec<f64>) -> Result<usize, Invalid> {
    std::thread::sleep(std::time::Duration::from_millis(50));
    ORDER.lock().unwrap().push("gate");
    match rows.iter().filter(|r| !r.is_finite()).count() {
        0 => Ok(rows.len()),
        bad => Err(Invalid(bad)),
    }
}

#[step]
fn mean(rows: &Vec<f64>) -> f64 {
    ORDER.lock().unwrap().push("mean");
    let finite: Vec<f64> = rows.iter().copied().filter(|r| r.is_finite()).collect();
    finite.iter().sum::<f64>() / finite.len() as f64
}

fn gated(rows: Vec<f64>) -> (Pipeline, Node<f64>) {
    let mut p = Pipeline::new("gated");
    let rows = p.param("rows", rows);
    let checked = p.step(GateStep, rows);
    let mean = p.step(MeanStep, rows);
    p.wait_for(mean, checked);
    (p, mean)
}

#[test]
fn wait_for_runs_a_step_after_its_gate_skips_it_when_the_gate_fails_and_leaves_its_key_alone() {
    let (_dir, store) = temp_store();
    let (p, node) = gated(vec![1.0, 3.0]);
    // Without the edge, `mean` could start first on another worker: the gate sleeps 50 ms.
    let report = p.run_with(&store, mlflow::exec::RunOptions::new().threads(2)).unwrap();
    assert_eq!(*report.get(node).unwrap(), 2.0);
    assert_eq!(*ORDER.lock().unwrap(), ["gate", "mean"]);
    assert!(p.to_mermaid().contains("n1 -.-> n2"), "{}", p.to_mermaid());
    assert!(p.to_dot().contains("n1 -> n2 [style=dashed];"), "{}", p.to_dot());

    // The gate runs again (uncached) and passes: `mean` hits, its key ignores the gate.
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["gate=ran", "mean=cached"]);

    // The gate fails: `mean` is skipped even though its result is in the cache.
    let mut p = Pipeline::new("gated");
    let rows = p.param("rows", vec![1.0, 3.0]);
    let bad_rows = p.param("bad_rows", vec![f64::NAN]);
    let checked = p.step(GateStep, bad_rows);
    let mean = p.step(MeanStep, rows);
    p.wait_for(mean, checked);
    let report = p.run(&store).unwrap();
    let skipped = report.step("mean").unwrap();
    assert_eq!(skipped.status, StepStatus::Skipped);
    assert_eq!(skipped.error.as_deref(), Some("upstream step `gate` failed"));
    let err = report.into_result().unwrap_err();
    assert!(err.step_error::<Invalid>().is_some(), "{err}");
}

#[test]
fn wait_for_mistakes_are_wiring_errors_that_say_what_to_do() {
    let mut p = Pipeline::new("waits");
    let rows = p.param("rows", vec![1.0]);
    let mean = p.step(MeanStep, rows);
    let checked = p.step(GateStep, rows);
    p.wait_for(mean, checked); // the gate was added after the step
    p.wait_for(rows, mean); // a param cannot wait
    p.wait_for(mean, mean); // nor a step for itself
    let mut other = Pipeline::new("other");
    let foreign = other.param("x", 1u64);
    p.wait_for(mean, foreign);
    let messages: Vec<String> = p.check().unwrap_err().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        messages,
        [
            "pipeline `waits`: step `mean` cannot wait for `gate`, which was added after it (or is itself); add the step to wait for before the step that waits",
            "pipeline `waits`: `rows` is a param, and only steps wait; pass the step that needs `mean` first",
            "pipeline `waits`: step `mean` cannot wait for `mean`, which was added after it (or is itself); add the step to wait for before the step that waits",
            "pipeline `waits`: `wait_for` was given a node of another pipeline; use nodes returned by this pipeline's `param`/`step`",
        ]
    );
}

#[step]
fn scored(xs: &Vec<f64>) -> Result<f64, TrackError> {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    track::log_metric("mean", mean)?;
    track::set_tag("scorer", "mean")?;
    Ok(mean)
}

#[test]
fn a_step_that_logs_is_a_plain_function_in_a_unit_test() {
    assert_eq!(scored(&vec![1.0, 3.0]).unwrap(), 2.0);
    let (result, log) = track::capture(|| scored(&vec![1.0, 3.0]));
    assert_eq!(result.unwrap(), 2.0);
    assert_eq!(log.metric("mean"), Some(2.0));
    assert_eq!(log.tags["scorer"], "mean");
}
