//! The node side's tools: an in-process API server holding the Services and EndpointSlices,
//! the agent (in-process, over pinned maps on a private pin directory), and reads of what
//! the datapath holds and counts.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use ferrule_agent::agent::Agent;
use ferrule_agent::announce::Unavailable;
use ferrule_agent::bring_up::bring_up;
use ferrule_agent::run::{RunSettings, run};
use ferrule_agent::state_cmd::StateReport;
use ferrule_bpf_loader::datapath::PinLayout;
use ferrule_bpf_loader::kernel::KernelMaps;
use ferrule_bpf_loader::model::{Frontend, Protocol, ServiceEntry};
use ferrule_bpf_loader::{DatapathMaps, MapContents};
use ferrule_runtime::Readiness;
use ferrule_testapi::TestApi;
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::echo;
use super::topo::{DEVICES, NODE_IPS};

/// The agent's node name; endpoints elsewhere name [`OTHER_NODE`].
pub const NODE: &str = "node-e2e";
pub const OTHER_NODE: &str = "node-elsewhere";
pub const VIP_PORT: u16 = 80;

pub fn vip(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().expect("an IP"), VIP_PORT)
}

/// A pin directory, removed on drop. Under the child's private bpffs anyway; removing it
/// also covers a host where `ip netns exec` shares /sys/fs/bpf.
#[derive(Debug)]
pub struct Pins(pub PinLayout);

impl Pins {
    pub fn new(tag: &str) -> Self {
        Self(PinLayout::new(format!("/sys/fs/bpf/ferrule-e2e-{tag}")))
    }

    pub fn maps(&self) -> KernelMaps {
        KernelMaps::open_pinned(&self.0.maps_dir()).expect("pinned maps")
    }

    pub fn contents(&self) -> MapContents {
        self.maps().read().expect("read the maps")
    }

    /// `ferrule-agent state`'s view of the maps.
    pub fn state(&self) -> StateReport {
        StateReport::read(&self.maps()).expect("state report")
    }
}

impl Drop for Pins {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.0.root));
    }
}

/// Polls the maps until `done` holds.
pub async fn wait_for_maps(pins: &Pins, what: &str, done: impl Fn(&MapContents) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let contents = pins.contents();
        if done(&contents) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "maps never showed {what}: {contents:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The service entry of the frontend `addr`/`protocol`, as the maps hold it.
pub fn service_of(
    contents: &MapContents,
    addr: SocketAddr,
    protocol: Protocol,
) -> Option<ServiceEntry> {
    let frontend = Frontend {
        addr: addr.ip(),
        port: addr.port(),
        protocol,
    };
    contents.frontends.get(&frontend).copied()
}

/// The API server with the `default` namespace, and a client of it.
pub struct Cluster {
    pub api: TestApi,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Self {
        let api = TestApi::start().await.expect("ferrule-testapi starts");
        let client = api.client().await.expect("client");
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "default"}})).expect("namespace");
        let _ = Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await;
        // The CRDs a cluster with ferrule has: the agent binary watches NodeL2Announcements.
        ferrule_testapi::test_helpers::install_crds(
            &client,
            ferrule_api::crds::all(),
            std::time::Duration::from_secs(10),
        )
        .await;
        // This node as the kubelet registers it: its InternalIPs are the client-side addresses.
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": NODE}})).expect("a valid Node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("Node created");
        let addresses = json!({"status": {"addresses": [
            {"type": "InternalIP", "address": NODE_IPS[0]},
            {"type": "InternalIP", "address": NODE_IPS[2]}]}});
        nodes
            .patch_status(NODE, &PatchParams::default(), &Patch::Merge(addresses))
            .await
            .expect("Node status");
        Self { api, client }
    }

    /// Creates a LoadBalancer Service `web` with one TCP and one UDP port (80 → 8080) and
    /// `vip` in its status, as LB-IPAM would write it.
    pub async fn create_service(&self, vip: &str, policy: &str) {
        let service: Service = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy,
                     "ports": [
                        {"name": "tcp", "port": VIP_PORT, "targetPort": echo::PORT, "protocol": "TCP"},
                        {"name": "udp", "port": VIP_PORT, "targetPort": echo::PORT, "protocol": "UDP"}]}
        }))
        .expect("a valid Service");
        let services: Api<Service> = Api::namespaced(self.client.clone(), "default");
        services
            .create(&PostParams::default(), &service)
            .await
            .expect("Service created");
        services
            .patch_status(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": vip}]}}})),
            )
            .await
            .expect("Service status");
    }

    /// Creates or replaces `web`'s EndpointSlice: each endpoint is (address, node name).
    pub async fn set_endpoints(&self, endpoints: &[(&str, &str)]) {
        let family = if endpoints.iter().any(|(a, _)| a.contains(':')) {
            "IPv6"
        } else {
            "IPv4"
        };
        let endpoints: Vec<Value> = endpoints
            .iter()
            .map(|(addr, node)| {
                json!({"addresses": [addr], "conditions": {"ready": true}, "nodeName": node})
            })
            .collect();
        let slice = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": "default", "name": "web-1",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": family,
            "endpoints": endpoints,
            "ports": [{"name": "tcp", "port": echo::PORT, "protocol": "TCP"},
                      {"name": "udp", "port": echo::PORT, "protocol": "UDP"}]
        });
        let slices: Api<EndpointSlice> = Api::namespaced(self.client.clone(), "default");
        slices
            .patch(
                "web-1",
                &PatchParams::apply("netns-e2e").force(),
                &Patch::Apply(slice),
            )
            .await
            .expect("EndpointSlice applied");
    }
}

/// The agent's run loop in this process, stopped on drop.
pub struct RunningAgent {
    task: tokio::task::JoinHandle<ferrule_agent::Error>,
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Loads and attaches the datapath on [`DEVICES`] and starts the agent's run loop; returns
/// once the first sync is done (readiness).
pub async fn start_agent(cluster: &Cluster, pins: &Pins) -> RunningAgent {
    let devices = regex::Regex::new(DEVICES).expect("regex");
    let attached = bring_up(&pins.0, &devices).expect("datapath attached");
    assert_eq!(attached.len(), 2, "{attached:?}");
    let agent = Agent::new(NODE, pins.maps(), Unavailable);
    let readiness = Readiness::new();
    let task = tokio::spawn(run(
        cluster.client.clone(),
        agent,
        readiness.clone(),
        ferrule_runtime::Metrics::new(),
        RunSettings::default(),
    ));
    let running = RunningAgent { task };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !readiness.is_ready() {
        assert!(
            !running.task.is_finished(),
            "the agent's run loop ended before its first sync"
        );
        assert!(Instant::now() < deadline, "agent not ready in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running
}

/// Retries `attempt` for a few seconds: the first packets of a fresh topology wait for
/// neighbour resolution, and a change is programmed shortly after the API accepted it.
pub async fn eventually<T>(what: &str, mut attempt: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match attempt() {
            Ok(v) => return v,
            Err(e) => assert!(Instant::now() < deadline, "{what}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
