//! The command line a pipeline's own binary gets from [`main`]: run it, show its execution plan,
//! export it for Argo Workflows or Kubeflow Pipelines, and run one of its nodes as a pod of the
//! exported workflow does. Parsed by hand, so a library user compiles no argument parser.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlflow_core::dag::Pipeline;
use mlflow_core::exec::NodeRun;
use mlflow_core::exec_plan::ExecutionPlan;
use mlflow_core::export::{ExportOptions, argo_workflow, kfp_pipeline, to_yaml};
use mlflow_core::store::Store;

use crate::StoreLocation;

/// The usage text, printed by `help` and after a usage mistake.
pub const USAGE: &str = "\
usage: BINARY [COMMAND]
  run [--store PATH] [--artifacts URL] [--metadata URL]
                                run the pipeline (the default command)
  plan [--json]                 print the execution plan: node ids, edges, options, plan hash
  export argo|kfp --image IMAGE [--command PATH]... [--store PATH] [--artifacts URL]
      [--metadata URL] [--namespace NS] [--service-account NAME] [--env NAME=VALUE]...
      [-o FILE] [--json]
                                write an Argo Workflow or a Kubeflow Pipelines spec (YAML;
                                JSON with --json or -o FILE.json)
  step --node ID --plan HASH [--store PATH] [--artifacts URL] [--metadata URL]
      [--input ID=HASH]... [--task K | --tasks] [--hash-file FILE]
                                run one node, as a pod of the exported workflow does; for a
                                mapped node, --task K runs its task K alone, and --tasks writes
                                the JSON list of its task indices ([0,1,...]) to FILE instead
                                of a hash
  help                          print this
The store defaults to $MLFLOW_HOME, else ./.mlflow. --artifacts (else $MLFLOW_ARTIFACTS) keeps the
artifacts in object storage (file://, memory://, s3://...; the `object-store` feature), --metadata
(else $MLFLOW_METADATA) the metadata in PostgreSQL (postgres://USER@HOST:PORT/DB, the password in
PGPASSWORD; the `postgres` feature).";

/// Gives the pipeline's binary its command line (see [`USAGE`]): `run` (the default), `plan`,
/// `export argo|kfp`, `step`. Prints errors on stderr; exits 2 for a usage mistake, 1 for a
/// failure.
///
/// ```no_run
/// use mlflow::prelude::*;
///
/// #[step]
/// fn double(x: &u64) -> u64 {
///     x * 2
/// }
///
/// fn main() -> std::process::ExitCode {
///     let mut p = Pipeline::new("doubler");
///     let x = p.param("x", 21u64);
///     p.step(DoubleStep, x);
///     mlflow::main(p)
/// }
/// ```
pub fn main(pipeline: Pipeline) -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut stdout = std::io::stdout().lock();
    match run_command(&pipeline, &args, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CommandError::Usage(message)) => {
            eprintln!("{message}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CommandError::Failed(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The arguments are wrong: the message says which (exit code 2).
    Usage(String),
    /// The command failed (exit code 1).
    Failed(String),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Usage(m) | CommandError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CommandError {}

/// [`main`] with the arguments (without the program name) and the output given: for tests and
/// for binaries with commands of their own.
///
/// ```
/// use mlflow::prelude::*;
///
/// #[step]
/// fn double(x: &u64) -> u64 {
///     x * 2
/// }
///
/// let mut p = Pipeline::new("doubler");
/// let x = p.param("x", 21u64);
/// p.step(DoubleStep, x);
/// let mut out = Vec::new();
/// mlflow::run_command(&p, &["export", "argo", "--image", "acme/doubler:1"], &mut out)?;
/// let yaml = String::from_utf8(out)?;
/// assert!(yaml.starts_with("apiVersion: argoproj.io/v1alpha1\n"), "{yaml}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_command(
    pipeline: &Pipeline,
    args: &[impl AsRef<std::ffi::OsStr>],
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let mut args: Vec<String> = args
        .iter()
        .map(|a| {
            a.as_ref()
                .to_str()
                .map(str::to_owned)
                .ok_or_else(|| CommandError::Usage(format!("argument {:?} is not UTF-8", a.as_ref())))
        })
        .collect::<Result<_, _>>()?;
    let command =
        if args.first().is_some_and(|a| !a.starts_with('-')) { args.remove(0) } else { "run".into() };
    let mut flags = Flags::parse(&command, args)?;
    let failed = |e: &dyn std::fmt::Display| CommandError::Failed(e.to_string());
    let written = |e: std::io::Error| CommandError::Failed(format!("cannot write the output: {e}"));
    match command.as_str() {
        "run" => {
            let store = open_store(&mut flags)?;
            flags.done()?;
            let report = pipeline.run(&store).map_err(|e| failed(&e))?;
            writeln!(out, "{report}").map_err(written)?;
            if report.is_success() { Ok(()) } else { Err(CommandError::Failed("the run failed".into())) }
        }
        "plan" => {
            let json = flags.switch("--json");
            flags.done()?;
            let plan = pipeline.execution_plan().map_err(|e| failed(&e))?;
            if json { writeln!(out, "{}", plan.to_json()) } else { write_plan(out, &plan) }.map_err(written)
        }
        "export" => {
            let engine = flags.positional.first().cloned().unwrap_or_default();
            let image = flags.take("--image").ok_or_else(|| {
                CommandError::Usage("export needs --image IMAGE: the image holding this binary".into())
            })?;
            let mut options = ExportOptions::new(image);
            let command = flags.take_all("--command");
            if !command.is_empty() {
                options = options.command(command);
            }
            if let Some(store) = flags.take("--store") {
                options = options.store(store);
            }
            if let Some(artifacts) = flags.take("--artifacts") {
                options = options.artifacts(artifacts);
            }
            if let Some(metadata) = flags.take("--metadata") {
                options = options.metadata(metadata);
            }
            if let Some(namespace) = flags.take("--namespace") {
                options = options.namespace(namespace);
            }
            if let Some(account) = flags.take("--service-account") {
                options = options.service_account(account);
            }
            for pair in flags.take_all("--env") {
                let (name, value) = split_pair("--env", &pair, "NAME=VALUE")?;
                options = options.env(name, value);
            }
            let file = flags.take("-o").map(PathBuf::from);
            let json = flags.switch("--json")
                || file.as_ref().is_some_and(|f| f.extension().is_some_and(|e| e == "json"));
            flags.positional.retain(|p| *p != engine);
            flags.done()?;
            let plan = pipeline.execution_plan().map_err(|e| failed(&e))?;
            let spec = match engine.as_str() {
                "argo" => argo_workflow(&plan, &options),
                "kfp" => kfp_pipeline(&plan, &options),
                other => {
                    return Err(CommandError::Usage(format!(
                        "export {other}: give `export argo` (Argo Workflows) or `export kfp` (Kubeflow Pipelines v2)"
                    )));
                }
            }
            .map_err(|e| failed(&e))?;
            let text = if json { format!("{spec:#}\n") } else { to_yaml(&spec) };
            match file {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| CommandError::Failed(format!("cannot write {}: {e}", path.display()))),
                None => out.write_all(text.as_bytes()).map_err(written),
            }
        }
        "step" => {
            let node =
                flags.take("--node").ok_or_else(|| CommandError::Usage("step needs --node ID".into()))?;
            let plan = flags.take("--plan").ok_or_else(|| {
                CommandError::Usage("step needs --plan HASH (the exported plan hash)".into())
            })?;
            let store = open_store(&mut flags)?;
            let mut run = NodeRun::new(node).plan(plan);
            for pair in flags.take_all("--input") {
                let (id, hash) = split_pair("--input", &pair, "ID=HASH")?;
                run = run.input(id, hash);
            }
            let task = flags.take("--task");
            let list = flags.switch("--tasks");
            let hash_file = flags.take("--hash-file").map(PathBuf::from);
            flags.done()?;
            if let Some(task) = task {
                if list {
                    return Err(CommandError::Usage("step: give --task K or --tasks, not both".into()));
                }
                let index = task.parse::<usize>().map_err(|_| {
                    CommandError::Usage(format!("step --task {task}: give a task index (0, 1, ...)"))
                })?;
                run = run.task(index);
            }
            if list {
                let n = pipeline.map_tasks(&store, &run).map_err(|e| failed(&e))?;
                let indices: Vec<String> = (0..n).map(|k| k.to_string()).collect();
                let text = format!("[{}]", indices.join(","));
                if let Some(path) = hash_file {
                    write_hash_file(&path, &text)?;
                }
                return writeln!(out, "{} tasks {text}", run.node()).map_err(written);
            }
            let outcome = pipeline.run_node(&store, &run).map_err(|e| failed(&e))?;
            let hash = outcome.output.to_hex();
            if let Some(path) = hash_file {
                write_hash_file(&path, &hash)?;
            }
            writeln!(out, "{}", outcome.report).map_err(written)?;
            match run.task_index() {
                Some(task) => writeln!(out, "{} task {task} {hash}", run.node()),
                None => writeln!(out, "{} {hash}", run.node()),
            }
            .map_err(written)
        }
        "help" | "--help" | "-h" => out.write_all(format!("{USAGE}\n").as_bytes()).map_err(written),
        other => Err(CommandError::Usage(format!("unknown command `{other}`"))),
    }
}

/// `flag`'s value `pair` split at its first `=`, else a usage error showing `form`.
fn split_pair<'a>(flag: &str, pair: &'a str, form: &str) -> Result<(&'a str, &'a str), CommandError> {
    pair.split_once('=').ok_or_else(|| CommandError::Usage(format!("{flag} {pair}: give {form}")))
}

/// The store at `path`, else `$MLFLOW_HOME`, else `./.mlflow`: a folder (every pod of a
/// workflow mounts the same one), with its artifacts at `artifacts` (else `$MLFLOW_ARTIFACTS`)
/// and its metadata at `metadata` (else `$MLFLOW_METADATA`) when given.
fn open_store(flags: &mut Flags) -> Result<Store, CommandError> {
    let mut location = StoreLocation::from_env(flags.take("--store").map(PathBuf::from));
    if let Some(url) = flags.take("--artifacts") {
        location = location.artifacts(url);
    }
    if let Some(url) = flags.take("--metadata") {
        location = location.metadata(url);
    }
    location.open().map_err(|e| CommandError::Failed(e.to_string()))
}

/// Writes the output's hash where the orchestrator reads it, creating the folder.
fn write_hash_file(path: &Path, hash: &str) -> Result<(), CommandError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| CommandError::Failed(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(path, hash)
        .map_err(|e| CommandError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// The plan as a table: one line per node, then the hash.
fn write_plan(out: &mut dyn Write, plan: &ExecutionPlan) -> std::io::Result<()> {
    writeln!(out, "pipeline {} ({} nodes)", plan.pipeline(), plan.nodes().len())?;
    for node in plan.topological_order() {
        let mut line = format!("{:<24} {:<8}", node.id, node.kind.as_str());
        if !node.inputs.is_empty() {
            line.push_str(&format!(" <- {}", node.inputs.join(", ")));
        }
        if !node.waits_for.is_empty() {
            line.push_str(&format!(" after {}", node.waits_for.join(", ")));
        }
        if let Some(step) = &node.step {
            if step.retries > 0 {
                line.push_str(&format!(" retries {}", step.retries));
            }
            if let Some(cpu) = step.resources.cpu_quantity() {
                line.push_str(&format!(" cpu {cpu}"));
            }
            if let Some(memory) = step.resources.memory_quantity() {
                line.push_str(&format!(" memory {memory}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out, "plan hash {}", plan.plan_hash().to_hex())
}

/// `--flag value` pairs, `--switch`es and positional words, each flag taken once it is used, so
/// that whatever is left over is a mistake to report.
struct Flags {
    command: String,
    pairs: Vec<(String, String)>,
    switches: Vec<String>,
    positional: Vec<String>,
}

/// Flags that take no value.
const SWITCHES: &[&str] = &["--json", "--tasks"];

impl Flags {
    fn parse(command: &str, args: Vec<String>) -> Result<Flags, CommandError> {
        let mut flags = Flags {
            command: command.to_owned(),
            pairs: Vec::new(),
            switches: Vec::new(),
            positional: Vec::new(),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if SWITCHES.contains(&arg.as_str()) {
                flags.switches.push(arg);
            } else if arg.starts_with('-') {
                let value = match arg.split_once('=') {
                    Some((flag, value)) => (flag.to_owned(), value.to_owned()),
                    None => {
                        let value = args
                            .next()
                            .ok_or_else(|| CommandError::Usage(format!("{command}: {arg} needs a value")))?;
                        (arg, value)
                    }
                };
                flags.pairs.push(value);
            } else {
                flags.positional.push(arg);
            }
        }
        Ok(flags)
    }

    fn take(&mut self, flag: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(f, _)| f == flag)?;
        Some(self.pairs.remove(i).1)
    }

    fn take_all(&mut self, flag: &str) -> Vec<String> {
        let mut values = Vec::new();
        while let Some(value) = self.take(flag) {
            values.push(value);
        }
        values
    }

    fn switch(&mut self, flag: &str) -> bool {
        let before = self.switches.len();
        self.switches.retain(|s| s != flag);
        self.switches.len() != before
    }

    /// Refuses anything not taken.
    fn done(self) -> Result<(), CommandError> {
        let left: Vec<String> =
            self.pairs.iter().map(|(f, _)| f.clone()).chain(self.switches).chain(self.positional).collect();
        match left.first() {
            None => Ok(()),
            Some(first) => Err(CommandError::Usage(format!("{}: unexpected `{first}`", self.command))),
        }
    }
}
