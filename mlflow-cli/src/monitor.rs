//! `mlflow-pipelines monitor`: drift and health of a model's logged predictions, per window,
//! version and role, against the reference profile of each version's package; exits with
//! [`ALERT_EXIT`] when an alert fires.
//!
//! ```text
//! mlflow-pipelines monitor NAME [--version V | --alias A] [--role champion|challenger|shadow]
//!     [--window all|N|last:N|30m|1h|1d] [--last K] [--preset evidently|tfdv] [--drift-share X]
//!     [--alert-share X] [--alert-feature NAME]... [--alert-output] [--alert-p99-ms MS]
//!     [--alert-error-rate X] [--skew] [--json]
//! ```
//! Exit codes: 0 no alert, 1 an error (no store, model, log or profile), 2 bad arguments (clap),
//! 3 an alert fired.

use std::io::Write;

use clap::Args;
use mlflow::monitor::{
    AlertRules, ColumnReport, DriftTest, ModelMonitoring, MonitorError, MonitorOptions, MonitorReport,
    Preset, RecordFilter, SkewReport, WindowReport, WindowSpec, monitor_registered, replay_logged_skew,
};
use mlflow::registry::Registry;
use mlflow::serve::{PredictionLog, Role};
use mlflow::store::Store;
use mlflow::track::format_timestamp;

use crate::{CliResult, print_table};

/// The exit code when an alert fires (errors exit 1, bad arguments 2).
pub const ALERT_EXIT: i32 = 3;

/// Arguments of `mlflow-pipelines monitor`.
#[derive(Args)]
pub struct MonitorArgs {
    /// The registered model's name.
    model: String,
    /// Only this version (default: every version in the log, each on its own).
    #[arg(long, conflicts_with = "alias")]
    version: Option<u32>,
    /// Only the version this alias points to now.
    #[arg(long)]
    alias: Option<String>,
    /// Only this role (default: every role, each on its own); `canary` is `challenger`.
    #[arg(long, value_parser = ["champion", "challenger", "canary", "shadow"])]
    role: Option<String>,
    /// Windows: `all`, consecutive windows of a count of predictions (`1000`), the newest
    /// predictions (`last:1000`), or a duration aligned to the epoch (`30s`, `15m`, `1h`, `1d`).
    #[arg(long, default_value = "all", value_parser = parse_window)]
    window: WindowSpec,
    /// Report the newest K windows of each version and role (0: all of them).
    #[arg(long, value_name = "K", default_value_t = 1)]
    last: usize,
    /// The tests and thresholds: Evidently's, or Vertex AI / TFDV's.
    #[arg(long, value_parser = ["evidently", "tfdv"], default_value = "evidently")]
    preset: String,
    /// The share of drifted features at which a window's dataset drifts.
    #[arg(long, value_name = "X", default_value_t = mlflow::monitor::DEFAULT_DRIFT_SHARE)]
    drift_share: f64,
    /// Alert when at least this share of the input features drifted (0: never).
    #[arg(long, value_name = "X", default_value_t = mlflow::monitor::DEFAULT_DRIFT_SHARE)]
    alert_share: f64,
    /// Alert when this input feature drifts (repeatable).
    #[arg(long = "alert-feature", value_name = "NAME")]
    alert_features: Vec<String>,
    /// Alert when the output (P(class 1), or the prediction) drifts.
    #[arg(long)]
    alert_output: bool,
    /// Alert when the p99 latency of the model is above MS milliseconds.
    #[arg(long, value_name = "MS")]
    alert_p99_ms: Option<f64>,
    /// Alert when more than this share of the requests failed (0.01: 1 in 100).
    #[arg(long, value_name = "X")]
    alert_error_rate: Option<f64>,
    /// Labels a window needs for realized performance (fewer: estimated from the probabilities).
    #[arg(long, value_name = "N", default_value_t = 50)]
    min_labels: usize,
    /// Also replay each version's packaged transformers on the raw rows the log holds and
    /// compare them with the features served (training-serving skew); skew exits with 3 as an
    /// alert does.
    #[arg(long)]
    skew: bool,
    /// Also write the monitoring report (drift and performance over time) as a self-contained
    /// HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

/// Runs `mlflow-pipelines monitor`; exits the process with [`ALERT_EXIT`] after printing the
/// report when an alert fires.
pub fn run(store: &Store, args: MonitorArgs, json: bool) -> CliResult<()> {
    let spec = args.window;
    let preset = if args.preset == "tfdv" { Preset::Tfdv } else { Preset::evidently() };
    let options = MonitorOptions { preset, drift_share: args.drift_share };
    let rules = AlertRules {
        dataset_drift_share: (args.alert_share > 0.0).then_some(args.alert_share),
        features: args.alert_features.clone(),
        output: args.alert_output,
        p99_latency_ms: args.alert_p99_ms,
        error_rate: args.alert_error_rate,
    };
    let registry = Registry::new(store).map_err(|e| e.to_string())?;
    let version = match (&args.version, &args.alias) {
        (Some(v), _) => Some(*v),
        (None, Some(alias)) => {
            Some(registry.resolve(&format!("{}@{alias}", args.model)).map_err(|e| e.to_string())?.version)
        }
        (None, None) => None,
    };
    let role = args.role.as_deref().map(|r| match r {
        "champion" => Role::Champion,
        "shadow" => Role::Shadow,
        _ => Role::Challenger,
    });
    let filter = RecordFilter { model: None, version, role };
    let dir = PredictionLog::dir_in(store, &args.model);
    let last = (args.last > 0).then_some(args.last);
    // Each version's package is loaded (and self-tested) once, and kept for the skew replay.
    let ModelMonitoring { report, packages } =
        monitor_registered(store, &args.model, spec, &filter, last, &options, args.min_labels).map_err(|e| match e {
            MonitorError::NoRecords => format!(
                "no predictions of model `{}`{}{} in its log (`{}`): check --version, --alias and --role against `mlflow-pipelines predictions {}`",
                args.model,
                version.map(|v| format!(" version {v}")).unwrap_or_default(),
                role.map(|r| format!(" as {r}")).unwrap_or_default(),
                dir.display(),
                args.model
            ),
            e => e.to_string(),
        })?;
    if let Some(path) = &args.html {
        let page = mlflow::report::render_monitoring_html(&report.view(&args.model));
        std::fs::write(path, page)
            .map_err(|e| format!("cannot write the monitoring report {}: {e}", path.display()))?;
        if !json {
            println!("wrote {}", path.display());
        }
    }
    let mut skews = std::collections::BTreeMap::new();
    if args.skew {
        // Every version with a window has its package loaded by the monitoring pass.
        for (&v, package) in &packages {
            let filter = RecordFilter { version: Some(v), ..filter.clone() };
            let skew = replay_logged_skew(package, &dir, &filter).map_err(|e| e.to_string())?;
            skews.insert(v, skew);
        }
    }
    let alerts = report.alerts(&rules);
    let skewed = skews.values().any(SkewReport::skewed);
    if json {
        let alerts: Vec<serde_json::Value> = alerts
            .iter()
            .map(|(i, a)| {
                let w = &report.windows[*i];
                serde_json::json!({
                    "window": *i, "version": w.version, "role": w.role, "index": w.window.index,
                    "alert": a, "message": a.to_string(),
                })
            })
            .collect();
        let mut out = serde_json::json!({ "report": report, "alerts": alerts });
        if args.skew {
            out["skew"] = serde_json::json!(skews);
        }
        println!("{}", serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?);
    } else {
        print_report(&report, &alerts);
        for (v, skew) in &skews {
            print_skew(*v, skew);
        }
    }
    if alerts.is_empty() && !skewed {
        return Ok(());
    }
    let _ = std::io::stdout().flush();
    if !alerts.is_empty() {
        eprintln!(
            "mlflow-pipelines: {} alert{} fired (exit code {ALERT_EXIT})",
            alerts.len(),
            if alerts.len() == 1 { "" } else { "s" }
        );
    }
    if skewed {
        eprintln!("mlflow-pipelines: served features differ from the package's own (exit code {ALERT_EXIT})");
    }
    std::process::exit(ALERT_EXIT);
}

fn parse_window(text: &str) -> Result<WindowSpec, String> {
    text.parse().map_err(|e: MonitorError| e.to_string())
}

fn print_report(report: &MonitorReport, alerts: &[(usize, mlflow::monitor::Alert)]) {
    let s = &report.scan;
    println!(
        "{} records read from {} segment{}, {} matched, {} failed requests{}{}",
        s.records,
        s.segments,
        if s.segments == 1 { "" } else { "s" },
        s.matched,
        s.failures,
        if s.torn > 0 { format!(", {} torn frames skipped", s.torn) } else { String::new() },
        if s.late > 0 { format!(", {} late records of dropped windows", s.late) } else { String::new() },
    );
    for (i, w) in report.windows.iter().enumerate() {
        println!();
        print_window(w);
        for (_, alert) in alerts.iter().filter(|(j, _)| *j == i) {
            println!("ALERT: {alert}");
        }
    }
}

fn print_window(w: &WindowReport) {
    let b = &w.window;
    println!(
        "{} version {} ({}), window {} {} .. {}{}: {} rows, {} requests, {} failed ({} timed out)",
        w.model,
        w.version,
        w.role,
        b.index,
        format_timestamp(b.start_ms),
        format_timestamp(b.end_ms),
        if b.complete { "" } else { " (partial)" },
        w.rows,
        w.requests,
        w.errors.unwrap_or(0),
        w.timeouts.unwrap_or(0)
    );
    let mut rows =
        vec![["column", "test", "statistic", "p-value", "drifted", "nulls"].map(String::from).to_vec()];
    for c in w.features.iter().chain(w.output.as_ref()) {
        rows.push(column_row(c));
    }
    print_table(&rows);
    match &w.dataset {
        Some(d) => println!(
            "dataset drift: {} of {} features drifted ({:.0}%){}",
            d.drifted_columns,
            d.columns,
            d.share * 100.0,
            if d.drifted { ", the dataset drifted" } else { "" }
        ),
        None => println!("dataset drift: not measured"),
    }
    let h = &w.health;
    let ms = |v: Option<f64>| v.map(|v| format!("{v:.2} ms")).unwrap_or_else(|| "-".into());
    println!(
        "health: {} requests/s, error rate {}, {} rows/request, latency p50 {}, p95 {}, p99 {}, max {}",
        h.requests_per_second.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into()),
        h.error_rate.map(|v| format!("{:.2}%", v * 100.0)).unwrap_or_else(|| "-".into()),
        h.rows_per_request.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into()),
        ms(h.latency_p50_ms),
        ms(h.latency_p95_ms),
        ms(h.latency_p99_ms),
        ms(h.latency_max_ms)
    );
    if let Some(performance) = &w.performance {
        let figures: Vec<String> = performance.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        println!(
            "performance ({} on {} labels): {}",
            if w.performance_estimated { "estimated from the probabilities, too few" } else { "realized" },
            w.labeled.unwrap_or(0),
            figures.join(", ")
        );
    }
    for note in &w.notes {
        println!("note: {note}");
    }
}

fn print_skew(version: u32, skew: &SkewReport) {
    println!();
    println!(
        "skew of version {version}: {} of {} served rows differ from the package's own features ({} rows without raw rows{})",
        skew.skewed_rows,
        skew.rows,
        skew.rows_without_raw,
        match &skew.refusal {
            Some(refusal) => format!(", {} refused: {refusal}", skew.refused_rows),
            None => String::new(),
        }
    );
    for f in skew.features.iter().filter(|f| f.mismatched_rows > 0) {
        let example = f
            .example
            .map(|(row, served, replayed)| {
                format!(" (row {row}: served {served}, the package makes {replayed})")
            })
            .unwrap_or_default();
        println!(
            "SKEW: `{}` differs in {} rows, by up to {}{example}",
            f.name, f.mismatched_rows, f.max_abs_diff
        );
    }
}

fn column_row(c: &ColumnReport) -> Vec<String> {
    let nulls = if c.nulls == 0 { "0".to_owned() } else { format!("{} ({:.1}%)", c.nulls, share(c)) };
    match &c.drift {
        Some(d) => vec![
            c.name.clone(),
            DriftTest::name(d.test()).into(),
            format!("{:.4}", d.statistic()),
            d.p_value().map(|p| format!("{p:.4}")).unwrap_or_else(|| "-".into()),
            if d.drifted() { "DRIFT".into() } else { "no".into() },
            nulls,
        ],
        None => vec![
            c.name.clone(),
            "-".into(),
            "-".into(),
            "-".into(),
            c.note.clone().unwrap_or_else(|| "not compared".into()),
            nulls,
        ],
    }
}

fn share(c: &ColumnReport) -> f64 {
    100.0 * c.nulls as f64 / (c.nulls + c.values).max(1) as f64
}
