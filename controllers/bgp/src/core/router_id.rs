//! Router IDs of every (node, instance).
//!
//! An override's `routerID` always wins, copied as written (Cilium does not validate it).
//! - `default` mode: the node's IPv4 address; on IPv6-only nodes the lower 32 bits of the
//!   host interface MAC the node agent publishes. With neither, the ID stays unset and the
//!   node's speaker derives it the same way from its own interface.
//! - `ip-pool` mode: unique addresses from the pool. An instance keeps the ID its existing
//!   `CiliumBGPNodeConfig` carries (so restarts change nothing) unless that ID left the pool,
//!   is claimed by an override, or is held by an instance earlier in (node, instance) order;
//!   the rest get the lowest free addresses. Override IDs inside the pool are never handed
//!   out; overrides that collide with each other are the user's to fix, as in Cilium.

use super::model::{Ipv4Pool, NodeInput, RouterIdMode};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// One instance on one node that needs a router ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub node: &'a NodeInput,
    pub instance: &'a str,
    /// The override's `routerID`, verbatim.
    pub override_id: Option<&'a str>,
    /// The ID the instance's current node config carries.
    pub existing: Option<Ipv4Addr>,
}

/// What an instance gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterId {
    /// Written into the node config.
    Set(String),
    /// Default mode without an IPv4 address or MAC: left to the speaker.
    Unset,
    /// ip-pool mode with no free address: the node config cannot be written.
    PoolExhausted,
}

/// Assigns every request its ID, keyed by (node, instance).
pub fn assign(
    mode: &RouterIdMode,
    requests: &[Request<'_>],
) -> BTreeMap<(String, String), RouterId> {
    let key = |r: &Request<'_>| (r.node.name.clone(), r.instance.to_owned());
    match mode {
        RouterIdMode::Default => requests
            .iter()
            .map(|r| {
                let id = match r.override_id {
                    Some(id) => RouterId::Set(id.to_owned()),
                    None => {
                        default_id(r.node).map_or(RouterId::Unset, |a| RouterId::Set(a.to_string()))
                    }
                };
                (key(r), id)
            })
            .collect(),
        RouterIdMode::IpPool(pool) => assign_from_pool(pool, requests),
    }
}

/// The node's IPv4 address, else the lower 32 bits of its host MAC.
pub fn default_id(node: &NodeInput) -> Option<Ipv4Addr> {
    node.ipv4.or_else(|| {
        node.host_mac
            .map(|mac| Ipv4Addr::new(mac[2], mac[3], mac[4], mac[5]))
            .filter(|id| !id.is_unspecified())
    })
}

fn assign_from_pool(
    pool: &Ipv4Pool,
    requests: &[Request<'_>],
) -> BTreeMap<(String, String), RouterId> {
    let mut sorted: Vec<&Request<'_>> = requests.iter().collect();
    sorted.sort_by(|a, b| (&a.node.name, a.instance).cmp(&(&b.node.name, b.instance)));
    let mut taken: BTreeSet<Ipv4Addr> = sorted
        .iter()
        .filter_map(|r| r.override_id?.parse::<Ipv4Addr>().ok())
        .filter(|id| pool.contains(*id))
        .collect();
    let mut assigned = BTreeMap::new();
    let mut waiting = Vec::new();
    for request in sorted {
        let key = (request.node.name.clone(), request.instance.to_owned());
        if let Some(id) = request.override_id {
            assigned.insert(key, RouterId::Set(id.to_owned()));
            continue;
        }
        match request.existing {
            Some(id) if pool.is_usable(id) && taken.insert(id) => {
                assigned.insert(key, RouterId::Set(id.to_string()));
            }
            _ => waiting.push(key),
        }
    }
    let mut free = pool.usable().filter(|id| !taken.contains(id));
    for key in waiting {
        let id = free
            .next()
            .map_or(RouterId::PoolExhausted, |id| RouterId::Set(id.to_string()));
        assigned.insert(key, id);
    }
    assigned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::node;
    use proptest::prelude::*;

    fn pool(text: &str) -> RouterIdMode {
        RouterIdMode::IpPool(Ipv4Pool::parse(text).expect("a valid pool"))
    }

    fn request<'a>(node: &'a NodeInput, instance: &'a str) -> Request<'a> {
        Request {
            node,
            instance,
            override_id: None,
            existing: None,
        }
    }

    fn id(assigned: &BTreeMap<(String, String), RouterId>, node: &str, instance: &str) -> RouterId {
        assigned[&(node.to_owned(), instance.to_owned())].clone()
    }

    fn set(text: &str) -> RouterId {
        RouterId::Set(text.to_owned())
    }

    #[test]
    fn default_mode_uses_the_node_ipv4() {
        let a = node("a").ipv4("192.0.2.10").build();
        let assigned = assign(
            &RouterIdMode::Default,
            &[request(&a, "i1"), request(&a, "i2")],
        );
        assert_eq!(id(&assigned, "a", "i1"), set("192.0.2.10"));
        assert_eq!(id(&assigned, "a", "i2"), set("192.0.2.10"));
    }

    #[test]
    fn default_mode_on_ipv6_only_nodes_uses_the_lower_32_bits_of_the_mac() {
        let a = node("a").mac([0x02, 0x42, 0xc0, 0x00, 0x02, 0x07]).build();
        let assigned = assign(&RouterIdMode::Default, &[request(&a, "i")]);
        assert_eq!(id(&assigned, "a", "i"), set("192.0.2.7"));
    }

    #[test]
    fn default_mode_prefers_ipv4_over_the_mac() {
        let a = node("a")
            .ipv4("198.51.100.1")
            .mac([0, 0, 1, 2, 3, 4])
            .build();
        assert_eq!(default_id(&a), Some("198.51.100.1".parse().expect("ip")));
    }

    #[test]
    fn default_mode_without_address_or_mac_leaves_it_to_the_speaker() {
        let a = node("a").build();
        let zero_mac = node("b").mac([0xaa, 0xbb, 0, 0, 0, 0]).build();
        let assigned = assign(
            &RouterIdMode::Default,
            &[request(&a, "i"), request(&zero_mac, "i")],
        );
        assert_eq!(id(&assigned, "a", "i"), RouterId::Unset);
        assert_eq!(
            id(&assigned, "b", "i"),
            RouterId::Unset,
            "0.0.0.0 is no router ID"
        );
    }

    #[test]
    fn an_override_wins_in_both_modes() {
        let a = node("a").ipv4("192.0.2.10").build();
        let mut r = request(&a, "i");
        r.override_id = Some("203.0.113.9");
        for mode in [RouterIdMode::Default, pool("10.0.0.0/24")] {
            assert_eq!(
                id(&assign(&mode, std::slice::from_ref(&r)), "a", "i"),
                set("203.0.113.9")
            );
        }
    }

    #[test]
    fn pool_mode_hands_out_the_lowest_free_addresses_in_name_order() {
        let (a, b) = (node("a").build(), node("b").build());
        let assigned = assign(
            &pool("10.0.0.0/24"),
            &[request(&b, "i"), request(&a, "j"), request(&a, "i")],
        );
        assert_eq!(id(&assigned, "a", "i"), set("10.0.0.1"));
        assert_eq!(id(&assigned, "a", "j"), set("10.0.0.2"));
        assert_eq!(id(&assigned, "b", "i"), set("10.0.0.3"));
    }

    #[test]
    fn pool_mode_keeps_existing_ids_and_fills_around_them() {
        let (a, b) = (node("a").build(), node("b").build());
        let mut kept = request(&b, "i");
        kept.existing = Some("10.0.0.1".parse().expect("ip"));
        let assigned = assign(&pool("10.0.0.0/24"), &[request(&a, "i"), kept]);
        assert_eq!(
            id(&assigned, "b", "i"),
            set("10.0.0.1"),
            "stable across restarts"
        );
        assert_eq!(id(&assigned, "a", "i"), set("10.0.0.2"));
    }

    #[test]
    fn pool_mode_never_hands_out_an_override_inside_the_pool() {
        let (a, b) = (node("a").build(), node("b").build());
        let mut pinned = request(&b, "i");
        pinned.override_id = Some("10.0.0.1");
        let mut stale = request(&a, "i");
        stale.existing = Some("10.0.0.1".parse().expect("ip"));
        let assigned = assign(&pool("10.0.0.0/24"), &[stale, pinned]);
        assert_eq!(id(&assigned, "b", "i"), set("10.0.0.1"));
        assert_eq!(
            id(&assigned, "a", "i"),
            set("10.0.0.2"),
            "moved off the pinned ID"
        );
    }

    #[test]
    fn pool_mode_reallocates_ids_outside_the_pool_and_duplicates() {
        let (a, b, c) = (node("a").build(), node("b").build(), node("c").build());
        let mut outside = request(&a, "i");
        outside.existing = Some("192.0.2.1".parse().expect("ip"));
        let mut first = request(&b, "i");
        first.existing = Some("10.0.0.5".parse().expect("ip"));
        let mut duplicate = request(&c, "i");
        duplicate.existing = Some("10.0.0.5".parse().expect("ip"));
        let assigned = assign(&pool("10.0.0.0/24"), &[outside, first, duplicate]);
        assert_eq!(id(&assigned, "a", "i"), set("10.0.0.1"));
        assert_eq!(id(&assigned, "b", "i"), set("10.0.0.5"));
        assert_eq!(id(&assigned, "c", "i"), set("10.0.0.2"));
    }

    #[test]
    fn pool_mode_reports_exhaustion_instead_of_sharing() {
        let nodes: Vec<NodeInput> = ["a", "b", "c"].iter().map(|n| node(n).build()).collect();
        let requests: Vec<Request<'_>> = nodes.iter().map(|n| request(n, "i")).collect();
        let assigned = assign(&pool("10.0.0.0/31"), &requests);
        assert_eq!(id(&assigned, "a", "i"), set("10.0.0.0"));
        assert_eq!(id(&assigned, "b", "i"), set("10.0.0.1"));
        assert_eq!(id(&assigned, "c", "i"), RouterId::PoolExhausted);
    }

    proptest! {
        /// Whatever the existing IDs, pool mode never gives two instances the same ID, and
        /// every ID it sets lies in the pool.
        #[test]
        fn pool_ids_are_unique_and_inside_the_pool(
            existing in proptest::collection::vec(proptest::option::of(0u8..12), 1..20),
        ) {
            let range = Ipv4Pool::parse("10.0.0.0/28").expect("a valid pool");
            let mode = RouterIdMode::IpPool(range);
            let nodes: Vec<NodeInput> =
                (0..existing.len()).map(|i| node(&format!("n{i:02}")).build()).collect();
            let requests: Vec<Request<'_>> = nodes
                .iter()
                .zip(&existing)
                .map(|(n, e)| Request {
                    node: n,
                    instance: "i",
                    override_id: None,
                    existing: e.map(|last| Ipv4Addr::new(10, 0, 0, last)),
                })
                .collect();
            let assigned = assign(&mode, &requests);
            let mut seen = BTreeSet::new();
            for value in assigned.values() {
                if let RouterId::Set(text) = value {
                    let address: Ipv4Addr = text.parse().expect("an IPv4 ID");
                    prop_assert!(range.is_usable(address));
                    prop_assert!(seen.insert(address), "{address} twice");
                }
            }
            // 14 usable addresses: exhaustion only beyond that.
            let exhausted = assigned.values().filter(|v| **v == RouterId::PoolExhausted).count();
            prop_assert_eq!(exhausted, existing.len().saturating_sub(14));
        }
    }
}
