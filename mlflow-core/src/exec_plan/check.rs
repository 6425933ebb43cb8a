//! Reading a plan back: the checks of its ids, edges and hash, its order, and the hash itself.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::time::Duration;

use serde::Deserialize;

use super::ids::is_label;
use super::{ExecutionPlan, PLAN_FORMAT, PlanNode, PlanNodeKind};
use crate::codec::{ContentHash, Hasher};

/// Why a plan read back (from JSON, say) was refused.
///
/// ```
/// use mlflow_core::exec_plan::{ExecutionPlan, PlanError};
/// let json = r#"{"format":2,"pipeline":"p","nodes":[],"plan_hash":"00"}"#;
/// assert!(matches!(ExecutionPlan::from_json(json), Err(PlanError::Json { .. })));
/// let json = json.replace("\"00\"", &format!("\"{}\"", "0".repeat(64)));
/// assert_eq!(ExecutionPlan::from_json(&json), Err(PlanError::Format { found: 2 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The text is not the JSON form of a plan.
    #[error("not the JSON form of an execution plan: {message}")]
    Json {
        /// What the parser said.
        message: String,
    },
    /// The plan was written in another format version.
    #[error(
        "execution plan format {found} is not supported (this build reads format {PLAN_FORMAT}); export the plan again with this version"
    )]
    Format {
        /// The version found.
        found: u32,
    },
    /// A node id is not a DNS-1123 label.
    #[error(
        "node id `{id}` is not a DNS-1123 label (at most 63 of a-z, 0-9 and `-`, starting with a letter and ending with a letter or digit)"
    )]
    InvalidId {
        /// The id, escaped.
        id: String,
    },
    /// Two nodes share an id.
    #[error("two nodes have the id `{id}`; node ids must be unique")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// An edge names a node that is not in the plan (or the node itself).
    #[error("node `{node}` depends on `{input}`, which is not another node of the plan")]
    UnknownInput {
        /// The node.
        node: String,
        /// The id it names.
        input: String,
    },
    /// The edges form a cycle.
    #[error("the plan's edges form a cycle through `{node}`; a plan must be acyclic")]
    Cycle {
        /// A node on the cycle.
        node: String,
    },
    /// A node's fields do not fit its kind (a param with inputs, a step without its step...).
    #[error("node `{node}` is a {kind} but {problem}")]
    Malformed {
        /// The node.
        node: String,
        /// Its kind.
        kind: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The recorded hash is not the hash of the plan's content: it was edited, or damaged.
    #[error(
        "the plan hash {recorded} does not match its content (which hashes to {computed}); the plan was edited or damaged: export it again"
    )]
    HashMismatch {
        /// The hash in the plan.
        recorded: ContentHash,
        /// The hash of its content.
        computed: ContentHash,
    },
}

/// The form a plan is deserialized from, before it is checked.
#[derive(Deserialize)]
pub(super) struct RawPlan {
    format: u32,
    pipeline: String,
    nodes: Vec<PlanNode>,
    plan_hash: ContentHash,
}

impl TryFrom<RawPlan> for ExecutionPlan {
    type Error = PlanError;

    fn try_from(raw: RawPlan) -> std::result::Result<Self, PlanError> {
        if raw.format != PLAN_FORMAT {
            return Err(PlanError::Format { found: raw.format });
        }
        let mut ids = HashSet::new();
        for node in &raw.nodes {
            if !is_label(&node.id) {
                return Err(PlanError::InvalidId { id: crate::text::escape_controls(&node.id).into_owned() });
            }
            if !ids.insert(node.id.as_str()) {
                return Err(PlanError::DuplicateId { id: node.id.clone() });
            }
            check_kind(node)?;
        }
        for node in &raw.nodes {
            if let Some(input) = node
                .inputs
                .iter()
                .chain(&node.waits_for)
                .find(|&id| *id == node.id || !ids.contains(id.as_str()))
            {
                return Err(PlanError::UnknownInput {
                    node: node.id.clone(),
                    input: crate::text::escape_controls(input).into_owned(),
                });
            }
        }
        order(&raw.nodes).map_err(|node| PlanError::Cycle { node })?;
        let computed = content_hash(raw.format, &raw.pipeline, &raw.nodes);
        if computed != raw.plan_hash {
            return Err(PlanError::HashMismatch { recorded: raw.plan_hash, computed });
        }
        Ok(ExecutionPlan {
            format: raw.format,
            pipeline: raw.pipeline,
            nodes: raw.nodes,
            plan_hash: computed,
        })
    }
}

/// That a node's fields fit its kind.
fn check_kind(node: &PlanNode) -> std::result::Result<(), PlanError> {
    let problem = match node.kind {
        PlanNodeKind::Param if !node.inputs.is_empty() || !node.waits_for.is_empty() => Some("has inputs"),
        PlanNodeKind::Param if node.value_hash.is_none() => Some("has no `value_hash`"),
        PlanNodeKind::Param if node.step.is_some() || node.map.is_some() => Some("has a step"),
        PlanNodeKind::Param => None,
        _ if node.value_hash.is_some() => Some("has a `value_hash`"),
        _ if node.step.is_none() => Some("has no `step`"),
        PlanNodeKind::Map => match &node.map {
            None => Some("has no `map`"),
            Some(map) if map.per_element.len() != node.inputs.len() => {
                Some("its `map.per_element` does not have one entry per input")
            }
            Some(_) => None,
        },
        _ if node.map.is_some() => Some("has a `map`"),
        _ => None,
    };
    match problem {
        Some(problem) => {
            Err(PlanError::Malformed { node: node.id.clone(), kind: node.kind.as_str(), problem })
        }
        None => Ok(()),
    }
}

/// The indices of `nodes` in topological order, the earliest free node first; `Err` with the id
/// of a node on a cycle. Edges to unknown ids are ignored (they are checked apart).
pub(super) fn order(nodes: &[PlanNode]) -> std::result::Result<Vec<usize>, String> {
    let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    let mut waiting = vec![0usize; nodes.len()];
    let mut dependents = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        let mut upstream: Vec<usize> = node
            .inputs
            .iter()
            .chain(&node.waits_for)
            .filter_map(|id| index.get(id.as_str()).copied())
            .collect();
        upstream.sort_unstable();
        upstream.dedup();
        waiting[i] = upstream.len();
        for u in upstream {
            dependents[u].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        waiting.iter().enumerate().filter(|&(_, &w)| w == 0).map(|(i, _)| Reverse(i)).collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(Reverse(i)) = ready.pop() {
        out.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    match waiting.iter().position(|&w| w > 0) {
        Some(stuck) => Err(nodes[stuck].id.clone()),
        None => Ok(out),
    }
}

/// The plan hash: every field of every node, in order, each part length-prefixed under a
/// domain tag with the format version.
pub(super) fn content_hash(format: u32, pipeline: &str, nodes: &[PlanNode]) -> ContentHash {
    fn list(h: Hasher, items: &[String]) -> Hasher {
        items.iter().fold(h.part(&(items.len() as u64).to_le_bytes()), |h, item| h.part(item.as_bytes()))
    }
    fn opt(h: Hasher, value: Option<&[u8]>) -> Hasher {
        match value {
            Some(bytes) => h.part(&[1]).part(bytes),
            None => h.part(&[0]),
        }
    }
    fn nanos(d: Duration) -> [u8; 16] {
        d.as_nanos().to_le_bytes()
    }
    let mut h = Hasher::new(&format!("mlflow/execution-plan/v{format}"))
        .part(pipeline.as_bytes())
        .part(&(nodes.len() as u64).to_le_bytes());
    for node in nodes {
        h = h.part(node.id.as_bytes()).part(node.name.as_bytes()).part(node.kind.as_str().as_bytes());
        h = list(h, &node.inputs);
        h = list(h, &node.waits_for);
        h = opt(h, node.value_hash.as_ref().map(|hash| &hash.as_bytes()[..]));
        h = match &node.step {
            None => h.part(&[0]),
            Some(s) => {
                let h = h
                    .part(&[1])
                    .part(s.name.as_bytes())
                    .part(&s.version.to_le_bytes())
                    .part(s.code_hash.as_bytes())
                    .part(s.helpers_hash.as_bytes())
                    .part(s.crate_name.as_bytes())
                    .part(s.crate_version.as_bytes())
                    .part(&[u8::from(s.cache)])
                    .part(&s.retries.to_le_bytes())
                    .part(&nanos(s.backoff));
                let h = opt(h, s.timeout.map(nanos).as_ref().map(|b| &b[..]));
                let h = opt(h, s.resources.cpu_millis.map(u32::to_le_bytes).as_ref().map(|b| &b[..]));
                opt(h, s.resources.memory_bytes.map(u64::to_le_bytes).as_ref().map(|b| &b[..]))
            }
        };
        h = match &node.map {
            None => h.part(&[0]),
            Some(map) => {
                let flags: Vec<u8> = map.per_element.iter().map(|&b| u8::from(b)).collect();
                let h = h.part(&[1]).part(&flags);
                opt(h, map.max_failed.map(u64::to_le_bytes).as_ref().map(|b| &b[..]))
            }
        };
    }
    h.finish()
}
