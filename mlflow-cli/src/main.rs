//! The `mlflow` command line: look at runs, models and lineage in a store, promote models,
//! collect garbage, render run reports, score CSV and Parquet files in batch and serve models over
//! HTTP.
//!
//! ```text
//! mlflow-pipelines runs [--pipeline P] [--status S] [--where EXPR]... [--sort METRIC] [--asc] [--limit N]
//! mlflow-pipelines runs compare ID ID
//! mlflow-pipelines run show ID
//! mlflow-pipelines models
//! mlflow-pipelines model show NAME[@alias|/version]
//! mlflow-pipelines model promote NAME VERSION ALIAS [--metric M] [--lower-is-better] [--margin X] [--force]
//!              [--require METRIC>=X|METRIC<=X]... [--require-change ...]... [--require-relative-change ...]...
//! mlflow-pipelines lineage model NAME[@alias|/version] | lineage run ID NODE | lineage data HASH
//! mlflow-pipelines report ID [-o FILE]
//! mlflow-pipelines score NAME[@alias|/version] INPUT.csv|INPUT.parquet [-o OUT.csv|OUT.parquet] [--keep COL]... [--chunk-rows N] [--delimiter C]
//! mlflow-pipelines predictions MODEL [--limit N] [--role champion|challenger|shadow] [--request ID]
//! mlflow-pipelines labels ingest FILE --model NAME[@alias|/version] | labels show NAME [--min-labels N]
//! mlflow-pipelines monitor NAME [--version V | --alias A] [--role R] [--window all|N|last:N|1h] [--last K] [--preset evidently|tfdv]
//! mlflow-pipelines watch NAME --config FILE --retrain CMD [--alias A] [--every 60s] [--once] [--window N] [--min-labels N] [--on-demand] | watch NAME --history
//! mlflow-pipelines gc [--grace-secs N]
//! mlflow-pipelines sync --to-mlflow URL [--experiment-prefix P] [--dry-run]
//! mlflow-pipelines serve NAME@ALIAS... [--port 8080] [--host 127.0.0.1] [--shadow REF]... [--canary REF=FRACTION]...
//!              [--ab REF=FRACTION]... [--max-body-bytes N] [--reload-ms N] [--no-log]
//!              [--log-segment-mib N] [--log-segments N] [--log-sync] [--shutdown-delay-ms N] [--drain-secs N]
//! mlflow-pipelines ui [--port 8090] [--host 127.0.0.1] [--allow-writes]
//! ```
//! Every command takes `--store PATH` (default `$MLFLOW_HOME`, else `./.mlflow`), `--artifacts URL`
//! (default `$MLFLOW_ARTIFACTS`), `--metadata URL` (default `$MLFLOW_METADATA`) and `--json`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod gate;
mod labels;
mod monitor;
mod predictions;
mod run_exported;
mod score;
#[cfg(feature = "server")]
mod serve;
mod sync;
#[cfg(feature = "ui")]
mod ui;
mod warnings;
mod watch;
use mlflow::codec::ContentHash;
use mlflow::gc::GcOptions;
use mlflow::registry::{Promotion, Registry};
use mlflow::store::Store;
use mlflow::track::format_timestamp;
use mlflow::track::query::{Lineage, RunFilter};
use serde::Serialize;

#[derive(Parser)]
#[command(name = "mlflow", version, about = "Inspect mlflow-pipelines runs, models and lineage")]
struct Cli {
    /// The store folder (default: $MLFLOW_HOME, else ./.mlflow).
    #[arg(long, global = true)]
    store: Option<PathBuf>,
    /// Keep the artifacts in object storage at this URL: file://, s3://bucket/prefix (builds
    /// with `s3`) (default: $MLFLOW_ARTIFACTS, else the store folder).
    #[arg(long, global = true, value_name = "URL")]
    artifacts: Option<String>,
    /// Keep the metadata in PostgreSQL: postgres://USER@HOST:PORT/DATABASE, the password in
    /// PGPASSWORD (default: $MLFLOW_METADATA, else the store folder's SQLite file).
    #[arg(long, global = true, value_name = "URL")]
    metadata: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List runs (newest first), or compare two.
    #[command(args_conflicts_with_subcommands = true)]
    Runs {
        #[command(flatten)]
        list: ListArgs,
        #[command(subcommand)]
        compare: Option<RunsCommand>,
    },
    /// Show one run.
    Run {
        #[command(subcommand)]
        command: RunCommand,
    },
    /// List registered models.
    Models,
    /// Show or promote a registered model.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Where an output came from, or where a data version went.
    Lineage {
        #[command(subcommand)]
        command: LineageCommand,
    },
    /// Write the self-contained HTML report of a run (DAG, timeline, params, metrics, ROC).
    Report {
        id: String,
        /// Where to write it (default: `mlflow-report-<ID>.html`).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Score a CSV or Parquet file with a registered model, streaming, and write it back with
    /// predictions (as CSV, or Parquet with `-o OUT.parquet`).
    Score(score::ScoreArgs),
    /// The newest records of a model's prediction log (`--json`: one JSON object per line).
    Predictions(predictions::PredictionsArgs),
    /// Delayed labels: attach ground truth to logged predictions, count them, show performance.
    Labels(labels::LabelsArgs),
    /// Drift and health of a model's logged predictions per window; exit code 3 when an alert fires.
    Monitor(monitor::MonitorArgs),
    /// Continuous training: judge triggers each round, retrain, gate, promote; or --history.
    Watch(watch::WatchArgs),
    /// Run an exported Argo workflow on this machine (--local): each task a process of the
    /// pipeline's binary, in parallel where the DAG allows; --store, --artifacts and --metadata
    /// override its parameters of those names.
    RunExported(run_exported::RunExportedArgs),
    /// Remove artifacts that no run, cache entry or model refers to.
    Gc {
        /// Leave files younger than this many seconds alone (writes may be under way).
        #[arg(long, default_value_t = 600)]
        grace_secs: u64,
    },
    /// Mirror runs, model versions and aliases into an MLflow tracking server (REST API 2.0);
    /// a second sync adds nothing, an interrupted one continues.
    Sync(sync::SyncArgs),
    /// Serve registered models over HTTP (KServe V1 and V2 protocols), with challengers and a prediction log.
    #[cfg(feature = "server")]
    Serve(serve::ServeArgs),
    /// The local web UI: browse and filter runs, compare them, follow models' alias histories
    /// and lineage (read-only unless --allow-writes).
    #[cfg(feature = "ui")]
    Ui(ui::UiArgs),
}

#[derive(Args)]
struct ListArgs {
    /// Only runs of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// Only runs with this status (running, succeeded, failed).
    #[arg(long)]
    status: Option<String>,
    /// Filters: `param.NAME=VALUE`, or a metric `[NODE.]KEY OP VALUE` with OP one of >= <= > < =.
    #[arg(long = "where", value_name = "EXPR")]
    filters: Vec<String>,
    /// Sort by a metric `[NODE.]KEY`, highest first.
    #[arg(long, value_name = "METRIC")]
    sort: Option<String>,
    /// Sort lowest first.
    #[arg(long)]
    asc: bool,
    /// At most this many runs.
    #[arg(long)]
    limit: Option<usize>,
}

#[derive(Subcommand)]
enum RunsCommand {
    /// The params and metrics that differ between two runs.
    Compare { left: String, right: String },
}

#[derive(Subcommand)]
enum RunCommand {
    /// Steps, params, metrics, data versions and environment of a run.
    Show { id: String },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// A version with its metrics, lineage and alias history.
    Show {
        /// NAME (latest), NAME/VERSION or NAME@ALIAS.
        reference: String,
    },
    /// Move ALIAS to VERSION if it is at least as good as the current holder and meets every
    /// --require* threshold (all are checked; each one's figures are printed and recorded).
    Promote {
        name: String,
        version: u32,
        alias: String,
        /// The metric to compare (default: the metric of the alias's last guarded move).
        #[arg(long)]
        metric: Option<String>,
        /// Lower values of the metric are better (e.g. log_loss).
        #[arg(long)]
        lower_is_better: bool,
        /// Required improvement over the current holder.
        #[arg(long, default_value_t = 0.0)]
        margin: f64,
        /// A bound on a metric's value, `METRIC>=X` or `METRIC<=X` (repeatable), e.g.
        /// `--require "roc_auc>=0.8"`.
        #[arg(long = "require", value_name = "METRIC>=X|METRIC<=X")]
        requires: Vec<String>,
        /// A bound on the change from the current holder, candidate minus holder (repeatable);
        /// `>=` for a higher-is-better metric, `<=` for a lower-is-better one, e.g.
        /// `--require-change "roc_auc>=-0.01"` (at most 0.01 worse).
        #[arg(long = "require-change", value_name = "METRIC>=X|METRIC<=X")]
        require_changes: Vec<String>,
        /// A bound on the relative change from the current holder, (candidate - holder) /
        /// |holder| (repeatable), e.g. `--require-relative-change "log_loss<=0.05"` (at most 5%
        /// worse).
        #[arg(long = "require-relative-change", value_name = "METRIC>=X|METRIC<=X")]
        require_relative_changes: Vec<String>,
        /// Promote even if the guard refuses.
        #[arg(long)]
        force: bool,
        /// Why (kept in the alias history).
        #[arg(long, default_value = "promoted from the command line")]
        reason: String,
    },
}

#[derive(Subcommand)]
enum LineageCommand {
    /// Back from a registered model to its run, steps, code, params and data.
    Model { reference: String },
    /// Back from a step's output in a run.
    Run { id: String, node: String },
    /// Forward from a data version (content hash) to the runs and models that used it.
    Data { version: String },
}

type CliResult<T> = Result<T, String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only fails if a subscriber is already set, which nothing here does.
    let _ = tracing::subscriber::set_global_default(warnings::StderrWarnings);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mlflow-pipelines: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The store the flags and the environment name: see [`mlflow::StoreLocation`].
fn store_location(cli: &Cli) -> mlflow::StoreLocation {
    let mut location = mlflow::StoreLocation::from_env(cli.store.clone());
    if let Some(url) = &cli.artifacts {
        location = location.artifacts(url);
    }
    if let Some(url) = &cli.metadata {
        location = location.metadata(url);
    }
    location
}

fn open_store(location: &mlflow::StoreLocation) -> CliResult<Store> {
    if !location.may_exist() {
        return Err(format!(
            "no mlflow store at `{}`: run a pipeline first, or pass --store PATH (or set MLFLOW_HOME)",
            location.folder().display()
        ));
    }
    location.open().map_err(|e| e.to_string())
}

fn run(cli: Cli) -> CliResult<()> {
    let location = store_location(&cli);
    // The workflow's tasks open the store themselves (it may not exist yet).
    if let Command::RunExported(args) = cli.command {
        return run_exported::run(args, &cli.store, &cli.artifacts, &cli.metadata, cli.json);
    }
    let store = open_store(&location)?;
    let json = cli.json;
    match cli.command {
        Command::Runs { compare: Some(RunsCommand::Compare { left, right }), .. } => {
            let diff = store.compare_runs(&left, &right).map_err(|e| e.to_string())?;
            if json {
                return print_json(&diff);
            }
            let mut rows = vec![vec!["".to_owned(), diff.left.clone(), diff.right.clone()]];
            for d in &diff.params {
                rows.push(vec![format!("param {}", d.name), opt(&d.left), opt(&d.right)]);
            }
            for d in &diff.metrics {
                rows.push(vec![format!("metric {}", d.name), opt_f(d.left), opt_f(d.right)]);
            }
            if rows.len() == 1 {
                println!("runs {} and {} have the same params and metrics", diff.left, diff.right);
            } else {
                print_table(&rows);
            }
        }
        Command::Runs { list, .. } => {
            let filter = build_filter(list)?;
            let runs = store.runs(&filter).map_err(|e| e.to_string())?;
            if json {
                return print_json(&runs);
            }
            let metric_columns: BTreeSet<&String> = match &filter.sort {
                Some((metric, _)) => runs
                    .iter()
                    .flat_map(|r| r.metrics.keys())
                    .filter(|k| k.ends_with(metric.as_str()))
                    .collect(),
                None => BTreeSet::new(),
            };
            let mut header = vec![
                "run".to_owned(),
                "pipeline".into(),
                "status".into(),
                "started".into(),
                "duration".into(),
            ];
            header.extend(metric_columns.iter().map(|m| m.to_string()));
            let mut rows = vec![header];
            for r in &runs {
                let mut row = vec![
                    r.id.clone(),
                    r.pipeline.clone(),
                    r.status.clone(),
                    format_timestamp(r.started_ms),
                    r.ended_ms.map(|e| format_ms(e - r.started_ms)).unwrap_or_else(|| "-".into()),
                ];
                row.extend(metric_columns.iter().map(|m| opt_f(r.metrics.get(*m).copied())));
                rows.push(row);
            }
            print_table(&rows);
        }
        Command::Run { command: RunCommand::Show { id } } => {
            let run = store.run(&id).map_err(|e| e.to_string())?.ok_or_else(|| {
                format!("no run `{id}` in this store; list runs with `mlflow-pipelines runs`")
            })?;
            if json {
                return print_json(&run);
            }
            println!("run {} of pipeline {}: {}", run.id, run.pipeline, run.status);
            println!(
                "started {}{}",
                format_timestamp(run.started_ms),
                run.ended_ms.map(|e| format!(", took {}", format_ms(e - run.started_ms))).unwrap_or_default()
            );
            if let Some(env) = &run.environment {
                println!(
                    "environment: mlflow {}, {}, {}, {} on {}{}",
                    env.library,
                    env.crates.join(" "),
                    env.rustc,
                    env.os,
                    env.host,
                    env.git_commit
                        .as_ref()
                        .map(|c| format!(", git {}", &c[..c.len().min(12)]))
                        .unwrap_or_default()
                );
            }
            for (node, data) in &run.data {
                println!("data: {} (version {}) read by {node}", data.name, data.version.short());
            }
            println!();
            let mut rows = vec![vec!["param".to_owned(), "value".into()]];
            rows.extend(run.param_values.iter().map(|(n, v)| vec![n.clone(), shorten(v, 80)]));
            print_table(&rows);
            println!();
            let mut rows = vec![
                ["step", "status", "start", "duration", "attempts", "output", "why it ran"]
                    .map(String::from)
                    .to_vec(),
            ];
            for s in &run.steps {
                rows.push(vec![
                    s.node.clone(),
                    s.status.clone(),
                    format!("+{}", mlflow::exec::format_duration(s.started)),
                    mlflow::exec::format_duration(s.duration),
                    s.attempts.to_string(),
                    s.output.map(|h| h.short()).unwrap_or_else(|| "-".into()),
                    s.error.clone().or_else(|| s.miss_reason.clone()).unwrap_or_default(),
                ]);
            }
            print_table(&rows);
            if !run.metrics.is_empty() {
                println!();
                let mut rows = vec![vec!["step".to_owned(), "metric".into(), "index".into(), "value".into()]];
                for (node, m) in &run.metrics {
                    rows.push(vec![
                        node.clone(),
                        m.key.clone(),
                        m.step.map(|s| s.to_string()).unwrap_or_default(),
                        format!("{:.6}", m.value),
                    ]);
                }
                print_table(&rows);
            }
        }
        Command::Models => {
            let registry = Registry::new(&store).map_err(|e| e.to_string())?;
            let models = registry.models().map_err(|e| e.to_string())?;
            if json {
                return print_json(&models);
            }
            if models.is_empty() {
                println!("no registered models");
                return Ok(());
            }
            let mut rows =
                vec![vec!["model".to_owned(), "latest".into(), "aliases".into(), "updated".into()]];
            for m in &models {
                let aliases: Vec<String> = m.aliases.iter().map(|(a, v)| format!("{a}={v}")).collect();
                rows.push(vec![
                    m.name.clone(),
                    m.latest_version.to_string(),
                    aliases.join(" "),
                    format_timestamp(m.updated_ms),
                ]);
            }
            print_table(&rows);
        }
        Command::Model { command: ModelCommand::Show { reference } } => {
            let registry = Registry::new(&store).map_err(|e| e.to_string())?;
            let version = registry.resolve(&reference).map_err(|e| e.to_string())?;
            let history = registry.history(&version.name).map_err(|e| e.to_string())?;
            if json {
                return print_json(&serde_json::json!({ "version": version, "history": history }));
            }
            println!(
                "{} version {} (aliases: {})",
                version.name,
                version.version,
                if version.aliases.is_empty() { "none".to_owned() } else { version.aliases.join(", ") }
            );
            println!(
                "from run {} of pipeline {}, step {} ({}), registered {}",
                version.run_id,
                version.pipeline,
                version.node,
                version.step,
                format_timestamp(version.created_ms)
            );
            println!("artifact {} ({} bytes)", version.artifact.short(), version.size);
            if !version.description.is_empty() {
                println!("{}", version.description);
            }
            let mut rows = vec![vec!["metric".to_owned(), "value".into()]];
            rows.extend(version.metrics.iter().map(|(k, v)| vec![k.clone(), format!("{v:.6}")]));
            print_table(&rows);
            if !history.is_empty() {
                println!();
                let mut rows =
                    vec![["time", "alias", "version", "previous", "reason"].map(String::from).to_vec()];
                for m in &history {
                    rows.push(vec![
                        format_timestamp(m.at_ms),
                        m.alias.clone(),
                        m.version.map(|v| v.to_string()).unwrap_or_else(|| "removed".into()),
                        m.previous.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                        format!("{}{}", m.reason, if m.forced { " (forced)" } else { "" }),
                    ]);
                }
                print_table(&rows);
                // Why each promotion passed or was forced: every threshold's figures.
                for m in history.iter().filter(|m| m.guard.is_some()) {
                    let target =
                        m.version.map(|v| format!("version {v}")).unwrap_or_else(|| "removed".into());
                    println!("{} {} -> {target}:", format_timestamp(m.at_ms), m.alias);
                    for check in m.guard.iter().flat_map(|g| &g.thresholds) {
                        println!("  {}: {check}", if check.passed { "passed" } else { "FAILED" });
                    }
                }
            }
        }
        Command::Model {
            command:
                ModelCommand::Promote {
                    name,
                    version,
                    alias,
                    metric,
                    lower_is_better,
                    margin,
                    requires,
                    require_changes,
                    require_relative_changes,
                    force,
                    reason,
                },
        } => {
            // Malformed flags are refused before the store is touched.
            let thresholds = gate::thresholds(&requires, &require_changes, &require_relative_changes)?;
            let registry = Registry::new(&store).map_err(|e| e.to_string())?;
            let metric = match metric {
                Some(metric) => metric,
                None => registry
                    .alias_history(&name, &alias)
                    .ok()
                    .and_then(|moves| moves.into_iter().rev().find_map(|m| m.guard.map(|g| g.metric)))
                    .ok_or_else(|| format!("pass --metric: `{name}@{alias}` has no earlier guarded promotion to take the metric from"))?,
            };
            let mut promotion = Promotion::new(metric).margin(margin).reason(reason).force(force);
            if lower_is_better {
                promotion = promotion.lower_is_better();
            }
            let promotion = gate::gate(promotion, thresholds);
            let moved = registry.promote(&name, version, &alias, promotion).map_err(|e| e.to_string())?;
            if json {
                return print_json(&moved);
            }
            match moved {
                Some(m) => {
                    println!(
                        "{name}@{alias} -> version {version}{}{}",
                        m.previous.map(|p| format!(" (was {p})")).unwrap_or_default(),
                        if m.forced { ", forced past the guard" } else { "" }
                    );
                    for check in m.guard.iter().flat_map(|g| &g.thresholds) {
                        println!("  {}: {check}", if check.passed { "passed" } else { "FAILED" });
                    }
                }
                None => println!("{name}@{alias} already is version {version}"),
            }
        }
        Command::Lineage { command } => lineage(&store, command, json)?,
        Command::Report { id, output } => {
            let view = mlflow::report::RunView::from_run(&store, &id).map_err(|e| e.to_string())?;
            if json {
                return print_json(&view);
            }
            let path = output.unwrap_or_else(|| PathBuf::from(format!("mlflow-report-{id}.html")));
            std::fs::write(&path, mlflow::report::render_html(&view))
                .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        Command::Score(args) => score::run(&store, args, json)?,
        Command::Predictions(args) => predictions::run(&store, args, json)?,
        Command::Labels(args) => labels::run(&store, args, json)?,
        Command::Monitor(args) => monitor::run(&store, args, json)?,
        Command::Watch(args) => watch::run(&store, args, json)?,
        Command::Sync(args) => sync::run(&store, args, json)?,
        Command::RunExported(_) => unreachable!("run before the store is opened"),
        #[cfg(feature = "server")]
        Command::Serve(args) => return serve::serve(store, args),
        #[cfg(feature = "ui")]
        Command::Ui(args) => return ui::ui(store, args),
        Command::Gc { grace_secs } => {
            let report = store
                .gc_with(GcOptions { grace: Duration::from_secs(grace_secs) })
                .map_err(|e| e.to_string())?;
            if json {
                return print_json(&report);
            }
            println!(
                "removed {} artifacts ({} bytes) and {} leftover temp files; kept {}",
                report.artifacts_removed,
                report.bytes_freed,
                report.temp_files_removed,
                report.artifacts_kept
            );
        }
    }
    Ok(())
}

fn lineage(store: &Store, command: LineageCommand, json: bool) -> CliResult<()> {
    match command {
        LineageCommand::Model { reference } => {
            let registry = Registry::new(store).map_err(|e| e.to_string())?;
            let version = registry.resolve(&reference).map_err(|e| e.to_string())?;
            let lineage = store.lineage(&version.run_id, &version.node).map_err(|e| e.to_string())?;
            if json {
                return print_json(&lineage);
            }
            println!(
                "{} version {} = output of step {} in run {}",
                version.name, version.version, version.node, version.run_id
            );
            print_lineage(&lineage, 0);
        }
        LineageCommand::Run { id, node } => {
            let lineage = store.lineage(&id, &node).map_err(|e| e.to_string())?;
            if json {
                return print_json(&lineage);
            }
            print_lineage(&lineage, 0);
        }
        LineageCommand::Data { version } => {
            let hash = ContentHash::from_hex(&version).ok_or_else(|| {
                format!("`{version}` is not a data version: give the 64 hex digits (`mlflow-pipelines run show` prints the start of one)")
            })?;
            let uses = store.data_uses(hash).map_err(|e| e.to_string())?;
            let registry = Registry::new(store).map_err(|e| e.to_string())?;
            let runs: BTreeSet<&str> = uses.iter().map(|u| u.run_id.as_str()).collect();
            let mut models = Vec::new();
            for model in registry.models().map_err(|e| e.to_string())? {
                for v in registry.versions(&model.name).map_err(|e| e.to_string())? {
                    if runs.contains(v.run_id.as_str()) {
                        models.push(v);
                    }
                }
            }
            if json {
                return print_json(&serde_json::json!({ "runs": uses, "models": models }));
            }
            if uses.is_empty() {
                println!("no run read data version {}", hash.short());
                return Ok(());
            }
            let mut rows = vec![vec!["run".to_owned(), "pipeline".into(), "step".into(), "data".into()]];
            rows.extend(
                uses.iter()
                    .map(|u| vec![u.run_id.clone(), u.pipeline.clone(), u.node.clone(), u.name.clone()]),
            );
            print_table(&rows);
            for m in &models {
                println!("model {}/{} (run {})", m.name, m.version, m.run_id);
            }
        }
    }
    Ok(())
}

fn print_lineage(l: &Lineage, depth: usize) {
    let pad = "  ".repeat(depth);
    let source = l.source_run.as_ref().map(|r| format!(", computed in run {r}")).unwrap_or_default();
    println!("{pad}{} [{}] {}{}", l.node, l.step, l.status, source);
    if let Some(code) = &l.code {
        println!(
            "{pad}  code {} version {} deps {} crate {}",
            code.code.short(),
            code.version,
            code.deps.short(),
            code.krate
        );
    }
    if let Some(output) = l.output {
        println!("{pad}  output {}", output.short());
    }
    for d in &l.data {
        println!("{pad}  data {} version {}", d.name, d.version.short());
    }
    for (name, hash, value) in &l.params {
        println!("{pad}  param {name} = {} ({})", shorten(value, 60), hash.short());
    }
    for up in &l.upstream {
        print_lineage(up, depth + 1);
    }
}

fn build_filter(args: ListArgs) -> CliResult<RunFilter> {
    let mut filter = RunFilter::new();
    filter.pipeline = args.pipeline;
    filter.status = args.status;
    filter.limit = args.limit;
    if let Some(metric) = args.sort {
        filter = filter.sort_by(metric.strip_prefix("metric.").unwrap_or(&metric), !args.asc);
    }
    for expr in &args.filters {
        filter = filter.parse_where(expr).map_err(|e| e.to_string())?;
    }
    Ok(filter)
}

fn print_json<T: Serialize + ?Sized>(value: &T) -> CliResult<()> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|e| e.to_string())?);
    Ok(())
}

fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

fn opt(value: &Option<String>) -> String {
    value.as_deref().map(|v| shorten(v, 40)).unwrap_or_else(|| "-".into())
}

fn opt_f(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

fn format_ms(ms: i64) -> String {
    mlflow::exec::format_duration(Duration::from_millis(ms.max(0) as u64))
}
