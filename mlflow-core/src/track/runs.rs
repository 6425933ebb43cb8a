//! The runs room: every run with its params, steps, metrics, tags, data versions and
//! environment; and the lease that tells a live run from one whose process died.
//!
//! A running run names the lease of the store handle running it (see `crate::store`): an
//! exclusive lock the kernel releases when the process ends, however it ends. The first use of
//! the runs of a store by a new handle marks every `running` run whose lease is free as
//! `abandoned`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::time::Duration;

use crate::codec::{self, ContentHash};
use crate::store::meta::{Migration, Room, Tx, Value, params};
use crate::store::{Dialect, Mode, Store, StoreError, lease_held, lease_known, now_ms, remove_dead_leases};
use crate::track::{DataInput, Environment, MetricPoint, StepLog};

/// The runs' tables.
pub const RUNS: Room = Room {
    name: "runs",
    migrations: &[
        Migration {
            version: 1,
            sqlite: "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    steps BLOB,
    env BLOB
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, started_ms);
CREATE TABLE IF NOT EXISTS run_params (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash BLOB NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_params_by_value ON run_params (name, value);
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, node, key, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_metrics_by_key ON run_metrics (key, value);
CREATE TABLE IF NOT EXISTS run_tags (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, node, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_data (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    version BLOB NOT NULL,
    PRIMARY KEY (run_id, node, name, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_data_by_version ON run_data (version);
",
            // `rowid` is explicit here: SQLite's implicit one orders runs started in the same
            // millisecond by insertion, and the queries name it.
            postgres: "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT,
    steps BYTEA,
    env BYTEA,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, started_ms);
CREATE TABLE IF NOT EXISTS run_params (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash BYTEA NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS run_params_by_value ON run_params (name, value);
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    idx BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, node, key, idx)
);
CREATE INDEX IF NOT EXISTS run_metrics_by_key ON run_metrics (key, value);
CREATE TABLE IF NOT EXISTS run_tags (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, node, key)
);
CREATE TABLE IF NOT EXISTS run_data (
    run_id TEXT NOT NULL,
    node TEXT NOT NULL,
    name TEXT NOT NULL,
    version BYTEA NOT NULL,
    PRIMARY KEY (run_id, node, name, version)
);
CREATE INDEX IF NOT EXISTS run_data_by_version ON run_data (version);
",
        },
        // The lease of the store handle running a run, to tell a live run from an abandoned one.
        Migration::portable(2, "ALTER TABLE runs ADD COLUMN owner TEXT;"),
        // The task counts of mapped steps, beside the steps blob (whose layout stays as it was).
        Migration {
            version: 3,
            sqlite: "ALTER TABLE runs ADD COLUMN step_tasks BLOB;",
            postgres: "ALTER TABLE runs ADD COLUMN step_tasks BYTEA;",
        },
    ],
    roots: run_roots,
};

/// Step outputs recorded by runs stay, so that `Store::artifact` can load them.
fn run_roots(tx: &mut dyn Tx) -> Result<Vec<ContentHash>, StoreError> {
    let mut roots = Vec::new();
    for row in tx.query("SELECT steps FROM runs WHERE steps IS NOT NULL", &[])? {
        let blob: Vec<u8> = row.get(0)?;
        roots.extend(decode_steps(&blob)?.into_iter().filter_map(|s| s.output));
    }
    Ok(roots)
}

/// One step of a run as recorded in the store (see [`RunRecord`] for an example).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// Node name.
    pub node: String,
    /// Step name.
    pub step: String,
    /// `ran`, `cached`, `failed` or `skipped`.
    pub status: String,
    /// Wall time spent (attempts and waits included).
    pub duration: Duration,
    /// Attempts made.
    pub attempts: u32,
    /// The cache key, when all inputs existed.
    pub cache_key: Option<ContentHash>,
    /// Content hash of the output, when there is one.
    pub output: Option<ContentHash>,
    /// Why the cache missed.
    pub miss_reason: Option<String>,
    /// The error, for a failed or skipped step.
    pub error: Option<String>,
    /// When the step started, from the start of the run.
    pub started: Duration,
    /// For a cached step, the run that computed the output.
    pub source_run: Option<String>,
    /// For a mapped step, what happened to its tasks (recorded apart from the rest).
    #[serde(skip)]
    pub tasks: Option<TaskCounts>,
}

/// The tasks of a mapped step: how many there were and what happened to them.
///
/// A mapped step served from the cache as a whole counts every task as cached.
///
/// ```
/// use mlflow_core::exec::{TaskCounts, TaskFailure};
/// let counts = TaskCounts {
///     total: 10,
///     ran: 3,
///     cached: 6,
///     failed: vec![TaskFailure { index: 4, error: "diverged".into() }],
/// };
/// assert_eq!(counts.to_string(), "10 tasks: 3 ran, 6 cached, 1 failed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TaskCounts {
    /// Tasks in all (the elements, or their combinations).
    pub total: usize,
    /// Tasks that ran.
    pub ran: usize,
    /// Tasks served from the cache.
    pub cached: usize,
    /// Tasks that failed, in task order, with their errors.
    pub failed: Vec<TaskFailure>,
}

impl fmt::Display for TaskCounts {
    /// `10 tasks: 3 ran, 6 cached, 1 failed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} task{}: {} ran, {} cached",
            self.total,
            if self.total == 1 { "" } else { "s" },
            self.ran,
            self.cached
        )?;
        if !self.failed.is_empty() {
            write!(f, ", {} failed", self.failed.len())?;
        }
        Ok(())
    }
}

/// A task of a mapped step that failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TaskFailure {
    /// Its position in the step's output (its element, or combination of elements).
    pub index: usize,
    /// Its error, with its causes.
    pub error: String,
}

/// A run as recorded in the store.
///
/// ```
/// # use mlflow_core::prelude::*;
/// # #[mlflow_macros::step(crate = mlflow_core)]
/// # fn double(x: &u64) -> u64 {
/// #     x * 2
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// let mut p = Pipeline::new("recorded");
/// let x = p.param("x", 1u64);
/// p.step(DoubleStep, x);
/// let report = p.run(&store)?;
/// let run = store.run(report.run_id())?.expect("every run is recorded");
/// assert_eq!((run.pipeline.as_str(), run.status.as_str()), ("recorded", "succeeded"));
/// assert_eq!(run.steps[0].output, report.steps()[0].output_hash);
/// let keys = store.last_keys("recorded")?;
/// let (key, parts) = &keys["double"];
/// assert_eq!(Some(*key), run.steps[0].cache_key);
/// assert!(parts.inputs[0].is_param && parts.inputs[0].node == "x");
/// # Ok::<(), mlflow_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// `running`, `succeeded`, `failed`, or `abandoned` (its process ended without finishing
    /// it).
    pub status: String,
    /// Start, in milliseconds since the Unix epoch.
    pub started_ms: i64,
    /// End, when finished (for an abandoned run: when that was noticed).
    pub ended_ms: Option<i64>,
    /// Params by name with their content hash.
    pub params: Vec<(String, ContentHash)>,
    /// Params by name, rendered as JSON (long values are cut with `…`).
    pub param_values: Vec<(String, String)>,
    /// Steps in pipeline order.
    pub steps: Vec<StepRecord>,
    /// Metrics logged by the steps, by node.
    pub metrics: Vec<(String, MetricPoint)>,
    /// Tags set by the steps, by node.
    pub tags: Vec<(String, String, String)>,
    /// Data versions that entered the run, by node.
    pub data: Vec<(String, DataInput)>,
    /// Where and with what the run happened (absent while it is running).
    pub environment: Option<Environment>,
}

/// Everything recorded at the end of a run.
pub(crate) struct FinishedRun<'a> {
    pub id: &'a str,
    pub status: &'a str,
    /// Params: name, content hash, value rendered as JSON.
    pub params: &'a [(String, ContentHash, String)],
    pub steps: &'a [StepRecord],
    /// What each step logged (or, for a cached step, what it logged when it was computed).
    pub logs: &'a [(&'a str, &'a StepLog)],
    pub environment: &'a Environment,
}

impl Store {
    /// Brings the runs' tables up to date and, the first time this handle uses them, marks
    /// every `running` run whose process is gone as `abandoned`.
    fn runs_room(&self) -> Result<(), StoreError> {
        if self.ensure_room(&RUNS)? {
            self.sweep_abandoned_runs()?;
        }
        Ok(())
    }

    fn sweep_abandoned_runs(&self) -> Result<(), StoreError> {
        let running = self.with_meta(&RUNS, Mode::Autocommit, |tx| {
            tx.query("SELECT id, owner FROM runs WHERE status = 'running'", &[])
        })?;
        for row in running {
            let (Some(id), owner) = (row.try_get::<String>(0), row.try_get::<String>(1)) else { continue };
            // No owner: a run recorded by an mlflow without leases.
            let Some(owner) = owner else {
                self.mark_abandoned(&id)?;
                continue;
            };
            let alive = match self.meta().machine_locks() {
                // A database shared by machines that says who holds which lease.
                Some(machines) => machines.lease_held(&owner)?,
                None if lease_held(self.root(), &owner) => true,
                // On a database shared by machines without machine locks, a lease without a file
                // here is a handle's with another store folder: another machine's, whose liveness
                // cannot be checked from here. Its run is left alone rather than marked
                // abandoned while it may be running.
                None => self.meta().dialect() != Dialect::Sqlite && !lease_known(self.root(), &owner),
            };
            if !alive {
                self.mark_abandoned(&id)?;
            }
        }
        remove_dead_leases(self.root());
        Ok(())
    }

    /// Marks run `id` abandoned, unless it finished meanwhile.
    fn mark_abandoned(&self, id: &str) -> Result<(), StoreError> {
        // A run that finished meanwhile is no longer `running`: the update leaves it alone.
        self.with_meta(&RUNS, Mode::Autocommit, |tx| {
            tx.execute(
                "UPDATE runs SET status = 'abandoned', ended_ms = ?2 WHERE id = ?1 AND status = 'running'",
                params![id, now_ms()],
            )
        })?;
        Ok(())
    }

    /// Records the start of a run, owned by this handle's lease.
    pub(crate) fn begin_run(&self, id: &str, pipeline: &str, started_ms: i64) -> Result<(), StoreError> {
        self.runs_room()?;
        let owner = self.lease_name()?;
        self.with_meta(&RUNS, Mode::Autocommit, |tx| {
            tx.execute(
                "INSERT INTO runs (id, pipeline, status, started_ms, owner) VALUES (?1, ?2, 'running', ?3, ?4)",
                params![id, pipeline, started_ms, owner],
            )
        })?;
        Ok(())
    }

    /// One run with its params and steps.
    pub fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.runs_room()?;
        self.with_meta(&RUNS, Mode::Read, |tx| read_run(tx, id))
    }

    /// Ids of the runs of a pipeline, newest first.
    pub fn run_ids(&self, pipeline: &str) -> Result<Vec<String>, StoreError> {
        self.runs_room()?;
        let rows = self.with_meta(&RUNS, Mode::Autocommit, |tx| {
            tx.query(
                "SELECT id FROM runs WHERE pipeline = ?1 ORDER BY started_ms DESC, rowid DESC",
                params![pipeline],
            )
        })?;
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Brings the runs' tables up to date (and sweeps abandoned runs) before a query of
    /// another module reads them.
    pub(crate) fn runs_ready(&self) -> Result<(), StoreError> {
        self.runs_room()
    }
}

/// Metric rows per `INSERT`: one statement (one round trip on a networked database) per chunk
/// instead of per point.
const METRIC_ROWS_PER_INSERT: usize = 100;

/// Records a step's metric points, the last value of a point logged twice winning (one
/// statement may not set a row twice).
fn insert_metrics(
    tx: &mut dyn Tx,
    run_id: &str,
    node: &str,
    metrics: &[MetricPoint],
) -> Result<(), StoreError> {
    let mut points: Vec<(&str, i64, f64)> = Vec::with_capacity(metrics.len());
    let mut position: HashMap<(&str, i64), usize> = HashMap::with_capacity(metrics.len());
    for m in metrics {
        let idx = m.step.map(|s| s.min(i64::MAX as u64) as i64).unwrap_or(-1);
        match position.entry((m.key.as_str(), idx)) {
            Entry::Occupied(at) => points[*at.get()].2 = m.value,
            Entry::Vacant(at) => {
                at.insert(points.len());
                points.push((m.key.as_str(), idx, m.value));
            }
        }
    }
    for chunk in points.chunks(METRIC_ROWS_PER_INSERT) {
        let mut sql = String::from("INSERT INTO run_metrics (run_id, node, key, idx, value) VALUES ");
        let mut args: Vec<Value> = Vec::with_capacity(2 + 3 * chunk.len());
        args.extend([Value::from(run_id), Value::from(node)]);
        for (i, (key, idx, value)) in chunk.iter().enumerate() {
            let n = args.len();
            sql.push_str(&format!(
                "{}(?1, ?2, ?{}, ?{}, ?{})",
                if i == 0 { "" } else { ", " },
                n + 1,
                n + 2,
                n + 3
            ));
            args.extend([Value::from(*key), Value::from(*idx), Value::from(*value)]);
        }
        sql.push_str(" ON CONFLICT (run_id, node, key, idx) DO UPDATE SET value = excluded.value");
        tx.execute(&sql, &args)?;
    }
    Ok(())
}

/// Records the end of a run with its params, steps and what they logged.
pub(crate) fn record_finished_run(tx: &mut dyn Tx, run: FinishedRun<'_>) -> Result<(), StoreError> {
    let FinishedRun { id, status, params, steps, logs, environment } = run;
    // One compact blob per run: recording a run costs one row, not one per step.
    let encoding =
        |e: codec::CodecError| StoreError::Schema { detail: format!("cannot encode the run record: {e}") };
    let steps_blob = codec::encode(&steps).map_err(encoding)?;
    let env_blob = codec::encode(environment).map_err(encoding)?;
    let tasks: Vec<(usize, &TaskCounts)> =
        steps.iter().enumerate().filter_map(|(i, s)| s.tasks.as_ref().map(|t| (i, t))).collect();
    let tasks_blob = if tasks.is_empty() { None } else { Some(codec::encode(&tasks).map_err(encoding)?) };
    tx.execute(
        "UPDATE runs SET status = ?2, ended_ms = ?3, steps = ?4, env = ?5, step_tasks = ?6 WHERE id = ?1",
        params![id, status, now_ms(), steps_blob, env_blob, tasks_blob],
    )?;
    for (name, hash, value) in params {
        tx.execute(
            "INSERT INTO run_params (run_id, name, hash, value) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, *hash, value],
        )?;
    }
    for (node, log) in logs {
        insert_metrics(tx, id, node, &log.metrics)?;
        for (key, value) in &log.tags {
            tx.execute(
                "INSERT INTO run_tags (run_id, node, key, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run_id, node, key) DO UPDATE SET value = excluded.value",
                params![id, *node, key, value],
            )?;
        }
        for d in &log.data {
            tx.execute(
                "INSERT INTO run_data (run_id, node, name, version) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![id, *node, d.name.as_str(), d.version],
            )?;
        }
    }
    Ok(())
}

fn read_run(tx: &mut dyn Tx, id: &str) -> Result<Option<RunRecord>, StoreError> {
    let Some(head) = tx.query_opt(
        "SELECT id, pipeline, status, started_ms, ended_ms, env, steps, step_tasks FROM runs WHERE id = ?1",
        params![id],
    )?
    else {
        return Ok(None);
    };
    let mut run = RunRecord {
        id: head.get(0)?,
        pipeline: head.get(1)?,
        status: head.get(2)?,
        started_ms: head.get(3)?,
        ended_ms: head.get(4)?,
        params: Vec::new(),
        param_values: Vec::new(),
        steps: Vec::new(),
        metrics: Vec::new(),
        tags: Vec::new(),
        data: Vec::new(),
        // An environment this build cannot read is left out rather than failing the run.
        environment: head.get::<Option<Vec<u8>>>(5)?.and_then(|bytes| codec::decode(&bytes, u64::MAX).ok()),
    };
    if let Some(steps) = head.get::<Option<Vec<u8>>>(6)? {
        run.steps = decode_steps(&steps)?;
    }
    // Task counts this build cannot read are left out rather than failing the run.
    let tasks: Vec<(usize, TaskCounts)> = head
        .get::<Option<Vec<u8>>>(7)?
        .and_then(|bytes| codec::decode(&bytes, u64::MAX).ok())
        .unwrap_or_default();
    for (i, counts) in tasks {
        if let Some(step) = run.steps.get_mut(i) {
            step.tasks = Some(counts);
        }
    }
    for row in
        tx.query("SELECT name, hash, value FROM run_params WHERE run_id = ?1 ORDER BY name", params![id])?
    {
        let name: String = row.get(0)?;
        if let Some(hash) = row.try_get(1) {
            run.params.push((name.clone(), hash));
        }
        run.param_values.push((name, row.get(2)?));
    }
    for row in tx.query(
        "SELECT node, key, idx, value FROM run_metrics WHERE run_id = ?1 ORDER BY node, key, idx",
        params![id],
    )? {
        let idx: i64 = row.get(2)?;
        run.metrics.push((
            row.get(0)?,
            MetricPoint { key: row.get(1)?, step: u64::try_from(idx).ok(), value: row.get(3)? },
        ));
    }
    for row in
        tx.query("SELECT node, key, value FROM run_tags WHERE run_id = ?1 ORDER BY node, key", params![id])?
    {
        run.tags.push((row.get(0)?, row.get(1)?, row.get(2)?));
    }
    for row in tx.query(
        "SELECT node, name, version FROM run_data WHERE run_id = ?1 ORDER BY node, name",
        params![id],
    )? {
        if let Some(version) = row.try_get(2) {
            run.data.push((row.get(0)?, DataInput { name: row.get(1)?, version }));
        }
    }
    Ok(Some(run))
}

fn decode_steps(bytes: &[u8]) -> Result<Vec<StepRecord>, StoreError> {
    codec::decode(bytes, u64::MAX)
        .map_err(|e| StoreError::Schema { detail: format!("the steps of a run cannot be decoded: {e}") })
}
