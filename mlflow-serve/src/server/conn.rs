//! Connections: the accept loop and HTTP/1.1 on hyper, with the protections `axum::serve` cannot
//! be configured with: a deadline for a request's line and headers (a client sending them a byte
//! at a time, or nothing at all, is disconnected), and a hard cap on their size.
//!
//! What hyper refuses itself never reaches the router, so it cannot be answered with JSON:
//! - headers not complete within the header read timeout: hyper closes the connection without
//!   an answer (there is no request yet; an idle keep-alive connection is closed the same way);
//! - a malformed request line or header, or an invalid or conflicting `Content-Length` (with
//!   `Transfer-Encoding: chunked`, hyper drops `Content-Length` as RFC 9112 says): hyper answers
//!   a bare `400 Bad Request`, with no body, and closes;
//! - a request line and headers over the hard cap ([`hard_header_cap`]), or more than 100 header
//!   fields: a bare `431 Request Header Fields Too Large`; a URI over 64 KiB: a bare `414`.
//!
//! hyper 1 has no hook to write these answers (hyperium/hyper#3911 proposes one). Heads over
//! [`ServerConfig::max_header_bytes`](super::ServerConfig::max_header_bytes) but under the hard
//! cap do reach the service, which answers a JSON 431 (see `api::check_head`); bodies are read by
//! the service, so a body over the limit (413) or too slow (408) is answered with JSON too.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// hyper's own limit on a request line and headers: 4 times the service's limit (at least
/// 8 KiB), so heads a little over the limit get the service's JSON 431, and hyper still bounds
/// what it buffers.
pub(crate) fn hard_header_cap(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(4).max(8 * 1024)
}

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Http {
    /// Time allowed for a request line and headers, from the first byte awaited (`None`: no limit).
    pub(crate) header_read_timeout: Option<Duration>,
    /// The service's limit on a request line and headers.
    pub(crate) max_header_bytes: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting, lets every
/// connection finish the request it is answering (idle ones close at once) and returns when all
/// are closed. Dropping the future leaves the connections to the runtime's shutdown.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    http: Http,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout)
        .max_header_size(hard_header_cap(http.max_header_bytes));
    // Connections wait for `stop_tx` to close (when `stop_rx` is dropped) to shut down gracefully;
    // each holds a `done_rx`, so `done_tx` closes when the last one ends.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: wait for connections to close.
                if !is_connection_error(&e) {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = &mut shutdown => break,
                    }
                }
                continue;
            }
        };
        // Answers are written whole; do not hold their last segment back.
        let _ = stream.set_nodelay(true);
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let stop_tx = stop_tx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let mut stop = std::pin::pin!(stop_tx.closed());
            let mut stopping = false;
            loop {
                tokio::select! {
                    // Errors are the client's (a reset, a timeout, a malformed request): nothing
                    // to do but close.
                    _ = connection.as_mut() => break,
                    () = &mut stop, if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(done_rx);
        });
    }
    drop(listener);
    drop(stop_rx);
    drop(done_rx);
    done_tx.closed().await;
}

/// Errors of one connection attempt, after which accepting goes on at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hard_cap_is_above_the_service_limit() {
        assert_eq!(hard_header_cap(16 * 1024), 64 * 1024);
        assert_eq!(hard_header_cap(10), 8 * 1024);
        assert_eq!(hard_header_cap(usize::MAX), usize::MAX);
    }
}
