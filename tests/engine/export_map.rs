//! A mapped step exported as a fan-out: its listing task, one pod per task (Argo's `withParam`,
//! KFP's parallel-for), the node's own task putting the output together (golden files), and the
//! local runner running each element as its own process with the in-process run's hashes.

use std::path::{Path, PathBuf};

use mlflow::export::{ExportOptions, LocalRunOptions, argo_workflow, kfp_pipeline, run_local, to_yaml};
use mlflow::prelude::*;
use mlflow::run_command;

use crate::export::{assert_golden, count, hashes_by_id, runs_of};

#[step]
fn readings(n: &u64) -> Vec<u64> {
    count("readings");
    (1..=*n).map(|i| i * 10).collect()
}

#[step(retries = 2, backoff = "1s", timeout = "120s", cpu = "250m", memory = "256Mi")]
fn scale(reading: &u64, factor: &u64) -> u64 {
    count(&format!("scale-{reading}"));
    reading * factor
}

#[step]
fn total(scaled: &Vec<u64>) -> u64 {
    count("total");
    scaled.iter().sum()
}

/// n -> readings (4 values) -> scale, mapped over them with a shared factor -> total.
fn map_pipeline() -> Pipeline {
    let mut p = Pipeline::new("fan-out");
    let n = p.param("n", 4u64);
    let factor = p.param("factor", 3u64);
    let rows = p.step(ReadingsStep, n);
    let scaled = p.map(ScaleStep, (rows, factor));
    p.step(TotalStep, scaled);
    p
}

#[test]
fn a_map_fans_out_over_pods_for_argo_and_kfp() {
    let plan = map_pipeline().execution_plan().unwrap();
    let options = ExportOptions::new("registry.example/fan-out:1").command(["/app/fan-out"]);
    let hash = plan.plan_hash().to_hex();
    let argo = argo_workflow(&plan, &options).unwrap();
    let kfp = kfp_pipeline(&plan, &options).unwrap();
    assert_golden("map.argo.yaml", &to_yaml(&argo), &hash);
    assert_golden("map.kfp.yaml", &to_yaml(&kfp), &hash);

    let dag = argo["spec"]["templates"][0]["dag"]["tasks"].as_array().unwrap();
    let names: Vec<&str> = dag.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["readings", "scale--tasks", "scale--each", "scale", "total"]);
    let each = &dag[2];
    assert_eq!(each["withParam"], "{{tasks.scale--tasks.outputs.parameters.tasks}}");
    assert_eq!(each["dependencies"], serde_json::json!(["readings", "scale--tasks"]));
    assert_eq!(dag[3]["dependencies"], serde_json::json!(["readings", "scale--each"]));
    let template = |name: &str| {
        argo["spec"]["templates"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone()
    };
    let one = template("scale--each");
    assert_eq!(one["retryStrategy"]["limit"], "2", "each task is retried on its own");
    assert_eq!(one["activeDeadlineSeconds"], 120);
    assert_eq!(one["container"]["resources"]["requests"]["cpu"], "250m");
    let args: Vec<&str> =
        one["container"]["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(args[args.len() - 2..], ["--task", "{{inputs.parameters.task}}"]);
    assert_eq!(template("scale--tasks")["outputs"]["parameters"][0]["name"], "tasks");

    let tasks = &kfp["root"]["dag"]["tasks"];
    assert_eq!(tasks["scale--each"]["componentRef"]["name"], "comp-for-loop-scale");
    assert_eq!(
        tasks["scale--each"]["parameterIterator"]["items"]["inputParameter"],
        "pipelinechannel--scale--tasks-tasks"
    );
    assert_eq!(tasks["scale"]["dependentTasks"], serde_json::json!(["readings", "scale--each"]));
    let inner = &kfp["components"]["comp-for-loop-scale"]["dag"]["tasks"]["scale--task"];
    assert_eq!(inner["retryPolicy"]["maxRetryCount"], 2);
    assert_eq!(
        inner["inputs"]["parameters"]["task"]["componentInputParameter"],
        "pipelinechannel--scale--tasks-tasks-loop-item"
    );

    // A map whose tasks are not cached, or that tolerates failures, stays one task.
    let mut p = Pipeline::new("tolerant");
    let xs = p.param("xs", vec![1u64, 2]);
    let factor = p.param("factor", 2u64);
    p.try_map(ScaleStep, (xs, factor), 1);
    let argo = argo_workflow(&p.execution_plan().unwrap(), &options).unwrap();
    assert_eq!(argo["spec"]["templates"][0]["dag"]["tasks"].as_array().unwrap().len(), 1);
}

/// The pipeline's binary for the local runner's fan-out test (see [`wrapper`]).
#[test]
#[ignore = "run as a child process by the local runner's fan-out test"]
fn map_pipeline_binary() {
    let Some(args) = std::env::var("MLFLOW_TEST_STEP_ARGS").ok() else { return };
    let args: Vec<&str> = args.lines().collect();
    if let Err(e) = run_command(&map_pipeline(), &args, &mut std::io::stdout()) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

/// A shell script running [`map_pipeline_binary`] with its arguments, counting step runs in
/// `counts`.
fn wrapper(dir: &Path, counts: &Path) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let script = dir.join("fan-out-binary.sh");
    let text = format!(
        "#!/bin/sh\nMLFLOW_TEST_STEP_ARGS=\"$(printf '%s\\n' \"$@\")\" MLFLOW_TEST_COUNTS='{}' exec '{}' --exact export_map::map_pipeline_binary --ignored --nocapture --test-threads 1 -q\n",
        counts.display(),
        exe.display()
    );
    std::fs::write(&script, text).unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    script
}

#[test]
fn the_local_runner_runs_each_element_of_a_map_as_its_own_process_with_the_in_process_hashes() {
    let p = map_pipeline();
    let dir = tempfile::tempdir().unwrap();
    let whole = Store::open(dir.path().join("whole")).unwrap();
    let report = p.run(&whole).unwrap().into_result().unwrap();
    let plan = p.execution_plan().unwrap();
    let expected = hashes_by_id(&plan, &report);

    let counts = dir.path().join("counts");
    std::fs::create_dir_all(&counts).unwrap();
    let binary = wrapper(dir.path(), &counts);
    let workflow = argo_workflow(&plan, &ExportOptions::new("local/fan-out:1")).unwrap();
    let store = dir.path().join("shared");
    let options = LocalRunOptions::new(&binary).store(store.display().to_string()).jobs(3);
    let run = run_local(&workflow, &options).unwrap();
    assert_eq!(run.task("scale--tasks").unwrap().hash.as_deref(), Some("[0,1,2,3]"));
    for k in 0..4 {
        assert!(run.task(&format!("scale--each({k})")).is_some(), "task {k} ran as its own process: {run:?}");
    }
    for (id, hash) in &expected {
        assert_eq!(run.task(id).unwrap().hash.as_deref(), Some(hash.as_str()), "{id}");
    }
    // Each element ran once, in its own process; the node's own task computed nothing.
    for reading in [10, 20, 30, 40] {
        assert_eq!(runs_of(&counts, &format!("scale-{reading}")), 1, "element {reading}");
    }
    assert_eq!((runs_of(&counts, "readings"), runs_of(&counts, "total")), (1, 1));
    assert!(run.max_parallel >= 2, "the tasks run side by side: {run:?}");

    // Again: every task a cache hit, nothing computed, the same hashes.
    let again = run_local(&workflow, &options).unwrap();
    for (id, hash) in &expected {
        assert_eq!(again.task(id).unwrap().hash.as_deref(), Some(hash.as_str()), "{id}");
    }
    for reading in [10, 20, 30, 40] {
        assert_eq!(runs_of(&counts, &format!("scale-{reading}")), 1, "element {reading} came from the store");
    }
    assert_eq!((runs_of(&counts, "readings"), runs_of(&counts, "total")), (1, 1));
}

#[test]
fn the_binary_lists_a_maps_tasks_and_runs_one_and_refuses_tasks_of_a_plain_step() {
    let p = map_pipeline();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let hash = p.execution_plan().unwrap().plan_hash().to_hex();
    let run = |args: &[&str]| {
        let mut out = Vec::new();
        run_command(&p, args, &mut out).map(|()| String::from_utf8(out).unwrap())
    };
    let file = dir.path().join("out");
    let file = file.to_str().unwrap();
    run(&["step", "--node", "readings", "--plan", &hash, "--store", store]).unwrap();
    let listed =
        run(&["step", "--node", "scale", "--plan", &hash, "--store", store, "--tasks", "--hash-file", file]);
    assert!(listed.unwrap().contains("scale tasks [0,1,2,3]"));
    assert_eq!(std::fs::read_to_string(file).unwrap(), "[0,1,2,3]");
    let one = run(&[
        "step",
        "--node",
        "scale",
        "--plan",
        &hash,
        "--store",
        store,
        "--task",
        "2",
        "--hash-file",
        file,
    ]);
    assert!(one.unwrap().contains("scale task 2 "));
    let element = mlflow::codec::hash_bytes(&mlflow::codec::encode(&90u64).unwrap()).to_hex();
    assert_eq!(std::fs::read_to_string(file).unwrap(), element, "task 2 is 30 * 3");

    let failed = |args: &[&str]| run(args).unwrap_err().to_string();
    let plain = failed(&["step", "--node", "readings", "--plan", &hash, "--store", store, "--task", "0"]);
    assert!(plain.contains("not a mapped step"), "{plain}");
    let beyond = failed(&["step", "--node", "scale", "--plan", &hash, "--store", store, "--task", "4"]);
    assert!(beyond.contains("has 4 task(s)") && beyond.contains("--tasks"), "{beyond}");
    let both = run(&["step", "--node", "scale", "--plan", &hash, "--task", "1", "--tasks"]).unwrap_err();
    assert!(matches!(both, mlflow::CommandError::Usage(ref m) if m.contains("not both")), "{both}");
    let word = run(&["step", "--node", "scale", "--plan", &hash, "--task", "two"]).unwrap_err();
    assert!(matches!(word, mlflow::CommandError::Usage(ref m) if m.contains("task index")), "{word}");
}
