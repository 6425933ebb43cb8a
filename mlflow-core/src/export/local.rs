//! An exported Argo workflow run on this machine: each task a separate OS process of the
//! pipeline's binary, started as soon as the tasks it depends on succeeded (as many at once as
//! allowed), its arguments resolved as Argo would (the workflow's `store` parameter, upstream
//! output hashes), failed attempts retried as its `retryStrategy` says; a task with `withParam` (a
//! mapped step's fan-out) runs one process per item of the list its producer wrote, each with
//! `{{item}}` bound and retried on its own. It proves the exported
//! contract without a cluster: what the pods would do, against the store they would share.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::HASH_FILE;

/// How [`run_local`] runs a workflow.
///
/// ```
/// use mlflow_core::export::LocalRunOptions;
/// let options = LocalRunOptions::new("target/release/examples/titanic").store("/tmp/shared-store").jobs(4);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct LocalRunOptions {
    binary: PathBuf,
    binary_args: Vec<String>,
    parameters: Vec<(String, String)>,
    jobs: usize,
    logs: Option<PathBuf>,
}

impl LocalRunOptions {
    /// Runs every task with `binary` (the pipeline's own program, built from the same
    /// definition: the plan hash in the workflow is checked by the binary) in place of the
    /// container's program.
    pub fn new(binary: impl Into<PathBuf>) -> LocalRunOptions {
        LocalRunOptions {
            binary: binary.into(),
            binary_args: Vec::new(),
            parameters: Vec::new(),
            jobs: 2,
            logs: None,
        }
    }

    /// Arguments put before the task's own (after the binary).
    pub fn binary_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> LocalRunOptions {
        self.binary_args = args.into_iter().map(Into::into).collect();
        self
    }

    /// The store (overrides the workflow's `store` parameter).
    pub fn store(self, store: impl Into<String>) -> LocalRunOptions {
        self.parameter("store", store)
    }

    /// Overrides the workflow's parameter `name` (`artifacts`, `metadata`, ...), as
    /// `argo submit -p NAME=VALUE` does. A parameter the workflow does not have is refused when
    /// the run starts.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> LocalRunOptions {
        let name = name.into();
        self.parameters.retain(|(n, _)| *n != name);
        self.parameters.push((name, value.into()));
        self
    }

    /// At most `n` tasks at once (at least 1; default 2).
    pub fn jobs(mut self, n: usize) -> LocalRunOptions {
        self.jobs = n.max(1);
        self
    }

    /// Keep each attempt's output (`TASK.N.out`, `TASK.N.err`) and hash file in `dir` (default: a
    /// temporary folder, removed afterwards).
    pub fn logs(mut self, dir: impl Into<PathBuf>) -> LocalRunOptions {
        self.logs = Some(dir.into());
        self
    }
}

/// One task of a [`LocalRun`]: a task of the workflow, or one item of a fan-out task (named
/// `TASK(ITEM)`, as Argo names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTask {
    /// The task's name.
    pub name: String,
    /// Its output parameter, when it succeeded and has one: its output's content hash (hex), or
    /// for a mapped step's listing task, the JSON list of the map's task indices.
    pub hash: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// How long its attempts took together.
    pub duration: Duration,
}

/// What [`run_local`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRun {
    /// Every task that started, in the order they finished.
    pub tasks: Vec<LocalTask>,
    /// The most tasks that ran at the same time.
    pub max_parallel: usize,
}

impl LocalRun {
    /// The task named `name`.
    pub fn task(&self, name: &str) -> Option<&LocalTask> {
        self.tasks.iter().find(|t| t.name == name)
    }
}

/// Why a local run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalRunError {
    /// The workflow is not one this runner understands (not an exported Argo workflow).
    #[error("not a workflow this runner reads: {0}")]
    Workflow(String),
    /// A process could not be started, or its files not read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A task failed on every attempt; the tasks after it did not start.
    #[error(
        "task `{task}` failed after {attempts} attempt(s) (exit status {status}); its last error output:\n{stderr}"
    )]
    TaskFailed {
        /// The task.
        task: String,
        /// Attempts made.
        attempts: u32,
        /// How the last attempt ended.
        status: String,
        /// The end of its standard error.
        stderr: String,
        /// The tasks that succeeded before the run stopped.
        done: Vec<LocalTask>,
    },
}

/// A task of the workflow, resolved to what to run.
struct Planned {
    name: String,
    dependencies: Vec<String>,
    /// The container's arguments, with the task's input parameters bound to what they refer to.
    args: Vec<Arg>,
    /// Extra arguments of the container's command (after its program).
    command_args: Vec<String>,
    retries: u32,
    /// Its output parameter's name and file, if it has one.
    output: Option<(String, String)>,
    /// `withParam`: the task and output parameter holding the JSON list it fans out over.
    with_param: Option<(String, String)>,
}

/// An argument: literal text, the output of a task, or the item of a fan-out.
enum Arg {
    Text(String),
    /// `prefix` + output parameter `parameter` of `task` + `suffix`.
    Output {
        prefix: String,
        task: String,
        parameter: String,
        suffix: String,
    },
    /// `prefix` + the fan-out's item + `suffix`.
    Item {
        prefix: String,
        suffix: String,
    },
    /// Where this attempt writes its output parameter.
    OutputFile,
}

/// One process to run: a task, or one item of a fan-out task.
#[derive(Clone)]
struct Instance<'p> {
    task: &'p Planned,
    item: Option<String>,
    name: String,
}

impl<'p> Instance<'p> {
    fn whole(task: &'p Planned) -> Instance<'p> {
        Instance { task, item: None, name: task.name.clone() }
    }
}

/// Runs the exported Argo `workflow` (its JSON) on this machine: each task a process of the
/// pipeline's binary (in place of its container's program), started once the tasks it depends on
/// succeeded, at most [`LocalRunOptions::jobs`] at once, its arguments resolved as Argo would
/// (the `store` parameter, upstream output hashes), failed attempts retried as its
/// `retryStrategy` allows. A task that fails for good stops new starts; the error lists the tasks
/// that succeeded (a rerun finds them in the store).
///
/// ```no_run
/// use mlflow_core::export::{LocalRunOptions, run_local};
/// let workflow: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("titanic.argo.json")?)?;
/// let run = run_local(&workflow, &LocalRunOptions::new("target/release/examples/titanic").store("/tmp/store"))?;
/// println!("{} tasks, up to {} at once", run.tasks.len(), run.max_parallel);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_local(workflow: &Value, options: &LocalRunOptions) -> Result<LocalRun, LocalRunError> {
    let planned = plan(workflow, options)?;
    let temp;
    let logs = match &options.logs {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile_dir()?;
            temp.0.clone()
        }
    };
    std::fs::create_dir_all(&logs).map_err(|e| io(format!("cannot create {}", logs.display()), e))?;
    let mut waiting: Vec<Instance<'_>> = planned.iter().map(Instance::whole).collect();
    // Output parameters by `TASK.PARAMETER`; the tasks that succeeded (every item of a fan-out).
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    let mut succeeded: BTreeSet<String> = BTreeSet::new();
    // A fan-out task's items still to succeed.
    let mut items_left: BTreeMap<String, usize> = BTreeMap::new();
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    let mut spent: BTreeMap<String, Duration> = BTreeMap::new();
    let mut done: Vec<LocalTask> = Vec::new();
    let mut running: Vec<Running<'_>> = Vec::new();
    let mut max_parallel = 0;
    let mut failure: Option<LocalRunError> = None;
    loop {
        // Start the waiting tasks whose dependencies succeeded, unless a task failed for good.
        while failure.is_none() && running.len() < options.jobs {
            let Some(i) =
                waiting.iter().position(|t| t.task.dependencies.iter().all(|d| succeeded.contains(d)))
            else {
                break;
            };
            let instance = waiting.remove(i);
            if let (None, Some((producer, parameter))) = (&instance.item, &instance.task.with_param) {
                // A fan-out: one instance per item of its producer's list, in front.
                let items = fan_out_items(&instance.task.name, producer, parameter, &outputs)?;
                if items.is_empty() {
                    succeeded.insert(instance.name.clone());
                }
                items_left.insert(instance.name.clone(), items.len());
                for (k, item) in items.into_iter().enumerate() {
                    let name = format!("{}({item})", instance.task.name);
                    waiting.insert(k, Instance { task: instance.task, item: Some(item), name });
                }
                continue;
            }
            let attempt = attempts.entry(instance.name.clone()).or_insert(0);
            *attempt += 1;
            running.push(start(instance, *attempt, &outputs, options, &logs)?);
        }
        max_parallel = max_parallel.max(running.len());
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        let mut still = Vec::with_capacity(running.len());
        for mut process in running.drain(..) {
            let instance = process.instance.clone();
            let Some(status) =
                process.child.try_wait().map_err(|e| io(format!("task `{}`", instance.name), e))?
            else {
                still.push(process);
                continue;
            };
            *spent.entry(instance.name.clone()).or_default() += process.started.elapsed();
            let made = attempts[&instance.name];
            if status.success() {
                let mut output = None;
                if let Some((parameter, _)) = &instance.task.output {
                    let value = std::fs::read_to_string(&process.output_file)
                        .map_err(|e| {
                            io(
                                format!(
                                    "task `{}` wrote no output to {}",
                                    instance.name,
                                    process.output_file.display()
                                ),
                                e,
                            )
                        })?
                        .trim()
                        .to_owned();
                    outputs.insert(format!("{}.{parameter}", instance.task.name), value.clone());
                    output = Some(value);
                }
                let duration = spent[&instance.name];
                done.push(LocalTask { name: instance.name.clone(), hash: output, attempts: made, duration });
                let task = &instance.task.name;
                let finished = match instance.item {
                    None => true,
                    Some(_) => {
                        let left = items_left.get_mut(task).expect("a fan-out counts its items");
                        *left -= 1;
                        *left == 0
                    }
                };
                if finished {
                    succeeded.insert(task.clone());
                }
            } else if made <= instance.task.retries && failure.is_none() {
                // Its retryStrategy allows another attempt.
                waiting.insert(0, instance);
            } else if failure.is_none() {
                let stderr = std::fs::read_to_string(&process.stderr).unwrap_or_default();
                let mut tail: Vec<&str> = stderr.lines().rev().take(20).collect();
                tail.reverse();
                failure = Some(LocalRunError::TaskFailed {
                    task: instance.name.clone(),
                    attempts: made,
                    status: status.to_string(),
                    stderr: tail.join("\n"),
                    done: Vec::new(),
                });
            }
        }
        running = still;
    }
    match failure {
        Some(LocalRunError::TaskFailed { task, attempts, status, stderr, .. }) => {
            Err(LocalRunError::TaskFailed { task, attempts, status, stderr, done })
        }
        Some(other) => Err(other),
        None => Ok(LocalRun { tasks: done, max_parallel }),
    }
}

/// The items of fan-out task `task`: the JSON list in output parameter `parameter` of `producer`
/// (numbers and strings as their text, anything else as its JSON).
fn fan_out_items(
    task: &str,
    producer: &str,
    parameter: &str,
    outputs: &BTreeMap<String, String>,
) -> Result<Vec<String>, LocalRunError> {
    let bad = |m: String| {
        LocalRunError::Workflow(format!("task `{task}` fans out over `{producer}`'s `{parameter}`: {m}"))
    };
    let text = outputs
        .get(&format!("{producer}.{parameter}"))
        .ok_or_else(|| bad("that task has no such output parameter".into()))?;
    let list: Vec<Value> =
        serde_json::from_str(text).map_err(|e| bad(format!("`{text}` is not a JSON list: {e}")))?;
    Ok(list
        .into_iter()
        .map(|item| match item {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect())
}

/// A task's process under way.
struct Running<'p> {
    instance: Instance<'p>,
    child: Child,
    output_file: PathBuf,
    stderr: PathBuf,
    started: Instant,
}

fn start<'p>(
    instance: Instance<'p>,
    attempt: u32,
    outputs: &BTreeMap<String, String>,
    options: &LocalRunOptions,
    logs: &Path,
) -> Result<Running<'p>, LocalRunError> {
    let task = instance.task;
    let file_of = |what: &str| logs.join(format!("{}.{attempt}.{what}", instance.name));
    let output_file = file_of("output");
    let _ = std::fs::remove_file(&output_file);
    let item = instance.item.as_deref().unwrap_or_default();
    let args: Vec<String> = task
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Text(text) => Ok(text.clone()),
            Arg::Output { prefix, task: producer, parameter, suffix } => {
                match outputs.get(&format!("{producer}.{parameter}")) {
                    Some(value) => Ok(format!("{prefix}{value}{suffix}")),
                    None => Err(LocalRunError::Workflow(format!(
                        "task `{}` reads output parameter `{parameter}` of `{producer}`, which that task does not have",
                        task.name
                    ))),
                }
            }
            Arg::Item { prefix, suffix } => Ok(format!("{prefix}{item}{suffix}")),
            Arg::OutputFile => Ok(output_file.display().to_string()),
        })
        .collect::<Result<_, _>>()?;
    let (out, err) = (file_of("out"), file_of("err"));
    let file = |path: &Path| {
        std::fs::File::create(path).map_err(|e| io(format!("cannot create {}", path.display()), e))
    };
    let child = Command::new(&options.binary)
        .args(&options.binary_args)
        .args(&task.command_args)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(file(&out)?)
        .stderr(file(&err)?)
        .spawn()
        .map_err(|e| {
            io(format!("cannot start {} for task `{}`", options.binary.display(), instance.name), e)
        })?;
    Ok(Running { instance, child, output_file, stderr: err, started: Instant::now() })
}

/// The workflow's tasks, resolved.
fn plan(workflow: &Value, options: &LocalRunOptions) -> Result<Vec<Planned>, LocalRunError> {
    let bad = |m: String| LocalRunError::Workflow(m);
    if workflow["kind"] != "Workflow" {
        return Err(bad("its `kind` is not `Workflow` (export it with `export argo -o FILE.json`)".into()));
    }
    super::check_argo(workflow).map_err(bad)?;
    let spec = &workflow["spec"];
    let templates: BTreeMap<&str, &Value> = spec["templates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["name"].as_str()?, t)))
        .collect();
    let entry = spec["entrypoint"].as_str().unwrap_or_default();
    let tasks = templates[entry]["dag"]["tasks"]
        .as_array()
        .ok_or_else(|| bad(format!("the entrypoint `{entry}` is not a DAG template")))?;
    // The workflow's parameters, with the overrides.
    let mut parameters: BTreeMap<String, String> = spec["arguments"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["value"].as_str()?.to_owned())))
        .collect();
    for (name, value) in &options.parameters {
        let Some(slot) = parameters.get_mut(name) else {
            let known: Vec<&str> = parameters.keys().map(String::as_str).collect();
            return Err(bad(format!(
                "it has no parameter `{name}` to override (it has: {}); export it with the option that makes it (`--{name} ...`)",
                known.join(", ")
            )));
        };
        *slot = value.clone();
    }
    let mut planned = Vec::with_capacity(tasks.len());
    for task in tasks {
        let name = task["name"].as_str().unwrap_or_default().to_owned();
        let template = templates[task["template"].as_str().unwrap_or_default()];
        let container = &template["container"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect()
        };
        let command = strings(&container["command"]);
        if command.is_empty() {
            return Err(bad(format!("template `{name}` has no container command")));
        }
        let inputs: BTreeMap<String, String> = task["arguments"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["value"].as_str()?.to_owned())))
            .collect();
        let output = template["outputs"]["parameters"].as_array().and_then(|p| match p.as_slice() {
            [one] => Some((one["name"].as_str()?.to_owned(), one["valueFrom"]["path"].as_str()?.to_owned())),
            _ => None,
        });
        // A template that declares no output but writes the hash file has the output `hash`.
        let hash_file = strings(&container["args"]).iter().any(|a| a == HASH_FILE);
        let output = output.or_else(|| hash_file.then(|| ("hash".to_owned(), HASH_FILE.to_owned())));
        let with_param = match task.get("withParam") {
            None => None,
            Some(list) => {
                let list = list.as_str().unwrap_or_default();
                let (producer, parameter) = output_of(list).ok_or_else(|| {
                    bad(format!("task `{name}` fans out over `{list}`, not a task's output"))
                })?;
                Some((producer.to_owned(), parameter.to_owned()))
            }
        };
        let resolving = Resolving {
            parameters: &parameters,
            inputs: &inputs,
            output_file: output.as_ref().map(|(_, path)| path.as_str()),
            fans_out: with_param.is_some(),
        };
        let mut args = Vec::new();
        for arg in strings(&container["args"]) {
            args.push(resolving.resolve(&arg).map_err(|m| bad(format!("task `{name}`: {m}")))?);
        }
        let retries = match &template["retryStrategy"]["limit"] {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Number(n) => n.as_u64().unwrap_or(0) as u32,
            _ => 0,
        };
        let dependencies = strings(&task["dependencies"]);
        planned.push(Planned {
            name,
            dependencies,
            args,
            command_args: command[1..].to_vec(),
            retries,
            output,
            with_param,
        });
    }
    Ok(planned)
}

/// `{{tasks.TASK.outputs.parameters.NAME}}` as (TASK, NAME).
fn output_of(placeholder: &str) -> Option<(&str, &str)> {
    let rest = placeholder.strip_prefix("{{tasks.")?.strip_suffix("}}")?;
    let (task, parameter) = rest.split_once(".outputs.parameters.")?;
    Some((task, parameter))
}

/// What a task's arguments refer to.
struct Resolving<'a> {
    parameters: &'a BTreeMap<String, String>,
    /// The task's input parameters, by name: their arguments in the DAG task.
    inputs: &'a BTreeMap<String, String>,
    /// Where the task writes its output parameter.
    output_file: Option<&'a str>,
    /// Whether the task fans out (`{{item}}` is bound).
    fans_out: bool,
}

impl Resolving<'_> {
    /// One argument with Argo's placeholders replaced: a workflow parameter, an input parameter
    /// bound to an upstream task's output or to the fan-out's item, the output file.
    fn resolve(&self, arg: &str) -> Result<Arg, String> {
        if Some(arg) == self.output_file {
            return Ok(Arg::OutputFile);
        }
        let mut arg = arg.to_owned();
        for (name, value) in self.parameters {
            arg = arg.replace(&format!("{{{{workflow.parameters.{name}}}}}"), value);
        }
        let Some(start) = arg.find("{{inputs.parameters.") else {
            return if arg.contains("{{") {
                Err(format!("unknown placeholder in `{arg}`"))
            } else {
                Ok(Arg::Text(arg))
            };
        };
        let rest = &arg[start + "{{inputs.parameters.".len()..];
        let end = rest.find("}}").ok_or_else(|| format!("unclosed placeholder in `{arg}`"))?;
        let input = &rest[..end];
        let value =
            self.inputs.get(input).ok_or_else(|| format!("input parameter `{input}` has no argument"))?;
        let (prefix, suffix) = (arg[..start].to_owned(), rest[end + 2..].to_owned());
        if value == "{{item}}" {
            if !self.fans_out {
                return Err(format!(
                    "input parameter `{input}` is `{{{{item}}}}`, but the task has no withParam"
                ));
            }
            return Ok(Arg::Item { prefix, suffix });
        }
        let (task, parameter) = output_of(value).ok_or_else(|| {
            format!("input parameter `{input}` is `{value}`, not an upstream task's output")
        })?;
        Ok(Arg::Output { prefix, task: task.to_owned(), parameter: parameter.to_owned(), suffix })
    }
}

fn io(what: String, source: std::io::Error) -> LocalRunError {
    LocalRunError::Io { what, source }
}

/// A temporary folder removed on drop (the crate has no tempfile dependency outside tests).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Result<TempDir, LocalRunError> {
    let dir = std::env::temp_dir().join(format!(
        "mlflow-local-run-{}-{}",
        std::process::id(),
        crate::store::now_nanos()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| io(format!("cannot create {}", dir.display()), e))?;
    Ok(TempDir(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A workflow of a fan-out over the list task `m--tasks` writes, then `m` after it.
    fn fan_out(list_node: &str) -> Value {
        let container = |args: Vec<&str>| json!({"image": "x", "command": ["/app/p"], "args": args});
        json!({"kind": "Workflow", "spec": {"entrypoint": "main", "templates": [
            {"name": "main", "dag": {"tasks": [
                {"name": "m--tasks", "template": "m--tasks"},
                {"name": "m--each", "template": "m--each", "dependencies": ["m--tasks"],
                    "withParam": "{{tasks.m--tasks.outputs.parameters.tasks}}",
                    "arguments": {"parameters": [{"name": "task", "value": "{{item}}"}]}},
                {"name": "m", "template": "m", "dependencies": ["m--each"]}]}},
            {"name": "m--tasks", "container": container(vec!["step", "--node", list_node, "--tasks", "--hash-file", "/tmp/mlflow/task-list"]),
                "outputs": {"parameters": [{"name": "tasks", "valueFrom": {"path": "/tmp/mlflow/task-list"}}]}},
            {"name": "m--each", "container": container(vec!["step", "--node", "m", "--task", "{{inputs.parameters.task}}"]),
                "inputs": {"parameters": [{"name": "task"}]}, "retryStrategy": {"limit": "1"}},
            {"name": "m", "container": container(vec!["step", "--node", "m", "--hash-file", "/tmp/mlflow/output-hash"]),
                "outputs": {"parameters": [{"name": "hash", "valueFrom": {"path": "/tmp/mlflow/output-hash"}}]}}]}})
    }

    #[test]
    fn a_fan_out_runs_one_process_per_item_each_retried_on_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in --node) node=$2;; --task) task=$2;; --tasks) list=1;; --hash-file) out=$2;; esac; shift; done\n\
             if [ -n \"$list\" ]; then if [ \"$node\" = bad ]; then printf nope > \"$out\"; else printf '[0,1,2]' > \"$out\"; fi; exit 0; fi\n\
             if [ -n \"$task\" ]; then echo \"$task\" >> '{d}/items'; sleep 0.2\n\
             if [ \"$task\" = 1 ] && [ ! -e '{d}/failed-once' ]; then touch '{d}/failed-once'; exit 3; fi; exit 0; fi\n\
             printf '%s-hash' \"$node\" > \"$out\"\n"
        );
        let binary = dir.path().join("fake.sh");
        std::fs::write(&binary, script).unwrap();
        std::process::Command::new("chmod").arg("+x").arg(&binary).status().unwrap();
        let options = LocalRunOptions::new(&binary).jobs(3);
        let run = run_local(&fan_out("m"), &options).unwrap();
        assert_eq!(run.task("m--tasks").unwrap().hash.as_deref(), Some("[0,1,2]"));
        for k in 0..3 {
            let item = run.task(&format!("m--each({k})")).unwrap();
            assert_eq!(item.attempts, if k == 1 { 2 } else { 1 }, "item {k}");
        }
        assert_eq!(run.task("m").unwrap().hash.as_deref(), Some("m-hash"));
        let items = std::fs::read_to_string(dir.path().join("items")).unwrap();
        let mut items: Vec<&str> = items.lines().collect();
        items.sort_unstable();
        assert_eq!(items, ["0", "1", "1", "2"], "each item once, the failed one again");
        assert!(run.max_parallel >= 2, "{run:?}");

        let err = run_local(&fan_out("bad"), &options).unwrap_err().to_string();
        assert!(
            err.contains("fans out over `m--tasks`'s `tasks`") && err.contains("not a JSON list"),
            "{err}"
        );
    }
}
