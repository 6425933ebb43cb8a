//! `mlflow-pipelines run-exported FILE --local --binary PATH`: an exported Argo workflow run on
//! this machine, each task a process of the pipeline's binary, in parallel where the DAG allows,
//! against the store the pods would share (`--store`, else the workflow's `store` parameter).

use std::path::PathBuf;

use clap::Args;
use mlflow::export::{LocalRunError, LocalRunOptions, run_local};

use crate::{CliResult, print_table};

/// Arguments of `mlflow-pipelines run-exported`.
#[derive(Args)]
pub struct RunExportedArgs {
    /// The workflow, as written by the pipeline binary's `export argo -o FILE.json`.
    file: PathBuf,
    /// Run it on this machine (the only way this command runs a workflow).
    #[arg(long, required = true)]
    local: bool,
    /// The pipeline's binary, built from the definition the workflow was exported from; it
    /// replaces the program of every task's container.
    #[arg(long, value_name = "PATH")]
    binary: PathBuf,
    /// An argument put before each task's own (repeatable).
    #[arg(long = "binary-arg", value_name = "ARG", allow_hyphen_values = true)]
    binary_args: Vec<String>,
    /// Tasks at once (default: 2).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Keep each task's output and hash files here.
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
}

/// Runs `mlflow-pipelines run-exported`; `store`, `artifacts` and `metadata` (the global flags)
/// override the workflow's parameters of those names.
pub fn run(
    args: RunExportedArgs,
    store: &Option<PathBuf>,
    artifacts: &Option<String>,
    metadata: &Option<String>,
    json: bool,
) -> CliResult<()> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read the workflow {}: {e}", args.file.display()))?;
    let workflow: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not JSON ({e}): export the workflow with `export argo -o FILE.json` (JSON is also YAML for `argo submit`)",
            args.file.display()
        )
    })?;
    let mut options = LocalRunOptions::new(&args.binary).binary_args(args.binary_args).jobs(args.jobs);
    if let Some(store) = store {
        options = options.store(store.display().to_string());
    }
    if let Some(url) = artifacts {
        options = options.parameter("artifacts", url);
    }
    if let Some(url) = metadata {
        options = options.parameter("metadata", url);
    }
    if let Some(logs) = args.logs {
        options = options.logs(logs);
    }
    let run = run_local(&workflow, &options).map_err(|e| match e {
        LocalRunError::TaskFailed { ref done, .. } => {
            format!("{e}\n({} tasks had succeeded; run again: they are cache hits)", done.len())
        }
        e => e.to_string(),
    })?;
    if json {
        let tasks: Vec<serde_json::Value> = run
            .tasks
            .iter()
            .map(|t| serde_json::json!({"task": t.name, "hash": t.hash, "attempts": t.attempts, "seconds": t.duration.as_secs_f64()}))
            .collect();
        println!("{}", serde_json::json!({ "tasks": tasks, "max_parallel": run.max_parallel }));
        return Ok(());
    }
    let mut rows = vec![["task", "attempts", "seconds", "output"].map(String::from).to_vec()];
    for t in &run.tasks {
        rows.push(vec![
            t.name.clone(),
            t.attempts.to_string(),
            format!("{:.2}", t.duration.as_secs_f64()),
            t.hash.clone().unwrap_or_default(),
        ]);
    }
    print_table(&rows);
    println!("{} tasks, up to {} at once", run.tasks.len(), run.max_parallel);
    Ok(())
}
