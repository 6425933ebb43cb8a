//! The HTTP scoring service: registered models behind the KServe V1 protocol and the Open
//! Inference Protocol (KServe V2 REST), with champion/challenger traffic, a prediction log,
//! Prometheus metrics and hot swaps on promotion.
//!
//! | method and path | what |
//! |---|---|
//! | `POST /v1/models/NAME:predict` | `{"instances": [[...], {"feature": value, ...}], "probabilities": true?, "key": "..."?}` → `{"predictions": [...], "probabilities": [...]?}` |
//! | `POST /v1/models/NAME:explain` | `{"instances": [...]}` → `{"explanations": [{"prediction", "output", "contributions": {"feature": c, ...}}]}`: the champion's prediction and each feature's contribution, by occlusion against the package's reference rows ([`Scorer::explain`](crate::Scorer::explain)); not logged |
//! | `POST /v1/models/NAME:feedback` | `{"labels": [{"request_id": "...", "row": 0?, "label": CLASS \| VALUE}, ...]}` → `{"accepted", "replaced", "duplicates", "superseded", "unmatched"}`: delayed ground truth of logged predictions, by the `x-request-id` they were answered with, appended to the model's [`LabelStore`](crate::LabelStore). The labels are checked whole (a bad one refuses them all, 400 `bad_label` naming `labels[i]` and the classes); `unmatched` counts labels whose `(request_id, row)` is not in the prediction log (accepted all the same: the prediction may be in a segment rotated away) |
//! | `GET /v1/models/NAME` | metadata: version, signature, lineage, challengers |
//! | `GET /v1/models` | the served models |
//! | `POST /v2/models/NAME/infer` | `{"id"?, "parameters": {"key"?}?, "inputs": [{"name": FEATURE, "shape": [N], "datatype": "FP64", "data": [...]}, ...], "outputs": [{"name": ...}]?}` (or one input of shape `[N, FEATURES]`) → `{"model_name", "model_version", "id", "outputs": [label, probabilities \| value]}` |
//! | `GET /v2/models/NAME` | V2 metadata: `name`, `versions`, `platform`, `inputs` and `outputs` (name, datatype, shape), `classes` |
//! | `GET /v2/models/NAME/ready` | 200 `{"name", "ready": true}` while it serves, 503 while shutting down |
//! | `POST /v2/models/NAME/versions/VERSION/infer`, `GET /v2/models/NAME/versions/VERSION[/ready]` | as above, answered by that version while it serves (champion or challenger; 404 otherwise), whatever the traffic plan says |
//! | `GET /v2` | V2 server metadata: `name`, `version`, `extensions` |
//! | `GET /` | liveness as KServe's model server answers it: `{"status": "alive"}` |
//! | `GET /v2/health/live`, `/healthz` | liveness: 200 while the process serves |
//! | `GET /v2/health/ready`, `/readyz` | readiness: 200 with every model loaded, 503 while shutting down |
//! | `GET /metrics` | Prometheus text format |
//!
//! V2 inputs are one tensor per feature (named as the signature names it, shape `[N]` or `[N, 1]`)
//! or one matrix (`[N, FEATURES]`, under any other name, columns in signature order), of datatype
//! `FP64`, `FP32`, `FP16`, `INT*`, `UINT*` or `BOOL`, with `data` flat or nested; the binary data
//! extension is not supported. A classifier answers `label` (`INT64` when its labels are
//! integers, `BYTES` when text) and `probabilities` (`FP64`, `[N, classes]`, columns in class
//! order), a regressor `value` (`FP64`, `[N]`): every output unless an `outputs` list picks some.
//! Both protocols parse into the same instances and go through one scoring path (routing, checks,
//! prediction log, shadows, metrics); only the wire formats differ.
//!
//! Every refused request gets a 4xx with `{"error": "...", "code": "..."}`, except the few that
//! hyper refuses before the service sees them (see [`ServerConfig::max_header_bytes`]). A client
//! too slow with its request line and headers is disconnected
//! ([`ServerConfig::header_read_timeout`]), one too slow with its body gets a 408
//! ([`ServerConfig::body_read_timeout`]). A request may carry a routing key (the `key` field,
//! V2's `parameters.key`, or the `x-routing-key` header) for sticky canaries and A/B tests, and
//! an `x-request-id` header (else V2's `id`; one is made up otherwise); answers carry
//! `x-request-id`, `x-model-version` (`NAME/VERSION`) and `x-model-role`.
//!
//! ```no_run
//! use mlflow_serve::server::{ModelSpec, Server, ServerConfig};
//! use mlflow_serve::ChallengerMode;
//! use mlflow_core::store::Store;
//! let store = Store::open(".mlflow")?;
//! let config = ServerConfig::new("127.0.0.1:8080".parse().unwrap()).model(
//!     ModelSpec::new("titanic@production").challenger("titanic@challenger", ChallengerMode::Shadow),
//! );
//! let server = Server::start(store, config)?;
//! println!("serving on http://{}", server.local_addr());
//! server.shutdown()?; // drains requests in flight
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api;
pub(crate) mod conn;
mod drift_gauges;
mod error;
mod feedback;
mod metrics;
mod request;
pub(crate) mod service;
mod shadow;
mod v2;

#[doc(hidden)]
pub use request::parse_predict_body;
#[doc(hidden)]
pub use v2::parse_infer_body;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use self::metrics::{Metrics, ModelMetrics, Serving, VersionMetrics};
use self::shadow::ShadowQueue;
use super::{ChallengerMode, LogOptions, PredictionLog, Role, Scorer, ServeError, TrafficPlan};
use mlflow_core::registry::{ModelRef, Registry};
use mlflow_core::store::Store;

/// How many prediction log segments a server keeps by default (64 MiB each: 1 GiB in all).
pub const DEFAULT_LOG_SEGMENTS: usize = 16;

/// The default limit on a request line and headers, in bytes (16 KiB, as Node.js).
///
/// See [`ServerConfig::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// The default time a client has to send a request line and headers.
///
/// See [`ServerConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a client has to send a request body.
///
/// See [`ServerConfig::body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One served model: the champion's registry reference (usually `NAME@ALIAS`, so promotions are
/// picked up) and its challengers.
///
/// ```
/// use mlflow_serve::server::ModelSpec;
/// use mlflow_serve::ChallengerMode;
/// let spec = ModelSpec::new("titanic@production").challenger("titanic@candidate", ChallengerMode::Canary { fraction: 0.1 });
/// assert_eq!(spec.reference(), "titanic@production");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    reference: String,
    challengers: Vec<(String, ChallengerMode)>,
}

impl ModelSpec {
    /// The champion, by registry reference (`NAME`, `NAME/VERSION` or `NAME@ALIAS`).
    ///
    /// See [`ModelSpec`] for an example.
    pub fn new(reference: impl Into<String>) -> ModelSpec {
        ModelSpec { reference: reference.into(), challengers: Vec::new() }
    }

    /// Adds a challenger, by registry reference.
    ///
    /// See [`ModelSpec`] for an example.
    pub fn challenger(mut self, reference: impl Into<String>, mode: ChallengerMode) -> ModelSpec {
        self.challengers.push((reference.into(), mode));
        self
    }

    /// The champion's reference.
    ///
    /// See [`ModelSpec`] for an example.
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

/// How to run a [`Server`].
///
/// ```
/// use mlflow_serve::server::{ModelSpec, ServerConfig};
/// use std::time::Duration;
/// let config = ServerConfig::new("127.0.0.1:0".parse().unwrap())
///     .model(ModelSpec::new("titanic@production"))
///     .max_body_bytes(64 * 1024)
///     .header_read_timeout(Duration::from_secs(5))
///     .reload_interval(Duration::from_millis(200));
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    addr: SocketAddr,
    models: Vec<ModelSpec>,
    max_body_bytes: usize,
    max_header_bytes: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    reload_interval: Duration,
    log: Option<LogOptions>,
    shadow_queue: usize,
    worker_threads: Option<usize>,
    announce: bool,
    handle_signals: bool,
    shutdown_delay: Duration,
    drain_timeout: Duration,
}

impl ServerConfig {
    /// Serve on `addr` (port 0 picks a free port; see [`Server::local_addr`]). Defaults: a 1 MiB
    /// body limit, a 16 KiB limit on the request line and headers, 10 s to send them and 30 s
    /// to send the body, registry checked every second, predictions logged to the store keeping the
    /// newest [`DEFAULT_LOG_SEGMENTS`] segments of 64 MiB (at 50,000 predictions a second the log
    /// grows by about 9 MB a second, so an unbounded default would fill disks), a shadow
    /// queue of 100,000 rows, one worker thread per core.
    ///
    /// See [`ServerConfig`] for an example.
    pub fn new(addr: SocketAddr) -> ServerConfig {
        ServerConfig {
            addr,
            models: Vec::new(),
            max_body_bytes: 1 << 20,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            reload_interval: Duration::from_secs(1),
            log: Some(LogOptions::default().max_segments(DEFAULT_LOG_SEGMENTS)),
            shadow_queue: 100_000,
            worker_threads: None,
            announce: false,
            handle_signals: false,
            shutdown_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(30),
        }
    }

    /// Adds a served model.
    ///
    /// See [`ServerConfig`] for an example.
    pub fn model(mut self, spec: ModelSpec) -> ServerConfig {
        self.models.push(spec);
        self
    }

    /// Requests with a larger body are refused with 413.
    ///
    /// See [`ServerConfig`] for an example.
    pub fn max_body_bytes(mut self, bytes: usize) -> ServerConfig {
        self.max_body_bytes = bytes;
        self
    }

    /// Requests whose request line and headers are larger are refused with a JSON 431 (code
    /// `headers_too_large`). hyper itself refuses heads over 4 times this (at least 8 KiB), or
    /// with more than 100 header fields, before the service sees them: with a bare 431, no body.
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).max_header_bytes(8 * 1024);
    /// ```
    pub fn max_header_bytes(mut self, bytes: usize) -> ServerConfig {
        self.max_header_bytes = bytes;
        self
    }

    /// How long a client has to send a request line and headers, from when the server starts
    /// waiting for them (default 10 s): a connection still short of them is closed without an
    /// answer (hyper answers nothing before it has a request). This also closes keep-alive
    /// connections idle for that long, and connections that never send anything. Zero disables
    /// it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).header_read_timeout(Duration::from_secs(5));
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a client has to send a request's whole body once its headers are in (default
    /// 30 s): a slower one gets a JSON 408 (code `request_timeout`) and the connection is
    /// closed. Zero disables it.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).body_read_timeout(Duration::from_secs(60));
    /// ```
    pub fn body_read_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.body_read_timeout = timeout;
        self
    }

    /// How often the registry is checked for moved aliases.
    ///
    /// See [`ServerConfig`] for an example.
    pub fn reload_interval(mut self, interval: Duration) -> ServerConfig {
        self.reload_interval = interval;
        self
    }

    /// Where predictions go: `Some(options)` logs them to `<store>/predictions/<model>/`
    /// (the default), `None` logs nothing.
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).prediction_log(None);
    /// ```
    pub fn prediction_log(mut self, options: Option<LogOptions>) -> ServerConfig {
        self.log = options;
        self
    }

    /// How many rows may wait for shadow scoring (default 100,000); beyond it, shadow scorings
    /// are skipped (and counted in `mlflow_shadow_dropped_total`) rather than slowing the
    /// answers down or growing memory.
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).shadow_queue(1_000);
    /// ```
    pub fn shadow_queue(mut self, rows: usize) -> ServerConfig {
        self.shadow_queue = rows.max(1);
        self
    }

    /// Threads answering requests (default: one per core).
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).worker_threads(2);
    /// ```
    pub fn worker_threads(mut self, threads: usize) -> ServerConfig {
        self.worker_threads = Some(threads.max(1));
        self
    }

    /// Print startup, reload and shutdown lines on stderr (the command line does).
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).announce(true);
    /// ```
    pub fn announce(mut self, yes: bool) -> ServerConfig {
        self.announce = yes;
        self
    }

    /// Shut down gracefully on SIGINT (Ctrl-C) and SIGTERM.
    ///
    /// ```
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).handle_signals(true);
    /// ```
    pub fn handle_signals(mut self, yes: bool) -> ServerConfig {
        self.handle_signals = yes;
        self
    }

    /// How long the server keeps accepting requests after a shutdown starts, while readiness
    /// already answers 503, so a load balancer can take it out of rotation first (default 0).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).shutdown_delay(Duration::from_secs(5));
    /// ```
    pub fn shutdown_delay(mut self, delay: Duration) -> ServerConfig {
        self.shutdown_delay = delay;
        self
    }

    /// How long a shutdown waits for requests in flight once it stopped accepting (default 30 s);
    /// connections still open after it (a client that stalls mid-request) are closed. With
    /// [`ServerConfig::handle_signals`], a second SIGINT or SIGTERM stops waiting at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = mlflow_serve::server::ServerConfig::new("127.0.0.1:0".parse().unwrap()).drain_timeout(Duration::from_secs(10));
    /// ```
    pub fn drain_timeout(mut self, timeout: Duration) -> ServerConfig {
        self.drain_timeout = timeout;
        self
    }
}

/// A loaded model version.
pub(crate) struct Loaded {
    pub(crate) name: String,
    pub(crate) version: u32,
    /// `NAME/VERSION`, sent with every answer.
    pub(crate) reference: String,
    pub(crate) scorer: Scorer,
    pub(crate) metrics: Arc<VersionMetrics>,
}

/// A challenger as configured and as loaded now.
pub(crate) struct Challenger {
    pub(crate) reference: String,
    pub(crate) mode: ChallengerMode,
    pub(crate) model: Arc<Loaded>,
}

/// What a served model runs now; replaced whole when an alias moves, so a request sees one
/// consistent set of versions from start to end.
pub(crate) struct Deployment {
    pub(crate) champion: Arc<Loaded>,
    pub(crate) challengers: Vec<Challenger>,
    pub(crate) plan: TrafficPlan,
}

/// A served model name.
pub(crate) struct Served {
    pub(crate) name: String,
    pub(crate) spec: ModelSpec,
    pub(crate) current: RwLock<Arc<Deployment>>,
    pub(crate) log: Option<PredictionLog>,
    pub(crate) metrics: Arc<ModelMetrics>,
    /// Its label store, opened at the first `:feedback`.
    pub(crate) feedback: feedback::Feedback,
}

impl Served {
    pub(crate) fn deployment(&self) -> Arc<Deployment> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The state the request handlers share.
pub(crate) struct App {
    pub(crate) models: HashMap<String, Arc<Served>>,
    pub(crate) metrics: Metrics,
    pub(crate) unknown: Arc<ModelMetrics>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_header_bytes: usize,
    /// `None`: no limit.
    pub(crate) body_read_timeout: Option<Duration>,
    pub(crate) shadows: Arc<ShadowQueue>,
    pub(crate) ready: AtomicBool,
    pub(crate) request_ids: RequestIds,
    pub(crate) drift: drift_gauges::DriftGauges,
}

/// Makes request ids unique across restarts: a per-process prefix and a counter.
pub(crate) struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    fn new() -> RequestIds {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = blake3::hash(&[nanos.to_le_bytes(), u64::from(std::process::id()).to_le_bytes()].concat());
        let prefix = seed.to_hex()[..8].to_owned();
        RequestIds { prefix, next: AtomicU64::new(1) }
    }

    pub(crate) fn next(&self) -> String {
        format!("{}-{}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// A running scoring service. Dropping it without [`Server::shutdown`] stops it the same way.
///
/// See the [module docs](self) for an example.
pub struct Server {
    addr: SocketAddr,
    service: service::ServiceThread,
}

impl Server {
    /// Loads every configured model and challenger from the registry (running their self-tests),
    /// binds the address and starts serving on background threads. Fails, serving nothing, if a
    /// model does not load or the address is taken.
    ///
    /// See the [module docs](self) for an example.
    pub fn start(store: Store, config: ServerConfig) -> Result<Server, ServeError> {
        if config.models.is_empty() {
            return Err(ServeError::Traffic(
                "no model to serve; give at least one reference such as `titanic@production`".into(),
            ));
        }
        let store = Arc::new(store);
        let metrics = Metrics::default();
        let mut models = HashMap::new();
        let registry = Registry::new(&store)?;
        for spec in &config.models {
            let name = ModelRef::parse(&spec.reference)?.name().to_owned();
            if models.contains_key(&name) {
                return Err(ServeError::Traffic(format!(
                    "model `{name}` is configured twice; serve each registered model once and add other versions as its challengers"
                )));
            }
            let deployment = load_deployment(&registry, spec, None, &metrics)?;
            let log = match &config.log {
                Some(options) => {
                    Some(PredictionLog::open(PredictionLog::dir_in(&store, &name), options.clone())?)
                }
                None => None,
            };
            metrics.set_serving(&name, serving_labels(spec, &deployment));
            let served = Served {
                name: name.clone(),
                spec: spec.clone(),
                current: RwLock::new(Arc::new(deployment)),
                log,
                metrics: metrics.model(&name),
                feedback: feedback::Feedback::new(&store, &name),
            };
            models.insert(name, Arc::new(served));
        }
        let shadows = Arc::new(ShadowQueue::new(config.shadow_queue));
        let unknown = metrics.model("");
        let app = Arc::new(App {
            models,
            metrics,
            unknown,
            max_body_bytes: config.max_body_bytes,
            max_header_bytes: config.max_header_bytes,
            body_read_timeout: nonzero(config.body_read_timeout),
            shadows,
            ready: AtomicBool::new(true),
            request_ids: RequestIds::new(),
            drift: drift_gauges::DriftGauges::default(),
        });

        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        runtime.enable_all().thread_name("mlflow-serve");
        if let Some(threads) = config.worker_threads {
            runtime.worker_threads(threads);
        }
        let runtime = runtime.build().map_err(|e| io_error("start the server's runtime", e))?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(config.addr)).map_err(|e| {
            io_error(&format!("listen on {} (is the port taken? pick another with --port)", config.addr), e)
        })?;
        let addr = listener.local_addr().map_err(|e| io_error("read the bound address", e))?;
        if config.announce {
            for served in app.models.values() {
                let d = served.deployment();
                eprintln!(
                    "mlflow-pipelines serve: {} → {} ({})",
                    served.spec.reference, d.champion.reference, served.name
                );
                for c in &d.challengers {
                    eprintln!(
                        "mlflow-pipelines serve:   challenger {} → {} ({})",
                        c.reference, c.model.reference, c.mode
                    );
                }
            }
            eprintln!("mlflow-pipelines serve: listening on http://{addr}");
        }

        let service = service::ServiceThread::spawn("mlflow-serve", "server", move |stop| {
            run(runtime, listener, app, store, stop, config)
        })?;
        Ok(Server { addr, service })
    }

    /// The address the server listens on.
    ///
    /// See the [module docs](self) for an example.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, finishes the requests in flight and the queued shadow
    /// scorings, and returns once everything is written.
    ///
    /// See the [module docs](self) for an example.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.service.stop_and_join()
    }

    /// Serves until the server stops by itself: with [`ServerConfig::handle_signals`], until
    /// SIGINT or SIGTERM.
    ///
    /// ```no_run
    /// # use mlflow_serve::server::{ModelSpec, Server, ServerConfig};
    /// # let store = mlflow_core::store::Store::open(".mlflow")?;
    /// let config = ServerConfig::new("127.0.0.1:8080".parse().unwrap()).model(ModelSpec::new("titanic@production")).handle_signals(true);
    /// Server::start(store, config)?.wait()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(mut self) -> Result<(), ServeError> {
        self.service.wait()
    }
}

fn io_error(action: &str, source: std::io::Error) -> ServeError {
    ServeError::Server { action: action.to_owned(), source }
}

/// The server thread: serves until stopped, then drains shadows and stops the reloader.
fn run(
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    store: Arc<Store>,
    stop_rx: tokio::sync::oneshot::Receiver<()>,
    config: ServerConfig,
) -> Result<(), ServeError> {
    let shadows = Arc::clone(&app.shadows);
    let shadow_worker = std::thread::Builder::new()
        .name("mlflow-shadow".into())
        .spawn(move || shadows.run())
        .map_err(|e| io_error("start the shadow worker", e))?;
    let (reload_stop_tx, reload_stop_rx) = std::sync::mpsc::channel::<()>();
    let reloader = {
        let app = Arc::clone(&app);
        let interval = config.reload_interval;
        let announce = config.announce;
        std::thread::Builder::new()
            .name("mlflow-reload".into())
            .spawn(move || reload_loop(&app, &store, interval, announce, reload_stop_rx))
            .map_err(|e| io_error("start the model reloader", e))?
    };

    let router = api::router(Arc::clone(&app));
    let http = conn::Http {
        header_read_timeout: nonzero(config.header_read_timeout),
        max_header_bytes: config.max_header_bytes,
    };
    let ready_app = Arc::clone(&app);
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let drained = runtime.block_on(async move {
        let server = conn::serve(listener, router, http, async move {
            shutdown_requested(stop_rx, config.handle_signals).await;
            ready_app.ready.store(false, Ordering::SeqCst);
            if config.announce {
                let accepting = if config.shutdown_delay.is_zero() {
                    String::new()
                } else {
                    format!("accepting for {:?} more, then ", config.shutdown_delay)
                };
                eprintln!(
                    "mlflow-pipelines serve: shutting down: not ready; {accepting}finishing requests in flight (up to {:?})",
                    config.drain_timeout
                );
            }
            tokio::time::sleep(config.shutdown_delay).await;
            let _ = draining_tx.send(());
        });
        let deadline = async move {
            if draining_rx.await.is_err() {
                std::future::pending::<()>().await;
            }
            let second_signal = async {
                if config.handle_signals {
                    signal().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = tokio::time::sleep(config.drain_timeout) => {}
                () = second_signal => {}
            }
        };
        tokio::select! {
            () = server => true,
            () = deadline => false,
        }
    });
    if config.announce {
        if drained {
            eprintln!("mlflow-pipelines serve: stopped accepting; finishing shadow scorings");
        } else {
            eprintln!(
                "mlflow-pipelines serve: stopped waiting for requests in flight; closed their connections"
            );
        }
    }
    drop(reload_stop_tx);
    let _ = reloader.join();
    app.shadows.close();
    let _ = shadow_worker.join();
    runtime.shutdown_timeout(Duration::from_secs(5));
    if config.announce {
        eprintln!("mlflow-pipelines serve: stopped");
    }
    Ok(())
}

/// `None` for a zero duration: no limit.
fn nonzero(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero()).then_some(timeout)
}

pub(crate) async fn shutdown_requested(stop_rx: tokio::sync::oneshot::Receiver<()>, handle_signals: bool) {
    if !handle_signals {
        let _ = stop_rx.await;
        return;
    }
    tokio::select! {
        _ = stop_rx => {}
        () = signal() => {}
    }
}

/// SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Loads a deployment, reusing the versions of `current` that did not change.
fn load_deployment(
    registry: &Registry<'_>,
    spec: &ModelSpec,
    current: Option<&Deployment>,
    metrics: &Metrics,
) -> Result<Deployment, ServeError> {
    let load = |reference: &str, loaded: Option<&Arc<Loaded>>| -> Result<Arc<Loaded>, ServeError> {
        let version = registry.resolve(reference)?;
        if let Some(loaded) = loaded.filter(|l| l.name == version.name && l.version == version.version) {
            return Ok(Arc::clone(loaded));
        }
        let scorer = Scorer::from_registry(registry, &version.reference())?;
        let metrics = metrics.version(&version.name, version.version);
        Ok(Arc::new(Loaded {
            reference: version.reference(),
            name: version.name,
            version: version.version,
            scorer,
            metrics,
        }))
    };
    let champion = load(&spec.reference, current.map(|d| &d.champion))?;
    let mut challengers = Vec::with_capacity(spec.challengers.len());
    for (i, (reference, mode)) in spec.challengers.iter().enumerate() {
        let model = load(reference, current.and_then(|d| d.challengers.get(i)).map(|c| &c.model))?;
        challengers.push(Challenger { reference: reference.clone(), mode: *mode, model });
    }
    let modes: Vec<ChallengerMode> = challengers.iter().map(|c| c.mode).collect();
    let plan = TrafficPlan::new(&modes)?.with_salt(&champion.name);
    Ok(Deployment { champion, challengers, plan })
}

fn serving_labels(spec: &ModelSpec, d: &Deployment) -> Vec<Serving> {
    let champion = Serving {
        role: Role::Champion,
        mode: "champion",
        reference: spec.reference.clone(),
        version: d.champion.version,
    };
    let challengers = d.challengers.iter().map(|c| Serving {
        role: if c.mode == ChallengerMode::Shadow { Role::Shadow } else { Role::Challenger },
        mode: c.mode.kind(),
        reference: c.reference.clone(),
        version: c.model.version,
    });
    std::iter::once(champion).chain(challengers).collect()
}

fn same_versions(a: &Deployment, b: &Deployment) -> bool {
    Arc::ptr_eq(&a.champion, &b.champion)
        && a.challengers.iter().zip(&b.challengers).all(|(x, y)| Arc::ptr_eq(&x.model, &y.model))
}

/// Checks the registry every `interval` and swaps in deployments whose aliases moved. A request
/// holds the deployment it started with, so a swap never fails or mixes versions in a request.
fn reload_loop(app: &App, store: &Store, interval: Duration, announce: bool, stop: Receiver<()>) {
    let mut failing: HashMap<String, String> = HashMap::new();
    let mut registry = None;
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        if registry.is_none() {
            match Registry::new(store) {
                Ok(opened) => registry = Some(opened),
                Err(e) => {
                    if announce {
                        eprintln!("mlflow-pipelines serve: cannot read the registry: {e}");
                    }
                    continue;
                }
            }
        }
        let Some(registry) = &registry else { continue };
        for served in app.models.values() {
            let current = served.deployment();
            match load_deployment(registry, &served.spec, Some(&current), &app.metrics) {
                Ok(next) if same_versions(&current, &next) => {
                    failing.remove(&served.name);
                }
                Ok(next) => {
                    failing.remove(&served.name);
                    if announce {
                        eprintln!(
                            "mlflow-pipelines serve: {} now serves {} (was {})",
                            served.name, next.champion.reference, current.champion.reference
                        );
                    }
                    app.metrics.set_serving(&served.name, serving_labels(&served.spec, &next));
                    *served.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
                    served.metrics.reloaded();
                }
                Err(e) => {
                    let message = e.to_string();
                    if failing.get(&served.name) != Some(&message) {
                        served.metrics.reload_failed();
                        if announce {
                            eprintln!(
                                "mlflow-pipelines serve: {} keeps serving {}: {message}",
                                served.name, current.champion.reference
                            );
                        }
                        failing.insert(served.name.clone(), message);
                    }
                }
            }
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
