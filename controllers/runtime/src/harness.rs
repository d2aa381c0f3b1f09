//! The part of the runtime that needs no cluster: telemetry, metrics, the HTTP server,
//! readiness and the shutdown signal. [`crate::Runtime`] adds the kube client on top.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::CommonArgs;
use crate::error::Error;
use crate::http::{HttpServer, Readiness};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::telemetry::Telemetry;

/// How long open HTTP requests (a scrape in flight) may take once shutdown began.
const HTTP_GRACE: Duration = Duration::from_secs(5);

/// Telemetry, metrics, /healthz /readyz /metrics, readiness and the shutdown signal.
#[derive(Debug)]
pub struct Harness {
    binary: &'static str,
    shutdown: Shutdown,
    metrics: Metrics,
    readiness: Readiness,
    http: HttpServer,
    telemetry: Telemetry,
}

impl Harness {
    /// Validates `args`, installs logging/tracing, the SIGTERM/SIGINT handlers and starts the
    /// HTTP server on `--metrics-addr`. Call once per process.
    pub async fn start(binary: &'static str, args: &CommonArgs) -> Result<Self, Error> {
        args.validate()?;
        let telemetry = Telemetry::init(binary, args.log_format, &args.log_level)?;
        let shutdown = Shutdown::on_signals()?;
        let metrics = Metrics::new();
        let readiness = Readiness::new();
        let http = HttpServer::start(args.metrics_addr, metrics.clone(), readiness.clone()).await?;
        Ok(Self {
            binary,
            shutdown,
            metrics,
            readiness,
            http,
            telemetry,
        })
    }

    /// The binary name given to [`Harness::start`].
    pub fn binary(&self) -> &'static str {
        self.binary
    }

    /// The shared metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The readiness flag behind /readyz.
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Marks the binary ready (/readyz → 200), e.g. once its caches are synced.
    pub fn set_ready(&self) {
        self.readiness.set_ready();
    }

    /// A clone of the shutdown signal, for tasks that must stop on SIGTERM.
    pub fn shutdown_signal(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The address /healthz, /readyz and /metrics are served on.
    pub fn http_addr(&self) -> SocketAddr {
        self.http.local_addr()
    }

    /// Runs `work` until it completes or the shutdown signal fires, then shuts down: /readyz
    /// turns 503, `work` is dropped, the HTTP server stops and traces are flushed. Returns
    /// `work`'s output, or `None` when shutdown came first.
    pub async fn run<F: Future>(self, work: F) -> Result<Option<F::Output>, Error> {
        self.run_then(work, async {}).await
    }

    /// Like [`Harness::run`], with `before_stop` run after `work` was dropped and before the
    /// HTTP server stops (the Lease release).
    pub(crate) async fn run_then<F: Future>(
        self,
        work: F,
        before_stop: impl Future<Output = ()>,
    ) -> Result<Option<F::Output>, Error> {
        let output = tokio::select! {
            () = self.shutdown.wait() => None,
            output = work => Some(output),
        };
        // `work` is dropped here: nothing writes any more when the Lease is released below.
        self.readiness.set_not_ready();
        // Work that ended on its own also stops the tasks waiting on the signal.
        self.shutdown.trigger();
        before_stop.await;
        let stopped = self.http.stop(HTTP_GRACE).await;
        tracing::info!(binary = self.binary, "stopped");
        self.telemetry.shutdown().await;
        stopped.map(|()| output)
    }
}
