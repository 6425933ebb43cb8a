//! Batch scoring of CSV files: [`score_csv`] and [`score_csv_file`] stream a file through a
//! [`Scorer`] a chunk of rows at a time and write every row back with its prediction. With the
//! `parquet` feature, `score_parquet` and `score_parquet_file` do the same for Parquet files,
//! and [`score_file`] scores either (chosen by content) into CSV or Parquet (chosen by name).
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

#[cfg(feature = "progress")]
mod bar;
mod error;
mod files;
mod output;
#[cfg(feature = "parquet")]
mod parquet;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};

#[cfg(feature = "progress")]
pub use bar::BatchBar;
pub use error::BatchError;
pub use files::{open_input, score_csv_file, score_csv_to_file, score_file};
#[cfg(feature = "parquet")]
pub use parquet::{score_parquet, score_parquet_file};
pub use stream::score_csv;

/// Rows read, scored and written at a time, unless [`BatchOptions::chunk_rows`] says otherwise.
///
/// ```
/// assert_eq!(mlflow_serve::BatchOptions::new().chunk_rows, mlflow_serve::DEFAULT_CHUNK_ROWS);
/// ```
pub const DEFAULT_CHUNK_ROWS: usize = 8192;

/// The format of a batch input or output file.
///
/// ```
/// use mlflow_serve::FileFormat;
/// assert_eq!(FileFormat::of_output("out.parquet".as_ref()), FileFormat::Parquet);
/// assert_eq!(FileFormat::of_output("out.PARQUET".as_ref()), FileFormat::Parquet);
/// assert_eq!(FileFormat::of_output("out.csv".as_ref()), FileFormat::Csv);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// CSV (or another delimiter, [`BatchOptions::delimiter`]).
    Csv,
    /// Apache Parquet (feature `parquet` to read and write it).
    Parquet,
}

impl FileFormat {
    /// The format of an input file: Parquet when it starts with the Parquet magic bytes `PAR1`
    /// or its name ends in `.parquet` (so that a damaged Parquet file is reported as one, not as
    /// a malformed CSV file), else CSV. Reads the file's first 4 bytes.
    ///
    /// ```
    /// use mlflow_serve::FileFormat;
    /// let dir = tempfile::tempdir()?;
    /// let (csv, parquet) = (dir.path().join("a.csv"), dir.path().join("a.data"));
    /// std::fs::write(&csv, "x\n1\n")?;
    /// std::fs::write(&parquet, b"PAR1...")?;
    /// assert_eq!(FileFormat::of_input(&csv)?, FileFormat::Csv);
    /// assert_eq!(FileFormat::of_input(&parquet)?, FileFormat::Parquet);
    /// assert!(FileFormat::of_input(&dir.path().join("none.csv")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_input(path: &std::path::Path) -> Result<FileFormat, BatchError> {
        use std::io::Read;
        let mut head = Vec::with_capacity(4);
        open_input(path)?.take(4).read_to_end(&mut head).map_err(|source| BatchError::Io {
            action: "read",
            target: format!("`{}`", path.display()),
            source,
        })?;
        Ok(if head == b"PAR1" || Self::of_output(path) == FileFormat::Parquet {
            FileFormat::Parquet
        } else {
            FileFormat::Csv
        })
    }

    /// The format of an output file, from its name: Parquet when it ends in `.parquet` (in any
    /// case), else CSV.
    ///
    /// See [`FileFormat`] for an example.
    pub fn of_output(path: &std::path::Path) -> FileFormat {
        match path.extension() {
            Some(ext) if ext.eq_ignore_ascii_case("parquet") => FileFormat::Parquet,
            _ => FileFormat::Csv,
        }
    }
}

/// The output columns added after the input columns: `prediction` (the class label as the label
/// column held it, or the value of a regressor), then `probability` (P of the second class) for a
/// binary model or one `probability_<class>` per class for a multiclass model.
fn output_columns(package: &crate::ModelPackage) -> Vec<String> {
    let mut columns = vec!["prediction".to_owned()];
    match (package.task(), package.classes()) {
        (mlflow_ml::models::Task::Regression, _) => {}
        (mlflow_ml::models::Task::Classification { classes: 2 }, _) => columns.push("probability".into()),
        (mlflow_ml::models::Task::Classification { classes: n }, labels) => columns.extend((0..n).map(|c| {
            let name = labels.and_then(|l| l.label(c)).map_or_else(|| c.to_string(), ToString::to_string);
            format!("probability_{name}")
        })),
    }
    columns
}

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
///     package: "svm".into(),
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
    /// Rows predicted class 1 (the second class) by a binary model; 0 for other models.
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
        if secs > 0.0 { self.rows as f64 / secs } else { 0.0 }
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

/// A naive Bayes package over two features `a` and `b`, for the batch tests.
#[cfg(test)]
fn test_scorer() -> crate::Scorer {
    use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
    let x = ndarray::array![[0.0, 1.0], [0.2, 1.0], [2.0, 0.0], [2.2, 0.0]];
    let model =
        Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default())).unwrap();
    let package =
        crate::ModelPackage::new("nb", model, None, &["a", "b"], x.view(), crate::Lineage::default());
    crate::Scorer::new(package.unwrap())
}
