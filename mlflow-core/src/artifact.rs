//! What may flow between steps: any owned, serializable, thread-safe value.

use std::any::Any;
use std::sync::Arc;

use serde::{Serialize, de::DeserializeOwned};

pub use crate::codec::ContentHash;

/// The bound every step input, step output and param satisfies.
///
/// It is implemented for every `Serialize + DeserializeOwned + Send + Sync + 'static` type; there
/// is nothing to implement by hand. Derive serde's traits for your own types:
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Features { rows: Vec<[f64; 3]> }
///
/// fn takes_artifacts<T: mlflow_core::artifact::Artifact>() {}
/// takes_artifacts::<Features>();
/// takes_artifacts::<Vec<String>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a pipeline artifact",
    label = "`{Self}` is not an artifact",
    note = "step inputs, step outputs and params must be `Serialize + DeserializeOwned + Send + Sync + 'static`: derive `serde::Serialize` and `serde::Deserialize` for `{Self}` and use owned data, not borrowed references"
)]
pub trait Artifact: Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Artifact for T {}

/// A type-erased, shared artifact value: fan-out hands out clones of this `Arc`, never of the data.
///
/// ```
/// let value: mlflow_core::artifact::AnyArtifact = std::sync::Arc::new(vec![1.0f64]);
/// assert_eq!(value.downcast_ref::<Vec<f64>>(), Some(&vec![1.0]));
/// ```
pub type AnyArtifact = Arc<dyn Any + Send + Sync>;
