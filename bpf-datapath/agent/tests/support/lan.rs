//! More routers for a [`Link`]: the router's end becomes a port of a bridge in the router
//! namespace (which keeps the router's addresses), and each extra router is a namespace of
//! its own with a veth into that bridge, so the node reaches every router over its one link.
//! The extra namespaces are removed on drop (the bridge goes with the link's).

use super::routers::{Link, run};

#[derive(Debug)]
pub struct Lan {
    namespaces: Vec<String>,
}

impl Lan {
    /// Bridges `link`'s router side and attaches `count` router namespaces; router `k`
    /// (0-based) is at [`Lan::address`]`(k)`.
    pub fn new(link: &Link, tag: &str, count: usize) -> Self {
        assert!(count <= 50, "addresses run from 192.0.2.11 to .60");
        let id = std::process::id();
        let router = link.router_ns.as_str();
        let bridge = format!("fg{tag}w{id}");
        assert!(bridge.len() <= 15, "interface name too long");
        run(&["ip", "-n", router, "link", "add", &bridge, "type", "bridge"]);
        run(&["ip", "-n", router, "addr", "flush", "dev", &link.router_if]);
        run(&[
            "ip",
            "-n",
            router,
            "link",
            "set",
            &link.router_if,
            "master",
            &bridge,
        ]);
        for (addr, extra) in [("192.0.2.1/24", None), ("2001:db8::1/64", Some("nodad"))] {
            let mut args = vec!["ip", "-n", router, "addr", "add", addr, "dev", &bridge];
            args.extend(extra);
            run(&args);
        }
        run(&["ip", "-n", router, "link", "set", &bridge, "up"]);
        let mut lan = Self {
            namespaces: Vec::new(),
        };
        for k in 0..count {
            let ns = format!("fg{tag}{k}x{id}");
            run(&["ip", "netns", "add", &ns]);
            lan.namespaces.push(ns.clone());
            let (port, inside) = (format!("fg{tag}{k}p{id}"), format!("fg{tag}{k}q{id}"));
            assert!(port.len() <= 15, "interface name too long");
            run(&[
                "ip", "-n", router, "link", "add", &port, "type", "veth", "peer", "name", &inside,
                "netns", &ns,
            ]);
            run(&["ip", "-n", router, "link", "set", &port, "master", &bridge]);
            run(&["ip", "-n", router, "link", "set", &port, "up"]);
            let addr = format!("{}/24", Self::address(k));
            run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &inside]);
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", &ns, "link", "set", &inside, "up"]);
        }
        lan
    }

    /// The IPv4 address of extra router `k`.
    pub fn address(k: usize) -> String {
        format!("192.0.2.{}", 11 + k)
    }

    /// The namespace of extra router `k`.
    pub fn namespace(&self, k: usize) -> &str {
        &self.namespaces[k]
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .status();
        }
    }
}
