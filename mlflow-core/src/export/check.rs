//! Checks of a rendered spec, independent of how it was rendered: what the orchestrator would
//! refuse on submission (a dangling reference, an invalid name, a cycle) is found before the
//! spec is written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Whether `name` is a DNS-1123 label, as Kubernetes requires of pod and template names: 1 to 63
/// lower-case letters, digits and `-`, starting and ending with a letter or digit.
///
/// ```
/// use mlflow_core::export::is_dns_label;
/// assert!(is_dns_label("train-rbf-svm") && is_dns_label("a1"));
/// assert!(!is_dns_label("Train") && !is_dns_label("train_svm") && !is_dns_label("-a") && !is_dns_label(""));
/// assert!(!is_dns_label(&"a".repeat(64)));
/// ```
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

/// Checks an Argo `Workflow`: the entrypoint and every task's template exist, every dependency
/// names a task of the same DAG, every `{{tasks.X...}}` argument names one of its dependencies,
/// template and task names are DNS-1123 labels, and the tasks have no cycle. The error names the
/// first problem found.
///
/// ```
/// let workflow = serde_json::json!({"kind": "Workflow", "spec": {"entrypoint": "main", "templates": [
///     {"name": "main", "dag": {"tasks": [{"name": "a", "template": "a", "dependencies": ["b"]}]}},
///     {"name": "a", "container": {"image": "x"}}]}});
/// let err = mlflow_core::export::check_argo(&workflow).unwrap_err();
/// assert!(err.contains("task `a` depends on `b`"), "{err}");
/// ```
pub fn check_argo(workflow: &Value) -> Result<(), String> {
    let spec = &workflow["spec"];
    let templates = spec["templates"].as_array().ok_or("the workflow has no templates")?;
    let names: BTreeSet<&str> = templates.iter().filter_map(|t| t["name"].as_str()).collect();
    if names.len() != templates.len() {
        return Err("two templates have the same name, or one has none".into());
    }
    let entrypoint = spec["entrypoint"].as_str().ok_or("the workflow has no entrypoint")?;
    if !names.contains(entrypoint) {
        return Err(format!("the entrypoint `{entrypoint}` is not a template"));
    }
    for name in &names {
        if !is_dns_label(name) {
            return Err(format!("template name `{name}` is not a DNS-1123 label"));
        }
    }
    for template in templates {
        let Some(tasks) = template["dag"]["tasks"].as_array() else { continue };
        let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for task in tasks {
            let name = task["name"].as_str().ok_or("a DAG task has no name")?;
            if !is_dns_label(name) {
                return Err(format!("task name `{name}` is not a DNS-1123 label"));
            }
            let target = task["template"].as_str().unwrap_or_default();
            if !names.contains(target) {
                return Err(format!("task `{name}` runs template `{target}`, which does not exist"));
            }
            let dependencies: Vec<&str> =
                task["dependencies"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let with_param = task.get("withParam").map(|v| v.as_str().unwrap_or_default());
            if let Some(list) = with_param
                && !(list.starts_with("{{tasks.") && list.ends_with("}}"))
            {
                return Err(format!(
                    "task `{name}` fans out over `{list}`, not over an output of another task"
                ));
            }
            let arguments = task["arguments"]["parameters"].as_array().into_iter().flatten();
            let values = arguments.map(|argument| argument["value"].as_str().unwrap_or_default());
            for value in values.chain(with_param) {
                if value.contains("{{item}}") && with_param.is_none() {
                    return Err(format!(
                        "task `{name}` reads `{{{{item}}}}` but fans out over nothing (no withParam)"
                    ));
                }
                if let Some(rest) = value.strip_prefix("{{tasks.") {
                    let producer = rest.split('.').next().unwrap_or_default();
                    if !dependencies.contains(&producer) {
                        return Err(format!(
                            "task `{name}` reads the output of `{producer}` without depending on it"
                        ));
                    }
                }
            }
            if graph.insert(name, dependencies).is_some() {
                return Err(format!("two tasks are named `{name}`"));
            }
        }
        check_graph(&graph)?;
    }
    Ok(())
}

/// Checks a KFP pipeline spec: every component runs an executor that exists or is a sub-DAG
/// (a parallel-for's body), every task's component exists, every dependent task and producer
/// task names a task of the same DAG (a producer must also be a dependency), a sub-DAG's tasks
/// read only its declared inputs, a loop iterates over one of its task's inputs into one of its
/// component's, task names are DNS-1123 labels, and no DAG has a cycle. The error names the
/// first problem found.
///
/// ```
/// let spec = serde_json::json!({"components": {"comp-a": {"executorLabel": "exec-a"}},
///     "deploymentSpec": {"executors": {}},
///     "root": {"dag": {"tasks": {"a": {"componentRef": {"name": "comp-a"}}}}}});
/// let err = mlflow_core::export::check_kfp(&spec).unwrap_err();
/// assert!(err.contains("executor `exec-a`"), "{err}");
/// ```
pub fn check_kfp(spec: &Value) -> Result<(), String> {
    let components = spec["components"].as_object().ok_or("the spec has no components")?;
    let executors = spec["deploymentSpec"]["executors"].as_object().ok_or("the spec has no executors")?;
    for (name, component) in components {
        if component.get("dag").is_some() {
            let tasks = component["dag"]["tasks"]
                .as_object()
                .ok_or_else(|| format!("component `{name}` has a DAG without tasks"))?;
            let inputs = component["inputDefinitions"]["parameters"].as_object();
            check_kfp_dag(
                tasks,
                components,
                Some(inputs.ok_or_else(|| format!("component `{name}` declares no inputs"))?),
            )
            .map_err(|e| format!("in component `{name}`: {e}"))?;
            continue;
        }
        let executor = component["executorLabel"].as_str().unwrap_or_default();
        if !executors.contains_key(executor) {
            return Err(format!("component `{name}` runs executor `{executor}`, which does not exist"));
        }
    }
    let tasks = spec["root"]["dag"]["tasks"].as_object().ok_or("the spec has no root tasks")?;
    check_kfp_dag(tasks, components, None)
}

/// The tasks of one KFP DAG; `inputs`, a sub-DAG's declared inputs, which its tasks may read.
fn check_kfp_dag(
    tasks: &serde_json::Map<String, Value>,
    components: &serde_json::Map<String, Value>,
    inputs: Option<&serde_json::Map<String, Value>>,
) -> Result<(), String> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, task) in tasks {
        if !is_dns_label(name) {
            return Err(format!("task name `{name}` is not a DNS-1123 label"));
        }
        let component = task["componentRef"]["name"].as_str().unwrap_or_default();
        if !components.contains_key(component) {
            return Err(format!("task `{name}` runs component `{component}`, which does not exist"));
        }
        let dependencies: Vec<&str> =
            task["dependentTasks"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let parameters = task["inputs"]["parameters"].as_object();
        for input in parameters.into_iter().flat_map(|p| p.values()) {
            if let Some(producer) = input["taskOutputParameter"]["producerTask"].as_str()
                && !dependencies.contains(&producer)
            {
                return Err(format!(
                    "task `{name}` reads the output of `{producer}` without depending on it"
                ));
            }
            if let (Some(inputs), Some(read)) = (inputs, input["componentInputParameter"].as_str())
                && !inputs.contains_key(read)
            {
                return Err(format!("task `{name}` reads `{read}`, which its DAG does not declare"));
            }
        }
        if let Some(iterator) = task.get("parameterIterator") {
            let items = iterator["items"]["inputParameter"].as_str().unwrap_or_default();
            if !parameters.is_some_and(|p| p.contains_key(items)) {
                return Err(format!("task `{name}` loops over `{items}`, which is not one of its inputs"));
            }
            let item = iterator["itemInput"].as_str().unwrap_or_default();
            if components[component]["inputDefinitions"]["parameters"].get(item).is_none() {
                return Err(format!(
                    "task `{name}` passes each item as `{item}`, which component `{component}` does not declare"
                ));
            }
        }
        graph.insert(name, dependencies);
    }
    check_graph(&graph)
}

/// Every dependency names a task, and there is no cycle (Kahn's algorithm).
fn check_graph(graph: &BTreeMap<&str, Vec<&str>>) -> Result<(), String> {
    for (task, dependencies) in graph {
        if let Some(missing) = dependencies.iter().find(|d| !graph.contains_key(*d)) {
            return Err(format!("task `{task}` depends on `{missing}`, which is not a task"));
        }
    }
    let mut unmet: BTreeMap<&str, usize> = graph.iter().map(|(t, d)| (*t, d.len())).collect();
    let mut ready: Vec<&str> = unmet.iter().filter(|(_, n)| **n == 0).map(|(t, _)| *t).collect();
    let mut done = 0;
    while let Some(task) = ready.pop() {
        done += 1;
        for (other, dependencies) in graph {
            if dependencies.contains(&task) {
                let n = unmet.get_mut(other).expect("every task is counted");
                *n -= 1;
                if *n == 0 {
                    ready.push(other);
                }
            }
        }
    }
    if done < graph.len() {
        let stuck: Vec<&str> = unmet.iter().filter(|(_, n)| **n > 0).map(|(t, _)| *t).collect();
        return Err(format!("the tasks {} depend on each other in a cycle", stuck.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cycles_bad_names_and_unread_dependencies_are_found() {
        let argo = |tasks: Value| {
            json!({"spec": {"entrypoint": "main", "templates": [
                {"name": "main", "dag": {"tasks": tasks}},
                {"name": "a", "container": {}}, {"name": "b", "container": {}}]}})
        };
        let cycle = argo(json!([
            {"name": "a", "template": "a", "dependencies": ["b"]},
            {"name": "b", "template": "b", "dependencies": ["a"]}
        ]));
        assert!(check_argo(&cycle).unwrap_err().contains("cycle"));
        let unread = argo(json!([
            {"name": "a", "template": "a"},
            {"name": "b", "template": "b", "arguments": {"parameters": [{"name": "x", "value": "{{tasks.a.outputs.parameters.hash}}"}]}}
        ]));
        assert!(check_argo(&unread).unwrap_err().contains("without depending on it"));
        let bad_name = argo(json!([{"name": "A_b", "template": "a"}]));
        assert!(check_argo(&bad_name).unwrap_err().contains("DNS-1123"));
        let missing_template = argo(json!([{"name": "c", "template": "c"}]));
        assert!(check_argo(&missing_template).unwrap_err().contains("template `c`"));
        let fine = argo(json!([
            {"name": "a", "template": "a"},
            {"name": "b", "template": "b", "dependencies": ["a"]}
        ]));
        assert_eq!(check_argo(&fine), Ok(()));

        let kfp = |tasks: Value| {
            json!({"components": {"comp-a": {"executorLabel": "exec-a"}},
                "deploymentSpec": {"executors": {"exec-a": {}}}, "root": {"dag": {"tasks": tasks}}})
        };
        let cycle = kfp(json!({
            "a": {"componentRef": {"name": "comp-a"}, "dependentTasks": ["b"]},
            "b": {"componentRef": {"name": "comp-a"}, "dependentTasks": ["a"]}
        }));
        assert!(check_kfp(&cycle).unwrap_err().contains("cycle"));
        let producer = kfp(json!({
            "a": {"componentRef": {"name": "comp-a"}},
            "b": {"componentRef": {"name": "comp-a"}, "inputs": {"parameters": {"x": {"taskOutputParameter": {"producerTask": "a", "outputParameterKey": "hash"}}}}}
        }));
        assert!(check_kfp(&producer).unwrap_err().contains("without depending on it"));
        let unknown = kfp(json!({"a": {"componentRef": {"name": "comp-b"}}}));
        assert!(check_kfp(&unknown).unwrap_err().contains("component `comp-b`"));
        let dangling = kfp(json!({"a": {"componentRef": {"name": "comp-a"}, "dependentTasks": ["z"]}}));
        assert!(check_kfp(&dangling).unwrap_err().contains("`z`, which is not a task"));
    }

    #[test]
    fn fan_outs_and_loops_are_checked() {
        let argo = |each: Value| {
            json!({"spec": {"entrypoint": "main", "templates": [
                {"name": "main", "dag": {"tasks": [{"name": "a", "template": "a"}, each]}},
                {"name": "a", "container": {}}, {"name": "b", "container": {}}]}})
        };
        let fans_out = |list: &str, dependencies: Value| {
            json!({"name": "b", "template": "b", "dependencies": dependencies, "withParam": list,
                "arguments": {"parameters": [{"name": "task", "value": "{{item}}"}]}})
        };
        let fine = argo(fans_out("{{tasks.a.outputs.parameters.tasks}}", json!(["a"])));
        assert_eq!(check_argo(&fine), Ok(()));
        let unordered = argo(fans_out("{{tasks.a.outputs.parameters.tasks}}", json!([])));
        assert!(check_argo(&unordered).unwrap_err().contains("without depending on it"));
        let literal = argo(fans_out("[1, 2]", json!(["a"])));
        assert!(check_argo(&literal).unwrap_err().contains("not over an output of another task"));
        let no_list = argo(json!({"name": "b", "template": "b",
            "arguments": {"parameters": [{"name": "task", "value": "{{item}}"}]}}));
        assert!(check_argo(&no_list).unwrap_err().contains("no withParam"));

        let kfp = |iterator: Value, inner_input: &str| {
            json!({"components": {
                    "comp-a": {"executorLabel": "exec-a"},
                    "comp-loop": {"dag": {"tasks": {"one": {"componentRef": {"name": "comp-a"},
                        "inputs": {"parameters": {"task": {"componentInputParameter": inner_input}}}}}},
                        "inputDefinitions": {"parameters": {"list": {"parameterType": "LIST"},
                            "item": {"parameterType": "NUMBER_INTEGER"}}}}},
                "deploymentSpec": {"executors": {"exec-a": {}}},
                "root": {"dag": {"tasks": {
                    "a": {"componentRef": {"name": "comp-a"}},
                    "loop": {"componentRef": {"name": "comp-loop"}, "dependentTasks": ["a"],
                        "inputs": {"parameters": {"list": {"taskOutputParameter": {"producerTask": "a", "outputParameterKey": "tasks"}}}},
                        "parameterIterator": iterator}}}}})
        };
        let iterate =
            |items: &str, item: &str| json!({"items": {"inputParameter": items}, "itemInput": item});
        assert_eq!(check_kfp(&kfp(iterate("list", "item"), "item")), Ok(()));
        assert!(
            check_kfp(&kfp(iterate("other", "item"), "item")).unwrap_err().contains("not one of its inputs")
        );
        assert!(check_kfp(&kfp(iterate("list", "thing"), "item")).unwrap_err().contains("does not declare"));
        let err = check_kfp(&kfp(iterate("list", "item"), "missing")).unwrap_err();
        assert!(err.contains("in component `comp-loop`") && err.contains("`missing`"), "{err}");
    }
}
