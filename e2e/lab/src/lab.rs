//! `ferrule-lab up`: bring the lab up, show what each part does, keep it running, tear it
//! down.
//!
//! Two halves, one process: [`enter`] runs in the root namespace (root check, leftovers of an
//! earlier run, creating `fl-lab`) and re-executes the binary inside `fl-lab`, where [`run`]
//! builds everything else and hosts the API server.

use crate::addresses::{AddressPlan, LAB_NAMESPACE};
use crate::apiserver::{self, ApiServer};
use crate::bgp_report;
use crate::cleanup;
use crate::components::{self, COMPONENTS, LeaseTimings, RunningComponents};
use crate::error::Error;
use crate::frr::{self, RouterBgp};
use crate::http_backend::HttpBackends;
use crate::lab_namespace::{self, LabNamespace};
use crate::manifests;
use crate::nodes;
use crate::privileges;
use crate::reachability;
use crate::services;
use crate::signals::{RestartRequests, Shutdown};
use crate::state::StateDir;
use crate::topology::Topology;
use std::convert::Infallible;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_NODES: usize = 2;
/// The generated CRDs of this checkout; the lab is a development tool and runs from it.
pub const DEFAULT_CRDS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds");
pub const DEFAULT_EXAMPLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
/// How often a running lab looks for components that exited.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);
/// How long the report waits for LB-IPAM to decide on every LoadBalancer Service.
const LOAD_BALANCER_WAIT: Duration = Duration::from_secs(20);
/// How long the report waits for the BGP sessions and the router's routes to settle.
const BGP_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct LabOptions {
    pub nodes: usize,
    pub state_dir: PathBuf,
    pub crds_dir: PathBuf,
    pub examples_dir: PathBuf,
    /// Bring up, report, tear down (tests and CI).
    pub once: bool,
    /// ferrule-l2announcer's Lease timings; unset ones keep the announcer's defaults.
    pub lease_timings: LeaseTimings,
}

/// The root-namespace half of `up`. Returns only on failure: on success the process image is
/// replaced by `exe inner_args…` running inside `fl-lab` (see [`crate::lab_namespace`]).
pub fn enter(options: &LabOptions, inner_args: &[OsString]) -> Result<Infallible, Error> {
    privileges::require_root()?;
    // Validated before anything is deleted or created.
    AddressPlan::new(options.nodes)?;
    let state = StateDir::new(&options.state_dir);
    if let Some(pid) = cleanup::running_lab(&state)? {
        return Err(Error::AlreadyRunning { pid });
    }
    let removed = cleanup::remove_leftovers(&state)?;
    if !removed.is_empty() {
        println!("cleanup: removed leftovers of an earlier run: {removed}");
    }
    state.create()?;
    let exe = current_exe()?;
    let namespace = LabNamespace::create()?;
    // The new image starts with empty buffers: what is still buffered would be lost.
    let _ = std::io::stdout().flush();
    Err(namespace.enter(&exe, inner_args))
}

/// The `fl-lab` half of `up`: everything else, until a signal (or right away with `--once`).
pub async fn run(options: &LabOptions) -> Result<(), Error> {
    privileges::require_root()?;
    lab_namespace::require_inside()?;
    let started = Instant::now();
    // First, so that every later failure deletes `fl-lab` again.
    let topology = Topology::adopt_lab_namespace();
    let mut shutdown = Shutdown::install()?;
    let mut restarts = RestartRequests::install()?;
    let state = StateDir::new(&options.state_dir);
    state.create()?;
    state.write_pid(std::process::id())?;
    let plan = AddressPlan::new(options.nodes)?;
    let exe = current_exe()?;

    let mut lab = Lab {
        components: RunningComponents::default(),
        backends: HttpBackends::default(),
        router: None,
        api: None,
        topology,
        state,
    };
    let brought_up = tokio::select! {
        result = bring_up(&mut lab, &plan, options, &exe) => Some(result),
        signal = shutdown.recv() => {
            println!("{signal} during bring-up: tearing down");
            None
        }
    };
    match brought_up {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            eprintln!("ferrule-lab: bring-up failed, tearing down");
            // The bring-up error is the one to report; a teardown problem only adds to it.
            if let Err(teardown) = lab.teardown(&plan, false) {
                eprintln!("ferrule-lab: {teardown}");
            }
            return Err(e);
        }
        None => return lab.teardown(&plan, true),
    }

    let kubeconfig = lab.state.kubeconfig();
    println!("ferrule-lab up in {:.1}s", started.elapsed().as_secs_f64());
    println!("export KUBECONFIG={}", kubeconfig.display());
    println!(
        "kubectl reaches the API server from inside the lab: ip netns exec {LAB_NAMESPACE} kubectl get nodes"
    );
    if options.once {
        println!("--once: tearing down");
    } else {
        println!("running; Ctrl-C (or `ferrule-lab down`) tears it down");
        let _ = std::io::stdout().flush();
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        loop {
            tokio::select! {
                signal = shutdown.recv() => {
                    println!("{signal}: tearing down");
                    break;
                }
                () = restarts.recv() => {
                    for (label, log, status) in lab.components.newly_exited() {
                        println!("component {label} exited ({status}); log: {}", log.display());
                    }
                    match lab.components.restart_exited(&kubeconfig, &lab.state) {
                        Ok(labels) => println!("restarted: {}", labels.join(" ")),
                        Err(e) => eprintln!("ferrule-lab: restarting components: {e}"),
                    }
                    let _ = std::io::stdout().flush();
                }
                _ = watch.tick() => {
                    for (label, log, status) in lab.components.newly_exited() {
                        println!("component {label} exited ({status}); log: {}", log.display());
                    }
                }
            }
        }
    }
    lab.teardown(&plan, true)
}

/// Everything the lab started, in the order it is stopped: components, the HTTP backends,
/// the router's bgpd, then the API server, then the namespaces. Fields drop in declaration
/// order, so an early return or a panic tears down in that order too.
struct Lab {
    components: RunningComponents,
    backends: HttpBackends,
    router: Option<RouterBgp>,
    api: Option<ApiServer>,
    topology: Topology,
    state: StateDir,
}

impl Lab {
    /// Stops and deletes everything; `remove_state` false keeps the state directory (logs)
    /// for a look after a failure — the next run removes it.
    fn teardown(&mut self, plan: &AddressPlan, remove_state: bool) -> Result<(), Error> {
        let started = Instant::now();
        let components = self.components.stop();
        self.backends.stop();
        self.router = None;
        self.api = None;
        let mut failures: Vec<String> = self
            .topology
            .teardown()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        let left: Vec<String> = cleanup::lab_namespaces()
            .map_err(|e| failures.push(e.to_string()))
            .unwrap_or_default();
        if !left.is_empty() {
            failures.push(format!("namespaces still present: {}", left.join(" ")));
        }
        if remove_state {
            if let Err(e) = self.state.remove() {
                failures.push(e.to_string());
            }
        } else {
            println!(
                "state (kubeconfig, component logs) kept in {}",
                self.state.root().display()
            );
        }
        if !failures.is_empty() {
            return Err(Error::Teardown { failures });
        }
        let namespaces: Vec<&str> = plan.namespaces().chain([LAB_NAMESPACE]).collect();
        println!(
            "torn down in {:.1}s: stopped {components} components, deleted namespaces {}",
            started.elapsed().as_secs_f64(),
            namespaces.join(" ")
        );
        Ok(())
    }
}

async fn bring_up(
    lab: &mut Lab,
    plan: &AddressPlan,
    options: &LabOptions,
    exe: &Path,
) -> Result<(), Error> {
    lab.topology.build(plan)?;
    println!("{plan}");

    let kubeconfig = lab.state.kubeconfig();
    let api = apiserver::start(&kubeconfig).await?;
    println!(
        "api server: ferrule-testapi {} at {} in {LAB_NAMESPACE}, kubeconfig {}",
        api.version,
        api.url(),
        kubeconfig.display()
    );

    let crds = manifests::apply_crds(&api.client, &options.crds_dir).await?;
    println!(
        "CRDs established: {} (from {})",
        crds.len(),
        display_dir(&options.crds_dir)
    );
    let objects = manifests::apply_objects(&api.client, &options.examples_dir).await?;
    println!(
        "example objects created: {} (from {})",
        objects.len(),
        display_dir(&options.examples_dir)
    );
    for object in &objects {
        println!("  {object}");
    }
    nodes::register(&api.client, &plan.nodes).await?;
    let node_list: Vec<String> = plan
        .nodes
        .iter()
        .map(|n| format!("{} ({})", n.name, n.host.ipv4))
        .collect();
    println!(
        "nodes registered: {} ({})",
        plan.nodes.len(),
        node_list.join(", ")
    );
    lab.api = Some(api);

    let reachability = reachability::check(plan, &kubeconfig, exe).await;
    println!("{reachability}");
    let failures = reachability.failures();
    if !failures.is_empty() {
        return Err(Error::Unreachable { failures });
    }
    lab.backends = HttpBackends::start(plan, exe, &lab.state.logs())?;
    println!("{}", lab.backends);
    start_router_bgp(lab, plan)?;

    // Components last: they start on a topology and an API that are known to work.
    let bin_dir = exe.parent().unwrap_or(Path::new("."));
    let mut wanted = components::plan(COMPONENTS, plan, bin_dir, Path::is_file);
    options.lease_timings.apply(&mut wanted.instances);
    lab.components = RunningComponents::start(&wanted.instances, &kubeconfig, &lab.state)?;
    lab.components
        .check_still_running(components::START_SETTLE)?;
    println!(
        "components: {} started, {} not built yet",
        lab.components.running.len(),
        wanted.not_built.len()
    );
    for running in &lab.components.running {
        println!(
            "  {} in {}: log {}",
            running.instance.label(),
            running.instance.namespace,
            running.log.display()
        );
    }
    if !wanted.not_built.is_empty() {
        println!(
            "  skipped (no binary in {}): {}",
            bin_dir.display(),
            wanted.not_built.join(" ")
        );
    }
    report_load_balancers(lab).await?;
    report_bgp(lab, plan).await
}

/// FRR's bgpd in the router namespace, before the nodes' speakers start, so their first
/// connection finds it listening.
fn start_router_bgp(lab: &mut Lab, plan: &AddressPlan) -> Result<(), Error> {
    if !RouterBgp::available() {
        println!(
            "router: no BGP ({} not found; install FRR to peer with the nodes)",
            frr::BGPD
        );
        return Ok(());
    }
    let router = RouterBgp::start(plan, &lab.state.router())?;
    println!(
        "router: FRR bgpd in {} (AS {}), neighbors {} (AS {}); vtysh --vty_socket {}",
        plan.router.namespace,
        frr::ROUTER_ASN,
        plan.nodes
            .iter()
            .map(|n| n.host.ipv4.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        frr::NODE_ASN,
        router.dir().display()
    );
    lab.router = Some(router);
    Ok(())
}

/// Each node's BGP sessions (its CiliumBGPNodeConfig status) and what the router learned.
async fn report_bgp(lab: &Lab, plan: &AddressPlan) -> Result<(), Error> {
    let (Some(api), Some(router)) = (&lab.api, &lab.router) else {
        return Ok(());
    };
    let runs = |binary: &str| {
        lab.components
            .running
            .iter()
            .any(|r| r.instance.component.binary == binary)
    };
    if !(runs("ferrule-bgp") && runs("ferrule-agent")) {
        println!("bgp: no sessions (ferrule-bgp and ferrule-agent are not both built)");
        return Ok(());
    }
    let report = bgp_report::wait_for_bgp(&api.client, plan, router.dir(), BGP_WAIT).await?;
    println!("{report}");
    Ok(())
}

/// The example LoadBalancer Services and the IPs LB-IPAM assigned them from the example pools.
async fn report_load_balancers(lab: &Lab) -> Result<(), Error> {
    let Some(api) = &lab.api else {
        return Ok(());
    };
    let lbipam_runs = lab
        .components
        .running
        .iter()
        .any(|r| r.instance.component.binary == "ferrule-lbipam");
    let found = if lbipam_runs {
        services::wait_for_load_balancers(&api.client, LOAD_BALANCER_WAIT).await?
    } else {
        services::load_balancers(&api.client).await?
    };
    let assigned = found.iter().filter(|lb| !lb.ips.is_empty()).count();
    println!(
        "load balancers: {assigned}/{} with an IP{}",
        found.len(),
        if lbipam_runs {
            ""
        } else {
            " (ferrule-lbipam is not built)"
        }
    );
    for lb in &found {
        println!("  {lb}");
    }
    Ok(())
}

/// The default directories are spelled relative to this crate (`…/e2e/lab/../../deploy`).
fn display_dir(dir: &Path) -> String {
    std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .display()
        .to_string()
}

fn current_exe() -> Result<PathBuf, Error> {
    std::env::current_exe().map_err(|source| Error::Read {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })
}
