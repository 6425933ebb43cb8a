//! One node of an execution plan, run alone: what a pod of an exported workflow does. The node's
//! upstream comes from the store (each cached upstream step must be there: its own task ran
//! before), the node runs or is a cache hit itself, and its output's content hash is what the
//! orchestrator passes on. A mapped node can also run one task at a time ([`NodeRun::task`], one
//! pod per task) after its tasks were counted ([`Pipeline::map_tasks`]); its own run then only
//! puts the stored tasks together.

use std::collections::BTreeSet;

use crate::codec::ContentHash;
use crate::dag::{NodeKind, NodeSpec, Pipeline};
use crate::error::{Error, Result};
use crate::exec::{RunOptions, RunReport, StepReport, StepStatus};
use crate::exec_plan::ExecutionPlan;
use crate::store::Store;

/// What a pod asks of its node: the node's id in the [execution plan](crate::exec_plan), the
/// plan hash it was exported with, and the content hashes its upstream tasks reported.
///
/// ```
/// use mlflow_core::exec::NodeRun;
/// let run = NodeRun::new("train").plan("9f2c...").input("prepare", "41be...");
/// assert_eq!(run.node(), "train");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeRun {
    node: String,
    plan: Option<String>,
    inputs: Vec<(String, String)>,
    task: Option<usize>,
}

impl NodeRun {
    /// Runs node `id` (its id in the execution plan).
    pub fn new(id: impl Into<String>) -> NodeRun {
        NodeRun { node: id.into(), ..NodeRun::default() }
    }

    /// Refuses to run unless this binary's plan hash (hex) is `hash`: a pod of an image built
    /// from another pipeline definition must not compute anything.
    pub fn plan(mut self, hash: impl Into<String>) -> NodeRun {
        self.plan = Some(hash.into());
        self
    }

    /// Checks that upstream node `id`'s output has content hash `hash` (hex), as its task
    /// reported.
    pub fn input(mut self, id: impl Into<String>, hash: impl Into<String>) -> NodeRun {
        self.inputs.push((id.into(), hash.into()));
        self
    }

    /// Runs only task `index` of the node, a mapped step: one element (or combination of
    /// elements) as [`Pipeline::map`] numbers them, the first list outermost. The task is stored
    /// under its own cache key, as a run of the whole node would store it, so that the node's own
    /// run afterwards only puts the output together. [`Pipeline::map_tasks`] says how many there
    /// are.
    ///
    /// ```
    /// use mlflow_core::exec::NodeRun;
    /// let run = NodeRun::new("sweep").task(3);
    /// assert_eq!(run.task_index(), Some(3));
    /// ```
    pub fn task(mut self, index: usize) -> NodeRun {
        self.task = Some(index);
        self
    }

    /// The node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The task asked for with [`task`](Self::task), if any.
    pub fn task_index(&self) -> Option<usize> {
        self.task
    }
}

/// What running one node gave: its output's content hash and the run's report (the upstream
/// steps as cache hits, the node ran or cached).
#[derive(Debug)]
pub struct NodeOutcome {
    /// The node's output's content hash.
    pub output: ContentHash,
    /// The run (recorded in the store like any other).
    pub report: RunReport,
}

impl Pipeline {
    /// Runs node `run.node()` of this pipeline's [execution plan](Pipeline::execution_plan) alone,
    /// as a pod of an exported workflow does: the node and its upstream, where every cached
    /// upstream step must be a cache hit (its own task stored it), and the node itself runs or
    /// hits the cache. Steps that are not upstream of the node do not run.
    ///
    /// Errors: [`Error::PlanMismatch`] when the plan hash differs from `run`'s (the binary was
    /// built from another definition), [`Error::NotInPlan`] for an id the plan lacks or that
    /// is a param, [`Error::InputMismatch`] when an upstream output's hash differs from the one
    /// its task reported, [`Error::StepFailed`] when the node (or an upstream step that is not in
    /// the store) fails.
    ///
    /// ```
    /// use mlflow_core::exec::{NodeRun, StepStatus};
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn double(x: &u64) -> u64 {
    ///     x * 2
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// let mut p = Pipeline::new("doc");
    /// let x = p.param("x", 21u64);
    /// let once = p.step(DoubleStep, x);
    /// p.step_named("twice", DoubleStep, once);
    /// let plan = p.execution_plan()?;
    /// let hash = plan.plan_hash().to_hex();
    /// // The orchestrator's order: `double`, then `twice` with `double`'s hash.
    /// let first = p.run_node(&store, &NodeRun::new("double").plan(&hash))?;
    /// let second = p.run_node(&store, &NodeRun::new("twice").plan(&hash).input("double", first.output.to_hex()))?;
    /// let statuses: Vec<_> = second.report.steps().iter().map(|s| (s.node.as_str(), s.status)).collect();
    /// assert_eq!(statuses, [("double", StepStatus::Cached), ("twice", StepStatus::Ran)]);
    /// // Out of order: the upstream is not in another store.
    /// let other = Store::open(dir.path().join("other"))?;
    /// assert!(p.run_node(&other, &NodeRun::new("twice").plan(&hash)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_node(&self, store: &Store, run: &NodeRun) -> Result<NodeOutcome> {
        let (plan, target) = self.locate(run)?;
        let target_name = self.nodes[target].name.clone();
        let mut options = RunOptions::new().cached_upstream_of(target_name.clone());
        if let Some(task) = run.task {
            self.require_map(target, run)?;
            options = options.map_task(target_name.clone(), task);
        }
        let sub = self.restricted_to(&self.upstream_of(target));
        let report = sub.run_with(store, options)?;
        check_inputs(&plan, run, &report)?;
        let step = report.steps.iter().find(|s| s.node == target_name).expect("the node is in its own run");
        match (step.status, step.output_hash) {
            (StepStatus::Ran | StepStatus::Cached, Some(output)) => Ok(NodeOutcome { output, report }),
            _ => {
                if let (Some(task), Some(counts)) = (run.task, &step.tasks)
                    && task >= counts.total
                {
                    return Err(Error::TaskOutOfRange { node: run.node.clone(), task, tasks: counts.total });
                }
                Err(first_failure(&report, step))
            }
        }
    }

    /// How many tasks mapped node `run.node()` of the [execution plan](Pipeline::execution_plan)
    /// has, given its upstream in the store: what an orchestrator fans out over (tasks `0..n`,
    /// each run with [`NodeRun::task`]). The upstream is checked as [`run_node`](Self::run_node)
    /// checks it (every cached upstream step must be a cache hit); nothing of the node itself
    /// runs.
    ///
    /// Errors: those of [`run_node`](Self::run_node), and [`Error::NotAMap`] for a node that is
    /// not a mapped step.
    ///
    /// ```
    /// use mlflow_core::exec::{NodeRun, StepStatus};
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn double(x: &u64) -> u64 {
    ///     x * 2
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = Store::open(dir.path())?;
    /// let mut p = Pipeline::new("doc");
    /// let xs = p.param("xs", vec![1u64, 2, 3]);
    /// p.map(DoubleStep, xs);
    /// let hash = p.execution_plan()?.plan_hash().to_hex();
    /// let n = p.map_tasks(&store, &NodeRun::new("double").plan(&hash))?;
    /// assert_eq!(n, 3);
    /// // One pod per task, then the node itself only puts the output together.
    /// for k in 0..n {
    ///     p.run_node(&store, &NodeRun::new("double").plan(&hash).task(k))?;
    /// }
    /// let whole = p.run_node(&store, &NodeRun::new("double").plan(&hash))?;
    /// let tasks = whole.report.steps()[0].tasks.clone().unwrap();
    /// assert_eq!((tasks.total, tasks.cached, tasks.ran), (3, 3, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_tasks(&self, store: &Store, run: &NodeRun) -> Result<usize> {
        let (plan, target) = self.locate(run)?;
        self.require_map(target, run)?;
        let mut upstream = self.upstream_of(target);
        upstream.remove(&target);
        let mut known: Vec<Option<ContentHash>> = self
            .nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::Param { hash, .. } => Some(*hash),
                NodeKind::Step { .. } => None,
            })
            .collect();
        let has_steps = upstream.iter().any(|&i| matches!(self.nodes[i].kind, NodeKind::Step { .. }));
        if has_steps {
            let sub = self.restricted_to(&upstream);
            let report =
                sub.run_with(store, RunOptions::new().cached_upstream_of(self.nodes[target].name.clone()))?;
            if let Some(failed) =
                report.steps.iter().find(|s| s.status != StepStatus::Ran && s.status != StepStatus::Cached)
            {
                return Err(first_failure(&report, failed));
            }
            check_inputs(&plan, run, &report)?;
            for step in &report.steps {
                if let Some(i) = self.nodes.iter().position(|n| n.name == step.node) {
                    known[i] = step.output_hash;
                }
            }
        }
        crate::exec::map::known_task_count(self, store, target, &known).map_err(|message| Error::StepFailed {
            step: self.nodes[target].name.clone(),
            message: format!("cannot list the tasks: {message}"),
            source: None,
        })
    }

    /// The plan, checked against `run`'s plan hash, and the index of `run`'s node, a step whose
    /// inputs named in `run` are nodes of the plan.
    fn locate(&self, run: &NodeRun) -> Result<(ExecutionPlan, usize)> {
        let plan = self.execution_plan()?;
        let actual = plan.plan_hash().to_hex();
        if let Some(expected) = &run.plan
            && !expected.eq_ignore_ascii_case(&actual)
        {
            return Err(Error::PlanMismatch {
                pipeline: self.name.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        let unknown = || Error::NotInPlan {
            pipeline: self.name.clone(),
            node: run.node.clone(),
            known: plan.nodes().iter().filter(|n| n.step.is_some()).map(|n| n.id.clone()).collect(),
        };
        let target = plan.nodes().iter().position(|n| n.id == run.node).ok_or_else(unknown)?;
        if !matches!(self.nodes[target].kind, NodeKind::Step { .. }) {
            return Err(unknown());
        }
        for (id, _) in &run.inputs {
            if plan.node(id).is_none() {
                return Err(Error::NotInPlan {
                    pipeline: self.name.clone(),
                    node: id.clone(),
                    known: plan.nodes().iter().map(|n| n.id.clone()).collect(),
                });
            }
        }
        Ok((plan, target))
    }

    /// Refuses tasks of a node that is not a mapped step.
    fn require_map(&self, target: usize, run: &NodeRun) -> Result<()> {
        match &self.nodes[target].kind {
            NodeKind::Step { step, .. } if step.mapped().is_some() => Ok(()),
            _ => Err(Error::NotAMap { pipeline: self.name.clone(), node: run.node.clone() }),
        }
    }

    /// `node` and every node it depends on, by index.
    fn upstream_of(&self, node: usize) -> BTreeSet<usize> {
        let mut keep = BTreeSet::new();
        let mut stack = vec![node];
        while let Some(i) = stack.pop() {
            if keep.insert(i)
                && let NodeKind::Step { inputs, waits_for, .. } = &self.nodes[i].kind
            {
                stack.extend(inputs.iter().chain(waits_for));
            }
        }
        keep
    }

    /// A pipeline of the same name with only the nodes in `keep` (closed under dependencies).
    fn restricted_to(&self, keep: &BTreeSet<usize>) -> Pipeline {
        let mut sub = Pipeline::new(self.name.clone());
        // Old index -> new index, in the original (valid) order.
        let mut index = vec![None; self.nodes.len()];
        for (new, &old) in keep.iter().enumerate() {
            index[old] = Some(new);
        }
        let remap =
            |list: &[usize]| list.iter().map(|&i| index[i].expect("closed under dependencies")).collect();
        for &i in keep {
            let node = &self.nodes[i];
            let kind = match &node.kind {
                NodeKind::Param { value, hash, json } => {
                    NodeKind::Param { value: value.clone(), hash: *hash, json: json.clone() }
                }
                NodeKind::Step { step, inputs, identity, waits_for } => NodeKind::Step {
                    step: step.clone(),
                    inputs: remap(inputs),
                    identity: identity.clone(),
                    waits_for: remap(waits_for),
                },
            };
            sub.push_node(NodeSpec { name: node.name.clone(), type_name: node.type_name, kind });
        }
        sub
    }
}

/// Each upstream output named in `run` has the hash its task reported.
fn check_inputs(plan: &ExecutionPlan, run: &NodeRun, report: &RunReport) -> Result<()> {
    for (id, expected) in &run.inputs {
        let name = &plan.node(id).expect("checked by locate").name;
        let Some(step) = report.steps.iter().find(|s| &s.node == name) else {
            // A param: its value is in the binary, pinned by the plan hash.
            continue;
        };
        let actual = step.output_hash.map(|h| h.to_hex()).unwrap_or_default();
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(Error::InputMismatch { node: id.clone(), expected: expected.clone(), actual });
        }
    }
    Ok(())
}

/// The first failure of `report`: `step`'s own, or that of the upstream step it waited for.
fn first_failure(report: &RunReport, step: &StepReport) -> Error {
    let failed = report.steps.iter().find(|s| s.status == StepStatus::Failed).unwrap_or(step);
    Error::StepFailed {
        step: failed.node.clone(),
        message: failed.error.clone().unwrap_or_else(|| "did not run".into()),
        source: failed.error_source.clone(),
    }
}
