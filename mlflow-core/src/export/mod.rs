//! An [`ExecutionPlan`] as a workflow for the engines that run ML on Kubernetes: an Argo
//! [`Workflow`](argo_workflow) or a Kubeflow Pipelines v2 [pipeline spec](kfp_pipeline).
//!
//! Every step node becomes one task that runs the user's own binary, from the same image, in step
//! mode on that node: `BINARY step --node ID --plan HASH --store STORE --input UPSTREAM=HASH ...
//! --hash-file FILE`. The binary holds the params (the plan hash pins their values: a binary of
//! another build refuses the task), reads its inputs from the shared store by the content hashes
//! it is given, runs the node, stores its output and writes the output's content hash to
//! `FILE`, which the orchestrator hands to the tasks downstream. Only content hashes cross the
//! orchestrator; artifacts never do. Params are not tasks.
//!
//! A mapped step ([`Pipeline::map`](crate::dag::Pipeline::map)) fans out: its task `ID--tasks`
//! lists the map's task indices (`step --tasks`, from its upstream in the store), then one pod
//! per index runs that task alone (`step --task K`: Argo's `withParam` over the list in task
//! `ID--each`, KFP's parallel-for, a sub-DAG `comp-for-loop-ID` over the list), each stored under
//! its own cache key, and last the node's own task `ID` puts the output together from the
//! stored tasks, computing nothing, and reports the hash downstream tasks read as before. Node
//! ids never hold `--`, so these names cannot be a node's (an id that would exceed 63
//! characters is shortened with a hash). A mapped step with caching off (its tasks are not
//! stored for the node's task to find) or one that tolerates failed tasks
//! ([`Pipeline::try_map`](crate::dag::Pipeline::try_map)) runs as one task whose elements run in
//! parallel threads inside its pod.
//!
//! Both renderings are checked before they are returned ([`check_argo`], [`check_kfp`]): every
//! dependency, template, producer, component and executor exists, names are DNS-1123 labels, and
//! the tasks have no cycle.
//!
//! ```
//! use mlflow_core::prelude::*;
//! use mlflow_core::export::{ExportOptions, argo_workflow, kfp_pipeline, to_yaml};
//!
//! #[mlflow_macros::step(crate = mlflow_core, retries = 2, cpu = "500m")]
//! fn double(x: &u64) -> u64 {
//!     x * 2
//! }
//!
//! let mut p = Pipeline::new("doc");
//! let x = p.param("x", 21u64);
//! let doubled = p.step(DoubleStep, x);
//! p.step_named("again", DoubleStep, doubled);
//! let plan = p.execution_plan()?;
//! let options = ExportOptions::new("ghcr.io/acme/doc:1").store("s3://bucket/store");
//! let workflow = argo_workflow(&plan, &options)?;
//! assert_eq!(workflow["kind"], "Workflow");
//! let yaml = to_yaml(&kfp_pipeline(&plan, &options)?);
//! assert!(yaml.contains("producerTask: double"), "{yaml}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod argo;
mod check;
mod kfp;
mod local;
mod yaml;

pub use argo::argo_workflow;
pub use check::{check_argo, check_kfp, is_dns_label};
pub use kfp::kfp_pipeline;
pub use local::{LocalRun, LocalRunError, LocalRunOptions, LocalTask, run_local};
pub use yaml::to_yaml;

use std::collections::BTreeMap;

use crate::exec_plan::{ExecutionPlan, PlanNodeKind, PlanStep};

/// Where the pod writes its output's content hash (Argo reads it as the task's output parameter).
pub const HASH_FILE: &str = "/tmp/mlflow/output-hash";

/// How an exported workflow runs the user's binary.
///
/// ```
/// use mlflow_core::export::ExportOptions;
/// let options = ExportOptions::new("ghcr.io/acme/titanic:1.4")
///     .command(["/usr/local/bin/titanic"])
///     .store("s3://ml-artifacts/titanic")
///     .namespace("ml")
///     .service_account("pipeline-runner")
///     .env("AWS_REGION", "eu-west-1");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    pub(crate) image: String,
    pub(crate) command: Option<Vec<String>>,
    pub(crate) store: String,
    pub(crate) artifacts: Option<String>,
    pub(crate) metadata: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) service_account: Option<String>,
    pub(crate) env: Vec<(String, String)>,
}

impl ExportOptions {
    /// Runs `image` (the image holding the user's binary built from this pipeline). By default
    /// the command is the pipeline's id as a program on the image's `PATH`, and the store is
    /// `/mnt/mlflow` (a shared volume); see [`store`](Self::store) for object storage.
    pub fn new(image: impl Into<String>) -> ExportOptions {
        ExportOptions {
            image: image.into(),
            command: None,
            store: "/mnt/mlflow".into(),
            artifacts: None,
            metadata: None,
            namespace: None,
            service_account: None,
            env: Vec::new(),
        }
    }

    /// The program and its leading arguments in the image (`["/app/titanic"]`); `step ...`
    /// follows them.
    pub fn command<S: Into<String>>(mut self, command: impl IntoIterator<Item = S>) -> ExportOptions {
        self.command = Some(command.into_iter().map(Into::into).collect());
        self
    }

    /// The store every task reads and writes: a folder every pod mounts, or an object store URL.
    /// It is the workflow's `store` parameter (Argo) or run parameter (KFP), so a run can point
    /// elsewhere without exporting again. Credentials never go here: pods take them from their
    /// environment (the provider's standard chain).
    pub fn store(mut self, store: impl Into<String>) -> ExportOptions {
        self.store = store.into();
        self
    }

    /// Keeps the artifacts in object storage at `url` (`s3://bucket/prefix`, ...), the store
    /// folder keeping the metadata: the workflow's `artifacts` parameter, passed to every task as
    /// `--artifacts` (its binary needs mlflow's `object-store` feature).
    pub fn artifacts(mut self, url: impl Into<String>) -> ExportOptions {
        self.artifacts = Some(url.into());
        self
    }

    /// Keeps the metadata (runs, cache index, tracking, registry) in the database at `url`
    /// (`postgres://USER@HOST:PORT/DATABASE`), which every pod reaches: the workflow's `metadata`
    /// parameter, passed to every task as `--metadata` (its binary needs mlflow's `postgres`
    /// feature). The password is not part of it (an exported spec is not a secret): pods read it
    /// from `PGPASSWORD`, mounted from a secret.
    pub fn metadata(mut self, url: impl Into<String>) -> ExportOptions {
        self.metadata = Some(url.into());
        self
    }

    /// The workflow's parameters: the store, and the artifacts and metadata URLs when given.
    pub(crate) fn parameters(&self) -> Vec<(&'static str, &str)> {
        let mut parameters = vec![("store", self.store.as_str())];
        if let Some(artifacts) = &self.artifacts {
            parameters.push(("artifacts", artifacts.as_str()));
        }
        if let Some(metadata) = &self.metadata {
            parameters.push(("metadata", metadata.as_str()));
        }
        parameters
    }

    /// The Kubernetes namespace (Argo's `metadata.namespace`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> ExportOptions {
        self.namespace = Some(namespace.into());
        self
    }

    /// The service account the pods run as (Argo's `spec.serviceAccountName`).
    pub fn service_account(mut self, account: impl Into<String>) -> ExportOptions {
        self.service_account = Some(account.into());
        self
    }

    /// An environment variable of every task's container (not for secrets: mount those).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> ExportOptions {
        self.env.push((name.into(), value.into()));
        self
    }

    fn command_for(&self, plan: &ExecutionPlan) -> Vec<String> {
        self.command.clone().unwrap_or_else(|| vec![crate::exec_plan::label_of(plan.pipeline())])
    }
}

/// Why a workflow could not be exported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportError {
    /// The plan has no step to run.
    #[error("pipeline `{pipeline}` has no step: there is nothing to export (params alone are not tasks)")]
    NoSteps {
        /// The pipeline.
        pipeline: String,
    },
    /// An option is unusable.
    #[error("{0}")]
    Options(String),
    /// The rendered spec fails its check: a bug of the exporter, reported rather than written.
    #[error("the exported {engine} spec is invalid: {problem} (please report this)")]
    InvalidSpec {
        /// `argo` or `kfp`.
        engine: &'static str,
        /// What is wrong, naming the task, template or component.
        problem: String,
    },
}

/// One task of an exported workflow: a step node and the step nodes it depends on.
pub(crate) struct Task<'p> {
    pub(crate) id: &'p str,
    pub(crate) step: &'p PlanStep,
    /// Step nodes whose outputs are its inputs (in argument order, each once).
    pub(crate) upstream: Vec<&'p str>,
    /// Every step node it runs after: `upstream` and the nodes it waits for, sorted.
    pub(crate) after: Vec<&'p str>,
    /// For a mapped step that fans out, the names of its listing and fan-out tasks.
    pub(crate) fan_out: Option<FanOut>,
}

/// The extra tasks of a mapped step that fans out over pods.
pub(crate) struct FanOut {
    /// The task that lists the map's task indices (`ID--tasks`).
    pub(crate) list: String,
    /// The task that runs one pod per index (`ID--each`).
    pub(crate) each: String,
    /// KFP: the task inside the loop (`ID--task`).
    pub(crate) task: String,
}

impl FanOut {
    fn of(id: &str) -> FanOut {
        FanOut { list: derived(id, "tasks"), each: derived(id, "each"), task: derived(id, "task") }
    }
}

/// `ID--SUFFIX`, a DNS-1123 label: a generated node id never holds `--`, so it names no node. An
/// id too long for it is cut and given 8 hex digits of its hash, so that two long ids with the
/// same start stay apart.
fn derived(id: &str, suffix: &str) -> String {
    let name = format!("{id}--{suffix}");
    if name.len() <= 63 {
        return name;
    }
    let digest = crate::codec::Hasher::new("mlflow/export-name/v1").part(id.as_bytes()).finish().to_hex();
    let keep = 63 - suffix.len() - 2 - 9;
    format!("{}-{}--{suffix}", id[..keep.min(id.len())].trim_end_matches('-'), &digest[..8])
}

/// The output parameter of a map's listing task: the JSON list of its task indices.
pub const TASKS_PARAMETER: &str = "tasks";

/// Where a map's listing task writes its task indices (Argo reads it as the output parameter
/// [`TASKS_PARAMETER`]).
pub const TASKS_FILE: &str = "/tmp/mlflow/task-list";

/// The plan's step nodes as tasks, in a valid order.
pub(crate) fn tasks<'p>(
    plan: &'p ExecutionPlan,
    options: &ExportOptions,
) -> Result<Vec<Task<'p>>, ExportError> {
    if options.image.trim().is_empty() {
        return Err(ExportError::Options(
            "the image is empty: give the image that holds the pipeline's binary".into(),
        ));
    }
    if options.command.as_ref().is_some_and(|c| c.is_empty() || c[0].trim().is_empty()) {
        return Err(ExportError::Options("the command is empty: give the binary's path in the image".into()));
    }
    if let Some((name, _)) = options.env.iter().find(|(name, _)| !is_env_name(name)) {
        return Err(ExportError::Options(format!(
            "environment variable name `{name}`: use letters, digits and `_`, not starting with a digit"
        )));
    }
    if let Some((name, _)) = options.parameters().into_iter().find(|(_, url)| has_password(url)) {
        return Err(ExportError::Options(format!(
            "the {name} URL carries a password, which would be written into the spec: remove it, and give the pods the password from a secret (PGPASSWORD for PostgreSQL, the provider's variables or workload identity for object storage)"
        )));
    }
    let is_task = |id: &str| plan.node(id).is_some_and(|n| n.kind != PlanNodeKind::Param);
    let tasks: Vec<Task<'p>> = plan
        .topological_order()
        .into_iter()
        .filter_map(|node| {
            let step = node.step.as_ref()?;
            let mut upstream: Vec<&str> = Vec::new();
            for input in node.inputs.iter().map(String::as_str).filter(|i| is_task(i)) {
                if !upstream.contains(&input) {
                    upstream.push(input);
                }
            }
            let mut after: Vec<&str> = upstream
                .iter()
                .copied()
                .chain(node.waits_for.iter().map(String::as_str).filter(|i| is_task(i)))
                .collect();
            after.sort_unstable();
            after.dedup();
            let fans_out = node.kind == PlanNodeKind::Map
                && step.cache
                && node.map.as_ref().is_some_and(|m| m.max_failed.is_none());
            let fan_out = fans_out.then(|| FanOut::of(&node.id));
            Some(Task { id: node.id.as_str(), step, upstream, after, fan_out })
        })
        .collect();
    if tasks.is_empty() {
        return Err(ExportError::NoSteps { pipeline: plan.pipeline().to_owned() });
    }
    unique_names(&tasks)?;
    Ok(tasks)
}

/// No two tasks are named alike: a plan read from JSON may hold ids with `--`, which a mapped
/// step's fan-out tasks could then share.
fn unique_names(tasks: &[Task<'_>]) -> Result<(), ExportError> {
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for task in tasks {
        let fan_out = task.fan_out.iter().flat_map(|f| [&f.list, &f.each, &f.task]);
        for name in std::iter::once(task.id).chain(fan_out.map(String::as_str)) {
            if let Some(other) = names.insert(name, task.id) {
                return Err(ExportError::Options(format!(
                    "nodes `{other}` and `{}` would both have a task named `{name}` (a mapped step's fan-out tasks are named ID--tasks, ID--each and ID--task): rename one of them",
                    task.id
                )));
            }
        }
    }
    Ok(())
}

/// What a task's pod does with its node.
pub(crate) enum Mode<'a> {
    /// Runs the node, writing its output's hash to the file.
    Node(&'a str),
    /// Lists a mapped node's task indices into the file.
    List(&'a str),
    /// Runs one task of a mapped node, its index the placeholder.
    Task(&'a str),
}

/// The step-mode arguments of `task`, with `parameter(name)` the orchestrator's placeholder for a
/// workflow parameter, `input(upstream)` for an upstream task's output hash, and `mode` what the
/// pod does (with where it writes its output, or the task index's placeholder).
pub(crate) fn step_args(
    plan: &ExecutionPlan,
    options: &ExportOptions,
    task: &Task<'_>,
    parameter: impl Fn(&str) -> String,
    input: impl Fn(&str) -> String,
    mode: Mode<'_>,
) -> Vec<String> {
    let mut args: Vec<String> = ["step", "--node", task.id, "--plan", &plan.plan_hash().to_hex()]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for (name, _) in options.parameters() {
        args.push(format!("--{name}"));
        args.push(parameter(name));
    }
    for upstream in &task.upstream {
        args.push("--input".into());
        args.push(format!("{upstream}={}", input(upstream)));
    }
    let tail: &[&str] = match mode {
        Mode::Node(file) => &["--hash-file", file],
        Mode::List(file) => &["--tasks", "--hash-file", file],
        Mode::Task(index) => &["--task", index],
    };
    args.extend(tail.iter().map(|a| (*a).to_owned()));
    args
}

/// The container of a task, as both engines spell it: image, command, arguments, environment,
/// and the step's resource requests under the engine's keys for CPU and memory (`requests`
/// wraps them where the engine nests them).
pub(crate) fn container(
    options: &ExportOptions,
    command: &[String],
    args: Vec<String>,
    resources: &crate::step::Resources,
    (cpu_key, memory_key): (&str, &str),
    requests: impl FnOnce(serde_json::Value) -> serde_json::Value,
) -> serde_json::Value {
    use serde_json::json;
    let mut container = json!({ "image": options.image, "command": command, "args": args });
    if !options.env.is_empty() {
        let env: Vec<serde_json::Value> =
            options.env.iter().map(|(name, value)| json!({ "name": name, "value": value })).collect();
        container["env"] = json!(env);
    }
    let mut asked = serde_json::Map::new();
    if let Some(cpu) = resources.cpu_quantity() {
        asked.insert(cpu_key.into(), json!(cpu));
    }
    if let Some(memory) = resources.memory_quantity() {
        asked.insert(memory_key.into(), json!(memory));
    }
    if !asked.is_empty() {
        container["resources"] = requests(serde_json::Value::Object(asked));
    }
    container
}

/// Whether `url` has a `user:password@` part.
fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    authority.rsplit_once('@').is_some_and(|(user, _)| user.contains(':'))
}

fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A duration as the orchestrators write them: whole seconds as `"30s"`, else with up to 9
/// decimals (`"0.1s"`).
pub(crate) fn seconds(d: std::time::Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let text = format!("{}.{:09}", d.as_secs(), d.subsec_nanos());
        format!("{}s", text.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_env_names() {
        use std::time::Duration;
        assert_eq!(seconds(Duration::from_secs(30)), "30s");
        assert_eq!(seconds(Duration::from_millis(100)), "0.1s");
        assert_eq!(seconds(Duration::from_nanos(1_000_000_001)), "1.000000001s");
        assert!(is_env_name("AWS_REGION") && is_env_name("_x1"));
        assert!(!is_env_name("1A") && !is_env_name("A-B") && !is_env_name(""));
    }

    #[test]
    fn passwords_in_urls_are_found() {
        assert!(has_password("postgres://ana:s3cret@db:5432/ml"));
        assert!(has_password("s3://key:secret@bucket/prefix"));
        assert!(!has_password("postgres://ana@db:5432/ml"));
        assert!(!has_password("postgres://db/ml?user=a:b@c"), "a query is not the authority");
        assert!(!has_password("/mnt/mlflow"));
    }

    #[test]
    fn fan_out_names_are_labels_that_no_generated_id_takes() {
        assert_eq!(derived("sweep", "tasks"), "sweep--tasks");
        let long = "a".repeat(60);
        let (one, two) = (derived(&long, "each"), derived(&format!("{long}b"), "each"));
        assert!(is_dns_label(&one) && is_dns_label(&two) && one != two, "{one} {two}");
        assert!(one.ends_with("--each") && one.len() <= 63, "{one}");
    }

    #[mlflow_macros::step(crate = crate)]
    fn double(x: &u64) -> u64 {
        x * 2
    }

    #[test]
    fn a_node_named_like_a_fan_out_task_is_refused() {
        let mut p = crate::dag::Pipeline::new("names");
        let xs = p.param("xs", vec![1u64, 2]);
        p.map_named("sweep", DoubleStep, xs);
        let plan = p.execution_plan().unwrap();
        let step = plan.node("sweep").unwrap().step.as_ref().unwrap();
        let task = |id: &'static str, fan_out| Task { id, step, upstream: vec![], after: vec![], fan_out };
        let clash = [task("sweep", Some(FanOut::of("sweep"))), task("sweep--each", None)];
        let err = unique_names(&clash).unwrap_err().to_string();
        assert!(
            err.contains("`sweep` and `sweep--each` would both have a task named `sweep--each`"),
            "{err}"
        );
        assert!(err.contains("rename one"), "{err}");
        let fine = [task("sweep", Some(FanOut::of("sweep"))), task("sweep-each", None)];
        assert_eq!(unique_names(&fine), Ok(()));
    }
}
