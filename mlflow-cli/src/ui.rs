//! `mlflow-pipelines ui`: the local web UI over the store (runs, comparisons, models, lineage).

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use mlflow::serve::ui::{UiConfig, UiServer};
use mlflow::store::Store;

use crate::CliResult;

#[derive(Args)]
pub struct UiArgs {
    /// The address to listen on (127.0.0.1: this machine only).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = 8090)]
    port: u16,
    /// Allow promotions from the model pages (guarded as `model promote`, with a CSRF token;
    /// each records who and why). Without it the UI is read-only.
    #[arg(long)]
    allow_writes: bool,
}

/// Serves until SIGINT or SIGTERM.
pub fn ui(store: Store, args: UiArgs) -> CliResult<()> {
    let config = UiConfig::new(SocketAddr::new(args.host, args.port))
        .allow_writes(args.allow_writes)
        .handle_signals(true)
        .announce(true);
    let server = UiServer::start(store, config).map_err(|e| e.to_string())?;
    server.wait().map_err(|e| e.to_string())
}
