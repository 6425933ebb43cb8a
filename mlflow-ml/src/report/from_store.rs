//! Building a [`RunView`] from what the store recorded about a run.

use std::collections::BTreeMap;

use super::{ClassifierView, MetricView, NodeView, RunView, StudyView};
use crate::blocks::StudyResults;
use crate::eval::{CONFUSION_METRICS, ROC_FPR_SERIES, ROC_TPR_SERIES};
use mlflow_core::codec;
use mlflow_core::store::Store;
use mlflow_core::track::StepRecord;
use mlflow_core::{Error, Result};

/// The steps of [`blocks::tune`](crate::blocks::tune) whose output is a study's ranked trials.
const STUDY_STEPS: [&str; 3] = ["rank_trials", "rank_history", "rank_last_rung"];

impl StudyView {
    /// Whether a step of this name (the function, not the node) outputs a study's ranked trials:
    /// the ranking steps [`blocks::tune`](crate::blocks::tune) adds.
    ///
    /// ```
    /// use mlflow_ml::report::StudyView;
    /// assert!(StudyView::is_study_step("rank_trials"));
    /// assert!(!StudyView::is_study_step("train"));
    /// ```
    pub fn is_study_step(step: &str) -> bool {
        STUDY_STEPS.contains(&step)
    }

    /// The study a recorded step ranked: `None` for a step that ranks no study or stored no
    /// output; an error when its output is gone from the store or cannot be read as a study.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn double(x: &u64) -> u64 {
    /// #     x * 2
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// use mlflow_ml::report::StudyView;
    /// let mut p = Pipeline::new("no study");
    /// let x = p.param("x", 1u64);
    /// p.step(DoubleStep, x);
    /// let run = p.run(&store)?;
    /// let record = store.run(run.run_id())?.expect("recorded");
    /// assert_eq!(StudyView::from_step(&store, &record.steps[0])?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_step(store: &Store, step: &StepRecord) -> Result<Option<StudyView>> {
        let Some(hash) = step.output.filter(|_| StudyView::is_study_step(&step.step)) else {
            return Ok(None);
        };
        let results: StudyResults = codec::decode(&store.read_artifact(hash)?, store.decode_limit())?;
        Ok(Some(StudyView::from_results(&step.node, &results)))
    }
}

/// A ROC curve being gathered from its two metric series: point index → rate.
type RocSeries = (BTreeMap<u64, f64>, BTreeMap<u64, f64>);

impl RunView {
    /// The view of run `run_id`: its DAG (params and steps, edges from the recorded cache-key
    /// inputs), timeline, params, metrics, environment, and a ROC curve and confusion matrix for
    /// every step that logged them with [`eval::log_binary_metrics`](crate::eval::log_binary_metrics),
    /// and each hyperparameter study [`blocks::tune`](crate::blocks::tune) ranked.
    ///
    /// ```
    /// # use mlflow_core::prelude::*;
    /// # #[mlflow_macros::step(crate = mlflow_core)]
    /// # fn double(x: &u64) -> u64 {
    /// #     x * 2
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let store = Store::open(dir.path()).unwrap();
    /// use mlflow_ml::report::{render_html, RunView};
    /// let mut p = Pipeline::new("viewed");
    /// let x = p.param("x", 1u64);
    /// p.step(DoubleStep, x);
    /// let run = p.run(&store)?;
    /// let view = RunView::from_run(&store, run.run_id())?;
    /// assert_eq!((view.nodes.len(), view.edges.as_slice()), (2, &[(0, 1)][..]));
    /// assert!(render_html(&view).contains("id=\"dag\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_run(store: &Store, run_id: &str) -> Result<RunView> {
        let run = store.run(run_id)?.ok_or_else(|| Error::UnknownRun { id: run_id.to_owned() })?;
        let mut nodes: Vec<NodeView> =
            run.param_values.iter().map(|(name, _)| NodeView::param(name)).collect();
        let mut index: BTreeMap<&str, usize> =
            run.param_values.iter().enumerate().map(|(i, (name, _))| (name.as_str(), i)).collect();
        for step in &run.steps {
            index.insert(&step.node, nodes.len());
            let mut node = NodeView::step(
                &step.node,
                &step.status,
                step.started.as_secs_f64() * 1e3,
                step.duration.as_secs_f64() * 1e3,
            );
            node.attempts = step.attempts;
            node.miss_reason = step.miss_reason.clone();
            node.error = step.error.clone();
            node.tasks = step.tasks.clone();
            nodes.push(node);
        }
        let mut edges = Vec::new();
        for step in &run.steps {
            let Some(key) = step.cache_key else { continue };
            let Some(parts) = store.key_parts(key)? else { continue };
            for input in &parts.inputs {
                if let (Some(&from), Some(&to)) =
                    (index.get(input.node.as_str()), index.get(step.node.as_str()))
                {
                    edges.push((from, to));
                }
            }
        }

        let mut metrics = Vec::new();
        let mut curves: BTreeMap<&str, RocSeries> = BTreeMap::new();
        let mut confusion: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
        let mut auc: BTreeMap<&str, f64> = BTreeMap::new();
        for (node, m) in &run.metrics {
            match (m.key.as_str(), m.step) {
                (ROC_FPR_SERIES, Some(i)) => {
                    curves.entry(node).or_default().0.insert(i, m.value);
                }
                (ROC_TPR_SERIES, Some(i)) => {
                    curves.entry(node).or_default().1.insert(i, m.value);
                }
                (key, None) if CONFUSION_METRICS.contains(&key) => {
                    confusion
                        .entry(node)
                        .or_default()
                        .insert(CONFUSION_METRICS.iter().find(|k| **k == key).unwrap(), m.value);
                }
                (key, step) => {
                    if key == "roc_auc" && step.is_none() {
                        auc.insert(node, m.value);
                    }
                    metrics.push(match step {
                        Some(i) => MetricView::series(node, &m.key, i.min(i64::MAX as u64) as i64, m.value),
                        None => MetricView::scalar(node, &m.key, m.value),
                    });
                }
            }
        }
        let classifiers = curves
            .into_iter()
            .filter(|(_, (fpr, tpr))| !fpr.is_empty() && fpr.len() == tpr.len())
            .map(|(node, (fpr, tpr))| {
                let counts = confusion.get(node);
                let count = |k: &str| counts.and_then(|c| c.get(k)).map(|v| v.max(0.0) as u64).unwrap_or(0);
                ClassifierView {
                    name: node.to_owned(),
                    roc: fpr.values().copied().zip(tpr.values().copied()).collect(),
                    auc: auc.get(node).copied().unwrap_or(f64::NAN),
                    confusion: [
                        [count("confusion.tn"), count("confusion.fp")],
                        [count("confusion.fn"), count("confusion.tp")],
                    ],
                }
            })
            .collect();

        // A study whose output is gone or unreadable (another version's format) is left out:
        // the rest of the report still stands.
        let studies =
            run.steps.iter().filter_map(|step| StudyView::from_step(store, step).ok().flatten()).collect();

        let mut environment = Vec::new();
        if let Some(env) = &run.environment {
            environment.push(("mlflow".to_owned(), env.library.clone()));
            environment.push(("crates".to_owned(), env.crates.join(", ")));
            environment.push(("rustc".to_owned(), env.rustc.clone()));
            environment.push(("os".to_owned(), env.os.clone()));
            environment.push(("host".to_owned(), env.host.clone()));
            if let Some(commit) = &env.git_commit {
                environment.push(("git commit".to_owned(), commit.clone()));
            }
        }
        for (node, data) in &run.data {
            environment
                .push((format!("data read by {node}"), format!("{} ({})", data.name, data.version.short())));
        }
        Ok(RunView {
            run_id: run.id.clone(),
            pipeline: run.pipeline.clone(),
            status: run.status.clone(),
            started_ms: run.started_ms,
            duration_ms: run.ended_ms.map(|e| (e - run.started_ms) as f64).unwrap_or(0.0),
            nodes,
            edges,
            params: run.param_values.clone(),
            metrics,
            classifiers,
            studies,
            environment,
        })
    }
}
