//! What can go wrong scoring a CSV file.

use std::io;

use crate::{ServeError, join};
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::data::DataError;
use mlflow_ml::features::FeatureError;

/// What can go wrong scoring a file in batch. Every message names the file and, for a bad row,
/// the 1-based line (the header is line 1) and the column, and says what to do. File names,
/// column names and values are quoted with their control characters escaped
/// ([`mlflow_core::text::escape_controls`]).
///
/// ```
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// # let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
/// use mlflow_serve::{score_csv, BatchError, BatchOptions};
/// let err = score_csv(&scorer, &b"x\n1\nabc\n"[..], "in.csv", Vec::new(), &BatchOptions::new()).unwrap_err();
/// assert!(matches!(&err, BatchError::Row { line: 3, column, .. } if column == "x"));
/// assert_eq!(err.to_string(), "`in.csv` line 3, column `x`: `abc` is not a number; fix the value");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The input is not a well-formed CSV file, or cannot be opened: it does not exist, is
    /// empty, has only a header, a bad header, a ragged row, text that is not UTF-8.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Reading the input or writing the output failed.
    #[error("cannot {action} {}: {source}", esc(.target))]
    Io {
        /// `read`, `write`, `create` or `replace`.
        action: &'static str,
        /// What was being read or written (e.g. `` `out.csv` ``).
        target: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The header lacks columns the model needs.
    #[error("`{}` has no column {}, which model `{}` needs ({}); columns found: {}{}", esc(.file), join(.missing), esc(.model), esc(.needs), esc_list(.available), delimiter_hint(.available))]
    MissingColumns {
        /// The input.
        file: String,
        /// The missing columns.
        missing: Vec<String>,
        /// The model (`NAME/VERSION` or the package's name).
        model: String,
        /// What the model needs and how, for the message.
        needs: String,
        /// The header's names.
        available: Vec<String>,
    },
    /// A column to keep is not in the header, or is named twice.
    #[error("cannot keep column `{}` of `{}`: {reason}; columns found: {}", esc(.column), esc(.file), esc_list(.available))]
    Keep {
        /// The input.
        file: String,
        /// The column asked for.
        column: String,
        /// Why not.
        reason: &'static str,
        /// The header's names.
        available: Vec<String>,
    },
    /// A kept input column has the name of an output column.
    #[error("`{}` already has a column `{column}`, which the output adds; keep only other columns (`keep`, `--keep`) or rename it", esc(.file))]
    OutputClash {
        /// The input.
        file: String,
        /// `prediction` or `probability`.
        column: String,
    },
    /// A value the model cannot score.
    #[error("`{}` line {line}, column `{}`: {}", esc(.file), esc(.column), esc(.detail))]
    Row {
        /// The input.
        file: String,
        /// 1-based line where the record starts (the header is line 1).
        line: u64,
        /// 0-based data row in the file.
        row: u64,
        /// The column (or the feature's source, e.g. `SibSp + Parch`).
        column: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The feature transformers refused the rows of a chunk for a reason not tied to one value.
    #[error("`{}` lines {first_line} to {last_line}: {source}", esc(.file))]
    Features {
        /// The input.
        file: String,
        /// The chunk's first line.
        first_line: u64,
        /// The chunk's last line.
        last_line: u64,
        /// The transformers' error.
        source: Box<FeatureError>,
    },
    /// The model failed on rows that passed the input checks.
    #[error("`{}` lines {first_line} to {last_line}: {source}", esc(.file))]
    Score {
        /// The input.
        file: String,
        /// The chunk's first line.
        first_line: u64,
        /// The chunk's last line.
        last_line: u64,
        /// The scorer's error.
        source: Box<ServeError>,
    },
    /// A value of a Parquet input the model cannot score (a Parquet file has rows where a CSV
    /// file has lines).
    #[error("`{}` row {} (1-based), column `{}`: {}", esc(.file), .row + 1, esc(.column), esc(.detail))]
    RowValue {
        /// The input.
        file: String,
        /// 0-based row in the file.
        row: u64,
        /// The column (or the feature's source, e.g. `SibSp + Parch`).
        column: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The feature transformers or the model failed on a batch of rows of a Parquet input, for
    /// a reason not tied to one value.
    #[error("`{}` rows {} to {} (1-based): {source}", esc(.file), .first_row + 1, .last_row + 1)]
    RowRange {
        /// The input.
        file: String,
        /// 0-based row of the batch's first row.
        first_row: u64,
        /// 0-based row of the batch's last row.
        last_row: u64,
        /// The transformers' or the scorer's error.
        source: Box<ServeError>,
    },
    /// The input's format cannot be scored by this build (a Parquet file without the
    /// `parquet` feature) or by this function.
    #[error("`{}`: {detail}", esc(.file))]
    Format {
        /// The input.
        file: String,
        /// What is wrong and what to do.
        detail: String,
    },
    /// The options make no sense (e.g. chunks of 0 rows).
    #[error("invalid batch options: {0}")]
    Options(String),
}

/// Names as shown in messages: escaped, comma-separated.
fn esc_list(names: &[String]) -> String {
    names.iter().map(|n| esc(n)).collect::<Vec<_>>().join(", ")
}

/// A guess when a header is one column holding separators: the delimiter is likely wrong.
fn delimiter_hint(header: &[String]) -> &'static str {
    match header {
        [only] if only.contains([',', ';', '\t', '|']) => {
            " (the header has one column: is the delimiter right?)"
        }
        _ => "",
    }
}

impl From<BatchError> for ServeError {
    fn from(e: BatchError) -> Self {
        ServeError::Batch(Box::new(e))
    }
}
