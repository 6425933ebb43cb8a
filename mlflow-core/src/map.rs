//! Dynamic fan-out: [`Pipeline::map`] runs a step once per element of a `Node<Vec<T>>`, each
//! element a task with its own cache key, and gathers the outputs, in order, into one
//! `Node<Vec<U>>`.

use std::any::type_name;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::artifact::{AnyArtifact, Artifact};
use crate::codec::{self, CodecError, ContentHash};
use crate::dag::{Erased, ErasedStep, Node, Pipeline, StepIdentity, WiringError};
use crate::step::{Step, StepError, StepInputs};

/// The elements of a mapped input, each with its content hash.
pub(crate) type Elements = Vec<(AnyArtifact, ContentHash)>;

/// Takes a mapped input's `Vec<T>` apart into its elements.
pub(crate) type Splitter = fn(&AnyArtifact) -> Result<Elements, String>;

/// One input of a mapped step, at 1-based position `P` where the step expects an `Expected`:
/// either a `Node<Expected>`, the same value for every task, or a `Node<Vec<Expected>>`, one
/// element per task. rustc picks which from the node's type.
#[diagnostic::on_unimplemented(
    message = "input {P} of this mapped step expects `Node<{Expected}>` (one value for every task) or `Node<Vec<{Expected}>>` (one element per task), but was given `{Self}`",
    label = "input {P} must be a `Node<{Expected}>` or a `Node<Vec<{Expected}>>`",
    note = "`map` runs the step once per element of each `Node<Vec<_>>` input; mapped elements must be `Clone`"
)]
pub trait MapInput<const P: usize, Expected> {
    /// How to take the input apart (`None`: the same value for every task).
    #[doc(hidden)]
    fn splitter() -> Option<Splitter>;
}

impl<const P: usize, A: Artifact> MapInput<P, A> for Node<A> {
    fn splitter() -> Option<Splitter> {
        None
    }
}

impl<const P: usize, A: Artifact + Clone> MapInput<P, A> for Node<Vec<A>> {
    fn splitter() -> Option<Splitter> {
        Some(split::<A>)
    }
}

fn split<A: Artifact + Clone>(value: &AnyArtifact) -> Result<Elements, String> {
    let items = value
        .downcast_ref::<Vec<A>>()
        .ok_or_else(|| format!("internal error: a mapped input is not a `Vec<{}>`", type_name::<A>()))?;
    items
        .iter()
        .map(|item| {
            let hash = codec::identity_hash(item).map_err(|e| e.to_string())?;
            Ok((Arc::new(item.clone()) as AnyArtifact, hash))
        })
        .collect()
}

/// Connects node handles to a mapped step's inputs: like [`WiresInto`](crate::dag::WiresInto),
/// except that any input may be a `Node<Vec<T>>` where the step takes a `T`. rustc checks it.
///
/// Implemented for one node and for tuples of up to 8 nodes.
///
/// ```
/// use mlflow_core::dag::MapWiresInto;
/// use mlflow_core::prelude::*;
/// fn wire<I: MapWiresInto<(u64, String)>>(inputs: I) -> usize { inputs.endpoints().len() }
/// let mut p = Pipeline::new("doc");
/// let xs = p.param("xs", vec![1u64, 2, 3]); // one task per element
/// let label = p.param("label", String::from("x")); // the same for every task
/// assert_eq!(wire((xs, label)), 2);
/// ```
///
/// ```compile_fail
/// use mlflow_core::dag::MapWiresInto;
/// use mlflow_core::prelude::*;
/// fn wire<I: MapWiresInto<(u64,)>>(_: I) {}
/// let mut p = Pipeline::new("doc");
/// let words = p.param("words", vec![String::from("a")]);
/// wire(words); // a list of `String`s cannot feed a `u64` input
/// ```
#[diagnostic::on_unimplemented(
    message = "these nodes cannot be mapped into this step: it expects inputs of types `{Inputs}`, but was given `{Self}`",
    label = "expected one node per input of `{Inputs}`, each `Node<T>` or `Node<Vec<T>>`",
    note = "a step with one input takes `Node<A>` or `Node<Vec<A>>`, several `(Node<A>, Node<Vec<B>>, ...)` in the order of the function's arguments"
)]
pub trait MapWiresInto<Inputs: StepInputs> {
    /// The pipeline ids and node indices, in input order.
    fn endpoints(&self) -> Vec<(u64, usize)>;
    /// How to take each input apart (`None`: the same value for every task).
    #[doc(hidden)]
    fn splitters(&self) -> Vec<Option<Splitter>>;
}

impl<X, A: Artifact> MapWiresInto<(A,)> for Node<X>
where
    Node<X>: MapInput<1, A>,
{
    fn endpoints(&self) -> Vec<(u64, usize)> {
        vec![(self.pipeline, self.index)]
    }

    fn splitters(&self) -> Vec<Option<Splitter>> {
        vec![<Node<X> as MapInput<1, A>>::splitter()]
    }
}

macro_rules! impl_map_wires_into {
    ($(($x:ident, $t:ident, $idx:tt, $p:literal)),+) => {
        impl<$($x,)+ $($t: Artifact,)+> MapWiresInto<($($t,)+)> for ($(Node<$x>,)+)
        where
            $(Node<$x>: MapInput<$p, $t>,)+
        {
            fn endpoints(&self) -> Vec<(u64, usize)> {
                vec![$((self.$idx.pipeline, self.$idx.index)),+]
            }

            fn splitters(&self) -> Vec<Option<Splitter>> {
                vec![$(<Node<$x> as MapInput<$p, $t>>::splitter()),+]
            }
        }
    };
}

impl_map_wires_into!((X0, A, 0, 1));
impl_map_wires_into!((X0, A, 0, 1), (X1, B, 1, 2));
impl_map_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3));
impl_map_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3), (X3, D, 3, 4));
impl_map_wires_into!((X0, A, 0, 1), (X1, B, 1, 2), (X2, C, 2, 3), (X3, D, 3, 4), (X4, E, 4, 5));
impl_map_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6)
);
impl_map_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7)
);
impl_map_wires_into!(
    (X0, A, 0, 1),
    (X1, B, 1, 2),
    (X2, C, 2, 3),
    (X3, D, 3, 4),
    (X4, E, 4, 5),
    (X5, F, 5, 6),
    (X6, G, 6, 7),
    (X7, H, 7, 8)
);

/// What the executor needs of a mapped node beyond a step: the step each task runs, and how to
/// take the inputs apart.
pub(crate) trait ErasedMap: Send + Sync {
    /// The step each task runs (one element in, one element out).
    fn element(&self) -> &Arc<dyn ErasedStep>;
    /// Per input, how to take it apart (`None`: the same value for every task).
    fn splitters(&self) -> &[Option<Splitter>];
    /// For [`Pipeline::try_map`], how many tasks may fail (their outputs are `None`).
    fn max_failed(&self) -> Option<usize>;
}

/// A mapped step as a node: its output is the `Vec` of its tasks' outputs, each an `O`: the
/// step's output, or with failures tolerated an `Option` of it.
struct Mapped<S: Step, O> {
    element: Arc<dyn ErasedStep>,
    splitters: Vec<Option<Splitter>>,
    max_failed: Option<usize>,
    _step: PhantomData<fn() -> (S, O)>,
}

impl<S: Step, O: Artifact> ErasedStep for Mapped<S, O> {
    fn identity(&self) -> StepIdentity {
        // The tasks are keyed as the step itself: a task and a plain run of the step on the same
        // inputs share their cache entry.
        self.element.identity()
    }

    fn run(&self, _inputs: &[AnyArtifact]) -> Result<AnyArtifact, StepError> {
        Err(StepError::new("internal error: a mapped step runs task by task"))
    }

    fn encode(&self, output: &AnyArtifact) -> Result<Vec<u8>, CodecError> {
        match output.downcast_ref::<Vec<O>>() {
            Some(v) => codec::encode(v),
            None => Err(CodecError::Encode {
                type_name: type_name::<Vec<O>>(),
                message: "internal error: value has another type".into(),
            }),
        }
    }

    fn decode(&self, bytes: &[u8], limit: u64) -> Result<AnyArtifact, CodecError> {
        Ok(Arc::new(codec::decode::<Vec<O>>(bytes, limit)?))
    }

    fn mapped(&self) -> Option<&dyn ErasedMap> {
        Some(self)
    }
}

impl<S: Step, O: Artifact> ErasedMap for Mapped<S, O> {
    fn element(&self) -> &Arc<dyn ErasedStep> {
        &self.element
    }

    fn splitters(&self) -> &[Option<Splitter>] {
        &self.splitters
    }

    fn max_failed(&self) -> Option<usize> {
        self.max_failed
    }
}

impl Pipeline {
    /// Dynamic fan-out: runs `step` once per element of each `Node<Vec<T>>` input (where the step
    /// takes a `T`), the other inputs shared by every task, and gives the outputs in order as one
    /// `Node<Vec<U>>`. With several `Vec` inputs, the tasks are every combination of their
    /// elements, the first input's outermost (trial x fold, say).
    ///
    /// Each task is cached as the step itself would be on its inputs: its key is the step's
    /// identity and the content hash of each element with the other inputs, so a rerun runs only
    /// the tasks whose element changed, a longer list runs only its new elements, and a task
    /// that failed is the only one to run again once fixed. The tasks run in parallel on the
    /// run's threads; the mapped node fails if any task fails (the others are kept in the cache).
    /// Its output is the `Vec` of the tasks' outputs, byte for byte what a step returning that
    /// `Vec` would store, so its dependents are keyed on its content like any other node's.
    ///
    /// Mapping over no `Vec` input is a [`WiringError::NothingToMap`].
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn power(x: &u64, exponent: &u32) -> u64 {
    ///     x.pow(*exponent)
    /// }
    ///
    /// fn main() -> mlflow_core::Result<()> {
    ///     let dir = tempfile::tempdir().unwrap();
    ///     let store = Store::open(dir.path())?;
    ///     let build = |xs: Vec<u64>| {
    ///         let mut p = Pipeline::new("powers");
    ///         let xs = p.param("xs", xs);
    ///         let exponent = p.param("exponent", 2u32);
    ///         let squares = p.map(PowerStep, (xs, exponent));
    ///         (p, squares)
    ///     };
    ///     let (p, squares) = build(vec![1, 2, 3]);
    ///     let report = p.run(&store)?;
    ///     assert_eq!(*report.get(squares)?, [1, 4, 9]);
    ///
    ///     // One more element: only its task runs.
    ///     let (p, squares) = build(vec![1, 2, 3, 4]);
    ///     let report = p.run(&store)?;
    ///     assert_eq!(*report.get(squares)?, [1, 4, 9, 16]);
    ///     let tasks = report.step_of(squares).unwrap().tasks.clone().unwrap();
    ///     assert_eq!((tasks.total, tasks.ran, tasks.cached), (4, 1, 3));
    ///     Ok(())
    /// }
    /// ```
    pub fn map<S: Step, I: MapWiresInto<S::Inputs>>(&mut self, step: S, inputs: I) -> Node<Vec<S::Output>> {
        let name = self.unused_name(S::NAME);
        self.map_named(name, step, inputs)
    }

    /// Like [`Pipeline::map`], with an explicit node name.
    pub fn map_named<S: Step, I: MapWiresInto<S::Inputs>>(
        &mut self,
        name: impl Into<String>,
        step: S,
        inputs: I,
    ) -> Node<Vec<S::Output>> {
        self.push_map::<S, S::Output>(name.into(), step, inputs, None)
    }

    /// Like [`Pipeline::map`], except that up to `max_failed` tasks may fail: the output has
    /// `None` where a task failed (and `Some` output elsewhere, in order), and the step's report
    /// lists the failed tasks with their errors ([`TaskCounts::failed`](crate::exec::TaskCounts)).
    /// More failures than that fail the step. A mapped step with failed tasks is not cached as a
    /// whole, so a rerun tries them again (and only them).
    ///
    /// ```
    /// use mlflow_core::prelude::*;
    ///
    /// #[mlflow_macros::step(crate = mlflow_core)]
    /// fn invert(x: &f64) -> Result<f64, std::io::Error> {
    ///     if *x == 0.0 { Err(std::io::Error::other("division by zero")) } else { Ok(1.0 / x) }
    /// }
    ///
    /// fn main() -> mlflow_core::Result<()> {
    ///     let dir = tempfile::tempdir().unwrap();
    ///     let store = Store::open(dir.path())?;
    ///     let mut p = Pipeline::new("inverses");
    ///     let xs = p.param("xs", vec![2.0, 0.0, 4.0]);
    ///     let inverses = p.try_map(InvertStep, xs, 1);
    ///     let report = p.run(&store)?;
    ///     assert_eq!(*report.get(inverses)?, [Some(0.5), None, Some(0.25)]);
    ///     let tasks = report.step_of(inverses).unwrap().tasks.clone().unwrap();
    ///     assert_eq!(tasks.failed[0].index, 1);
    ///     Ok(())
    /// }
    /// ```
    pub fn try_map<S: Step, I: MapWiresInto<S::Inputs>>(
        &mut self,
        step: S,
        inputs: I,
        max_failed: usize,
    ) -> Node<Vec<Option<S::Output>>> {
        let name = self.unused_name(S::NAME);
        self.try_map_named(name, step, inputs, max_failed)
    }

    /// Like [`Pipeline::try_map`], with an explicit node name.
    pub fn try_map_named<S: Step, I: MapWiresInto<S::Inputs>>(
        &mut self,
        name: impl Into<String>,
        step: S,
        inputs: I,
        max_failed: usize,
    ) -> Node<Vec<Option<S::Output>>> {
        self.push_map::<S, Option<S::Output>>(name.into(), step, inputs, Some(max_failed))
    }

    fn push_map<S: Step, O: Artifact>(
        &mut self,
        name: String,
        step: S,
        inputs: impl MapWiresInto<S::Inputs>,
        max_failed: Option<usize>,
    ) -> Node<Vec<O>> {
        let splitters = inputs.splitters();
        if splitters.iter().all(Option::is_none) {
            self.errors.push(WiringError::NothingToMap { pipeline: self.name.clone(), step: name.clone() });
        }
        let inputs = self.input_indices(&name, inputs.endpoints());
        let mapped =
            Mapped::<S, O> { element: Arc::new(Erased(step)), splitters, max_failed, _step: PhantomData };
        self.push_step(name, type_name::<Vec<O>>(), Arc::new(mapped), inputs)
    }
}
