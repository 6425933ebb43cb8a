//! `mlflow-pipelines serve`: the HTTP scoring service over registered models.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Args;
use mlflow::registry::ModelRef;
use mlflow::serve::server::{ModelSpec, Server, ServerConfig};
use mlflow::serve::{ChallengerMode, Durability, LogOptions};
use mlflow::store::Store;

use crate::CliResult;

#[derive(Args)]
pub struct ServeArgs {
    /// The models to serve, as NAME@ALIAS (follows promotions), NAME/VERSION or NAME (latest).
    #[arg(required = true, value_name = "REFERENCE")]
    models: Vec<String>,
    /// The address to bind (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// The port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// A shadow challenger: scores every request of the model with the same name, only logged.
    #[arg(long, value_name = "REFERENCE")]
    shadow: Vec<String>,
    /// A canary: REFERENCE=FRACTION answers that share of requests (sticky by routing key).
    #[arg(long, value_name = "REFERENCE=FRACTION")]
    canary: Vec<String>,
    /// An A/B challenger: REFERENCE=FRACTION answers that share of the routing keys.
    #[arg(long, value_name = "REFERENCE=FRACTION")]
    ab: Vec<String>,
    /// Requests with a larger body get 413.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Requests whose request line and headers are larger get 431.
    #[arg(long, default_value_t = mlflow::serve::server::DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: usize,
    /// Close connections that have not sent a whole request line and headers within this many
    /// seconds (slow clients, idle keep-alive connections; 0: never).
    #[arg(long, default_value_t = mlflow::serve::server::DEFAULT_HEADER_READ_TIMEOUT.as_secs())]
    header_timeout_secs: u64,
    /// Answer 408 to requests whose body has not fully arrived within this many seconds after
    /// their headers (0: never).
    #[arg(long, default_value_t = mlflow::serve::server::DEFAULT_BODY_READ_TIMEOUT.as_secs())]
    body_timeout_secs: u64,
    /// How often to check the registry for moved aliases, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    reload_ms: u64,
    /// Rotate the prediction log when a segment reaches this many MiB.
    #[arg(long, default_value_t = 64)]
    log_segment_mib: u64,
    /// Keep at most this many prediction log segments, the newest (0: keep all).
    #[arg(long, default_value_t = mlflow::serve::server::DEFAULT_LOG_SEGMENTS)]
    log_segments: usize,
    /// Do not log predictions.
    #[arg(long)]
    no_log: bool,
    /// Flush every logged prediction to the disk before answering (survives a power loss;
    /// concurrent requests share each fdatasync).
    #[arg(long, conflicts_with = "no_log")]
    log_sync: bool,
    /// On SIGINT/SIGTERM, keep accepting this long with readiness at 503 (for load balancers).
    #[arg(long, default_value_t = 0)]
    shutdown_delay_ms: u64,
    /// Then wait this long for requests in flight before closing their connections.
    #[arg(long, default_value_t = 30)]
    drain_secs: u64,
    /// Threads answering requests (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn serve(store: Store, args: ServeArgs) -> CliResult<()> {
    let mut specs: Vec<ModelSpec> = args.models.iter().map(ModelSpec::new).collect();
    let challengers = args
        .shadow
        .iter()
        .map(|r| Ok((r.clone(), ChallengerMode::Shadow)))
        .chain(args.canary.iter().map(|r| with_fraction(r, "canary")))
        .chain(args.ab.iter().map(|r| with_fraction(r, "ab")));
    for challenger in challengers {
        let (reference, mode) = challenger?;
        let name = model_name(&reference)?;
        let spec = specs
            .iter_mut()
            .find(|s| model_name(s.reference()).is_ok_and(|n| n == name))
            .ok_or_else(|| format!("challenger `{reference}` is for model `{name}`, which is not served; serve `{name}@ALIAS` too"))?;
        *spec = spec.clone().challenger(reference, mode);
    }
    let segment_bytes = args.log_segment_mib.max(1).checked_mul(1 << 20).ok_or_else(|| {
        format!("--log-segment-mib {} is too large; give a size in MiB such as 64", args.log_segment_mib)
    })?;
    let mut log = LogOptions::default().max_segment_bytes(segment_bytes);
    if args.log_segments > 0 {
        log = log.max_segments(args.log_segments);
    }
    if args.log_sync {
        log = log.durability(Durability::Sync);
    }
    let mut config = ServerConfig::new(SocketAddr::new(args.host, args.port))
        .max_body_bytes(args.max_body_bytes)
        .max_header_bytes(args.max_header_bytes)
        .header_read_timeout(Duration::from_secs(args.header_timeout_secs))
        .body_read_timeout(Duration::from_secs(args.body_timeout_secs))
        .reload_interval(Duration::from_millis(args.reload_ms.max(10)))
        .prediction_log((!args.no_log).then_some(log))
        .announce(true)
        .handle_signals(true)
        .shutdown_delay(Duration::from_millis(args.shutdown_delay_ms))
        .drain_timeout(Duration::from_secs(args.drain_secs));
    if let Some(threads) = args.threads {
        config = config.worker_threads(threads);
    }
    for spec in specs {
        config = config.model(spec);
    }
    Server::start(store, config).and_then(Server::wait).map_err(|e| e.to_string())
}

/// `REFERENCE=FRACTION` → the reference and its mode.
fn with_fraction(text: &str, kind: &str) -> CliResult<(String, ChallengerMode)> {
    let (reference, fraction) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("--{kind} `{text}`: write REFERENCE=FRACTION, e.g. titanic@candidate=0.1"))?;
    let mode: ChallengerMode =
        format!("{kind}={fraction}").parse().map_err(|e: mlflow::serve::ServeError| e.to_string())?;
    Ok((reference.to_owned(), mode))
}

fn model_name(reference: &str) -> CliResult<String> {
    ModelRef::parse(reference).map(|r| r.name().to_owned()).map_err(|e| e.to_string())
}
