//! `mlflow-pipelines score`: batch scoring of a CSV or Parquet file with a registered model.
//!
//! The model is loaded as the online scorer loads it (`Scorer::from_registry`: the same
//! package, verified by its self-test) and the file is streamed through
//! `mlflow::serve::score_csv` (or `score_parquet`, for a file starting with the Parquet magic
//! bytes or named `*.parquet`) a chunk at a time, with the same input checks. A file
//! destination is written to a temporary file beside it and renamed only on success; one named
//! `*.parquet` is written as Parquet. A progress bar is drawn
//! on standard error when it is a terminal; a summary line follows (or, with `--json`, a JSON
//! summary on standard output unless the scored rows go there).

use std::io;
use std::path::PathBuf;

use clap::Args;
use mlflow::registry::Registry;
use mlflow::serve::{
    BatchBar, BatchError, BatchOptions, BatchSummary, DEFAULT_CHUNK_ROWS, FileFormat, Scorer, open_input,
    score_csv, score_csv_to_file, score_file,
};
use mlflow::store::Store;

use crate::CliResult;

/// Arguments of `mlflow-pipelines score`.
#[derive(Args)]
pub struct ScoreArgs {
    /// The model: NAME (latest version), NAME/VERSION or NAME@ALIAS.
    reference: String,
    /// The CSV or Parquet file to score (`-` for standard input, read as CSV): raw rows when the
    /// model was packaged with its feature transformers, else one column per feature; other
    /// columns are passed through. A file that starts with the Parquet magic bytes `PAR1` or is
    /// named `*.parquet` is read as Parquet, a batch of rows at a time.
    input: PathBuf,
    /// Where to write the scored rows (default or `-`: standard output, as CSV). A file is
    /// written to a temporary file beside it and renamed on success: a failed run leaves it
    /// untouched. A name ending in `.parquet` writes Parquet (kept columns, then `prediction`
    /// and `probability`), any other CSV.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Copy only these input columns to the output, in this order (repeat the option or separate
    /// names with commas). Default: every input column.
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    keep: Vec<String>,
    /// Rows read, scored and written at a time (memory grows with it).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK_ROWS)]
    chunk_rows: usize,
    /// The field delimiter of a CSV input and of a CSV output.
    #[arg(long, value_name = "C", default_value_t = ',')]
    delimiter: char,
}

/// Runs `mlflow-pipelines score`.
pub fn run(store: &Store, args: ScoreArgs, json: bool) -> CliResult<()> {
    let delimiter = u8::try_from(args.delimiter)
        .ok()
        .filter(|d| d.is_ascii() && *d != b'"' && *d != b'\n' && *d != b'\r')
        .ok_or_else(|| {
            format!(
                "--delimiter `{}` is not usable: give one ASCII character such as `,`, `;` or a tab",
                args.delimiter
            )
        })?;
    let registry = Registry::new(store).map_err(|e| e.to_string())?;
    let scorer = Scorer::from_registry(&registry, &args.reference).map_err(|e| e.to_string())?;
    let bar = BatchBar::stderr();
    let mut options = BatchOptions::new().chunk_rows(args.chunk_rows).delimiter(delimiter);
    if !args.keep.is_empty() {
        options = options.keep(args.keep);
    }
    let options = {
        let bar = bar.clone();
        options.on_progress(move |p| bar.update(p))
    };
    let stdin = args.input.as_os_str() == "-";
    let output = args.output.filter(|o| o.as_os_str() != "-");
    let result = match (&output, stdin) {
        (Some(out), false) => score_file(&scorer, &args.input, out, &options),
        (Some(out), true) if FileFormat::of_output(out) == FileFormat::Parquet => {
            bar.finish();
            return Err(format!(
                "cannot write `{}` as Parquet from standard input, which is read as CSV; give the input as a file, or an output name that does not end in `.parquet`",
                mlflow::text::escape_controls(&out.display().to_string())
            ));
        }
        (Some(out), true) => score_csv_to_file(&scorer, io::stdin().lock(), "standard input", out, &options),
        (None, _) => {
            let out = io::stdout().lock();
            if stdin {
                score_csv(&scorer, io::stdin().lock(), "standard input", out, &options)
            } else {
                score_to_stdout(&scorer, &args.input, out, &options)
            }
        }
    };
    bar.finish();
    let summary = match result {
        Ok(summary) => summary,
        // The reader of standard output went away (`mlflow-pipelines score ... | head`): stop quietly.
        Err(BatchError::Io { source, .. })
            if output.is_none() && source.kind() == io::ErrorKind::BrokenPipe =>
        {
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    let destination =
        output.as_ref().map_or_else(|| "standard output".to_owned(), |o| o.display().to_string());
    if json && output.is_some() {
        let mut value = serde_json::to_value(&summary).map_err(|e| e.to_string())?;
        value["reference"] = args.reference.into();
        value["model"] = summary.model().into();
        value["output"] = destination.into();
        value["rows_per_sec"] = summary.rows_per_sec().into();
        return crate::print_json(&value);
    }
    eprintln!("{}", summary_line(&summary, &destination));
    Ok(())
}

/// Scores the file `input`, CSV or Parquet, into CSV on standard output.
fn score_to_stdout(
    scorer: &Scorer,
    input: &std::path::Path,
    out: io::StdoutLock<'_>,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let name = input.display().to_string();
    match FileFormat::of_input(input)? {
        FileFormat::Csv => {
            open_input(input).and_then(|file| score_csv(scorer, io::BufReader::new(file), &name, out, options))
        }
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => {
            let file = mlflow::data::ParquetFile::open(input)?;
            mlflow::serve::score_parquet(scorer, &file, out, options)
        }
        #[cfg(not(feature = "parquet"))]
        FileFormat::Parquet => Err(BatchError::Format {
            file: name,
            detail: "this build of mlflow-pipelines reads CSV only; install it with the `parquet` feature to score Parquet files (or convert the file to CSV)".into(),
        }),
    }
}

/// `scored 418 rows of test.csv with titanic/1 (svm): 152 predicted 1 (36.4%) in
/// 41ms, 10195 rows/s -> out.csv`
fn summary_line(s: &BatchSummary, destination: &str) -> String {
    let share = if s.rows > 0 { 100.0 * s.positives as f64 / s.rows as f64 } else { 0.0 };
    let package = if s.model() == s.package { String::new() } else { format!(" ({})", s.package) };
    format!(
        "scored {} rows of {} with {}{package}: {} predicted 1 ({share:.1}%) in {}, {:.0} rows/s -> {destination}",
        s.rows,
        s.input,
        s.model(),
        s.positives,
        mlflow::exec::format_duration(s.elapsed),
        s.rows_per_sec(),
    )
}
