//! Scoring into a file: a temporary file renamed into place only when every row was scored.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::stream::run;
use super::{BatchError, BatchOptions, BatchSummary};
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
