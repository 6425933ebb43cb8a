//! The store-level behaviours, written once against a `&Store` and run on SQLite and on
//! PostgreSQL alike (see `support` for where the PostgreSQL server comes from).

mod support;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use mlflow_core::gc::GcOptions;
use mlflow_core::prelude::*;
use mlflow_core::registry::{Promotion, REGISTRY, RegisterRequest, Registry, RegistryError};
use mlflow_core::store::{Dialect, Mode};
use mlflow_core::track::query::{Compare, RunColumn, RunFilter};
use mlflow_core::track::{TrackError, log_metric, log_metric_at, set_tag};
use support::{Backend, TestStore};

#[mlflow_macros::step(crate = mlflow_core)]
fn double(x: &u64) -> Result<u64, TrackError> {
    // Logged twice: the last value is the one recorded.
    log_metric("doubled", 0.0)?;
    log_metric("doubled", (*x * 2) as f64)?;
    Ok(x * 2)
}

#[mlflow_macros::step(crate = mlflow_core)]
fn add(a: &u64, b: &u64) -> u64 {
    a + b
}

#[mlflow_macros::step(crate = mlflow_core)]
fn score(x: &u64) -> Result<f64, TrackError> {
    let auc = 0.5 + *x as f64 / 100.0;
    for fold in 0..3u64 {
        log_metric_at("fold_auc", fold, auc - fold as f64 / 1000.0)?;
    }
    log_metric("auc", auc)?;
    set_tag("kind", "demo")?;
    Ok(auc)
}

/// Logs three points (0, 1, 2) of each of `keys`, and one single value under a key of the
/// prefix the series test lists.
#[mlflow_macros::step(crate = mlflow_core)]
fn curves(keys: &Vec<String>) -> Result<usize, TrackError> {
    for key in keys {
        for i in 0..3u64 {
            log_metric_at(key, i, i as f64)?;
        }
    }
    log_metric("cv.single", 1.0)?;
    Ok(keys.len())
}

#[mlflow_macros::step(crate = mlflow_core)]
fn train(x: &u64) -> Vec<u64> {
    vec![*x; 4]
}

/// Where `hold` is: 0 not started, 1 running (waiting), 2 released.
static HOLD: AtomicU8 = AtomicU8::new(0);

#[mlflow_macros::step(crate = mlflow_core)]
fn hold(x: &u64) -> u64 {
    HOLD.store(1, Ordering::SeqCst);
    while HOLD.load(Ordering::SeqCst) != 2 {
        std::thread::sleep(Duration::from_millis(5));
    }
    *x
}

/// Runs `f` on every backend available, naming the backend when it fails.
fn on_every_backend(test: &str, f: impl Fn(&TestStore)) {
    for store in support::stores(test) {
        let expected = match store.backend {
            Backend::Sqlite => Dialect::Sqlite,
            Backend::Postgres => Dialect::Postgres,
        };
        assert_eq!(store.store.meta().dialect(), expected);
        eprintln!("{test}: {:?}", store.backend);
        f(&store);
    }
}

/// A run of the `train` pipeline with param `x`; its run id.
fn train_run(store: &Store, x: u64) -> String {
    let mut p = Pipeline::new("train");
    let x = p.param("x", x);
    p.step(TrainStep, x);
    p.run(store).unwrap().run_id().to_owned()
}

fn pipeline_runs_reruns_from_the_cache_and_is_recorded(store: &Store) {
    let build = || {
        let mut p = Pipeline::new("suite");
        let x = p.param("x", 21u64);
        let y = p.param("y", 1u64);
        let doubled = p.step(DoubleStep, x);
        let sum = p.step(AddStep, (doubled, y));
        (p, sum)
    };
    let (p, sum) = build();
    let first = p.run(store).unwrap();
    assert_eq!(first.count(StepStatus::Ran), 2);
    assert_eq!(*first.get(sum).unwrap(), 43);
    let (p, sum) = build();
    let second = p.run(store).unwrap();
    assert_eq!((second.count(StepStatus::Cached), second.count(StepStatus::Ran)), (2, 0));
    assert_eq!(*second.get(sum).unwrap(), 43);
    // Both runs are recorded; the latest first.
    let runs = store.runs(&RunFilter::new().pipeline("suite")).unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [second.run_id(), first.run_id()]);
    assert!(runs.iter().all(|r| r.status == "succeeded" && r.ended_ms.is_some()));
    let record = store.run(second.run_id()).unwrap().expect("the rerun is recorded");
    assert_eq!(record.pipeline, "suite");
    let statuses: Vec<(&str, &str)> =
        record.steps.iter().map(|s| (s.node.as_str(), s.status.as_str())).collect();
    assert_eq!(statuses, [("double", "cached"), ("add", "cached")]);
    assert_eq!(record.steps[0].source_run.as_deref(), Some(first.run_id()));
    assert_eq!(record.steps[1].output, second.steps()[1].output_hash);
    // A cached step records the metrics of the run that computed it.
    let doubled: Vec<f64> = record
        .metrics
        .iter()
        .filter(|(node, m)| node == "double" && m.key == "doubled")
        .map(|(_, m)| m.value)
        .collect();
    assert_eq!(doubled, [42.0]);
    let mut params = record.param_values.clone();
    params.sort();
    assert_eq!(params, [("x".to_owned(), "21".to_owned()), ("y".to_owned(), "1".to_owned())]);
    // The artifact of a step, through the run, and the key parts that explain a miss.
    assert_eq!(store.artifact::<u64>(first.run_id(), "add").unwrap(), 43);
    let keys = store.last_keys("suite").unwrap();
    let (key, parts) = &keys["add"];
    assert_eq!(Some(*key), record.steps[1].cache_key);
    assert_eq!(store.key_parts(*key).unwrap().as_ref(), Some(parts));
    assert_eq!(store.run_ids("suite").unwrap().len(), 2);
}

fn tracking_records_metrics_params_and_tags(store: &Store) {
    let mut ids = Vec::new();
    for x in [10u64, 30, 20] {
        let mut p = Pipeline::new("tracked");
        let x = p.param("x", x);
        p.step(ScoreStep, x);
        ids.push(p.run(store).unwrap().run_id().to_owned());
    }
    let best = store.runs(&RunFilter::new().pipeline("tracked").sort_by("score.auc", true)).unwrap();
    let order: Vec<&str> = best.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(order, [ids[1].as_str(), ids[2].as_str(), ids[0].as_str()]);
    assert!((best[0].metrics["score.auc"] - 0.8).abs() < 1e-12);
    let good = store.runs(&RunFilter::new().metric("auc", Compare::Gt, 0.65)).unwrap();
    assert_eq!(good.len(), 2);
    let by_param = store.runs(&RunFilter::new().pipeline("tracked").param("x", "20")).unwrap();
    assert_eq!(by_param.len(), 1);
    assert_eq!(by_param[0].id, ids[2]);
    let limited = store.runs(&RunFilter::new().pipeline("tracked").limit(1)).unwrap();
    assert_eq!(limited[0].id, ids[2], "the latest run first");
    // Pages, counts and sorting by a column (the web UI's runs page).
    let all = RunFilter::new().pipeline("tracked");
    let listed =
        |f: RunFilter| -> Vec<String> { store.runs(&f).unwrap().into_iter().map(|r| r.id).collect() };
    assert_eq!(store.count_runs(&all.clone().limit(1).offset(1)).unwrap(), 3);
    assert_eq!(store.count_runs(&all.clone().param("x", "20")).unwrap(), 1);
    assert_eq!(listed(all.clone().limit(2).offset(1)), [ids[1].clone(), ids[0].clone()]);
    assert_eq!(listed(all.clone().offset(2)), [ids[0].clone()]);
    assert_eq!(listed(all.clone().order_by(RunColumn::Started, false)), ids);
    assert_eq!(
        listed(all.clone().order_by(RunColumn::Param("x".into()), true)),
        [ids[1].clone(), ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(listed(all.clone().order_by(RunColumn::Duration, false).limit(5)).len(), 3);
    let params = store.run_params(&[ids[0].as_str(), "no-such-run"]).unwrap();
    assert_eq!(params.len(), 1);
    assert_eq!(params[&ids[0]]["x"], "10");
    let record = store.run(&ids[0]).unwrap().unwrap();
    let mut series: Vec<(u64, f64)> = record
        .metrics
        .iter()
        .filter(|(_, m)| m.key == "fold_auc")
        .map(|(_, m)| (m.step.unwrap(), m.value))
        .collect();
    series.sort_by_key(|(step, _)| *step);
    assert_eq!(series.len(), 3);
    assert!((series[2].1 - 0.598).abs() < 1e-12);
    assert!(record.tags.contains(&("score".to_owned(), "kind".to_owned(), "demo".to_owned())));
    let diff = store.compare_runs(&ids[0], &ids[1]).unwrap();
    let text = format!("{diff:?}");
    assert!(text.contains("auc"), "{text}");
}

fn registry_registers_moves_aliases_behind_the_guard_and_keeps_history(store: &Store) {
    let registry = Registry::new(store).unwrap();
    for (x, auc) in [(1u64, 0.80), (2, 0.84), (3, 0.79)] {
        let run = train_run(store, x);
        let version =
            registry.register("churn", RegisterRequest::new(run, "train").metric("auc", auc)).unwrap();
        assert_eq!(u64::from(version.version), x);
    }
    assert_eq!(registry.versions("churn").unwrap().len(), 3);
    assert_eq!(registry.models().unwrap().len(), 1);
    registry.set_alias("churn", "staging", 1, "first").unwrap().unwrap();
    assert!(registry.set_alias("churn", "staging", 1, "again").unwrap().is_none());
    registry.promote("churn", 1, "production", Promotion::new("auc")).unwrap().unwrap();
    let moved = registry.promote("churn", 2, "production", Promotion::new("auc")).unwrap().unwrap();
    assert_eq!((moved.version, moved.previous), (Some(2), Some(1)));
    assert!(moved.guard.as_ref().unwrap().passed);
    let refused = registry.promote("churn", 3, "production", Promotion::new("auc")).unwrap_err();
    assert!(matches!(refused, RegistryError::PromotionRefused { current_version: 2, .. }), "{refused}");
    let forced =
        registry.promote("churn", 3, "production", Promotion::new("auc").force(true)).unwrap().unwrap();
    assert!(forced.forced && !forced.guard.as_ref().unwrap().passed);
    let history = registry.alias_history("churn", "production").unwrap();
    let versions: Vec<Option<u32>> = history.iter().map(|m| m.version).collect();
    assert_eq!(versions, [Some(1), Some(2), Some(3)]);
    assert!(history.windows(2).all(|w| w[0].id < w[1].id && w[1].previous == w[0].version));
    let checks = &history[2].guard.as_ref().unwrap().thresholds;
    assert_eq!(checks.len(), 1);
    assert_eq!(registry.aliases("churn").unwrap()["production"], 3);
    assert_eq!(registry.resolve("churn@production").unwrap().version, 3);
    assert_eq!(registry.load::<Vec<u64>>("churn@staging").unwrap(), vec![1; 4]);
    registry.remove_alias("churn", "staging", "withdrawn").unwrap();
    assert!(!registry.aliases("churn").unwrap().contains_key("staging"));
    assert_eq!(registry.history("churn").unwrap().len(), 5);
    // The history is append-only in the database itself, and the database's own message says so.
    for sql in ["UPDATE registry_alias_moves SET reason = 'rewritten'", "DELETE FROM registry_gate_checks"] {
        let err = store.with_meta(&REGISTRY, Mode::Autocommit, |tx| tx.execute(sql, &[])).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

fn gc_keeps_what_the_rooms_refer_to(store: &Store) {
    let run = train_run(store, 9);
    Registry::new(store).unwrap().register("kept", RegisterRequest::new(run.clone(), "train")).unwrap();
    let orphan = store.put_artifact(b"nobody refers to me").unwrap();
    let report = store.gc_with(GcOptions { grace: Duration::ZERO }).unwrap();
    assert!(report.artifacts_removed >= 1, "{report:?}");
    assert!(store.read_artifact(orphan).is_err());
    assert_eq!(store.artifact::<Vec<u64>>(&run, "train").unwrap(), vec![9; 4]);
    assert_eq!(Registry::new(store).unwrap().load::<Vec<u64>>("kept/1").unwrap(), vec![9; 4]);
    // The rerun is still served from the cache: the cache index's outputs are roots too.
    let mut p = Pipeline::new("train");
    let x = p.param("x", 9u64);
    p.step(TrainStep, x);
    assert_eq!(p.run(store).unwrap().count(StepStatus::Cached), 1);
}

/// Two handles (two processes' worth of connections) race to move one alias past a guard that
/// only one of them can pass: exactly one wins, and the history shows one move after the first.
fn racing_alias_moves_have_one_winner(ts: &TestStore) {
    let registry = Registry::new(&ts.store).unwrap();
    for (x, auc) in [(101u64, 0.80), (102, 0.90), (103, 0.90)] {
        let run = train_run(&ts.store, x);
        registry.register("race", RegisterRequest::new(run, "train").metric("auc", auc)).unwrap();
    }
    let handles = [Arc::new(ts.reopen()), Arc::new(ts.reopen())];
    for round in 0..8 {
        let alias = format!("prod{round}");
        registry.set_alias("race", &alias, 1, "baseline").unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [2u32, 3]
            .into_iter()
            .zip(handles.iter().cloned())
            .map(|(version, store)| {
                let (barrier, alias) = (Arc::clone(&barrier), alias.clone());
                std::thread::spawn(move || {
                    let registry = Registry::new(&store).unwrap();
                    barrier.wait();
                    // Only a gain of 0.05 over the holder passes: 2 and 3 both beat 1, not each other.
                    registry
                        .promote("race", version, &alias, Promotion::new("auc").margin(0.05))
                        .map(|m| m.is_some())
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|r| r.join().unwrap()).collect();
        let winners: Vec<u32> = [2u32, 3]
            .into_iter()
            .zip(&results)
            .filter(|(_, r)| matches!(r, Ok(true)))
            .map(|(v, _)| v)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0];
        let loser = results.iter().find(|r| r.is_err()).unwrap().as_ref().unwrap_err();
        assert!(
            matches!(loser, RegistryError::PromotionRefused { current_version, .. } if *current_version == winner),
            "round {round}: the loser saw the winner's move: {loser}"
        );
        let history = registry.alias_history("race", &alias).unwrap();
        let moves: Vec<(Option<u32>, Option<u32>)> =
            history.iter().map(|m| (m.previous, m.version)).collect();
        assert_eq!(moves, [(None, Some(1)), (Some(1), Some(winner))], "round {round}");
        assert_eq!(registry.aliases("race").unwrap()[&alias], winner);
    }
}

/// A run in progress on one machine stays `running` when another machine opens the store (it
/// cannot see the first one's lease, so it must not call the run abandoned), then finishes.
fn a_running_run_is_not_abandoned_by_another_machine(ts: &TestStore) {
    HOLD.store(0, Ordering::SeqCst);
    std::thread::scope(|scope| {
        let running = scope.spawn(|| {
            let mut p = Pipeline::new("held");
            let x = p.param("x", 5u64);
            p.step(HoldStep, x);
            p.run(&ts.store).unwrap().run_id().to_owned()
        });
        while HOLD.load(Ordering::SeqCst) != 1 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (other, _root) = ts.other_machine();
        let seen = other.runs(&RunFilter::new().pipeline("held"));
        // Released before any assertion, so that a failure does not leave the step waiting.
        HOLD.store(2, Ordering::SeqCst);
        let id = running.join().unwrap();
        let seen = seen.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].status, "running", "{:?}", ts.backend);
        assert_eq!(other.run(&id).unwrap().unwrap().status, "succeeded");
    });
}

/// `Store::series` (the web UI's studies): a key prefix matched exactly, newest run first, paged
/// by run; single values left out.
fn series_are_listed_by_key_prefix(store: &Store) {
    let run = |keys: &[&str]| {
        let mut p = Pipeline::new("series");
        let keys = p.param("keys", keys.iter().map(|k| k.to_string()).collect::<Vec<_>>());
        p.step(CurvesStep, keys);
        p.run(store).unwrap().run_id().to_owned()
    };
    // Keys around the prefix: a capital, the prefix without its dot, a non-ASCII key, keys that
    // sort right after the range.
    let first = run(&["cv.a", "CV.b", "cv", "cv.\u{e9}", "cv/x", "cw.a"]);
    let second = run(&["cv.z"]);
    let lines = store.series("cv.", 10, 0).unwrap();
    let seen: Vec<(&str, &str)> = lines.iter().map(|l| (l.run_id.as_str(), l.key.as_str())).collect();
    assert_eq!(seen, [(second.as_str(), "cv.z"), (first.as_str(), "cv.a"), (first.as_str(), "cv.\u{e9}")]);
    assert!(lines.iter().all(|l| l.points == 3 && l.min == 0.0 && l.max == 2.0 && l.pipeline == "series"));
    assert!(lines.iter().all(|l| l.node == "curves"));
    // Pages are of runs: the second page of one run is the first run's two series.
    assert_eq!(store.count_series_runs("cv.").unwrap(), 2);
    let paged = store.series("cv.", 1, 1).unwrap();
    let keys: Vec<&str> = paged.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["cv.a", "cv.\u{e9}"]);
    assert!(paged.iter().all(|l| l.run_id == first));
    assert!(store.series("cv.", 10, 2).unwrap().is_empty());
    assert_eq!(store.series("", 10, 0).unwrap().len(), 7);
    assert_eq!(store.count_series_runs("").unwrap(), 2);
    assert_eq!(store.count_series_runs("nothing").unwrap(), 0);
}

#[test]
fn series_are_listed_by_key_prefix_on_every_backend() {
    on_every_backend("series", |s| series_are_listed_by_key_prefix(&s.store));
}

#[test]
fn a_running_run_stays_running_when_another_machine_opens_the_store() {
    on_every_backend("held", a_running_run_is_not_abandoned_by_another_machine);
}

#[test]
fn a_pipeline_runs_reruns_from_the_cache_and_is_recorded() {
    on_every_backend("pipeline", |s| pipeline_runs_reruns_from_the_cache_and_is_recorded(&s.store));
}

#[test]
fn tracking_records_and_queries_metrics_params_and_tags() {
    on_every_backend("tracking", |s| tracking_records_metrics_params_and_tags(&s.store));
}

#[test]
fn the_registry_moves_aliases_behind_the_guard_and_keeps_their_history() {
    on_every_backend("registry", |s| {
        registry_registers_moves_aliases_behind_the_guard_and_keeps_history(&s.store)
    });
}

#[test]
fn gc_keeps_every_rooms_roots() {
    on_every_backend("gc", |s| gc_keeps_what_the_rooms_refer_to(&s.store));
}

#[test]
fn two_connections_racing_to_move_one_alias_have_exactly_one_winner() {
    on_every_backend("race", racing_alias_moves_have_one_winner);
}

#[test]
fn every_room_is_migrated_and_a_second_handle_finds_it_current() {
    on_every_backend("rooms", |s| {
        pipeline_runs_reruns_from_the_cache_and_is_recorded(&s.store);
        Registry::new(&s.store).unwrap();
        let rooms = s.store.rooms().unwrap();
        let names: Vec<&str> = rooms.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["cache", "registry", "runs"]);
        for (room, version) in [
            (&mlflow_core::store::cache::CACHE, 2),
            (&mlflow_core::registry::REGISTRY, mlflow_core::registry::REGISTRY_FORMAT),
        ] {
            assert!(rooms.contains(&(room.name.to_owned(), version)), "{rooms:?}");
        }
        let again = s.reopen();
        assert_eq!(again.rooms().unwrap(), rooms);
        assert_eq!(again.run_ids("suite").unwrap().len(), 2);
    });
}

/// The store folder and database URL of [`crashing_child`], from its parent.
const CRASH_FOLDER: &str = "MLFLOW_TEST_CRASH_FOLDER";
const CRASH_URL: &str = "MLFLOW_TEST_CRASH_URL";

#[mlflow_macros::step(crate = mlflow_core)]
fn crash(x: &u64) -> u64 {
    let _ = std::process::Command::new("kill").args(["-9", &std::process::id().to_string()]).status();
    std::thread::sleep(Duration::from_secs(10));
    *x
}

/// A process that starts a run and dies in it (SIGKILL): run by
/// [`a_crashed_run_is_abandoned_whichever_machine_looks`] with its store in the environment.
#[test]
#[ignore = "run as a child process"]
fn crashing_child() {
    let Some(folder) = std::env::var_os(CRASH_FOLDER) else { return };
    let store = match std::env::var(CRASH_URL) {
        Ok(url) => mlflow_postgres::open_store(folder.as_ref(), &url).unwrap(),
        Err(_) => Store::open(&folder).unwrap(),
    };
    let mut p = Pipeline::new("crashed");
    let x = p.param("x", 3u64);
    p.step(CrashStep, x);
    let _ = p.run(&store);
}

/// A run whose process died (SIGKILL) is `abandoned` for the next handle that looks, on this
/// machine or, on a shared database, on another one (its lease, held on the database, went with
/// the process's connection); a live handle's run is not.
fn a_crashed_run_is_abandoned_by_the_next_handle(ts: &TestStore) {
    // The child opens a store folder of its own on PostgreSQL (another machine), the same
    // folder on SQLite (whose database is in it).
    let child_dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["crashing_child", "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"]);
    match &ts.url {
        Some(url) => child.env(CRASH_FOLDER, child_dir.path().join("store")).env(CRASH_URL, url),
        None => child.env(CRASH_FOLDER, ts.dir.path().join("store")).env_remove(CRASH_URL),
    };
    let status = child.stdout(std::process::Stdio::null()).status().unwrap();
    assert!(!status.success(), "the child dies in its step: {status}");
    let (other, _root) = ts.other_machine();
    let runs = other.runs(&RunFilter::new().pipeline("crashed")).unwrap();
    assert_eq!(runs.len(), 1, "{:?}", ts.backend);
    assert_eq!(runs[0].status, "abandoned", "{:?}", ts.backend);
}

#[test]
fn a_crashed_run_is_abandoned_whichever_machine_looks() {
    on_every_backend("crashed", a_crashed_run_is_abandoned_by_the_next_handle);
}

/// Garbage collection on one machine waits for a writer on another: the store lock is held on
/// the database, shared by writers and taken alone by a collection.
#[test]
fn a_collection_on_one_machine_waits_for_a_writer_on_another() {
    let Some(ts) = support::postgres_store("gc_lock") else { return };
    let (other, _root) = ts.other_machine();
    let writer = ts.store.meta().machine_locks().expect("PostgreSQL shares its locks");
    writer.lock_shared().unwrap();
    let (done, collected) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let report = other.gc_with(GcOptions { grace: Duration::ZERO });
            done.send(report.map(|r| r.artifacts_removed)).unwrap();
        });
        let early = collected.recv_timeout(Duration::from_millis(500));
        // Released before any assertion, so that a failure does not leave the collector waiting.
        writer.unlock_shared();
        assert!(early.is_err(), "the collection waited for the writer: {early:?}");
        let removed = collected.recv_timeout(Duration::from_secs(30)).expect("collected once released");
        assert_eq!(removed.unwrap(), 0);
    });
    // And the other way round: a writer waits for a collection.
    let collector = other.meta().machine_locks().unwrap();
    collector.lock_exclusive().unwrap();
    std::thread::scope(|scope| {
        let (done, wrote) = std::sync::mpsc::channel();
        let store = &ts.store;
        scope.spawn(move || {
            let hash = store.put_artifact(b"written after the collection");
            done.send(hash.is_ok()).unwrap();
        });
        let early = wrote.recv_timeout(Duration::from_millis(500));
        collector.unlock_exclusive();
        assert!(early.is_err(), "the write waited for the collection: {early:?}");
        assert!(wrote.recv_timeout(Duration::from_secs(30)).unwrap());
    });
}
