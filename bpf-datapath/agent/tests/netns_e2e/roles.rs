//! Re-executing this test binary inside a namespace (`ip netns exec`, which also gives the
//! child its own mount namespace, /sys and bpffs) as one of a few roles, and dispatching the
//! role in the child.
//!
//! The child runs the single ignored test `role` of the binary; the role and its arguments
//! travel in the environment. Lines meant for the parent carry [`MARK`], since the test
//! harness writes its own lines to the same stdout.

use std::io::{BufRead as _, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};

use super::topo::Topology;
use super::{client, echo, scenario_etp, scenario_families, scenario_l2, scenario_l2_rescan};
use super::{scenario_rebalance, scenario_restart};

const ROLE_ENV: &str = "FERRULE_E2E_ROLE";
const ARGS_ENV: &str = "FERRULE_E2E_ARGS";
const CLIENT_NS_ENV: &str = "FERRULE_E2E_CLIENT_NS";
const TAG_ENV: &str = "FERRULE_E2E_TAG";
/// Name of the dispatching test in the crate root.
const DISPATCH_TEST: &str = "role";
pub const MARK: &str = "@e2e ";

/// A child process, killed on drop.
#[derive(Debug)]
pub struct Owned(pub Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This binary, in `ns`, as `role` with space-separated `args`.
pub fn reexec(ns: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            DISPATCH_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE_ENV, role)
        .env(ARGS_ENV, args.join(" "));
    cmd
}

/// The next line the child marked for us; `None` at end of output. Unmarked lines (the
/// harness's) are collected into `skipped` for failure messages.
pub fn next_marked(
    lines: &mut Lines<BufReader<ChildStdout>>,
    skipped: &mut Vec<String>,
) -> Option<String> {
    for line in lines.by_ref() {
        let line = line.ok()?;
        // The harness may print "test role ... " without a newline before the child's line.
        match line.find(MARK) {
            Some(at) => return Some(line[at + MARK.len()..].to_owned()),
            None => skipped.push(line),
        }
    }
    None
}

/// Writes a marked line for the parent.
pub fn say(line: &str) {
    println!("{MARK}{line}");
}

/// The echo server in the backend namespace, answering on each of `ips` (TCP and UDP,
/// port [`echo::PORT`]); returns once it listens.
pub fn spawn_echo(topo: &Topology, ips: &[&str]) -> Owned {
    let mut child = Owned(
        reexec(topo.backend.name(), "echo", ips)
            .stdout(Stdio::piped())
            .spawn()
            .expect("echo server starts"),
    );
    let mut lines = BufReader::new(child.0.stdout.take().expect("piped stdout")).lines();
    let mut skipped = Vec::new();
    let first = next_marked(&mut lines, &mut skipped);
    assert_eq!(
        first.as_deref(),
        Some("listening"),
        "echo server failed: {skipped:?}"
    );
    child
}

/// Runs `scenario`'s node side in the node namespace to completion and fails with its output
/// if it failed.
pub fn run_node(topo: &Topology, tag: &str, scenario: &str) {
    let out = reexec(topo.node.name(), &format!("node:{scenario}"), &[])
        .env(CLIENT_NS_ENV, topo.client.name())
        .env(TAG_ENV, tag)
        .output()
        .expect("ip netns exec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "node side of {scenario} failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

/// What a node-side scenario gets from the parent.
#[derive(Debug, Clone)]
pub struct NodeEnv {
    pub client_ns: String,
    /// Unique per scenario and process: names pin directories.
    pub tag: String,
}

/// The body of the `role` test: runs whatever role the environment names.
pub fn dispatch() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        panic!("`role` runs only as a child of the netns scenarios, which set {ROLE_ENV}");
    };
    let args: Vec<String> = std::env::var(ARGS_ENV)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    match role.as_str() {
        "echo" => echo::serve(&args),
        "client" => client::serve(),
        node => {
            let scenario = node
                .strip_prefix("node:")
                .unwrap_or_else(|| panic!("unknown role {node}"));
            let env = NodeEnv {
                client_ns: std::env::var(CLIENT_NS_ENV).expect("client namespace name"),
                tag: format!(
                    "{}-{}",
                    std::env::var(TAG_ENV).expect("scenario tag"),
                    std::process::id()
                ),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                match scenario {
                    "ipv4" => scenario_families::ipv4(env).await,
                    "ipv6" => scenario_families::ipv6(env).await,
                    "etp_local" => scenario_etp::local(env).await,
                    "etp_cluster_remote4" => scenario_etp::cluster_remote4(env).await,
                    "etp_cluster_remote6" => scenario_etp::cluster_remote6(env).await,
                    "rebalance" => scenario_rebalance::node(env).await,
                    "restart" => scenario_restart::node(env).await,
                    "l2" => scenario_l2::node(env).await,
                    "l2_rescan" => scenario_l2_rescan::node(env).await,
                    other => panic!("unknown scenario {other}"),
                }
            });
        }
    }
}
