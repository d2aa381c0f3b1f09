//! End to end on a real kernel: a client reaches a LoadBalancer IP through the agent's
//! datapath and lands on the backend.
//!
//! ```text
//!  fl-e2c-PID            fl-e2n-PID (node, agent attached to fl-n0 and fl-n1)    fl-e2b-PID
//!  c0 192.0.2.100 ─veth─ fl-n0 192.0.2.1          fl-n1 198.51.100.1 ─veth─ b0 198.51.100.10
//! ```
//! The Service `default/web` (LoadBalancer IP 203.0.113.10, port 80 → 8080) and its
//! EndpointSlice (198.51.100.10 on this node) live in an in-process ferrule-testapi; the agent
//! (library, in-process too) watches them and programs the maps. The client's TCP connection
//! to 203.0.113.10:80 is DNATed on fl-n0 ingress to the backend and its replies are translated
//! back on fl-n1 ingress; the backend echoes the peer address it saw, which must be the client's
//! (the backend is node-local, so no SNAT).
//!
//! The parent test builds the namespaces, starts the echo server in the backend namespace and
//! re-executes this binary in the node namespace (`ip netns exec`, which also gives the child a
//! private bpffs). Everything is deleted at the end, also on failure. Needs root.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrule_agent::agent::Agent;
use ferrule_agent::announce::Unavailable;
use ferrule_agent::bring_up::bring_up;
use ferrule_agent::run::{RunSettings, run};
use ferrule_bpf_loader::DatapathMaps;
use ferrule_bpf_loader::datapath::PinLayout;
use ferrule_bpf_loader::kernel::KernelMaps;
use ferrule_testapi::TestApi;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const CHILD_ENV: &str = "FERRULE_E2E_ROLE";
const CLIENT_NS_ENV: &str = "FERRULE_E2E_CLIENT_NS";
const NODE: &str = "node-e2e";
const CLIENT_IP: &str = "192.0.2.100";
const BACKEND_IP: &str = "198.51.100.10";
const BACKEND_PORT: u16 = 8080;
const VIP: &str = "203.0.113.10";
const VIP_PORT: u16 = 80;

fn run_cmd(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ip(args: &[&str]) {
    run_cmd("ip", args);
}

/// A namespace, deleted on drop (also when the test panics).
struct Netns(String);

impl Netns {
    fn new(kind: &str) -> Self {
        let ns = Self(format!("fl-e2{kind}-{}", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A child process of this test, killed on drop.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn reexec(ns: &str, test: &str, role: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns])
        .arg(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, role);
    cmd
}

#[test]
fn tcp_to_a_load_balancer_ip_reaches_the_backend() {
    // Declared in teardown order: processes first (field drop order is reverse of locals).
    let client = Netns::new("c");
    let node = Netns::new("n");
    let backend = Netns::new("b");
    let (c, n, b) = (client.0.as_str(), node.0.as_str(), backend.0.as_str());
    ip(&[
        "-n", c, "link", "add", "c0", "type", "veth", "peer", "name", "fl-n0", "netns", n,
    ]);
    ip(&[
        "-n", b, "link", "add", "b0", "type", "veth", "peer", "name", "fl-n1", "netns", n,
    ]);
    for (ns, dev, addr) in [
        (c, "c0", "192.0.2.100/24"),
        (n, "fl-n0", "192.0.2.1/24"),
        (n, "fl-n1", "198.51.100.1/24"),
        (b, "b0", "198.51.100.10/24"),
    ] {
        ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    ip(&[
        "-n",
        c,
        "route",
        "add",
        "203.0.113.0/24",
        "via",
        "192.0.2.1",
    ]);
    ip(&["-n", b, "route", "add", "default", "via", "198.51.100.1"]);
    run_cmd(
        "ip",
        &["netns", "exec", n, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
    );

    let mut echo = Owned(
        reexec(b, "echo_server", "echo")
            .stdout(Stdio::piped())
            .spawn()
            .expect("echo server starts"),
    );
    // The test harness prints its own lines first; wait for the server's.
    let lines = BufReader::new(echo.0.stdout.take().expect("piped stdout")).lines();
    let mut seen = Vec::new();
    for line in lines {
        let line = line.expect("echo server output");
        if line.contains("listening") {
            break;
        }
        seen.push(line);
    }
    assert!(
        !seen.iter().any(|l| l.contains("FAILED")),
        "echo server failed: {seen:?}"
    );

    let out = reexec(n, "node_with_agent", "node")
        .env(CLIENT_NS_ENV, c)
        .output()
        .expect("ip netns exec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node child failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "node child did not run:\n{stdout}"
    );
    drop(echo);
}

fn require_role(role: &str) {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok(role),
        "only tcp_to_a_load_balancer_ip_reaches_the_backend runs this, in its namespaces"
    );
}

/// The backend: answers each connection with "<peer ip> <first line>".
#[test]
#[ignore = "runs only in the backend namespace of tcp_to_a_load_balancer_ip_reaches_the_backend"]
fn echo_server() {
    require_role("echo");
    let listener = TcpListener::bind((BACKEND_IP, BACKEND_PORT)).expect("bind the backend");
    println!("listening");
    std::io::stdout().flush().expect("stdout");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let peer = stream.peer_addr().map(|a| a.ip().to_string());
        let mut line = String::new();
        let read = stream
            .try_clone()
            .map(|s| BufReader::new(s).read_line(&mut line));
        if let (Ok(peer), Ok(Ok(_))) = (peer, read) {
            let _ = writeln!(stream, "{peer} {}", line.trim());
        }
    }
}

fn service() -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {"type": "LoadBalancer",
                 "ports": [{"name": "http", "port": VIP_PORT, "targetPort": BACKEND_PORT, "protocol": "TCP"}]}
    }))
    .expect("a valid Service")
}

fn endpoint_slice() -> EndpointSlice {
    serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "default", "name": "web-1",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [BACKEND_IP], "conditions": {"ready": true}, "nodeName": NODE}],
        "ports": [{"name": "http", "port": BACKEND_PORT, "protocol": "TCP"}]
    }))
    .expect("a valid EndpointSlice")
}

/// One TCP exchange from the client namespace through the VIP; the backend's answer.
fn via_vip(client_ns: &str) -> Option<String> {
    let script =
        format!("exec 3<>/dev/tcp/{VIP}/{VIP_PORT} && echo hello >&3 && timeout 2 head -n 1 <&3");
    let out = Command::new("ip")
        .args([
            "netns", "exec", client_ns, "timeout", "3", "bash", "-c", &script,
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only in the node namespace of tcp_to_a_load_balancer_ip_reaches_the_backend"]
async fn node_with_agent() {
    require_role("node");
    let client_ns = std::env::var(CLIENT_NS_ENV).expect("client namespace name");
    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "default"}})).expect("ns"),
        )
        .await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    services
        .create(&PostParams::default(), &service())
        .await
        .expect("Service created");
    // What LB-IPAM would write: the LoadBalancer IP in the status.
    services
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": VIP}]}}})),
        )
        .await
        .expect("Service status");
    Api::<EndpointSlice>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &endpoint_slice())
        .await
        .expect("EndpointSlice created");

    let pins = PinLayout::new("/sys/fs/bpf/ferrule-e2e");
    let devices = regex::Regex::new("^fl-n[01]$").expect("regex");
    let attached = bring_up(&pins, &devices).expect("datapath attached");
    assert_eq!(attached.len(), 2, "{attached:?}");
    let maps = KernelMaps::open_pinned(&pins.maps_dir()).expect("pinned maps");
    let agent = Agent::new(NODE, maps, Unavailable);
    let readiness = ferrule_runtime::Readiness::new();
    let agent_task = tokio::spawn(run(
        client,
        agent,
        readiness.clone(),
        ferrule_runtime::Metrics::new(),
        RunSettings::default(),
    ));

    // Ready means the first sync after the initial lists is done: the VIP is programmed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !readiness.is_ready() {
        assert!(Instant::now() < deadline, "agent not ready in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let contents = KernelMaps::open_pinned(&pins.maps_dir())
        .expect("pinned maps")
        .read()
        .expect("read");
    assert_eq!(contents.frontends.len(), 1, "{:?}", contents.frontends);
    assert_eq!(contents.backends.len(), 1, "{:?}", contents.backends);

    let answer = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(answer) = via_vip(&client_ns) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "no answer through {VIP}:{VIP_PORT}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .expect("client task");
    // The backend answered, and saw the client's own address (local backend: no SNAT).
    assert_eq!(answer, format!("{CLIENT_IP} hello"));

    agent_task.abort();
    let _ = std::fs::remove_dir_all(Path::new(&pins.root));
}
