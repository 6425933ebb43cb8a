//! `mlflow-pipelines labels`: delayed ground truth for logged predictions.
//!
//! ```text
//! mlflow-pipelines labels ingest FILE --model NAME[@alias|/version]
//! mlflow-pipelines labels show NAME [--min-labels N]
//! ```
//!
//! `ingest` reads a CSV file (header `request_id,row,label`, `row` optional) or a JSON-lines
//! file (`{"request_id": "...", "row": 0, "label": ...}` per line), maps each label to a class
//! of the model (its package's classes: `--model` picks the version, the latest by default) or a
//! value (regressor), and appends them to the model's label store
//! (`<store>/predictions/NAME/labels`), which a running `mlflow-pipelines serve` shares. The
//! file is checked whole first: any bad line refuses it, naming the bad lines, and nothing is
//! stored. Ingesting the same file again adds nothing (every label counts as a duplicate).
//!
//! `show` counts the labels and how many match logged predictions, and prints the performance
//! of the champion's logged predictions (its newest logged version): realized metrics with at
//! least `--min-labels` labels, else an estimate from the predicted probabilities, marked as
//! such.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use mlflow::registry::{ModelRef, Registry};
use mlflow::serve::{
    LabelMapping, LabelSource, LabelStore, PredictionKeys, PredictionLog, PredictionRecord, Role, Scorer,
    TrueValue, performance, read_label_file,
};
use mlflow::store::Store;
use serde_json::json;

use crate::CliResult;

/// Arguments of `mlflow-pipelines labels`.
#[derive(Args)]
pub struct LabelsArgs {
    #[command(subcommand)]
    command: LabelsCommand,
}

#[derive(Subcommand)]
enum LabelsCommand {
    /// Attach the ground truth in a CSV or JSON-lines file to logged predictions, by request id
    /// and row (a bad line refuses the whole file; ingesting a file again adds nothing).
    Ingest {
        /// The file: CSV with a header `request_id,row,label` (row optional), or one JSON object
        /// per line, `{"request_id": "...", "row": 0, "label": ...}`.
        file: PathBuf,
        /// The registered model: NAME (its latest version's classes), NAME/VERSION or NAME@ALIAS.
        #[arg(long)]
        model: String,
    },
    /// Count a model's labels, and show the performance of its champion's logged predictions.
    Show {
        /// The registered model's name.
        model: String,
        /// Labels needed for realized metrics; with fewer, the performance is estimated.
        #[arg(long, value_name = "N", default_value_t = 100)]
        min_labels: usize,
    },
}

/// Runs `mlflow-pipelines labels`.
pub fn run(store: &Store, args: LabelsArgs, json: bool) -> CliResult<()> {
    match args.command {
        LabelsCommand::Ingest { file, model } => ingest(store, &file, &model, json),
        LabelsCommand::Show { model, min_labels } => show(store, &model, min_labels, json),
    }
}

/// The model's name and how its labels map, from its registered package.
fn mapping(store: &Store, reference: &str) -> CliResult<(String, LabelMapping)> {
    let name = ModelRef::parse(reference).map_err(|e| e.to_string())?.name().to_owned();
    let registry = Registry::new(store).map_err(|e| e.to_string())?;
    let scorer = Scorer::from_registry(&registry, reference).map_err(|e| e.to_string())?;
    Ok((name, LabelMapping::for_package(scorer.package())))
}

fn ingest(store: &Store, file: &std::path::Path, reference: &str, json: bool) -> CliResult<()> {
    let (name, mapping) = mapping(store, reference)?;
    let (labels, format) = read_label_file(file, &mapping).map_err(|e| e.to_string())?;
    let mut keys = PredictionKeys::new(PredictionLog::dir_in(store, &name));
    keys.refresh().map_err(|e| e.to_string())?;
    let labels_dir = LabelStore::dir_in(store, &name);
    let label_store = LabelStore::open(&labels_dir).map_err(|e| e.to_string())?;
    let file_name =
        file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let appended = label_store.append(&labels, &LabelSource::File(file_name)).map_err(|e| e.to_string())?;
    let unmatched = labels.iter().filter(|l| !keys.contains(&l.request_id, l.row)).count();
    if json {
        let line = json!({
            "file": file.display().to_string(),
            "model": name,
            "format": format!("{format:?}").to_lowercase(),
            "labels": labels.len(),
            "accepted": appended.accepted,
            "replaced": appended.replaced,
            "duplicates": appended.duplicates,
            "superseded": appended.superseded,
            "unmatched": unmatched,
        });
        println!("{line}");
    } else {
        println!(
            "{}: {} labels for {name}: {} accepted ({} replacing an earlier label), {} duplicates (already stored), {} superseded (a later line of the file labels the same row), {} unmatched (no logged prediction with that request id and row)",
            file.display(),
            labels.len(),
            appended.accepted,
            appended.replaced,
            appended.duplicates,
            appended.superseded,
            unmatched
        );
        println!("stored in {}", labels_dir.display());
    }
    Ok(())
}

fn show(store: &Store, model: &str, min_labels: usize, json: bool) -> CliResult<()> {
    let labels_dir = LabelStore::dir_in(store, model);
    let labels = LabelStore::read(&labels_dir).map_err(|e| e.to_string())?;
    let log_dir = PredictionLog::dir_in(store, model);
    let records = if log_dir.is_dir() {
        PredictionLog::read(&log_dir).map_err(|e| e.to_string())?.records
    } else {
        Vec::new()
    };
    let mut keys = PredictionKeys::new(&log_dir);
    keys.refresh().map_err(|e| e.to_string())?;
    let unmatched = labels.iter().filter(|(id, row, _)| !keys.contains(id, *row)).count();
    // The champion's records of its newest logged version.
    let version = records.iter().filter(|r| r.role == Role::Champion).map(|r| r.version).max();
    let champion: Vec<PredictionRecord> =
        records.into_iter().filter(|r| r.role == Role::Champion && Some(r.version) == version).collect();
    let joined = labels.for_records(&champion);
    let registry = Registry::new(store).map_err(|e| e.to_string())?;
    let package = version.and_then(|v| Scorer::from_registry(&registry, &format!("{model}/{v}")).ok());
    let mapping = package.as_ref().map(|s| LabelMapping::for_package(s.package()));
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    for (_, _, value) in labels.iter() {
        let shown = match (value, &mapping) {
            (TrueValue::Class(c), Some(m)) => {
                m.class_label(c).map_or_else(|| c.to_string(), ToString::to_string)
            }
            (TrueValue::Class(c), None) => format!("class {c}"),
            (TrueValue::Value(_), _) => "values".to_owned(),
        };
        *by_class.entry(shown).or_default() += 1;
    }
    let performance = mapping.as_ref().map(|m| performance(&champion, &joined, m.task(), min_labels));
    if json {
        let line = json!({
            "model": model,
            "labels": labels.len(),
            "records": labels.records(),
            "torn": labels.torn(),
            "segments": labels.segments(),
            "unmatched": unmatched,
            "by_class": by_class,
            "champion_version": version,
            "champion_predictions": champion.len(),
            "champion_labeled": joined.iter().filter(|l| l.is_some()).count(),
            "performance": performance,
        });
        println!("{line}");
        return Ok(());
    }
    println!(
        "{model}: {} labels ({} stored, {} torn frames skipped) in {}",
        labels.len(),
        labels.records(),
        labels.torn(),
        labels_dir.display()
    );
    if !by_class.is_empty() {
        let classes: Vec<String> = by_class.iter().map(|(class, n)| format!("{class}: {n}")).collect();
        println!("  by label: {}", classes.join(", "));
    }
    println!("  {unmatched} match no logged prediction (it may be in a segment rotated away)");
    match (version, performance) {
        (Some(version), Some(performance)) => {
            println!(
                "  champion {model}/{version}: {} logged predictions, {} labeled",
                champion.len(),
                joined.iter().filter(|l| l.is_some()).count()
            );
            println!("  performance: {performance}");
        }
        (Some(version), None) => {
            println!("  champion {model}/{version}: not in the registry, no performance")
        }
        (None, _) => println!("  no champion prediction logged"),
    }
    Ok(())
}
