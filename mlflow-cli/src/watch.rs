//! `mlflow-pipelines watch`: continuous training from the command line. Each round observes the
//! model (drift of its newest champion predictions, performance on delayed labels), judges the
//! triggers of a config file, and when they fire runs the retraining command (the user's
//! pipeline, which registers a new version), then offers the new version to the alias through
//! the config's gate. Every decision is recorded in the store; `--history` lists them.
//!
//! ```text
//! mlflow-pipelines watch NAME --config watch.json --retrain "cargo run --release --example titanic" \
//!     [--alias production] [--every 60s] [--once] [--window 1000] [--min-labels 50] [--on-demand]
//! mlflow-pipelines watch NAME --history [--json]
//! ```
//! The config file (JSON): `{"trigger": TRIGGER, "gate": PROMOTION}`, with the serialized forms
//! of `mlflow::monitor::Trigger` and `mlflow::registry::Promotion` (`examples/watch.json`).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use mlflow::monitor::{MonitorOptions, Trigger};
use mlflow::registry::{Promotion, Registry};
use mlflow::serve::blocks::{Registration, offer};
use mlflow::serve::watch::{Retrained, Tick, WatchStore, Watcher, observe};
use mlflow::store::Store;
use mlflow::track::format_timestamp;
use serde::Deserialize;

use crate::{CliResult, print_json, print_table};

/// Arguments of `mlflow-pipelines watch`.
#[derive(Args)]
pub struct WatchArgs {
    /// The registered model's name.
    model: String,
    /// The triggers and the gate (JSON): `{"trigger": ..., "gate": ...}`.
    #[arg(long, required_unless_present = "history")]
    config: Option<PathBuf>,
    /// The command that retrains and registers a new version (run with `sh -c`).
    #[arg(long, required_unless_present = "history")]
    retrain: Option<String>,
    /// The alias to watch and to promote to.
    #[arg(long, default_value = "production")]
    alias: String,
    /// Time between rounds (`30s`, `5m`, `1h`).
    #[arg(long, default_value = "60s", value_parser = parse_every)]
    every: Duration,
    /// One round, then exit.
    #[arg(long)]
    once: bool,
    /// The newest champion predictions each round looks at.
    #[arg(long, default_value_t = 1000)]
    window: usize,
    /// Labels needed for realized performance (fewer: estimated, which triggers ignore).
    #[arg(long, default_value_t = 50)]
    min_labels: usize,
    /// Ask for a retrain in the first round (the `OnDemand` trigger).
    #[arg(long)]
    on_demand: bool,
    /// List the recorded decisions instead of watching.
    #[arg(long)]
    history: bool,
}

/// The config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    trigger: Trigger,
    gate: Promotion,
}

/// Runs `mlflow-pipelines watch`.
pub fn run(store: &Store, args: WatchArgs, json: bool) -> CliResult<()> {
    if args.history {
        return history(store, &args.model, json);
    }
    let (Some(config_path), Some(command)) = (&args.config, &args.retrain) else {
        return Err("give --config FILE and --retrain COMMAND (or --history)".into());
    };
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| format!("cannot read the watch config {}: {e}", config_path.display()))?;
    let config: Config = serde_json::from_str(&text).map_err(|e| {
        format!(
            "the watch config {} is not valid: {e}; it holds {{\"trigger\": ..., \"gate\": ...}} (see examples/watch.json)",
            config_path.display()
        )
    })?;
    config.gate.validate().map_err(|e| format!("the watch config's gate: {e}"))?;
    let watcher = Watcher::new(store, args.model.clone(), config.trigger);
    let mut on_demand = args.on_demand;
    loop {
        let done = round(store, &args, &watcher, &config.gate, command, on_demand, json);
        on_demand = false;
        if args.once || done.is_err() {
            watcher.release().map_err(|e| e.to_string())?;
            return done;
        }
        std::thread::sleep(args.every);
    }
}

fn round(
    store: &Store,
    args: &WatchArgs,
    watcher: &Watcher<'_>,
    gate: &Promotion,
    command: &str,
    on_demand: bool,
    json: bool,
) -> CliResult<()> {
    let now = now_ms();
    let seen = observe(
        store,
        &args.model,
        &args.alias,
        args.window,
        args.min_labels,
        &MonitorOptions::default(),
        now,
    )
    .map_err(|e| e.to_string())?;
    let mut observations = seen.observations.clone();
    observations.on_demand = on_demand;
    let retrain = || retrain(store, &args.model, &args.alias, command, gate);
    let tick = watcher.tick(observations, seen.total_labels, retrain).map_err(|e| e.to_string())?;
    match &tick {
        Tick::Leased { holder } => {
            if json {
                print_json(&serde_json::json!({ "model": args.model, "leased_by": holder }))?;
            } else {
                println!("{}: another watcher ({holder}) holds the lease; nothing judged", args.model);
            }
        }
        Tick::Judged { decision, action, record, detail, retrained } => {
            if json {
                let line = serde_json::json!({
                    "model": args.model,
                    "version": seen.version,
                    "decision": record,
                    "fired": decision.fired,
                    "action": action,
                    "fired_by": decision.fired_by(),
                    "notes": seen.notes,
                    "run_id": retrained.as_ref().map(|r| r.run_id.clone()),
                    "detail": detail,
                });
                println!("{line}");
            } else {
                println!(
                    "{} {}@{} (version {}):",
                    format_timestamp(now),
                    args.model,
                    args.alias,
                    seen.version
                );
                for note in &seen.notes {
                    println!("  note: {note}");
                }
                print!("{}", indent(&decision.explain()));
                let action = format!("{action:?}").to_lowercase();
                if detail.is_empty() {
                    println!("  action: {action}");
                } else {
                    println!("  action: {action}: {detail}");
                }
            }
        }
    }
    Ok(())
}

/// Runs the retraining command, finds the version it registered and offers it to `alias`.
fn retrain(
    store: &Store,
    model: &str,
    alias: &str,
    command: &str,
    gate: &Promotion,
) -> Result<Retrained, String> {
    let registry = Registry::new(store).map_err(|e| e.to_string())?;
    let before = latest(&registry, model)?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .status()
        .map_err(|e| format!("cannot run the retraining command `{command}`: {e}"))?;
    if !status.success() {
        return Err(format!("the retraining command `{command}` failed ({status})"));
    }
    let after = latest(&registry, model)?;
    if after <= before {
        return Err(format!(
            "the retraining command `{command}` registered no new version of `{model}` (latest is still {}); it must train and register one",
            before.map_or_else(|| "none".to_owned(), |v| v.to_string())
        ));
    }
    let version = after.unwrap_or_default();
    let promotion = gate.clone().reason(format!("retrained by `mlflow-pipelines watch` ({command})"));
    let outcome = offer(&registry, model, version, alias, promotion).map_err(|e| e.to_string())?;
    let version = registry.version(model, version).map_err(|e| e.to_string())?;
    let run_id = version.run_id.clone();
    Ok(Retrained { run_id, registration: Registration { version, promotion: outcome } })
}

fn latest(registry: &Registry<'_>, model: &str) -> Result<Option<u32>, String> {
    Ok(registry
        .models()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|m| m.name == model)
        .map(|m| m.latest_version))
}

fn history(store: &Store, model: &str, json: bool) -> CliResult<()> {
    let decisions = WatchStore::new(store).decisions(model).map_err(|e| e.to_string())?;
    if json {
        return print_json(&decisions);
    }
    if decisions.is_empty() {
        println!(
            "no decisions recorded for `{model}`: run `mlflow-pipelines watch {model} --config ... --retrain ...`"
        );
        return Ok(());
    }
    let mut rows = vec![["time", "fired", "action", "version", "run", "detail"].map(String::from).to_vec()];
    for d in &decisions {
        rows.push(vec![
            format_timestamp(d.at_ms),
            if d.fired { "yes".into() } else { "no".into() },
            format!("{:?}", d.action).to_lowercase(),
            d.version.map(|v| v.to_string()).unwrap_or_default(),
            d.run_id.clone().unwrap_or_default(),
            d.detail.clone(),
        ]);
    }
    print_table(&rows);
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn parse_every(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 =
        number.parse().map_err(|_| format!("`{text}`: give a whole number with s, m or h (e.g. 60s)"))?;
    let seconds = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{text}`: the unit is s, m or h")),
    };
    if seconds == 0 {
        return Err("the time between rounds must be at least 1s".into());
    }
    Ok(Duration::from_secs(seconds))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
