//! The executor: parallelism, failures, panics, retries, timeouts, resume, events.

use crate::common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{reason, recording, statuses, temp_store};
use mlflow::exec::RunOptions;
use mlflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("the input {0} is not allowed")]
struct NotAllowed(u32);

#[step]
fn source(x: &u32) -> u32 {
    *x
}

#[step]
fn reject(x: &u32) -> Result<u32, NotAllowed> {
    Err(NotAllowed(*x))
}

#[step]
fn explode(_x: &u32) -> u32 {
    panic!("boom at step level")
}

#[step]
fn after(x: &u32) -> u32 {
    x + 1
}

#[step]
fn independent(x: &u32) -> u32 {
    x * 10
}

#[test]
fn a_failing_step_skips_its_dependents_and_independent_branches_finish() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("failing");
    let x = p.param("x", 5u32);
    let a = p.step(SourceStep, x);
    let bad = p.step(RejectStep, a);
    let downstream = p.step(AfterStep, bad);
    let ok = p.step(IndependentStep, a);
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["source=ran", "reject=failed", "after=skipped", "independent=ran"]);
    assert!(!report.is_success());
    let failed = report.step("reject").unwrap();
    assert_eq!(failed.error.as_deref(), Some("the input 5 is not allowed"));
    assert_eq!(failed.attempts, 1);
    assert_eq!(report.step("after").unwrap().error.as_deref(), Some("upstream step `reject` failed"));
    assert_eq!(*report.get(ok).unwrap(), 50);
    let err = report.get(downstream).unwrap_err().to_string();
    assert!(err.contains("after") && err.contains("skipped"), "{err}");
    let err = report.get(bad).unwrap_err().to_string();
    assert!(err.contains("reject") && err.contains("not allowed"), "{err}");
    assert!(report.to_string().ends_with("2 ran, 0 cached, 1 failed"), "{report}");
    assert_eq!(store.run(report.run_id()).unwrap().unwrap().status, "failed");
    // The independent branch was cached: rerunning resumes.
    let again = p.run(&store).unwrap();
    assert_eq!(statuses(&again), ["source=cached", "reject=failed", "after=skipped", "independent=cached"]);
}

#[derive(Debug, thiserror::Error)]
#[error("cannot load `{file}`")]
struct LoadFailed {
    file: String,
    #[source]
    cause: std::io::Error,
}

#[step]
fn load(file: &String) -> Result<u32, LoadFailed> {
    Err(LoadFailed { file: file.clone(), cause: std::io::Error::other("permission denied") })
}

#[test]
fn a_steps_typed_error_reaches_the_caller_and_main_prints_it_readably() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("typed-error");
    let file = p.param("file", String::from("train.csv"));
    let loaded = p.step(LoadStep, file);
    let report = p.run(&store).unwrap();
    // The report's display says why each step failed or was skipped.
    assert!(
        report.to_string().contains("step load: failed (")
            && report.to_string().contains("): cannot load `train.csv`: permission denied"),
        "{report}"
    );

    let err = report.get(loaded).unwrap_err();
    let typed = err.step_error::<LoadFailed>().expect("the step's own error, typed");
    assert_eq!((typed.file.as_str(), typed.cause.kind()), ("train.csv", std::io::ErrorKind::Other));
    let source = std::error::Error::source(&err).expect("the step's error is the source");
    assert!(source.downcast_ref::<LoadFailed>().is_some());

    // `fn main() -> mlflow::Result<()>` prints `Error: {err:?}`: the message, then the causes it
    // did not already say, one per line.
    fn main_like(report: &RunReport, node: Node<u32>) -> mlflow::Result<()> {
        report.get(node)?;
        Ok(())
    }
    let err = main_like(&report, loaded).unwrap_err();
    assert!(err.step_error::<LoadFailed>().is_some());
    assert_eq!(
        format!("Error: {err:?}"),
        "Error: step `load` failed: cannot load `train.csv`: permission denied"
    );
}

#[test]
fn a_panicking_step_is_caught_and_reported_with_its_message() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("panicking");
    let x = p.param("x", 1u32);
    let boom = p.step(ExplodeStep, x);
    p.step(AfterStep, boom);
    let ok = p.step(IndependentStep, x);
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["explode=failed", "after=skipped", "independent=ran"]);
    let error = report.step("explode").unwrap().error.clone().unwrap();
    assert!(error.contains("panicked") && error.contains("boom at step level"), "{error}");
    assert_eq!(*report.get(ok).unwrap(), 10);
}

static FLAKY_CALLS: AtomicUsize = AtomicUsize::new(0);

#[step(retries = 2, backoff = "1ms", cache = false)]
fn flaky(x: &u32) -> Result<u32, String> {
    let call = FLAKY_CALLS.fetch_add(1, Ordering::SeqCst);
    if call % 3 < 2 { Err(format!("transient failure #{}", call % 3 + 1)) } else { Ok(*x) }
}

static HOPELESS_CALLS: AtomicUsize = AtomicUsize::new(0);

#[step(retries = 1, backoff = "1ms")]
fn hopeless(_x: &u32) -> Result<u32, String> {
    HOPELESS_CALLS.fetch_add(1, Ordering::SeqCst);
    Err("always fails".into())
}

#[test]
fn retries_with_backoff_until_success_or_exhaustion() {
    let (_dir, store) = temp_store();
    let (options, events) = recording();
    let mut p = Pipeline::new("retries");
    let x = p.param("x", 9u32);
    let f = p.step(FlakyStep, x);
    p.step(HopelessStep, x);
    let report = p.run_with(&store, options.threads(1)).unwrap();
    let flaky = report.step("flaky").unwrap();
    assert_eq!((flaky.status, flaky.attempts), (StepStatus::Ran, 3));
    assert_eq!(*report.get(f).unwrap(), 9);
    let hopeless = report.step("hopeless").unwrap();
    assert_eq!((hopeless.status, hopeless.attempts), (StepStatus::Failed, 2));
    assert_eq!(HOPELESS_CALLS.load(Ordering::SeqCst), 2);
    let events = events.lock().unwrap();
    let retries: Vec<_> = events.iter().filter(|e| e.starts_with("StepRetrying")).collect();
    assert_eq!(retries.len(), 3, "{events:#?}");
    assert!(
        retries[0].contains("transient failure #1") && retries[0].contains("wait: 1ms"),
        "{}",
        retries[0]
    );
    assert!(retries[1].contains("wait: 2ms"), "backoff doubles: {}", retries[1]);
}

#[step(timeout = "100ms")]
fn sleepy(x: &u32) -> u32 {
    std::thread::sleep(Duration::from_secs(3));
    *x
}

#[test]
fn a_timeout_fails_the_step_and_stops_waiting_for_it() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("timeout");
    let x = p.param("x", 1u32);
    let slow = p.step(SleepyStep, x);
    p.step(AfterStep, slow);
    let ok = p.step(IndependentStep, x);
    let started = Instant::now();
    let report = p.run(&store).unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "the run must not wait for the abandoned attempt");
    assert_eq!(statuses(&report), ["sleepy=failed", "after=skipped", "independent=ran"]);
    let error = report.step("sleepy").unwrap().error.clone().unwrap();
    assert!(error.contains("timed out after 100.00ms"), "{error}");
    assert!(error.contains("cannot be killed"), "{error}");
    assert_eq!(*report.get(ok).unwrap(), 10);
}

static MARKER: Mutex<Option<PathBuf>> = Mutex::new(None);

#[step]
fn needs_marker(x: &u32) -> Result<u32, String> {
    let path = MARKER.lock().unwrap().clone().expect("marker path set by the test");
    if path.exists() { Ok(x + 100) } else { Err(format!("{} does not exist yet", path.display())) }
}

static SOURCE_CALLS: AtomicUsize = AtomicUsize::new(0);

#[step]
fn counted_source(x: &u32) -> u32 {
    SOURCE_CALLS.fetch_add(1, Ordering::SeqCst);
    *x
}

#[test]
fn resume_after_fixing_the_failure_reruns_only_what_did_not_finish() {
    let (dir, store) = temp_store();
    let marker = dir.path().join("marker");
    *MARKER.lock().unwrap() = Some(marker.clone());
    let mut p = Pipeline::new("resume");
    let x = p.param("x", 1u32);
    let a = p.step(CountedSourceStep, x);
    let b = p.step(NeedsMarkerStep, a);
    let c = p.step(AfterStep, b);
    p.step(IndependentStep, a);
    let first = p.run(&store).unwrap();
    assert_eq!(
        statuses(&first),
        ["counted_source=ran", "needs_marker=failed", "after=skipped", "independent=ran"]
    );
    std::fs::write(&marker, b"fixed").unwrap();
    let second = p.run(&store).unwrap();
    assert_eq!(
        statuses(&second),
        ["counted_source=cached", "needs_marker=ran", "after=ran", "independent=cached"]
    );
    assert_eq!(reason(&second, "needs_marker"), Some("not cached"));
    assert_eq!(*second.get(c).unwrap(), 102);
    assert_eq!(SOURCE_CALLS.load(Ordering::SeqCst), 1);
}

#[test]
fn fail_fast_stops_starting_new_steps() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("fail-fast");
    let x = p.param("x", 3u32);
    let bad = p.step(RejectStep, x);
    let later = p.step(SourceStep, x);
    p.step(AfterStep, bad);
    p.step(AfterStep, later);
    let report = p.run_with(&store, RunOptions::new().threads(1).fail_fast(true)).unwrap();
    assert_eq!(statuses(&report), ["reject=failed", "source=skipped", "after=skipped", "after#2=skipped"]);
    assert!(report.step("source").unwrap().error.as_deref().unwrap().contains("fail-fast"));
}

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// How long a step waits for a sibling to start: generous when a sibling is expected (a loaded
/// CI machine may be slow to start a worker thread), short when none can come.
static WAIT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

#[step(cache = false)]
fn overlapping(x: &u32) -> u32 {
    let now = CURRENT.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    // Wait (bounded) for a sibling to start, so that overlap is observed when the pool allows it.
    let deadline = Instant::now() + Duration::from_millis(WAIT_MS.load(Ordering::SeqCst));
    // Until two steps have overlapped once (then nobody needs to wait any more).
    while PEAK.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    CURRENT.fetch_sub(1, Ordering::SeqCst);
    *x
}

#[test]
fn independent_steps_run_in_parallel_within_the_thread_bound() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("parallel");
    let x = p.param("x", 1u32);
    for _ in 0..4 {
        p.step(OverlappingStep, x);
    }
    WAIT_MS.store(5_000, Ordering::SeqCst);
    p.run_with(&store, RunOptions::new().threads(2)).unwrap();
    assert_eq!(PEAK.swap(0, Ordering::SeqCst), 2, "two workers, four ready steps: two at a time");
    WAIT_MS.store(50, Ordering::SeqCst);
    p.run_with(&store, RunOptions::new().threads(1)).unwrap();
    assert_eq!(PEAK.swap(0, Ordering::SeqCst), 1, "one worker: one at a time");
}

#[step]
fn fan_in(a: &u32, b: &u32, c: &u32, d: &u32, e: &u32, f: &u32, g: &u32, h: &u32) -> u32 {
    a + b + c + d + e + f + g + h
}

#[step]
fn count_len(s: String) -> usize {
    s.len()
}

#[test]
fn fan_in_of_eight_and_owned_inputs() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("fan-in");
    let n: Vec<_> = (1..=8u32).map(|i| p.param(format!("p{i}"), i)).collect();
    let sum = p.step(FanInStep, (n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]));
    let s = p.param("s", "four".to_string());
    let len = p.step(CountLenStep, s);
    let report = p.run(&store).unwrap();
    assert_eq!(*report.get(sum).unwrap(), 36);
    assert_eq!(*report.get(len).unwrap(), 4);
    assert_eq!(*report.get(n[3]).unwrap(), 4, "params are nodes with outputs too");
}

#[test]
fn fan_out_shares_one_artifact_without_copying() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("fan-out");
    let x = p.param("x", 2u32);
    let a = p.step(SourceStep, x);
    let b = p.step(AfterStep, a);
    let c = p.step(IndependentStep, a);
    let report = p.run(&store).unwrap();
    assert_eq!((*report.get(b).unwrap(), *report.get(c).unwrap()), (3, 20));
    let shared = report.get_arc(a).unwrap();
    assert!(std::sync::Arc::ptr_eq(&shared, &report.get_arc(a).unwrap()));
}

#[test]
fn events_are_sent_in_order_for_every_state_change() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("events");
    let x = p.param("x", 2u32);
    let a = p.step(SourceStep, x);
    let bad = p.step(RejectStep, a);
    p.step(AfterStep, bad);
    let (options, events) = recording();
    p.run_with(&store, options.clone().threads(1)).unwrap();
    let kinds: Vec<String> =
        events.lock().unwrap().iter().map(|e| e.split([' ', '{']).next().unwrap().to_string()).collect();
    assert_eq!(
        kinds,
        [
            "RunStarted",
            "StepStarted",
            "StepFinished",
            "StepStarted",
            "StepFailed",
            "StepSkipped",
            "RunFinished"
        ]
    );
    events.lock().unwrap().clear();
    p.run_with(&store, options.threads(1)).unwrap();
    assert!(events.lock().unwrap()[1].starts_with("StepCached"), "{:?}", events.lock().unwrap());
}

#[test]
fn a_node_of_another_pipeline_is_a_clear_error() {
    let (_dir, store) = temp_store();
    let mut other = Pipeline::new("other");
    let foreign = other.param("x", 1u32);
    let mut p = Pipeline::new("mine");
    p.step(SourceStep, foreign);
    let err = p.run(&store).unwrap_err().to_string();
    assert!(
        err.contains("pipeline `mine`") && err.contains("another pipeline") && err.contains("`source`"),
        "{err}"
    );
    assert!(p.plan(&store).is_err());
    let report = other.run(&store).unwrap();
    let mut q = Pipeline::new("third");
    let mine = q.param("x", 1u32);
    assert!(report.get(mine).unwrap_err().to_string().contains("does not belong"));
}

#[test]
fn duplicate_param_names_are_rejected() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("dupes");
    p.param("x", 1u32);
    p.param("x", 2u32);
    let err = p.run(&store).unwrap_err().to_string();
    assert!(err.contains("two nodes are named `x`"), "{err}");
}

#[test]
fn an_unwritable_store_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let err = Store::open(file.join("store")).unwrap_err().to_string();
    assert!(err.contains("a-file/store") && err.contains("writable folder"), "{err}");

    // A read-only folder (meaningful only when not running as root, which ignores permissions).
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"").is_err() {
        let err = Store::open(ro.join("store")).unwrap_err().to_string();
        assert!(err.contains("read-only/store") && err.contains("writable"), "{err}");
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn drawings_show_every_node_and_edge() {
    let mut p = Pipeline::new("draw");
    let x = p.param("x", 1u32);
    let a = p.step(SourceStep, x);
    p.step(AfterStep, a);
    let mermaid = p.to_mermaid();
    assert_eq!(
        mermaid,
        "flowchart LR\n    n0([\"x\"])\n    n1[\"source\"]\n    n2[\"after\"]\n    n0 --> n1\n    n1 --> n2\n"
    );
    let dot = p.to_dot();
    assert!(dot.starts_with("digraph \"draw\" {"), "{dot}");
    assert!(dot.contains("n0 -> n1;") && dot.contains("n1 -> n2;") && dot.contains("shape=ellipse"), "{dot}");
}
