//! Properties of [`assign`]: determinism, validity, the load bound, stability under node
//! loss, and the candidate rules.

use super::assign::{Assignment, NotAnnounced, assign};
use super::eligible::{EligibleService, IpInterfaces, eligible};
use super::hash;
use super::model::ServiceKey;
use super::policy::Interfaces;
use super::testing::{node, policy, service};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

fn ip_map() -> IpInterfaces {
    let ip: IpAddr = "192.0.2.1".parse().expect("test IP");
    BTreeMap::from([(ip, Interfaces::All)])
}

fn eligible_on(key: &ServiceKey, nodes: &[String]) -> EligibleService {
    EligibleService {
        key: key.clone(),
        external_traffic_local: false,
        ready_local_nodes: BTreeSet::new(),
        nodes: nodes.iter().map(|n| (n.clone(), ip_map())).collect(),
    }
}

fn node_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("node-{i}")).collect()
}

fn names(count: usize, prefix: &str) -> Vec<ServiceKey> {
    (0..count)
        .map(|i| ServiceKey::new("default", format!("{prefix}-{i}")))
        .collect()
}

fn live(nodes: &[String]) -> BTreeSet<String> {
    nodes.iter().cloned().collect()
}

fn max_load(a: &Assignment) -> usize {
    a.by_node.values().map(Vec::len).max().unwrap_or(0)
}

/// The node each service prefers most among `nodes` (what plain rendezvous hashing picks).
fn top_choice(key: &ServiceKey, nodes: &[String]) -> String {
    nodes
        .iter()
        .max_by_key(|n| (hash::weight(key, n), std::cmp::Reverse((*n).clone())))
        .expect("at least one node")
        .clone()
}

/// Distinct service keys: random namespaces and names from Kubernetes' alphabet.
fn keys(range: std::ops::Range<usize>) -> impl Strategy<Value = Vec<ServiceKey>> {
    proptest::collection::btree_set(("[a-z]{1,6}", "[a-z][a-z0-9-]{0,10}"), range).prop_map(|set| {
        set.into_iter()
            .map(|(ns, name)| ServiceKey::new(ns, name))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn same_input_in_any_order_gives_the_same_assignment(
        keys in keys(1..60),
        node_count in 1usize..7,
        seed in any::<u64>(),
    ) {
        let nodes = node_names(node_count);
        let services: Vec<EligibleService> = keys.iter().enumerate().map(|(i, k)| {
            // Differing candidate sets, so that the capacity arithmetic is exercised too.
            let subset: Vec<String> = nodes.iter().enumerate()
                .filter(|(j, _)| (seed >> ((i + j) % 64)) & 1 == 1 || *j == i % node_count)
                .map(|(_, n)| n.clone()).collect();
            eligible_on(k, &subset)
        }).collect();
        let forward = assign(&services, &live(&nodes));
        let mut reversed = services.clone();
        reversed.reverse();
        let mut rotated = services.clone();
        rotated.rotate_left((seed as usize) % services.len());
        prop_assert_eq!(&forward, &assign(&reversed, &live(&nodes)));
        prop_assert_eq!(&forward, &assign(&rotated, &live(&nodes)));
    }

    #[test]
    fn every_service_with_candidates_goes_to_exactly_one_of_them(
        keys in keys(1..60),
        node_count in 1usize..7,
        masks in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<bool>()), 60),
        live_mask in any::<u8>(),
    ) {
        let nodes = node_names(node_count);
        let pick = |mask: u8| -> Vec<String> {
            nodes.iter().enumerate().filter(|(j, _)| mask >> j & 1 == 1).map(|(_, n)| n.clone()).collect()
        };
        let live_nodes: BTreeSet<String> = pick(live_mask).into_iter().collect();
        let services: Vec<EligibleService> = keys.iter().zip(&masks).filter_map(|(k, (sel, ready, local))| {
            let selected = pick(*sel);
            if selected.is_empty() { return None; }
            let mut s = eligible_on(k, &selected);
            s.external_traffic_local = *local;
            s.ready_local_nodes = pick(*ready).into_iter().collect();
            Some(s)
        }).collect();
        let out = assign(&services, &live_nodes);
        for s in &services {
            let candidates: BTreeSet<&String> = s.nodes.keys()
                .filter(|n| live_nodes.contains(*n))
                .filter(|n| !s.external_traffic_local || s.ready_local_nodes.contains(*n))
                .collect();
            let holders: Vec<&String> = out.by_node.iter()
                .filter(|(_, a)| a.iter().any(|a| a.service == s.key))
                .map(|(n, _)| n).collect();
            if candidates.is_empty() {
                prop_assert!(holders.is_empty());
                prop_assert!(out.not_announced.contains_key(&s.key));
            } else {
                prop_assert_eq!(holders.len(), 1, "{} held by {:?}", s.key, holders);
                prop_assert!(candidates.contains(holders[0]));
                prop_assert_eq!(&out.owner[&s.key], holders[0]);
                prop_assert!(!out.not_announced.contains_key(&s.key));
            }
        }
    }

    #[test]
    fn thirty_services_over_three_nodes_put_at_most_eleven_on_any_node(keys in keys(30..31)) {
        let nodes = node_names(3);
        let services: Vec<EligibleService> = keys.iter().map(|k| eligible_on(k, &nodes)).collect();
        let out = assign(&services, &live(&nodes));
        prop_assert_eq!(out.owner.len(), 30);
        prop_assert!(max_load(&out) <= 11, "loads {:?}",
            out.by_node.values().map(Vec::len).collect::<Vec<_>>());
    }

    #[test]
    fn with_one_candidate_set_no_node_exceeds_the_bound(
        keys in keys(1..200),
        node_count in 1usize..9,
    ) {
        let nodes = node_names(node_count);
        let services: Vec<EligibleService> = keys.iter().map(|k| eligible_on(k, &nodes)).collect();
        let out = assign(&services, &live(&nodes));
        let bound = (keys.len() * 11).div_ceil(node_count * 10);
        prop_assert!(max_load(&out) <= bound);
    }
}

/// Outcome of removing one node from a single-policy cluster.
struct Removal {
    services: usize,
    on_removed: usize,
    /// Services not on the removed node that changed node.
    others_moved: usize,
}

fn remove_one_node(trial: usize) -> Removal {
    let node_count = 3 + trial % 6;
    let service_count = 10 + (trial * 37) % 191;
    let nodes = node_names(node_count);
    let keys = names(service_count, &format!("svc{trial}"));
    let services: Vec<EligibleService> = keys.iter().map(|k| eligible_on(k, &nodes)).collect();
    let before = assign(&services, &live(&nodes));
    let removed = &nodes[trial % node_count];
    let remaining: Vec<String> = nodes.iter().filter(|n| *n != removed).cloned().collect();
    let after = assign(&services, &live(&remaining));
    let mut on_removed = 0;
    let mut others_moved = 0;
    for k in &keys {
        let old = &before.owner[k];
        let new = &after.owner[k];
        assert_ne!(new, removed, "{k} is on the removed node");
        if old == removed {
            on_removed += 1;
        } else if old != new {
            others_moved += 1;
            // Weights do not depend on the node set, so only the load bound can move it: it
            // was off its first choice before or is off it now.
            let was_top = *old == top_choice(k, &nodes);
            let is_top = *new == top_choice(k, &remaining);
            assert!(
                !(was_top && is_top),
                "{k} moved although at its first choice both times"
            );
        }
    }
    Removal {
        services: service_count,
        on_removed,
        others_moved,
    }
}

#[test]
fn removing_a_node_moves_all_of_its_services_and_few_others() {
    let trials: Vec<Removal> = (0..300).map(remove_one_node).collect();
    let services: usize = trials.iter().map(|r| r.services).sum();
    let on_removed: usize = trials.iter().map(|r| r.on_removed).sum();
    let others: usize = trials.iter().map(|r| r.others_moved).sum();
    let worst = trials
        .iter()
        .map(|r| r.others_moved as f64 / r.services as f64)
        .fold(0.0, f64::max);
    // Measured when written: 31,501 services, 6,442 on the removed nodes, 459 others moved
    // (1.46%). The inputs are fixed, so this is a regression guard with 2x headroom; plain
    // rendezvous hashing would move 0 others, and the per-service assertion in
    // `remove_one_node` already proves every other mover is one the load bound displaced.
    assert!(on_removed > 0, "the removed nodes held services");
    assert!(
        others * 100 <= services * 3,
        "{others} of {services} services moved off surviving nodes (worst trial {:.1}%)",
        100.0 * worst
    );
}

#[test]
fn the_load_bound_is_what_keeps_thirty_services_at_eleven() {
    let nodes = node_names(3);
    let mut plain_hrw_over_bound = 0;
    for trial in 0..200 {
        let keys = names(30, &format!("t{trial}"));
        let mut top: BTreeMap<String, usize> = BTreeMap::new();
        for k in &keys {
            *top.entry(top_choice(k, &nodes)).or_default() += 1;
        }
        if top.values().any(|n| *n > 11) {
            plain_hrw_over_bound += 1;
        }
        let services: Vec<EligibleService> = keys.iter().map(|k| eligible_on(k, &nodes)).collect();
        assert!(max_load(&assign(&services, &live(&nodes))) <= 11);
    }
    // Uniform placement of 30 over 3 exceeds 11 on some node in about 77% of draws.
    assert!(
        plain_hrw_over_bound > 20,
        "plain HRW exceeded 11 in only {plain_hrw_over_bound} of 200 trials"
    );
}

#[test]
fn etp_local_only_uses_nodes_with_a_ready_endpoint() {
    let nodes = node_names(3);
    let key = ServiceKey::new("default", "local");
    let mut s = eligible_on(&key, &nodes);
    s.external_traffic_local = true;
    s.ready_local_nodes = BTreeSet::from(["node-2".to_owned()]);
    let out = assign(std::slice::from_ref(&s), &live(&nodes));
    assert_eq!(out.owner[&key], "node-2");

    // The only ready endpoint is on a dead node: not announced, with the eTP reason.
    let without_2 = live(&nodes[..2]);
    let out = assign(std::slice::from_ref(&s), &without_2);
    assert!(out.owner.is_empty());
    assert_eq!(out.not_announced[&key], NotAnnounced::NoReadyLocalEndpoint);

    // No ready endpoint anywhere.
    s.ready_local_nodes.clear();
    let out = assign(std::slice::from_ref(&s), &live(&nodes));
    assert_eq!(out.not_announced[&key], NotAnnounced::NoReadyLocalEndpoint);

    // eTP Cluster ignores endpoints.
    s.external_traffic_local = false;
    let out = assign(std::slice::from_ref(&s), &without_2);
    assert!(out.owner.contains_key(&key));
}

#[test]
fn a_service_without_live_selected_nodes_is_reported() {
    let key = ServiceKey::new("default", "orphan");
    let s = eligible_on(&key, &["node-9".to_owned()]);
    let out = assign(&[s], &live(&node_names(3)));
    assert_eq!(out.not_announced[&key], NotAnnounced::NoLiveCandidate);
    assert!(out.by_node.is_empty());
}

#[test]
fn a_node_in_one_policy_only_gets_that_policys_services() {
    let nodes = [
        node("edge-0", &[("role", "edge")]),
        node("core-0", &[("role", "core")]),
        node("core-1", &[("role", "core")]),
    ];
    let edge_policy = policy("edge")
        .lb_ips()
        .node_labels(&[("role", "edge")])
        .service_labels(&[("tier", "edge")])
        .interfaces(&["^edge"])
        .build();
    let core_policy = policy("core")
        .lb_ips()
        .node_labels(&[("role", "core")])
        .service_labels(&[("tier", "core")])
        .build();
    let mut services = Vec::new();
    for i in 0..20 {
        services.push(
            service("default", &format!("e{i}"))
                .labels(&[("tier", "edge")])
                .ingress(&["192.0.2.10"]),
        );
        services.push(
            service("default", &format!("c{i}"))
                .labels(&[("tier", "core")])
                .ingress(&["192.0.2.20"]),
        );
    }
    let all: BTreeSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let out = assign(
        &eligible(&services, &nodes, &[edge_policy, core_policy]),
        &all,
    );
    assert_eq!(out.owner.len(), 40);
    for a in &out.by_node["edge-0"] {
        assert!(a.service.name.starts_with('e'), "{} on edge-0", a.service);
        for interfaces in a.ips.values() {
            assert!(interfaces.selects("edge0") && !interfaces.selects("eth0"));
        }
    }
    for (key, owner) in &out.owner {
        if key.name.starts_with('c') {
            assert_ne!(owner, "edge-0", "{key} belongs to the core policy");
        } else {
            assert_eq!(owner, "edge-0", "{key} may only go to edge-0");
        }
    }
}

#[test]
fn the_announcement_carries_the_chosen_nodes_ips_and_interfaces() {
    let key = ServiceKey::new("default", "web");
    let v4: IpAddr = "192.0.2.1".parse().expect("ip");
    let v6: IpAddr = "2001:db8::1".parse().expect("ip");
    let only_eth = policy("p").interfaces(&["^eth"]).build().interfaces;
    let s = EligibleService {
        key: key.clone(),
        external_traffic_local: false,
        ready_local_nodes: BTreeSet::new(),
        nodes: BTreeMap::from([(
            "node-0".to_owned(),
            BTreeMap::from([(v4, only_eth.clone()), (v6, Interfaces::All)]),
        )]),
    };
    let out = assign(&[s], &live(&node_names(1)));
    let announced = &out.by_node["node-0"];
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].service, key);
    assert_eq!(announced[0].ips[&v4], only_eth);
    assert_eq!(announced[0].ips[&v6], Interfaces::All);
}
