//! The feedback loop on the Titanic model, end to end, in one process:
//!
//! 1. train on the first 600 passengers of `train.csv` and promote the champion to `production`;
//! 2. serve it (KServe V1 on 127.0.0.1, every prediction logged);
//! 3. send the Kaggle test passengers (the training population) as raw rows, which the server
//!    featurizes with the package's transformers, then a drifted stream the client featurized
//!    (with its raw rows beside, for the skew check): later passengers (rows 600.. of
//!    `train.csv`) drawn mostly from older men in third class; and one request of a client
//!    with a stale schema, which the server refuses and logs as a failure;
//! 4. send the true outcome of two thirds of the drifted passengers as delayed labels
//!    (`POST /v1/models/titanic:feedback`);
//! 5. monitor both windows against the package's reference profile: the drifted one drifts, its
//!    realized accuracy is measured on the labels, the log's failures give the error rate, and
//!    replaying the package's transformers on the logged raw rows shows that the served features
//!    are the package's own (no skew);
//! 6. judge the retraining triggers, retrain on the first 600 passengers plus the labeled ones,
//!    gate the new version against production and promote it;
//! 7. watch the server pick up the new version without a restart.
//!
//! ```sh
//! cargo run --release --example titanic_production --features server      # in a temporary folder
//! cargo run --release --example titanic_production --features server -- DIR
//! ```
//!
//! `mlflow-cli/tests/cli/production.rs` runs it as an integration test.
#![allow(dead_code)] // the integration test includes this file for `run` and leaves `main` unused

#[path = "../tests/support/http.rs"]
mod http;
#[path = "titanic/pipeline.rs"]
mod pipeline;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use mlflow::blocks;
use mlflow::data::{CsvOptions, DataFile};
use mlflow::eval::Metric;
use mlflow::monitor::{FeatureDriftFigure, Observations, Trigger};
use mlflow::prelude::*;
use mlflow::registry::{Promotion, Registry};
use mlflow::serve::monitoring::{
    MonitorOptions, RecordFilter, WindowReport, WindowSpec, monitor_log, monitor_window, replay_logged_skew,
};
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use mlflow::serve::watch::{Action, Retrained, Tick, Watcher};
use mlflow::serve::{
    LabelStore, ModelPackage, Performance, PredictionLog, PredictionRecord, Scorer, performance,
};
use serde_json::json;

/// Passengers the first model is trained on; the rest arrive later, in production.
const FIRST_ROWS: usize = 600;
/// Labels needed before realized performance counts.
const MIN_LABELS: usize = 50;

/// What the loop did, for the integration test.
#[derive(Debug)]
pub struct Summary {
    /// The version serving at the start.
    pub first_version: u32,
    /// The drifted window's input features that drifted.
    pub drifted_features: Vec<String>,
    /// The share of drifted features in the test passengers' window and in the drifted one.
    pub drift_share: (f64, f64),
    /// Served rows whose features differ from the package's own (skew), of the rows compared.
    pub skewed_rows: (usize, usize),
    /// Failed requests logged against the first version.
    pub errors: u64,
    /// Realized accuracy on the labeled drifted passengers.
    pub accuracy: Option<f64>,
    /// Whether the triggers fired, and which.
    pub fired_by: Vec<String>,
    /// What the loop did.
    pub action: Action,
    /// The version the server answers with at the end.
    pub served_version: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let dir =
        std::env::args_os().nth(1).map(std::path::PathBuf::from).unwrap_or_else(|| temp.path().to_owned());
    let started = Instant::now();
    let summary = run(&dir, &mut std::io::stdout())?;
    println!("done in {:.1} s: {summary:?}", started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs the whole loop in `dir` (a store and two training files are written there), telling
/// what happens on `out`.
pub fn run(dir: &Path, out: &mut dyn Write) -> Result<Summary, Box<dyn std::error::Error>> {
    let train_csv = std::fs::read_to_string(data("train.csv")?)?;
    let (header, rows) = split_csv(&train_csv);
    let first = dir.join("train_first.csv");
    std::fs::write(&first, lines(header, &rows[..FIRST_ROWS]))?;
    let store_path = dir.join("store");
    let store = Store::open(&store_path)?;
    let registry = Registry::new(&store)?;

    // 1. The first model.
    let (p, handles) = pipeline::build(DataFile::open(&first)?, Metric::RocAuc);
    let report = p.run(&store)?.into_result()?;
    let registration = blocks::register_champion(
        &registry,
        "titanic",
        &report,
        handles.package,
        &handles.compared,
        "production",
    )?;
    writeln!(out, "1. {registration}")?;
    let first_version = registration.version.version;

    // The watcher starts its clock now: labels and schedules count from here.
    let rule = Trigger::any([
        Trigger::dataset_drift(0.5).named("dataset drift"),
        Trigger::performance("accuracy", 0.75, true, MIN_LABELS as u64).named("accuracy floor"),
        Trigger::new_labels(500).named("many labels"),
    ]);
    let watcher = Watcher::new(&store, "titanic", rule).holder("demo");
    let start = now_ms();
    watcher.tick(Observations { now_ms: start, ..Observations::default() }, 0, never)?;

    // 2. Serve it.
    let config = ServerConfig::new("127.0.0.1:0".parse()?)
        .model(ModelSpec::new("titanic@production"))
        .reload_interval(Duration::from_millis(50));
    let server = Server::start(Store::open(&store_path)?, config)?;
    let mut client = http::Client::connect(server.local_addr())?;
    writeln!(out, "2. serving titanic/{first_version} on http://{}", server.local_addr())?;

    // 3. The test passengers, then the drifted stream.
    let package = Scorer::from_registry(&registry, "titanic@production")?.package().clone();
    let test_csv = std::fs::read_to_string(data("test.csv")?)?;
    let (test_header, test_rows) = split_csv(&test_csv);
    // The test passengers as raw rows: the server featurizes them with the package's own
    // transformers. The drifted stream comes featurized by the client.
    let test_table =
        mlflow::data::parse_csv(lines(test_header, &test_rows).as_bytes(), "test", &CsvOptions::default())?;
    send(&mut client, &raw_objects(&test_table), None, "test")?;
    let drifted = drifted_stream(header, &rows[FIRST_ROWS..]);
    let drifted_features = features(&package, header, &drifted)?;
    let featurized: Vec<serde_json::Value> = drifted_features.iter().map(|row| json!(row)).collect();
    let drifted_raw =
        mlflow::data::parse_csv(lines(header, &drifted).as_bytes(), "drifted", &CsvOptions::default())?;
    let ids = send(&mut client, &featurized, Some(&raw_objects(&drifted_raw)), "drift")?;
    // A client still on an older feature list: refused, and logged as a failure.
    let stale =
        client.post("/v1/models/titanic:predict", &json!({ "instances": [[3.0, 1.0]] }).to_string())?;
    writeln!(
        out,
        "3. sent {} test passengers, then {} drifted ones; a stale client got {}",
        test_rows.len(),
        drifted.len(),
        stale.status
    )?;

    // 4. Delayed labels for two thirds of the drifted passengers.
    let survived = column(header, "Survived");
    let labels: Vec<serde_json::Value> = ids
        .iter()
        .zip(&drifted)
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, ((request_id, row), line))| json!({"request_id": request_id, "row": row, "label": field(line, survived).parse::<i64>().unwrap_or(0)}))
        .collect();
    let answer = client.post("/v1/models/titanic:feedback", &json!({ "labels": labels }).to_string())?;
    writeln!(out, "4. feedback: {}", answer.body)?;

    // 5. Monitoring: each stream's window against the reference profile.
    let log = PredictionLog::read(PredictionLog::dir_in(&store, "titanic"))?.records;
    let window = |prefix: &str| -> Vec<PredictionRecord> {
        log.iter().filter(|r| r.request_id.starts_with(prefix)).cloned().collect()
    };
    let (test_window, drift_window) = (window("test"), window("drift"));
    let options = MonitorOptions::default();
    let test_report = monitor_window(&package, &test_window, &options)?;
    let drift_report = monitor_window(&package, &drift_window, &options)?;
    let share = |r: &WindowReport| r.dataset.as_ref().map_or(0.0, |d| d.share);
    let drifted_columns: Vec<String> =
        drift_report.features.iter().filter(|f| f.drifted()).map(|f| f.name.clone()).collect();
    writeln!(
        out,
        "5. drift share: test passengers {:.2}, drifted stream {:.2} ({})",
        share(&test_report),
        share(&drift_report),
        drifted_columns.join(", ")
    )?;
    // Health from the whole log: requests answered and failed.
    let log_dir = PredictionLog::dir_in(&store, "titanic");
    let version = RecordFilter { version: Some(first_version), ..RecordFilter::default() };
    let whole = monitor_log(&log_dir, WindowSpec::All, &version, None, &options, |_| Ok(package.clone()))?;
    let errors = whole.windows[0].errors.unwrap_or(0);
    writeln!(
        out,
        "   health: {} requests answered, {errors} failed (error rate {:.2}%)",
        whole.windows[0].requests,
        whole.windows[0].health.error_rate.unwrap_or(0.0) * 100.0
    )?;
    // Skew by replay: the package's transformers on the logged raw rows give what was served.
    let skew = replay_logged_skew(&package, &log_dir, &version)?;
    writeln!(
        out,
        "   skew: {} of {} served rows differ from the package's own features",
        skew.skewed_rows, skew.rows
    )?;
    let stored = LabelStore::read(LabelStore::dir_in(&store, "titanic"))?;
    let joined = stored.for_records(&drift_window);
    let measured = performance(&drift_window, &joined, package.task(), MIN_LABELS);
    writeln!(out, "   performance on the drifted stream: {measured}")?;
    let metrics: BTreeMap<String, f64> = match &measured {
        Performance::Realized { metrics, .. } => {
            metrics.named().into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        }
        _ => BTreeMap::new(),
    };
    let accuracy = metrics.get("accuracy").copied();

    // 6. The triggers, and the retraining they call for.
    let mut observed = Observations {
        now_ms: now_ms().max(start + 1),
        dataset_drift_share: Some(share(&drift_report)),
        performance: metrics,
        labeled: joined.iter().flatten().count() as u64,
        ..Observations::default()
    };
    for f in &drift_report.features {
        if let Some(d) = &f.drift {
            observed.feature_drift.insert(
                f.name.clone(),
                FeatureDriftFigure { statistic: d.statistic(), p_value: d.p_value(), drifted: d.drifted() },
            );
        }
    }
    let labeled_lines: Vec<&str> =
        drifted.iter().enumerate().filter(|(i, _)| i % 3 != 2).map(|(_, l)| *l).collect();
    let enlarged = dir.join("train_enlarged.csv");
    let retrain = || -> Result<Retrained, Box<dyn std::error::Error>> {
        let mut all: Vec<&str> = rows[..FIRST_ROWS].to_vec();
        all.extend(&labeled_lines);
        std::fs::write(&enlarged, lines(header, &all))?;
        let (p, handles) = pipeline::build(DataFile::open(&enlarged)?, Metric::RocAuc);
        let report = p.run(&store)?.into_result()?;
        // The gate: at least 0.80 ROC AUC, and at most 0.03 below production's.
        let gate = Promotion::by(Metric::RocAuc)
            .at_least(0.80)
            .margin(-0.03)
            .reason("retrained on drifted, labeled passengers");
        let registration = blocks::register_champion_with(
            &registry,
            "titanic",
            &report,
            handles.package,
            &handles.compared,
            "production",
            gate,
        )?;
        Ok(Retrained { run_id: report.run_id().to_owned(), registration })
    };
    let tick = watcher.tick(observed, labels.len() as u64, retrain)?;
    let (fired_by, action) = match &tick {
        Tick::Judged { decision, action, .. } => {
            write!(out, "6. triggers:\n{}", decision.explain())?;
            (decision.fired_by().iter().map(|s| s.to_string()).collect(), *action)
        }
        Tick::Leased { holder } => return Err(format!("another watcher ({holder}) holds the lease").into()),
    };
    if let Tick::Judged { retrained: Some(r), .. } = &tick {
        writeln!(out, "   {}", r.registration)?;
    }

    // 7. The server swaps to the promoted version without a restart.
    let promoted = registry.aliases("titanic")?["production"];
    let deadline = Instant::now() + Duration::from_secs(10);
    let served_version = loop {
        let answer = client.post(
            "/v1/models/titanic:predict",
            &json!({ "instances": [&drifted_features[0]] }).to_string(),
        )?;
        // `x-model-version` is `NAME/VERSION`.
        let version: u32 =
            answer.header("x-model-version").and_then(|v| v.rsplit('/').next()?.parse().ok()).unwrap_or(0);
        if version == promoted || Instant::now() > deadline {
            break version;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    writeln!(out, "7. the server answers with titanic/{served_version}")?;
    server.shutdown()?;
    Ok(Summary {
        first_version,
        drifted_features: drifted_columns,
        drift_share: (share(&test_report), share(&drift_report)),
        skewed_rows: (skew.skewed_rows, skew.rows),
        errors,
        accuracy,
        fired_by,
        action,
        served_version,
    })
}

/// A file of the Titanic data, found above the package being built (the top of the checkout, or
/// a member crate whose tests include this file).
fn data(name: &str) -> Result<std::path::PathBuf, String> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("examples/data/titanic").join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("examples/data/titanic/{name} not found above {}", env!("CARGO_MANIFEST_DIR")))
}

fn never() -> Result<Retrained, String> {
    Err("the first tick only starts the clock".into())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The header and the data lines of a CSV file (no quoted newlines in the Titanic files).
fn split_csv(text: &str) -> (&str, Vec<&str>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    (header, lines.filter(|l| !l.trim().is_empty()).collect())
}

fn lines(header: &str, rows: &[&str]) -> String {
    let mut text = String::from(header);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

fn column(header: &str, name: &str) -> usize {
    header.split(',').position(|c| c == name).unwrap_or(0)
}

/// Field `index` of a CSV line, honouring quotes (names hold commas).
fn field(line: &str, index: usize) -> String {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields.get(index).cloned().unwrap_or_default()
}

/// The later passengers, drawn mostly from older men in third class: each such passenger three
/// times, every fourth of the others once.
fn drifted_stream<'a>(header: &str, later: &[&'a str]) -> Vec<&'a str> {
    let (class, sex, age) = (column(header, "Pclass"), column(header, "Sex"), column(header, "Age"));
    let mut stream = Vec::new();
    for (i, line) in later.iter().enumerate() {
        let older = field(line, age).parse::<f64>().is_ok_and(|a| a >= 30.0);
        if field(line, class) == "3" && field(line, sex) == "male" && older {
            stream.extend([*line; 3]);
        } else if i % 4 == 0 {
            stream.push(*line);
        }
    }
    stream
}

/// The model's features of raw CSV lines, as the package's transformers compute them.
fn features(
    package: &ModelPackage,
    header: &str,
    rows: &[&str],
) -> Result<Vec<Vec<f64>>, Box<dyn std::error::Error>> {
    let csv = lines(header, rows);
    let table = mlflow::data::parse_csv(csv.as_bytes(), "stream", &CsvOptions::default())?;
    let transformers = package.features().ok_or("the package has no feature transformers")?;
    let matrix = transformers.transform(&table)?;
    Ok(matrix.x.rows().into_iter().map(|r| r.to_vec()).collect())
}

/// Each row of `table` as a JSON object of its raw values (`null` where missing).
fn raw_objects(table: &mlflow::data::Table) -> Vec<serde_json::Value> {
    (0..table.rows())
        .map(|row| {
            let fields = table.iter().map(|(name, column)| {
                let value = match column.str_at(row) {
                    Some(text) => json!(text),
                    None => column.f64_at(row).map_or(serde_json::Value::Null, |v| json!(v)),
                };
                (name.to_owned(), value)
            });
            serde_json::Value::Object(fields.collect())
        })
        .collect()
}

/// Sends `rows` (raw-row objects, or feature lists with `raw_beside`: the raw rows they were
/// computed from) in requests of 25, with request ids `{prefix}-{n}`; returns each row's
/// (request id, row).
fn send(
    client: &mut http::Client,
    rows: &[serde_json::Value],
    raw_beside: Option<&[serde_json::Value]>,
    prefix: &str,
) -> Result<Vec<(String, usize)>, Box<dyn std::error::Error>> {
    let mut ids = Vec::new();
    for (n, chunk) in rows.chunks(25).enumerate() {
        let request_id = format!("{prefix}-{n}");
        let body = match raw_beside {
            None => json!({ "raw": true, "instances": chunk }),
            Some(raw) => json!({ "instances": chunk, "raw_instances": &raw[n * 25..n * 25 + chunk.len()] }),
        }
        .to_string();
        let headers = [("x-request-id", request_id.as_str()), ("content-type", "application/json")];
        let answer = client.send("POST", "/v1/models/titanic:predict", &headers, body.as_bytes())?;
        if answer.status != 200 {
            return Err(format!("{request_id}: {} {}", answer.status, answer.body).into());
        }
        ids.extend((0..chunk.len()).map(|row| (request_id.clone(), row)));
    }
    Ok(ids)
}
