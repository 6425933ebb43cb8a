//! An exported Argo workflow run on this machine: each task a separate OS process of the
//! pipeline's binary, started as soon as the tasks it depends on succeeded (as many at once as
//! allowed), its arguments resolved as Argo would (the workflow's `store` parameter, upstream
//! output hashes), failed attempts retried as its `retryStrategy` says. It proves the exported
//! contract without a cluster: what the pods would do, against the store they would share.

use std::collections::BTreeMap;
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

/// One task of a [`LocalRun`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTask {
    /// The task's name.
    pub name: String,
    /// Its output's content hash (hex), when it succeeded.
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
}

/// An argument: literal text, or the output hash of a task.
enum Arg {
    Text(String),
    /// `prefix` + the hash of `task` + `suffix`.
    Hash {
        prefix: String,
        task: String,
        suffix: String,
    },
    /// Where this attempt writes its hash.
    HashFile,
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
    let mut waiting: Vec<&Planned> = planned.iter().collect();
    let mut hashes: BTreeMap<String, String> = BTreeMap::new();
    let mut attempts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut spent: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut done: Vec<LocalTask> = Vec::new();
    let mut running: Vec<Running> = Vec::new();
    let mut max_parallel = 0;
    let mut failure: Option<LocalRunError> = None;
    loop {
        // Start the waiting tasks whose dependencies succeeded, unless a task failed for good.
        while failure.is_none() && running.len() < options.jobs {
            let Some(i) = waiting.iter().position(|t| t.dependencies.iter().all(|d| hashes.contains_key(d)))
            else {
                break;
            };
            let task = waiting.remove(i);
            let attempt = attempts.entry(task.name.as_str()).or_insert(0);
            *attempt += 1;
            running.push(start(task, *attempt, &hashes, options, &logs)?);
        }
        max_parallel = max_parallel.max(running.len());
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        let mut still = Vec::with_capacity(running.len());
        for mut process in running.drain(..) {
            let task = process.task;
            let Some(status) =
                process.child.try_wait().map_err(|e| io(format!("task `{}`", task.name), e))?
            else {
                still.push(process);
                continue;
            };
            *spent.entry(task.name.as_str()).or_default() += process.started.elapsed();
            let made = attempts[task.name.as_str()];
            if status.success() {
                let hash = std::fs::read_to_string(&process.hash_file)
                    .map_err(|e| {
                        io(
                            format!("task `{}` wrote no hash to {}", task.name, process.hash_file.display()),
                            e,
                        )
                    })?
                    .trim()
                    .to_owned();
                hashes.insert(task.name.clone(), hash.clone());
                let duration = spent[task.name.as_str()];
                done.push(LocalTask { name: task.name.clone(), hash: Some(hash), attempts: made, duration });
            } else if made <= task.retries && failure.is_none() {
                // Its retryStrategy allows another attempt.
                waiting.insert(0, task);
            } else if failure.is_none() {
                let stderr = std::fs::read_to_string(&process.stderr).unwrap_or_default();
                let mut tail: Vec<&str> = stderr.lines().rev().take(20).collect();
                tail.reverse();
                failure = Some(LocalRunError::TaskFailed {
                    task: task.name.clone(),
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

/// A task's process under way.
struct Running<'p> {
    task: &'p Planned,
    child: Child,
    hash_file: PathBuf,
    stderr: PathBuf,
    started: Instant,
}

fn start<'p>(
    task: &'p Planned,
    attempt: u32,
    hashes: &BTreeMap<String, String>,
    options: &LocalRunOptions,
    logs: &Path,
) -> Result<Running<'p>, LocalRunError> {
    let file_of = |what: &str| logs.join(format!("{}.{attempt}.{what}", task.name));
    let hash_file = file_of("hash");
    let _ = std::fs::remove_file(&hash_file);
    let args: Vec<String> = task
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Text(text) => text.clone(),
            Arg::Hash { prefix, task, suffix } => format!("{prefix}{}{suffix}", hashes[task]),
            Arg::HashFile => hash_file.display().to_string(),
        })
        .collect();
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
        .map_err(|e| io(format!("cannot start {} for task `{}`", options.binary.display(), task.name), e))?;
    Ok(Running { task, child, hash_file, stderr: err, started: Instant::now() })
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
        let mut args = Vec::new();
        for arg in strings(&container["args"]) {
            args.push(resolve(&arg, &parameters, &inputs).map_err(|m| bad(format!("task `{name}`: {m}")))?);
        }
        let retries = match &template["retryStrategy"]["limit"] {
            Value::String(s) => s.parse().unwrap_or(0),
            Value::Number(n) => n.as_u64().unwrap_or(0) as u32,
            _ => 0,
        };
        let dependencies = strings(&task["dependencies"]);
        planned.push(Planned { name, dependencies, args, command_args: command[1..].to_vec(), retries });
    }
    Ok(planned)
}

/// One argument with Argo's placeholders replaced: a workflow parameter, an input parameter
/// bound to an upstream task's output hash, the hash file.
fn resolve(
    arg: &str,
    parameters: &BTreeMap<String, String>,
    inputs: &BTreeMap<String, String>,
) -> Result<Arg, String> {
    if arg == HASH_FILE {
        return Ok(Arg::HashFile);
    }
    let mut arg = arg.to_owned();
    for (name, value) in parameters {
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
    let value = inputs.get(input).ok_or_else(|| format!("input parameter `{input}` has no argument"))?;
    let task = value
        .strip_prefix("{{tasks.")
        .and_then(|v| v.strip_suffix(".outputs.parameters.hash}}"))
        .ok_or_else(|| format!("input parameter `{input}` is `{value}`, not an upstream task's hash"))?;
    Ok(Arg::Hash {
        prefix: arg[..start].to_owned(),
        task: task.to_owned(),
        suffix: rest[end + 2..].to_owned(),
    })
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
