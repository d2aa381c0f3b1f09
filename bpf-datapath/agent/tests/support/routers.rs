//! A router for BGP tests: the node's namespace and the router's joined by a veth, and FRR's
//! bgpd and bfdd running standalone in the router's (all from ferrule-netns-testkit, removed on
//! drop, also when the test panics).

use ferrule_netns_testkit::{Daemon, Netns};

pub use ferrule_netns_testkit::{Frr, Link, require_root};

pub const NODE_V4: &str = "192.0.2.2";
pub const ROUTER_V4: &str = "192.0.2.1";

/// The node's namespace (`near`: 192.0.2.2/24, 2001:db8::2/64) and the router's (`far`:
/// 192.0.2.1/24, 2001:db8::1/64). [`Link::cut`] takes the router's end down, so only BFD or
/// the hold timer can notice on the node.
pub fn link(tag: &str) -> Link {
    Link::new(
        &format!("fg{tag}"),
        &[&format!("{NODE_V4}/24"), "2001:db8::2/64"],
        &[&format!("{ROUTER_V4}/24"), "2001:db8::1/64"],
    )
}

/// bgpd with `bgpd_conf` and bfdd with `bfdd_conf` in the router's namespace `ns`.
pub fn frr(ns: &Netns, bgpd_conf: &str, bfdd_conf: &str) -> Frr {
    Frr::start(ns, &[(Daemon::Bgpd, bgpd_conf), (Daemon::Bfdd, bfdd_conf)])
}
