//! `mlflow-pipelines predictions`: the newest records of a model's prediction log (written by
//! `mlflow-pipelines serve`), or with `--failures` its newest failed requests, as a table or,
//! with `--json`, one JSON object per line (for `jq`).
//!
//! Segments are read newest first, and only as many as needed to find the newest `--limit`
//! matching records; each is streamed, so memory stays bounded by the limit. A segment that
//! cannot be read (e.g. of a newer format version) is reported on stderr, one line naming the
//! file and the problem, and the other segments are still shown. Reading takes no lock: a log
//! can be read while `mlflow-pipelines serve` writes it.

use std::collections::VecDeque;
use std::io::{self, Write};

use clap::Args;
use mlflow::serve::{LogEntry, LogReader, PredictionLog, PredictionRecord, RequestFailure};
use mlflow::store::Store;
use mlflow::track::format_timestamp;

use crate::CliResult;

/// Arguments of `mlflow-pipelines predictions`.
#[derive(Args)]
pub struct PredictionsArgs {
    /// The registered model's name.
    model: String,
    /// Show the newest N matching records, oldest first (0: all of them).
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Only the records of this role.
    #[arg(long, value_parser = ["champion", "challenger", "shadow"])]
    role: Option<String>,
    /// Only the records of this request.
    #[arg(long, value_name = "ID")]
    request: Option<String>,
    /// Show the failed requests (refused, timed out) instead of the predictions.
    #[arg(long, conflicts_with = "role")]
    failures: bool,
}

/// Runs `mlflow-pipelines predictions`.
pub fn run(store: &Store, args: PredictionsArgs, json: bool) -> CliResult<()> {
    let dir = PredictionLog::dir_in(store, &args.model);
    let files =
        if dir.is_dir() { PredictionLog::segment_files(&dir).map_err(|e| e.to_string())? } else { vec![] };
    if files.is_empty() {
        return Err(format!(
            "no prediction log for model `{}` in this store (looked in `{}`): `mlflow-pipelines serve {}@ALIAS` logs its predictions unless given --no-log",
            args.model,
            dir.display(),
            args.model
        ));
    }
    let limit = if args.limit == 0 { usize::MAX } else { args.limit };
    let request = args.request.as_deref();
    let (written, torn) = if args.failures {
        let (failures, torn) = newest(files, limit, |entry| match entry {
            LogEntry::Failure(f) if request.is_none_or(|id| f.request_id == id) => Some(f),
            _ => None,
        });
        let written = if json { print_lines(failures) } else { print_failures(failures, &args.model) };
        (written, torn)
    } else {
        let keep = |r: &PredictionRecord| {
            args.role.as_deref().is_none_or(|role| r.role.as_str() == role)
                && request.is_none_or(|id| r.request_id == id)
        };
        let (records, torn) = newest(files, limit, |entry| match entry {
            LogEntry::Prediction(r) if keep(&r) => Some(r),
            _ => None,
        });
        let written = if json { print_lines(records) } else { print_records(records, &args.model) };
        (written, torn)
    };
    match written {
        // `mlflow-pipelines predictions m --json | head` closed the pipe: not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("cannot write the predictions: {e}")),
        Ok(()) => {}
    }
    if torn > 0 && !json {
        eprintln!("({torn} torn or damaged frames skipped)");
    }
    Ok(())
}

/// The newest `limit` entries that `pick` keeps, oldest first: segments newest first, and only
/// as many as needed; a segment that cannot be read is reported and skipped. Also returns the
/// torn frames skipped.
fn newest<T>(
    files: Vec<std::path::PathBuf>,
    limit: usize,
    pick: impl Fn(LogEntry) -> Option<T>,
) -> (Vec<T>, usize) {
    let mut newest_first: Vec<VecDeque<T>> = Vec::new();
    let (mut found, mut torn) = (0usize, 0usize);
    for file in files.into_iter().rev() {
        let needed = limit - found;
        if needed == 0 {
            break;
        }
        let mut reader = LogReader::new([file]).entries();
        let mut matching = VecDeque::new();
        for entry in reader.by_ref() {
            match entry.map(&pick) {
                Ok(Some(item)) => {
                    if matching.len() == needed {
                        matching.pop_front();
                    }
                    matching.push_back(item);
                }
                Ok(None) => {}
                // The error names the file; the reader goes on with the next segment.
                Err(e) => eprintln!("warning: {e} (skipped; the other segments are shown)"),
            }
        }
        torn += reader.torn();
        found += matching.len();
        newest_first.push(matching);
    }
    (newest_first.into_iter().rev().flatten().collect(), torn)
}

/// One JSON object per line.
fn print_lines<T: serde::Serialize>(items: Vec<T>) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    for item in items {
        serde_json::to_writer(&mut out, &item).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The failed requests as a table, oldest first.
fn print_failures(failures: Vec<RequestFailure>, model: &str) -> io::Result<()> {
    if failures.is_empty() {
        return writeln!(io::stdout().lock(), "no failed requests logged for {model}");
    }
    let mut rows =
        vec![["time", "request", "version", "status", "code", "latency"].map(String::from).to_vec()];
    rows.extend(failures.iter().map(|f| {
        vec![
            format_timestamp(f.time_ms),
            f.request_id.clone(),
            f.version.to_string(),
            f.status.to_string(),
            f.code.clone(),
            format!("{} µs", f.latency_us),
        ]
    }));
    write_table(&rows)
}

/// A table, oldest first.
fn print_records(records: Vec<PredictionRecord>, model: &str) -> io::Result<()> {
    if records.is_empty() {
        return writeln!(io::stdout().lock(), "no matching predictions logged for {model}");
    }
    let mut rows = vec![
        ["time", "request", "row", "version", "role", "label", "probability", "latency"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(records.iter().map(|r| {
        vec![
            format_timestamp(r.time_ms),
            r.request_id.clone(),
            r.row.to_string(),
            r.version.to_string(),
            r.role.to_string(),
            r.label.to_string(),
            format!("{:.4}", r.probability),
            format!("{} µs", r.latency_us),
        ]
    }));
    write_table(&rows)
}

fn write_table(rows: &[Vec<String>]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
