//! `mlflow-pipelines predictions`: the newest records of a model's prediction log (written by
//! `mlflow-pipelines serve`), as a table or, with `--json`, one JSON object per line (for `jq`).
//!
//! Segments are read newest first, and only as many as needed to find the newest `--limit`
//! matching records; each is streamed, so memory stays bounded by the limit. A segment that
//! cannot be read (e.g. of a newer format version) is reported on stderr, one line naming the
//! file and the problem, and the other segments are still shown. Reading takes no lock: a log
//! can be read while `mlflow-pipelines serve` writes it.

use std::collections::VecDeque;
use std::io::{self, Write};

use clap::Args;
use mlflow::serve::{LogReader, PredictionLog, PredictionRecord};
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
    let keep = |r: &PredictionRecord| {
        args.role.as_deref().is_none_or(|role| r.role.as_str() == role)
            && args.request.as_deref().is_none_or(|id| r.request_id == id)
    };
    let limit = if args.limit == 0 { usize::MAX } else { args.limit };
    // Newest segment first; within a segment, only its newest `needed` matching records.
    let mut newest_first: Vec<VecDeque<PredictionRecord>> = Vec::new();
    let (mut found, mut torn) = (0usize, 0usize);
    for file in files.into_iter().rev() {
        let needed = limit - found;
        if needed == 0 {
            break;
        }
        let mut reader = LogReader::new([file]);
        let mut matching = VecDeque::new();
        for record in reader.by_ref() {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    // The error names the file; the reader goes on with the next segment.
                    eprintln!("warning: {e} (skipped; the other segments are shown)");
                    continue;
                }
            };
            if keep(&record) {
                if matching.len() == needed {
                    matching.pop_front();
                }
                matching.push_back(record);
            }
        }
        torn += reader.torn();
        found += matching.len();
        newest_first.push(matching);
    }
    let records = newest_first.into_iter().rev().flatten();
    let written = if json { print_lines(records) } else { print_records(records.collect(), &args.model) };
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

/// One JSON object per line.
fn print_lines(records: impl Iterator<Item = PredictionRecord>) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    for record in records {
        serde_json::to_writer(&mut out, &record).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A table, oldest first.
fn print_records(records: Vec<PredictionRecord>, model: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    if records.is_empty() {
        return writeln!(out, "no matching predictions logged for {model}");
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
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}
