//! The pipeline as an execution plan, for an orchestrator: every node with a stable id, its edges,
//! its param's content hash or its step's identity, options and resource requests, and one hash
//! over all of it.
//!
//! Not to be confused with [`Pipeline::plan`], which asks a store what a local run would take
//! from the cache: an execution plan needs no store, and says what to run, not what is cached.
//!
//! ```
//! use mlflow_core::prelude::*;
//! use mlflow_core::exec_plan::{ExecutionPlan, PlanNodeKind};
//!
//! #[mlflow_macros::step(crate = mlflow_core, retries = 2, cpu = "500m", memory = "1Gi")]
//! fn double(x: &u64) -> u64 {
//!     x * 2
//! }
//!
//! fn main() -> mlflow_core::Result<()> {
//!     let mut p = Pipeline::new("doc");
//!     let x = p.param("x", 21u64);
//!     p.step(DoubleStep, x);
//!     let plan = p.execution_plan()?;
//!     let step = plan.node("double").unwrap();
//!     assert_eq!(step.kind, PlanNodeKind::Step);
//!     assert_eq!(step.inputs, ["x"]);
//!     let options = step.step.as_ref().unwrap();
//!     assert_eq!((options.retries, options.resources.cpu_quantity().as_deref()), (2, Some("500m")));
//!
//!     // The JSON form reads back to the same plan, its hash checked.
//!     let back = ExecutionPlan::from_json(&plan.to_json())?;
//!     assert_eq!(back, plan);
//!     Ok(())
//! }
//! ```

mod check;
mod ids;

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::codec::ContentHash;
use crate::dag::{Node, NodeKind, Pipeline, StepIdentity, WiringError};
use crate::error::{Error, Result};
use crate::step::Resources;

pub use check::PlanError;
use check::{RawPlan, content_hash, order};
pub(crate) use ids::label_of;
use ids::unique_id;

/// The version of the plan's encoding: in its JSON form and in the domain of its hash.
pub const PLAN_FORMAT: u32 = 1;

/// A pipeline as an orchestrator runs it: nodes in a valid execution order, each with a stable id
/// (a DNS-1123 label, derived from the node's name), and a hash of the whole.
///
/// Built by [`Pipeline::execution_plan`]; read back from its JSON form with
/// [`ExecutionPlan::from_json`] (or any serde format), which checks that the ids are unique and
/// valid, every edge names a node, the graph has no cycle and the hash matches the content.
///
/// ```
/// use mlflow_core::prelude::*;
/// let build = || {
///     let mut p = Pipeline::new("doc");
///     p.param("seed", 7u64);
///     p.execution_plan().unwrap()
/// };
/// // The same definition gives the same plan and hash, in any process.
/// assert_eq!(build().plan_hash(), build().plan_hash());
/// assert_eq!(build().pipeline(), "doc");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPlan")]
pub struct ExecutionPlan {
    format: u32,
    pipeline: String,
    nodes: Vec<PlanNode>,
    plan_hash: ContentHash,
}

/// One node of an [`ExecutionPlan`].
///
/// ```
/// use mlflow_core::prelude::*;
/// use mlflow_core::exec_plan::PlanNodeKind;
/// let mut p = Pipeline::new("doc");
/// p.param("Learning rate", 0.1f64);
/// let plan = p.execution_plan().unwrap();
/// let node = &plan.nodes()[0];
/// assert_eq!((node.id.as_str(), node.name.as_str()), ("learning-rate", "Learning rate"));
/// assert_eq!(node.kind, PlanNodeKind::Param);
/// assert!(node.value_hash.is_some() && node.step.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanNode {
    /// The node's id: a DNS-1123 label (at most 63 lower-case letters, digits and `-`, starting
    /// with a letter, ending with a letter or digit) derived from its name, made unique with
    /// `-2`, `-3`, ... in the order the nodes were added. The same pipeline definition gives the
    /// same ids in every process.
    pub id: String,
    /// The node's name in the pipeline: the param's name, or the step node's name (`train`,
    /// `train#2`, or the one given to `step_named`).
    pub name: String,
    /// What the node is.
    pub kind: PlanNodeKind,
    /// The ids of the nodes whose outputs are its inputs, in argument order (empty for a param).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// The ids of the nodes it runs after without reading their outputs
    /// ([`Pipeline::wait_for`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<String>,
    /// For a param, the content hash of its value (the value itself is never in the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_hash: Option<ContentHash>,
    /// For a step, a mapped step or a collect, the step it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<PlanStep>,
    /// For a mapped step, how its inputs are taken apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<PlanMap>,
}

/// What a [`PlanNode`] is.
///
/// ```
/// use mlflow_core::exec_plan::PlanNodeKind;
/// assert_eq!(serde_json::to_string(&PlanNodeKind::Map).unwrap(), "\"map\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanNodeKind {
    /// A param ([`Pipeline::param`]): a value known when the plan is built.
    Param,
    /// A step run once ([`Pipeline::step`]).
    Step,
    /// A step run once per element ([`Pipeline::map`], [`Pipeline::try_map`]).
    Map,
    /// The fan-in of [`Pipeline::collect`]: its inputs as one list.
    Collect,
}

impl PlanNodeKind {
    /// The kind as written in the plan's JSON: `param`, `step`, `map` or `collect`.
    ///
    /// ```
    /// assert_eq!(mlflow_core::exec_plan::PlanNodeKind::Collect.as_str(), "collect");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PlanNodeKind::Param => "param",
            PlanNodeKind::Step => "step",
            PlanNodeKind::Map => "map",
            PlanNodeKind::Collect => "collect",
        }
    }
}

/// The step a [`PlanNode`] runs: its identity as the cache sees it, and how to run it.
///
/// ```
/// use mlflow_core::prelude::*;
///
/// #[mlflow_macros::step(crate = mlflow_core, version = 3, timeout = "30s", memory = "2Gi")]
/// fn load() -> Vec<u8> {
///     Vec::new()
/// }
///
/// let mut p = Pipeline::new("doc");
/// p.step(LoadStep, ());
/// let plan = p.execution_plan().unwrap();
/// let step = plan.node("load").unwrap().step.clone().unwrap();
/// assert_eq!((step.name.as_str(), step.version), ("load", 3));
/// assert_eq!(step.code_hash, <LoadStep as Step>::CODE_HASH);
/// assert_eq!(step.timeout, Some(std::time::Duration::from_secs(30)));
/// assert_eq!(step.resources.memory_bytes, Some(2 << 30));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanStep {
    /// The step's name ([`Step::NAME`](crate::step::Step::NAME)).
    pub name: String,
    /// Its `version`.
    pub version: u32,
    /// The hash of its code.
    pub code_hash: ContentHash,
    /// The hash of the helpers it depends on ([`fold_helpers`](crate::step::fold_helpers)).
    pub helpers_hash: ContentHash,
    /// The name of the crate defining it.
    pub crate_name: String,
    /// That crate's version.
    pub crate_version: String,
    /// Whether its output is looked up in the cache and stored there.
    pub cache: bool,
    /// How many times a failed attempt is tried again.
    pub retries: u32,
    /// The wait before the first retry (doubled for each later one).
    pub backoff: Duration,
    /// The limit on one attempt, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// The CPU and memory it asks for.
    #[serde(default, skip_serializing_if = "is_none")]
    pub resources: Resources,
}

fn is_none(resources: &Resources) -> bool {
    *resources == Resources::NONE
}

/// How a mapped [`PlanNode`] takes its inputs apart.
///
/// ```
/// use mlflow_core::prelude::*;
///
/// #[mlflow_macros::step(crate = mlflow_core)]
/// fn scale(x: &f64, by: &f64) -> f64 {
///     x * by
/// }
///
/// let mut p = Pipeline::new("doc");
/// let xs = p.param("xs", vec![1.0, 2.0]);
/// let by = p.param("by", 3.0);
/// p.try_map(ScaleStep, (xs, by), 1);
/// let plan = p.execution_plan().unwrap();
/// let map = plan.node("scale").unwrap().map.clone().unwrap();
/// assert_eq!(map.per_element, [true, false]);
/// assert_eq!(map.max_failed, Some(1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlanMap {
    /// Per input: `true` if it is a list run once per element, `false` if every task gets the
    /// whole value.
    pub per_element: Vec<bool>,
    /// For [`Pipeline::try_map`], how many tasks may fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed: Option<u64>,
}
impl Pipeline {
    /// The pipeline as an [`ExecutionPlan`]: what an orchestrator needs to run it, node by node,
    /// on other machines. Needs no store, and runs nothing.
    ///
    /// Fails with [`Error::Wiring`] if the pipeline has wiring mistakes ([`Pipeline::check`]),
    /// like [`Pipeline::run`].
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn add(a: &u64, b: &u64) -> u64 {
    ///     a + b
    /// }
    ///
    /// let mut p = Pipeline::new("doc");
    /// let a = p.param("a", 1u64);
    /// let b = p.param("b", 2u64);
    /// let sum = p.step(AddStep, (a, b));
    /// p.step(AddStep, (sum, b)); // a second `add`: node `add#2`, id `add-2`
    /// let plan = p.execution_plan().unwrap();
    /// let ids: Vec<&str> = plan.topological_order().iter().map(|n| n.id.as_str()).collect();
    /// assert_eq!(ids, ["a", "b", "add", "add-2"]);
    /// assert_eq!(plan.node("add-2").unwrap().inputs, ["add", "b"]);
    /// ```
    pub fn execution_plan(&self) -> Result<ExecutionPlan> {
        self.check().map_err(Error::Wiring)?;
        let mut used = HashSet::new();
        let ids: Vec<String> = self.nodes.iter().map(|node| unique_id(&node.name, &mut used)).collect();
        let id_of = |indices: &[usize]| indices.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
        let nodes = self
            .nodes
            .iter()
            .zip(&ids)
            .map(|(node, id)| {
                let mut planned = PlanNode {
                    id: id.clone(),
                    name: node.name.clone(),
                    kind: PlanNodeKind::Param,
                    inputs: Vec::new(),
                    waits_for: Vec::new(),
                    value_hash: None,
                    step: None,
                    map: None,
                };
                match &node.kind {
                    NodeKind::Param { hash, .. } => planned.value_hash = Some(*hash),
                    NodeKind::Step { step, inputs, identity, waits_for } => {
                        planned.inputs = id_of(inputs);
                        planned.waits_for = id_of(waits_for);
                        planned.step = Some(plan_step(identity));
                        planned.kind = if let Some(map) = step.mapped() {
                            planned.map = Some(PlanMap {
                                per_element: map.splitters().iter().map(Option::is_some).collect(),
                                max_failed: map.max_failed().map(|n| n as u64),
                            });
                            PlanNodeKind::Map
                        } else if step.is_collect() {
                            PlanNodeKind::Collect
                        } else {
                            PlanNodeKind::Step
                        };
                    }
                }
                planned
            })
            .collect();
        Ok(ExecutionPlan::seal(self.name.clone(), nodes))
    }
}

impl Pipeline {
    /// Overrides what `node`'s step asks for in this pipeline: each `Some` field of `resources`
    /// replaces the step's own `#[step(cpu = ..., memory = ...)]`, each `None` keeps it. Only the
    /// [execution plan](Pipeline::execution_plan) sees it (not the cache key, not a local run).
    /// Returns `node`, for chaining.
    ///
    /// A param or a node of another pipeline is a [`WiringError::NotAStepNode`], reported by
    /// [`Pipeline::check`] and when the pipeline is run or planned.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    /// use mlflow_core::step::Resources;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core, cpu = "1", memory = "1Gi")]
    /// fn fit(rows: &Vec<f64>) -> f64 {
    ///     rows.iter().sum()
    /// }
    ///
    /// let mut p = Pipeline::new("doc");
    /// let rows = p.param("rows", vec![1.0, 2.0]);
    /// let small = p.step(FitStep, rows);
    /// let big = p.step(FitStep, rows);
    /// p.set_resources(big, Resources { cpu_millis: Some(8000), ..Resources::NONE });
    /// let plan = p.execution_plan().unwrap();
    /// let resources = |id| plan.node(id).unwrap().step.as_ref().unwrap().resources;
    /// assert_eq!(resources("fit"), Resources { cpu_millis: Some(1000), memory_bytes: Some(1 << 30) });
    /// assert_eq!(resources("fit-2"), Resources { cpu_millis: Some(8000), memory_bytes: Some(1 << 30) });
    /// # let _ = small;
    /// ```
    pub fn set_resources<T>(&mut self, node: Node<T>, resources: Resources) -> Node<T> {
        let given = if !self.owns(node) {
            "a node of another pipeline".to_owned()
        } else {
            match &mut self.nodes[node.index].kind {
                NodeKind::Step { identity, .. } => {
                    let own = &mut identity.options.resources;
                    own.cpu_millis = resources.cpu_millis.or(own.cpu_millis);
                    own.memory_bytes = resources.memory_bytes.or(own.memory_bytes);
                    return node;
                }
                NodeKind::Param { .. } => format!("param `{}`", self.nodes[node.index].name),
            }
        };
        self.errors.push(WiringError::NotAStepNode { pipeline: self.name.clone(), node: given });
        node
    }
}

fn plan_step(identity: &StepIdentity) -> PlanStep {
    let options = &identity.options;
    PlanStep {
        name: identity.name.to_owned(),
        version: identity.version,
        code_hash: identity.code_hash,
        helpers_hash: identity.deps_hash,
        crate_name: identity.krate.name.to_owned(),
        crate_version: identity.krate.version.to_owned(),
        cache: options.cache,
        retries: options.retries,
        backoff: options.backoff,
        timeout: options.timeout,
        resources: options.resources,
    }
}

impl ExecutionPlan {
    /// A plan of these nodes, with its hash.
    fn seal(pipeline: String, nodes: Vec<PlanNode>) -> Self {
        let plan_hash = content_hash(PLAN_FORMAT, &pipeline, &nodes);
        ExecutionPlan { format: PLAN_FORMAT, pipeline, nodes, plan_hash }
    }

    /// The version of the plan's encoding ([`PLAN_FORMAT`]).
    ///
    /// ```
    /// let plan = mlflow_core::prelude::Pipeline::new("doc").execution_plan().unwrap();
    /// assert_eq!(plan.format(), mlflow_core::exec_plan::PLAN_FORMAT);
    /// ```
    pub fn format(&self) -> u32 {
        self.format
    }

    /// The pipeline's name.
    ///
    /// ```
    /// let plan = mlflow_core::prelude::Pipeline::new("titanic").execution_plan().unwrap();
    /// assert_eq!(plan.pipeline(), "titanic");
    /// ```
    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// The nodes, in the order they were added to the pipeline (a valid execution order).
    ///
    /// ```
    /// let plan = mlflow_core::prelude::Pipeline::new("doc").execution_plan().unwrap();
    /// assert!(plan.nodes().is_empty());
    /// ```
    pub fn nodes(&self) -> &[PlanNode] {
        &self.nodes
    }

    /// The node with this id.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    /// let mut p = Pipeline::new("doc");
    /// p.param("n_trees", 100u32);
    /// let plan = p.execution_plan().unwrap();
    /// assert_eq!(plan.node("n-trees").unwrap().name, "n_trees");
    /// assert!(plan.node("n_trees").is_none());
    /// ```
    pub fn node(&self, id: &str) -> Option<&PlanNode> {
        self.nodes.iter().find(|node| node.id == id)
    }

    /// A hash of everything in the plan (a canonical encoding of the pipeline's name and, per
    /// node, its id, name, kind, edges, param hash, step identity, options and resources): any
    /// change to the DAG, a param value, a step's code, version, helpers or options changes it;
    /// building the same pipeline again, in any process, does not. Its JSON form is 64 hex digits.
    ///
    /// Like a cache key, it holds the defining crate's name and version, and the hashes of the
    /// helpers each step calls: a step declared in a function body that calls anything but its
    /// module's helpers stands in for them with a value unique to the build (see `#[step]`), so
    /// its plan hash changes with every build; declare steps at module level.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    /// let plan = |seed: u64| {
    ///     let mut p = Pipeline::new("doc");
    ///     p.param("seed", seed);
    ///     p.execution_plan().unwrap().plan_hash()
    /// };
    /// assert_eq!(plan(1), plan(1));
    /// assert_ne!(plan(1), plan(2));
    /// assert_eq!(plan(1).to_hex().len(), 64);
    /// ```
    pub fn plan_hash(&self) -> ContentHash {
        self.plan_hash
    }

    /// Every node after the nodes it depends on (its inputs and the nodes it waits for); among
    /// nodes free to go, the one added first goes first, so a plan built from a pipeline lists its
    /// nodes in the order they were added.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn inc(x: &u64) -> u64 {
    ///     x + 1
    /// }
    ///
    /// let mut p = Pipeline::new("doc");
    /// let x = p.param("x", 1u64);
    /// let y = p.step(IncStep, x);
    /// p.step(IncStep, y);
    /// let plan = p.execution_plan().unwrap();
    /// let order: Vec<&str> = plan.topological_order().iter().map(|n| n.name.as_str()).collect();
    /// assert_eq!(order, ["x", "inc", "inc#2"]);
    /// ```
    pub fn topological_order(&self) -> Vec<&PlanNode> {
        // A plan is checked acyclic when it is built or read back.
        order(&self.nodes)
            .expect("an execution plan is acyclic")
            .into_iter()
            .map(|i| &self.nodes[i])
            .collect()
    }

    /// The plan as pretty-printed JSON.
    ///
    /// ```
    /// let plan = mlflow_core::prelude::Pipeline::new("doc").execution_plan().unwrap();
    /// assert!(plan.to_json().contains("\"plan_hash\""));
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an execution plan is representable as JSON")
    }

    /// Reads a plan back from its JSON form, checking it ([`PlanError`] says what is wrong).
    ///
    /// ```
    /// use mlflow_core::exec_plan::{ExecutionPlan, PlanError};
    /// let plan = mlflow_core::prelude::Pipeline::new("doc").execution_plan().unwrap();
    /// assert_eq!(ExecutionPlan::from_json(&plan.to_json()).unwrap(), plan);
    /// let edited = plan.to_json().replace("\"doc\"", "\"other\"");
    /// let error = ExecutionPlan::from_json(&edited).unwrap_err();
    /// assert!(matches!(error, PlanError::HashMismatch { .. }), "{error}");
    /// ```
    pub fn from_json(json: &str) -> std::result::Result<Self, PlanError> {
        let raw: RawPlan =
            serde_json::from_str(json).map_err(|e| PlanError::Json { message: e.to_string() })?;
        ExecutionPlan::try_from(raw)
    }
}
