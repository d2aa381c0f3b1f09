//! The ferrule binaries the lab runs, and running them the way the chart would on a cluster.
//!
//! Each binary is found next to `ferrule-lab` itself (cargo puts all of a workspace's
//! binaries in one directory); one that is not built yet is skipped with a note, so the lab
//! grows with the project without configuration. A feature issue that adds a binary extends
//! [`COMPONENTS`] (kind, flags, metrics port) and nothing else.

use crate::addresses::{API_SERVER_V4, AddressPlan, LAB_NAMESPACE};
use crate::error::Error;
use crate::processes;
use crate::state::StateDir;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a component is deployed on a real cluster, which decides where the lab runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One instance, in `fl-lab` next to the API server (a controller needs only the API).
    Deployment,
    /// One instance per node, inside that node's namespace, with `NODE_NAME` set.
    DaemonSet,
}

/// One ferrule binary and how the lab runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabComponent {
    pub binary: &'static str,
    pub kind: Kind,
    /// Flags beyond what every component gets through the environment (see
    /// [`ComponentInstance::environment`]).
    pub args: &'static [&'static str],
    /// Port of /metrics, /healthz and /readyz. Distinct per component: on a cluster these
    /// run host-networked, and so do the lab's, so two on one node must not share a port.
    pub metrics_port: u16,
}

/// The binaries of DESIGN.md. Configuration comes from the environment (ferrule-runtime reads
/// every common flag from it), so an entry needs flags only for what is its own.
pub const COMPONENTS: &[LabComponent] = &[
    LabComponent {
        binary: "ferrule-lbipam",
        kind: Kind::Deployment,
        args: &[],
        metrics_port: 9101,
    },
    LabComponent {
        binary: "ferrule-l2announcer",
        kind: Kind::DaemonSet,
        args: &[],
        metrics_port: 9102,
    },
    LabComponent {
        binary: "ferrule-bgp",
        kind: Kind::Deployment,
        args: &[],
        metrics_port: 9104,
    },
    LabComponent {
        binary: "ferrule-egressgw",
        kind: Kind::Deployment,
        args: &[],
        metrics_port: 9103,
    },
    LabComponent {
        binary: "ferrule-clustermesh",
        kind: Kind::Deployment,
        args: &[],
        metrics_port: 9105,
    },
    LabComponent {
        binary: "ferrule-gateway",
        kind: Kind::Deployment,
        args: &[],
        metrics_port: 9106,
    },
    // Attaches to the node's lab uplink (topology::HOST_INTERFACE). Each agent runs under
    // `ip netns exec`, whose fresh /sys hides the host's bpffs, so it mounts a bpffs of its
    // own: a lab node's pins are private to it, as on separate machines, and last as long as
    // that agent process. Each agent is its node's BGP speaker too: it peers with fl-router
    // as its CiliumBGPNodeConfig (from ferrule-bgp) says.
    LabComponent {
        binary: "ferrule-agent",
        kind: Kind::DaemonSet,
        args: &[
            "run",
            "--devices",
            AGENT_DEVICES,
            "--enable-bgp-control-plane",
        ],
        metrics_port: AGENT_METRICS_PORT,
    },
];

/// `ferrule-lab up --lease-duration … --lease-renew-deadline … --lease-retry-period …`:
/// ferrule-l2announcer's Lease timings, as the announcer's own flags spell them (`2s`,
/// `200ms`). Passed through its environment unchanged: the announcer validates them (and an
/// announcer that exits on a bad value fails the bring-up with its log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseTimings {
    pub duration: Option<String>,
    pub renew_deadline: Option<String>,
    pub retry_period: Option<String>,
}

impl LeaseTimings {
    pub const ANNOUNCER: &'static str = "ferrule-l2announcer";

    /// The environment variables ferrule-l2announcer reads its Lease flags from.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        [
            ("FERRULE_L2_LEASE_DURATION", &self.duration),
            ("FERRULE_L2_LEASE_RENEW_DEADLINE", &self.renew_deadline),
            ("FERRULE_L2_LEASE_RETRY_PERIOD", &self.retry_period),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }

    /// Gives every announcer instance these timings.
    pub fn apply(&self, instances: &mut [ComponentInstance]) {
        for instance in instances
            .iter_mut()
            .filter(|i| i.component.binary == Self::ANNOUNCER)
        {
            instance.extra_env.extend(self.environment());
        }
    }
}

/// The agent's /metrics, /healthz and /readyz port (the chart's `agent.metricsPort`).
pub const AGENT_METRICS_PORT: u16 = 9107;

/// `--devices` of the lab's agents: exactly the node's uplink.
pub const AGENT_DEVICES: &str = "^eth0$";

/// How long a component must stay up after start before the lab calls it running: long enough
/// for a bad flag, a missing privilege or an unreachable API to end the process.
pub const START_SETTLE: Duration = Duration::from_secs(1);
/// Log lines shown for a component that exited at start.
const LOG_TAIL_LINES: usize = 20;

/// The namespace the lab's components report as their own (leases, events).
const POD_NAMESPACE: &str = "kube-system";
/// How long components get to shut down gracefully on SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One process to run: a component on one node (DaemonSet) or in `fl-lab` (Deployment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInstance {
    pub component: LabComponent,
    pub binary_path: PathBuf,
    pub namespace: String,
    /// The Node name for a DaemonSet instance.
    pub node: Option<String>,
    pub listen_ip: Ipv4Addr,
    /// Settings of this run (`ferrule-lab up --lease-duration …`), appended to the
    /// environment every instance gets.
    pub extra_env: Vec<(&'static str, String)>,
}

impl ComponentInstance {
    /// `deployment/ferrule-lbipam` or `daemonset/ferrule-agent@node1`.
    pub fn label(&self) -> String {
        match (&self.component.kind, &self.node) {
            (Kind::DaemonSet, Some(node)) => format!("daemonset/{}@{node}", self.component.binary),
            _ => format!("deployment/{}", self.component.binary),
        }
    }

    /// The pod name a cluster would give it (`ferrule-l2announcer-node1`): the name of its
    /// log and pid files, and what `ferrule-lab kill` takes.
    pub fn pod_name(&self) -> String {
        match &self.node {
            Some(node) => format!("{}-{node}", self.component.binary),
            None => format!("{}-0", self.component.binary),
        }
    }

    /// What the downward API and the chart give the pod on a cluster.
    pub fn environment(&self, kubeconfig: &Path) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("KUBECONFIG", kubeconfig.display().to_string()),
            ("POD_NAMESPACE", POD_NAMESPACE.to_owned()),
            ("POD_NAME", self.pod_name()),
            (
                "FERRULE_METRICS_ADDR",
                format!("{}:{}", self.listen_ip, self.component.metrics_port),
            ),
        ];
        if let Some(node) = &self.node {
            env.push(("NODE_NAME", node.clone()));
            // The lab's agent listens on the node's address, not on localhost as the chart's
            // does, so ferrule-l2announcer is told where its node's agent answers.
            env.push((
                "FERRULE_AGENT_HEALTH_URL",
                format!("http://{}:{AGENT_METRICS_PORT}/readyz", self.listen_ip),
            ));
        }
        env.extend(self.extra_env.iter().cloned());
        env
    }

    fn log_file(&self, logs: &Path) -> PathBuf {
        logs.join(format!("{}.log", self.pod_name()))
    }
}

/// What to run: instances of the built components, and the components not built yet.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub instances: Vec<ComponentInstance>,
    pub not_built: Vec<&'static str>,
}

/// Expands [`COMPONENTS`] over the nodes of `plan`, keeping those whose binary exists in
/// `bin_dir`.
pub fn plan(
    components: &[LabComponent],
    addresses: &AddressPlan,
    bin_dir: &Path,
    exists: impl Fn(&Path) -> bool,
) -> Plan {
    let mut result = Plan::default();
    for component in components {
        let binary_path = bin_dir.join(component.binary);
        if !exists(&binary_path) {
            result.not_built.push(component.binary);
            continue;
        }
        match component.kind {
            Kind::Deployment => result.instances.push(ComponentInstance {
                component: *component,
                binary_path,
                namespace: LAB_NAMESPACE.to_owned(),
                node: None,
                listen_ip: API_SERVER_V4,
                extra_env: Vec::new(),
            }),
            Kind::DaemonSet => {
                for node in &addresses.nodes {
                    result.instances.push(ComponentInstance {
                        component: *component,
                        binary_path: binary_path.clone(),
                        namespace: node.host.namespace.clone(),
                        node: Some(node.name.clone()),
                        listen_ip: node.host.ipv4,
                        extra_env: Vec::new(),
                    });
                }
            }
        }
    }
    result
}

/// A started instance.
#[derive(Debug)]
pub struct Running {
    pub instance: ComponentInstance,
    pub log: PathBuf,
    child: Child,
    exited: Option<ExitStatus>,
}

/// Every started component; dropping it stops them (SIGTERM, then SIGKILL after a grace
/// period), so no error path leaves a process behind.
#[derive(Debug, Default)]
pub struct RunningComponents {
    pub running: Vec<Running>,
}

impl RunningComponents {
    /// Starts each instance inside its namespace, stdout and stderr to a log file each, and
    /// records its pid in the state directory (see [`StateDir::component_pid`]).
    pub fn start(
        instances: &[ComponentInstance],
        kubeconfig: &Path,
        state: &StateDir,
    ) -> Result<Self, Error> {
        let mut started = Self::default();
        for instance in instances {
            started.running.push(spawn(instance, kubeconfig, state)?);
        }
        Ok(started)
    }

    /// Starts again, with the same command and environment, every component that has
    /// exited (killed by a test, or crashed); returns their labels. The log is appended to,
    /// so what the previous process wrote stays readable.
    pub fn restart_exited(
        &mut self,
        kubeconfig: &Path,
        state: &StateDir,
    ) -> Result<Vec<String>, Error> {
        let mut restarted = Vec::new();
        for running in &mut self.running {
            if matches!(running.child.try_wait(), Ok(None)) {
                continue;
            }
            *running = spawn(&running.instance, kubeconfig, state)?;
            restarted.push(running.instance.label());
        }
        Ok(restarted)
    }

    /// Waits `settle`, then fails with the first component that is no longer running (its
    /// exit status, log path and last log lines), so the lab never reports a dead component
    /// as started.
    pub fn check_still_running(&mut self, settle: Duration) -> Result<(), Error> {
        std::thread::sleep(settle);
        for running in &mut self.running {
            if let Ok(Some(status)) = running.child.try_wait() {
                running.exited = Some(status);
                return Err(Error::ComponentExited {
                    label: running.instance.label(),
                    status: status.to_string(),
                    log: running.log.clone(),
                    tail: log_tail(&running.log, LOG_TAIL_LINES),
                });
            }
        }
        Ok(())
    }

    /// Components that exited since the last call: label, log file, exit status.
    pub fn newly_exited(&mut self) -> Vec<(String, PathBuf, ExitStatus)> {
        let mut exited = Vec::new();
        for running in self.running.iter_mut().filter(|r| r.exited.is_none()) {
            if let Ok(Some(status)) = running.child.try_wait() {
                running.exited = Some(status);
                exited.push((running.instance.label(), running.log.clone(), status));
            }
        }
        exited
    }

    /// Stops every component still running; returns how many that were.
    pub fn stop(&mut self) -> usize {
        let pids: Vec<u32> = self
            .running
            .iter_mut()
            .filter_map(|r| match r.child.try_wait() {
                Ok(None) => Some(r.child.id()),
                _ => None,
            })
            .collect();
        for &pid in &pids {
            processes::signal(pid, "TERM");
        }
        let deadline = Instant::now() + STOP_GRACE;
        for running in &mut self.running {
            while matches!(running.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(running.child.try_wait(), Ok(None)) {
                let _ = running.child.kill();
                let _ = running.child.wait();
            }
        }
        self.running.clear();
        pids.len()
    }
}

fn spawn(
    instance: &ComponentInstance,
    kubeconfig: &Path,
    state: &StateDir,
) -> Result<Running, Error> {
    let log = instance.log_file(&state.logs());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|source| Error::Write {
            path: log.clone(),
            source,
        })?;
    let stderr = file.try_clone().map_err(|source| Error::Write {
        path: log.clone(),
        source,
    })?;
    // `ip netns exec` execs the binary after entering the namespace: the child's pid is
    // the component's, which is what a signal must reach.
    let child = Command::new("ip")
        .args(["netns", "exec", &instance.namespace])
        .arg(&instance.binary_path)
        .args(instance.component.args)
        .envs(instance.environment(kubeconfig))
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        // Own process group: Ctrl-C reaches only the lab, which then stops the
        // components in order instead of everything dying at once.
        .process_group(0)
        .spawn()
        .map_err(|source| Error::Spawn {
            command: format!(
                "ip netns exec {} {}",
                instance.namespace,
                instance.binary_path.display()
            ),
            source,
        })?;
    state.write_component_pid(&instance.pod_name(), child.id())?;
    Ok(Running {
        instance: instance.clone(),
        log,
        child,
        exited: None,
    })
}

/// The last `lines` lines of a log file (or why it could not be read).
fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(log unreadable: {e})"),
    }
}

impl Drop for RunningComponents {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab() -> AddressPlan {
        AddressPlan::new(2).expect("two nodes are a valid lab")
    }

    #[test]
    fn missing_binaries_are_skipped_not_fatal() {
        let plan = plan(COMPONENTS, &lab(), Path::new("/nonexistent"), |_| false);
        assert!(plan.instances.is_empty());
        assert_eq!(plan.not_built.len(), COMPONENTS.len());
    }

    #[test]
    fn a_daemonset_runs_once_per_node_inside_the_node() {
        let table = [
            LabComponent {
                binary: "ferrule-agent",
                kind: Kind::DaemonSet,
                args: &[],
                metrics_port: 9107,
            },
            LabComponent {
                binary: "ferrule-lbipam",
                kind: Kind::Deployment,
                args: &["--flag"],
                metrics_port: 9101,
            },
        ];
        let plan = plan(&table, &lab(), Path::new("/bin-dir"), |_| true);
        let labels: Vec<_> = plan
            .instances
            .iter()
            .map(ComponentInstance::label)
            .collect();
        assert_eq!(
            labels,
            [
                "daemonset/ferrule-agent@node1",
                "daemonset/ferrule-agent@node2",
                "deployment/ferrule-lbipam",
            ]
        );
        let agent = &plan.instances[1];
        assert_eq!(agent.namespace, "fl-node2");
        let env = agent.environment(Path::new("/run/ferrule-lab/kubeconfig"));
        assert!(env.contains(&("NODE_NAME", "node2".to_owned())));
        assert!(env.contains(&("FERRULE_METRICS_ADDR", "192.0.2.12:9107".to_owned())));
        assert!(env.contains(&("KUBECONFIG", "/run/ferrule-lab/kubeconfig".to_owned())));
        assert!(env.contains(&(
            "FERRULE_AGENT_HEALTH_URL",
            "http://192.0.2.12:9107/readyz".to_owned()
        )));
        let lbipam = &plan.instances[2];
        assert_eq!(lbipam.namespace, "fl-lab");
        assert!(
            !lbipam
                .environment(Path::new("/k"))
                .iter()
                .any(|(k, _)| *k == "NODE_NAME")
        );
    }

    #[test]
    fn the_agent_attaches_to_the_node_uplink() {
        let devices = regex::Regex::new(AGENT_DEVICES).expect("a valid regex");
        assert!(devices.is_match(crate::addresses::HOST_INTERFACE));
        assert!(!devices.is_match("lo"));
        let agent = COMPONENTS
            .iter()
            .find(|c| c.binary == "ferrule-agent")
            .expect("the agent is a lab component");
        assert_eq!(agent.kind, Kind::DaemonSet);
    }

    #[test]
    fn a_component_that_exits_at_start_fails_the_bring_up_with_its_log() {
        let logs = std::env::temp_dir().join(format!("fl-lab-exit-{}", std::process::id()));
        std::fs::create_dir_all(&logs).expect("temp dir");
        let instance = |binary: &'static str| ComponentInstance {
            component: LabComponent {
                binary,
                kind: Kind::Deployment,
                args: &[],
                metrics_port: 1,
            },
            binary_path: PathBuf::from(binary),
            namespace: String::new(),
            node: None,
            listen_ip: API_SERVER_V4,
            extra_env: Vec::new(),
        };
        // Started directly (not under `ip netns exec`): what is checked is the bookkeeping.
        let start = |cmd: &mut Command, inst: ComponentInstance| {
            let log = inst.log_file(&logs);
            let file = std::fs::File::create(&log).expect("log");
            let child = cmd.stdout(file).spawn().expect("spawns");
            Running {
                instance: inst,
                log,
                child,
                exited: None,
            }
        };
        let mut components = RunningComponents {
            running: vec![
                start(Command::new("sleep").arg("30"), instance("sleeper")),
                start(
                    Command::new("sh").args(["-c", "echo bad flag --x; exit 3"]),
                    instance("quitter"),
                ),
            ],
        };
        let err = components
            .check_still_running(Duration::from_millis(500))
            .expect_err("the quitter exited");
        let text = err.to_string();
        assert!(text.contains("deployment/quitter"), "{text}");
        assert!(text.contains("bad flag --x"), "{text}");
        assert!(text.contains("quitter-0.log"), "{text}");
        components.running.remove(1);
        assert!(components.check_still_running(Duration::ZERO).is_ok());
        assert_eq!(components.stop(), 1);
        let _ = std::fs::remove_dir_all(&logs);
    }

    #[test]
    fn lease_timings_reach_only_the_announcers() {
        let mut wanted = plan(COMPONENTS, &lab(), Path::new("/bin-dir"), |_| true);
        let timings = LeaseTimings {
            duration: Some("2s".into()),
            renew_deadline: None,
            retry_period: Some("200ms".into()),
        };
        timings.apply(&mut wanted.instances);
        let env_of = |label: &str| {
            let instance = wanted
                .instances
                .iter()
                .find(|i| i.label() == label)
                .expect("planned");
            instance.environment(Path::new("/k"))
        };
        let announcer = env_of("daemonset/ferrule-l2announcer@node2");
        assert!(announcer.contains(&("FERRULE_L2_LEASE_DURATION", "2s".to_owned())));
        assert!(announcer.contains(&("FERRULE_L2_LEASE_RETRY_PERIOD", "200ms".to_owned())));
        assert!(
            !announcer
                .iter()
                .any(|(k, _)| *k == "FERRULE_L2_LEASE_RENEW_DEADLINE"),
            "an unset timing keeps the announcer's default"
        );
        let agent = env_of("daemonset/ferrule-agent@node2");
        assert!(!agent.iter().any(|(k, _)| k.starts_with("FERRULE_L2_LEASE")));
    }

    #[test]
    fn metrics_ports_are_distinct() {
        let mut ports: Vec<_> = COMPONENTS.iter().map(|c| c.metrics_port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), COMPONENTS.len());
    }
}
