//! The UI over HTTP: the server's connection handling (header deadline and size cap) around one
//! handler that hands each request to [`Ui::handle`] on a blocking thread.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Answer, Ui, UiConfig};
use crate::ServeError;
use crate::server::conn;
use crate::server::service::ServiceThread;
use mlflow_core::store::Store;

/// The largest form body read (a promotion form is a few hundred bytes).
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The web UI, served on background threads until [`UiServer::shutdown`] (or dropped).
///
/// ```
/// use mlflow_serve::ui::{UiConfig, UiServer};
/// # let dir = tempfile::tempdir().unwrap();
/// let store = mlflow_core::store::Store::open(dir.path())?;
/// let server = UiServer::start(store, UiConfig::new("127.0.0.1:0".parse().unwrap()))?;
/// println!("open http://{}/", server.local_addr());
/// server.shutdown()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UiServer {
    addr: SocketAddr,
    csrf: String,
    service: ServiceThread,
}

impl UiServer {
    /// Binds `config`'s address and starts serving the UI over `store`.
    ///
    /// See [`UiServer`] for an example.
    pub fn start(store: Store, config: UiConfig) -> Result<UiServer, ServeError> {
        let io_error = |action: &str, source| ServeError::Server { action: action.to_owned(), source };
        let ui = Arc::new(Ui::new(store, config.clone()));
        let csrf = ui.csrf_token().to_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .worker_threads(2)
            .thread_name("mlflow-ui")
            .build()
            .map_err(|e| io_error("start the UI's runtime", e))?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(config.addr)).map_err(|e| {
            io_error(&format!("listen on {} (is the port taken? pick another with --port)", config.addr), e)
        })?;
        let addr = listener.local_addr().map_err(|e| io_error("read the bound address", e))?;
        if config.announce {
            let mode = if config.allow_writes { "promotions allowed" } else { "read-only" };
            eprintln!("mlflow-pipelines ui: listening on http://{addr}/ ({mode})");
        }
        let router = Router::new().fallback(answer).with_state(ui);
        let http = conn::Http {
            header_read_timeout: Some(crate::server::DEFAULT_HEADER_READ_TIMEOUT),
            max_header_bytes: crate::server::DEFAULT_MAX_HEADER_BYTES,
        };
        let handle_signals = config.handle_signals;
        let service = ServiceThread::spawn("mlflow-ui", "UI", move |stop| {
            runtime.block_on(conn::serve(
                listener,
                router,
                http,
                crate::server::shutdown_requested(stop, handle_signals),
            ));
            runtime.shutdown_timeout(Duration::from_secs(5));
            Ok(())
        })?;
        Ok(UiServer { addr, csrf, service })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CSRF token of its promotion form (see [`Ui::csrf_token`]).
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// Stops accepting, finishes the requests in flight and returns.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.service.stop_and_join()
    }

    /// Serves until stopped by a signal (with [`UiConfig::handle_signals`]).
    pub fn wait(mut self) -> Result<(), ServeError> {
        self.service.wait()
    }
}

/// Every request: read the form body (if any), render on a blocking thread, send.
async fn answer(State(ui): State<Arc<Ui>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => return send(Answer::error(413, "Too large", "the form is over 64 KiB")),
    };
    let rendered = tokio::task::spawn_blocking(move || ui.handle(&method, &path, &query, &body)).await;
    send(rendered.unwrap_or_else(|_| Answer::error(500, "Internal error", "rendering this page failed")))
}

fn send(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Body::from(answer.body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(answer.content_type));
    if let Ok(csp) = HeaderValue::from_str(&answer.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}
