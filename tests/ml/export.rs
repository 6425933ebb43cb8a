//! The Titanic pipeline exported for Argo Workflows and Kubeflow Pipelines (golden files, which
//! `tests/fixtures/export/validate.py` checks with hera and kfp in `.ci/run`), and run node by
//! node in the orchestrator's order as the exported pods do: the same output hashes as a run in
//! one process.

use crate::titanic;

use std::collections::HashMap;
use std::path::PathBuf;

use mlflow::eval::Metric;
use mlflow::exec::{NodeRun, StepStatus};
use mlflow::exec_plan::PlanNodeKind;
use mlflow::export::{ExportOptions, argo_workflow, kfp_pipeline, to_yaml};

/// Set to rewrite the golden files from the current exporter.
const BLESS: &str = "MLFLOW_BLESS";

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export").join(name)
}

/// `yaml` against the committed file, with the plan hash (which follows every step's code)
/// written as `PLAN_HASH`.
fn assert_golden(name: &str, yaml: &str, plan_hash: &str) {
    let normalized = yaml.replace(plan_hash, "PLAN_HASH");
    let path = golden(name);
    if std::env::var_os(BLESS).is_some() {
        std::fs::write(&path, &normalized).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == normalized,
        "{} differs from the export (rerun with {BLESS}=1 to rewrite it, then review the diff):\n{normalized}",
        path.display()
    );
}

#[test]
fn the_titanic_export_matches_its_golden_files_with_the_five_trainers_in_parallel() {
    let (pipeline, _) = titanic::pipeline::build(titanic::train_file(), Metric::RocAuc);
    let plan = pipeline.execution_plan().unwrap();
    let options = ExportOptions::new("ghcr.io/acme/titanic:1").command(["/app/titanic"]).store("/mnt/mlflow");
    let hash = plan.plan_hash().to_hex();
    let argo = argo_workflow(&plan, &options).unwrap();
    let kfp = kfp_pipeline(&plan, &options).unwrap();
    assert_golden("titanic.argo.yaml", &to_yaml(&argo), &hash);
    assert_golden("titanic.kfp.yaml", &to_yaml(&kfp), &hash);

    // The five trainers depend on `prepare` alone: the orchestrator runs them side by side.
    let tasks = &kfp["root"]["dag"]["tasks"];
    let trainers: Vec<&str> = plan
        .nodes()
        .iter()
        .filter(|n| n.kind == PlanNodeKind::Step && n.id.starts_with("train-"))
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(trainers.len(), 5, "{trainers:?}");
    for trainer in &trainers {
        assert_eq!(tasks[trainer]["dependentTasks"], serde_json::json!(["prepare"]), "{trainer}");
    }
    let dag = argo["spec"]["templates"][0]["dag"]["tasks"].as_array().unwrap();
    for trainer in &trainers {
        let task = dag.iter().find(|t| t["name"] == *trainer).unwrap();
        assert_eq!(task["dependencies"], serde_json::json!(["prepare"]), "{trainer}");
    }
    // Params are not tasks; every step node is one.
    let steps = plan.nodes().iter().filter(|n| n.kind != PlanNodeKind::Param).count();
    assert_eq!(tasks.as_object().unwrap().len(), steps);
    assert_eq!(dag.len(), steps);
}

#[test]
fn the_titanic_pipeline_run_node_by_node_gives_the_hashes_of_a_run_in_one_process() {
    let (pipeline, _) = titanic::pipeline::build(titanic::train_file(), Metric::RocAuc);
    let plan = pipeline.execution_plan().unwrap();
    let plan_hash = plan.plan_hash().to_hex();
    // In one process.
    let (_whole_dir, whole) = titanic::temp_store();
    let report = pipeline.run(&whole).unwrap().into_result().unwrap();
    let expected: HashMap<&str, String> =
        report.steps().iter().map(|s| (s.node.as_str(), s.output_hash.unwrap().to_hex())).collect();

    // Node by node, in the plan's order, each given its upstream tasks' hashes.
    let (_dir, store) = titanic::temp_store();
    let mut reported: HashMap<String, String> = HashMap::new();
    for node in plan.topological_order().into_iter().filter(|n| n.step.is_some()) {
        let mut run = NodeRun::new(&node.id).plan(&plan_hash);
        for input in node.inputs.iter().filter(|i| reported.contains_key(*i)) {
            run = run.input(input, &reported[input]);
        }
        let outcome = pipeline.run_node(&store, &run).unwrap();
        let own = outcome.report.steps().iter().find(|s| s.node == node.name).unwrap();
        assert_eq!(own.status, StepStatus::Ran, "{}", node.id);
        // Everything upstream came from the store.
        assert!(
            outcome
                .report
                .steps()
                .iter()
                .filter(|s| s.node != node.name)
                .all(|s| s.status == StepStatus::Cached),
            "{}: {}",
            node.id,
            outcome.report
        );
        assert_eq!(outcome.output.to_hex(), expected[node.name.as_str()], "{}", node.id);
        reported.insert(node.id.clone(), outcome.output.to_hex());
    }
    assert_eq!(reported.len(), expected.len());

    // A pod rerun after a kill: a hit.
    let again = pipeline.run_node(&store, &NodeRun::new("select").plan(&plan_hash)).unwrap();
    assert!(again.report.steps().iter().all(|s| s.status == StepStatus::Cached), "{}", again.report);

    // Refusals: another plan, an unknown node, a param, an upstream not in the store, an
    // upstream hash that differs.
    let err = pipeline.run_node(&store, &NodeRun::new("select").plan("0".repeat(64))).unwrap_err();
    assert!(err.to_string().contains("export the workflow again"), "{err}");
    let err = pipeline.run_node(&store, &NodeRun::new("nope")).unwrap_err().to_string();
    assert!(err.contains("no step node `nope`") && err.contains("train-"), "{err}");
    let err = pipeline.run_node(&store, &NodeRun::new("setup")).unwrap_err().to_string();
    assert!(err.contains("no step node `setup`"), "{err}");
    let (_empty_dir, empty) = titanic::temp_store();
    let err = pipeline.run_node(&empty, &NodeRun::new("select")).unwrap_err().to_string();
    assert!(err.contains("is not in the store") && err.contains("its task has not run yet"), "{err}");
    let err = pipeline
        .run_node(&store, &NodeRun::new("prepare").input("ingest", "f".repeat(64)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("upstream node `ingest` reported output ffff"), "{err}");
}

#[test]
fn the_exported_titanic_workflow_runs_locally_as_processes_with_the_in_process_hashes() {
    use mlflow::export::{LocalRunOptions, run_local};
    // The example's binary, built by `cargo test` with the other targets.
    let deps = std::env::current_exe().unwrap();
    let binary = deps.parent().and_then(|d| d.parent()).unwrap().join("examples/titanic");
    assert!(binary.is_file(), "{} is built by `cargo test`", binary.display());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("titanic.argo.json");
    let exported = std::process::Command::new(&binary)
        .args(["export", "argo", "--image", "local", "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let workflow: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let store = dir.path().join("store");
    let run = run_local(&workflow, &LocalRunOptions::new(&binary).store(store.display().to_string()).jobs(2))
        .unwrap();

    let (pipeline, _) = titanic::pipeline::build(titanic::train_file(), Metric::RocAuc);
    let plan = pipeline.execution_plan().unwrap();
    let (_whole_dir, whole) = titanic::temp_store();
    let report = pipeline.run(&whole).unwrap().into_result().unwrap();
    assert_eq!(run.tasks.len(), report.steps().len());
    for step in report.steps() {
        let id = &plan.nodes().iter().find(|n| n.name == step.node).unwrap().id;
        let task = run.task(id).unwrap_or_else(|| panic!("task {id}"));
        assert_eq!(task.hash, step.output_hash.map(|h| h.to_hex()), "{id}");
    }
    assert!(run.max_parallel >= 2, "{run:?}");
}
