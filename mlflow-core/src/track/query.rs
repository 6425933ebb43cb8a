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
    /// Skip this many runs first (after sorting): with `limit`, one page of a listing.
    #[serde(default)]
    pub offset: usize,
    /// Sort by a column of the run rather than a metric (`true`: descending); when set, it is
    /// used instead of `sort`. Runs without the value (an unfinished run's duration, a param the
    /// run does not have) come last.
    #[serde(default)]
    pub order: Option<(RunColumn, bool)>,
}

/// A column of the run listing to sort by (see [`RunFilter::order_by`]).
///
/// ```
/// use mlflow_core::track::query::RunColumn;
/// assert_eq!(RunColumn::parse("started"), Some(RunColumn::Started));
/// assert_eq!(RunColumn::parse("param.seed"), Some(RunColumn::Param("seed".into())));
/// assert_eq!(RunColumn::parse("metric.auc"), None); // metrics sort with `RunFilter::sort_by`
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunColumn {
    /// The run id.
    Id,
    /// The pipeline's name.
    Pipeline,
    /// The status.
    Status,
    /// The start time.
    Started,
    /// The wall-clock duration (unfinished runs last).
    Duration,
    /// A param's value, as recorded (JSON text, compared as text).
    Param(String),
}

impl RunColumn {
    /// `id`, `pipeline`, `status`, `started`, `duration` or `param.NAME`; `None` for anything
    /// else.
    pub fn parse(name: &str) -> Option<RunColumn> {
        Some(match name {
            "id" => RunColumn::Id,
            "pipeline" => RunColumn::Pipeline,
            "status" => RunColumn::Status,
            "started" => RunColumn::Started,
            "duration" => RunColumn::Duration,
            _ => RunColumn::Param(name.strip_prefix("param.").filter(|p| !p.is_empty())?.to_owned()),
        })
    }
}

/// A `--where` expression that does not parse: the message names it and says what is accepted.
///
/// ```
/// use mlflow_core::track::query::RunFilter;
/// let err = RunFilter::new().parse_where("auc>=high").unwrap_err();
/// assert_eq!(err.to_string(), "malformed filter `auc>=high`: `high` is not a number");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    /// What is wrong, naming the expression.
    pub message: String,
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
    /// Skip the first `n` runs (after sorting).
    pub fn offset(mut self, n: usize) -> Self {
        self.offset = n;
        self
    }
    /// Sort by a column of the run, highest (or latest, or last in text order) first when
    /// `descending`; replaces any metric sort.
    pub fn order_by(mut self, column: RunColumn, descending: bool) -> Self {
        self.order = Some((column, descending));
        self.sort = None;
        self
    }

    /// Adds one filter in the language of `mlflow-pipelines runs --where`: `param.NAME=VALUE`,
    /// or a metric `[metric.][NODE.]KEY OP NUMBER` with OP one of `>=`, `<=`, `>`, `<`, `=`.
    ///
    /// ```
    /// use mlflow_core::track::query::{Compare, RunFilter};
    /// let f = RunFilter::new().parse_where("evaluate_svm.roc_auc>=0.8")?.parse_where("param.seed=42")?;
    /// assert_eq!(f.metrics, [("evaluate_svm.roc_auc".to_string(), Compare::Ge, 0.8)]);
    /// assert_eq!(f.params, [("seed".to_string(), "42".to_string())]);
    /// assert!(RunFilter::new().parse_where("param.seed>3").is_err());
    /// # Ok::<(), mlflow_core::track::query::FilterError>(())
    /// ```
    pub fn parse_where(self, expr: &str) -> std::result::Result<RunFilter, FilterError> {
        let fail = |message: String| FilterError { message };
        let bad = || {
            fail(format!(
                "malformed filter `{expr}`: use `param.NAME=VALUE` or `[NODE.]METRIC OP NUMBER` with OP one of >= <= > < ="
            ))
        };
        let ops = [
            (">=", Compare::Ge),
            ("<=", Compare::Le),
            (">", Compare::Gt),
            ("<", Compare::Lt),
            ("=", Compare::Eq),
        ];
        let (at, op, cmp) = ops
            .iter()
            .filter_map(|(op, cmp)| expr.find(op).map(|at| (at, *op, *cmp)))
            .min_by_key(|(at, op, _)| (*at, std::cmp::Reverse(op.len())))
            .ok_or_else(bad)?;
        let (name, value) = (expr[..at].trim(), expr[at + op.len()..].trim());
        if name.is_empty() || value.is_empty() {
            return Err(bad());
        }
        if let Some(param) = name.strip_prefix("param.") {
            if cmp != Compare::Eq || param.is_empty() {
                return Err(fail(format!("malformed filter `{expr}`: params can only be compared with `=`")));
            }
            return Ok(self.param(param, value));
        }
        let value: f64 = value
            .parse()
            .map_err(|_| fail(format!("malformed filter `{expr}`: `{value}` is not a number")))?;
        Ok(self.metric(name.strip_prefix("metric.").unwrap_or(name), cmp, value))
    }

    /// Adds every filter of `text`: expressions of [`RunFilter::parse_where`] joined by ` and `
    /// (an empty text adds none).
    ///
    /// ```
    /// use mlflow_core::track::query::RunFilter;
    /// let f = RunFilter::new().parse_where_all("param.seed=1 and auc > 0.5")?;
    /// assert_eq!((f.params.len(), f.metrics.len()), (1, 1));
    /// # Ok::<(), mlflow_core::track::query::FilterError>(())
    /// ```
    pub fn parse_where_all(self, text: &str) -> std::result::Result<RunFilter, FilterError> {
        let mut filter = self;
        for expr in text.split(" and ").map(str::trim).filter(|e| !e.is_empty()) {
            filter = filter.parse_where(expr)?;
        }
        Ok(filter)
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
        let mut args: Vec<Value> = Vec::new();
        let (join, order) = order_sql(filter, &mut args);
        let mut sql =
            format!("SELECT r.id, r.pipeline, r.status, r.started_ms, r.ended_ms FROM runs r{join}");
        sql.push_str(&where_sql(filter, &mut args));
        sql.push_str(&order);
        match (filter.limit, filter.offset) {
            (Some(limit), 0) => sql.push_str(&format!(" LIMIT {limit}")),
            (limit, offset) if offset > 0 => {
                sql.push_str(&format!(" LIMIT {} OFFSET {offset}", limit.unwrap_or(i64::MAX as usize)))
            }
            _ => {}
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

    /// How many runs match `filter`, ignoring its `limit`, `offset` and sorting: the size of a
    /// paged listing.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// use mlflow_core::track::query::RunFilter;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// assert_eq!(store.count_runs(&RunFilter::new().pipeline("none yet"))?, 0);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn count_runs(&self, filter: &RunFilter) -> Result<usize> {
        let mut args: Vec<Value> = Vec::new();
        let sql = format!("SELECT COUNT(*) FROM runs r{}", where_sql(filter, &mut args));
        self.runs_ready()?;
        let n = self.with_meta(&RUNS, Mode::Read, |tx| {
            let row = tx.query_opt(&sql, &args)?;
            row.map(|r| r.get::<i64>(0)).transpose()
        })?;
        Ok(n.unwrap_or(0).max(0) as usize)
    }

    /// The params of each of `run_ids` (name and value as JSON text, by name), in one read: the
    /// param columns of a page of a listing. Unknown ids are left out.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// assert!(store.run_params(&["no-such-run"])?.is_empty());
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn run_params(&self, run_ids: &[&str]) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        self.runs_ready()?;
        Ok(self.with_meta(&RUNS, Mode::Read, |tx| {
            let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            for id in run_ids {
                for row in tx.query("SELECT name, value FROM run_params WHERE run_id = ?1", params![*id])? {
                    out.entry((*id).to_owned()).or_default().insert(row.get(0)?, row.get(1)?);
                }
            }
            Ok::<_, crate::store::StoreError>(out)
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

/// `?N` for the next argument.
fn arg(args: &mut Vec<Value>, value: Value) -> String {
    args.push(value);
    format!("?{}", args.len())
}

/// The join that computes the sort key, if any, and the `ORDER BY` clause.
fn order_sql(filter: &RunFilter, args: &mut Vec<Value>) -> (String, String) {
    let direction = |descending: bool| if descending { "DESC" } else { "ASC" };
    if let Some((column, descending)) = &filter.order {
        let dir = direction(*descending);
        let (join, key) = match column {
            RunColumn::Id => (String::new(), "r.id"),
            RunColumn::Pipeline => (String::new(), "r.pipeline"),
            RunColumn::Status => (String::new(), "r.status"),
            RunColumn::Started => (String::new(), "r.started_ms"),
            RunColumn::Duration => (String::new(), "(r.ended_ms - r.started_ms)"),
            RunColumn::Param(name) => (
                format!(
                    " LEFT JOIN run_params sp ON sp.run_id = r.id AND sp.name = {}",
                    arg(args, name.into())
                ),
                "sp.value",
            ),
        };
        // Ties in the start time fall back on the order of insertion, the same way round.
        let ties = if *column == RunColumn::Started {
            format!("r.rowid {dir}")
        } else {
            "r.started_ms DESC, r.rowid DESC".to_owned()
        };
        return (join, format!(" ORDER BY {key} {dir} NULLS LAST, {ties}"));
    }
    // Metric filters and the sort key are uncorrelated subqueries, which SQLite evaluates once
    // through the `(key, value)` index. Correlated with `r.id`, the planner picked that same
    // index for every run and read all runs' values of the key each time: quadratic, seconds
    // at 10,000 runs.
    match &filter.sort {
        Some((metric, descending)) => {
            // Each run's sort key, computed in one pass and joined: the highest value of the
            // metric over the run's steps when descending, the lowest when ascending.
            let (node, key) = split_metric(metric);
            let aggregate = if *descending { "MAX" } else { "MIN" };
            let key = arg(args, key.into());
            let mut join = format!(
                " LEFT JOIN (SELECT m.run_id AS run_id, {aggregate}(m.value) AS value FROM run_metrics m \
                 WHERE m.key = {key} AND m.idx = -1"
            );
            if let Some(node) = node {
                join.push_str(&format!(" AND m.node = {}", arg(args, node.into())));
            }
            join.push_str(" GROUP BY m.run_id) s ON s.run_id = r.id");
            (join, format!(" ORDER BY s.value {} NULLS LAST, r.started_ms DESC", direction(*descending)))
        }
        None => (String::new(), " ORDER BY r.started_ms DESC, r.rowid DESC".to_owned()),
    }
}

/// The `WHERE` clause of `filter`.
fn where_sql(filter: &RunFilter, args: &mut Vec<Value>) -> String {
    let mut sql = String::from(" WHERE 1=1");
    if let Some(p) = &filter.pipeline {
        sql.push_str(&format!(" AND r.pipeline = {}", arg(args, p.into())));
    }
    if let Some(s) = &filter.status {
        sql.push_str(&format!(" AND r.status = {}", arg(args, s.into())));
    }
    for (name, value) in &filter.params {
        let name = arg(args, name.into());
        let text = arg(args, value.into());
        let json = arg(args, serde_json::to_string(value).unwrap_or_default().into());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.name = {name} AND p.value IN ({text}, {json}))"
        ));
    }
    for (metric, cmp, value) in &filter.metrics {
        let (node, key) = split_metric(metric);
        let key = arg(args, key.into());
        sql.push_str(&format!(
            " AND r.id IN (SELECT m.run_id FROM run_metrics m WHERE m.key = {key} AND m.idx = -1"
        ));
        if let Some(node) = node {
            sql.push_str(&format!(" AND m.node = {}", arg(args, node.into())));
        }
        sql.push_str(&format!(" AND m.value {} {})", cmp.sql(), arg(args, (*value).into())));
    }
    sql
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_expressions_parse_or_explain() {
        let f = RunFilter::new().parse_where("evaluate_svm.roc_auc>=0.8").unwrap();
        assert_eq!(f.metrics, [("evaluate_svm.roc_auc".to_string(), Compare::Ge, 0.8)]);
        let f = RunFilter::new().parse_where("param.seed=42").unwrap();
        assert_eq!(f.params, [("seed".to_string(), "42".to_string())]);
        let f = RunFilter::new().parse_where("metric.auc < 0.5").unwrap();
        assert_eq!(f.metrics, [("auc".to_string(), Compare::Lt, 0.5)]);
        for bad in ["auc", "auc>=", ">=1", "auc>=x", "param.seed>3"] {
            let err = RunFilter::new().parse_where(bad).unwrap_err();
            assert!(err.to_string().contains("malformed filter"), "{bad}");
        }
        let f = RunFilter::new().parse_where_all(" param.seed=1 and  auc>0.5 ").unwrap();
        assert_eq!((f.params.len(), f.metrics.len()), (1, 1));
        assert!(RunFilter::new().parse_where_all("").unwrap() == RunFilter::new());
    }
}
