//! ferrule-bgp: parse flags, start the runtime, reconcile until SIGTERM.

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use ferrule_bgp::core::model::{Config, Ipv4Pool, RouterIdMode};
use ferrule_bgp::reconcile::{self, Context, Settings};
use std::time::Duration;

/// `--bgp-router-id-allocation-mode` values, spelled as Cilium's operator spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AllocationMode {
    /// The node's IPv4 address (lower 32 bits of the host MAC on IPv6-only nodes).
    Default,
    /// Unique addresses from --bgp-router-id-allocation-ip-pool.
    IpPool,
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Derives one CiliumBGPNodeConfig per node from CiliumBGPClusterConfigs"
)]
struct Args {
    #[command(flatten)]
    common: ferrule_runtime::CommonArgs,
    /// How BGP router IDs are allocated.
    #[arg(long, env = "FERRULE_BGP_ROUTER_ID_ALLOCATION_MODE", value_enum, default_value_t = AllocationMode::Default)]
    bgp_router_id_allocation_mode: AllocationMode,
    /// IPv4 prefix router IDs are allocated from in ip-pool mode, e.g. 10.0.0.0/24.
    #[arg(long, env = "FERRULE_BGP_ROUTER_ID_ALLOCATION_IP_POOL")]
    bgp_router_id_allocation_ip_pool: Option<String>,
    /// Namespace of the Secrets CiliumBGPPeerConfig authSecretRef names.
    #[arg(
        long,
        env = "FERRULE_BGP_SECRETS_NAMESPACE",
        default_value = "kube-system"
    )]
    bgp_secrets_namespace: String,
    /// A full pass runs at least this often, even without changes.
    #[arg(long, env = "FERRULE_BGP_RESYNC_PERIOD", default_value = "5m", value_parser = ferrule_runtime::config::parse_duration)]
    resync_period: Duration,
}

fn router_id_mode(args: &Args) -> anyhow::Result<RouterIdMode> {
    match (
        args.bgp_router_id_allocation_mode,
        &args.bgp_router_id_allocation_ip_pool,
    ) {
        (AllocationMode::Default, _) => Ok(RouterIdMode::Default),
        (AllocationMode::IpPool, Some(pool)) => Ok(RouterIdMode::IpPool(
            Ipv4Pool::parse(pool).context("--bgp-router-id-allocation-ip-pool")?,
        )),
        (AllocationMode::IpPool, None) => {
            anyhow::bail!(
                "--bgp-router-id-allocation-mode=ip-pool needs --bgp-router-id-allocation-ip-pool"
            )
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config {
        router_id: router_id_mode(&args)?,
    };
    let runtime = ferrule_runtime::Runtime::init("ferrule-bgp", &args.common).await?;
    let context = Context {
        metrics: runtime.metrics().clone(),
        events: runtime.events(),
        readiness: runtime.readiness(),
        leadership: runtime.leadership(),
    };
    let settings = Settings::new(config, args.bgp_secrets_namespace, args.resync_period);
    let work = reconcile::run(runtime.client(), settings, context);
    if let Some(error) = runtime.run(work).await? {
        return Err(error).context("ferrule-bgp stopped");
    }
    Ok(())
}
