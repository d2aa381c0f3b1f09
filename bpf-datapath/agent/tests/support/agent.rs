//! The real `ferrule-agent` binary with the BGP control plane, run in a node namespace made by
//! [`super::routers::link`], and the async harness around it: the API server and its clients
//! must live in that namespace too (the agent reaches the API server on its loopback).
//! Shared by the BGP end-to-end test and the BGP scale benchmark.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::Value;

use super::routers::Link;

/// The agent in the node namespace (its own mount namespace, so its bpffs and pins vanish
/// with it), killed on drop.
pub struct Agent {
    child: Child,
    pub log: PathBuf,
}

impl Agent {
    /// `ferrule-agent run --enable-bgp-control-plane` as node `node`, its datapath on the
    /// node's end of `link`, metrics on `metrics` (an address in the node namespace), and
    /// routes re-read every 2 s (so tests see route changes quickly).
    pub fn start(link: &Link, node: &str, kubeconfig: &Path, metrics: &str) -> Self {
        let flags = ["--bgp-route-poll-interval", "2s"];
        Self::start_with(link, node, kubeconfig, metrics, &flags)
    }

    /// [`Self::start`] with `flags` added instead of the route poll interval.
    pub fn start_with(
        link: &Link,
        node: &str,
        kubeconfig: &Path,
        metrics: &str,
        flags: &[&str],
    ) -> Self {
        let log = std::env::temp_dir().join(format!("{}-agent.log", link.near.name()));
        let file = std::fs::File::create(&log).expect("agent log file");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                link.near.name(),
                env!("CARGO_BIN_EXE_ferrule-agent"),
                "run",
            ])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "--node-name",
                node,
                "--devices",
                &format!("^{}$", link.near_if),
            ])
            .args(["--pin-dir", &format!("/sys/fs/bpf/{}", link.near.name())])
            .args(["--metrics-addr", metrics, "--l2-announcements=false"])
            .arg("--enable-bgp-control-plane")
            .args(flags)
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("ferrule-agent starts");
        Self { child, log }
    }

    /// The agent's process id (`ip netns exec` execs it in place).
    #[allow(dead_code)] // read by the benchmark, not every test
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit (at most 15 s).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the agent") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "agent still running 15 s after SIGTERM\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Server-side applies `body` with field manager `manager`.
pub async fn apply<K>(api: Api<K>, manager: &str, body: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = body["metadata"]["name"].as_str().expect("named").to_owned();
    api.patch(
        &name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {name}: {e}"));
}

/// Runs `body` to completion on a thread moved into the node namespace.
pub fn in_node_netns<T: Send>(link: &Link, body: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                link.near.enter();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                runtime.block_on(body)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
