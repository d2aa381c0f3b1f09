//! Proof that the topology works before anything depends on it: every node reaches the API
//! server (ICMP on both families, then HTTPS `/version` with the kubeconfig's CA), and the
//! client reaches every backend through the router.

use crate::addresses::{API_SERVER_PORT, API_SERVER_V4, API_SERVER_V6, AddressPlan};
use crate::command::run_async;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

const PING_TIMEOUT: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// The probe's own budget for `/version`, below [`PROBE_TIMEOUT`] so it reports why.
const PROBE_REQUEST_TIMEOUT_SECS: &str = "10";

/// One check from one namespace.
#[derive(Debug, Clone)]
pub struct Check {
    pub what: String,
    /// What answered (`ok`, a version) or why it failed.
    pub outcome: Result<String, String>,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(answer) => write!(f, "{} {answer}", self.what),
            Err(why) => write!(f, "{} FAILED ({why})", self.what),
        }
    }
}

/// The checks run from one namespace.
#[derive(Debug, Clone)]
pub struct Origin {
    pub label: String,
    pub checks: Vec<Check>,
}

impl Origin {
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.is_ok())
    }
}

#[derive(Debug, Clone)]
pub struct Reachability {
    pub nodes: Vec<Origin>,
    pub routed: Vec<Origin>,
}

impl Reachability {
    pub fn nodes_reachable(&self) -> usize {
        self.nodes.iter().filter(|o| o.ok()).count()
    }

    /// Every failed check, `origin: check`.
    pub fn failures(&self) -> Vec<String> {
        self.nodes
            .iter()
            .chain(&self.routed)
            .flat_map(|o| {
                o.checks
                    .iter()
                    .filter(|c| c.outcome.is_err())
                    .map(move |c| format!("{}: {c}", o.label))
            })
            .collect()
    }
}

impl fmt::Display for Reachability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "reachability:")?;
        for origin in self.nodes.iter().chain(&self.routed) {
            let checks: Vec<_> = origin.checks.iter().map(Check::to_string).collect();
            writeln!(f, "  {}: {}", origin.label, checks.join(", "))?;
        }
        write!(
            f,
            "nodes reachable: {}/{}",
            self.nodes_reachable(),
            self.nodes.len()
        )
    }
}

/// Runs every check; `lab_exe` is this binary, run as `probe` inside each node namespace.
pub async fn check(plan: &AddressPlan, kubeconfig: &Path, lab_exe: &Path) -> Reachability {
    let mut nodes = Vec::new();
    for node in &plan.nodes {
        let ns = &node.host.namespace;
        let mut checks = vec![
            ping(ns, API_SERVER_V4.into()).await,
            ping(ns, API_SERVER_V6.into()).await,
        ];
        checks.push(fetch_version(ns, kubeconfig, lab_exe).await);
        nodes.push(Origin {
            label: format!("{} ({ns})", node.name),
            checks,
        });
    }
    let mut routed = Vec::new();
    for backend in &plan.backends {
        let client = &plan.client.namespace;
        routed.push(Origin {
            label: format!(
                "{client} → {} via {}",
                backend.namespace, plan.router.namespace
            ),
            checks: vec![
                ping(client, backend.ipv4.into()).await,
                ping(client, backend.ipv6.into()).await,
            ],
        });
    }
    Reachability { nodes, routed }
}

async fn ping(namespace: &str, target: IpAddr) -> Check {
    let target = target.to_string();
    let args = [
        "netns", "exec", namespace, "ping", "-n", "-q", "-c", "1", "-W", "2", &target,
    ];
    // One retry: a single lost echo on a fresh link is not a broken topology, but it is
    // worth seeing (a retry costs the 2 s timeout).
    let outcome = match run_async("ip", &args, PING_TIMEOUT).await {
        Ok(_) => Ok("ok".to_owned()),
        Err(_) => run_async("ip", &args, PING_TIMEOUT)
            .await
            .map(|_| "ok (after a retry)".to_owned())
            .map_err(|e| e.to_string()),
    };
    Check {
        what: format!("ping {target}"),
        outcome,
    }
}

async fn fetch_version(namespace: &str, kubeconfig: &Path, lab_exe: &Path) -> Check {
    let exe = lab_exe.display().to_string();
    let kubeconfig = kubeconfig.display().to_string();
    let outcome = run_async(
        "ip",
        &[
            "netns",
            "exec",
            namespace,
            &exe,
            "probe",
            "--kubeconfig",
            &kubeconfig,
            "--timeout-seconds",
            PROBE_REQUEST_TIMEOUT_SECS,
        ],
        PROBE_TIMEOUT,
    )
    .await
    .map(|version| format!("ok ({})", version.trim()))
    .map_err(|e| e.to_string());
    Check {
        what: format!("GET https://{API_SERVER_V4}:{API_SERVER_PORT}/version"),
        outcome,
    }
}
