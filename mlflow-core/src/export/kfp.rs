//! The Kubeflow Pipelines v2 rendering: the pipeline spec (IR) a KFP backend runs.

use serde_json::{Map, Value, json};

use super::{ExportError, ExportOptions, Task, check_kfp, container, seconds, step_args, tasks};
use crate::exec_plan::ExecutionPlan;

/// The IR schema version written.
const SCHEMA_VERSION: &str = "2.1.0";

/// `plan` as a Kubeflow Pipelines v2 pipeline spec: per step node a component (`comp-ID`) with
/// an executor (`exec-ID`) running the binary in step mode, and a root DAG task (`ID`) with its
/// dependencies, its inputs (each upstream task's output parameter `hash`, and the run parameters
/// `store` and, when given, `artifacts`), caching (on for a cached step: KFP's cache key, the inputs' content hashes and the
/// plan hash in the arguments, agrees with ours) and retry policy. KFP v2 has no task timeout:
/// the binary enforces the step's own.
///
/// Checked with [`check_kfp`] before it is returned. Write it with
/// [`to_yaml`](super::to_yaml); upload it with the KFP SDK (`kfp.Client().create_run_from_pipeline_package`).
///
/// ```
/// use mlflow_core::prelude::*;
/// use mlflow_core::export::{ExportOptions, kfp_pipeline};
///
/// #[mlflow_macros::step(crate = mlflow_core, retries = 3)]
/// fn load() -> Vec<u8> {
///     Vec::new()
/// }
///
/// let mut p = Pipeline::new("doc");
/// p.step(LoadStep, ());
/// let spec = kfp_pipeline(&p.execution_plan()?, &ExportOptions::new("acme/doc:1"))?;
/// let task = &spec["root"]["dag"]["tasks"]["load"];
/// assert_eq!(task["componentRef"]["name"], "comp-load");
/// assert_eq!(task["retryPolicy"]["maxRetryCount"], 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn kfp_pipeline(plan: &ExecutionPlan, options: &ExportOptions) -> Result<Value, ExportError> {
    let tasks = tasks(plan, options)?;
    let command = options.command_for(plan);
    let mut components = Map::new();
    let mut executors = Map::new();
    let mut dag = Map::new();
    for task in &tasks {
        components.insert(format!("comp-{}", task.id), component(options, task));
        executors.insert(format!("exec-{}", task.id), executor(plan, options, &command, task));
        dag.insert(task.id.to_owned(), dag_task(options, task));
    }
    let spec = json!({
        "pipelineInfo": { "name": crate::exec_plan::label_of(plan.pipeline()), "description": format!("mlflow pipeline `{}`, plan {}", plan.pipeline(), plan.plan_hash().to_hex()) },
        "schemaVersion": SCHEMA_VERSION,
        "sdkVersion": concat!("mlflow-", env!("CARGO_PKG_VERSION")),
        "components": components,
        "deploymentSpec": { "executors": executors },
        "root": {
            "dag": { "tasks": dag },
            "inputDefinitions": { "parameters": options
                .parameters()
                .into_iter()
                .map(|(name, value)| {
                    (name.to_owned(), json!({ "parameterType": "STRING", "defaultValue": value, "isOptional": true }))
                })
                .collect::<Map<_, _>>() },
        },
    });
    check_kfp(&spec).map_err(|problem| ExportError::InvalidSpec { engine: "kfp", problem })?;
    Ok(spec)
}

/// The component of `task`: its input parameters (the store and each upstream hash) and its
/// output parameter `hash`.
fn component(options: &ExportOptions, task: &Task<'_>) -> Value {
    let mut inputs = Map::new();
    for (name, _) in options.parameters() {
        inputs.insert(name.into(), json!({ "parameterType": "STRING" }));
    }
    for up in &task.upstream {
        inputs.insert(input_name(up), json!({ "parameterType": "STRING" }));
    }
    json!({
        "executorLabel": format!("exec-{}", task.id),
        "inputDefinitions": { "parameters": inputs },
        "outputDefinitions": { "parameters": { "hash": { "parameterType": "STRING" } } },
    })
}

/// The executor of `task`: its container.
fn executor(plan: &ExecutionPlan, options: &ExportOptions, command: &[String], task: &Task<'_>) -> Value {
    let args = step_args(
        plan,
        options,
        task,
        |name| format!("{{{{$.inputs.parameters['{name}']}}}}"),
        "{{$.outputs.parameters['hash'].output_file}}",
        |up| format!("{{{{$.inputs.parameters['{}']}}}}", input_name(up)),
    );
    let keys = ("resourceCpuRequest", "resourceMemoryRequest");
    let container = container(options, command, args, &task.step.resources, keys, |requests| requests);
    json!({ "container": container })
}

/// The root DAG's task of `task`.
fn dag_task(options: &ExportOptions, task: &Task<'_>) -> Value {
    let mut parameters = Map::new();
    for (name, _) in options.parameters() {
        parameters.insert(name.into(), json!({ "componentInputParameter": name }));
    }
    for up in &task.upstream {
        parameters.insert(
            input_name(up),
            json!({ "taskOutputParameter": { "producerTask": up, "outputParameterKey": "hash" } }),
        );
    }
    let mut value = json!({
        "taskInfo": { "name": task.id },
        "componentRef": { "name": format!("comp-{}", task.id) },
        "inputs": { "parameters": parameters },
        "cachingOptions": if task.step.cache { json!({ "enableCache": true }) } else { json!({}) },
    });
    if !task.after.is_empty() {
        value["dependentTasks"] = json!(task.after);
    }
    if task.step.retries > 0 {
        value["retryPolicy"] = json!({
            "maxRetryCount": task.step.retries,
            "backoffDuration": seconds(task.step.backoff),
            "backoffFactor": 2.0,
            "backoffMaxDuration": "3600s",
        });
    }
    value
}

/// The input parameter carrying `upstream`'s output hash (KFP parameter names are identifiers).
fn input_name(upstream: &str) -> String {
    format!("in_{}", upstream.replace('-', "_"))
}
