//! Exporting a pipeline for Argo Workflows and Kubeflow Pipelines: every step option rendered
//! (golden files, which `tests/fixtures/export/validate.py` checks with hera and kfp in
//! `.ci/run`), options refused with a clear error, and the binary's command line (`plan`,
//! `export`, `step`) as `mlflow::main` gives it.

use std::path::PathBuf;

use mlflow::export::{ExportError, ExportOptions, argo_workflow, kfp_pipeline, to_yaml};
use mlflow::prelude::*;
use mlflow::{CommandError, run_command};

#[step(cpu = "1500m", memory = "2Gi", retries = 3, backoff = "250ms", timeout = "90s")]
fn load(seed: &u64) -> Vec<f64> {
    (0..*seed).map(|i| i as f64).collect()
}

#[step(cache = false)]
fn check(rows: &Vec<f64>) -> bool {
    !rows.is_empty()
}

#[step]
fn fit(rows: &Vec<f64>, rate: &f64) -> f64 {
    rows.iter().sum::<f64>() * rate
}

#[step]
fn best(scores: &Vec<f64>) -> f64 {
    scores.iter().copied().fold(f64::MIN, f64::max)
}

/// seed -> load -> check (uncached) gates fit; fit twice -> collect -> best; a map over rates.
fn pipeline() -> Pipeline {
    let mut p = Pipeline::new("Export Demo");
    let seed = p.param("seed", 5u64);
    let rate = p.param("rate", 0.5f64);
    let rows = p.step(LoadStep, seed);
    let checked = p.step(CheckStep, rows);
    let first = p.step(FitStep, (rows, rate));
    p.wait_for(first, checked);
    let second = p.step_named("fit_again", FitStep, (rows, rate));
    let all = p.collect([first, second]);
    p.step(BestStep, all);
    let rates = p.param("rates", vec![0.1f64, 0.2]);
    p.map_named("sweep", FitStep, (rows, rates));
    p
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export").join(name)
}

/// `yaml` against the committed file (`MLFLOW_BLESS=1` rewrites it), the plan hash as `PLAN_HASH`.
pub(crate) fn assert_golden(name: &str, yaml: &str, plan_hash: &str) {
    let normalized = yaml.replace(plan_hash, "PLAN_HASH");
    if std::env::var_os("MLFLOW_BLESS").is_some() {
        std::fs::write(fixture(name), &normalized).unwrap();
    }
    let committed = std::fs::read_to_string(fixture(name)).unwrap_or_default();
    assert!(committed == normalized, "{name} differs (MLFLOW_BLESS=1 rewrites it):\n{normalized}");
}

#[test]
fn every_step_option_is_rendered_for_argo_and_kfp() {
    let plan = pipeline().execution_plan().unwrap();
    let options = ExportOptions::new("registry.example/export-demo:2")
        .command(["/usr/local/bin/export-demo", "--quiet"])
        .store("/mnt/shared/mlflow")
        .artifacts("s3://ml-artifacts/export-demo")
        .metadata("postgres://mlflow@db.ml-team:5432/mlflow")
        .namespace("ml-team")
        .service_account("pipelines")
        .env("RUST_LOG", "mlflow=info");
    let hash = plan.plan_hash().to_hex();
    let argo = argo_workflow(&plan, &options).unwrap();
    let kfp = kfp_pipeline(&plan, &options).unwrap();
    assert_golden("options.argo.yaml", &to_yaml(&argo), &hash);
    assert_golden("options.kfp.yaml", &to_yaml(&kfp), &hash);

    let load = argo["spec"]["templates"].as_array().unwrap().iter().find(|t| t["name"] == "load").unwrap();
    assert_eq!(load["retryStrategy"]["limit"], "3");
    assert_eq!(load["retryStrategy"]["backoff"]["duration"], "0.25s");
    assert_eq!(load["activeDeadlineSeconds"], 90);
    assert_eq!(
        load["container"]["resources"]["requests"],
        serde_json::json!({"cpu": "1500m", "memory": "2Gi"})
    );
    assert_eq!(argo["metadata"]["namespace"], "ml-team");
    assert_eq!(argo["spec"]["serviceAccountName"], "pipelines");
    let tasks = &kfp["root"]["dag"]["tasks"];
    assert_eq!(tasks["load"]["retryPolicy"]["maxRetryCount"], 3);
    assert_eq!(
        tasks["check"]["cachingOptions"],
        serde_json::json!({}),
        "an uncached step is not cached by KFP"
    );
    assert_eq!(
        tasks["fit"]["dependentTasks"],
        serde_json::json!(["check", "load"]),
        "wait_for is a dependency"
    );
    let args = kfp["deploymentSpec"]["executors"]["exec-best"]["container"]["args"].as_array().unwrap();
    let args: Vec<&str> = args.iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args[..6], ["step", "--node", "best", "--plan", hash.as_str(), "--store"]);
    assert!(args.contains(&"collect={{$.inputs.parameters['in_collect']}}"), "{args:?}");
}

#[test]
fn unusable_options_and_pipelines_without_steps_are_refused() {
    let plan = pipeline().execution_plan().unwrap();
    let refused = |options: ExportOptions| argo_workflow(&plan, &options).unwrap_err().to_string();
    assert!(refused(ExportOptions::new(" ")).contains("the image is empty"));
    assert!(refused(ExportOptions::new("x").command(Vec::<String>::new())).contains("the command is empty"));
    assert!(refused(ExportOptions::new("x").env("AWS-REGION", "y")).contains("`AWS-REGION`"));
    let leaked = refused(ExportOptions::new("x").metadata("postgres://ana:s3cret@db/ml"));
    assert!(leaked.contains("metadata URL carries a password") && leaked.contains("PGPASSWORD"), "{leaked}");
    assert!(!leaked.contains("s3cret"), "{leaked}");
    let mut params_only = Pipeline::new("params");
    params_only.param("seed", 1u64);
    let err = kfp_pipeline(&params_only.execution_plan().unwrap(), &ExportOptions::new("x")).unwrap_err();
    assert!(matches!(err, ExportError::NoSteps { .. }), "{err}");
}

#[test]
fn the_binary_plans_exports_and_runs_one_node_at_a_time() {
    let p = pipeline();
    let run = |args: &[&str]| {
        let mut out = Vec::new();
        run_command(&p, args, &mut out).map(|()| String::from_utf8(out).unwrap())
    };
    let table = run(&["plan"]).unwrap();
    assert!(table.starts_with("pipeline Export Demo (10 nodes)"), "{table}");
    assert!(table.contains("load") && table.contains("retries 3 cpu 1500m memory 2Gi"), "{table}");
    let hash = p.execution_plan().unwrap().plan_hash().to_hex();
    assert!(table.ends_with(&format!("plan hash {hash}\n")), "{table}");
    let json: serde_json::Value = serde_json::from_str(&run(&["plan", "--json"]).unwrap()).unwrap();
    assert_eq!(json["pipeline"], "Export Demo");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wf.yaml");
    run(&["export", "kfp", "--image", "x:1", "-o", file.to_str().unwrap()]).unwrap();
    assert!(std::fs::read_to_string(&file).unwrap().contains("schemaVersion: \"2.1.0\""));

    // The pods of the exported workflow, in order, against one store.
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let hash_file = dir.path().join("out/hash");
    let step = |node: &str, inputs: &[String]| {
        let mut args = vec!["step", "--node", node, "--plan", &hash, "--store", store];
        args.extend(["--hash-file", hash_file.to_str().unwrap()]);
        for input in inputs {
            args.extend(["--input", input.as_str()]);
        }
        run(&args).map(|_| std::fs::read_to_string(&hash_file).unwrap())
    };
    let load = step("load", &[]).unwrap();
    assert_eq!(load.len(), 64);
    step("check", &[format!("load={load}")]).unwrap();
    let fit = step("fit", &[format!("load={load}")]).unwrap();
    let again = step("fit-again", &[format!("load={load}")]).unwrap();
    assert_eq!(fit, again, "the same inputs give the same content");

    // Usage mistakes (exit 2) and failures (exit 1), each saying what to do.
    let usage = |args: &[&str]| match run(args) {
        Err(CommandError::Usage(message)) => message,
        other => panic!("{args:?}: {other:?}"),
    };
    assert!(usage(&["export", "helm", "--image", "x"]).contains("give `export argo`"));
    assert!(usage(&["export", "argo"]).contains("needs --image"));
    assert!(usage(&["step", "--plan", "x"]).contains("needs --node"));
    assert!(usage(&["plan", "--bogus", "1"]).contains("unexpected `--bogus`"));
    assert!(usage(&["fly"]).contains("unknown command `fly`"));
    assert!(usage(&["step", "--node", "fit", "--plan", &hash, "--input", "load"]).contains("give ID=HASH"));
    let failed = |args: &[&str]| match run(args) {
        Err(CommandError::Failed(message)) => message,
        other => panic!("{args:?}: {other:?}"),
    };
    let other_plan = "0".repeat(64);
    assert!(
        failed(&["step", "--node", "fit", "--plan", &other_plan, "--store", store])
            .contains("export the workflow again")
    );
    let err = failed(&["step", "--node", "load", "--plan", &hash, "--store", "s3://bucket/x"]);
    assert!(err.contains("the store's folder is a local path") && err.contains("--artifacts URL"), "{err}");
    let artifacts = format!("file://{}", dir.path().join("objects").display());
    let result =
        run(&["step", "--node", "load", "--plan", &hash, "--store", store, "--artifacts", &artifacts]);
    if cfg!(feature = "object-store") {
        result.unwrap();
    } else {
        let Err(CommandError::Failed(err)) = result else { panic!("{result:?}") };
        assert!(err.contains("built without mlflow's `object-store` feature"), "{err}");
    }
    let unknown = failed(&["step", "--node", "load", "--plan", &hash, "--metadata", "mysql://u:pw@db/ml"]);
    assert!(unknown.contains("unknown database; give postgres://"), "{unknown}");
    assert!(!unknown.contains("pw@"), "no credential in messages: {unknown}");
    let postgres = "postgres://ana:s3cret@127.0.0.1:1/ml";
    let unreachable =
        failed(&["step", "--node", "load", "--plan", &hash, "--store", store, "--metadata", postgres]);
    if cfg!(feature = "postgres") {
        assert!(unreachable.contains("postgres://ana:***@127.0.0.1:1/ml"), "{unreachable}");
    } else {
        assert!(unreachable.contains("built without mlflow's `postgres` feature"), "{unreachable}");
    }
    assert!(!unreachable.contains("s3cret"), "{unreachable}");
    assert!(run(&["help"]).unwrap().contains("export argo|kfp"));
}

/// Counts an execution of step `name` in `$MLFLOW_TEST_COUNTS/name` (one line per run).
pub(crate) fn count(name: &str) {
    if let Some(dir) = std::env::var_os("MLFLOW_TEST_COUNTS") {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(PathBuf::from(dir).join(name))
            .unwrap();
        writeln!(file, "ran").unwrap();
    }
}

#[step]
fn source(seed: &u64) -> Vec<f64> {
    count("source");
    (0..*seed).map(|i| i as f64 * 1.5).collect()
}

#[step]
fn weigh(rows: &Vec<f64>, rate: &f64) -> f64 {
    count("weigh");
    rows.iter().sum::<f64>() * rate
}

#[step]
fn top(scores: &Vec<f64>) -> f64 {
    count("top");
    scores.iter().copied().fold(f64::MIN, f64::max)
}

/// Killed with SIGKILL the first time it runs while `$MLFLOW_TEST_KILL_ONCE` names a file that
/// does not exist yet (it creates it first).
#[step]
fn publish(best: &f64) -> String {
    count("publish");
    if let Some(marker) = std::env::var_os("MLFLOW_TEST_KILL_ONCE")
        && std::fs::OpenOptions::new().write(true).create_new(true).open(&marker).is_ok()
    {
        let _ = std::process::Command::new("kill").args(["-9", &std::process::id().to_string()]).status();
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
    format!("best {best}")
}

/// source -> weigh twice (in parallel) -> collect -> top -> publish.
pub(crate) fn runner_pipeline() -> Pipeline {
    let mut p = Pipeline::new("local-runner");
    let seed = p.param("seed", 8u64);
    let low = p.param("low", 0.5f64);
    let high = p.param("high", 2.0f64);
    let rows = p.step(SourceStep, seed);
    let a = p.step_named("weigh_low", WeighStep, (rows, low));
    let b = p.step_named("weigh_high", WeighStep, (rows, high));
    let all = p.collect([a, b]);
    let best = p.step(TopStep, all);
    p.step(PublishStep, best);
    p
}

/// The pipeline's binary for the local runner: this test binary, run as this ignored test with
/// the task's arguments, one per line, in `MLFLOW_TEST_STEP_ARGS` (see [`binary_wrapper`]).
#[test]
#[ignore = "run as a child process by the local runner's tests"]
fn runner_pipeline_binary() {
    let Some(args) = std::env::var("MLFLOW_TEST_STEP_ARGS").ok() else { return };
    let args: Vec<&str> = args.lines().collect();
    if let Err(e) = run_command(&runner_pipeline(), &args, &mut std::io::stdout()) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// A shell script that runs [`runner_pipeline_binary`] with its arguments, counting step runs
/// in `counts` and killing `publish` once unless `kill_marker` exists.
fn binary_wrapper(dir: &std::path::Path, counts: &std::path::Path, kill_marker: &std::path::Path) -> PathBuf {
    binary_wrapper_with_env(dir, counts, kill_marker, &[])
}

/// [`binary_wrapper`], the binary also given the variables `env`.
pub(crate) fn binary_wrapper_with_env(
    dir: &std::path::Path,
    counts: &std::path::Path,
    kill_marker: &std::path::Path,
    env: &[(&str, String)],
) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let script = dir.join("pipeline-binary.sh");
    let env: String = env.iter().map(|(name, value)| format!("{name}='{value}' ")).collect();
    let text = format!(
        "#!/bin/sh\n{env}MLFLOW_TEST_STEP_ARGS=\"$(printf '%s\\n' \"$@\")\" MLFLOW_TEST_COUNTS='{}' MLFLOW_TEST_KILL_ONCE='{}' exec '{}' --exact export::runner_pipeline_binary --ignored --nocapture --test-threads 1 -q\n",
        counts.display(),
        kill_marker.display(),
        exe.display()
    );
    std::fs::write(&script, text).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    script
}

/// The output hash of each step of `report`, by the step's node id in `plan`.
pub(crate) fn hashes_by_id(
    plan: &mlflow::exec_plan::ExecutionPlan,
    report: &mlflow::exec::RunReport,
) -> std::collections::BTreeMap<String, String> {
    report
        .steps()
        .iter()
        .map(|s| {
            let id = plan.nodes().iter().find(|n| n.name == s.node).unwrap().id.clone();
            (id, s.output_hash.unwrap().to_hex())
        })
        .collect()
}

/// Runs node `source` of [`runner_pipeline`] in two processes of `wrapper` at once, racer `n`
/// with the store arguments `store_args(n)`; both must succeed. Their output hashes.
pub(crate) fn race_source(
    wrapper: &std::path::Path,
    plan: &mlflow::exec_plan::ExecutionPlan,
    store_args: impl Fn(usize) -> Vec<String>,
    dir: &std::path::Path,
) -> Vec<String> {
    let hash = plan.plan_hash().to_hex();
    let racers: Vec<_> = (1..=2)
        .map(|n| {
            let file = dir.join(format!("race-{n}.hash"));
            let child = std::process::Command::new(wrapper)
                .args(["step", "--node", "source", "--plan", &hash])
                .args(store_args(n))
                .args(["--hash-file", file.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            (child, file)
        })
        .collect();
    racers
        .into_iter()
        .map(|(mut child, file)| {
            assert!(child.wait().unwrap().success());
            std::fs::read_to_string(file).unwrap()
        })
        .collect()
}

pub(crate) fn runs_of(counts: &std::path::Path, step: &str) -> usize {
    std::fs::read_to_string(counts.join(step)).map_or(0, |t| t.lines().count())
}

#[test]
fn the_local_runner_runs_exported_tasks_as_processes_resumes_after_a_kill_and_matches_one_process() {
    use mlflow::export::{LocalRunError, LocalRunOptions, run_local};
    let p = runner_pipeline();
    let dir = tempfile::tempdir().unwrap();
    // The reference: one process, its own store.
    let whole = Store::open(dir.path().join("whole")).unwrap();
    let report = p.run(&whole).unwrap().into_result().unwrap();
    let plan = p.execution_plan().unwrap();
    let expected = hashes_by_id(&plan, &report);

    let counts = dir.path().join("counts");
    std::fs::create_dir_all(&counts).unwrap();
    let wrapper = binary_wrapper(dir.path(), &counts, &dir.path().join("killed-once"));
    let workflow =
        argo_workflow(&plan, &ExportOptions::new("local/test:1").command(["/app/pipeline"])).unwrap();
    let store = dir.path().join("shared");
    let options = LocalRunOptions::new(&wrapper).store(store.display().to_string()).jobs(2);

    // First: `publish` is killed with SIGKILL; the tasks before it succeeded.
    let err = run_local(&workflow, &options).unwrap_err();
    let LocalRunError::TaskFailed { task, done, status, .. } = &err else { panic!("{err}") };
    assert_eq!(task, "publish", "{err}");
    assert!(status.contains("signal: 9"), "{status}");
    let mut finished: Vec<&str> = done.iter().map(|t| t.name.as_str()).collect();
    finished.sort_unstable();
    assert_eq!(finished, ["collect", "source", "top", "weigh-high", "weigh-low"]);
    for step in ["source", "top", "publish"] {
        assert_eq!(runs_of(&counts, step), 1, "{step}");
    }
    assert_eq!(runs_of(&counts, "weigh"), 2);

    // Again: every completed task is a cache hit; only `publish` runs; the hashes are the
    // in-process run's.
    let run = run_local(&workflow, &options).unwrap();
    assert_eq!(run.tasks.len(), expected.len());
    for task in &run.tasks {
        assert_eq!(task.hash.as_deref(), Some(expected[&task.name].as_str()), "{}", task.name);
        assert_eq!(task.attempts, 1);
    }
    for step in ["source", "top"] {
        assert_eq!(runs_of(&counts, step), 1, "{step} came from the store");
    }
    assert_eq!((runs_of(&counts, "weigh"), runs_of(&counts, "publish")), (2, 2));
    assert!(run.max_parallel >= 2, "the two weigh tasks run side by side: {run:?}");

    // An override of a parameter the workflow lacks is refused before anything runs.
    let err = run_local(&workflow, &options.clone().parameter("metadata", "postgres://db/ml")).unwrap_err();
    assert!(
        err.to_string().contains("no parameter `metadata` to override (it has: store)")
            && err.to_string().contains("`--metadata ...`"),
        "{err}"
    );

    // Two racing producers of one artifact, in a fresh store: both succeed, with one hash.
    let race = dir.path().join("race");
    let hashes =
        race_source(&wrapper, &plan, |_| vec!["--store".into(), race.display().to_string()], dir.path());
    assert_eq!(hashes, [expected["source"].clone(), expected["source"].clone()]);
}

#[cfg(feature = "object-store")]
#[test]
fn the_local_runner_keeps_artifacts_in_object_storage_when_the_workflow_says_so() {
    use mlflow::export::{LocalRunOptions, run_local};
    let p = runner_pipeline();
    let dir = tempfile::tempdir().unwrap();
    let whole = Store::open(dir.path().join("whole")).unwrap();
    let report = p.run(&whole).unwrap().into_result().unwrap();
    let plan = p.execution_plan().unwrap();
    let objects = dir.path().join("objects");
    let options = ExportOptions::new("local/test:1").artifacts(format!("file://{}", objects.display()));
    let workflow = argo_workflow(&plan, &options).unwrap();
    assert_eq!(workflow["spec"]["arguments"]["parameters"][1]["name"], "artifacts");
    let counts = dir.path().join("counts");
    std::fs::create_dir_all(&counts).unwrap();
    // `publish` is not killed: its marker exists.
    let marker = dir.path().join("killed-once");
    std::fs::write(&marker, "").unwrap();
    let wrapper = binary_wrapper(dir.path(), &counts, &marker);
    let store = dir.path().join("shared");
    let run =
        run_local(&workflow, &LocalRunOptions::new(&wrapper).store(store.display().to_string())).unwrap();
    for step in report.steps() {
        let id = &plan.nodes().iter().find(|n| n.name == step.node).unwrap().id;
        assert_eq!(run.task(id).unwrap().hash, step.output_hash.map(|h| h.to_hex()), "{id}");
    }
    // Every output is an object named by its hash; the store folder holds the metadata only.
    for task in &run.tasks {
        let hash = task.hash.as_deref().unwrap();
        assert!(objects.join(&hash[..2]).join(&hash[2..]).is_file(), "{}", task.name);
    }
    let local = store.join("artifacts");
    let local_files = std::fs::read_dir(&local).map_or(0, |d| d.count());
    assert_eq!(local_files, 0, "no artifact in {}", local.display());
}
