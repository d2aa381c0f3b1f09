//! ferrule-agent: the node datapath agent (DaemonSet).
//!
//! `ferrule-agent [run]` loads the eBPF programs, pins their maps and links under `--pin-dir`
//! (reusing what a previous agent pinned), attaches to the `--devices` interfaces, and programs
//! the maps from Services and EndpointSlices until SIGTERM. On SIGTERM it exits *leaving the
//! programs attached and the maps pinned*: the datapath keeps forwarding (conntrack included)
//! while no agent runs, and the next agent adopts the maps and swaps the programs in place.
//! Removing the datapath is an explicit operator action (delete the pin directory).
//!
//! `ferrule-agent state` prints what the pinned maps hold.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use ferrule_agent::agent::Agent;
use ferrule_agent::announce::LinkAnnouncer;
use ferrule_agent::bgp::{BgpControlPlane, BgpSettings};
use ferrule_agent::bring_up::{DEFAULT_DEVICES, Selection, bring_up, devices_of, rescan_devices};
use ferrule_agent::l2_fence::{DEFAULT_LEASE_PREFIX, LeaseRef};
use ferrule_agent::metrics::DatapathCollector;
use ferrule_agent::node_addrs::{NodeAddrWriter, watch_node};
use ferrule_agent::run::{RunSettings, run};
use ferrule_agent::state_cmd::{Output, StateReport};
use ferrule_bpf_loader::datapath::{DEFAULT_PIN_DIR, PinLayout};
use ferrule_bpf_loader::kernel::KernelMaps;

#[derive(Debug, Parser)]
#[command(
    name = "ferrule-agent",
    version,
    about = "ferrule's node datapath agent"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load, attach and program the datapath until SIGTERM (the default).
    Run(Box<RunArgs>),
    /// Print services, backends, responder entries and counters from the pinned maps.
    State {
        /// The datapath's pin directory (maps are under `maps/`).
        #[arg(long, env = "FERRULE_PIN_DIR", default_value = DEFAULT_PIN_DIR)]
        pin_dir: PathBuf,
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    common: ferrule_runtime::CommonArgs,
    /// Interfaces to attach to: a regular expression over interface names.
    #[arg(long, env = "FERRULE_DEVICES", default_value = DEFAULT_DEVICES)]
    devices: String,
    /// The datapath's pin directory on bpffs (maps under `maps/`, links under `links/`).
    #[arg(long, env = "FERRULE_PIN_DIR", default_value = DEFAULT_PIN_DIR)]
    pin_dir: PathBuf,
    /// Longest delay between a watched change and the sync that programs it.
    #[arg(long, env = "FERRULE_AGENT_DEBOUNCE", default_value = "100ms", value_parser = ferrule_runtime::config::parse_duration)]
    debounce: std::time::Duration,
    /// How often to look for selected interfaces that appeared (or were recreated) after
    /// start, and attach to them.
    #[arg(long, env = "FERRULE_DEVICE_RESCAN_INTERVAL", default_value = "5s", value_parser = ferrule_runtime::config::parse_duration)]
    device_rescan_interval: std::time::Duration,
    /// Answer ARP / NDP for what this node's NodeL2Announcement (ferrule.io CRD, written by
    /// ferrule-l2announcer) lists. Turn off only where that CRD is not installed.
    #[arg(long, env = "FERRULE_L2_ANNOUNCEMENTS", default_value_t = true, action = clap::ArgAction::Set)]
    l2_announcements: bool,
    /// Namespace of this node's liveness Lease (written by ferrule-l2announcer, in its own
    /// namespace); defaults to `--namespace`.
    #[arg(long, env = "FERRULE_L2_LEASE_NAMESPACE")]
    l2_lease_namespace: Option<String>,
    /// The liveness Lease is this prefix followed by the node name (ferrule-l2announcer's).
    #[arg(long, env = "FERRULE_L2_LEASE_PREFIX", default_value = DEFAULT_LEASE_PREFIX)]
    l2_lease_prefix: String,
    /// Answer ARP / NDP only while the liveness Lease is seen renewed, so a node cut off from
    /// the API server stops answering once the others took its IPs over. Off only where no
    /// ferrule-l2announcer runs.
    #[arg(long, env = "FERRULE_L2_LEASE_FENCING", default_value_t = true, action = clap::ArgAction::Set)]
    l2_lease_fencing: bool,
    /// Run the BGP control plane: peer with the routers this node's CiliumBGPNodeConfig lists
    /// and advertise what its CiliumBGPAdvertisements select (Cilium's flag of the same name;
    /// `--enable-bgp-control-plane` alone means true).
    #[arg(long, env = "FERRULE_ENABLE_BGP_CONTROL_PLANE", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    enable_bgp_control_plane: bool,
    /// The only namespace the BGP peer configs' authSecretRef Secrets are read from.
    #[arg(long, env = "FERRULE_BGP_SECRETS_NAMESPACE", default_value = ferrule_bgp_control::driver::DEFAULT_SECRETS_NAMESPACE)]
    bgp_secrets_namespace: String,
    /// Multi-pool IPAM: advertise the CiliumPodIPPool CIDRs this node's CiliumNode holds.
    #[arg(long, env = "FERRULE_BGP_MULTI_POOL_IPAM", default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    bgp_multi_pool_ipam: bool,
    /// Routes and interface addresses are re-read (for default-gateway auto-discovery and
    /// session source addresses) on every change `ip monitor` reports and at least this often.
    #[arg(long, env = "FERRULE_BGP_ROUTE_POLL_INTERVAL", default_value = "30s", value_parser = ferrule_runtime::config::parse_duration)]
    bgp_route_poll_interval: std::time::Duration,
}

/// A DaemonSet starts `ferrule-agent --node-name ...` without a subcommand: insert `run`
/// unless the first argument already is a subcommand or asks for help/version.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    const FIRST: &[&str] = &["run", "state", "help", "-h", "--help", "-V", "--version"];
    let explicit = args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| FIRST.contains(&a));
    if !explicit {
        args.insert(1.min(args.len()), OsString::from("run"));
    }
    args
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_from(with_default_subcommand(std::env::args_os().collect()));
    match cli.command {
        Command::State { pin_dir, output } => {
            let dir = PinLayout::new(pin_dir).maps_dir();
            let maps = KernelMaps::open_pinned(&dir)?;
            let programs = ferrule_bpf_loader::kernel::program_counters(&dir)?;
            let report = StateReport::read(&maps)?.with_programs(programs);
            print!("{}", report.render(output)?);
            Ok(())
        }
        Command::Run(args) => run_agent(*args).await,
    }
}

async fn run_agent(args: RunArgs) -> anyhow::Result<()> {
    let node_name = args.common.node_name.clone().context(
        "--node-name (or NODE_NAME) is required: backends are local or remote relative to it",
    )?;
    let devices = regex::Regex::new(&args.devices).context("--devices is not a valid regex")?;
    let runtime = ferrule_runtime::Runtime::init("ferrule-agent", &args.common).await?;
    let pins = PinLayout::new(args.pin_dir);
    // Before attaching anything: an agent that cannot announce must not start half-working.
    let announcer = LinkAnnouncer::new().context(
        "opening packet sockets for gratuitous ARP / unsolicited NA (needs CAP_NET_RAW)",
    )?;
    let attached = bring_up(&pins, &devices)?;
    for (interface, how) in &attached {
        tracing::info!(interface = %interface.name, ifindex = interface.ifindex, ?how, "datapath attached");
    }
    let attached_devices: Selection = attached
        .into_iter()
        .map(|(i, _)| (i.ifindex, i.name))
        .collect();
    // The rescan attaches devices that appear later and tells the run loop, which recomputes
    // where announced IPs are answered.
    let (device_updates, device_changes) =
        tokio::sync::watch::channel(devices_of(&attached_devices));
    let rescan = rescan_devices(
        pins.clone(),
        devices.clone(),
        attached_devices.clone(),
        args.device_rescan_interval,
        device_updates,
    );
    let maps = KernelMaps::open_pinned(&pins.maps_dir())?;
    DatapathCollector::new(pins.maps_dir()).register(runtime.metrics());
    let mut agent = Agent::new(node_name.clone(), maps, announcer);
    agent.devices = devices_of(&attached_devices);
    let settings = RunSettings {
        debounce: args.debounce,
        l2_announcements: args.l2_announcements,
        devices: Some(device_changes),
        l2_lease: args.l2_lease_fencing.then(|| {
            let namespace = args
                .l2_lease_namespace
                .as_deref()
                .unwrap_or(&args.common.namespace);
            LeaseRef::for_node(namespace, &args.l2_lease_prefix, &node_name)
        }),
        ..RunSettings::default()
    };
    let node_watch = watch_node(
        runtime.client(),
        node_name.clone(),
        NodeAddrWriter::new(pins.maps_dir()),
    );
    let bgp = args.enable_bgp_control_plane.then(|| {
        let mut settings = BgpSettings::new(node_name.clone());
        settings.secrets_namespace = args.bgp_secrets_namespace.clone();
        settings.multi_pool_ipam = args.bgp_multi_pool_ipam;
        settings.route_poll_interval = args.bgp_route_poll_interval;
        settings.devices = attached_devices
            .iter()
            .map(|(_, name)| name.clone())
            .collect();
        BgpControlPlane::new(settings, runtime.metrics())
    });
    let bgp_work = {
        let (bgp, client) = (bgp.clone(), runtime.client());
        async move {
            match bgp {
                Some(bgp) => bgp.run(client).await,
                None => std::future::pending().await,
            }
        }
    };
    let sync = run(
        runtime.client(),
        agent,
        runtime.readiness(),
        runtime.metrics().clone(),
        settings,
    );
    let work = async move {
        tokio::select! {
            error = sync => anyhow::Error::from(error),
            error = node_watch => anyhow::Error::from(error),
            error = rescan => anyhow::Error::from(error),
            error = bgp_work => anyhow::Error::from(error),
        }
    };
    let outcome = runtime.run(work).await;
    if let Some(bgp) = &bgp {
        bgp.shutdown().await;
    }
    if let Some(error) = outcome? {
        return Err(error).context("ferrule-agent stopped");
    }
    // SIGTERM: the programs stay attached and the maps pinned (see the module doc).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        with_default_subcommand(list.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().expect("utf-8"))
            .collect()
    }

    #[test]
    fn no_subcommand_means_run() {
        assert_eq!(
            args(&["ferrule-agent", "--node-name", "n1"]),
            ["ferrule-agent", "run", "--node-name", "n1"]
        );
        assert_eq!(args(&["ferrule-agent"]), ["ferrule-agent", "run"]);
        assert_eq!(
            args(&["ferrule-agent", "state", "-o", "json"]),
            ["ferrule-agent", "state", "-o", "json"]
        );
        assert_eq!(
            args(&["ferrule-agent", "--help"]),
            ["ferrule-agent", "--help"]
        );
    }

    #[test]
    fn run_flags_parse_with_their_defaults() {
        let cli =
            Cli::try_parse_from(args(&["ferrule-agent", "--node-name", "n1"])).expect("parses");
        let Command::Run(run) = cli.command else {
            panic!("run is the default")
        };
        assert_eq!(run.common.node_name.as_deref(), Some("n1"));
        assert_eq!(run.devices, DEFAULT_DEVICES);
        assert_eq!(run.pin_dir, PathBuf::from(DEFAULT_PIN_DIR));
        assert!(run.l2_lease_fencing);
        assert_eq!(run.l2_lease_prefix, "ferrule-l2announce-");
        assert_eq!(run.l2_lease_namespace, None);
        assert!(!run.enable_bgp_control_plane);
        assert_eq!(run.bgp_secrets_namespace, "kube-system");
        assert!(!run.bgp_multi_pool_ipam);
        assert_eq!(
            run.bgp_route_poll_interval,
            std::time::Duration::from_secs(30)
        );
    }

    #[test]
    fn bgp_flags_take_ciliums_spelling() {
        let parse = |extra: &[&str]| {
            let mut list = vec!["ferrule-agent", "--node-name", "n1"];
            list.extend_from_slice(extra);
            let Command::Run(run) = Cli::try_parse_from(args(&list)).expect("parses").command
            else {
                panic!("run is the default")
            };
            run
        };
        assert!(parse(&["--enable-bgp-control-plane"]).enable_bgp_control_plane);
        assert!(parse(&["--enable-bgp-control-plane=true"]).enable_bgp_control_plane);
        assert!(!parse(&["--enable-bgp-control-plane=false"]).enable_bgp_control_plane);
        let run = parse(&[
            "--bgp-secrets-namespace",
            "bgp",
            "--bgp-route-poll-interval",
            "5s",
        ]);
        assert_eq!(run.bgp_secrets_namespace, "bgp");
        assert_eq!(
            run.bgp_route_poll_interval,
            std::time::Duration::from_secs(5)
        );
    }
}
