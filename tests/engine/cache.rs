//! The cache contract: hits, misses and the reasons given for them.

use crate::common;

use std::fs;

use common::{reason, statuses, temp_store};
use mlflow::exec::{MissReason, PlanOutcome, RunOptions};
use mlflow::prelude::*;

#[step]
fn numbers(n: &u32) -> Vec<u32> {
    (1..=*n).collect()
}

#[step]
fn total(xs: &Vec<u32>) -> u64 {
    xs.iter().map(|&x| x as u64).sum()
}

#[step]
fn label(prefix: &String) -> String {
    format!("{prefix}:")
}

#[step]
fn describe(label: &String, total: &u64) -> String {
    format!("{label}{total}")
}

fn pipeline(n: u32, prefix: &str) -> (Pipeline, Node<u64>, Node<String>) {
    let mut p = Pipeline::new("cache-test");
    let n = p.param("n", n);
    let prefix = p.param("prefix", prefix.to_string());
    let xs = p.step(NumbersStep, n);
    let sum = p.step(TotalStep, xs);
    let lab = p.step(LabelStep, prefix);
    let out = p.step(DescribeStep, (lab, sum));
    (p, sum, out)
}

#[test]
fn a_rerun_is_all_hits_with_the_same_outputs() {
    let (_dir, store) = temp_store();
    let (p, sum, out) = pipeline(10, "sum");
    let first = p.run(&store).unwrap();
    assert_eq!(statuses(&first), ["numbers=ran", "total=ran", "label=ran", "describe=ran"]);
    assert_eq!(reason(&first, "numbers"), Some("first run"));
    assert_eq!(*first.get(sum).unwrap(), 55);
    let again = p.run(&store).unwrap();
    assert_eq!(statuses(&again), ["numbers=cached", "total=cached", "label=cached", "describe=cached"]);
    assert_eq!(again.get(out).unwrap(), "sum:55");
    for (a, b) in first.steps().iter().zip(again.steps()) {
        assert_eq!(a.cache_key, b.cache_key, "{}", a.node);
        assert_eq!(a.output_hash, b.output_hash, "{}", a.node);
    }
    assert!(again.to_string().ends_with("0 ran, 4 cached, 0 failed"), "{again}");
}

#[test]
fn a_param_change_reruns_only_its_downstream() {
    let (_dir, store) = temp_store();
    pipeline(10, "sum").0.run(&store).unwrap();
    let (p, _, out) = pipeline(10, "total");
    let plan = p.plan(&store).unwrap();
    assert_eq!(plan.step("numbers").unwrap().outcome, PlanOutcome::Hit);
    assert_eq!(
        plan.step("label").unwrap().outcome,
        PlanOutcome::Miss(MissReason::Param { name: "prefix".into() })
    );
    assert_eq!(
        plan.step("describe").unwrap().outcome,
        PlanOutcome::DependsOn { upstream: vec!["label".into()] }
    );
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["numbers=cached", "total=cached", "label=ran", "describe=ran"]);
    assert_eq!(reason(&report, "label"), Some("param"));
    assert_eq!(reason(&report, "describe"), Some("input"));
    assert_eq!(report.get(out).unwrap(), "total:55");
}

mod v1 {
    use mlflow::prelude::*;
    #[step(name = "shared")]
    pub fn shared(x: &u32) -> u32 {
        x + 1
    }
}

mod v2 {
    use mlflow::prelude::*;
    #[step(name = "shared")]
    pub fn shared(x: &u32) -> u32 {
        x + 2
    }
}

#[test]
fn the_same_step_name_with_other_code_misses_with_reason_code() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("code-change");
    let x = p.param("x", 1u32);
    p.step(v1::SharedStep, x);
    p.run(&store).unwrap();

    let mut p = Pipeline::new("code-change");
    let x = p.param("x", 1u32);
    let y = p.step(v2::SharedStep, x);
    assert_eq!(p.plan(&store).unwrap().step("shared").unwrap().outcome, PlanOutcome::Miss(MissReason::Code));
    let report = p.run(&store).unwrap();
    assert_eq!(reason(&report, "shared"), Some("code"));
    assert_eq!(*report.get(y).unwrap(), 3);
}

#[step(version = 1, name = "versioned")]
fn versioned_v1(x: &u32) -> u32 {
    *x
}

#[step(version = 2, name = "versioned")]
fn versioned_v2(x: &u32) -> u32 {
    *x
}

#[test]
fn a_version_bump_misses_with_reason_version() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("version");
    let x = p.param("x", 1u32);
    p.step(VersionedV1Step, x);
    p.run(&store).unwrap();
    let mut p = Pipeline::new("version");
    let x = p.param("x", 1u32);
    p.step(VersionedV2Step, x);
    // The code hashes of the two functions differ too (other names); version is checked after code.
    let report = p.run(&store).unwrap();
    assert_eq!(report.steps()[0].status, StepStatus::Ran);
    assert!(matches!(reason(&report, "versioned"), Some("code") | Some("version")));
}

#[step]
fn parity(n: &u32) -> bool {
    n.is_multiple_of(2)
}

#[step]
fn announce(even: &bool) -> String {
    if *even { "even".into() } else { "odd".into() }
}

#[test]
fn early_cutoff_identical_upstream_bytes_let_downstream_hit() {
    let (_dir, store) = temp_store();
    let build = |n: u32| {
        let mut p = Pipeline::new("cutoff");
        let n = p.param("n", n);
        let even = p.step(ParityStep, n);
        let text = p.step(AnnounceStep, even);
        (p, text)
    };
    build(2).0.run(&store).unwrap();
    let (p, text) = build(4);
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["parity=ran", "announce=cached"]);
    assert_eq!(report.get(text).unwrap(), "even");
    let (p, text) = build(5);
    let report = p.run(&store).unwrap();
    assert_eq!(statuses(&report), ["parity=ran", "announce=ran"]);
    assert_eq!(reason(&report, "announce"), Some("input"));
    assert_eq!(report.get(text).unwrap(), "odd");
}

#[test]
fn a_deleted_artifact_is_a_miss_that_reruns_correctly() {
    let (_dir, store) = temp_store();
    let (p, sum, _) = pipeline(4, "x");
    let first = p.run(&store).unwrap();
    let hash = first.step("total").unwrap().output_hash.unwrap();
    fs::remove_file(store.artifact_path(hash).expect("a local store")).unwrap();
    let plan = p.plan(&store).unwrap();
    assert_eq!(plan.step("total").unwrap().outcome, PlanOutcome::Miss(MissReason::ArtifactMissing));
    let report = p.run(&store).unwrap();
    assert_eq!(reason(&report, "total"), Some("artifact missing"));
    assert_eq!(*report.get(sum).unwrap(), 10);
    assert_eq!(store.read_artifact(hash).unwrap(), mlflow::codec::encode(&10u64).unwrap());
    assert_eq!(p.run(&store).unwrap().count(StepStatus::Cached), 4);
}

#[test]
fn a_corrupted_artifact_is_a_miss_that_reruns_correctly() {
    let (_dir, store) = temp_store();
    let (p, _, out) = pipeline(4, "x");
    let first = p.run(&store).unwrap();
    let hash = first.step("describe").unwrap().output_hash.unwrap();
    let path = store.artifact_path(hash).expect("a local store");
    let mut bytes = fs::read(&path).unwrap();
    bytes[1] ^= 0x20; // "x:10" becomes "X:10": still a valid String, but not the recorded bytes
    fs::write(&path, &bytes).unwrap();
    let report = p.run(&store).unwrap();
    assert_eq!(reason(&report, "describe"), Some("artifact corrupt"));
    assert_eq!(report.get(out).unwrap(), "x:10");
    assert_eq!(store.read_artifact(hash).unwrap(), mlflow::codec::encode(&"x:10".to_string()).unwrap());
}

#[test]
fn a_leftover_temp_file_from_a_crash_is_never_served() {
    let (_dir, store) = temp_store();
    let (p, sum, _) = pipeline(4, "x");
    let first = p.run(&store).unwrap();
    let hash = first.step("total").unwrap().output_hash.unwrap();
    let path = store.artifact_path(hash).expect("a local store");
    // A crash between writing the temp file and renaming it: half the bytes, no final file.
    let bytes = fs::read(&path).unwrap();
    fs::remove_file(&path).unwrap();
    fs::write(path.with_file_name(".tmp-4242-0-0"), &bytes[..bytes.len() / 2]).unwrap();
    let report = p.run(&store).unwrap();
    assert_eq!(report.step("total").unwrap().status, StepStatus::Ran);
    assert_eq!(*report.get(sum).unwrap(), 10);
    assert_eq!(store.read_artifact(hash).unwrap(), bytes);
    let gc = store.gc_with(mlflow::gc::GcOptions { grace: std::time::Duration::ZERO }).unwrap();
    assert_eq!(gc.temp_files_removed, 1);
    assert_eq!(gc.artifacts_removed, 0);
}

#[test]
fn force_reruns_named_steps_and_early_cutoff_still_applies() {
    let (_dir, store) = temp_store();
    let (p, _, _) = pipeline(3, "x");
    p.run(&store).unwrap();
    let report = p.run_with(&store, RunOptions::new().force_steps(["total"])).unwrap();
    assert_eq!(statuses(&report), ["numbers=cached", "total=ran", "label=cached", "describe=cached"]);
    assert_eq!(reason(&report, "total"), Some("forced"));
    let report = p.run_with(&store, RunOptions::new().force_all()).unwrap();
    assert_eq!(report.count(StepStatus::Ran), 4);
    let plan = p.plan_with(&store, &RunOptions::new().force_steps(["label"])).unwrap();
    assert_eq!(plan.step("label").unwrap().outcome, PlanOutcome::Miss(MissReason::Forced));
    assert_eq!(plan.step("numbers").unwrap().outcome, PlanOutcome::Hit);
}

static UNCACHED_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[step(cache = false)]
fn uncached(x: &u32) -> u32 {
    UNCACHED_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    x * 3
}

#[test]
fn cache_false_always_runs_and_stores_nothing() {
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("uncached");
    let x = p.param("x", 7u32);
    let y = p.step(UncachedStep, x);
    for _ in 0..2 {
        let report = p.run(&store).unwrap();
        assert_eq!(reason(&report, "uncached"), Some("cache disabled"));
        assert_eq!(*report.get(y).unwrap(), 21);
        let hash = report.step("uncached").unwrap().output_hash.unwrap();
        assert!(store.read_artifact(hash).is_err(), "an uncached output is not written");
    }
    assert_eq!(UNCACHED_CALLS.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(p.plan(&store).unwrap().steps[0].outcome, PlanOutcome::Miss(MissReason::CacheDisabled));
}

#[test]
fn an_artifact_over_the_decode_limit_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _, out) = pipeline(200, "x");
    p.run(&Store::open(dir.path()).unwrap()).unwrap();
    let store = Store::open(dir.path()).unwrap().with_decode_limit(64);
    let report = p.run(&store).unwrap();
    let miss = report.step("numbers").unwrap().miss_reason.clone().unwrap();
    assert_eq!(miss.kind(), "artifact unreadable");
    assert!(miss.to_string().contains("over the limit of 64 bytes"), "{miss}");
    assert_eq!(report.get(out).unwrap(), "x:20100");
}

#[test]
fn gc_removes_only_what_nothing_refers_to() {
    let (_dir, store) = temp_store();
    let (p, _, _) = pipeline(3, "x");
    let report = p.run(&store).unwrap();
    let orphan = store.put_artifact(b"nobody refers to me").unwrap();
    let gc = store.gc_with(mlflow::gc::GcOptions { grace: std::time::Duration::ZERO }).unwrap();
    assert_eq!(gc.artifacts_removed, 1);
    assert!(store.read_artifact(orphan).is_err());
    for s in report.steps() {
        assert!(store.read_artifact(s.output_hash.unwrap()).is_ok(), "{}", s.node);
    }
    assert_eq!(p.run(&store).unwrap().count(StepStatus::Cached), 4);
}

#[test]
fn runs_are_recorded_in_the_store() {
    let (_dir, store) = temp_store();
    let (p, _, _) = pipeline(3, "x");
    let report = p.run(&store).unwrap();
    let run = store.run(report.run_id()).unwrap().expect("run recorded");
    assert_eq!(run.pipeline, "cache-test");
    assert_eq!(run.status, "succeeded");
    assert_eq!(run.params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["n", "prefix"]);
    assert_eq!(run.steps.len(), 4);
    assert_eq!(run.steps[1].node, "total");
    assert_eq!(run.steps[1].output, report.step("total").unwrap().output_hash);
    let keys = store.last_keys("cache-test").unwrap();
    let (key, parts) = &keys["total"];
    assert_eq!(Some(*key), run.steps[1].cache_key);
    assert_eq!(parts.inputs[0].node, "numbers");
    assert!(!parts.inputs[0].is_param && keys["numbers"].1.inputs[0].is_param);
    assert_eq!(store.run_ids("cache-test").unwrap(), [report.run_id()]);
}

mod helpers_a {
    use mlflow::prelude::*;
    #[helper]
    pub fn scale(x: f64) -> f64 {
        x * 2.0
    }
}

mod helpers_b {
    use mlflow::prelude::*;
    #[helper]
    pub fn scale(x: f64) -> f64 {
        x * 3.0
    }
}

// Token-identical steps whose only difference is the helper behind `scale`.
mod scaled_a {
    use super::helpers_a::scale;
    use mlflow::prelude::*;
    #[step(name = "scaled", deps = [scale])]
    pub fn scaled(x: &f64) -> f64 {
        scale(*x)
    }
}

mod scaled_b {
    use super::helpers_b::scale;
    use mlflow::prelude::*;
    #[step(name = "scaled", deps = [scale])]
    pub fn scaled(x: &f64) -> f64 {
        scale(*x)
    }
}

#[test]
fn a_changed_helper_in_deps_misses_naming_it() {
    use mlflow::step::Step;
    assert_eq!(scaled_a::ScaledStep::CODE_HASH, scaled_b::ScaledStep::CODE_HASH);
    let (_dir, store) = temp_store();
    let mut p = Pipeline::new("deps");
    let x = p.param("x", 1.5f64);
    p.step(scaled_a::ScaledStep, x);
    p.run(&store).unwrap();
    assert_eq!(p.run(&store).unwrap().count(StepStatus::Cached), 1);

    let mut p = Pipeline::new("deps");
    let x = p.param("x", 1.5f64);
    let y = p.step(scaled_b::ScaledStep, x);
    let changed = MissReason::Helpers { changed: vec!["scale".into()], added: vec![], removed: vec![] };
    assert_eq!(p.plan(&store).unwrap().steps[0].outcome, PlanOutcome::Miss(changed));
    let report = p.run(&store).unwrap();
    assert_eq!(reason(&report, "scaled"), Some("helpers"));
    assert_eq!(*report.get(y).unwrap(), 4.5);
}
