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

use std::process::Command;

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

pub fn run_cmd(cmd: &str, args: &[&str]) -> String {
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

pub fn ip(args: &[&str]) {
    run_cmd("ip", args);
}

fn sysctl(ns: &str, setting: &str) {
    run_cmd("ip", &["netns", "exec", ns, "sysctl", "-qw", setting]);
}

/// A namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str, kind: &str) -> Self {
        let ns = Self(format!("fl-e2{tag}{kind}-{}", std::process::id()));
        ip(&["netns", "add", &ns.0]);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        // No duplicate address detection, link-local addresses included: a tentative
        // address cannot source packets, and waiting for DAD costs a second per link.
        sysctl(&ns.0, "net.ipv6.conf.all.accept_dad=0");
        sysctl(&ns.0, "net.ipv6.conf.default.accept_dad=0");
        ns
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    fn addr(&self, dev: &str, cidr: &str) {
        let mut args = vec!["-n", &self.0, "addr", "add", cidr, "dev", dev];
        if cidr.contains(':') {
            args.push("nodad");
        }
        ip(&args);
    }

    fn up(&self, dev: &str) {
        ip(&["-n", &self.0, "link", "set", dev, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    ip(&[
        "-n", &a.0, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", &b.0,
    ]);
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
            client: Netns::new(tag, "c"),
            node: Netns::new(tag, "n"),
            backend: Netns::new(tag, "b"),
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
        ip(&[
            "-n",
            &c.0,
            "route",
            "add",
            "203.0.113.0/24",
            "via",
            "192.0.2.1",
        ]);
        ip(&[
            "-n",
            &c.0,
            "-6",
            "route",
            "add",
            "2001:db8:ff::/48",
            "via",
            "2001:db8:c::1",
        ]);
        if backend_ips.iter().any(|a| !a.contains(':')) {
            ip(&["-n", &b.0, "route", "add", "default", "via", "198.51.100.1"]);
        }
        if backend_ips.iter().any(|a| a.contains(':')) {
            ip(&[
                "-n",
                &b.0,
                "-6",
                "route",
                "add",
                "default",
                "via",
                "2001:db8:b::1",
            ]);
        }
        sysctl(&n.0, "net.ipv4.ip_forward=1");
        sysctl(&n.0, "net.ipv6.conf.all.forwarding=1");
        topo
    }
}
