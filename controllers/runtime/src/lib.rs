//! ferrule-runtime: the harness every ferrule controller binary shares — flags, the kube client,
//! leader election, /healthz /readyz /metrics, tracing with optional OpenTelemetry export,
//! Kubernetes Events and graceful shutdown.
//!
//! A binary's `main.rs`:
//! ```no_run
//! # async fn reconcile_forever(_: kube::Client, _: ferrule_runtime::Metrics) {}
//! use clap::Parser;
//!
//! #[derive(Parser)]
//! struct Args {
//!     #[command(flatten)]
//!     common: ferrule_runtime::CommonArgs,
//! }
//!
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     let args = Args::parse();
//!     let runtime = ferrule_runtime::Runtime::init("ferrule-lbipam", &args.common).await?;
//!     let work = reconcile_forever(runtime.client(), runtime.metrics().clone());
//!     runtime.run(work).await?;
//!     Ok(())
//! }
//! ```

pub mod client;
pub mod config;
pub mod error;
pub mod events;
pub mod harness;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod rate_limit;
pub mod shutdown;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;

use tokio::sync::watch;

pub use crate::config::{CommonArgs, LogFormat};
pub use crate::error::{Error, MetricLabel};
pub use crate::events::EventRecorder;
pub use crate::harness::Harness;
pub use crate::http::Readiness;
pub use crate::leader::{ElectionConfig, ElectionTiming, LeaderElector};
pub use crate::metrics::{Metrics, ReconcileTimer};
pub use crate::shutdown::Shutdown;

/// Everything a controller binary needs, started by [`Runtime::init`] and stopped by
/// [`Runtime::run`].
pub struct Runtime {
    harness: Harness,
    client: kube::Client,
    events: EventRecorder,
    leadership: Leadership,
    node_name: Option<String>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // kube::Client has no Debug.
        f.debug_struct("Runtime")
            .field("harness", &self.harness)
            .field("leadership", &self.leadership)
            .field("node_name", &self.node_name)
            .finish_non_exhaustive()
    }
}

/// Leadership is either contested through a Lease or, without `--leader-elect`, always held.
#[derive(Debug)]
enum Leadership {
    Elected(LeaderElector),
    /// The sender is kept so receivers never see a closed channel.
    Always(watch::Sender<bool>),
}

impl Runtime {
    /// Validates `args`, starts the [`Harness`] (telemetry, signals, HTTP server), builds the
    /// rate-limited kube client and, with `--leader-elect`, starts competing for the Lease
    /// `--leader-election-lease-name` (default: `binary`) in `--namespace`.
    pub async fn init(binary: &'static str, args: &CommonArgs) -> Result<Self, Error> {
        let harness = Harness::start(binary, args).await?;
        let client = client::build_client(args).await?;
        let events = EventRecorder::new(client.clone(), binary, args.pod_name.as_deref());
        let leadership = if args.leader_elect {
            let config = ElectionConfig {
                namespace: args.namespace.clone(),
                lease_name: args.lease_name(binary),
                identity: leader::candidate_identity(args.pod_name.as_deref()),
                timing: ElectionTiming {
                    lease_duration: args.leader_election_lease_duration,
                    renew_deadline: args.leader_election_renew_deadline,
                    retry_period: args.leader_election_retry_period,
                },
            };
            Leadership::Elected(LeaderElector::spawn(
                client.clone(),
                config,
                harness.metrics().clone(),
            ))
        } else {
            Leadership::Always(watch::Sender::new(true))
        };
        Ok(Self {
            harness,
            client,
            events,
            leadership,
            node_name: args.node_name.clone(),
        })
    }

    /// The rate-limited kube client (cheap to clone).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The shared metrics registry.
    pub fn metrics(&self) -> &Metrics {
        self.harness.metrics()
    }

    /// The Event recorder reporting as this binary and pod.
    pub fn events(&self) -> EventRecorder {
        self.events.clone()
    }

    /// Marks the binary ready (/readyz → 200), e.g. once its caches are synced.
    pub fn set_ready(&self) {
        self.harness.set_ready();
    }

    /// The readiness flag behind /readyz, for tasks that set it later.
    pub fn readiness(&self) -> Readiness {
        self.harness.readiness().clone()
    }

    /// `true` while this process may write: while it holds the Lease with `--leader-elect`,
    /// always without. Gate writes on it, not reads.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        match &self.leadership {
            Leadership::Elected(elector) => elector.leadership(),
            Leadership::Always(sender) => sender.subscribe(),
        }
    }

    /// A clone of the shutdown signal.
    pub fn shutdown_signal(&self) -> Shutdown {
        self.harness.shutdown_signal()
    }

    /// `--node-name`, for DaemonSets.
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    /// The address /healthz, /readyz and /metrics are served on.
    pub fn http_addr(&self) -> SocketAddr {
        self.harness.http_addr()
    }

    /// Runs `work` until it completes or SIGTERM/SIGINT arrives, then drops it, releases the
    /// Lease (if held), stops the HTTP server and flushes traces. Returns `work`'s output, or
    /// `None` when shutdown came first.
    pub async fn run<F: Future>(self, work: F) -> Result<Option<F::Output>, Error> {
        let Self {
            harness,
            leadership,
            ..
        } = self;
        let release = async move {
            match leadership {
                Leadership::Elected(elector) => elector.release().await,
                Leadership::Always(sender) => {
                    sender.send_replace(false);
                }
            }
        };
        harness.run_then(work, release).await
    }
}
