//! What the agent reads from and writes to the pinned maps besides the reconcile: the
//! `ferrule-agent state` binary, the datapath metrics, and the node's SNAT addresses. Needs root
//! (CAP_BPF); fails, never skips, without it.

use std::process::Command;

use ferrule_agent::metrics::DatapathCollector;
use ferrule_agent::node_addrs::NodeAddrWriter;
use ferrule_bpf_common::LB_MAGLEV_M;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_bpf_loader::MapOp;
use ferrule_bpf_loader::datapath::{Datapath, PinLayout};
use ferrule_bpf_loader::kernel::KernelMaps;
use ferrule_bpf_loader::model::{
    Backend, BackendAddr, BackendId, Frontend, MaglevTable, Protocol, ResponderKey, ServiceEntry,
    ServiceId, TrafficPolicy,
};

/// A bpffs directory for this test's pins, removed even when the test fails.
struct PinDir(std::path::PathBuf);

impl Drop for PinDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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

fn state(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrule-agent"))
        .arg("state")
        .arg("--pin-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("ferrule-agent runs");
    assert!(
        out.status.success(),
        "state failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn state_prints_the_pinned_maps_as_table_and_json() {
    require_root();
    let pins = PinDir(std::path::PathBuf::from(format!(
        "/sys/fs/bpf/ferrule-state-test-{}",
        std::process::id()
    )));
    // Pinned exactly as the run mode pins them; `state --pin-dir D` reads D/maps.
    let layout = PinLayout::new(&pins.0);
    let datapath = Datapath::load(&layout).expect("the datapath loads and pins its maps");
    drop(datapath);
    let mut maps = KernelMaps::open_pinned(&layout.maps_dir()).expect("pinned maps open");
    let backend = Backend {
        addr: BackendAddr {
            addr: "10.0.0.1".parse().expect("ip"),
            port: 8080,
        },
        remote: false,
    };
    for op in [
        MapOp::UpdateBackend(BackendId(1), backend),
        MapOp::UpdateMaglev(
            ServiceId(1),
            MaglevTable(vec![BackendId(1); LB_MAGLEV_M as usize]),
        ),
        MapOp::UpdateFrontend(
            Frontend {
                addr: "192.0.2.10".parse().expect("ip"),
                port: 80,
                protocol: Protocol::Tcp,
            },
            ServiceEntry {
                id: ServiceId(1),
                policy: TrafficPolicy::Local,
                backend_count: 1,
            },
        ),
        MapOp::UpdateResponder(ResponderKey {
            ifindex: 1,
            addr: "192.0.2.10".parse().expect("ip"),
        }),
    ] {
        maps.apply(op).expect("map operation applies");
    }

    let table = state(&pins.0, &[]);
    assert!(
        table.contains("192.0.2.10:80/TCP"),
        "table lists the frontend:\n{table}"
    );
    assert!(table.contains("10.0.0.1:8080  local"), "{table}");
    assert!(
        table.contains("PROGRAM       PACKETS  BYTES  DROPS\nl2_responder  0"),
        "per-program counters are listed:\n{table}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&state(&pins.0, &["-o", "json"])).expect("valid JSON");
    assert_eq!(json["services"][0]["policy"], "Local");
    assert_eq!(json["services"][0]["backends"], serde_json::json!([1]));
    assert_eq!(json["responders"][0]["addr"], "192.0.2.10");
    assert_eq!(json["programs"][1]["program"], "lb");

    // The same maps, as the agent's /metrics serves them.
    let metrics = ferrule_runtime::Metrics::new();
    DatapathCollector::new(layout.maps_dir()).register(&metrics);
    let text = metrics.encode().expect("encodes");
    for line in [
        "ferrule_datapath_maps_readable 1",
        "ferrule_datapath_packets_total{program=\"lb\"} 0",
        "ferrule_datapath_service_packets_total{frontend=\"192.0.2.10:80/TCP\"} 0",
        "ferrule_datapath_responder_replies_total{ifindex=\"1\",address=\"192.0.2.10\"} 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn metrics_say_when_the_maps_cannot_be_read() {
    let metrics = ferrule_runtime::Metrics::new();
    DatapathCollector::new("/nonexistent/ferrule/maps").register(&metrics);
    let text = metrics.encode().expect("encodes");
    assert!(text.contains("ferrule_datapath_maps_readable 0"), "{text}");
    assert!(!text.contains("ferrule_datapath_packets_total"), "{text}");
}

#[test]
fn state_fails_loudly_when_nothing_is_pinned() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrule-agent"))
        .args(["state", "--pin-dir", "/nonexistent/ferrule"])
        .output()
        .expect("ferrule-agent runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("lb_frontends"));
}

/// The Node watch's writer puts the Node's InternalIPs into `lb_node_addrs`, the SNAT source
/// the load balancer reads.
#[test]
fn node_internal_ips_become_the_snat_source() {
    require_root();
    let pins = PinDir(std::path::PathBuf::from(format!(
        "/sys/fs/bpf/ferrule-node-addr-test-{}",
        std::process::id()
    )));
    let layout = PinLayout::new(&pins.0);
    drop(Datapath::load(&layout).expect("the datapath loads and pins its maps"));
    let node: k8s_openapi::api::core::v1::Node = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "n1"},
        "status": {"addresses": [
            {"type": "InternalIP", "address": "192.0.2.11"},
            {"type": "InternalIP", "address": "2001:db8:1::11"}
        ]}
    }))
    .expect("a valid Node");
    NodeAddrWriter::new(layout.maps_dir()).apply(&node);

    let map =
        aya::maps::MapData::from_pin(layout.map(ferrule_bpf_common::map_names::LB_NODE_ADDRS))
            .and_then(aya::maps::Map::from_map_data)
            .expect("pinned node addresses");
    let addrs: aya::maps::Array<_, ferrule_bpf_common::LbNodeAddr> =
        aya::maps::Array::try_from(map).expect("ABI");
    let v4 = addrs
        .get(&ferrule_bpf_common::LB_NODE_ADDR_V4, 0)
        .expect("v4 entry");
    assert_eq!(&v4.ip[..4], &[192, 0, 2, 11]);
    let v6 = addrs
        .get(&ferrule_bpf_common::LB_NODE_ADDR_V6, 0)
        .expect("v6 entry");
    assert_eq!(
        v6.ip,
        "2001:db8:1::11"
            .parse::<std::net::Ipv6Addr>()
            .expect("ip")
            .octets()
    );
}
