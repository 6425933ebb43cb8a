//! What a run would do, without running it.

use std::fmt;

use super::map::{map_key, plan_tasks};
use super::miss::{MissReason, cache_key, explain_miss, key_parts, lookup, own_change};
use super::options::RunOptions;
use crate::codec::ContentHash;
use crate::dag::{NodeKind, Pipeline};
use crate::error::{Error, Result};
use crate::store::Store;

impl Pipeline {
    /// Says, without running anything, which steps will be served from the cache and, for the
    /// others, which component of their key changed since the last run of this pipeline.
    pub fn plan(&self, store: &Store) -> Result<Plan> {
        self.plan_with(store, &RunOptions::default())
    }

    /// [`Pipeline::plan`] for a run with these options (forcing is taken into account).
    pub fn plan_with(&self, store: &Store, options: &RunOptions) -> Result<Plan> {
        self.check().map_err(Error::Wiring)?;
        let previous = store.last_keys(self.name())?;
        let mut known: Vec<Option<ContentHash>> = Vec::with_capacity(self.nodes.len());
        let mut steps = Vec::new();
        for (index, node) in self.nodes.iter().enumerate() {
            let (identity, inputs, mapped) = match &node.kind {
                NodeKind::Param { hash, .. } => {
                    known.push(Some(*hash));
                    continue;
                }
                NodeKind::Step { identity, inputs, step, .. } => {
                    (identity, inputs, step.mapped().map(|map| map.max_failed().is_some()))
                }
            };
            let unknown: Vec<String> =
                inputs.iter().filter(|&&i| known[i].is_none()).map(|&i| self.nodes[i].name.clone()).collect();
            let hashes: Vec<ContentHash> =
                inputs.iter().map(|&i| known[i].unwrap_or(ContentHash::from_bytes([0; 32]))).collect();
            let parts = key_parts(identity, self.input_parts(index, &hashes));
            let last = previous.get(&node.name).map(|(_, parts)| parts);
            let own = match last {
                Some(was) => own_change(was, &parts),
                None => Some(MissReason::FirstRun),
            };
            let forced = options.force.covers(&node.name, identity.name);
            let (outcome, output) = if forced {
                (PlanOutcome::Miss(MissReason::Forced), None)
            } else if !identity.options.cache {
                (PlanOutcome::Miss(MissReason::CacheDisabled), None)
            } else if !unknown.is_empty() {
                match own {
                    Some(reason) => (PlanOutcome::Miss(reason), None),
                    None => (PlanOutcome::DependsOn { upstream: unknown }, None),
                }
            } else {
                // A mapped step is looked up as a whole; its tasks only when it runs.
                let key = match mapped {
                    Some(options) => map_key(identity, &hashes, options),
                    None => cache_key(identity, &hashes),
                };
                match lookup(store, key) {
                    Ok((_, entry)) => (PlanOutcome::Hit, Some(entry.output)),
                    Err(Some(reason)) => (PlanOutcome::Miss(reason), None),
                    Err(None) => (PlanOutcome::Miss(explain_miss(last, &parts)), None),
                }
            };
            let tasks = mapped.and_then(|_| {
                let use_cache = identity.options.cache && !forced;
                plan_tasks(self, store, index, &known, use_cache, matches!(outcome, PlanOutcome::Hit))
            });
            known.push(output);
            steps.push(PlannedStep { node: node.name.clone(), step: identity.name, outcome, tasks });
        }
        Ok(Plan { steps })
    }
}

/// What a run would do, per step; see [`Pipeline::plan`].
///
/// ```
/// # use mlflow_core::prelude::*;
/// # #[mlflow_macros::step(crate = mlflow_core)]
/// # fn double(x: &u64) -> u64 {
/// #     x * 2
/// # }
/// # let dir = tempfile::tempdir().unwrap();
/// # let store = Store::open(dir.path()).unwrap();
/// use mlflow_core::exec::{MissReason, PlanOutcome};
///
/// let build = |x: u64| {
///     let mut p = Pipeline::new("planned");
///     let x = p.param("x", x);
///     let a = p.step(DoubleStep, x);
///     p.step_named("again", DoubleStep, a);
///     p
/// };
/// build(1).run(&store)?;
/// let plan = build(3).plan(&store)?;
/// assert_eq!(plan.step("double").unwrap().outcome, PlanOutcome::Miss(MissReason::Param { name: "x".into() }));
/// assert_eq!(plan.step("again").unwrap().outcome, PlanOutcome::DependsOn { upstream: vec!["double".into()] });
/// assert_eq!(plan.to_string(), "step double: run (param `x` changed)\nstep again: hit unless the output of `double` changes\n");
/// # Ok::<(), mlflow_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Plan {
    /// Steps in pipeline order.
    pub steps: Vec<PlannedStep>,
}

impl Plan {
    /// The planned step with this node name.
    pub fn step(&self, node: &str) -> Option<&PlannedStep> {
        self.steps.iter().find(|s| s.node == node)
    }
}

/// One step of a [`Plan`] (see its example).
#[derive(Debug, Clone)]
pub struct PlannedStep {
    /// Node name.
    pub node: String,
    /// Step name.
    pub step: &'static str,
    /// Whether it will hit.
    pub outcome: PlanOutcome,
    /// For a mapped step whose lists are known before the run (params, or outputs of steps that
    /// will hit), how many tasks it has and how many of them will hit.
    pub tasks: Option<PlannedTasks>,
}

/// The tasks of a mapped step in a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedTasks {
    /// Tasks in all.
    pub total: usize,
    /// Tasks that will be served from the cache.
    pub cached: usize,
}

/// Whether a step will hit the cache (see [`Plan`] for an example).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanOutcome {
    /// Served from the cache (the artifact is present and sound).
    Hit,
    /// Will run, for this reason.
    Miss(MissReason),
    /// Its own key parts are unchanged, but upstream steps will run first: it hits if they
    /// produce the same bytes as before (early cutoff), else it runs.
    DependsOn {
        /// The upstream nodes that will run.
        upstream: Vec<String>,
    },
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            match &s.outcome {
                PlanOutcome::Hit => write!(f, "step {}: hit", s.node)?,
                PlanOutcome::Miss(reason) => write!(f, "step {}: run ({reason})", s.node)?,
                PlanOutcome::DependsOn { upstream } => {
                    write!(f, "step {}: hit unless the output of {} changes", s.node, quote_list(upstream))?
                }
            }
            match s.tasks {
                Some(t) => {
                    writeln!(f, " [{} tasks: {} to run, {} cached]", t.total, t.total - t.cached, t.cached)?
                }
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

fn quote_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
