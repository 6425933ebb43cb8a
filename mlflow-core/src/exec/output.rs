//! A node's output during a run: a value in memory, or verified bytes from the store decoded on
//! first use.

use std::sync::{Arc, OnceLock};

use crate::artifact::AnyArtifact;
use crate::codec::CodecError;
use crate::dag::ErasedStep;

/// A node's output: in memory, or verified bytes from the store that are decoded only when
/// something needs the value (a step that runs, or `RunReport::get`). A fully cached run decodes
/// nothing it does not hand out.
#[derive(Clone)]
pub(super) enum Output {
    Value(AnyArtifact),
    Stored(Arc<Stored>),
}

pub(super) struct Stored {
    pub(super) node: String,
    pub(super) bytes: Vec<u8>,
    pub(super) step: Arc<dyn ErasedStep>,
    pub(super) limit: u64,
    pub(super) value: OnceLock<AnyArtifact>,
}

impl Output {
    pub(super) fn value(&self) -> std::result::Result<&AnyArtifact, CodecError> {
        match self {
            Output::Value(value) => Ok(value),
            Output::Stored(stored) => {
                if stored.value.get().is_none() {
                    let value = stored.step.decode(&stored.bytes, stored.limit)?;
                    // A racing thread may have set it first: both decoded the same bytes.
                    let _ = stored.value.set(value);
                }
                Ok(stored.value.get().expect("set above"))
            }
        }
    }

    pub(super) fn decode_error(&self, error: CodecError) -> String {
        match self {
            Output::Stored(stored) => {
                format!("cannot decode the cached output of `{}`: {error}", stored.node)
            }
            Output::Value(_) => error.to_string(),
        }
    }
}
