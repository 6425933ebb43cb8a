//! The facade's error: the engine's beside every room's, so that one `?` works on all of them.

use std::fmt;

/// Everything that can go wrong in `mlflow`: the engine's [`mlflow_core::Error`] or the error of
/// one machine-learning or serving room.
///
/// `Debug` prints like `Display`, followed by the causes the message did not already say, so
/// `fn main() -> mlflow::Result<()>` ends with a readable message (`{:#?}` shows the structure).
///
/// ```
/// use mlflow::prelude::*;
/// fn open_and_ingest(dir: &std::path::Path) -> mlflow::Result<()> {
///     let _store = Store::open(dir.join("store"))?; // a store error
///     let _file = mlflow::data::DataFile::open(dir.join("missing.csv"))?; // a data error
///     Ok(())
/// }
/// let dir = tempfile::tempdir().unwrap();
/// let err = open_and_ingest(dir.path()).unwrap_err();
/// assert!(matches!(err, mlflow::Error::Data(_)));
/// assert_eq!(format!("{err:?}"), err.to_string());
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine: store, codec, registry, tracking, wiring, or a failed or skipped step.
    #[error(transparent)]
    Engine(#[from] mlflow_core::Error),
    /// Reading or ingesting data failed.
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Data(#[from] mlflow_ml::data::DataError),
    /// Data did not meet its expectations.
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Validation(#[from] mlflow_ml::validate::ValidationError),
    /// Fitting or applying a feature transform failed.
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Features(#[from] mlflow_ml::features::FeatureError),
    /// Fitting or applying a model failed.
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Model(#[from] mlflow_ml::models::ModelError),
    /// Computing metrics or selecting a champion failed.
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Eval(#[from] mlflow_ml::eval::EvalError),
    /// A block could not be built or run: a study that cannot be searched, an analysis or a
    /// drift measure that cannot be made (`blocks::tune`, `tune`, `analysis`, `monitor`).
    #[cfg(feature = "ml")]
    #[error(transparent)]
    Block(#[from] mlflow_ml::blocks::BlockError),
    /// Packaging a model, scoring with one, or serving it failed.
    #[cfg(feature = "serve")]
    #[error(transparent)]
    Serve(#[from] mlflow_serve::ServeError),
}

impl Error {
    /// The typed error a failed step returned, when this is a step failure and that error is an
    /// `E` (see [`mlflow_core::Error::step_error`]).
    pub fn step_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Engine(e) => e.step_error(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return match self {
                Error::Engine(e) => f.debug_tuple("Engine").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Data(e) => f.debug_tuple("Data").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Validation(e) => f.debug_tuple("Validation").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Features(e) => f.debug_tuple("Features").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Model(e) => f.debug_tuple("Model").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Eval(e) => f.debug_tuple("Eval").field(e).finish(),
                #[cfg(feature = "ml")]
                Error::Block(e) => f.debug_tuple("Block").field(e).finish(),
                #[cfg(feature = "serve")]
                Error::Serve(e) => f.debug_tuple("Serve").field(e).finish(),
            };
        }
        mlflow_core::error::write_report(self, f)
    }
}

/// The engine's room errors convert straight into [`Error::Engine`].
macro_rules! engine_errors {
    ($($room:ty),*) => {$(
        impl From<$room> for Error {
            fn from(e: $room) -> Self {
                Error::Engine(e.into())
            }
        }
    )*};
}

engine_errors!(
    mlflow_core::store::StoreError,
    mlflow_core::codec::CodecError,
    mlflow_core::registry::RegistryError,
    mlflow_core::track::TrackError
);

/// Tuning, analysis and drift errors convert through [`Error::Block`].
#[cfg(feature = "ml")]
macro_rules! block_errors {
    ($($room:ty),*) => {$(
        impl From<$room> for Error {
            fn from(e: $room) -> Self {
                Error::Block(e.into())
            }
        }
    )*};
}

#[cfg(feature = "ml")]
block_errors!(mlflow_ml::tune::TuneError, mlflow_ml::analysis::AnalysisError, mlflow_ml::monitor::DriftError);

#[cfg(feature = "serve")]
impl From<mlflow_serve::BatchError> for Error {
    fn from(e: mlflow_serve::BatchError) -> Self {
        Error::Serve(e.into())
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
