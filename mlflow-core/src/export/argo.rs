//! The Argo Workflows rendering: one DAG template over one container template per step node.

use serde_json::{Value, json};

use super::{
    ExportError, ExportOptions, HASH_FILE, Mode, TASKS_FILE, TASKS_PARAMETER, Task, check_argo, container,
    seconds, step_args, tasks,
};
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
/// A mapped step that fans out (see [the module](super)) is three DAG tasks: `ID--tasks`, whose
/// output parameter `tasks` is the JSON list of the map's task indices; `ID--each`, with
/// `withParam` over that list, one pod per index running `--task {{item}}` with the step's
/// retries, timeout and resources; and `ID`, after them, the node's own task as above.
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
    let mut dag_tasks = Vec::new();
    let mut containers = Vec::new();
    for task in &tasks {
        if let Some(fan_out) = &task.fan_out {
            // List the indices, one pod per index, then the node itself after them.
            dag_tasks.push(dag_task(task, &fan_out.list, None));
            let mut each = dag_task(task, &fan_out.each, Some(&fan_out.list));
            each["withParam"] =
                json!(format!("{{{{tasks.{}.outputs.parameters.{TASKS_PARAMETER}}}}}", fan_out.list));
            let arguments = each["arguments"]["parameters"].as_array().cloned().unwrap_or_default();
            let item = json!({ "name": TASK_INPUT, "value": "{{item}}" });
            let parameters = [arguments, vec![item]].concat();
            each["arguments"] = json!({ "parameters": parameters });
            dag_tasks.push(each);
            dag_tasks.push(dag_task(task, task.id, Some(&fan_out.each)));
            containers.push(container_template(
                plan,
                options,
                &command,
                task,
                &fan_out.list,
                Mode::List(TASKS_FILE),
            ));
            let index = format!("{{{{inputs.parameters.{TASK_INPUT}}}}}");
            containers.push(container_template(
                plan,
                options,
                &command,
                task,
                &fan_out.each,
                Mode::Task(&index),
            ));
        } else {
            dag_tasks.push(dag_task(task, task.id, None));
        }
        containers.push(container_template(plan, options, &command, task, task.id, Mode::Node(HASH_FILE)));
    }
    let mut templates = vec![json!({ "name": ENTRYPOINT, "dag": { "tasks": dag_tasks } })];
    templates.extend(containers);
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

/// The input parameter of a map's fan-out task carrying its task index.
const TASK_INPUT: &str = "task";

/// The DAG task `name` (`task`'s own, or one of its fan-out tasks, which also runs after
/// `extra`) running the template of the same name.
fn dag_task(task: &Task<'_>, name: &str, extra: Option<&str>) -> Value {
    let mut value = json!({ "name": name, "template": name });
    let mut after: Vec<&str> = task.after.iter().copied().chain(extra).collect();
    after.sort_unstable();
    if !after.is_empty() {
        value["dependencies"] = json!(after);
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

/// The container template `name` of `task`, its pod doing `mode`: the node's own (with the
/// step's retries, timeout and resources, its output hash the output parameter `hash`), a map's
/// listing (its resources; the indices the output parameter `tasks`), or one task of a map
/// (the step's retries, timeout and resources; its index the input parameter `task`).
fn container_template(
    plan: &ExecutionPlan,
    options: &ExportOptions,
    command: &[String],
    task: &Task<'_>,
    name: &str,
    mode: Mode<'_>,
) -> Value {
    let output = match mode {
        Mode::Node(file) => Some(("hash", file)),
        Mode::List(file) => Some((TASKS_PARAMETER, file)),
        Mode::Task(_) => None,
    };
    let listing = matches!(mode, Mode::List(_));
    let one_task = matches!(mode, Mode::Task(_));
    let args = step_args(
        plan,
        options,
        task,
        |name| format!("{{{{workflow.parameters.{name}}}}}"),
        |up| format!("{{{{inputs.parameters.{}}}}}", input_name(up)),
        mode,
    );
    let container = container(
        options,
        command,
        args,
        &task.step.resources,
        ("cpu", "memory"),
        |requests| json!({ "requests": requests }),
    );
    let mut template = json!({ "name": name, "container": container });
    if let Some((parameter, file)) = output {
        template["outputs"] = json!({ "parameters": [{ "name": parameter, "valueFrom": { "path": file } }] });
    }
    let mut inputs: Vec<Value> = task.upstream.iter().map(|up| json!({ "name": input_name(up) })).collect();
    if one_task {
        inputs.push(json!({ "name": TASK_INPUT }));
    }
    if !inputs.is_empty() {
        template["inputs"] = json!({ "parameters": inputs });
    }
    if task.step.retries > 0 && !listing {
        template["retryStrategy"] = json!({
            "limit": task.step.retries.to_string(),
            "backoff": { "duration": seconds(task.step.backoff), "factor": "2" },
        });
    }
    if let Some(timeout) = task.step.timeout.filter(|_| !listing) {
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
