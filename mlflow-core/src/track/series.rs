//! Metric series across runs: which steps of which runs logged a series (points at steps 0, 1,
//! ...) whose key starts with a prefix, newest run first and paged in the database. A
//! hyperparameter study logs each trial's score as one such series, so this lists every study in
//! a store without reading any run's steps or outputs.

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

/// The `WHERE` clause of a prefix: a range the `(key, value)` index reads (exact under the byte
/// order SQLite and a `C`-collated PostgreSQL compare text in), and the prefix itself checked
/// again for a database with another collation.
const PREFIX_WHERE: &str = "m.key >= ?1 AND m.key < ?2 AND substr(m.key, 1, length(?1)) = ?1 AND m.idx >= 0";

fn prefix_args(key_prefix: &str) -> [Value; 2] {
    [Value::from(key_prefix), Value::from(format!("{key_prefix}\u{10FFFF}"))]
}

impl Store {
    /// The series whose key starts with `key_prefix` (`""`: every series), one line per run,
    /// node and key, the newest run first; `limit` lines from line `offset` on.
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
    /// assert_eq!(store.count_series("cv.")?, 1);
    /// let study = &studies[0];
    /// assert_eq!((study.run_id.as_str(), study.node.as_str()), (run.run_id(), "search"));
    /// assert_eq!((study.key.as_str(), study.points), ("cv.accuracy", 5));
    /// assert!((study.max - 0.74).abs() < 1e-12 && (study.min - 0.7).abs() < 1e-12);
    /// assert_eq!(store.count_series("")?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn series(&self, key_prefix: &str, limit: usize, offset: usize) -> Result<Vec<SeriesSummary>> {
        let sql = format!(
            "SELECT m.run_id, r.pipeline, r.started_ms, m.node, m.key, COUNT(*), MIN(m.value), MAX(m.value) \
             FROM run_metrics m JOIN runs r ON r.id = m.run_id WHERE {PREFIX_WHERE} \
             GROUP BY m.run_id, r.pipeline, r.started_ms, r.rowid, m.node, m.key \
             ORDER BY r.started_ms DESC, r.rowid DESC, m.node, m.key LIMIT {} OFFSET {offset}",
            limit.min(i64::MAX as usize)
        );
        self.runs_ready()?;
        let args = prefix_args(key_prefix);
        Ok(self.with_meta(&RUNS, Mode::Read, |tx| {
            tx.query(&sql, &args)?
                .iter()
                .map(|r| {
                    Ok(SeriesSummary {
                        run_id: r.get(0)?,
                        pipeline: r.get(1)?,
                        started_ms: r.get(2)?,
                        node: r.get(3)?,
                        key: r.get(4)?,
                        points: r.get::<i64>(5)?.max(0) as usize,
                        min: r.get(6)?,
                        max: r.get(7)?,
                    })
                })
                .collect::<std::result::Result<Vec<_>, crate::store::StoreError>>()
        })?)
    }

    /// How many lines [`Store::series`] has for `key_prefix` in all: the size of a paged listing.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = mlflow_core::store::Store::open(dir.path()).unwrap();
    /// assert_eq!(store.count_series("cv.")?, 0);
    /// # Ok::<(), mlflow_core::Error>(())
    /// ```
    pub fn count_series(&self, key_prefix: &str) -> Result<usize> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM run_metrics m JOIN runs r ON r.id = m.run_id \
             WHERE {PREFIX_WHERE} GROUP BY m.run_id, m.node, m.key) AS lines"
        );
        self.runs_ready()?;
        let args = prefix_args(key_prefix);
        let n = self.with_meta(&RUNS, Mode::Read, |tx| {
            tx.query_opt(&sql, &args)?.map(|r| r.get::<i64>(0)).transpose()
        })?;
        Ok(n.unwrap_or(0).max(0) as usize)
    }
}
