//! Namespaces and veths of one scenario, deleted on drop (also when the test panics).
//!
//! ```text
//!  client ns                node ns (agent on fl-n0, fl-n1)                 backend ns
//!  c0 192.0.2.100    ─veth─ fl-n0 192.0.2.1       fl-n1 198.51.100.1 ─veth─ b0 198.51.100.10..
//!     2001:db8:c::100          2001:db8:c::1            2001:db8:b::1          2001:db8:b::10
//!  c1 192.0.2.101/32 ─veth─ xn2 (no address, never attached: not matched by --devices)
//! ```
//! Names carry a per-scenario tag and the process id, so scenarios run in parallel threads
//! of one test binary and concurrent runs of the binary never collide.

use ferrule_netns_testkit::{Netns, run, veth};

/// Interfaces the agent attaches to (the `--devices` pattern of every scenario).
pub const DEVICES: &str = "^fl-n[01]$";
pub const CLIENT_DEV: &str = "c0";
pub const CLIENT_IP: &str = "192.0.2.100";
pub const CLIENT_IP6: &str = "2001:db8:c::100";
/// Node addresses: the backend of an SNATed flow sees one of these.
pub const NODE_IPS: [&str; 4] = [
    "192.0.2.1",
    "198.51.100.1",
    "2001:db8:c::1",
    "2001:db8:b::1",
];
/// The client's second link, into a node interface the agent does not attach to.
pub const SPARE_CLIENT_DEV: &str = "c1";
pub const SPARE_NODE_DEV: &str = "xn2";

pub fn ip(args: &[&str]) {
    run("ip", args);
}

/// A namespace without duplicate address detection, link-local addresses included: a
/// tentative address cannot source packets, and waiting for DAD costs a second per link.
fn netns(tag: &str, kind: &str) -> Netns {
    let ns = Netns::new(&format!("fe2{tag}{kind}-"));
    ns.sysctl("net.ipv6.conf.all.accept_dad=0");
    ns.sysctl("net.ipv6.conf.default.accept_dad=0");
    ns
}

/// The three namespaces of a scenario.
#[derive(Debug)]
pub struct Topology {
    pub client: Netns,
    pub node: Netns,
    pub backend: Netns,
}

impl Topology {
    /// Builds the diagram above; `backend_ips` are the backend's addresses (IPv4 in
    /// 198.51.100.0/24, IPv6 in 2001:db8:b::/64), each a separate backend for the Services.
    pub fn build(tag: &str, backend_ips: &[&str]) -> Self {
        let topo = Self {
            client: netns(tag, "c"),
            node: netns(tag, "n"),
            backend: netns(tag, "b"),
        };
        let (c, n, b) = (&topo.client, &topo.node, &topo.backend);
        veth(c, CLIENT_DEV, n, "fl-n0");
        veth(b, "b0", n, "fl-n1");
        veth(c, SPARE_CLIENT_DEV, n, SPARE_NODE_DEV);
        let backend_cidrs: Vec<String> = backend_ips
            .iter()
            .map(|a| format!("{a}/{}", if a.contains(':') { 64 } else { 24 }))
            .collect();
        let mut addrs: Vec<(&Netns, &str, &str)> = vec![
            (c, CLIENT_DEV, "192.0.2.100/24"),
            (c, CLIENT_DEV, "2001:db8:c::100/64"),
            (c, SPARE_CLIENT_DEV, "192.0.2.101/32"),
            (n, "fl-n0", "192.0.2.1/24"),
            (n, "fl-n0", "2001:db8:c::1/64"),
            (n, "fl-n1", "198.51.100.1/24"),
            (n, "fl-n1", "2001:db8:b::1/64"),
        ];
        addrs.extend(backend_cidrs.iter().map(|a| (b, "b0", a.as_str())));
        for (ns, dev, cidr) in addrs {
            ns.addr(dev, cidr);
        }
        for (ns, dev) in [
            (c, CLIENT_DEV),
            (c, SPARE_CLIENT_DEV),
            (n, "fl-n0"),
            (n, "fl-n1"),
            (n, SPARE_NODE_DEV),
            (b, "b0"),
        ] {
            ns.up(dev);
        }
        // The LoadBalancer IPs (203.0.113.0/24, 2001:db8:ff::/48) are routed to the node, as
        // an upstream router would after the L2 announcement.
        c.ip(&["route", "add", "203.0.113.0/24", "via", "192.0.2.1"]);
        c.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:ff::/48",
            "via",
            "2001:db8:c::1",
        ]);
        if backend_ips.iter().any(|a| !a.contains(':')) {
            b.ip(&["route", "add", "default", "via", "198.51.100.1"]);
        }
        if backend_ips.iter().any(|a| a.contains(':')) {
            b.ip(&["-6", "route", "add", "default", "via", "2001:db8:b::1"]);
        }
        n.sysctl("net.ipv4.ip_forward=1");
        n.sysctl("net.ipv6.conf.all.forwarding=1");
        topo
    }
}
