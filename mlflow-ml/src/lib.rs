//! The machine-learning rooms of `mlflow-pipelines`, built on the engine's public API only (the
//! way a user's own steps are): use them through the `mlflow` facade (`mlflow::data`,
//! `mlflow::features`, ...).
//!
//! - [`data`]: CSV into typed tables; data versions (the hash of the bytes).
//! - [`validate`]: declarative expectations with reports.
//! - [`features`]: fitted imputers, encoders, binners, scalers, derived features; seeded splits.
//! - [`models`]: decision tree, random forest, logistic regression, Gaussian naive Bayes and RBF
//!   SVM behind one `Classifier` face; self-tested models; linear (least squares and ridge)
//!   regression behind a `Regressor` face.
//! - [`eval`]: binary, multiclass and regression metrics equal to scikit-learn's; champion
//!   selection.
//! - `linfa` (cargo feature `linfa`): fitted linfa models behind the same faces, k-means and PCA
//!   as fitted feature transformers.
//! - [`monitor`]: data drift statistics (PSI, Kolmogorov-Smirnov, Wasserstein, Jensen-Shannon,
//!   chi-square, L-infinity) equal to scipy's, with Evidently and Vertex AI / TFDV presets.
//! - [`report`]: the self-contained HTML run report (DAG, timeline, metrics, ROC curves).
//! - [`blocks`]: ready-made steps for the common path (ingest, check, prepare, train, evaluate,
//!   select).
//!
//! Each room has its own error enum; the facade's `mlflow::Error` wraps them all.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The `ndarray` this crate's matrices are made of (0.16): use it rather than adding another
/// version, whose arrays would be different types.
pub use ndarray;

pub mod analysis;
pub mod blocks;
pub mod data;
pub mod eval;
pub mod features;
mod float;
#[cfg(feature = "linfa")]
pub mod linfa;
pub mod models;
pub mod monitor;
pub mod report;
pub mod tune;
pub mod validate;
