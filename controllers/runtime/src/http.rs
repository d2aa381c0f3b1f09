//! The small HTTP server every binary runs: /healthz, /readyz and /metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::error::Error;
use crate::metrics::Metrics;

/// Content type of the OpenMetrics text exposition format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the binary is ready to do its work (caches synced); /readyz reports it.
/// Cheap to clone; all clones share the flag.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    ready: Arc<AtomicBool>,
}

impl Readiness {
    /// Not ready until [`Readiness::set_ready`].
    pub fn new() -> Self {
        Self::default()
    }

    /// /readyz answers 200 from now on.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// /readyz answers 503 from now on (e.g. while shutting down).
    pub fn set_not_ready(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// The current state.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    readiness: Readiness,
}

/// A running health/metrics server. Dropping it stops the server.
#[derive(Debug)]
pub struct HttpServer {
    local_addr: SocketAddr,
    stop: DropGuard,
    task: JoinHandle<std::io::Result<()>>,
}

impl HttpServer {
    /// Binds `addr` (port 0 picks a free port) and serves in a background task until
    /// [`HttpServer::stop`] or drop. Binding happens before this returns, so a busy port is an
    /// error here rather than later.
    pub async fn start(
        addr: SocketAddr,
        metrics: Metrics,
        readiness: Readiness,
    ) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::BindHttp { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| Error::BindHttp { addr, source })?;
        let stop = CancellationToken::new();
        let app = router(AppState { metrics, readiness });
        let stopped = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
        });
        tracing::info!(addr = %local_addr, "serving /healthz, /readyz and /metrics");
        Ok(Self {
            local_addr,
            stop: stop.drop_guard(),
            task,
        })
    }

    /// The address actually bound (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets open requests finish for up to `grace`, then closes
    /// the listener.
    pub async fn stop(self, grace: Duration) -> Result<(), Error> {
        let Self { stop, mut task, .. } = self;
        drop(stop);
        match tokio::time::timeout(grace, &mut task).await {
            Ok(Ok(result)) => result.map_err(Error::ServeHttp),
            Ok(Err(join_error)) => Err(Error::ServeHttp(std::io::Error::other(join_error))),
            Err(_elapsed) => {
                tracing::warn!(
                    ?grace,
                    "HTTP connections still open after the grace period; closing them"
                );
                task.abort();
                // Wait for the abort so the port is closed when this returns.
                let _aborted = task.await;
                Ok(())
            }
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Alive as long as the process can answer: the kubelet restarts us otherwise.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}
