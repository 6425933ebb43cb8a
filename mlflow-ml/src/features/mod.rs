//! Features: fitted transformers whose fitted state is an artifact, and seeded splits.
//!
//! The room's job is to turn a typed [`Table`](crate::data::Table) into the numeric
//! [`FeatureMatrix`] a model trains on, such that serving applies **exactly** the training-time
//! transform. Everything that is learned from data (an imputer's fill value, an encoder's
//! categories, quantile bin edges, a scaler's mean and std) is learned from the **training rows
//! only** and kept in a serializable fitted struct, which a pipeline stores as an artifact and a
//! model package carries to serving.
//!
//! - Transformers, each a parameter struct with `fit(&table, column, &train_rows)` and a fitted
//!   struct with `transform(&table, column)`: [`Imputer`] (mean, median, most frequent,
//!   constant), [`Encoder`] (explicit or learned categories, with an [`Unseen`] rule),
//!   [`Binner`] (explicit edges or quantiles), [`StandardScaler`] (also over a whole
//!   [`FeatureMatrix`]), and stateless [`Op`]s (first character, text between delimiters, text
//!   mapping, indicator, floor).
//! - A declarative [`FeatureSpec`]: an ordered list of [`Feature`]s, each a [`Source`] (a column,
//!   an earlier feature, or a sum, product or ratio of those) and a chain of [`Transform`]s.
//!   [`FeatureSpec::fit`] gives [`FittedFeatures`], whose [`transform`](FittedFeatures::transform)
//!   gives the matrix for training, hold-out or serving rows alike.
//! - [`stratified_split`]: a seeded train/test split that preserves class proportions;
//!   [`CrossValidation`]: k-fold and stratified k-fold folds, scikit-learn's when unshuffled; and
//!   [`ClassLabels`] to read a label column's classes as given (integers or text), [`class_labels`]
//!   for 0, 1, 2, ... labels, and [`regression_target`] to read a numeric target.
//!
//! Bad input is an error, never a panic: a missing column, a text value where a number is needed,
//! a NaN or infinity, a missing value reaching a step that needs one, an unknown category (unless
//! the encoder maps it to a code). Each [`FeatureError`] names the row (0-based index into the
//! table), the column, and inside a spec the feature and step. Results are deterministic: no
//! hash-map order reaches a fitted state (categories are kept in `BTreeMap`s), and the only
//! randomness, in the split, takes an explicit seed.
//!
//! ```
//! use mlflow_ml::data::{Column, Table};
//! use mlflow_ml::features::*;
//!
//! let table = Table::new(vec![
//!     ("Survived".into(), Column::Int(vec![Some(0), Some(1), Some(0), Some(1), Some(0), Some(1)])),
//!     ("Age".into(), Column::Float(vec![Some(22.0), None, Some(35.0), Some(4.0), Some(54.0), Some(27.0)])),
//!     ("Embarked".into(), Column::Str(["S", "C", "S", "Q", "S", "C"].map(|s| Some(s.to_string())).to_vec())),
//! ])
//! .unwrap();
//! let labels = class_labels(&table, "Survived")?;
//! let split = stratified_split(&labels, 0.34, 42)?;
//!
//! let spec = FeatureSpec::new()
//!     .with(Feature::column("Age").then(Imputer::median()).then(Binner::edges([11.0, 18.0, 40.0])))
//!     .with(Feature::column("Embarked").then(Encoder::explicit([("S", 0), ("C", 1), ("Q", 2)])));
//! let fitted = spec.fit(&table, &split.train)?; // learns from the training rows only
//! let matrix = fitted.transform(&table)?; // any rows: train, hold-out, serving
//! assert_eq!(matrix.names, ["Age", "Embarked"]);
//! assert_eq!(matrix.x.nrows(), 6);
//! # Ok::<(), FeatureError>(())
//! ```

mod error;
mod folds;
mod infer;
mod spec;
mod split;
mod target;
mod transform;

pub(crate) use transform::{moments, quantile};
mod values;

pub use error::FeatureError;
pub use folds::CrossValidation;
pub use infer::{Inference, Inferred, infer_spec};
pub use spec::{
    Feature, FeatureMatrix, FeatureSpec, FittedFeature, FittedFeatures, FittedMatrixScaler, FittedStep,
    Source, Transform,
};
pub use split::{Split, class_labels, shuffled_split, stratified_split};
pub use target::{ClassLabel, ClassLabels, regression_target};
pub use transform::{
    Binner, Cmp, Encoder, FittedBinner, FittedEncoder, FittedImputer, FittedScaler, Imputer, Mapping, Op,
    StandardScaler, Strategy, Unseen, Value,
};
pub use values::column;
