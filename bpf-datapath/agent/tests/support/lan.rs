//! More routers for a [`Link`]: the router's end becomes a port of a bridge in the router
//! namespace (which keeps the router's addresses), and each extra router is a namespace of
//! its own with a veth into that bridge, so the node reaches every router over its one link.
//! The extra namespaces are removed on drop (the bridge goes with the link's).

use ferrule_netns_testkit::{Link, Netns, veth};

#[derive(Debug)]
pub struct Lan {
    namespaces: Vec<Netns>,
}

impl Lan {
    /// Bridges `link`'s router side (`far`) and attaches `count` router namespaces; router
    /// `k` (0-based) is at [`Lan::address`]`(k)`.
    pub fn new(link: &Link, tag: &str, count: usize) -> Self {
        assert!(count <= 50, "addresses run from 192.0.2.11 to .60");
        let router = &link.far;
        let bridge = format!("fg{tag}w");
        router.ip(&["link", "add", &bridge, "type", "bridge"]);
        router.ip(&["addr", "flush", "dev", &link.far_if]);
        router.ip(&["link", "set", &link.far_if, "master", &bridge]);
        router.addr(&bridge, "192.0.2.1/24");
        router.addr(&bridge, "2001:db8::1/64");
        router.up(&bridge);
        let mut lan = Self {
            namespaces: Vec::new(),
        };
        for k in 0..count {
            let ns = Netns::new(&format!("fg{tag}{k}x"));
            let (port, inside) = (format!("fg{tag}{k}p"), format!("fg{tag}{k}q"));
            veth(router, &port, &ns, &inside);
            router.ip(&["link", "set", &port, "master", &bridge]);
            router.up(&port);
            ns.addr(&inside, &format!("{}/24", Self::address(k)));
            ns.up(&inside);
            lan.namespaces.push(ns);
        }
        lan
    }

    /// The IPv4 address of extra router `k`.
    pub fn address(k: usize) -> String {
        format!("192.0.2.{}", 11 + k)
    }

    /// The namespace of extra router `k`.
    pub fn namespace(&self, k: usize) -> &Netns {
        &self.namespaces[k]
    }
}
