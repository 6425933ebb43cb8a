//! The Argo Workflows rendering: one DAG template over one container template per step node.

use serde_json::{Value, json};

use super::{ExportError, ExportOptions, HASH_FILE, Task, check_argo, container, seconds, step_args, tasks};
use crate::exec_plan::ExecutionPlan;

/// The name of the DAG template, the workflow's entrypoint.
const ENTRYPOINT: &str = "pipeline";

/// `plan` as an Argo `Workflow` (`argoproj.io/v1alpha1`): a DAG template named `pipeline` whose
/// tasks are the step nodes with their dependencies, and per step node a container template
/// running the binary in step mode, with the step's retries (`retryStrategy`, its backoff
/// doubling), timeout (`activeDeadlineSeconds`) and resource requests; the output's content hash
/// is the template's output parameter `hash`, passed to the tasks downstream. The store is the
/// workflow parameter `store` (`argo submit ... -p store=/mnt/...`), and the artifacts URL,
/// when given, the parameter `artifacts`.
///
/// Checked with [`check_argo`] before it is returned. Write it with
/// [`to_yaml`](super::to_yaml) for `argo submit`.
///
/// ```
/// use mlflow_core::prelude::*;
/// use mlflow_core::export::{ExportOptions, argo_workflow};
///
/// #[mlflow_macros::step(crate = mlflow_core, timeout = "10m", memory = "1Gi")]
/// fn load() -> Vec<u8> {
///     Vec::new()
/// }
///
/// let mut p = Pipeline::new("doc");
/// p.step(LoadStep, ());
/// let workflow = argo_workflow(&p.execution_plan()?, &ExportOptions::new("acme/doc:1"))?;
/// let load = &workflow["spec"]["templates"][1];
/// assert_eq!(load["name"], "load");
/// assert_eq!(load["activeDeadlineSeconds"], 600);
/// assert_eq!(load["container"]["resources"]["requests"]["memory"], "1Gi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn argo_workflow(plan: &ExecutionPlan, options: &ExportOptions) -> Result<Value, ExportError> {
    let tasks = tasks(plan, options)?;
    let command = options.command_for(plan);
    let dag_tasks: Vec<Value> = tasks.iter().map(dag_task).collect();
    let mut templates = vec![json!({ "name": ENTRYPOINT, "dag": { "tasks": dag_tasks } })];
    templates.extend(tasks.iter().map(|task| container_template(plan, options, &command, task)));
    let mut metadata = json!({
        "generateName": format!("{}-", crate::exec_plan::label_of(plan.pipeline())),
        "annotations": {
            "mlflow/pipeline": plan.pipeline(),
            "mlflow/plan-hash": plan.plan_hash().to_hex(),
        },
    });
    if let Some(namespace) = &options.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let mut spec = json!({
        "entrypoint": ENTRYPOINT,
        "arguments": { "parameters": options
            .parameters()
            .into_iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect::<Vec<_>>() },
        "templates": templates,
    });
    if let Some(account) = &options.service_account {
        spec["serviceAccountName"] = json!(account);
    }
    let workflow = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": spec,
    });
    check_argo(&workflow).map_err(|problem| ExportError::InvalidSpec { engine: "argo", problem })?;
    Ok(workflow)
}

/// The task of `task` in the DAG template.
fn dag_task(task: &Task<'_>) -> Value {
    let mut value = json!({ "name": task.id, "template": task.id });
    if !task.after.is_empty() {
        value["dependencies"] = json!(task.after);
    }
    if !task.upstream.is_empty() {
        let parameters: Vec<Value> = task
            .upstream
            .iter()
            .map(|up| json!({ "name": input_name(up), "value": format!("{{{{tasks.{up}.outputs.parameters.hash}}}}") }))
            .collect();
        value["arguments"] = json!({ "parameters": parameters });
    }
    value
}

/// The container template of `task`.
fn container_template(
    plan: &ExecutionPlan,
    options: &ExportOptions,
    command: &[String],
    task: &Task<'_>,
) -> Value {
    let args = step_args(
        plan,
        options,
        task,
        |name| format!("{{{{workflow.parameters.{name}}}}}"),
        HASH_FILE,
        |up| format!("{{{{inputs.parameters.{}}}}}", input_name(up)),
    );
    let container = container(
        options,
        command,
        args,
        &task.step.resources,
        ("cpu", "memory"),
        |requests| json!({ "requests": requests }),
    );
    let mut template = json!({
        "name": task.id,
        "container": container,
        "outputs": { "parameters": [{ "name": "hash", "valueFrom": { "path": HASH_FILE } }] },
    });
    if !task.upstream.is_empty() {
        let parameters: Vec<Value> =
            task.upstream.iter().map(|up| json!({ "name": input_name(up) })).collect();
        template["inputs"] = json!({ "parameters": parameters });
    }
    if task.step.retries > 0 {
        template["retryStrategy"] = json!({
            "limit": task.step.retries.to_string(),
            "backoff": { "duration": seconds(task.step.backoff), "factor": "2" },
        });
    }
    if let Some(timeout) = task.step.timeout {
        // Whole seconds, rounded up: a deadline shorter than the step's own would cut it short.
        let secs = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        template["activeDeadlineSeconds"] = json!(secs);
    }
    template
}

/// The input parameter carrying `upstream`'s output hash.
fn input_name(upstream: &str) -> String {
    format!("in-{upstream}")
}
