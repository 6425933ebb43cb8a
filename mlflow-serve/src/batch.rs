//! Batch scoring of CSV files: [`score_csv`] and [`score_csv_file`] stream a file through a
//! [`Scorer`] a chunk of rows at a time and write every row back with its prediction.
//!
//! ```
//! use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
//! use mlflow_serve::{score_csv, BatchOptions, Lineage, ModelPackage, Scorer};
//! let x = ndarray::array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
//! let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
//! let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default())?);
//!
//! // Engineered features in any order, plus an id column that is passed through.
//! let input = "id,b,a\n7,1.0,0.1\n8,0.0,2.1\n";
//! let mut out = Vec::new();
//! let summary = score_csv(&scorer, input.as_bytes(), "in.csv", &mut out, &BatchOptions::new().keep(["id"]))?;
//! assert_eq!((summary.rows, summary.positives), (2, 1));
//! let out = String::from_utf8(out).unwrap();
//! assert!(out.starts_with("id,prediction,probability\n7,0,"), "{out}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndarray::Array2;
use serde::{Serialize, Serializer};

use super::{join, Prediction, Scorer, ServeError};
use mlflow_core::text::escape_controls as esc;
use mlflow_ml::data::{Column, DataError, LineCounter, Table};
use mlflow_ml::features::FeatureError;

/// Rows read, scored and written at a time, unless [`BatchOptions::chunk_rows`] says otherwise.
///
/// ```
/// assert_eq!(mlflow_serve::BatchOptions::new().chunk_rows, mlflow_serve::DEFAULT_CHUNK_ROWS);
/// ```
pub const DEFAULT_CHUNK_ROWS: usize = 8192;

/// The output columns added after the input columns.
const OUTPUT_COLUMNS: [&str; 2] = ["prediction", "probability"];

/// How far a batch run is, reported after every chunk (and once before the first).
///
/// ```
/// let p = mlflow_serve::BatchProgress { bytes_read: 50, total_bytes: Some(200), rows: 3 };
/// assert_eq!(p.fraction(), Some(0.25));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProgress {
    /// Input bytes consumed so far.
    pub bytes_read: u64,
    /// The input's size, when known (a file; not a pipe).
    pub total_bytes: Option<u64>,
    /// Rows scored and written so far.
    pub rows: u64,
}

impl BatchProgress {
    /// The fraction of the input read, when its size is known.
    ///
    /// ```
    /// let p = mlflow_serve::BatchProgress { bytes_read: 1, total_bytes: None, rows: 0 };
    /// assert_eq!(p.fraction(), None);
    /// ```
    pub fn fraction(&self) -> Option<f64> {
        match self.total_bytes {
            Some(0) => Some(1.0),
            Some(total) => Some(self.bytes_read as f64 / total as f64),
            None => None,
        }
    }
}

type ProgressFn = Arc<dyn Fn(&BatchProgress) + Send + Sync>;

/// How to score a file: chunk size, the input columns to keep in the output, the delimiter and
/// a progress callback.
///
/// ```
/// use mlflow_serve::BatchOptions;
/// let options = BatchOptions::new()
///     .chunk_rows(1000)
///     .keep(["PassengerId"])
///     .delimiter(b';')
///     .on_progress(|p| eprintln!("{} rows", p.rows));
/// assert_eq!(options.keep.as_deref(), Some(&["PassengerId".to_owned()][..]));
/// ```
#[derive(Clone)]
pub struct BatchOptions {
    /// Rows read, scored and written at a time (at least 1; default [`DEFAULT_CHUNK_ROWS`]).
    pub chunk_rows: usize,
    /// The input columns copied to the output, in this order; `None` (the default) keeps all of
    /// them in file order, an empty list none (only the predictions).
    pub keep: Option<Vec<String>>,
    /// The field delimiter of the input and the output (default `,`).
    pub delimiter: u8,
    progress: Option<ProgressFn>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { chunk_rows: DEFAULT_CHUNK_ROWS, keep: None, delimiter: b',', progress: None }
    }
}

impl fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchOptions")
            .field("chunk_rows", &self.chunk_rows)
            .field("keep", &self.keep)
            .field("delimiter", &char::from(self.delimiter))
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl BatchOptions {
    /// The defaults: chunks of [`DEFAULT_CHUNK_ROWS`], every input column kept, `,`, no
    /// progress callback.
    ///
    /// ```
    /// let o = mlflow_serve::BatchOptions::new();
    /// assert_eq!((o.keep, o.delimiter), (None, b','));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of rows per chunk (memory use is proportional to it).
    ///
    /// ```
    /// assert_eq!(mlflow_serve::BatchOptions::new().chunk_rows(1).chunk_rows, 1);
    /// ```
    pub fn chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows;
        self
    }

    /// Keeps only these input columns in the output, in this order (each must be in the file).
    ///
    /// ```
    /// let o = mlflow_serve::BatchOptions::new().keep(Vec::<String>::new());
    /// assert_eq!(o.keep, Some(vec![])); // only the predictions
    /// ```
    pub fn keep<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.keep = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the field delimiter of the input and the output.
    ///
    /// ```
    /// assert_eq!(mlflow_serve::BatchOptions::new().delimiter(b'\t').delimiter, b'\t');
    /// ```
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Calls `f` before the first chunk and after every chunk (e.g. to draw a progress bar; see
    /// `BatchBar` with the `progress` feature).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// let seen = Arc::new(AtomicU64::new(0));
    /// let s = seen.clone();
    /// let _options = mlflow_serve::BatchOptions::new().on_progress(move |p| s.store(p.rows, Ordering::Relaxed));
    /// ```
    pub fn on_progress(mut self, f: impl Fn(&BatchProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn report(&self, progress: BatchProgress) {
        if let Some(f) = &self.progress {
            f(&progress);
        }
    }
}

/// What a batch run did: rows, positives, time, and the model used.
///
/// ```
/// use std::time::Duration;
/// let s = mlflow_serve::BatchSummary {
///     input: "in.csv".into(),
///     rows: 418,
///     positives: 150,
///     chunks: 1,
///     bytes_read: 28_629,
///     elapsed: Duration::from_millis(100),
///     package: "rbf svm (scaled)".into(),
///     model_name: Some("titanic".into()),
///     model_version: Some(1),
/// };
/// assert_eq!(s.rows_per_sec(), 4180.0);
/// assert_eq!(s.model(), "titanic/1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchSummary {
    /// The input's name, as used in messages.
    pub input: String,
    /// Rows scored (and written).
    pub rows: u64,
    /// Rows predicted 1.
    pub positives: u64,
    /// Chunks scored.
    pub chunks: u64,
    /// Input bytes read.
    pub bytes_read: u64,
    /// Wall-clock time from the first byte read to the last row written.
    #[serde(rename = "elapsed_secs", serialize_with = "secs")]
    pub elapsed: Duration,
    /// The package's model name (e.g. the candidate's name in the pipeline).
    pub package: String,
    /// The registered model's name, when the package was loaded from the registry.
    pub model_name: Option<String>,
    /// The registered model's version, when the package was loaded from the registry.
    pub model_version: Option<u32>,
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl BatchSummary {
    /// Rows per second of wall-clock time (0 when nothing was timed).
    ///
    /// See [`BatchSummary`] for an example.
    pub fn rows_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.rows as f64 / secs
        } else {
            0.0
        }
    }

    /// The model that scored: `NAME/VERSION` when registered, else the package's name.
    ///
    /// See [`BatchSummary`] for an example.
    pub fn model(&self) -> String {
        match (&self.model_name, self.model_version) {
            (Some(name), Some(version)) => format!("{name}/{version}"),
            (Some(name), None) => name.clone(),
            _ => self.package.clone(),
        }
    }
}

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

/// Scores CSV text read from `input` and writes the scored CSV to `output`, a chunk at a time;
/// `name` names the input in messages. Nothing is written before the first chunk is scored; on
/// an error, the chunks before it have been written: write to a temporary file (as
/// [`score_csv_file`] does) when a partial output must not be seen.
///
/// # Input
/// - A package with feature transformers (see
///   [`ModelPackage::with_features`](super::ModelPackage::with_features)) scores **raw rows**:
///   the file needs the columns its transformers read
///   ([`FittedFeatures::input_columns`](mlflow_ml::features::FittedFeatures::input_columns)); other
///   columns are allowed and passed through.
/// - A package without transformers scores **engineered features**: the file needs one column
///   per signature feature, in any order, each value a finite number.
///
/// The CSV rules are those of [`mlflow_ml::data`] (header on line 1, unique non-empty names, as many
/// fields in every record as in the header, UTF-8, a leading byte-order mark skipped). The file
/// is never read whole: memory is bounded by the chunk size ([`BatchOptions::chunk_rows`]).
///
/// # Typing does not depend on the chunks
/// Column types are not inferred from the values of a chunk (a chunk where `Age` is always
/// empty would otherwise look like a text column). The fields the transformers read are handed
/// to them as text, and each value is parsed where a step needs a number (surrounding spaces
/// ignored, empty = missing, NaN and infinities refused), exactly as it would be from a whole
/// table. The output is therefore byte-for-byte the same whatever the chunk size.
///
/// # Output
/// Every input column (or only those of [`BatchOptions::keep`], in that order), verbatim,
/// followed by `prediction` (0 or 1) and `probability` (P(class 1), shortest round-trip
/// decimal). Output rows are written as their chunk is scored.
///
/// # Errors
/// A bad row stops the run with an error naming the file, the 1-based line (the header is line
/// 1), the column and what to do: a ragged row, text where a number is needed, NaN or infinity,
/// a missing value the model cannot do without, a category the encoder refuses. A missing
/// column is reported before any row is read. [`score_csv_file`] writes to a temporary file
/// beside the destination and renames it only on success: a failed run leaves an existing
/// destination untouched. See [`BatchError`].
///
/// ```
/// use mlflow_ml::data::{Column, Table};
/// use mlflow_ml::features::{Encoder, Feature, FeatureSpec};
/// use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// use mlflow_serve::{score_csv, BatchOptions, Lineage, ModelPackage, Scorer};
/// // A package with a feature transformer scores raw rows.
/// let train = Table::new(vec![("sex".into(), Column::Str(vec![Some("m".into()), Some("f".into())]))]).unwrap();
/// let fitted = FeatureSpec::new().with(Feature::column("sex").then(Encoder::explicit([("m", 0), ("f", 1)]))).fit(&train, &[0, 1])?;
/// let x = ndarray::array![[0.0], [0.0], [1.0], [1.0]];
/// let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// let package = ModelPackage::new("nb", model, None, &["sex"], x.view(), Lineage::default())?.with_features(fitted)?;
/// let scorer = Scorer::new(package);
///
/// let mut out = Vec::new();
/// score_csv(&scorer, &b"name,sex\nAda,f\nAlan,m\n"[..], "people.csv", &mut out, &BatchOptions::new())?;
/// let out = String::from_utf8(out).unwrap();
/// let labels: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').nth(2).unwrap()).collect();
/// assert_eq!(labels, ["1", "0"]);
///
/// let err = score_csv(&scorer, &b"name,sex\nAda,x\n"[..], "people.csv", Vec::new(), &BatchOptions::new()).unwrap_err();
/// assert!(err.to_string().starts_with("`people.csv` line 2, column `sex`"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_csv<R: Read, W: Write>(
    scorer: &Scorer,
    input: R,
    name: &str,
    output: W,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    run(scorer, input, name, None, output, "the output", options)
}

/// Scores the CSV file `input` into the CSV file `output`: written to a temporary file in the
/// same folder, synced and renamed over `output` only when every row was scored, so a failure
/// leaves no partial file and an existing `output` unchanged. The progress callback gets the
/// input's size.
///
/// ```
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// # let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
/// use mlflow_serve::{score_csv_file, BatchOptions};
/// let dir = tempfile::tempdir()?;
/// let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
/// std::fs::write(&input, "x\n0.1\n2.1\n")?;
/// std::fs::write(&output, "precious")?;
/// let summary = score_csv_file(&scorer, &input, &output, &BatchOptions::new())?;
/// assert_eq!(summary.positives, 1);
/// assert!(std::fs::read_to_string(&output)?.starts_with("x,prediction,probability\n0.1,0,"));
///
/// std::fs::write(&input, "x\n0.1\nNaN\n")?;
/// assert!(score_csv_file(&scorer, &input, &output, &BatchOptions::new()).is_err());
/// assert!(std::fs::read_to_string(&output)?.starts_with("x,prediction")); // the last good output
/// assert_eq!(std::fs::read_dir(dir.path())?.count(), 2); // no temporary file left behind
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_csv_file(
    scorer: &Scorer,
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let input = input.as_ref();
    let name = input.display().to_string();
    let file = open_input(input)?;
    let total = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    let reader = BufReader::with_capacity(1 << 16, file);
    into_file(output.as_ref(), |out, target| run(scorer, reader, &name, total, out, target, options))
}

/// Scores CSV read from `input` (named `name` in messages, e.g. `standard input`) into the CSV
/// file `output`, replacing it only when every row was scored, as [`score_csv_file`] does.
///
/// ```
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// # let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
/// use mlflow_serve::{score_csv_to_file, BatchOptions};
/// let dir = tempfile::tempdir()?;
/// let output = dir.path().join("out.csv");
/// score_csv_to_file(&scorer, &b"x\n2.1\n"[..], "standard input", &output, &BatchOptions::new())?;
/// assert!(std::fs::read_to_string(&output)?.starts_with("x,prediction,probability\n2.1,1,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_csv_to_file<R: Read>(
    scorer: &Scorer,
    input: R,
    name: &str,
    output: impl AsRef<Path>,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    into_file(output.as_ref(), |out, target| run(scorer, input, name, None, out, target, options))
}

/// Opens a CSV input file; a missing file is [`DataError::NotFound`].
///
/// ```
/// let err = mlflow_serve::open_input("/no/such.csv".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("/no/such.csv"), "{err}");
/// ```
pub fn open_input(path: &Path) -> Result<File, BatchError> {
    let name = path.display().to_string();
    File::open(path).map_err(|source| {
        BatchError::from(match source.kind() {
            io::ErrorKind::NotFound => DataError::NotFound { file: name },
            _ => DataError::Io { file: name, source },
        })
    })
}

/// Runs `write` into a temporary file beside `output`, then syncs it and renames it over
/// `output`; on any failure the temporary file is removed and `output` is left as it was.
fn into_file(
    output: &Path,
    write: impl FnOnce(&mut File, &str) -> Result<BatchSummary, BatchError>,
) -> Result<BatchSummary, BatchError> {
    let target = format!("`{}`", output.display());
    let tmp = temp_path(output);
    let io_error = |action, source| BatchError::Io { action, target: target.clone(), source };
    let mut out = File::create(&tmp).map_err(|e| io_error("create", e))?;
    let result = write(&mut out, &target).and_then(|summary| {
        out.sync_all().map_err(|e| io_error("write", e))?;
        drop(out);
        std::fs::rename(&tmp, output).map_err(|e| io_error("replace", e))?;
        Ok(summary)
    });
    if result.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    result
}

/// `dir/.NAME.tmp-PID`, beside `path`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// How the model's inputs are read from a record.
enum Inputs {
    /// Raw columns for the feature transformers: `(name, field index)`.
    Raw(Vec<(String, usize)>),
    /// One field index per signature feature, in signature order.
    Features(Vec<(String, usize)>),
}

/// What to read and write, fixed by the header.
struct Plan {
    inputs: Inputs,
    keep: Vec<usize>,
    out_header: Vec<String>,
}

impl Plan {
    fn new(
        scorer: &Scorer,
        header: &[String],
        file: &str,
        options: &BatchOptions,
    ) -> Result<Plan, BatchError> {
        let position = |name: &str| header.iter().position(|h| h == name);
        let package = scorer.package();
        let model = model_label(scorer);
        let (wanted, needs, raw) = match package.features() {
            Some(features) => {
                let columns = features.input_columns();
                let needs = format!(
                    "its feature transformers read {}; other columns are passed through",
                    join(&columns)
                );
                (columns, needs, true)
            }
            None => {
                let names = package.signature().names();
                let needs = format!(
                    "it has no feature transformers, so it scores engineered features: {}, in any order",
                    join(&names)
                );
                (names, needs, false)
            }
        };
        let mut found = Vec::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for name in wanted {
            match position(&name) {
                Some(j) => found.push((name, j)),
                None => missing.push(name),
            }
        }
        if !missing.is_empty() {
            return Err(BatchError::MissingColumns {
                file: file.to_owned(),
                missing,
                model,
                needs,
                available: header.to_vec(),
            });
        }
        let keep = match &options.keep {
            None => (0..header.len()).collect(),
            Some(names) => {
                let mut keep = Vec::with_capacity(names.len());
                for name in names {
                    let bad = |reason| BatchError::Keep {
                        file: file.to_owned(),
                        column: name.clone(),
                        reason,
                        available: header.to_vec(),
                    };
                    let j = position(name.trim()).ok_or_else(|| bad("it is not in the header"))?;
                    if keep.contains(&j) {
                        return Err(bad("it is named twice"));
                    }
                    keep.push(j);
                }
                keep
            }
        };
        let mut out_header: Vec<String> = keep.iter().map(|&j| header[j].clone()).collect();
        if let Some(clash) = out_header.iter().find(|h| OUTPUT_COLUMNS.contains(&h.as_str())) {
            return Err(BatchError::OutputClash { file: file.to_owned(), column: clash.clone() });
        }
        out_header.extend(OUTPUT_COLUMNS.map(String::from));
        let inputs = if raw { Inputs::Raw(found) } else { Inputs::Features(found) };
        Ok(Plan { inputs, keep, out_header })
    }
}

fn model_label(scorer: &Scorer) -> String {
    let package = scorer.package();
    let lineage = package.lineage();
    match (&lineage.model_name, lineage.model_version) {
        (Some(name), Some(version)) => format!("{name}/{version}"),
        _ => package.name().to_owned(),
    }
}

/// The records of one chunk, reused from chunk to chunk.
struct Chunk {
    records: Vec<csv::ByteRecord>,
    lines: Vec<u64>,
    len: usize,
    /// 0-based file row of the chunk's first record.
    first_row: u64,
}

impl Chunk {
    fn records(&self) -> &[csv::ByteRecord] {
        &self.records[..self.len]
    }

    fn line(&self, i: usize) -> u64 {
        self.lines.get(i).copied().unwrap_or(0)
    }

    /// The text of field `j` of record `i` (the records are UTF-8 checked when read).
    fn text(&self, i: usize, j: usize) -> &str {
        self.records.get(i).and_then(|r| r.get(j)).and_then(|f| std::str::from_utf8(f).ok()).unwrap_or("")
    }

    fn row_error(&self, file: &str, i: usize, column: &str, detail: String) -> BatchError {
        BatchError::Row {
            file: file.to_owned(),
            line: self.line(i),
            row: self.first_row + i as u64,
            column: column.to_owned(),
            detail,
        }
    }
}

fn run<R: Read, W: Write>(
    scorer: &Scorer,
    mut input: R,
    name: &str,
    total: Option<u64>,
    output: W,
    output_name: &str,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let started = Instant::now();
    if options.chunk_rows == 0 {
        return Err(BatchError::Options("chunks of 0 rows; give at least 1 row per chunk".into()));
    }
    let read_error = |source| BatchError::Io { action: "read", target: format!("`{name}`"), source };
    let write_error = |e: csv::Error| {
        let source = match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => io::Error::other(format!("{other:?}")),
        };
        BatchError::Io { action: "write", target: output_name.to_owned(), source }
    };
    // Skip a UTF-8 byte-order mark, as `data::parse_csv` does.
    let mut start = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        match input.read(&mut start[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_error(e)),
        }
    }
    let bom = if start[..got] == *b"\xEF\xBB\xBF" { 3 } else { 0 };
    let prefix = io::Cursor::new(start[bom..got].to_vec());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .buffer_capacity(1 << 16)
        .from_reader(LineCounter::new(prefix.chain(input)));
    // Lines are counted from byte offsets: the csv crate's own count is off after `\r\n`.
    let csv_error = |e: csv::Error, lines: &mut LineCounter<_>| {
        let line = e.position().map(|p| lines.line_at(p.byte()));
        let message = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(source) => read_error(source),
            _ => BatchError::Data(DataError::Csv { file: name.to_owned(), line, message }),
        }
    };

    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(|e| csv_error(e, reader.get_mut()))? {
        return Err(DataError::Empty { file: name.to_owned() }.into());
    }
    let header = parse_header(&record, name)?;
    let plan = Plan::new(scorer, &header, name, options)?;
    let mut writer =
        csv::WriterBuilder::new().delimiter(options.delimiter).buffer_capacity(1 << 16).from_writer(output);
    let bytes_read = |reader: &csv::Reader<_>| reader.position().byte() + bom as u64;
    let mut summary = BatchSummary {
        input: name.to_owned(),
        rows: 0,
        positives: 0,
        chunks: 0,
        bytes_read: bytes_read(&reader),
        elapsed: Duration::ZERO,
        package: scorer.package().name().to_owned(),
        model_name: scorer.package().lineage().model_name.clone(),
        model_version: scorer.package().lineage().model_version,
    };
    options.report(BatchProgress { bytes_read: summary.bytes_read, total_bytes: total, rows: 0 });

    let mut chunk = Chunk { records: Vec::new(), lines: Vec::new(), len: 0, first_row: 0 };
    let mut number = String::new();
    let mut done = false;
    while !done {
        chunk.len = 0;
        chunk.lines.clear();
        chunk.first_row = summary.rows;
        while chunk.len < options.chunk_rows {
            if chunk.len == chunk.records.len() {
                chunk.records.push(csv::ByteRecord::new());
            }
            let record = &mut chunk.records[chunk.len];
            if !reader.read_byte_record(record).map_err(|e| csv_error(e, reader.get_mut()))? {
                done = true;
                break;
            }
            let line = reader.get_mut().line_at(record.position().map_or(0, |p| p.byte()));
            check_record(record, &header, name, line, summary.rows + chunk.len as u64)?;
            chunk.lines.push(line);
            chunk.len += 1;
        }
        if chunk.len == 0 {
            break;
        }
        let predictions = score_chunk(scorer, &plan, &chunk, name)?;
        if summary.chunks == 0 {
            writer.write_record(&plan.out_header).map_err(write_error)?;
        }
        for (record, p) in chunk.records().iter().zip(&predictions) {
            for &j in &plan.keep {
                writer.write_field(record.get(j).unwrap_or_default()).map_err(write_error)?;
            }
            writer.write_field(if p.label == 1 { "1" } else { "0" }).map_err(write_error)?;
            number.clear();
            use fmt::Write as _;
            write!(number, "{}", p.probability).ok();
            writer.write_field(&number).map_err(write_error)?;
            writer.write_record(None::<&[u8]>).map_err(write_error)?;
        }
        summary.rows += chunk.len as u64;
        summary.positives += predictions.iter().filter(|p| p.label == 1).count() as u64;
        summary.chunks += 1;
        summary.bytes_read = bytes_read(&reader);
        options.report(BatchProgress {
            bytes_read: summary.bytes_read,
            total_bytes: total,
            rows: summary.rows,
        });
    }
    if summary.rows == 0 {
        return Err(DataError::HeaderOnly { file: name.to_owned(), columns: header.len() }.into());
    }
    writer.flush().map_err(|source| BatchError::Io {
        action: "write",
        target: output_name.to_owned(),
        source,
    })?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// The header's names, trimmed; each must be UTF-8, non-empty and unique.
fn parse_header(record: &csv::ByteRecord, file: &str) -> Result<Vec<String>, DataError> {
    let mut header: Vec<String> = Vec::with_capacity(record.len());
    for (j, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|e| DataError::NotUtf8 {
            file: file.to_owned(),
            line: 1,
            column: format!("#{}", j + 1),
            valid_up_to: e.valid_up_to(),
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(DataError::EmptyHeader { file: file.to_owned(), position: j + 1 });
        }
        if let Some(first) = header.iter().position(|h| h == name) {
            return Err(DataError::DuplicateHeader {
                file: file.to_owned(),
                name: name.to_owned(),
                first: first + 1,
                second: j + 1,
            });
        }
        header.push(name.to_owned());
    }
    Ok(header)
}

/// As many fields as the header, all UTF-8.
fn check_record(
    record: &csv::ByteRecord,
    header: &[String],
    file: &str,
    line: u64,
    row: u64,
) -> Result<(), DataError> {
    if record.len() != header.len() {
        return Err(DataError::RaggedRow {
            file: file.to_owned(),
            line,
            row: row as usize,
            expected: header.len(),
            found: record.len(),
        });
    }
    // Fields valid one by one are valid concatenated: check the whole record at once and go
    // field by field only to name the bad one.
    if std::str::from_utf8(record.as_slice()).is_err() {
        for (field, column) in record.iter().zip(header) {
            if let Err(e) = std::str::from_utf8(field) {
                return Err(DataError::NotUtf8 {
                    file: file.to_owned(),
                    line,
                    column: column.clone(),
                    valid_up_to: e.valid_up_to(),
                });
            }
        }
    }
    Ok(())
}

fn score_chunk(
    scorer: &Scorer,
    plan: &Plan,
    chunk: &Chunk,
    file: &str,
) -> Result<Vec<Prediction>, BatchError> {
    let n = chunk.len;
    let score_error = |source| BatchError::Score {
        file: file.to_owned(),
        first_line: chunk.line(0),
        last_line: chunk.line(n - 1),
        source: Box::new(source),
    };
    let predictions = match &plan.inputs {
        Inputs::Raw(columns) => {
            let table = Table::new(
                columns
                    .iter()
                    .map(|(name, j)| {
                        let values = (0..n)
                            .map(|i| {
                                let text = chunk.text(i, *j);
                                (!text.trim_ascii().is_empty()).then(|| text.to_owned())
                            })
                            .collect();
                        (name.clone(), Column::Str(values))
                    })
                    .collect(),
            )?;
            match scorer.score_table(&table) {
                Ok(p) => p,
                Err(ServeError::Features(e)) => return Err(feature_error(e, chunk, plan, file)),
                Err(e) => return Err(score_error(e)),
            }
        }
        Inputs::Features(columns) => {
            let mut x = Array2::zeros((n, columns.len()));
            for (k, (name, j)) in columns.iter().enumerate() {
                for i in 0..n {
                    let text = chunk.text(i, *j);
                    let t = text.trim_ascii();
                    let detail = match t.parse::<f64>() {
                        Ok(v) if v.is_finite() => {
                            x[[i, k]] = v;
                            continue;
                        }
                        _ if t.is_empty() => "the value is missing but the model needs every feature; fill it in (impute before scoring, or package the model with its feature transformers)".to_owned(),
                        Ok(_) => format!("`{text}` is not a finite number (NaN and infinities are not accepted); fix the value"),
                        Err(_) => format!("`{text}` is not a number; fix the value"),
                    };
                    return Err(chunk.row_error(file, i, name, detail));
                }
            }
            scorer.score_batch(x.view()).map_err(score_error)?
        }
    };
    if predictions.len() != n {
        return Err(score_error(ServeError::Build(format!(
            "the model returned {} predictions for {n} rows; repackage the model",
            predictions.len()
        ))));
    }
    Ok(predictions)
}

/// A transformer error on one value becomes a [`BatchError::Row`] naming its line; the row in
/// a [`FeatureError`] is the chunk's.
fn feature_error(e: FeatureError, chunk: &Chunk, plan: &Plan, file: &str) -> BatchError {
    // The field as written, when the column is an input column.
    let raw = |row: usize, column: &str| -> Option<String> {
        match &plan.inputs {
            Inputs::Raw(columns) | Inputs::Features(columns) => {
                columns.iter().find(|(name, _)| name == column).map(|(_, j)| chunk.text(row, *j).to_owned())
            }
        }
    };
    let none = String::new();
    let (row, column, detail) = match &e {
        FeatureError::NotNumeric { column, row, value, context } => (
            *row,
            column,
            format!("`{value}` is not a number; fix the value, or leave the field empty to mark it missing{context}"),
        ),
        FeatureError::NotFinite { column, row, value, context } => (
            *row,
            column,
            format!(
                "`{}` is not a finite number (NaN and infinities are not accepted); fix the value, or leave the field empty to mark it missing{context}",
                raw(*row, column).unwrap_or_else(|| value.to_string())
            ),
        ),
        FeatureError::MissingValue { column, row, context, .. } => (
            *row,
            column,
            format!("the value is missing but the model needs one (the package has no imputer for it); fill the field in{context}"),
        ),
        FeatureError::UnseenCategory { column, row, value, known, context } => (
            *row,
            column,
            format!("category `{value}` is unknown to the model's encoder, which knows only {known} and refuses others; fix the value, or retrain with an encoder that gives unseen categories a code{context}"),
        ),
        FeatureError::DivisionByZero { column, row, context } => (
            *row,
            column,
            format!("the denominator is zero; fix the values it is computed from{context}"),
        ),
        _ => (usize::MAX, &none, String::new()),
    };
    if row < chunk.len {
        return chunk.row_error(file, row, column, detail);
    }
    BatchError::Features {
        file: file.to_owned(),
        first_line: chunk.line(0),
        last_line: chunk.line(chunk.len.saturating_sub(1)),
        source: Box::new(e),
    }
}

/// A progress bar for [`BatchOptions::on_progress`] on standard error: bytes read of the input's
/// size, rows scored, elapsed time and ETA. Hidden (draws nothing) when standard error is not a
/// terminal. Needs the `progress` feature.
///
/// ```
/// use mlflow_serve::{BatchBar, BatchOptions, BatchProgress};
/// let bar = BatchBar::stderr();
/// let b = bar.clone();
/// let _options = BatchOptions::new().on_progress(move |p| b.update(p));
/// bar.update(&BatchProgress { bytes_read: 10, total_bytes: Some(100), rows: 2 });
/// bar.finish();
/// ```
#[cfg(feature = "progress")]
#[derive(Clone)]
pub struct BatchBar {
    bar: indicatif::ProgressBar,
}

#[cfg(feature = "progress")]
impl fmt::Debug for BatchBar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBar").field("hidden", &self.bar.is_hidden()).finish()
    }
}

#[cfg(feature = "progress")]
impl BatchBar {
    /// A bar on standard error, or a hidden one when it is not a terminal.
    ///
    /// See [`BatchBar`] for an example.
    pub fn stderr() -> BatchBar {
        use std::io::IsTerminal;
        if !io::stderr().is_terminal() {
            return BatchBar { bar: indicatif::ProgressBar::hidden() };
        }
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} scoring [{bar:30}] {bytes}/{total_bytes} {elapsed} (eta {eta}) {wide_msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
            .with_style(style);
        BatchBar { bar }
    }

    /// Shows a progress report.
    ///
    /// See [`BatchBar`] for an example.
    pub fn update(&self, progress: &BatchProgress) {
        if let Some(total) = progress.total_bytes {
            if self.bar.length() != Some(total) {
                self.bar.set_length(total);
            }
        }
        self.bar.set_position(progress.bytes_read);
        self.bar.set_message(format!("{} rows", progress.rows));
    }

    /// Clears the bar (call it before printing a summary).
    ///
    /// See [`BatchBar`] for an example.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lineage, ModelPackage};
    use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};

    fn scorer() -> Scorer {
        let x = ndarray::array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
        let model =
            Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))
                .unwrap();
        Scorer::new(ModelPackage::new("nb", model, None, &["a", "b"], x.view(), Lineage::default()).unwrap())
    }

    fn score(text: &str, options: &BatchOptions) -> Result<String, BatchError> {
        let mut out = Vec::new();
        score_csv(&scorer(), text.as_bytes(), "t.csv", &mut out, options)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn bom_quotes_and_delimiters_round_trip() {
        let out = score("\u{feff}id;a;b\n\"x;y\";0.1;1\n", &BatchOptions::new().delimiter(b';')).unwrap();
        assert!(out.starts_with("id;a;b;prediction;probability\n\"x;y\";0.1;1;0;"), "{out}");
    }

    #[test]
    fn bad_options_and_headers() {
        let err = score("a,b\n1,2\n", &BatchOptions::new().chunk_rows(0)).unwrap_err();
        assert!(matches!(err, BatchError::Options(_)), "{err}");
        let err = score("a,b,a\n1,2,3\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(err, BatchError::Data(DataError::DuplicateHeader { .. })), "{err}");
        let err = score("a,b,prediction\n1,2,3\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::OutputClash { column, .. } if column == "prediction"), "{err}");
        assert!(score("a,b,prediction\n1,2,3\n", &BatchOptions::new().keep(["a"])).is_ok());
        let err = score("a,b\n1,2\n", &BatchOptions::new().keep(["a", "a"])).unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
        let err = score("a,b\n1,\n", &BatchOptions::new()).unwrap_err();
        assert!(matches!(&err, BatchError::Row { line: 2, column, .. } if column == "b"), "{err}");
        assert!(err.to_string().contains("missing"), "{err}");
        let err = score("a;b\n1;2\n", &BatchOptions::new()).unwrap_err();
        assert!(err.to_string().ends_with("(the header has one column: is the delimiter right?)"), "{err}");
        let err = score("a,b\n1,inf\n", &BatchOptions::new()).unwrap_err();
        assert!(err.to_string().contains("`inf` is not a finite number"), "{err}");
    }

    #[test]
    fn lines_are_right_whatever_the_line_ends() {
        // Line 2-3: a quoted field spanning two lines; 4: blank; 5: fine; 6: a bad value.
        let text = "id,a,b\n\"x\ny\",0.1,1\n\n7,0.2,1\n8,0.3,abc\n";
        let ragged = "id,a,b\n\"x\ny\",0.1,1\n7,0.2\n";
        for end in ["\n", "\r\n", "\r"] {
            for chunk in [1, 2, 100] {
                let options = BatchOptions::new().chunk_rows(chunk);
                let err = score(&text.replace('\n', end), &options).unwrap_err();
                assert!(
                    matches!(&err, BatchError::Row { line: 6, row: 2, column, .. } if column == "b"),
                    "{end:?}, chunks of {chunk}: {err}"
                );
                assert!(err.to_string().starts_with("`t.csv` line 6, column `b`"), "{err}");
                let err = score(&ragged.replace('\n', end), &options).unwrap_err();
                assert!(
                    matches!(err, BatchError::Data(DataError::RaggedRow { line: 4, row: 1, .. })),
                    "{end:?}, chunks of {chunk}: {err}"
                );
            }
        }
    }

    #[test]
    fn messages_escape_control_characters_from_the_input() {
        let run = |text: &str, options: &BatchOptions| {
            score_csv(&scorer(), text.as_bytes(), "in\x1b[2J.csv", Vec::new(), options).unwrap_err()
        };
        let title = "\x1b]0;pwned\x07";
        let cases = [
            (
                run(&format!("\"{title}\",a,b\n1,\"0.1\r\x1b[2J\",1\n"), &BatchOptions::new()),
                "`in\\u{1b}[2J.csv` line 2, column `a`: `0.1\\u{d}\\u{1b}[2J` is not a number",
            ),
            (
                run(&format!("\"{title}\",b\n1,2\n"), &BatchOptions::new()),
                "columns found: \\u{1b}]0;pwned\\u{7}, b",
            ),
            (
                run("a,b\n1,2\n", &BatchOptions::new().keep([title])),
                "cannot keep column `\\u{1b}]0;pwned\\u{7}` of `in\\u{1b}[2J.csv`",
            ),
            (run(&format!("a,b,{title}\n1,2\n"), &BatchOptions::new()), "`in\\u{1b}[2J.csv` line 2"),
        ];
        for (err, fragment) in cases {
            let message = err.to_string();
            assert!(!message.chars().any(mlflow_core::text::is_unsafe_char), "raw control in {message:?}");
            assert!(message.contains(fragment), "no {fragment:?} in {message}");
        }
    }

    #[test]
    fn not_utf8_names_the_line_and_column() {
        let mut out = Vec::new();
        let err = score_csv(&scorer(), &b"a,b,c\n1,2,\xff\n"[..], "t.csv", &mut out, &BatchOptions::new())
            .unwrap_err();
        assert!(
            matches!(&err, BatchError::Data(DataError::NotUtf8 { line: 2, column, .. }) if column == "c"),
            "{err}"
        );
        assert!(out.is_empty(), "nothing is written before the first chunk is scored");
    }
}
