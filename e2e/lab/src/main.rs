//! `ferrule-lab up [--once]` builds and runs the lab; `ferrule-lab down` removes it;
//! `ferrule-lab kill` / `restart` signal a running lab's components and start them again.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use ferrule_lab::components::LeaseTimings;
use ferrule_lab::lab::{self, DEFAULT_CRDS_DIR, DEFAULT_EXAMPLES_DIR, DEFAULT_NODES};
use ferrule_lab::state::{DEFAULT_STATE_DIR, StateDir};
use ferrule_lab::{LabOptions, cleanup, control, http_backend, http_probe, privileges, probe};
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A ferrule cluster out of network namespaces (run as root)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Build the lab and run it until Ctrl-C/SIGTERM, then tear it down.
    Up(UpArgs),
    /// Remove a running or crashed lab: every fl- namespace and link, and the state dir.
    Down {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Send a signal to one component of a running lab, by pod name
    /// (ferrule-l2announcer-node1); it stays down until `restart`.
    Kill {
        /// The component, named like its log file: ferrule-l2announcer-node1, ferrule-lbipam-0.
        pod: String,
        /// KILL (kill -9) or TERM (graceful shutdown), or any name `kill -s` accepts.
        #[arg(long, default_value = "KILL")]
        signal: String,
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
    /// Have a running lab start again every component that exited, with the same flags; waits
    /// until all run.
    Restart {
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        timeout_seconds: u64,
    },
    /// The HTTP backend server (`up` runs one in each backend namespace).
    #[command(hide = true)]
    ServeHttp {
        #[arg(long, required = true)]
        listen: Vec<SocketAddr>,
    },
    /// GET in a loop, one line per request (the failover benchmark runs it in the client).
    #[command(hide = true)]
    HttpProbe {
        #[arg(long)]
        target: SocketAddr,
        #[arg(long, default_value_t = 20)]
        interval_ms: u64,
        #[arg(long, default_value_t = 300)]
        timeout_ms: u64,
    },
    /// Fetch /version through a kubeconfig (the reachability check runs it in each node).
    #[command(hide = true)]
    Probe {
        #[arg(long)]
        kubeconfig: PathBuf,
        #[arg(long, default_value_t = 10)]
        timeout_seconds: u64,
    },
}

#[derive(Args, Debug)]
struct UpArgs {
    /// Bring up, print the report, tear down (for tests and CI).
    #[arg(long)]
    once: bool,
    /// Number of node namespaces.
    #[arg(long, default_value_t = DEFAULT_NODES)]
    nodes: usize,
    /// Kubeconfig, component logs and the pid of the running lab.
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Directory of the CRD manifests to apply.
    #[arg(long, default_value = DEFAULT_CRDS_DIR)]
    crds: PathBuf,
    /// Directory of the example manifests to apply.
    #[arg(long, default_value = DEFAULT_EXAMPLES_DIR)]
    examples: PathBuf,
    /// ferrule-l2announcer --lease-duration (e.g. 2s; default: the announcer's, 15s).
    #[arg(long)]
    lease_duration: Option<String>,
    /// ferrule-l2announcer --lease-renew-deadline (e.g. 1s; default 5s).
    #[arg(long)]
    lease_renew_deadline: Option<String>,
    /// ferrule-l2announcer --lease-retry-period (e.g. 200ms; default 2s).
    #[arg(long)]
    lease_retry_period: Option<String>,
    /// Set when the lab re-executed itself inside its namespace.
    #[arg(long, hide = true)]
    in_lab_namespace: bool,
}

fn main() -> anyhow::Result<()> {
    // The test API server warns about each CRD validation rule it cannot enforce; that is
    // for its own tests, not for someone watching the lab (RUST_LOG shows it again).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("warn,ferrule_testapi=error")
            }),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Up(args) => up(args),
        Command::Down { state_dir } => {
            privileges::require_root()?;
            let removed = cleanup::down(&StateDir::new(state_dir)).context("removing the lab")?;
            println!("removed: {removed}");
            Ok(())
        }
        Command::Kill {
            pod,
            signal,
            state_dir,
        } => {
            privileges::require_root()?;
            let pid = control::signal_component(&StateDir::new(state_dir), &pod, &signal)?;
            println!("sent SIG{signal} to {pod} (pid {pid})");
            Ok(())
        }
        Command::Restart {
            state_dir,
            timeout_seconds,
        } => {
            privileges::require_root()?;
            control::restart_exited(
                &StateDir::new(state_dir),
                Duration::from_secs(timeout_seconds),
            )?;
            println!("every component runs");
            Ok(())
        }
        Command::ServeHttp { listen } => match http_backend::serve(&listen)? {},
        Command::HttpProbe {
            target,
            interval_ms,
            timeout_ms,
        } => Ok(http_probe::run(
            target,
            Duration::from_millis(interval_ms),
            Duration::from_millis(timeout_ms),
        )?),
        Command::Probe {
            kubeconfig,
            timeout_seconds,
        } => {
            let version = runtime()?.block_on(probe::server_version(
                &kubeconfig,
                Duration::from_secs(timeout_seconds),
            ))?;
            println!("{version}");
            Ok(())
        }
    }
}

fn up(args: UpArgs) -> anyhow::Result<()> {
    let options = LabOptions {
        nodes: args.nodes,
        state_dir: args.state_dir,
        crds_dir: args.crds,
        examples_dir: args.examples,
        once: args.once,
        lease_timings: LeaseTimings {
            duration: args.lease_duration,
            renew_deadline: args.lease_renew_deadline,
            retry_period: args.lease_retry_period,
        },
    };
    if args.in_lab_namespace {
        return runtime()?
            .block_on(lab::run(&options))
            .context("running the lab");
    }
    // Same arguments inside the namespace, plus the marker.
    let mut inner: Vec<_> = std::env::args_os().skip(1).collect();
    inner.push("--in-lab-namespace".into());
    match lab::enter(&options, &inner).context("starting the lab")? {}
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
