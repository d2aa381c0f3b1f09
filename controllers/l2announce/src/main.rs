//! ferrule-l2announcer: parse flags, start the runtime, announce until SIGTERM, then release
//! the liveness Lease and withdraw this node's announcements.

use anyhow::Context as _;
use clap::Parser;
use ferrule_l2announce::core::timings::LeaseTimings;
use ferrule_l2announce::health::AgentHealth;
use ferrule_l2announce::reconcile::{self, Context, Settings};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Elects the node that answers ARP / NDP for each Service IP (CiliumL2AnnouncementPolicy)"
)]
struct Args {
    #[command(flatten)]
    common: ferrule_runtime::CommonArgs,
    /// How long a node's liveness Lease stays valid without renewal (failover time).
    #[arg(long, env = "FERRULE_L2_LEASE_DURATION", default_value = "15s", value_parser = ferrule_runtime::config::parse_duration)]
    lease_duration: Duration,
    /// How long renewals may fail before this node stops announcing.
    #[arg(long, env = "FERRULE_L2_LEASE_RENEW_DEADLINE", default_value = "5s", value_parser = ferrule_runtime::config::parse_duration)]
    lease_renew_deadline: Duration,
    /// Interval between renewals.
    #[arg(long, env = "FERRULE_L2_LEASE_RETRY_PERIOD", default_value = "2s", value_parser = ferrule_runtime::config::parse_duration)]
    lease_retry_period: Duration,
    /// This node's ferrule-agent readiness endpoint; the Lease is renewed only while it answers
    /// 2xx. The agent's /readyz turns 200 once its datapath is attached and programmed from the
    /// cluster (this node's announcement included), so a node becomes a candidate only when it
    /// can answer ARP / NDP; its /healthz only says the process runs.
    #[arg(
        long,
        env = "FERRULE_AGENT_HEALTH_URL",
        default_value = "http://127.0.0.1:9107/readyz"
    )]
    agent_health_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let node = args
        .common
        .node_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .context("--node-name (or NODE_NAME) is required: the announcer runs once per node")?;
    let health = AgentHealth::new(&args.agent_health_url)?;
    let runtime = ferrule_runtime::Runtime::init("ferrule-l2announcer", &args.common).await?;
    let validated = LeaseTimings {
        lease_duration: args.lease_duration,
        renew_deadline: args.lease_renew_deadline,
        retry_period: args.lease_retry_period,
    }
    .validate();
    for warning in &validated.warnings {
        tracing::warn!("{warning}");
    }
    let settings = Settings::new(
        node,
        args.common.namespace.clone(),
        validated.timings,
        health,
    );
    let context = Context {
        metrics: runtime.metrics().clone(),
        events: runtime.events(),
        readiness: runtime.readiness(),
    };
    let shutdown = runtime.shutdown_signal();
    // Spawned, so that SIGTERM (which makes the runtime drop its work) lets it finish the
    // release and withdrawal instead of being dropped mid-way.
    let mut announcer = tokio::spawn(reconcile::run(
        runtime.client(),
        settings,
        context,
        shutdown,
    ));
    let outcome = runtime.run(&mut announcer).await?;
    let joined = match outcome {
        Some(joined) => joined,
        None => tokio::time::timeout(Duration::from_secs(10), announcer)
            .await
            .context("releasing the Lease and withdrawing took too long")?,
    };
    joined
        .context("the announcer task failed")?
        .context("ferrule-l2announcer stopped")
}
