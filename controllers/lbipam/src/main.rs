//! ferrule-lbipam: parse flags, start the runtime, reconcile until SIGTERM.

use anyhow::Context as _;
use clap::Parser;
use ferrule_lbipam::core::model::Config;
use ferrule_lbipam::reconcile::{self, Context, Settings};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Assigns LoadBalancer IPs from CiliumLoadBalancerIPPools"
)]
struct Args {
    #[command(flatten)]
    common: ferrule_runtime::CommonArgs,
    /// Allocate IPv4 addresses (the cluster has IPv4 enabled).
    #[arg(long, env = "FERRULE_LBIPAM_ENABLE_IPV4", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    enable_ipv4: bool,
    /// Allocate IPv6 addresses (the cluster has IPv6 enabled).
    #[arg(long, env = "FERRULE_LBIPAM_ENABLE_IPV6", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    enable_ipv6: bool,
    /// Only manage Services whose loadBalancerClass is io.cilium/l2-announcer or
    /// io.cilium/bgp-control-plane (an unset class is then ignored).
    #[arg(long, env = "FERRULE_LBIPAM_REQUIRE_LB_CLASS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    require_lb_class: bool,
    /// A full pass runs at least this often, even without changes.
    #[arg(long, env = "FERRULE_LBIPAM_RESYNC_PERIOD", default_value = "5m", value_parser = ferrule_runtime::config::parse_duration)]
    resync_period: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = ferrule_runtime::Runtime::init("ferrule-lbipam", &args.common).await?;
    let config = Config {
        ipv4: args.enable_ipv4,
        ipv6: args.enable_ipv6,
        require_lb_class: args.require_lb_class,
    };
    let context = Context {
        metrics: runtime.metrics().clone(),
        events: runtime.events(),
        readiness: runtime.readiness(),
        leadership: runtime.leadership(),
    };
    let work = reconcile::run(
        runtime.client(),
        Settings::new(config, args.resync_period),
        context,
    );
    if let Some(error) = runtime.run(work).await? {
        return Err(error).context("ferrule-lbipam stopped");
    }
    Ok(())
}
