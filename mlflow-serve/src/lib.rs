//! Serving for `mlflow-pipelines` (use it through the facade, `mlflow::serve`, cargo feature
//! `serve`): a fitted model without the pipeline's code: [`ModelPackage`] (one self-describing,
//! versioned file holding the model, its input scaler and feature transformers, its signature,
//! self-test rows, lineage and the reference profile of its training rows) and [`Scorer`] (in-process scoring of single rows and batches).
//!
//! # File format
//!
//! A package file is, in order:
//!
//! | bytes | content |
//! |---|---|
//! | 10 | the magic [`MAGIC`], `MLFLOWPKG\0` |
//! | 4 | the format version, a little-endian `u32` ([`FORMAT_VERSION`]) |
//! | 8 | the body length in bytes, a little-endian `u64` |
//! | 32 | the BLAKE3 hash of the body |
//! | n | the body: the package encoded with [`mlflow_core::codec::encode`] |
//!
//! A reader checks the magic, then the version (an unknown version is refused before the body is
//! read), then the length and the hash, then decodes the body, checks that its parts fit
//! together, and re-scores its self-test rows: a package that no longer reproduces its recorded
//! probabilities is refused.
//!
//! ```
//! use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams, SelfTestedModel};
//! use mlflow_serve::{Lineage, ModelPackage, Scorer};
//! use ndarray::array;
//! let x = array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
//! let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
//! let tested = SelfTestedModel::new("nb", model, None, x.view())?;
//! let package = ModelPackage::from_self_tested(&tested, &["a", "b"], Lineage::default())?;
//! let scorer = Scorer::from_bytes(&package.to_bytes()?)?;
//! assert_eq!(scorer.score_row(&[2.1, 0.0])?.label, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
pub mod blocks;
mod deployability;
mod explain;
mod labels;
pub mod monitoring;
mod package;
mod predlog;
mod scorer;
#[cfg(feature = "server")]
pub mod server;
mod traffic;
#[cfg(feature = "ui")]
pub mod ui;
pub mod watch;

#[cfg(feature = "progress")]
pub use batch::BatchBar;
pub use batch::{
    BatchError, BatchOptions, BatchProgress, BatchSummary, DEFAULT_CHUNK_ROWS, FileFormat, open_input,
    score_csv, score_csv_file, score_csv_to_file, score_file,
};
#[cfg(feature = "parquet")]
pub use batch::{score_parquet, score_parquet_file};
pub use deployability::{Deployability, LATENCY_SAMPLES, MeasureStep, measure, measure_rows};
pub use explain::Explanation;
pub use labels::{
    Appended, BinaryEstimate, BinaryRealized, Estimate, LABEL_FORMAT_VERSION, LabelError, LabelFileFormat,
    LabelMapping, LabelRecord, LabelSource, LabelStore, Labels, MulticlassEstimate, MulticlassRealized,
    NewLabel, Performance, PredictionKeys, RealizedMetrics, RegressionEstimate, RegressionRealized,
    TrueValue, performance, read_label_file,
};
pub use package::{
    FORMAT_VERSION, FieldType, InputField, LEGACY_FORMAT_VERSION, Lineage, MAGIC, ModelPackage, OutputField,
    PROFILELESS_FORMAT_VERSION, Signature,
};
pub use predlog::{
    Durability, LOG_FORMAT_VERSION, LogContents, LogEntries, LogEntry, LogOptions, LogReader, LogRecord,
    PredictionLog, PredictionRecord, PredictionRecordRef, RawRows, RawRowsRef, RequestFailure, Role,
};
pub use scorer::{Prediction, Scorer};
pub use traffic::{ChallengerMode, Route, TrafficPlan};

use std::path::PathBuf;

use mlflow_core::registry::RegistryError;
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::models::ModelError;

/// What can go wrong building, reading or scoring with a model package.
///
/// Each message says what was wrong, where (file, row, feature) and what to do. Feature names
/// from requests are quoted with their control characters escaped
/// ([`mlflow_core::text::escape_controls`]).
///
/// ```
/// use mlflow_serve::{ModelPackage, ServeError};
/// let err = ModelPackage::from_bytes(b"hello").unwrap_err();
/// assert!(matches!(err, ServeError::NotAPackage { .. }));
/// assert!(err.to_string().contains("not a model package"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The bytes do not start with the package magic.
    #[error(
        "{source_name} is not a model package (it does not start with `MLFLOWPKG`); write one with `ModelPackage::save`"
    )]
    NotAPackage {
        /// The file, or `the input bytes`.
        source_name: String,
    },
    /// The package was written in a format version this library does not read.
    #[error(
        "{source_name} is a model package of format version {found}, but this mlflow ({library}) reads versions 1 to {supported}; load it with a matching mlflow version or repackage the model"
    )]
    UnsupportedFormat {
        /// The file, or `the input bytes`.
        source_name: String,
        /// The version in the file.
        found: u32,
        /// The newest version this library reads (it reads every earlier one too).
        supported: u32,
        /// This library's version.
        library: &'static str,
    },
    /// The file ends before the header or the body it announces.
    #[error("{source_name} is truncated: {detail}; copy the package again from its source")]
    Truncated {
        /// The file, or `the input bytes`.
        source_name: String,
        /// What is missing.
        detail: String,
    },
    /// The package's model needs a cargo feature this build leaves out (`linfa`).
    #[error(
        "{source_name} holds a model fitted with {feature}, and this build leaves {feature} out: build with the `{feature}` cargo feature (`cargo install mlflow-pipelines-cli --features {feature}` for the command line, `features = [\"{feature}\"]` on mlflow-pipelines for a library)"
    )]
    NeedsFeature {
        /// The file, or `the input bytes`.
        source_name: String,
        /// The feature: `linfa`.
        feature: &'static str,
    },
    /// The body does not match its hash, does not decode, or its parts do not fit together.
    #[error(
        "{source_name} is corrupt: {detail}; copy the package again from its source or repackage the model"
    )]
    Corrupt {
        /// The file, or `the input bytes`.
        source_name: String,
        /// What is wrong.
        detail: String,
    },
    /// The package's parts do not fit together while building it.
    #[error("cannot build a model package: {0}")]
    Build(String),
    /// The package no longer reproduces its recorded self-test probabilities.
    #[error(
        "model package `{model}` failed its self-test: row {row} gave P(class 1) = {got}, but {expected} was recorded when it was packaged; the package or the scoring code changed, retrain and repackage the model"
    )]
    SelfTest {
        /// The packaged model's name.
        model: String,
        /// The self-test row (0-based).
        row: usize,
        /// The recorded probability.
        expected: f64,
        /// The probability now.
        got: f64,
    },
    /// Reading or writing a package file failed.
    #[error("cannot {action} model package {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input row has the wrong number of values.
    #[error("row {row} has {found} values but the model takes {expected} features ({}); send the features in this order", esc(.names))]
    FeatureCount {
        /// The row (0-based).
        row: usize,
        /// Features the model takes.
        expected: usize,
        /// Values in the row.
        found: usize,
        /// The feature names, in order.
        names: String,
    },
    /// An input value is NaN or infinite.
    #[error("row {row}, feature `{}` (column {column}) is {value}; send finite numbers (impute missing values first)", esc(.feature))]
    NonFinite {
        /// The row (0-based).
        row: usize,
        /// The feature's name.
        feature: String,
        /// The feature's position (0-based).
        column: usize,
        /// The value.
        value: f64,
    },
    /// A row of finite values that the model cannot score: a value so far outside the training
    /// range that scaling overflows, or a probability that is not a number.
    #[error(
        "row {row} is out of the range the model can score: {detail}; send values in the range the model was trained on"
    )]
    OutOfRange {
        /// The row (0-based).
        row: usize,
        /// What overflowed.
        detail: String,
    },
    /// A named row has a key that is not one of the model's features.
    #[error("row {row} has an unknown feature `{}`; the model takes {}", esc(.name), esc(.names))]
    UnknownFeature {
        /// The row (0-based).
        row: usize,
        /// The unknown key.
        name: String,
        /// The feature names, in order.
        names: String,
    },
    /// A named row lacks one of the model's features.
    #[error("row {row} has no value for feature `{}`; the model takes {}", esc(.name), esc(.names))]
    MissingFeature {
        /// The row (0-based).
        row: usize,
        /// The missing feature.
        name: String,
        /// The feature names, in order.
        names: String,
    },
    /// The model failed to score.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Transforming a raw table into the model's features failed.
    #[error(transparent)]
    Features(#[from] mlflow_ml::features::FeatureError),
    /// Resolving or reading a registered model failed.
    #[error(transparent)]
    Registry(#[from] Box<RegistryError>),
    /// Scoring a file in batch failed (see [`score_csv`]).
    #[error(transparent)]
    Batch(#[from] Box<BatchError>),
    /// Creating, writing or reading a prediction log failed.
    #[error("cannot {action} prediction log {path}: {source}; {}", predlog::log_hint(.source))]
    Log {
        /// What was being done, e.g. `append to` or `create the folder of`.
        action: &'static str,
        /// The log's folder or segment file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Champion/challenger traffic or the served models are misconfigured.
    #[error("{}", esc(.0))]
    Traffic(String),
    /// The scoring service could not start or serve.
    #[error("cannot {action}: {source}")]
    Server {
        /// What the server was doing.
        action: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A registered artifact is neither a model package nor a self-tested model.
    #[error(
        "the artifact of `{reference}` is neither a model package nor a self-tested model ({detail}); register the output of a step that returns a `ModelPackage` or a `SelfTestedModel`"
    )]
    NotAModel {
        /// The resolved reference `NAME/VERSION`.
        reference: String,
        /// Why decoding failed.
        detail: String,
    },
}

impl From<RegistryError> for ServeError {
    fn from(e: RegistryError) -> Self {
        ServeError::Registry(Box::new(e))
    }
}

/// Comma-separated names in backticks, for messages, with their control characters escaped.
fn join(names: &[String]) -> String {
    names.iter().map(|n| format!("`{}`", esc(n))).collect::<Vec<_>>().join(", ")
}
