//! Metric series across runs: which steps of which runs logged a series (points at steps 0, 1,
//! ...) whose key starts with a prefix, newest run first and paged by run in the database. A
//! hyperparameter study logs each trial's score as one such series, so this lists every study in
//! a store without reading any run's steps or outputs.
//!
//! Pages are of runs, not of series: a run is found by one probe of its own metrics (the primary
//! key starts with the run), so a page costs a pass over the runs and a read of its own runs'
//! series, never a grouping of every point of every run.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::meta::Value;
use crate::store::{Mode, Store};
use crate::track::runs::RUNS;

/// One series a step logged in a run, summarized (see [`Store::series`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// The run.
    pub run_id: String,
    /// Its pipeline.
    pub pipeline: String,
    /// Its start (ms since the Unix epoch).
    pub started_ms: i64,
    /// The node that logged the series.
    pub node: String,
    /// The series' key.
    pub key: String,
    /// How many points it has.
    pub points: usize,
    /// Its lowest value.
    pub min: f64,
    /// Its highest value.
    pub max: f64,
}

/// The condition on a metric row `m` of a series under a prefix: a range (exact under the byte
/// order SQLite and a `C`-collated PostgreSQL compare text in), and the prefix itself checked
/// again for a database with another collation.
const PREFIX_WHERE: &str = "m.key >= ?1 AND m.key < ?2 AND substr(m.key, 1, length(?1)) = ?1 AND m.idx >= 0";

/// The condition on a run `r` that it logged a series under the prefix.
fn has_series() -> String {
    format!("EXISTS (SELECT 1 FROM run_metrics m WHERE m.run_id = r.id AND {PREFIX_WHERE})")
}

fn prefix_args(key_prefix: &str) -> [Value; 2] {
    [Value::from(key_prefix), Value::from(format!("{key_prefix}\u{10FFFF}"))]
}

impl Store {
    /// The series whose key starts with `key_prefix` (`""`: every series) of `limit` runs, from
    /// run `offset` on, among the runs that logged any: one line per run, node and key, the
    /// newest run first (then by node and key).
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// use mlflow_core::track::log_metric_at;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn search(trials: &u64) -> mlflow_core::Result<u64> {
    ///     for t in 0..*trials {
    ///         log_metric_at("cv.accuracy", t, 0.7 + 0.01 * t as f64)?;
    ///         log_metric_at("loss", t, 1.0 / (1 + t) as f64)?;
    ///     }
    ///     Ok(*trials)
    /// }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// let mut p = Pipeline::new("tuning");
    /// let trials = p.param("trials", 5u64);
    /// p.step(SearchStep, trials);
    /// let run = p.run(&store)?;
    ///
    /// let studies = store.series("cv.", 50, 0)?;
    /// assert_eq!(store.count_series_runs("cv.")?, 1);
    /// let study = &studies[0];
    /// assert_eq!((study.run_id.as_str(), study.node.as_str()), (run.run_id(), "search"));
    /// assert_eq!((study.key.as_str(), study.points), ("cv.accuracy", 5));
    /// assert!((study.max - 0.74).abs() < 1e-12 && (study.min - 0.7).abs() < 1e-12);
    /// assert_eq!(store.series("", 50, 0)?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn series(&self, key_prefix: &str, limit: usize, offset: usize) -> Result<Vec<SeriesSummary>> {
        let runs_sql = format!(
            "SELECT r.id, r.pipeline, r.started_ms FROM runs r WHERE {} \
             ORDER BY r.started_ms DESC, r.rowid DESC LIMIT {} OFFSET {offset}",
            has_series(),
            limit.min(i64::MAX as usize)
        );
        self.runs_ready()?;
        let args = prefix_args(key_prefix);
        Ok(self.with_meta(&RUNS, Mode::Read, |tx| {
            let runs: Vec<(String, String, i64)> = tx
                .query(&runs_sql, &args)?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .collect::<std::result::Result<_, crate::store::StoreError>>()?;
            if runs.is_empty() {
                return Ok(Vec::new());
            }
            // The page's runs' series in one read.
            let mut args = args.to_vec();
            let mut ids = Vec::with_capacity(runs.len());
            for (id, _, _) in &runs {
                args.push(Value::from(id.as_str()));
                ids.push(format!("?{}", args.len()));
            }
            let lines_sql = format!(
                "SELECT m.run_id, m.node, m.key, COUNT(*), MIN(m.value), MAX(m.value) FROM run_metrics m \
                 WHERE m.run_id IN ({}) AND {PREFIX_WHERE} GROUP BY m.run_id, m.node, m.key",
                ids.join(", ")
            );
            // Each line under its run's position on the page, then in node and key order.
            let position: HashMap<&str, usize> =
                runs.iter().enumerate().map(|(i, (id, _, _))| (id.as_str(), i)).collect();
            let mut lines = Vec::new();
            for r in tx.query(&lines_sql, &args)? {
                let run_id: String = r.get(0)?;
                let Some(&at) = position.get(run_id.as_str()) else { continue };
                let (_, pipeline, started_ms) = &runs[at];
                let line = SeriesSummary {
                    run_id,
                    pipeline: pipeline.clone(),
                    started_ms: *started_ms,
                    node: r.get(1)?,
                    key: r.get(2)?,
                    points: r.get::<i64>(3)?.max(0) as usize,
                    min: r.get(4)?,
                    max: r.get(5)?,
                };
                lines.push((at, line));
            }
            lines.sort_by(|(a, x), (b, y)| (a, &x.node, &x.key).cmp(&(b, &y.node, &y.key)));
            let lines: Vec<SeriesSummary> = lines.into_iter().map(|(_, line)| line).collect();
            Ok::<_, crate::store::StoreError>(lines)
        })?)
    }

    /// How many runs logged a series whose key starts with `key_prefix`: the number of runs
    /// [`Store::series`] pages through.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// assert_eq!(store.count_series_runs("cv.")?, 0);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn count_series_runs(&self, key_prefix: &str) -> Result<usize> {
        let sql = format!("SELECT COUNT(*) FROM runs r WHERE {}", has_series());
        self.runs_ready()?;
        let args = prefix_args(key_prefix);
        let n = self.with_meta(&RUNS, Mode::Read, |tx| {
            tx.query_opt(&sql, &args)?.map(|r| r.get::<i64>(0)).transpose()
        })?;
        Ok(n.unwrap_or(0).max(0) as usize)
    }
}
