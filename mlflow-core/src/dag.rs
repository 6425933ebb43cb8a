//! The pipeline builder: typed node handles, params as nodes, compile-time-checked wiring, and
//! drawings of the DAG.

use std::any::type_name;
use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::artifact::{AnyArtifact, Artifact};
use crate::codec::{self, CodecError, ContentHash};
use crate::step::{CrateId, HelperHash, Step, StepError, StepInputs, StepOptions, fold_helpers};

pub use crate::map::{MapInput, MapWiresInto};

static NEXT_PIPELINE_ID: AtomicU64 = AtomicU64::new(1);

/// A typed handle to a node's output. Cheap to copy: using a node twice is fan-out.
///
/// ```
/// use mlflow_core::prelude::*;
/// let mut p = Pipeline::new("doc");
/// let n: Node<u32> = p.param("n", 3u32);
/// let again = n; // Copy
/// assert_eq!(p.node_name(again), Some("n"));
/// ```
pub struct Node<T> {
    pub(crate) pipeline: u64,
    pub(crate) index: usize,
    _output: PhantomData<fn() -> T>,
}

impl<T> Node<T> {
    fn new(pipeline: u64, index: usize) -> Self {
        Node { pipeline, index, _output: PhantomData }
    }
}

impl<T> Clone for Node<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Node<T> {}

impl<T> fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node<{}>(#{} of pipeline {})", type_name::<T>(), self.index, self.pipeline)
    }
}

/// Connects node handles to a step's inputs. rustc checks it: wiring a `Node<A>` where the step
/// expects a `B`, or the wrong number of nodes, does not compile.
///
/// Implemented for `()` (no inputs), `Node<A>` (one input), and tuples of up to 12 nodes. A
/// mistake is reported by what it is: "input 2 of this step expects `Node<String>`, but was given
/// `Node<u32>`" (the first input, in argument order, whose type differs), or "3 nodes given, 2
/// expected".
///
/// ```
/// use mlflow_core::prelude::*;
/// use mlflow_core::dag::WiresInto;
/// fn wire<I: WiresInto<(u32, String)>>(inputs: I) -> usize { inputs.endpoints().len() }
/// let mut p = Pipeline::new("doc");
/// let n = p.param("n", 1u32);
/// let s = p.param("s", String::from("x"));
/// assert_eq!(wire((n, s)), 2);
/// ```
///
/// ```compile_fail
/// use mlflow_core::prelude::*;
/// use mlflow_core::dag::WiresInto;
/// fn wire<I: WiresInto<(String,)>>(_: I) {}
/// let mut p = Pipeline::new("doc");
/// let n = p.param("n", 1u32);
/// wire(n); // a Node<u32> cannot feed a String input
/// ```
#[diagnostic::on_unimplemented(
    message = "these nodes cannot be wired into this step: it expects inputs of types `{Inputs}`, but was given `{Self}`",
    label = "expected nodes carrying `{Inputs}`, found `{Self}`",
    note = "a step with no input takes `()`, one input `Node<A>`, several `(Node<A>, Node<B>, ...)` in the order of the function's arguments"
)]
pub trait WiresInto<Inputs: StepInputs> {
    /// The pipeline ids and node indices, in input order.
    fn endpoints(&self) -> Vec<(u64, usize)>;
}

/// The traits behind the messages of [`WiresInto`]: each wiring mistake fails one of them, and
/// its `on_unimplemented` message says what is wrong. They cannot be implemented outside this
/// module (`Node` is the only type with positional impls, the count check has none).
mod wiring {
    use super::Node;

    /// `Node<T>` is input `P` of a step expecting `Expected`. `Next` threads the following node
    /// through, so that only the first mismatched position is reported: the check of input
    /// `P + 1` is stated on `<Self as InputAt<P, Expected, Next>>::Next`, which exists only when
    /// input `P` matches.
    #[diagnostic::on_unimplemented(
        message = "input {P} of this step expects `Node<{Expected}>`, but was given `{Self}`",
        label = "input {P} must be a `Node<{Expected}>`",
        note = "nodes are wired to a step's inputs in the order of the step function's arguments, counting from 1"
    )]
    pub trait InputAt<const P: usize, Expected, Next = ()> {
        type Next;
    }

    impl<const P: usize, T, Next> InputAt<P, T, Next> for Node<T> {
        type Next = Next;
    }

    /// A single `Node<Given>` wired into a one-input step expecting `Expected` (stated on the
    /// inputs tuple, so that rustc reports this message rather than the generic one).
    #[diagnostic::on_unimplemented(
        message = "input {P} of this step expects `Node<{Expected}>`, but was given `Node<{Given}>`",
        label = "input {P} must be a `Node<{Expected}>`",
        note = "nodes are wired to a step's inputs in the order of the step function's arguments, counting from 1"
    )]
    pub trait OnlyInput<const P: usize, Expected, Given> {}

    impl<T> OnlyInput<1, T, T> for (T,) {}

    /// Never implemented: `G` nodes were wired into a step taking `E` inputs. Stated on the pair
    /// (types given, types expected), which always names a type parameter, so that the bound is
    /// checked where the impl is used rather than where it is defined.
    #[diagnostic::on_unimplemented(
        message = "{G} nodes given, {E} expected: this step takes {E} inputs",
        label = "{G} nodes given, {E} expected",
        note = "a step with no input takes `()`, one input `Node<A>`, several `(Node<A>, Node<B>, ...)`: one node per argument of the step function, in order"
    )]
    pub trait NodeCount<const G: usize, const E: usize> {}

    /// The counts agree (the only case that holds; it is never required, since the impls that
    /// require `NodeCount` are those for different counts).
    impl<Given, Expected, const N: usize> NodeCount<N, N> for (Given, Expected) {}
}

use wiring::{InputAt, NodeCount, OnlyInput};

impl WiresInto<()> for () {
    fn endpoints(&self) -> Vec<(u64, usize)> {
        Vec::new()
    }
}

impl<X, A: Artifact> WiresInto<(A,)> for Node<X>
where
    (A,): OnlyInput<1, A, X>,
{
    fn endpoints(&self) -> Vec<(u64, usize)> {
        vec![(self.pipeline, self.index)]
    }
}

/// `impl WiresInto<(A, B, ...)> for (Node<X0>, Node<X1>, ...)`: input `k` is checked on the type
/// that input `k - 1` hands on, so rustc reports the first mismatch only.
macro_rules! impl_wires_into {
    ($(($x:ident, $t:ident, $idx:tt, $p:literal)),+) => {
        impl_wires_into!(@chain [$(($x, $t, $idx, $p))+] [$(($x, $t, $idx))+] [] Node<impl_wires_into!(@first $($x)+)>);
    };
    (@first $first:ident $($rest:ident)*) => { $first };
    // The last input: nothing to hand on.
    (@chain [($x:ident, $t:ident, $idx:tt, $p:literal)] [$(($ax:ident, $at:ident, $aidx:tt))+] [$($bounds:tt)*] $given:ty) => {
        impl<$($ax,)+ $($at: Artifact,)+> WiresInto<($($at,)+)> for ($(Node<$ax>,)+)
        where
            $($bounds)*
            $given: InputAt<$p, $t>,
        {
            fn endpoints(&self) -> Vec<(u64, usize)> {
                vec![$((self.$aidx.pipeline, self.$aidx.index)),+]
            }
        }
    };
    (@chain [($x:ident, $t:ident, $idx:tt, $p:literal) ($nx:ident, $nt:ident, $nidx:tt, $np:literal) $($rest:tt)*] [$($all:tt)+] [$($bounds:tt)*] $given:ty) => {
        impl_wires_into!(@chain
            [($nx, $nt, $nidx, $np) $($rest)*]
            [$($all)+]
            [$($bounds)* $given: InputAt<$p, $t, Node<$nx>>,]
            <$given as InputAt<$p, $t, Node<$nx>>>::Next
        );
    };
}

impl_wires_into!((X0, A, 0, 1));
impl_wires_into!((X0, A, 0, 1), (X1, B, 1, 2));
impl_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3));
impl_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3), (X3, D, 3, 4));
impl_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3), (X3, D, 3, 4), (X4, E, 4, 5));
impl_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3), (X3, D, 3, 4), (X4, E, 4, 5), (X5, F, 5, 6));
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7)
);
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8)
);
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8),
    (X8, I, 8, 9)
);
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8),
    (X8, I, 8, 9),
    (X9, J, 9, 10)
);
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8),
    (X8, I, 8, 9),
    (X9, J, 9, 10),
    (X10, K, 10, 11)
);
impl_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8),
    (X8, I, 8, 9),
    (X9, J, 9, 10),
    (X10, K, 10, 11),
    (X11, L, 11, 12)
);

/// The wrong number of nodes: for every pair of shapes (given, expected) with different counts,
/// an impl whose bound names both counts and can never hold.
macro_rules! impl_wrong_counts {
    // A shape: (count; the given node tuples' type parameters; the expected tuple's).
    (@one ($g:literal; [$($x:ident)*]; [$($gt:ident)*]) ($e:literal; [$($ex:ident)*]; [$($t:ident)*])) => {
        impl<$($x,)* $($t,)*> WiresInto<($($t,)*)> for ($(Node<$x>,)*)
        where
            ($($t,)*): StepInputs,
            (($($x,)*), ($($t,)*)): NodeCount<$g, $e>,
        {
            fn endpoints(&self) -> Vec<(u64, usize)> {
                Vec::new()
            }
        }
    };
    () => {};
    ($head:tt $($rest:tt)*) => {
        $(
            impl_wrong_counts!(@one $head $rest);
            impl_wrong_counts!(@one $rest $head);
        )*
        impl_wrong_counts!($($rest)*);
    };
}

// A single bare `Node<X>` given to a step that does not take exactly one input.
macro_rules! impl_wrong_counts_single {
    ($(($e:literal; [$($t:ident)*])),*) => {
        $(
            impl<X, $($t,)*> WiresInto<($($t,)*)> for Node<X>
            where
                ($($t,)*): StepInputs,
                (X, ($($t,)*)): NodeCount<1, $e>,
            {
                fn endpoints(&self) -> Vec<(u64, usize)> {
                    Vec::new()
                }
            }
        )*
    };
}

impl_wrong_counts!(
    (0; []; [])
    (1; [X0]; [A])
    (2; [X0 X1]; [A B])
    (3; [X0 X1 X2]; [A B C])
    (4; [X0 X1 X2 X3]; [A B C D])
    (5; [X0 X1 X2 X3 X4]; [A B C D E])
    (6; [X0 X1 X2 X3 X4 X5]; [A B C D E F])
    (7; [X0 X1 X2 X3 X4 X5 X6]; [A B C D E F G])
    (8; [X0 X1 X2 X3 X4 X5 X6 X7]; [A B C D E F G H])
    (9; [X0 X1 X2 X3 X4 X5 X6 X7 X8]; [A B C D E F G H I])
    (10; [X0 X1 X2 X3 X4 X5 X6 X7 X8 X9]; [A B C D E F G H I J])
    (11; [X0 X1 X2 X3 X4 X5 X6 X7 X8 X9 X10]; [A B C D E F G H I J K])
    (12; [X0 X1 X2 X3 X4 X5 X6 X7 X8 X9 X10 X11]; [A B C D E F G H I J K L])
);

impl_wrong_counts_single!(
    (0; []),
    (2; [A B]),
    (3; [A B C]),
    (4; [A B C D]),
    (5; [A B C D E]),
    (6; [A B C D E F]),
    (7; [A B C D E F G]),
    (8; [A B C D E F G H]),
    (9; [A B C D E F G H I]),
    (10; [A B C D E F G H I J]),
    (11; [A B C D E F G H I J K]),
    (12; [A B C D E F G H I J K L])
);

/// A wiring mistake rustc could not see: found when the pipeline is run or planned.
///
/// ```
/// use mlflow_core::{dag::WiringError, prelude::*};
/// let mut p = Pipeline::new("dupes");
/// p.param("x", 1u32);
/// p.param("x", 2u32);
/// let errors = p.check().unwrap_err();
/// assert!(matches!(&errors[0], WiringError::DuplicateName { name, .. } if name == "x"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WiringError {
    /// A node handle of one pipeline was used in another.
    #[error(
        "pipeline `{pipeline}`: input {position} of step `{step}` is a node of another pipeline; use nodes returned by this pipeline's `param`/`step`"
    )]
    ForeignNode {
        /// The pipeline being built.
        pipeline: String,
        /// The step whose input was wrong.
        step: String,
        /// 1-based input position.
        position: usize,
    },
    /// Two params share a name.
    #[error("pipeline `{pipeline}`: two nodes are named `{name}`; give params and named steps unique names")]
    DuplicateName {
        /// The pipeline being built.
        pipeline: String,
        /// The repeated name.
        name: String,
    },
    /// [`Pipeline::wait_for`] was given a node of another pipeline.
    #[error(
        "pipeline `{pipeline}`: `wait_for` was given a node of another pipeline; use nodes returned by this pipeline's `param`/`step`"
    )]
    ForeignWait {
        /// The pipeline being built.
        pipeline: String,
    },
    /// [`Pipeline::wait_for`] asked a param to wait.
    #[error(
        "pipeline `{pipeline}`: `{node}` is a param, and only steps wait; pass the step that needs `{upstream}` first"
    )]
    ParamWaits {
        /// The pipeline being built.
        pipeline: String,
        /// The param.
        node: String,
        /// What it was asked to wait for.
        upstream: String,
    },
    /// [`Pipeline::wait_for`] asked a step to wait for itself or for a node added after it.
    #[error(
        "pipeline `{pipeline}`: step `{node}` cannot wait for `{upstream}`, which was added after it (or is itself); add the step to wait for before the step that waits"
    )]
    WaitsForLater {
        /// The pipeline being built.
        pipeline: String,
        /// The step that would wait.
        node: String,
        /// What it was asked to wait for.
        upstream: String,
    },
    /// [`Pipeline::map`] was given no `Node<Vec<T>>` input to map over.
    #[error(
        "pipeline `{pipeline}`: `map` of step `{step}` has no `Node<Vec<T>>` input to run once per element; pass the list as the input the step takes one element of, or use `step`"
    )]
    NothingToMap {
        /// The pipeline being built.
        pipeline: String,
        /// The mapped node.
        step: String,
    },
    /// [`Pipeline::set_resources`] was given a param or a node of another pipeline.
    #[error(
        "pipeline `{pipeline}`: `set_resources` was given {node}, and only this pipeline's steps ask for resources; pass a node returned by its `step`, `map` or `collect`"
    )]
    NotAStepNode {
        /// The pipeline being built.
        pipeline: String,
        /// What was given: ``param `name` `` or `a node of another pipeline`.
        node: String,
    },
    /// A param value could not be encoded.
    #[error("pipeline `{pipeline}`: param `{name}` cannot be encoded: {message}")]
    ParamEncode {
        /// The pipeline being built.
        pipeline: String,
        /// The param.
        name: String,
        /// What the encoder said.
        message: String,
    },
}

/// The identity of a step as the cache sees it (everything in its key but the inputs).
#[derive(Clone, Debug)]
pub(crate) struct StepIdentity {
    pub name: &'static str,
    pub code_hash: ContentHash,
    pub version: u32,
    /// [`fold_helpers`] of `helpers`.
    pub deps_hash: ContentHash,
    /// Every helper the step depends on ([`Step::helpers`]).
    pub helpers: Vec<HelperHash>,
    pub krate: CrateId,
    pub options: StepOptions,
}

/// A step with its types erased, as the executor drives it.
pub(crate) trait ErasedStep: Send + Sync {
    fn identity(&self) -> StepIdentity;
    fn run(&self, inputs: &[AnyArtifact]) -> Result<AnyArtifact, StepError>;
    fn encode(&self, output: &AnyArtifact) -> Result<Vec<u8>, CodecError>;
    fn decode(&self, bytes: &[u8], limit: u64) -> Result<AnyArtifact, CodecError>;
    /// For a mapped node ([`Pipeline::map`]), what its tasks need.
    fn mapped(&self) -> Option<&dyn crate::map::ErasedMap> {
        None
    }
    /// Whether this is the fan-in of [`Pipeline::collect`] (for the execution plan).
    fn is_collect(&self) -> bool {
        false
    }
}

pub(crate) struct Erased<S>(pub(crate) S);

impl<S: Step> ErasedStep for Erased<S> {
    fn identity(&self) -> StepIdentity {
        let helpers = S::helpers();
        StepIdentity {
            name: S::NAME,
            code_hash: S::CODE_HASH,
            version: S::VERSION,
            deps_hash: fold_helpers(&helpers),
            helpers,
            krate: S::CRATE,
            options: S::OPTIONS,
        }
    }

    fn run(&self, inputs: &[AnyArtifact]) -> Result<AnyArtifact, StepError> {
        let refs = S::Inputs::downcast(inputs).ok_or_else(|| {
            StepError::new(format!(
                "internal error: inputs of step `{}` do not have the types `{}`",
                S::NAME,
                type_name::<S::Inputs>()
            ))
        })?;
        let output = self.0.call(refs)?;
        Ok(Arc::new(output))
    }

    fn encode(&self, output: &AnyArtifact) -> Result<Vec<u8>, CodecError> {
        encode_erased::<S::Output>(output)
    }

    fn decode(&self, bytes: &[u8], limit: u64) -> Result<AnyArtifact, CodecError> {
        Ok(Arc::new(codec::decode::<S::Output>(bytes, limit)?))
    }
}

fn encode_erased<T: Artifact>(value: &AnyArtifact) -> Result<Vec<u8>, CodecError> {
    match value.downcast_ref::<T>() {
        Some(v) => codec::encode(v),
        None => Err(CodecError::Encode {
            type_name: type_name::<T>(),
            message: "internal error: value has another type".into(),
        }),
    }
}

/// The step behind [`Pipeline::collect`]: its inputs, in order, as one `Vec`.
struct Collect<T>(PhantomData<fn() -> T>);

/// The code of [`Collect`] as the cache sees it; bump the version if what it stores changes.
const COLLECT_CODE: &[u8] = b"mlflow-core/collect/v1";

impl<T: Artifact + Clone> ErasedStep for Collect<T> {
    fn identity(&self) -> StepIdentity {
        StepIdentity {
            name: "collect",
            code_hash: ContentHash::of(COLLECT_CODE),
            version: 1,
            deps_hash: fold_helpers(&[]),
            helpers: Vec::new(),
            krate: CrateId { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
            options: StepOptions::DEFAULT,
        }
    }

    fn run(&self, inputs: &[AnyArtifact]) -> Result<AnyArtifact, StepError> {
        let items = inputs
            .iter()
            .map(|input| {
                input.downcast_ref::<T>().cloned().ok_or_else(|| {
                    StepError::new(format!(
                        "internal error: an input of `collect` is not a `{}`",
                        type_name::<T>()
                    ))
                })
            })
            .collect::<Result<Vec<T>, StepError>>()?;
        Ok(Arc::new(items))
    }

    fn encode(&self, output: &AnyArtifact) -> Result<Vec<u8>, CodecError> {
        encode_erased::<Vec<T>>(output)
    }

    fn decode(&self, bytes: &[u8], limit: u64) -> Result<AnyArtifact, CodecError> {
        Ok(Arc::new(codec::decode::<Vec<T>>(bytes, limit)?))
    }

    fn is_collect(&self) -> bool {
        true
    }
}

pub(crate) enum NodeKind {
    Param {
        value: AnyArtifact,
        hash: ContentHash,
        json: String,
    },
    Step {
        step: Arc<dyn ErasedStep>,
        inputs: Vec<usize>,
        identity: StepIdentity,
        /// Steps this one runs after without taking their outputs ([`Pipeline::wait_for`]).
        waits_for: Vec<usize>,
    },
}

pub(crate) struct NodeSpec {
    pub name: String,
    pub type_name: &'static str,
    pub kind: NodeKind,
}

/// A DAG of params and steps, built with typed handles and run against a [`Store`](crate::store::Store).
///
/// Nodes can only refer to nodes created before them, so a pipeline is acyclic by construction
/// and its nodes are always in a valid execution order.
///
/// ```
/// use mlflow_core::prelude::*;
/// let mut p = Pipeline::new("shapes");
/// let side = p.param("side", 3.0f64);
/// assert_eq!(p.name(), "shapes");
/// assert!(p.to_mermaid().contains("side"));
/// # let _ = side;
/// ```
pub struct Pipeline {
    id: u64,
    pub(crate) name: String,
    pub(crate) nodes: Vec<NodeSpec>,
    names: HashSet<String>,
    pub(crate) errors: Vec<WiringError>,
}

impl Pipeline {
    /// An empty pipeline. The name groups its runs in the store and in `plan` comparisons.
    pub fn new(name: impl Into<String>) -> Self {
        Pipeline {
            id: NEXT_PIPELINE_ID.fetch_add(1, Ordering::Relaxed),
            name: name.into(),
            nodes: Vec::new(),
            names: HashSet::new(),
            errors: Vec::new(),
        }
    }

    /// Appends a node built elsewhere (its inputs must be earlier nodes), keeping names unique.
    pub(crate) fn push_node(&mut self, node: NodeSpec) {
        self.names.insert(node.name.clone());
        self.nodes.push(node);
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a param: a named input value, hashed by content and recorded with every run.
    /// Changing its value invalidates exactly the steps downstream of it. Node names (params and
    /// steps) must be unique.
    ///
    /// The hash is the value's [`codec::identity_hash`]: fields marked
    /// `#[serde(with = "mlflow_core::codec::location")]` (a path, a URL) are recorded with the
    /// run but do not count, so the same content somewhere else hits the cache.
    pub fn param<T: Artifact>(&mut self, name: impl Into<String>, value: T) -> Node<T> {
        let name = name.into();
        if self.names.contains(&name) {
            self.errors.push(WiringError::DuplicateName { pipeline: self.name.clone(), name: name.clone() });
        }
        // Keyed by content: `location` fields (where the value is) do not count.
        let hash = match codec::identity_hash(&value) {
            Ok(hash) => hash,
            Err(e) => {
                self.errors.push(WiringError::ParamEncode {
                    pipeline: self.name.clone(),
                    name: name.clone(),
                    message: e.to_string(),
                });
                ContentHash::from_bytes([0; 32])
            }
        };
        let json = param_json(&value);
        self.push(name, type_name::<T>(), NodeKind::Param { value: Arc::new(value), hash, json })
    }

    /// Adds a step fed by `inputs`: `()`, one node, or a tuple of nodes in argument order.
    ///
    /// The node is named after the step; a step used several times gets `name#2`, `name#3`...
    /// (or choose names with [`Pipeline::step_named`]).
    pub fn step<S: Step, I: WiresInto<S::Inputs>>(&mut self, step: S, inputs: I) -> Node<S::Output> {
        let name = self.unused_name(S::NAME);
        self.step_named(name, step, inputs)
    }

    /// Like [`Pipeline::step`], with an explicit node name (shown in reports, used by `plan` to find
    /// the node's previous runs).
    pub fn step_named<S: Step, I: WiresInto<S::Inputs>>(
        &mut self,
        name: impl Into<String>,
        step: S,
        inputs: I,
    ) -> Node<S::Output> {
        let name = name.into();
        let inputs = self.input_indices(&name, inputs.endpoints());
        self.push_step(name, type_name::<S::Output>(), Arc::new(Erased(step)), inputs)
    }

    /// Fan-in: a node carrying the outputs of `nodes`, in the order given, as one `Vec` (named
    /// `collect`, `collect#2`, ...; or choose with [`Pipeline::collect_named`]). A step taking
    /// `&Vec<T>` then works on any number of upstream results, such as one per trained model.
    ///
    /// It is a step of its own, cached like any other: its key is the content of its inputs, so
    /// it reruns, and its dependents with it, only when one of them changed.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn square(x: &u64) -> u64 {
    ///     x * x
    /// }
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn total(xs: &Vec<u64>) -> u64 {
    ///     xs.iter().sum()
    /// }
    ///
    /// fn main() -> mlflow_core::Result<()> {
    ///     let mut p = Pipeline::new("fan-in");
    ///     let squares: Vec<Node<u64>> = (1..=3u64)
    ///         .map(|i| {
    ///             let x = p.param(format!("x{i}"), i);
    ///             p.step(SquareStep, x)
    ///         })
    ///         .collect();
    ///     let all = p.collect(squares);
    ///     let sum = p.step(TotalStep, all);
    ///     let dir = tempfile::tempdir().unwrap();
    ///     let report = p.run(&Store::open(dir.path())?)?;
    ///     assert_eq!(*report.get(all)?, [1, 4, 9]);
    ///     assert_eq!(*report.get(sum)?, 14);
    ///     Ok(())
    /// }
    /// ```
    pub fn collect<T: Artifact + Clone>(&mut self, nodes: impl IntoIterator<Item = Node<T>>) -> Node<Vec<T>> {
        let name = self.unused_name("collect");
        self.collect_named(name, nodes)
    }

    /// Like [`Pipeline::collect`], with an explicit node name.
    pub fn collect_named<T: Artifact + Clone>(
        &mut self,
        name: impl Into<String>,
        nodes: impl IntoIterator<Item = Node<T>>,
    ) -> Node<Vec<T>> {
        let name = name.into();
        let endpoints = nodes.into_iter().map(|n| (n.pipeline, n.index)).collect();
        let inputs = self.input_indices(&name, endpoints);
        self.push_step(name, type_name::<Vec<T>>(), Arc::new(Collect::<T>(PhantomData)), inputs)
    }

    /// An ordering-only edge: step `node` runs after `upstream` and is skipped if `upstream`
    /// fails, without taking its output as an input. Its cache key does not change with
    /// `upstream`'s output (it does not read it): use it for a gate, such as a validation step
    /// that must pass before training starts. Returns `node`, for chaining.
    ///
    /// `upstream` must have been added before `node` (pipelines stay acyclic by construction).
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn check(rows: &Vec<f64>) -> Result<usize, std::io::Error> {
    ///     match rows.iter().all(|r| r.is_finite()) {
    ///         true => Ok(rows.len()),
    ///         false => Err(std::io::Error::other("a row is not finite")),
    ///     }
    /// }
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn mean(rows: &Vec<f64>) -> f64 {
    ///     rows.iter().sum::<f64>() / rows.len() as f64
    /// }
    ///
    /// fn main() -> mlflow_core::Result<()> {
    ///     let dir = tempfile::tempdir().unwrap();
    ///     let store = Store::open(dir.path())?;
    ///     for (rows, passes) in [(vec![1.0, 3.0], true), (vec![1.0, f64::NAN], false)] {
    ///         let mut p = Pipeline::new("gated");
    ///         let rows = p.param("rows", rows);
    ///         let checked = p.step(CheckStep, rows);
    ///         let mean = p.step(MeanStep, rows);
    ///         p.wait_for(mean, checked);
    ///         let report = p.run(&store)?;
    ///         assert_eq!(report.get(mean).is_ok(), passes);
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub fn wait_for<T, U>(&mut self, node: Node<T>, upstream: Node<U>) -> Node<T> {
        if !self.owns(node) || !self.owns(upstream) {
            self.errors.push(WiringError::ForeignWait { pipeline: self.name.clone() });
            return node;
        }
        let (name, upstream_name) =
            (self.nodes[node.index].name.clone(), self.nodes[upstream.index].name.clone());
        match &mut self.nodes[node.index].kind {
            NodeKind::Param { .. } => self.errors.push(WiringError::ParamWaits {
                pipeline: self.name.clone(),
                node: name,
                upstream: upstream_name,
            }),
            NodeKind::Step { .. } if upstream.index >= node.index => {
                self.errors.push(WiringError::WaitsForLater {
                    pipeline: self.name.clone(),
                    node: name,
                    upstream: upstream_name,
                })
            }
            NodeKind::Step { waits_for, .. } => {
                if !waits_for.contains(&upstream.index) {
                    waits_for.push(upstream.index);
                }
            }
        }
        node
    }

    /// `base`, or `base#2`, `base#3`... if taken.
    pub(crate) fn unused_name(&self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{base}#{n}");
        }
        name
    }

    /// The node indices of a step's inputs; a node of another pipeline is a wiring error.
    pub(crate) fn input_indices(&mut self, step: &str, endpoints: Vec<(u64, usize)>) -> Vec<usize> {
        let mut indices = Vec::with_capacity(endpoints.len());
        for (position, (pipeline, index)) in endpoints.into_iter().enumerate() {
            if pipeline != self.id || index >= self.nodes.len() {
                self.errors.push(WiringError::ForeignNode {
                    pipeline: self.name.clone(),
                    step: step.to_owned(),
                    position: position + 1,
                });
            } else {
                indices.push(index);
            }
        }
        indices
    }

    pub(crate) fn push_step<T>(
        &mut self,
        name: String,
        type_name: &'static str,
        step: Arc<dyn ErasedStep>,
        inputs: Vec<usize>,
    ) -> Node<T> {
        if self.names.contains(&name) {
            self.errors.push(WiringError::DuplicateName { pipeline: self.name.clone(), name: name.clone() });
        }
        let identity = step.identity();
        self.push(name, type_name, NodeKind::Step { step, inputs, identity, waits_for: Vec::new() })
    }

    fn push<T>(&mut self, name: String, type_name: &'static str, kind: NodeKind) -> Node<T> {
        self.names.insert(name.clone());
        self.nodes.push(NodeSpec { name, type_name, kind });
        Node::new(self.id, self.nodes.len() - 1)
    }

    /// The helpers whose code is part of a step node's cache key ([`Step::helpers`]): `None` for
    /// a param or a node of another pipeline.
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::helper(crate = mlflow_core)]
    /// fn twice(x: u64) -> u64 {
    ///     x * 2
    /// }
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn quadruple(x: &u64) -> u64 {
    ///     twice(twice(*x))
    /// }
    ///
    /// fn main() {
    ///     let mut p = Pipeline::new("doc");
    ///     let x = p.param("x", 1u64);
    ///     let y = p.step(QuadrupleStep, x);
    ///     let helpers = p.helpers_of(y).unwrap();
    ///     assert_eq!(helpers.len(), 1);
    ///     assert_eq!(helpers[0].name, "twice");
    ///     assert!(p.helpers_of(x).is_none());
    /// }
    /// ```
    ///
    /// (The items sit outside `main`: a step declared in a function body cannot see helpers
    /// declared in that body, and stands in for them with a value unique to the build.)
    pub fn helpers_of<T>(&self, node: Node<T>) -> Option<&[HelperHash]> {
        if !self.owns(node) {
            return None;
        }
        match &self.nodes[node.index].kind {
            NodeKind::Step { identity, .. } => Some(&identity.helpers),
            NodeKind::Param { .. } => None,
        }
    }

    /// The name of a node of this pipeline, `None` for a node of another pipeline.
    pub fn node_name<T>(&self, node: Node<T>) -> Option<&str> {
        self.owns(node).then(|| self.nodes[node.index].name.as_str())
    }

    pub(crate) fn owns<T>(&self, node: Node<T>) -> bool {
        node.pipeline == self.id && node.index < self.nodes.len()
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Every wiring mistake found while building, or `Ok` if there is none.
    pub fn check(&self) -> Result<(), Vec<WiringError>> {
        if self.errors.is_empty() { Ok(()) } else { Err(self.errors.clone()) }
    }

    /// The DAG as a Mermaid flowchart (params as rounded nodes, steps as boxes, mapped steps
    /// ([`Pipeline::map`]) as double-edged boxes, ordering-only edges of [`Pipeline::wait_for`]
    /// dotted).
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, node) in self.nodes.iter().enumerate() {
            let label = escape_label(&node.name);
            match &node.kind {
                NodeKind::Param { .. } => writeln!(out, "    n{i}([\"{label}\"])"),
                NodeKind::Step { step, .. } if step.mapped().is_some() => {
                    writeln!(out, "    n{i}[[\"{label}\"]]")
                }
                NodeKind::Step { .. } => writeln!(out, "    n{i}[\"{label}\"]"),
            }
            .expect("writing to a String cannot fail");
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if let NodeKind::Step { inputs, waits_for, .. } = &node.kind {
                for input in inputs {
                    writeln!(out, "    n{input} --> n{i}").expect("writing to a String cannot fail");
                }
                for upstream in waits_for {
                    writeln!(out, "    n{upstream} -.-> n{i}").expect("writing to a String cannot fail");
                }
            }
        }
        out
    }

    /// The DAG in Graphviz DOT (params as ellipses, steps as boxes, mapped steps as stacked
    /// boxes, ordering-only edges dashed).
    pub fn to_dot(&self) -> String {
        let mut out = format!("digraph \"{}\" {{\n    rankdir=LR;\n", escape_label(&self.name));
        for (i, node) in self.nodes.iter().enumerate() {
            let shape = match &node.kind {
                NodeKind::Param { .. } => "ellipse",
                NodeKind::Step { step, .. } if step.mapped().is_some() => "box3d",
                NodeKind::Step { .. } => "box",
            };
            writeln!(
                out,
                "    n{i} [label=\"{}\\n{}\", shape={shape}];",
                escape_label(&node.name),
                escape_label(node.type_name)
            )
            .expect("writing to a String cannot fail");
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if let NodeKind::Step { inputs, waits_for, .. } = &node.kind {
                for input in inputs {
                    writeln!(out, "    n{input} -> n{i};").expect("writing to a String cannot fail");
                }
                for upstream in waits_for {
                    writeln!(out, "    n{upstream} -> n{i} [style=dashed];")
                        .expect("writing to a String cannot fail");
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// The longest rendering of a param value kept with a run.
const PARAM_JSON_LIMIT: usize = 512;

/// A param value as JSON, for run records, reports and filters; long values are cut with `…`.
fn param_json<T: Artifact>(value: &T) -> String {
    let mut json =
        serde_json::to_string(value).unwrap_or_else(|e| format!("<not representable as JSON: {e}>"));
    if json.len() > PARAM_JSON_LIMIT {
        let mut cut = PARAM_JSON_LIMIT;
        while !json.is_char_boundary(cut) {
            cut -= 1;
        }
        json.truncate(cut);
        json.push('…');
    }
    json
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("name", &self.name)
            .field("nodes", &self.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}
