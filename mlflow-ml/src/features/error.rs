//! The features room's error type.

use mlflow_core::text::escape_controls as esc;

/// Everything that can go wrong while fitting or applying features, or splitting rows.
///
/// Row numbers are 0-based indices into the table (the first data row is row 0). `context` is
/// empty for a standalone transformer and names the feature and step inside a [`FeatureSpec`]
/// (e.g. ` (feature `Age`, step 2: bin)`). Column names, values and categories are quoted with
/// their control characters escaped ([`mlflow_core::text::escape_controls`]); the fields keep
/// them as they were.
///
/// [`FeatureSpec`]: super::FeatureSpec
///
/// ```
/// use mlflow_ml::features::{stratified_split, FeatureError};
/// let err = stratified_split(&[0, 0, 1, 1], 1.5, 7).unwrap_err();
/// assert!(matches!(err, FeatureError::BadFraction { .. }));
/// assert!(err.to_string().contains("(0, 1)"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// The table lacks a column that a transformer or feature needs.
    #[error("the table has no column `{}`{}; its columns are [{}]: add the column or fix the feature spec", esc(.column), esc(.context), esc(.available))]
    MissingColumn {
        /// The column that was asked for.
        column: String,
        /// The columns the table has, comma-separated.
        available: String,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A text value where a number is needed that does not parse as one.
    #[error("row {row}, column `{}`{}: `{}` is not a number; fix the value or the column's type, or encode text with an encoder", esc(.column), esc(.context), esc(.value))]
    NotNumeric {
        /// Where the values came from.
        column: String,
        /// The row.
        row: usize,
        /// The offending text.
        value: String,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A NaN or infinite number (missing values are empty fields, never NaN).
    #[error("row {row}, column `{}`{}: {value} is not a finite number; remove the value or leave the field empty so an imputer can fill it", esc(.column), esc(.context))]
    NotFinite {
        /// Where the values came from.
        column: String,
        /// The row.
        row: usize,
        /// The value.
        value: f64,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A missing value reached a step that needs a value.
    #[error("row {row}, column `{}`{}: missing value where `{step}` needs one; add an impute step before it", esc(.column), esc(.context))]
    MissingValue {
        /// Where the values came from.
        column: String,
        /// The row.
        row: usize,
        /// The step that needed the value.
        step: &'static str,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// Values of the wrong kind (numbers where text is needed, or a feature that ends as text).
    #[error("column `{}`{}: `{step}` needs {expected} but the values are {found}; {hint}", esc(.column), esc(.context))]
    WrongType {
        /// Where the values came from.
        column: String,
        /// The step.
        step: &'static str,
        /// What the step needs.
        expected: &'static str,
        /// What it got.
        found: &'static str,
        /// What to do.
        hint: &'static str,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A category not seen at fit (or not in the explicit mapping), with the encoder set to error.
    #[error("row {row}, column `{}`{}: category `{}` is unknown to the encoder (known: {}); add it to the mapping, impute it, or give the encoder an unseen code", esc(.column), esc(.context), esc(.value), esc(.known))]
    UnseenCategory {
        /// Where the values came from.
        column: String,
        /// The row.
        row: usize,
        /// The category.
        value: String,
        /// The known categories, comma-separated.
        known: String,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// Fitting found no usable (non-missing) value in the training rows.
    #[error("column `{}`{}: no non-missing value in the {rows} training rows to fit `{step}`; check the training rows or use a constant imputer", esc(.column), esc(.context))]
    NoTrainingValues {
        /// Where the values came from.
        column: String,
        /// The step.
        step: &'static str,
        /// Number of training rows.
        rows: usize,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A ratio's denominator (plus offset) is zero.
    #[error("row {row}, column `{}`{}: the denominator is zero; add an offset to the ratio or impute the value", esc(.column), esc(.context))]
    DivisionByZero {
        /// The ratio.
        column: String,
        /// The row.
        row: usize,
        /// Feature and step, if inside a spec.
        context: String,
    },
    /// A row index past the end of the table or matrix.
    #[error("row index {row} is out of range for {rows} rows; pass indices below {rows}")]
    RowOutOfRange {
        /// The index.
        row: usize,
        /// Number of rows available.
        rows: usize,
    },
    /// `fit` was given no training rows.
    #[error("no training rows: fitting needs at least one row index")]
    NoTrainingRows,
    /// The feature spec (or a transformer's parameters) is invalid.
    #[error("invalid feature spec at `{}`: {}", esc(.feature), esc(.message))]
    InvalidSpec {
        /// The feature (or transformer) concerned.
        feature: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A feature matrix whose columns are not the ones a transformer was fitted on.
    #[error("feature matrix has columns [{}] but the transformer was fitted on [{}]; transform a matrix built by the same feature spec", esc(.found), esc(.expected))]
    FeatureMismatch {
        /// Fitted column names, comma-separated.
        expected: String,
        /// Given column names, comma-separated.
        found: String,
    },
    /// A split fraction outside the open interval (0, 1), or NaN.
    #[error("test fraction {fraction} is outside (0, 1); pass e.g. 0.2 for an 80/20 split")]
    BadFraction {
        /// The fraction given.
        fraction: f64,
    },
    /// Nothing to split.
    #[error("nothing to split: a train/test split needs at least 2 rows, each with a label or target")]
    EmptyLabels,
    /// A class with too few rows to appear on both sides of a stratified split.
    #[error(
        "class {class} has {count} row(s); a stratified split needs at least 2 per class: merge or drop the class, or split without stratification"
    )]
    ClassTooSmall {
        /// The class label.
        class: usize,
        /// Its number of rows.
        count: usize,
    },
    /// A cross-validation that cannot be done: fewer than 2 folds, no repetition, or repetitions
    /// of the same unshuffled folds.
    #[error(
        "cross-validation of {n_splits} folds x {repeats} repetitions{} is not usable: give at least 2 folds and 1 repetition, and a shuffle seed to repeat (CrossValidation::repeated)",
        if *.shuffled { ", shuffled" } else { "" }
    )]
    BadFolds {
        /// The folds asked for.
        n_splits: usize,
        /// The repetitions asked for.
        repeats: usize,
        /// Whether a shuffle seed was given.
        shuffled: bool,
    },
    /// More folds than rows.
    #[error("cannot cut {rows} row(s) into {n_splits} folds: use at most {rows} folds, or more rows")]
    TooFewRowsForFolds {
        /// The rows given.
        rows: usize,
        /// The folds asked for.
        n_splits: usize,
    },
    /// A class has fewer rows than a stratified cross-validation has folds.
    #[error(
        "class {class} has {count} row(s), fewer than the {n_splits} folds: every fold of a stratified cross-validation needs each class; use at most {count} folds, or merge or drop the class"
    )]
    ClassTooSmallForFolds {
        /// The class label.
        class: usize,
        /// Its number of rows.
        count: usize,
        /// The folds asked for.
        n_splits: usize,
    },
    /// Stratified folds were asked for by a row count alone.
    #[error(
        "stratified {n_splits}-fold cross-validation needs the class of each row: call `splits(&labels)`, or use `CrossValidation::k_fold` for a regression target"
    )]
    FoldsNeedLabels {
        /// The folds asked for.
        n_splits: usize,
    },
    /// The label column has a single class among the training rows.
    #[error(
        "label column `{}` has only one class (`{}`) among the {rows} training rows; a classifier needs at least two: check the filter, the split, or the label column",
        esc(.column), esc(.class)
    )]
    OneClass {
        /// The label column.
        column: String,
        /// The one class.
        class: String,
        /// How many training rows.
        rows: usize,
    },
    /// A label the model's classes do not include (seen only at prediction or evaluation time).
    #[error(
        "row {row}, label column `{}`: class `{}` was not among the training classes [{}]; retrain with rows of this class, or drop or relabel the row",
        esc(.column), esc(.class), esc(.known)
    )]
    UnseenClass {
        /// The label column.
        column: String,
        /// The row.
        row: usize,
        /// The unseen class.
        class: String,
        /// The known classes.
        known: String,
    },
    /// A regression target value that is not a finite number.
    #[error("row {row}, target column `{}`: {}", esc(.column), esc(.message))]
    BadTarget {
        /// The target column.
        column: String,
        /// The row.
        row: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A label value that is not a non-negative integer class.
    #[error("row {row}, label column `{}`: {}", esc(.column), esc(.message))]
    BadLabel {
        /// The label column.
        column: String,
        /// The row.
        row: usize,
        /// What is wrong and what to do.
        message: String,
    },
}

impl FeatureError {
    /// Sets the feature/step context of errors that carry one (left unchanged otherwise).
    pub(crate) fn within(mut self, feature: &str, step: &str) -> Self {
        let text = if step.is_empty() {
            format!(" (feature `{feature}`)")
        } else {
            format!(" (feature `{feature}`, {step})")
        };
        match &mut self {
            FeatureError::MissingColumn { context, .. }
            | FeatureError::NotNumeric { context, .. }
            | FeatureError::NotFinite { context, .. }
            | FeatureError::MissingValue { context, .. }
            | FeatureError::WrongType { context, .. }
            | FeatureError::UnseenCategory { context, .. }
            | FeatureError::NoTrainingValues { context, .. }
            | FeatureError::DivisionByZero { context, .. }
                if context.is_empty() =>
            {
                *context = text;
            }
            _ => {}
        }
        self
    }
}
