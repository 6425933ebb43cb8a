//! Storage across machines, end to end: an exported workflow run by the local runner as
//! processes against S3 (moto's `moto_server` on loopback) for artifacts and PostgreSQL for
//! metadata, the store folders holding nothing but locks and leases.
//!
//! Needs the facade's `s3` and `postgres` features, `MLFLOW_TEST_MOTO` naming a `moto_server`
//! executable and a PostgreSQL server (`MLFLOW_TEST_POSTGRES_URL`, or `initdb` to start one);
//! `.ci/object-store-s3` runs it:
//!
//! ```text
//! MLFLOW_TEST_MOTO=/path/to/moto_server MLFLOW_TEST_POSTGRES_URL=postgres://... \
//!     cargo test -p mlflow-pipelines --features s3,postgres --test engine remote_store
//! ```
//!
//! Without them it prints what it skipped and passes.

use mlflow::export::{ExportOptions, LocalRunError, LocalRunOptions, argo_workflow, run_local};
use mlflow::prelude::*;

use super::export::{binary_wrapper_with_env, hashes_by_id, race_source, runner_pipeline, runs_of};
use super::moto::{MOTO_VAR, Moto};
use super::postgres_support::postgres_store;

#[test]
fn an_exported_workflow_runs_as_processes_on_s3_and_postgresql_resumes_and_moves_machines() {
    let Some(executable) = Moto::executable() else {
        println!("skipped: set {MOTO_VAR} to a moto_server executable (pip install 'moto[server]') to run");
        return;
    };
    let Some(database) = postgres_store("remote_store_runner") else { return };
    let metadata = database.url.clone().expect("a PostgreSQL store has a URL");
    let moto = Moto::start(&executable);
    moto.create_bucket("pipelines");

    let p = runner_pipeline();
    let plan = p.execution_plan().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The reference: one process, a local store of its own.
    let whole = Store::open(dir.path().join("whole")).unwrap();
    let report = p.run(&whole).unwrap().into_result().unwrap();
    let expected = hashes_by_id(&plan, &report);

    let options = ExportOptions::new("local/test:1").artifacts("s3://pipelines/runner").metadata(&metadata);
    let workflow = argo_workflow(&plan, &options).unwrap();
    let counts = dir.path().join("counts");
    std::fs::create_dir_all(&counts).unwrap();
    let wrapper = binary_wrapper_with_env(dir.path(), &counts, &dir.path().join("killed-once"), &moto.env());
    let machine_a = dir.path().join("machine-a");
    let run_on = |folder: &std::path::Path| {
        run_local(&workflow, &LocalRunOptions::new(&wrapper).store(folder.display().to_string()).jobs(2))
    };

    // First: `publish` is killed with SIGKILL; what finished before it is stored.
    let err = run_on(&machine_a).unwrap_err();
    let LocalRunError::TaskFailed { task, done, status, .. } = &err else { panic!("{err}") };
    assert_eq!(task, "publish", "{err}");
    assert!(status.contains("signal: 9"), "{status}");
    assert_eq!(done.len(), 5, "{done:?}");

    // Again, from another machine's folder: every completed task is a cache hit (the cache index
    // is in PostgreSQL, the artifacts in S3), only `publish` runs, the hashes are the in-process
    // run's.
    let machine_b = dir.path().join("machine-b");
    let run = run_on(&machine_b).unwrap();
    assert_eq!(run.tasks.len(), expected.len());
    for task in &run.tasks {
        assert_eq!(task.hash.as_deref(), Some(expected[&task.name].as_str()), "{}", task.name);
    }
    for (step, runs) in [("source", 1), ("weigh", 2), ("top", 1), ("publish", 2)] {
        assert_eq!(runs_of(&counts, step), runs, "{step}");
    }
    assert!(run.max_parallel >= 2, "the two weigh tasks run side by side: {run:?}");
    for machine in [&machine_a, &machine_b] {
        assert!(!machine.join("mlflow.db").exists(), "no SQLite file in {}", machine.display());
        let local = std::fs::read_dir(machine.join("artifacts")).map_or(0, |d| d.count());
        assert_eq!(local, 0, "no artifact file in {}", machine.display());
    }

    // The runs are in PostgreSQL: a handle on the database sees the pods' runs, one per task.
    let pods = database.store.runs(&Default::default()).unwrap();
    assert_eq!(pods.len(), 5 + 1 + 6, "two tries; the killed pod's run is recorded too");

    // Two racing producers of one artifact on a fresh prefix and database: both succeed, with
    // one hash.
    let Some(race_db) = postgres_store("remote_store_race") else { return };
    let race_url = race_db.url.clone().unwrap();
    let hashes = race_source(
        &wrapper,
        &plan,
        |n| {
            let folder = dir.path().join(format!("racer-{n}")).display().to_string();
            ["--store", &folder, "--artifacts", "s3://pipelines/race", "--metadata", &race_url]
                .map(String::from)
                .to_vec()
        },
        dir.path(),
    );
    assert_eq!(hashes, [expected["source"].clone(), expected["source"].clone()]);
}
