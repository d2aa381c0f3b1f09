//! Loading, pinning, attaching and detaching on a real veth, inside network namespaces this
//! test creates (and always deletes): a node namespace holding `fl-t0` (where the programs
//! attach) and a peer namespace holding its other end `fl-t1`, which sends the traffic.
//!
//! The parent test builds the namespaces and re-executes this binary inside the node one
//! (`ip netns exec NS <exe> --exact <child> --ignored`); `ip netns exec` also gives the child
//! a private mount namespace with a fresh /sys, so the child mounts its own bpffs and nothing
//! it pins is visible to, or left on, the host. Attachment is checked by behaviour (the ARP
//! responder answers, the load balancer counts a service's packets) as well as by `ip link`,
//! because bpftool 7.1 does not list tcx links per device. Needs root: fails, never skips.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ferrule_bpf_common::{LB_NODE_ADDR_V4, LbNodeAddr, map_names};
use ferrule_bpf_loader::attach::{Attachment, XdpModeUsed, detach};
use ferrule_bpf_loader::datapath::{Datapath, PinLayout};
use ferrule_bpf_loader::kernel::KernelMaps;
use ferrule_bpf_loader::model::{
    Frontend, Protocol, ResponderKey, ServiceEntry, ServiceId, TrafficPolicy,
};
use ferrule_bpf_loader::{DatapathMaps, MapOp, netif};
use ferrule_netns_testkit::{Netns, run, veth};

const CHILD_ENV: &str = "FERRULE_LOADER_NETNS_CHILD";
const PEER_ENV: &str = "FERRULE_LOADER_PEER_NS";
const DEV: &str = "fl-t0";
const PEER: &str = "fl-t1";
const NODE_IP: &str = "192.0.2.1";
const PEER_IP: &str = "192.0.2.2";
/// An address only the XDP responder answers for (nothing in either namespace has it).
const RESPONDER_IP: &str = "192.0.2.100";
const VIP: &str = "203.0.113.10";
const SERVICE: ServiceId = ServiceId(7);

#[test]
fn attach_detach_and_map_reuse_in_a_namespace() {
    let node = Netns::new("fldr-node-");
    let peer = Netns::new("fldr-peer-");
    let (n, p) = (node.name(), peer.name());
    veth(&node, DEV, &peer, PEER);
    node.addr(DEV, &format!("{NODE_IP}/24"));
    peer.addr(PEER, &format!("{PEER_IP}/24"));
    node.up(DEV);
    peer.up(PEER);
    peer.ip(&["route", "add", "203.0.113.0/24", "via", NODE_IP]);
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new("ip")
        .args(["netns", "exec", n])
        .arg(exe)
        .args([
            "--exact",
            "child_in_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env(PEER_ENV, p)
        .output()
        .expect("ip netns exec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The harness says "1 passed" only if the child test really ran (not filtered away).
    assert!(stdout.contains("1 passed"), "child did not run:\n{stdout}");
}

/// Id of the map pinned at `path`, from bpftool.
fn pinned_map_id(path: &Path) -> u64 {
    let out = run(
        "bpftool",
        &["-j", "map", "show", "pinned", &path.to_string_lossy()],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("bpftool json");
    v["id"].as_u64().expect("map id")
}

/// Map ids of the program attached by the link pinned at `path`.
fn linked_prog_map_ids(path: &Path) -> Vec<u64> {
    let link = run(
        "bpftool",
        &["-j", "link", "show", "pinned", &path.to_string_lossy()],
    );
    let link: serde_json::Value = serde_json::from_str(&link).expect("bpftool json");
    let prog_id = link["prog_id"].as_u64().expect("prog id").to_string();
    let prog = run("bpftool", &["-j", "prog", "show", "id", &prog_id]);
    let prog: serde_json::Value = serde_json::from_str(&prog).expect("bpftool json");
    prog["map_ids"]
        .as_array()
        .expect("map ids")
        .iter()
        .filter_map(|id| id.as_u64())
        .collect()
}

fn frontend() -> (Frontend, ServiceEntry) {
    (
        Frontend {
            addr: VIP.parse().expect("ip"),
            port: 53,
            protocol: Protocol::Udp,
        },
        // No backends: the load balancer counts a no-backend drop for every packet, which
        // shows it ran on this device without needing a backend.
        ServiceEntry {
            id: SERVICE,
            policy: TrafficPolicy::Cluster,
            backend_count: 0,
        },
    )
}

fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether one ARP request from the peer for the responder address gets a reply from `mac`.
fn arp_answered(peer: &str, mac: [u8; 6]) -> bool {
    let out = Command::new("ip")
        .args([
            "netns", "exec", peer, "arping", "-c", "1", "-w", "1", "-I", PEER,
        ])
        .arg(RESPONDER_IP)
        .output()
        .expect("arping runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_lowercase();
    out.status.success() && stdout.contains(&mac_string(mac))
}

fn service_drops(pins: &PinLayout) -> u64 {
    let maps = KernelMaps::open_pinned(&pins.maps_dir()).expect("pinned maps open");
    maps.service_counters()
        .expect("counters")
        .get(&SERVICE)
        .map(|c| c.drops.total())
        .unwrap_or(0)
}

/// Sends one UDP datagram from the peer to the VIP and reports whether the load balancer on
/// the node counted it (within a second).
fn lb_counts_packet(peer: &str, pins: &PinLayout) -> bool {
    let before = service_drops(pins);
    run(
        "ip",
        &[
            "netns",
            "exec",
            peer,
            "bash",
            "-c",
            &format!("echo probe > /dev/udp/{VIP}/53"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if service_drops(pins) > before {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// `lb_node_addrs[V4]` read back from its pin.
fn node_addr_v4(pins: &PinLayout) -> LbNodeAddr {
    let data = aya::maps::MapData::from_pin(pins.map(map_names::LB_NODE_ADDRS)).expect("pin");
    let map = aya::maps::Map::from_map_data(data).expect("map");
    let arr: aya::maps::Array<_, LbNodeAddr> = aya::maps::Array::try_from(map).expect("array");
    arr.get(&LB_NODE_ADDR_V4, 0).expect("v4 entry")
}

#[test]
#[ignore = "runs only inside the namespace attach_detach_and_map_reuse_in_a_namespace creates"]
fn child_in_namespace() {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok("1"),
        "only the parent test runs this, inside its namespace"
    );
    let peer = std::env::var(PEER_ENV).expect("peer namespace name");
    let pins = PinLayout::new("/sys/fs/bpf/ferrule-test");
    let devices = regex::Regex::new("^fl-t0$").expect("regex");

    // First start: fresh maps, new links. veth gets generic XDP (native XDP_TX replies would
    // be dropped by a peer without XDP; see Interface::prefers_native_xdp).
    let mut dp = Datapath::load(&pins).expect("datapath loads");
    let ifaces = netif::matching(&devices).expect("interfaces");
    assert_eq!(ifaces.len(), 1, "{ifaces:?}");
    let dev = ifaces[0].clone();
    dp.write_interfaces(&ifaces).expect("interface maps");
    let attached = dp.attach(&dev).expect("attach");
    assert_eq!(
        attached.xdp,
        Attachment::New {
            xdp_mode: Some(XdpModeUsed::Skb)
        }
    );
    assert_eq!(attached.tc, Attachment::New { xdp_mode: None });
    assert!(run("ip", &["-d", "link", "show", DEV]).contains("prog/xdp"));
    assert_eq!(&node_addr_v4(&pins).ip[..4], &[192, 0, 2, 1]);
    assert_eq!(dev.ipv4, Some(NODE_IP.parse().expect("ip")));

    // State written through the pinned maps, as the agent does.
    let (f, e) = frontend();
    let mut maps = KernelMaps::open_pinned(&pins.maps_dir()).expect("pinned maps open");
    maps.apply(MapOp::UpdateFrontend(f, e)).expect("frontend");
    maps.apply(MapOp::UpdateResponder(ResponderKey {
        ifindex: dev.ifindex,
        addr: RESPONDER_IP.parse().expect("ip"),
    }))
    .expect("responder");
    drop(maps);
    assert!(
        arp_answered(&peer, dev.mac),
        "responder answers with fl-t0's MAC"
    );
    assert!(lb_counts_packet(&peer, &pins), "lb runs on fl-t0 ingress");

    // Agent exit: everything this process held goes away; the programs stay attached.
    drop(dp);
    assert!(
        arp_answered(&peer, dev.mac),
        "responder still attached after exit"
    );
    assert!(
        lb_counts_packet(&peer, &pins),
        "lb still attached after exit"
    );

    // Restart: maps reused (same kernel maps, the entry is still there), links updated in
    // place to the new programs.
    let mut dp = Datapath::load(&pins).expect("datapath reloads");
    let attached = dp.attach(&dev).expect("reattach");
    assert_eq!(attached.xdp, Attachment::Replaced);
    assert_eq!(attached.tc, Attachment::Replaced);
    let contents = KernelMaps::open_pinned(&pins.maps_dir())
        .expect("pinned maps reopen")
        .read()
        .expect("read");
    assert_eq!(contents.frontends.get(&f), Some(&e), "entry survived");
    let tc_maps = linked_prog_map_ids(&pins.link("tc-ingress", DEV));
    for map in [map_names::LB_FRONTENDS, map_names::LB_CONNTRACK] {
        let id = pinned_map_id(&pins.map(map));
        assert!(
            tc_maps.contains(&id),
            "attached lb uses pinned {map} ({id}): {tc_maps:?}"
        );
    }
    let xdp_maps = linked_prog_map_ids(&pins.link("xdp", DEV));
    let id = pinned_map_id(&pins.map(map_names::L2_RESPONDER));
    assert!(
        xdp_maps.contains(&id),
        "attached responder uses the pinned map"
    );
    assert!(arp_answered(&peer, dev.mac), "responder after reload");
    assert!(lb_counts_packet(&peer, &pins), "lb after reload");
    drop(dp);

    // Detach on request: the device is left as it was.
    detach(&pins, DEV).expect("detach");
    assert!(!run("ip", &["-d", "link", "show", DEV]).contains("prog/xdp"));
    assert!(!arp_answered(&peer, dev.mac), "no responder after detach");
    assert!(!lb_counts_packet(&peer, &pins), "no lb after detach");

    // A device deleted and recreated under the same name leaves defunct pinned links; the
    // next start replaces them with fresh attachments instead of failing.
    let mut dp = Datapath::load(&pins).expect("datapath loads again");
    dp.attach(&dev).expect("attach again");
    run("ip", &["link", "del", DEV]);
    run(
        "ip",
        &[
            "link", "add", DEV, "type", "veth", "peer", "name", PEER, "netns", &peer,
        ],
    );
    run("ip", &["addr", "add", &format!("{NODE_IP}/24"), "dev", DEV]);
    run("ip", &["link", "set", DEV, "up"]);
    run(
        "ip",
        &[
            "-n",
            &peer,
            "addr",
            "add",
            &format!("{PEER_IP}/24"),
            "dev",
            PEER,
        ],
    );
    run("ip", &["-n", &peer, "link", "set", PEER, "up"]);
    run(
        "ip",
        &[
            "-n",
            &peer,
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            NODE_IP,
        ],
    );
    let recreated = netif::matching(&devices).expect("interfaces")[0].clone();
    assert_ne!(recreated.ifindex, dev.ifindex, "a new device");
    drop(dp);
    let mut dp = Datapath::load(&pins).expect("datapath loads after the device changed");
    dp.write_interfaces(std::slice::from_ref(&recreated))
        .expect("interface maps");
    let attached = dp
        .attach(&recreated)
        .expect("attach to the recreated device");
    assert!(
        matches!(attached.xdp, Attachment::New { .. }),
        "{attached:?}"
    );
    assert!(
        matches!(attached.tc, Attachment::New { .. }),
        "{attached:?}"
    );
    assert!(lb_counts_packet(&peer, &pins), "lb on the recreated device");
    drop(dp);
    detach(&pins, DEV).expect("detach");
    let _ = std::fs::remove_dir_all(&pins.root);
}
