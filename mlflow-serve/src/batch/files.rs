//! Scoring into a file: a temporary file renamed into place only when every row was scored.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::output::CsvOutput;
use super::stream::run;
use super::{BatchError, BatchOptions, BatchSummary, FileFormat};
use crate::Scorer;
use mlflow_ml::data::DataError;

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
    into_file(output.as_ref(), |out, target| {
        run(scorer, reader, &name, total, CsvOutput::new(out, options.delimiter, target), options)
    })
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
    into_file(output.as_ref(), |out, target| {
        run(scorer, input, name, None, CsvOutput::new(out, options.delimiter, target), options)
    })
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
pub(super) fn into_file(
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

/// Scores the file `input`, CSV or Parquet, into the file `output`, CSV or Parquet: the input's
/// format is read from its content ([`FileFormat::of_input`]: the Parquet magic bytes, or a
/// `.parquet` name), the output's from its name ([`FileFormat::of_output`]: `.parquet` or not).
/// Written to a temporary file beside `output` and renamed over it only when every row was
/// scored, as [`score_csv_file`] does.
///
/// A Parquet output holds the kept input columns (with their types from a Parquet input, as
/// text from a CSV input: empty fields are nulls), then `prediction` (`int64`) and
/// `probability` (`double`). Reading or writing Parquet needs the `parquet` feature: without
/// it, a Parquet input or output is a [`BatchError::Format`] error.
///
/// ```
/// # use mlflow_ml::models::{Model, ModelParams, NaiveBayesParams};
/// # use mlflow_serve::{Lineage, ModelPackage, Scorer};
/// # let x = ndarray::array![[0.0], [0.2], [2.0], [2.2]];
/// # let model = Model::fit(x.view(), &[0, 0, 1, 1], &ModelParams::NaiveBayes(NaiveBayesParams::default()))?;
/// # let scorer = Scorer::new(ModelPackage::new("nb", model, None, &["x"], x.view(), Lineage::default())?);
/// use mlflow_serve::{score_file, BatchOptions};
/// let dir = tempfile::tempdir()?;
/// let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
/// std::fs::write(&input, "x\n0.1\n2.1\n")?;
/// let summary = score_file(&scorer, &input, &output, &BatchOptions::new())?;
/// assert_eq!((summary.rows, summary.positives), (2, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn score_file(
    scorer: &Scorer,
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let (input, output) = (input.as_ref(), output.as_ref());
    match (FileFormat::of_input(input)?, FileFormat::of_output(output)) {
        (FileFormat::Csv, FileFormat::Csv) => score_csv_file(scorer, input, output, options),
        #[cfg(feature = "parquet")]
        (FileFormat::Parquet, _) => super::score_parquet_file(scorer, input, output, options),
        #[cfg(feature = "parquet")]
        (FileFormat::Csv, FileFormat::Parquet) => {
            let name = input.display().to_string();
            let file = open_input(input)?;
            let total = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            let reader = BufReader::with_capacity(1 << 16, file);
            into_file(output, |out, target| {
                run(scorer, reader, &name, total, super::output::ParquetOutput::new(out, target), options)
            })
        }
        #[cfg(not(feature = "parquet"))]
        (input_format, _) => {
            let file = if input_format == FileFormat::Parquet { input } else { output };
            Err(BatchError::Format {
                file: file.display().to_string(),
                detail: "this build reads and writes CSV only; build with the `parquet` feature to score Parquet files or write Parquet output (or convert the file to CSV)".into(),
            })
        }
    }
}
