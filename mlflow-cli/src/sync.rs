//! `mlflow-pipelines sync --to-mlflow URL`: mirror the store into an MLflow tracking server (the
//! work is `mlflow_bridge::sync`).

use clap::Args;
use mlflow::store::Store;

use crate::{CliResult, print_json};

#[derive(Args)]
pub struct SyncArgs {
    /// The MLflow tracking server, e.g. http://127.0.0.1:5000 (credentials from
    /// MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD; over
    /// https, a private CA from MLFLOW_TRACKING_SERVER_CERT_PATH).
    #[arg(long = "to-mlflow", value_name = "URL")]
    to_mlflow: String,
    /// Name each MLflow experiment PREFIX + the pipeline's name.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    experiment_prefix: String,
    /// Read MLflow and report what a sync would write, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// How artifact URIs name this store, `mlflow-pipelines://LABEL/artifacts/HASH` (default: the
    /// store folder's absolute path).
    #[arg(long, value_name = "LABEL")]
    store_label: Option<String>,
}

pub fn run(store: &Store, args: SyncArgs, json: bool) -> CliResult<()> {
    let label = args.store_label.unwrap_or_else(|| {
        let root = store.root();
        std::fs::canonicalize(root).unwrap_or_else(|_| root.to_owned()).display().to_string()
    });
    let options = mlflow_bridge::SyncOptions::new(args.to_mlflow)
        .experiment_prefix(args.experiment_prefix)
        .dry_run(args.dry_run)
        .store_label(label);
    let report = mlflow_bridge::sync(store, &options).map_err(|e| e.to_string())?;
    if json {
        print_json(&report)?;
    } else {
        print!("{}", report.summary());
    }
    match report.failures() {
        0 => Ok(()),
        n => Err(format!("{n} item(s) could not be mirrored (listed above); the rest was")),
    }
}
