//! The Kubeflow Pipelines v2 rendering: the pipeline spec (IR) a KFP backend runs.

use serde_json::{Map, Value, json};

use super::{
    ExportError, ExportOptions, Mode, TASKS_PARAMETER, Task, check_kfp, container, seconds, step_args, tasks,
};
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
/// A mapped step that fans out (see [the module](super)) is, as KFP's compiler renders
/// `dsl.ParallelFor` over a task's output: a root task `ID--tasks` whose output parameter `tasks`
/// (a `LIST`) holds the map's task indices; a root task `ID--each` running the sub-DAG component
/// `comp-for-loop-ID` with a `parameterIterator` over that list, whose one task `ID--task` runs
/// the map's task given by the loop's item, with the step's caching and retry policy; and the
/// node's own task `ID`, after the loop.
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
        let mut own = dag_task(options, task);
        if let Some(fan_out) = &task.fan_out {
            // The listing task, the parallel-for over its list, then the node itself.
            let mut list = dag_task(options, task);
            list["taskInfo"]["name"] = json!(fan_out.list);
            list["componentRef"]["name"] = json!(format!("comp-{}", fan_out.list));
            list.as_object_mut().expect("an object").remove("retryPolicy");
            dag.insert(fan_out.list.clone(), list);
            let mut list_component = component(options, task, &fan_out.list);
            list_component["outputDefinitions"] =
                json!({ "parameters": { TASKS_PARAMETER: { "parameterType": "LIST" } } });
            components.insert(format!("comp-{}", fan_out.list), list_component);
            let file = format!("{{{{$.outputs.parameters['{TASKS_PARAMETER}'].output_file}}}}");
            executors.insert(
                format!("exec-{}", fan_out.list),
                executor(plan, options, &command, task, Mode::List(&file)),
            );

            let (looped, for_loop) = parallel_for(options, task, &fan_out.list, &fan_out.task);
            components.insert(loop_component(task.id), for_loop);
            dag.insert(fan_out.each.clone(), looped);
            let mut one = component(options, task, &fan_out.task);
            one["inputDefinitions"]["parameters"][TASK_INPUT] = json!({ "parameterType": "NUMBER_INTEGER" });
            one.as_object_mut().expect("an object").remove("outputDefinitions");
            components.insert(format!("comp-{}", fan_out.task), one);
            let index = format!("{{{{$.inputs.parameters['{TASK_INPUT}']}}}}");
            executors.insert(
                format!("exec-{}", fan_out.task),
                executor(plan, options, &command, task, Mode::Task(&index)),
            );

            let mut after: Vec<&str> = task.after.iter().copied().chain([fan_out.each.as_str()]).collect();
            after.sort_unstable();
            own["dependentTasks"] = json!(after);
        }
        components.insert(format!("comp-{}", task.id), component(options, task, task.id));
        let file = "{{$.outputs.parameters['hash'].output_file}}";
        executors
            .insert(format!("exec-{}", task.id), executor(plan, options, &command, task, Mode::Node(file)));
        dag.insert(task.id.to_owned(), own);
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

/// The component `comp-NAME` of `task` (or of one of its fan-out tasks): its input parameters
/// (the store and each upstream hash) and its output parameter `hash`.
fn component(options: &ExportOptions, task: &Task<'_>, name: &str) -> Value {
    let mut inputs = Map::new();
    for (name, _) in options.parameters() {
        inputs.insert(name.into(), json!({ "parameterType": "STRING" }));
    }
    for up in &task.upstream {
        inputs.insert(input_name(up), json!({ "parameterType": "STRING" }));
    }
    json!({
        "executorLabel": format!("exec-{name}"),
        "inputDefinitions": { "parameters": inputs },
        "outputDefinitions": { "parameters": { "hash": { "parameterType": "STRING" } } },
    })
}

/// The executor of `task` (or of one of its fan-out tasks) doing `mode`: its container.
fn executor(
    plan: &ExecutionPlan,
    options: &ExportOptions,
    command: &[String],
    task: &Task<'_>,
    mode: Mode<'_>,
) -> Value {
    let args = step_args(
        plan,
        options,
        task,
        |name| format!("{{{{$.inputs.parameters['{name}']}}}}"),
        |up| format!("{{{{$.inputs.parameters['{}']}}}}", input_name(up)),
        mode,
    );
    let keys = ("resourceCpuRequest", "resourceMemoryRequest");
    let container = container(options, command, args, &task.step.resources, keys, |requests| requests);
    json!({ "container": container })
}

/// The input parameter of a map's task component carrying its task index.
const TASK_INPUT: &str = "task";

/// The name of the sub-DAG component looping over a map's tasks (KFP's `comp-for-loop-N`).
fn loop_component(id: &str) -> String {
    format!("comp-for-loop-{id}")
}

/// The parameter of the loop's sub-DAG carrying `name`'s value from the root DAG, as KFP's
/// compiler names it.
fn channel(name: &str) -> String {
    format!("pipelinechannel--{name}")
}

/// A map's parallel-for, as KFP's compiler renders `dsl.ParallelFor` over a task's output list:
/// the root task running the loop's sub-DAG component with a `parameterIterator` over the list
/// (listed by task `list`), and that component, whose one task (`inner`) runs one map task with
/// the loop's item, with the step's caching and retry policy.
fn parallel_for(options: &ExportOptions, task: &Task<'_>, list: &str, inner: &str) -> (Value, Value) {
    let items = channel(&format!("{list}-{TASKS_PARAMETER}"));
    let item = format!("{items}-loop-item");
    let mut outer = Map::new();
    let mut definitions = Map::new();
    let mut inner_inputs = Map::new();
    for (name, _) in options.parameters() {
        outer.insert(channel(name), json!({ "componentInputParameter": name }));
        definitions.insert(channel(name), json!({ "parameterType": "STRING" }));
        inner_inputs.insert(name.to_owned(), json!({ "componentInputParameter": channel(name) }));
    }
    for up in &task.upstream {
        let carried = channel(&format!("{up}-hash"));
        outer.insert(
            carried.clone(),
            json!({ "taskOutputParameter": { "producerTask": up, "outputParameterKey": "hash" } }),
        );
        definitions.insert(carried.clone(), json!({ "parameterType": "STRING" }));
        inner_inputs.insert(input_name(up), json!({ "componentInputParameter": carried }));
    }
    outer.insert(
        items.clone(),
        json!({ "taskOutputParameter": { "producerTask": list, "outputParameterKey": TASKS_PARAMETER } }),
    );
    definitions.insert(items.clone(), json!({ "parameterType": "LIST" }));
    definitions.insert(item.clone(), json!({ "parameterType": "NUMBER_INTEGER" }));
    inner_inputs.insert(TASK_INPUT.to_owned(), json!({ "componentInputParameter": item }));
    let mut one = json!({
        "taskInfo": { "name": inner },
        "componentRef": { "name": format!("comp-{inner}") },
        "inputs": { "parameters": inner_inputs },
        "cachingOptions": if task.step.cache { json!({ "enableCache": true }) } else { json!({}) },
    });
    if let Some(policy) = retry_policy(task) {
        one["retryPolicy"] = policy;
    }
    let component = json!({
        "dag": { "tasks": { inner: one } },
        "inputDefinitions": { "parameters": definitions },
    });
    let fan_out = task.fan_out.as_ref().expect("a map that fans out");
    let mut after: Vec<&str> = task.after.iter().copied().chain([list]).collect();
    after.sort_unstable();
    let looped = json!({
        "taskInfo": { "name": fan_out.each },
        "componentRef": { "name": loop_component(task.id) },
        "dependentTasks": after,
        "inputs": { "parameters": outer },
        "parameterIterator": { "itemInput": item, "items": { "inputParameter": items } },
    });
    (looped, component)
}

/// KFP's retry policy for the step's retries, if it has any.
fn retry_policy(task: &Task<'_>) -> Option<Value> {
    (task.step.retries > 0).then(|| {
        json!({
            "maxRetryCount": task.step.retries,
            "backoffDuration": seconds(task.step.backoff),
            "backoffFactor": 2.0,
            "backoffMaxDuration": "3600s",
        })
    })
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
    if let Some(policy) = retry_policy(task) {
        value["retryPolicy"] = policy;
    }
    value
}

/// The input parameter carrying `upstream`'s output hash (KFP parameter names are identifiers).
fn input_name(upstream: &str) -> String {
    format!("in_{}", upstream.replace('-', "_"))
}
