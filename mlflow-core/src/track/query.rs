//! Queries over recorded runs: list with filters and sorting, compare two runs, load a past
//! step's output, and lineage (backward from an output, forward from a data version).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;
use crate::codec::{self, ContentHash};
use crate::error::{Error, Result};
use crate::store::meta::{Value, params};
use crate::store::{KeyParts, Mode, Store};
use crate::track::DataInput;
use crate::track::runs::{RUNS, RunRecord};

/// A comparison in a metric filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compare {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=`
    Eq,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Compare {
    fn sql(self) -> &'static str {
        match self {
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Eq => "=",
            Compare::Ge => ">=",
            Compare::Gt => ">",
        }
    }
}

/// Which runs to list, in what order. Metric names are `key` (any step that logged it) or
/// `node.key` (one step); filters and sorting use single-value metrics (not series points).
///
/// ```
/// use mlflow_core::track::query::{Compare, RunFilter};
/// let filter = RunFilter::new()
///     .pipeline("titanic")
///     .status("succeeded")
///     .param("split_config", r#"{"test_fraction":0.2,"seed":0}"#)
///     .metric("evaluate_svm.roc_auc", Compare::Ge, 0.8)
///     .sort_by("roc_auc", true)
///     .limit(20);
/// # let _ = filter;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFilter {
    /// Only runs of this pipeline.
    pub pipeline: Option<String>,
    /// Only runs with this status (`running`, `succeeded`, `failed`).
    pub status: Option<String>,
    /// Only runs whose param (by name) has this value: its JSON text, or a bare string.
    pub params: Vec<(String, String)>,
    /// Only runs with a metric satisfying the comparison.
    pub metrics: Vec<(String, Compare, f64)>,
    /// Sort by this metric (`true`: highest first); default newest first.
    pub sort: Option<(String, bool)>,
    /// At most this many runs.
    pub limit: Option<usize>,
}

impl RunFilter {
    /// Every run, newest first.
    pub fn new() -> Self {
        Self::default()
    }
    /// Only runs of `pipeline`.
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Self {
        self.pipeline = Some(pipeline.into());
        self
    }
    /// Only runs with `status`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }
    /// Only runs whose param `name` has `value` (JSON text such as `42` or `{"a":1}`, or a bare
    /// string that matches the JSON string).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
    /// Only runs whose `metric` compares to `value` as `cmp` says.
    pub fn metric(mut self, metric: impl Into<String>, cmp: Compare, value: f64) -> Self {
        self.metrics.push((metric.into(), cmp, value));
        self
    }
    /// Sort by `metric`, highest first when `descending`; runs without it come last.
    pub fn sort_by(mut self, metric: impl Into<String>, descending: bool) -> Self {
        self.sort = Some((metric.into(), descending));
        self
    }
    /// At most `n` runs.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
}

/// One line of a run listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Start (ms since the Unix epoch).
    pub started_ms: i64,
    /// End, when finished.
    pub ended_ms: Option<i64>,
    /// Single-value metrics as `node.key` → value.
    pub metrics: BTreeMap<String, f64>,
}

/// A value that differs between two runs (`None`: absent in that run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference<T> {
    /// Param name or `node.key` metric name.
    pub name: String,
    /// In the first run.
    pub left: Option<T>,
    /// In the second run.
    pub right: Option<T>,
}

/// What differs between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// First run id.
    pub left: String,
    /// Second run id.
    pub right: String,
    /// Params with different values (JSON text).
    pub params: Vec<Difference<String>>,
    /// Single-value metrics with different values.
    pub metrics: Vec<Difference<f64>>,
}

/// Where a step's output came from, back to params and data files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// The run.
    pub run_id: String,
    /// The node.
    pub node: String,
    /// The step name.
    pub step: String,
    /// `ran` or `cached` (then `source_run` computed it).
    pub status: String,
    /// For a cached step, the run that computed the output.
    pub source_run: Option<String>,
    /// The step's cache key.
    pub cache_key: Option<ContentHash>,
    /// Content hash of the output.
    pub output: Option<ContentHash>,
    /// The step's code hash, version and crate, when recorded.
    pub code: Option<KeyParts>,
    /// Data versions the step read.
    pub data: Vec<DataInput>,
    /// Params feeding it: name, content hash, JSON value.
    pub params: Vec<(String, ContentHash, String)>,
    /// Upstream steps, each with its own lineage.
    pub upstream: Vec<Lineage>,
}

/// A use of a data version by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataUse {
    /// The run.
    pub run_id: String,
    /// Its pipeline.
    pub pipeline: String,
    /// The node that read the data.
    pub node: String,
    /// The data's name (path).
    pub name: String,
}

fn split_metric(name: &str) -> (Option<&str>, &str) {
    match name.rsplit_once('.') {
        Some((node, key)) if !node.is_empty() && !key.is_empty() => (Some(node), key),
        _ => (None, name),
    }
}

impl Store {
    /// Lists runs matching `filter`.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>> {
        let mut sql = String::from("SELECT r.id, r.pipeline, r.status, r.started_ms, r.ended_ms FROM runs r");
        let mut args: Vec<Value> = Vec::new();
        // `?N` for the next argument.
        let arg = |args: &mut Vec<Value>, value: Value| {
            args.push(value);
            format!("?{}", args.len())
        };
        // Metric filters and the sort key are uncorrelated subqueries, which SQLite evaluates once
        // through the `(key, value)` index. Correlated with `r.id`, the planner picked that same
        // index for every run and read all runs' values of the key each time: quadratic, seconds
        // at 10,000 runs.
        let order = match &filter.sort {
            Some((metric, descending)) => {
                // Each run's sort key, computed in one pass and joined: the highest value of the
                // metric over the run's steps when descending, the lowest when ascending.
                let (node, key) = split_metric(metric);
                let aggregate = if *descending { "MAX" } else { "MIN" };
                let key = arg(&mut args, key.into());
                sql.push_str(&format!(
                    " LEFT JOIN (SELECT m.run_id AS run_id, {aggregate}(m.value) AS value FROM run_metrics m \
                     WHERE m.key = {key} AND m.idx = -1"
                ));
                if let Some(node) = node {
                    sql.push_str(&format!(" AND m.node = {}", arg(&mut args, node.into())));
                }
                sql.push_str(" GROUP BY m.run_id) s ON s.run_id = r.id");
                let direction = if *descending { "DESC" } else { "ASC" };
                format!(" ORDER BY s.value {direction} NULLS LAST, r.started_ms DESC")
            }
            None => " ORDER BY r.started_ms DESC, r.rowid DESC".to_owned(),
        };
        sql.push_str(" WHERE 1=1");
        if let Some(p) = &filter.pipeline {
            sql.push_str(&format!(" AND r.pipeline = {}", arg(&mut args, p.into())));
        }
        if let Some(s) = &filter.status {
            sql.push_str(&format!(" AND r.status = {}", arg(&mut args, s.into())));
        }
        for (name, value) in &filter.params {
            let name = arg(&mut args, name.into());
            let text = arg(&mut args, value.into());
            let json = arg(&mut args, serde_json::to_string(value).unwrap_or_default().into());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.name = {name} AND p.value IN ({text}, {json}))"
            ));
        }
        for (metric, cmp, value) in &filter.metrics {
            let (node, key) = split_metric(metric);
            let key = arg(&mut args, key.into());
            sql.push_str(&format!(
                " AND r.id IN (SELECT m.run_id FROM run_metrics m WHERE m.key = {key} AND m.idx = -1"
            ));
            if let Some(node) = node {
                sql.push_str(&format!(" AND m.node = {}", arg(&mut args, node.into())));
            }
            sql.push_str(&format!(" AND m.value {} {})", cmp.sql(), arg(&mut args, (*value).into())));
        }
        sql.push_str(&order);
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        self.runs_ready()?;
        // One read transaction: the runs and their metrics come from one snapshot, and the
        // database takes its locks once rather than once per run.
        Ok(self.with_meta(&RUNS, Mode::Read, |tx| {
            let mut runs = Vec::new();
            for r in tx.query(&sql, &args)? {
                runs.push(RunSummary {
                    id: r.get(0)?,
                    pipeline: r.get(1)?,
                    status: r.get(2)?,
                    started_ms: r.get(3)?,
                    ended_ms: r.get(4)?,
                    metrics: BTreeMap::new(),
                });
            }
            for run in &mut runs {
                let rows = tx.query(
                    "SELECT node, key, value FROM run_metrics WHERE run_id = ?1 AND idx = -1",
                    params![run.id.as_str()],
                )?;
                for row in rows {
                    run.metrics
                        .insert(format!("{}.{}", row.get::<String>(0)?, row.get::<String>(1)?), row.get(2)?);
                }
            }
            Ok::<_, crate::store::StoreError>(runs)
        })?)
    }

    fn existing_run(&self, id: &str) -> Result<RunRecord> {
        self.run(id)?.ok_or_else(|| Error::UnknownRun { id: id.to_owned() })
    }

    /// The params and single-value metrics that differ between two runs.
    pub fn compare_runs(&self, left: &str, right: &str) -> Result<Comparison> {
        let (a, b) = (self.existing_run(left)?, self.existing_run(right)?);
        let params = |r: &RunRecord| r.param_values.iter().cloned().collect::<BTreeMap<String, String>>();
        let metrics = |r: &RunRecord| {
            r.metrics
                .iter()
                .filter(|(_, m)| m.step.is_none())
                .map(|(node, m)| (format!("{node}.{}", m.key), m.value))
                .collect::<BTreeMap<String, f64>>()
        };
        Ok(Comparison {
            left: a.id.clone(),
            right: b.id.clone(),
            params: differences(params(&a), params(&b)),
            metrics: differences(metrics(&a), metrics(&b)),
        })
    }

    /// The output of step `node` in run `run_id`, decoded as `T`.
    ///
    /// Fails when the run or node does not exist, when the step has no stored output (it failed,
    /// was skipped, or ran with `cache = false`), or when the bytes are not a `T`.
    pub fn artifact<T: Artifact>(&self, run_id: &str, node: &str) -> Result<T> {
        let run = self.existing_run(run_id)?;
        let step = run
            .steps
            .iter()
            .find(|s| s.node == node)
            .ok_or_else(|| Error::UnknownNode { run: run_id.to_owned(), node: node.to_owned() })?;
        let missing =
            || Error::NoOutput { run: run_id.to_owned(), node: node.to_owned(), status: step.status.clone() };
        let hash = step.output.ok_or_else(missing)?;
        let bytes = self.read_artifact(hash).map_err(|_| missing())?;
        Ok(codec::decode(&bytes, self.decode_limit())?)
    }

    /// Where the output of `node` in run `run_id` came from: the step's code, the data it read,
    /// the params feeding it and, recursively, its upstream steps in the same run.
    pub fn lineage(&self, run_id: &str, node: &str) -> Result<Lineage> {
        let run = self.existing_run(run_id)?;
        self.lineage_in(&run, node, 0)
    }

    fn lineage_in(&self, run: &RunRecord, node: &str, depth: usize) -> Result<Lineage> {
        let step = run
            .steps
            .iter()
            .find(|s| s.node == node)
            .ok_or_else(|| Error::UnknownNode { run: run.id.clone(), node: node.to_owned() })?;
        let code = match step.cache_key {
            Some(key) => self.key_parts(key)?,
            None => None,
        };
        let mut lineage = Lineage {
            run_id: run.id.clone(),
            node: node.to_owned(),
            step: step.step.clone(),
            status: step.status.clone(),
            source_run: step.source_run.clone(),
            cache_key: step.cache_key,
            output: step.output,
            code: code.clone(),
            data: run.data.iter().filter(|(n, _)| n == node).map(|(_, d)| d.clone()).collect(),
            params: Vec::new(),
            upstream: Vec::new(),
        };
        // A pipeline is acyclic and node names are unique; the bound is a guard against a
        // hand-edited store, not a real limit.
        if depth > 10_000 {
            return Ok(lineage);
        }
        for input in code.map(|c| c.inputs).unwrap_or_default() {
            if input.is_param {
                let value = run.param_values.iter().find(|(n, _)| *n == input.node).map(|(_, v)| v.clone());
                lineage.params.push((input.node, input.hash, value.unwrap_or_default()));
            } else {
                lineage.upstream.push(self.lineage_in(run, &input.node, depth + 1)?);
            }
        }
        Ok(lineage)
    }

    /// Every run (and node) that read the data with this content hash, newest first.
    pub fn data_uses(&self, version: ContentHash) -> Result<Vec<DataUse>> {
        self.runs_ready()?;
        let rows = self.with_meta(&RUNS, Mode::Autocommit, |tx| {
            tx.query(
                "SELECT d.run_id, r.pipeline, d.node, d.name FROM run_data d JOIN runs r ON r.id = d.run_id
                 WHERE d.version = ?1 ORDER BY r.started_ms DESC, d.node",
                params![version],
            )
        })?;
        Ok(rows
            .iter()
            .map(|r| Ok(DataUse { run_id: r.get(0)?, pipeline: r.get(1)?, node: r.get(2)?, name: r.get(3)? }))
            .collect::<std::result::Result<_, crate::store::StoreError>>()?)
    }
}

fn differences<T: PartialEq + Clone>(a: BTreeMap<String, T>, b: BTreeMap<String, T>) -> Vec<Difference<T>> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .map(|n| Difference { name: n.clone(), left: a.get(n).cloned(), right: b.get(n).cloned() })
        .collect()
}
