//! The agent against real BPF maps: watched objects become kernel map entries, and an agent
//! restarted over the same maps adopts them with zero writes — the property that keeps
//! established flows alive across upgrades. Needs root (CAP_BPF); fails, never skips, without.

use std::net::IpAddr;

use aya::Ebpf;
use aya::maps::Map;
use ferrule_agent::Error;
use ferrule_agent::agent::Agent;
use ferrule_agent::responder::Announcer;
use ferrule_bpf_common::map_names;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_bpf_loader::kernel::{KernelMapSet, KernelMaps};
use ferrule_bpf_loader::model::ResponderKey;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

#[derive(Debug, Default)]
struct Recorded(Vec<ResponderKey>);

impl Announcer for Recorded {
    fn announce(&mut self, key: ResponderKey) -> Result<(), Error> {
        self.0.push(key);
        Ok(())
    }
}

fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status readable");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .expect("Uid line in /proc/self/status");
    assert_eq!(euid, "0", "kernel map tests must run as root");
}

/// A bpffs directory for this test's pins, removed even when the test fails.
struct PinDir(std::path::PathBuf);

impl PinDir {
    fn new(prefix: &str) -> Self {
        let dir = std::path::PathBuf::from(format!("/sys/fs/bpf/{prefix}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bpffs is mounted at /sys/fs/bpf");
        Self(dir)
    }
}

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test addresses parse")
}

fn service() -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                 "ports": [{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"ip": "2001:db8::10"}]}}
    }))
    .expect("a valid Service")
}

fn slice(name: &str, family: &str, addrs: &[(&str, &str)]) -> EndpointSlice {
    let endpoints: Vec<_> = addrs
        .iter()
        .map(|(a, n)| json!({"addresses": [a], "conditions": {"ready": true}, "nodeName": n}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name,
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": family,
        "ports": [{"name": "http", "port": 8080}, {"name": "dns", "port": 5353, "protocol": "UDP"}],
        "endpoints": endpoints
    }))
    .expect("a valid EndpointSlice")
}

fn slices() -> [EndpointSlice; 2] {
    [
        slice(
            "web-v4",
            "IPv4",
            &[
                ("10.0.0.1", "node-a"),
                ("10.0.1.1", "node-b"),
                ("10.0.1.2", "node-b"),
            ],
        ),
        slice("web-v6", "IPv6", &[("2001:db8:1::1", "node-a")]),
    ]
}

fn agent(maps: KernelMaps) -> Agent<KernelMaps, Recorded> {
    let mut agent = Agent::new("node-a", maps, Recorded::default());
    agent.index.reset_services([&service()]);
    agent.index.reset_slices(&slices());
    agent.responders.set([(1, ip("192.0.2.10"))]);
    agent
}

#[test]
fn agent_programs_kernel_maps_and_a_restart_adopts_them_without_writes() {
    require_root();
    let mut lb = Ebpf::load(ferrule_bpf_programs::LB).expect("lb object loads");
    let mut l2 = Ebpf::load(ferrule_bpf_programs::L2_RESPONDER).expect("l2 object loads");
    let take = |ebpf: &mut Ebpf, name: &str| -> Map {
        ebpf.take_map(name)
            .unwrap_or_else(|| panic!("map {name} in the object"))
    };
    let pins = PinDir::new("ferrule-agent-test");
    let dir = &pins.0;
    let set = KernelMapSet {
        frontends: take(&mut lb, map_names::LB_FRONTENDS),
        backends: take(&mut lb, map_names::LB_BACKENDS),
        maglev: take(&mut lb, map_names::LB_MAGLEV),
        service_counters: take(&mut lb, map_names::LB_SERVICE_COUNTERS),
        responders: take(&mut l2, map_names::L2_RESPONDER),
    };
    for (map, name) in [
        (&set.frontends, map_names::LB_FRONTENDS),
        (&set.backends, map_names::LB_BACKENDS),
        (&set.maglev, map_names::LB_MAGLEV),
        (&set.service_counters, map_names::LB_SERVICE_COUNTERS),
        (&set.responders, map_names::L2_RESPONDER),
    ] {
        map.pin(dir.join(name)).expect("map pins");
    }

    let mut first = agent(KernelMaps::new(set).expect("maps match the ABI"));
    let report = first.sync().expect("first sync");
    // 8 backends (4 addresses x 2 target ports), 4 tables and 4 frontends (2 VIPs x 2
    // ports), 1 responder entry.
    assert_eq!(report.applied.updates(), 17);
    assert_eq!(report.applied.deletes(), 0);
    assert_eq!(report.announcements.sent.len(), 1);
    let programmed = first.maps().read().expect("read");
    drop(first);

    // Restart: a new agent process opens the pins and relists.
    let reopened = KernelMaps::open_pinned(dir).expect("pinned maps open");
    let mut second = agent(reopened);
    let report = second.sync().expect("second sync");
    assert_eq!(report.applied.ops.len(), 0, "adoption must not write");
    assert!(report.announcements.sent.is_empty());
    assert_eq!(second.maps().read().expect("read"), programmed);
}
