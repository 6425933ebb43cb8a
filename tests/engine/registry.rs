//! The model registry: versions, references, aliases with their history, guarded promotion, and
//! every error a user can run into.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::temp_store;
use mlflow::prelude::*;
use mlflow::registry::{
    AliasMove, ModelRef, ModelVersion, Promotion, RegisterRequest, Registry, RegistryError,
};
use mlflow::store::StoreError;
use serde::{Deserialize, Serialize};

const STORE_VAR: &str = "MLFLOW_TEST_REGISTRY_STORE";
const RUN_VAR: &str = "MLFLOW_TEST_REGISTRY_RUN";
const NODES_VAR: &str = "MLFLOW_TEST_REGISTRY_NODES";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ToyModel {
    weights: Vec<f64>,
    bias: f64,
}

#[step]
fn train(scale: &f64) -> ToyModel {
    ToyModel { weights: vec![*scale, 2.0 * scale], bias: 0.5 }
}

#[step]
fn broken(_scale: &f64) -> Result<ToyModel, std::io::Error> {
    Err(std::io::Error::other("the solver diverged"))
}

/// Runs a one-step pipeline and returns its run id and model (the node is named `train`).
fn trained(store: &Store, scale: f64) -> (String, ToyModel) {
    let mut p = Pipeline::new("toy");
    let s = p.param("scale", scale);
    let model = p.step(TrainStep, s);
    let report = p.run(store).unwrap();
    (report.run_id().to_owned(), report.get(model).unwrap().clone())
}

/// Runs a pipeline with `n` training nodes `train0`, `train1`, ... each producing a different
/// model, and returns the run id.
fn many_trained(store: &Store, n: usize) -> String {
    let mut p = Pipeline::new("many");
    for i in 0..n {
        let s = p.param(format!("scale{i}"), i as f64);
        p.step_named(format!("train{i}"), TrainStep, s);
    }
    p.run(store).unwrap().run_id().to_owned()
}

/// A clock the test sets by hand.
fn manual_clock(start: i64) -> (Arc<AtomicI64>, impl Fn() -> i64 + Send + Sync + 'static) {
    let now = Arc::new(AtomicI64::new(start));
    let read = Arc::clone(&now);
    (now, move || read.load(Ordering::SeqCst))
}

fn register(registry: &Registry<'_>, name: &str, run: &str, auc: f64) -> ModelVersion {
    registry.register(name, RegisterRequest::new(run, "train").metric("auc", auc)).unwrap()
}

#[test]
fn versions_increase_and_keep_what_was_registered() {
    let (_dir, store) = temp_store();
    let (now, clock) = manual_clock(1_000);
    let registry = Registry::new(&store).unwrap().with_clock(clock);
    let mut runs = Vec::new();
    for (i, scale) in [1.0, 2.0, 3.0].into_iter().enumerate() {
        let (run, _) = trained(&store, scale);
        now.store(1_000 * (i as i64 + 1), Ordering::SeqCst);
        let v = registry
            .register(
                "toy",
                RegisterRequest::new(&run, "train")
                    .metric("auc", 0.7 + scale / 100.0)
                    .metric("f1", 0.5)
                    .description(format!("scale {scale}"))
                    .tag("scale", scale.to_string()),
            )
            .unwrap();
        assert_eq!(v.version, i as u32 + 1);
        runs.push(run);
    }
    let v2 = registry.version("toy", 2).unwrap();
    let record = store.run(&runs[1]).unwrap().unwrap();
    assert_eq!(v2.run_id, runs[1]);
    assert_eq!((v2.pipeline.as_str(), v2.node.as_str(), v2.step.as_str()), ("toy", "train", "train"));
    assert_eq!(Some(v2.artifact), record.steps[0].output);
    assert_eq!(v2.size, store.read_artifact(v2.artifact).unwrap().len() as u64);
    assert_eq!(v2.metrics, BTreeMap::from([("auc".to_owned(), 0.72), ("f1".to_owned(), 0.5)]));
    assert_eq!(v2.description, "scale 2");
    assert_eq!(v2.tags, BTreeMap::from([("scale".to_owned(), "2".to_owned())]));
    assert_eq!(v2.created_ms, 2_000);
    assert!(v2.aliases.is_empty());
    assert_eq!(v2.reference(), "toy/2");

    let all = registry.versions("toy").unwrap();
    assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(all[1], v2);
    assert_eq!(registry.resolve("toy").unwrap().version, 3, "a bare name is the latest version");
    assert_eq!(registry.resolve("toy/1").unwrap().run_id, runs[0]);

    let summary = registry.model("toy").unwrap();
    assert_eq!((summary.latest_version, summary.created_ms, summary.updated_ms), (3, 1_000, 3_000));
}

#[test]
fn the_same_artifact_twice_under_one_name_is_the_same_version() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, _) = trained(&store, 1.0);
    let first = registry
        .register("toy", RegisterRequest::new(&run, "train").metric("auc", 0.8).description("first"))
        .unwrap();
    // A rerun is all cached: same artifact, new run id.
    let (rerun, _) = trained(&store, 1.0);
    assert_ne!(rerun, run);
    let again = registry
        .register("toy", RegisterRequest::new(&rerun, "train").metric("auc", 0.9).description("second"))
        .unwrap();
    assert_eq!(again, first, "the existing version comes back unchanged");
    assert_eq!(registry.versions("toy").unwrap().len(), 1);
    // Under another name it is a version of that model.
    let other = registry.register("other", RegisterRequest::new(&rerun, "train")).unwrap();
    assert_eq!(other.version, 1);
    // Forward lineage: from the artifact to every version it became.
    let found = registry.versions_with_artifact(first.artifact).unwrap();
    assert_eq!(found, [other, first]);
}

#[test]
fn models_are_listed_by_name_with_their_aliases() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    assert!(registry.models().unwrap().is_empty());
    let (a, _) = trained(&store, 1.0);
    let (b, _) = trained(&store, 2.0);
    register(&registry, "zeta", &a, 0.5);
    register(&registry, "alpha", &a, 0.5);
    register(&registry, "alpha", &b, 0.6);
    registry.set_alias("alpha", "staging", 2, "").unwrap();
    registry.set_alias("alpha", "production", 1, "").unwrap();
    let models = registry.models().unwrap();
    let names: Vec<_> = models.iter().map(|m| (m.name.as_str(), m.latest_version)).collect();
    assert_eq!(names, [("alpha", 2), ("zeta", 1)]);
    assert_eq!(models[0].aliases, BTreeMap::from([("production".into(), 1), ("staging".into(), 2)]));
    assert!(models[1].aliases.is_empty());
    assert_eq!(registry.aliases("alpha").unwrap(), models[0].aliases);
    assert_eq!(registry.version("alpha", 1).unwrap().aliases, ["production"]);
    assert_eq!(registry.model("alpha").unwrap(), models[0]);
}

#[test]
fn concurrent_registrations_from_threads_never_share_a_version() {
    let (dir, store) = temp_store();
    let run = many_trained(&store, 16);
    let path = dir.path().join("store");
    // Two threads, each with its own connection (as two processes would have), register
    // interleaved halves; then both register everything again (all duplicates).
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (path, run) = (path.clone(), run.clone());
            std::thread::spawn(move || {
                let store = Store::open(path).unwrap();
                let registry = Registry::new(&store).unwrap();
                let mine: Vec<usize> = (0..16).filter(|i| i % 2 == t).collect();
                let mut got = Vec::new();
                for i in mine.into_iter().chain(0..16) {
                    let v =
                        registry.register("race", RegisterRequest::new(&run, format!("train{i}"))).unwrap();
                    got.push((i, v.version));
                }
                got
            })
        })
        .collect();
    let mut by_node = BTreeMap::new();
    for handle in handles {
        for (node, version) in handle.join().unwrap() {
            let seen = *by_node.entry(node).or_insert(version);
            assert_eq!(seen, version, "node train{node} got two versions");
        }
    }
    let registry = Registry::new(&store).unwrap();
    let versions = registry.versions("race").unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=16).collect::<Vec<u32>>());
    let mut nodes: Vec<_> = versions.iter().map(|v| v.node.clone()).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 16, "each artifact is exactly one version");
}

/// Not a test of its own: the body of each child process started below.
#[test]
#[ignore = "run as a child process by two_processes_register_without_duplicate_versions"]
fn child_process_registers() {
    let path =
        std::env::var(STORE_VAR).expect("started by two_processes_register_without_duplicate_versions");
    let run = std::env::var(RUN_VAR).expect("run id");
    let nodes = std::env::var(NODES_VAR).expect("node list");
    let store = Store::open(path).expect("open the shared store");
    let registry = Registry::new(&store).expect("registry");
    for node in nodes.split(',') {
        let v = registry.register("shared", RegisterRequest::new(&run, node)).expect("register");
        println!("REGISTERED {node} {}", v.version);
    }
}

#[test]
fn two_processes_register_without_duplicate_versions() {
    let (dir, store) = temp_store();
    let run = many_trained(&store, 20);
    let store_path = dir.path().join("store");
    let children: Vec<_> = (0..2)
        .map(|c| {
            let nodes: Vec<String> = (0..20).filter(|i| i % 2 == c).map(|i| format!("train{i}")).collect();
            let nodes = nodes.join(",");
            common::spawn_ignored_test(
                "child_process_registers",
                &[(STORE_VAR, store_path.as_os_str()), (RUN_VAR, run.as_ref()), (NODES_VAR, nodes.as_ref())],
            )
        })
        .collect();
    let mut reported = Vec::new();
    for child in children {
        let stdout = common::child_stdout(child);
        // The harness may print its own text before ours on the same line.
        for line in stdout.lines().filter_map(|l| l.split_once("REGISTERED ").map(|(_, rest)| rest)) {
            let (_, version) = line.split_once(' ').unwrap();
            reported.push(version.trim().parse::<u32>().unwrap());
        }
    }
    reported.sort();
    assert_eq!(reported, (1..=20).collect::<Vec<u32>>(), "every version number handed out once");
    let versions = Registry::new(&store).unwrap().versions("shared").unwrap();
    assert_eq!(versions.len(), 20);
}

#[test]
fn alias_moves_are_kept_and_answer_which_version_held_it_when() {
    let (_dir, store) = temp_store();
    let (now, clock) = manual_clock(0);
    let registry = Registry::new(&store).unwrap().with_clock(clock);
    for scale in [1.0, 2.0, 3.0] {
        let (run, _) = trained(&store, scale);
        register(&registry, "toy", &run, 0.5);
    }
    let at = |t: i64| now.store(t, Ordering::SeqCst);
    at(1_000);
    let m1 = registry.set_alias("toy", "production", 1, "first release").unwrap().unwrap();
    at(2_000);
    let m2 = registry.set_alias("toy", "production", 2, "better recall").unwrap().unwrap();
    at(2_500);
    assert!(registry.set_alias("toy", "production", 2, "same again").unwrap().is_none(), "not a move");
    at(3_000);
    let m3 = registry.remove_alias("toy", "production", "incident 42").unwrap();
    at(4_000);
    let m4 = registry.set_alias("toy", "production", 3, "fixed").unwrap().unwrap();
    registry.set_alias("toy", "staging", 3, "").unwrap();

    assert_eq!((m1.version, m1.previous, m1.at_ms), (Some(1), None, 1_000));
    assert_eq!((m2.version, m2.previous, m2.at_ms), (Some(2), Some(1), 2_000));
    assert_eq!(
        (m3.version, m3.previous, m3.at_ms, m3.reason.as_str()),
        (None, Some(2), 3_000, "incident 42")
    );
    assert_eq!((m4.version, m4.previous), (Some(3), None));
    assert!(!m1.forced && m1.guard.is_none());

    let history = registry.alias_history("toy", "production").unwrap();
    assert_eq!(history, [m1, m2, m3, m4]);
    assert_eq!(registry.history("toy").unwrap().len(), 5, "both aliases");

    let expected = [
        (i64::MIN, None),
        (999, None),
        (1_000, Some(1)),
        (1_999, Some(1)),
        (2_000, Some(2)),
        (2_999, Some(2)),
        (3_000, None),
        (3_999, None),
        (4_000, Some(3)),
        (i64::MAX, Some(3)),
    ];
    for (t, version) in expected {
        assert_eq!(registry.alias_at("toy", "production", t).unwrap(), version, "at {t}");
    }
    assert_eq!(registry.resolve("toy@production").unwrap().version, 3);
    assert_eq!(registry.version("toy", 3).unwrap().aliases, ["production", "staging"]);
}

#[test]
fn alias_times_never_go_backwards() {
    let (_dir, store) = temp_store();
    let (now, clock) = manual_clock(5_000);
    let registry = Registry::new(&store).unwrap().with_clock(clock);
    let (a, _) = trained(&store, 1.0);
    let (b, _) = trained(&store, 2.0);
    register(&registry, "toy", &a, 0.5);
    register(&registry, "toy", &b, 0.5);
    registry.set_alias("toy", "production", 1, "").unwrap();
    now.store(4_000, Ordering::SeqCst); // the clock steps back
    let moved = registry.set_alias("toy", "production", 2, "").unwrap().unwrap();
    assert_eq!(moved.at_ms, 5_000, "stamped with the previous move's time");
    assert_eq!(registry.alias_at("toy", "production", 5_000).unwrap(), Some(2), "the later move wins a tie");
    assert_eq!(registry.alias_at("toy", "production", 4_999).unwrap(), None);
}

/// A registry with versions 1 (auc 0.80, loss 0.40), 2 (auc 0.85, loss 0.45), 3 (no metrics)
/// and 4 (loss only, 0.30).
fn promotion_fixture(store: &Store) -> Registry<'_> {
    let registry = Registry::new(store).unwrap();
    let metrics: [&[(&str, f64)]; 4] =
        [&[("auc", 0.80), ("loss", 0.40)], &[("auc", 0.85), ("loss", 0.45)], &[], &[("loss", 0.30)]];
    for (i, metrics) in metrics.into_iter().enumerate() {
        let (run, _) = trained(store, i as f64 + 1.0);
        registry
            .register("toy", RegisterRequest::new(run, "train").metrics(metrics.iter().copied()))
            .unwrap();
    }
    registry
}

#[test]
fn promotion_with_no_holder_goes_through_and_a_better_candidate_replaces_the_holder() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    let first =
        registry.promote("toy", 1, "production", Promotion::new("auc").reason("first")).unwrap().unwrap();
    let guard = first.guard.unwrap();
    assert!(guard.passed && !first.forced);
    assert_eq!((guard.candidate, guard.current_version, guard.current), (Some(0.80), None, None));
    let second =
        registry.promote("toy", 2, "production", Promotion::new("auc").margin(0.05)).unwrap().unwrap();
    let guard = second.guard.unwrap();
    assert!(guard.passed, "0.85 >= 0.80 + 0.05");
    assert_eq!((guard.candidate, guard.current_version, guard.current), (Some(0.85), Some(1), Some(0.80)));
    assert_eq!((second.version, second.previous), (Some(2), Some(1)));
    assert!(
        registry.promote("toy", 2, "production", Promotion::new("auc")).unwrap().is_none(),
        "already there"
    );
    assert_eq!(registry.alias_history("toy", "production").unwrap().len(), 2);
}

#[test]
fn a_worse_candidate_is_refused_with_both_figures() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    registry.promote("toy", 2, "production", Promotion::new("auc")).unwrap();
    let err = registry.promote("toy", 1, "production", Promotion::new("auc")).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::PromotionRefused {
                candidate_version: 1,
                candidate: 0.80,
                current_version: 2,
                current: 0.85,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    for part in [
        "`toy` version 1",
        "`production`",
        "auc is 0.8,",
        "must be at least 0.85",
        "version 2, has auc 0.85;",
        "force",
    ] {
        assert!(text.contains(part), "{part:?} missing from: {text}");
    }
    // A margin can refuse an improvement that is too small.
    registry.set_alias("toy", "staging", 1, "").unwrap();
    let err = registry.promote("toy", 2, "staging", Promotion::new("auc").margin(0.1)).unwrap_err();
    assert!(err.to_string().contains("must be at least 0.9"), "{err}");
    assert!(err.to_string().contains("has auc 0.8, plus a margin of 0.1;"), "{err}");
    // Nothing was recorded for refusals.
    assert_eq!(registry.alias_history("toy", "production").unwrap().len(), 1);
    assert_eq!(registry.resolve("toy@production").unwrap().version, 2);
}

#[test]
fn lower_is_better_metrics_are_guarded_the_other_way() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    let loss = || Promotion::new("loss").lower_is_better();
    registry.promote("toy", 1, "production", loss()).unwrap();
    let err = registry.promote("toy", 2, "production", loss()).unwrap_err();
    assert!(err.to_string().contains("loss is 0.45, but it must be at most 0.4"), "{err}");
    assert!(registry.promote("toy", 4, "production", loss()).unwrap().unwrap().guard.unwrap().passed);
    // A negative margin tolerates a small loss of quality: 0.40 <= 0.30 + 0.15.
    let back = registry.promote("toy", 1, "production", loss().margin(-0.15)).unwrap().unwrap();
    assert!(back.guard.unwrap().passed);
}

#[test]
fn a_forced_promotion_is_recorded_as_forced() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    registry.promote("toy", 2, "production", Promotion::new("auc")).unwrap();
    let forced = registry
        .promote("toy", 1, "production", Promotion::new("auc").force(true).reason("rollback"))
        .unwrap()
        .unwrap();
    assert!(forced.forced);
    let guard = forced.guard.as_ref().unwrap();
    assert!(!guard.passed);
    assert_eq!((guard.candidate, guard.current_version, guard.current), (Some(0.80), Some(2), Some(0.85)));
    let last = registry.alias_history("toy", "production").unwrap().pop().unwrap();
    assert_eq!(last, forced);
    assert_eq!(last.reason, "rollback");
    // Force when the guard would pass anyway: not recorded as forced.
    let unneeded =
        registry.promote("toy", 2, "production", Promotion::new("auc").force(true)).unwrap().unwrap();
    assert!(!unneeded.forced && unneeded.guard.unwrap().passed);
}

#[test]
fn a_missing_metric_refuses_unless_forced() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    // The candidate lacks it, even with no holder.
    let err = registry.promote("toy", 3, "production", Promotion::new("auc")).unwrap_err();
    assert!(matches!(err, RegistryError::MissingMetric { version: 3, candidate_version: 3, .. }), "{err:?}");
    assert!(
        err.to_string().contains("version 3 (the candidate) has no `auc` metric (it has: no metrics)"),
        "{err}"
    );
    // The holder lacks it.
    registry.promote("toy", 4, "production", Promotion::new("loss").lower_is_better()).unwrap();
    let err = registry.promote("toy", 2, "production", Promotion::new("auc")).unwrap_err();
    assert!(matches!(err, RegistryError::MissingMetric { version: 4, candidate_version: 2, .. }), "{err:?}");
    assert!(
        err.to_string().contains("version 4 (the current `production`) has no `auc` metric (it has: loss)"),
        "{err}"
    );
    // Forced: recorded with what was known.
    let forced =
        registry.promote("toy", 2, "production", Promotion::new("auc").force(true)).unwrap().unwrap();
    assert!(forced.forced);
    let guard = forced.guard.unwrap();
    assert_eq!((guard.candidate, guard.current_version, guard.current), (Some(0.85), Some(4), None));
}

#[test]
fn references_parse_and_print_back() {
    let cases = [
        ("titanic", ModelRef::Latest { name: "titanic".into() }),
        ("titanic/3", ModelRef::Version { name: "titanic".into(), version: 3 }),
        ("titanic/007", ModelRef::Version { name: "titanic".into(), version: 7 }),
        (
            "my-model.v2_x@production",
            ModelRef::Alias { name: "my-model.v2_x".into(), alias: "production".into() },
        ),
    ];
    for (text, expected) in cases {
        let parsed: ModelRef = text.parse().unwrap();
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_string().parse::<ModelRef>().unwrap(), expected);
    }
    let bad = [
        ("", "it is empty"),
        ("/3", "the model name ``: it is empty"),
        ("@prod", "the model name ``: it is empty"),
        ("titanic/", "the version after `/` is missing"),
        ("titanic/x", "`x` is not a version number"),
        ("titanic/-1", "`-1` is not a version number"),
        ("titanic/+1", "`+1` is not a version number"),
        ("titanic/0", "versions start at 1"),
        ("titanic/99999999999", "too large"),
        ("titanic/3/4", "`3/4` is not a version number"),
        ("titanic@", "the alias after `@` is missing"),
        ("titanic@prod@x", "the alias `prod@x`: character '@'"),
        ("titanic/3@prod", "both `/` and `@`"),
        ("my model", "character ' ' (position 3) is not allowed"),
        ("titanic@pro duction", "the alias `pro duction`"),
    ];
    for (text, problem) in bad {
        let err = text.parse::<ModelRef>().unwrap_err();
        assert!(matches!(err, RegistryError::BadReference { .. }), "{text}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(problem), "{text}: {message}");
        assert!(message.contains("NAME@ALIAS"), "says what to write: {message}");
    }
}

#[test]
fn models_load_back_typed_and_verified() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, model) = trained(&store, 4.0);
    register(&registry, "toy", &run, 0.9);
    registry.promote("toy", 1, "production", Promotion::new("auc")).unwrap();
    for reference in ["toy", "toy/1", "toy@production"] {
        assert_eq!(registry.load::<ToyModel>(reference).unwrap(), model, "{reference}");
    }
    let v = registry.resolve("toy").unwrap();
    assert_eq!(registry.load_bytes("toy@production").unwrap(), store.read_artifact(v.artifact).unwrap());

    let err = registry.load::<Vec<String>>("toy/1").unwrap_err();
    assert!(matches!(err, RegistryError::Load { .. }), "{err:?}");
    assert!(
        err.to_string().contains("model `toy/1`") && err.to_string().contains("with the type its step"),
        "{err}"
    );

    // A corrupted file is caught, not decoded.
    std::fs::write(store.artifact_path(v.artifact).expect("a local store"), b"tampered").unwrap();
    let err = registry.load::<ToyModel>("toy").unwrap_err();
    assert!(matches!(err, RegistryError::Store(StoreError::ArtifactCorrupt { .. })), "{err:?}");
    assert!(matches!(
        registry.load_bytes("toy"),
        Err(RegistryError::Store(StoreError::ArtifactCorrupt { .. }))
    ));
    std::fs::remove_file(store.artifact_path(v.artifact).expect("a local store")).unwrap();
    let err = registry.load::<ToyModel>("toy").unwrap_err();
    assert!(matches!(err, RegistryError::Store(StoreError::ArtifactMissing { .. })), "{err:?}");
}

#[test]
fn registering_needs_a_real_run_step_and_output() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, _) = trained(&store, 1.0);

    let err = registry.register("toy", RegisterRequest::new("no-such-run", "train")).unwrap_err();
    assert!(matches!(err, RegistryError::RunNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no such run") && err.to_string().contains("no-such-run"), "{err}");

    let err = registry.register("toy", RegisterRequest::new(&run, "trian")).unwrap_err();
    assert!(matches!(err, RegistryError::StepNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("no step `trian`; its steps are: train"), "{err}");

    let mut p = Pipeline::new("failing");
    let s = p.param("scale", 1.0f64);
    p.step(BrokenStep, s);
    let failed = p.run(&store).unwrap();
    assert!(!failed.is_success());
    let err = registry.register("toy", RegisterRequest::new(failed.run_id(), "broken")).unwrap_err();
    assert!(matches!(err, RegistryError::NoOutput { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no output (status `failed`") && text.contains("the solver diverged"), "{text}");

    // The artifact itself must be there and sound.
    let output = store.run(&run).unwrap().unwrap().steps[0].output.unwrap();
    std::fs::write(store.artifact_path(output).expect("a local store"), b"tampered").unwrap();
    let err = registry.register("toy", RegisterRequest::new(&run, "train")).unwrap_err();
    assert!(matches!(err, RegistryError::Store(StoreError::ArtifactCorrupt { .. })), "{err:?}");

    assert!(registry.models().unwrap().is_empty(), "nothing was registered");
}

#[test]
fn bad_metrics_tags_and_margins_are_refused() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, _) = trained(&store, 1.0);
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err =
            registry.register("toy", RegisterRequest::new(&run, "train").metric("auc", value)).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidMetric { .. }), "{err:?}");
        assert!(err.to_string().contains("metric `auc`") && err.to_string().contains("finite"), "{err}");
    }
    let err = registry.register("toy", RegisterRequest::new(&run, "train").metric("", 1.0)).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidKey { kind: "metric name", .. }), "{err:?}");
    let err = registry.register("toy", RegisterRequest::new(&run, "train").tag("a\nb", "x")).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidKey { kind: "tag key", .. }), "{err:?}");
    assert!(err.to_string().contains("control characters"), "{err}");
    assert!(registry.models().unwrap().is_empty());

    register(&registry, "toy", &run, 0.5);
    for margin in [f64::NAN, f64::INFINITY] {
        let err = registry.promote("toy", 1, "production", Promotion::new("auc").margin(margin)).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidMargin { .. }), "{err:?}");
    }
    let err = registry.promote("toy", 1, "production", Promotion::new("")).unwrap_err();
    assert!(matches!(err, RegistryError::InvalidKey { kind: "metric name", .. }), "{err:?}");
}

#[test]
fn bad_model_names_and_aliases_are_refused_everywhere() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, _) = trained(&store, 1.0);
    register(&registry, "toy", &run, 0.5);
    let is_bad_name = |result: Result<(), RegistryError>, kind: &str| {
        let err = result.unwrap_err();
        assert!(matches!(&err, RegistryError::InvalidName { kind: k, .. } if *k == kind), "{err:?}");
        assert!(err.to_string().contains("use 1 to 128 letters, digits"), "{err}");
    };
    for name in ["", "has space", "slash/ed", "at@sign", "ünï", &"x".repeat(129)] {
        is_bad_name(registry.register(name, RegisterRequest::new(&run, "train")).map(drop), "model name");
        is_bad_name(registry.versions(name).map(drop), "model name");
        is_bad_name(registry.version(name, 1).map(drop), "model name");
        is_bad_name(registry.model(name).map(drop), "model name");
        is_bad_name(registry.aliases(name).map(drop), "model name");
        is_bad_name(registry.history(name).map(drop), "model name");
        is_bad_name(registry.set_alias("toy", name, 1, "").map(drop), "alias");
        is_bad_name(registry.remove_alias("toy", name, "").map(drop), "alias");
        is_bad_name(registry.promote("toy", 1, name, Promotion::new("auc")).map(drop), "alias");
        is_bad_name(registry.alias_at("toy", name, 0).map(drop), "alias");
        is_bad_name(registry.alias_history("toy", name).map(drop), "alias");
        let reference = ModelRef::Alias { name: "toy".into(), alias: name.to_owned() };
        is_bad_name(registry.resolve_ref(&reference).map(drop), "alias");
    }
    let err = registry.register("my model", RegisterRequest::new(&run, "train")).unwrap_err();
    assert!(err.to_string().contains("invalid model name \"my model\": character ' ' (position 3)"), "{err}");
}

#[test]
fn unknown_models_versions_and_aliases_are_clear_errors() {
    let (_dir, store) = temp_store();
    let registry = Registry::new(&store).unwrap();
    let (run, _) = trained(&store, 1.0);
    register(&registry, "toy", &run, 0.5);
    registry.set_alias("toy", "staging", 1, "").unwrap();

    let unknown_model = |result: Result<(), RegistryError>| {
        let err = result.unwrap_err();
        assert!(matches!(&err, RegistryError::UnknownModel { name } if name == "nope"), "{err:?}");
        assert!(
            err.to_string().contains("no model named `nope`")
                && err.to_string().contains("mlflow-pipelines models")
        );
    };
    unknown_model(registry.model("nope").map(drop));
    unknown_model(registry.versions("nope").map(drop));
    unknown_model(registry.version("nope", 1).map(drop));
    unknown_model(registry.resolve("nope").map(drop));
    unknown_model(registry.resolve("nope/1").map(drop));
    unknown_model(registry.resolve("nope@staging").map(drop));
    unknown_model(registry.load_bytes("nope").map(drop));
    unknown_model(registry.aliases("nope").map(drop));
    unknown_model(registry.set_alias("nope", "staging", 1, "").map(drop));
    unknown_model(registry.remove_alias("nope", "staging", "").map(drop));
    unknown_model(registry.promote("nope", 1, "staging", Promotion::new("auc")).map(drop));
    unknown_model(registry.alias_at("nope", "staging", 0).map(drop));
    unknown_model(registry.alias_history("nope", "staging").map(drop));
    unknown_model(registry.history("nope").map(drop));

    let unknown_version = |result: Result<(), RegistryError>| {
        let err = result.unwrap_err();
        assert!(matches!(err, RegistryError::UnknownVersion { version: 9, latest: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("model `toy` has no version 9: its versions are 1 to 1"), "{err}");
    };
    unknown_version(registry.version("toy", 9).map(drop));
    unknown_version(registry.resolve("toy/9").map(drop));
    unknown_version(registry.load::<ToyModel>("toy/9").map(drop));
    unknown_version(registry.set_alias("toy", "staging", 9, "").map(drop));
    unknown_version(registry.promote("toy", 9, "staging", Promotion::new("auc")).map(drop));

    let unknown_alias = |result: Result<(), RegistryError>| {
        let err = result.unwrap_err();
        assert!(matches!(&err, RegistryError::UnknownAlias { alias, .. } if alias == "prod"), "{err:?}");
        assert!(
            err.to_string().contains("model `toy` has no alias `prod`; its aliases are: staging (version 1)")
        );
    };
    unknown_alias(registry.resolve("toy@prod").map(drop));
    unknown_alias(registry.remove_alias("toy", "prod", "").map(drop));
    unknown_alias(registry.alias_at("toy", "prod", 0).map(drop));
    unknown_alias(registry.alias_history("toy", "prod").map(drop));

    // A removed alias no longer resolves, but its history remains.
    registry.remove_alias("toy", "staging", "").unwrap();
    let err = registry.resolve("toy@staging").unwrap_err();
    assert!(err.to_string().contains("has no alias `staging`; it has no aliases"), "{err}");
    assert!(matches!(registry.remove_alias("toy", "staging", ""), Err(RegistryError::UnknownAlias { .. })));
    assert_eq!(registry.alias_history("toy", "staging").unwrap().len(), 2);
    assert_eq!(registry.alias_at("toy", "staging", i64::MAX).unwrap(), None);
}

#[test]
fn registry_errors_convert_into_the_library_error() {
    fn show(store: &Store) -> mlflow::Result<ModelVersion> {
        Ok(Registry::new(store)?.resolve("titanic@production")?)
    }
    let (_dir, store) = temp_store();
    let err = show(&store).unwrap_err();
    assert!(
        matches!(
            err,
            mlflow::Error::Engine(mlflow::EngineError::Registry(RegistryError::UnknownModel { .. }))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no model named `titanic`"), "{err}");
}

#[test]
fn versions_and_moves_survive_a_serde_round_trip() {
    let (_dir, store) = temp_store();
    let registry = promotion_fixture(&store);
    registry.promote("toy", 1, "production", Promotion::new("auc")).unwrap();
    registry.promote("toy", 2, "production", Promotion::new("auc").reason("better")).unwrap();
    let version = registry.version("toy", 2).unwrap();
    let bytes = mlflow::codec::encode(&version).unwrap();
    assert_eq!(mlflow::codec::decode::<ModelVersion>(&bytes, 1 << 20).unwrap(), version);
    let history = registry.history("toy").unwrap();
    let bytes = mlflow::codec::encode(&history).unwrap();
    assert_eq!(mlflow::codec::decode::<Vec<AliasMove>>(&bytes, 1 << 20).unwrap(), history);
    // References serialize as their text.
    let reference: ModelRef = "toy@production".parse().unwrap();
    let bytes = mlflow::codec::encode(&reference).unwrap();
    assert_eq!(mlflow::codec::decode::<String>(&bytes, 1 << 20).unwrap(), "toy@production");
    assert!(mlflow::codec::decode::<ModelRef>(&mlflow::codec::encode("toy/0").unwrap(), 1 << 20).is_err());
    // The artifact hash serializes as hex text.
    let hex = version.artifact.to_hex();
    assert!(bytes_contain(&mlflow::codec::encode(&version).unwrap(), hex.as_bytes()));
}

fn bytes_contain(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
