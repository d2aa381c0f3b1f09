//! Which services the compiled policies select, which of their IPs are announced, and on
//! which nodes and interfaces each IP may be announced.
//!
//! Cilium announces, for each policy that selects both a service and a node, that policy's
//! kinds of IP on that policy's interfaces; the node's announcement is the union over such
//! policies. So the unit is (IP, interfaces) per (service, node), not one interface list per
//! service: a policy announcing externalIPs on eth0 and another announcing loadBalancerIPs on
//! eth1 do not announce each other's IPs on each other's interfaces.

use super::model::{NodeInput, ServiceInput, ServiceKey};
use super::policy::{Interfaces, Policy};
use ferrule_api::names::lb_class;
use ferrule_api::selector::ExtendedLabels;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What a node announces for one service: each IP with the interfaces to answer on.
pub type IpInterfaces = BTreeMap<IpAddr, Interfaces>;

/// A service at least one valid policy selects, with at least one IP to announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleService {
    pub key: ServiceKey,
    pub external_traffic_local: bool,
    pub ready_local_nodes: BTreeSet<String>,
    /// Every node (live or not) that a policy selecting this service also selects, with what
    /// that node would announce; never empty, and no entry is empty.
    pub nodes: BTreeMap<String, IpInterfaces>,
}

/// Whether a service's load-balancer class leaves it to L2 announcements.
pub fn class_is_eligible(class: Option<&str>) -> bool {
    class.is_none_or(|c| c == lb_class::L2_ANNOUNCER)
}

/// The eligible services, sorted by key. Policies with problems must already be left out.
pub fn eligible(
    services: &[ServiceInput],
    nodes: &[NodeInput],
    policies: &[Policy],
) -> Vec<EligibleService> {
    let mut out: Vec<EligibleService> = services
        .iter()
        .filter_map(|service| eligible_service(service, nodes, policies))
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn eligible_service(
    service: &ServiceInput,
    nodes: &[NodeInput],
    policies: &[Policy],
) -> Option<EligibleService> {
    if !class_is_eligible(service.load_balancer_class.as_deref()) {
        return None;
    }
    let labels = ExtendedLabels::service(
        &service.key.namespace,
        &service.key.name,
        Some(&service.labels),
    );
    let external = parse_ips(&service.external_ips);
    let ingress = parse_ips(&service.ingress_ips);
    let mut by_node: BTreeMap<String, IpInterfaces> = BTreeMap::new();
    for policy in policies
        .iter()
        .filter(|p| p.service_selector.matches(&labels))
    {
        let ips: BTreeSet<IpAddr> = [
            (policy.external_ips, &external),
            (policy.load_balancer_ips, &ingress),
        ]
        .into_iter()
        .filter(|(selected, _)| *selected)
        .flat_map(|(_, ips)| ips.iter().copied())
        .collect();
        if ips.is_empty() {
            continue;
        }
        for node in nodes.iter().filter(|n| {
            policy
                .node_selector
                .matches(&ExtendedLabels::plain(Some(&n.labels)))
        }) {
            let entry = by_node.entry(node.name.clone()).or_default();
            for ip in &ips {
                entry
                    .entry(*ip)
                    .and_modify(|i| i.union_with(&policy.interfaces))
                    .or_insert_with(|| policy.interfaces.clone());
            }
        }
    }
    if by_node.is_empty() {
        return None;
    }
    Some(EligibleService {
        key: service.key.clone(),
        external_traffic_local: service.external_traffic_local,
        ready_local_nodes: service.ready_local_nodes.clone(),
        nodes: by_node,
    })
}

/// Unparsable entries are skipped: one typo must not stop the other IPs being announced.
fn parse_ips(raw: &[String]) -> BTreeSet<IpAddr> {
    raw.iter().filter_map(|ip| ip.trim().parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{node, policy, service};

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test IP")
    }

    #[test]
    fn only_unset_or_l2_announcer_classes_are_eligible() {
        assert!(class_is_eligible(None));
        assert!(class_is_eligible(Some("io.cilium/l2-announcer")));
        assert!(!class_is_eligible(Some("io.cilium/bgp-control-plane")));
        assert!(!class_is_eligible(Some("example.com/other")));

        let nodes = [node("n1", &[])];
        let policies = [policy("p").lb_ips().build()];
        let mut bgp = service("default", "bgp").ingress(&["192.0.2.1"]);
        bgp.load_balancer_class = Some("io.cilium/bgp-control-plane".into());
        let mut l2 = service("default", "l2").ingress(&["192.0.2.2"]);
        l2.load_balancer_class = Some("io.cilium/l2-announcer".into());
        let unset = service("default", "unset").ingress(&["192.0.2.3"]);
        let keys: Vec<String> = eligible(&[bgp, l2, unset], &nodes, &policies)
            .iter()
            .map(|s| s.key.to_string())
            .collect();
        assert_eq!(keys, ["default/l2", "default/unset"]);
    }

    #[test]
    fn service_selector_sees_the_special_keys_and_labels() {
        let nodes = [node("n1", &[])];
        let by_name = policy("p")
            .lb_ips()
            .service_labels(&[("io.kubernetes.service.name", "web")])
            .build();
        let by_ns = policy("q")
            .lb_ips()
            .service_labels(&[("io.kubernetes.service.namespace", "prod")])
            .build();
        let by_label = policy("r")
            .lb_ips()
            .service_labels(&[("tier", "edge")])
            .build();
        let services = [
            service("default", "web").ingress(&["192.0.2.1"]),
            service("prod", "api").ingress(&["192.0.2.2"]),
            service("default", "db")
                .labels(&[("tier", "edge")])
                .ingress(&["192.0.2.3"]),
            service("default", "other").ingress(&["192.0.2.4"]),
            // A label cannot impersonate the special key.
            service("default", "fake")
                .labels(&[("io.kubernetes.service.name", "web")])
                .ingress(&["192.0.2.5"]),
        ];
        let keys: Vec<String> = eligible(&services, &nodes, &[by_name, by_ns, by_label])
            .iter()
            .map(|s| s.key.to_string())
            .collect();
        assert_eq!(keys, ["default/db", "default/web", "prod/api"]);
    }

    #[test]
    fn ip_kinds_follow_the_policy_flags_and_bad_ips_are_skipped() {
        let nodes = [node("n1", &[])];
        let svc = service("default", "web")
            .external(&["198.51.100.7", "not-an-ip", "2001:db8::7"])
            .ingress(&["192.0.2.1", "192.0.2.x"]);
        let ips_with = |p: Policy| -> Vec<IpAddr> {
            eligible(std::slice::from_ref(&svc), &nodes, &[p])
                .first()
                .map(|s| s.nodes["n1"].keys().copied().collect())
                .unwrap_or_default()
        };
        assert_eq!(ips_with(policy("p").lb_ips().build()), [ip("192.0.2.1")]);
        assert_eq!(
            ips_with(policy("p").external_ips().build()),
            [ip("198.51.100.7"), ip("2001:db8::7")]
        );
        assert_eq!(
            ips_with(policy("p").lb_ips().external_ips().build()),
            [ip("192.0.2.1"), ip("198.51.100.7"), ip("2001:db8::7")]
        );
        assert!(ips_with(policy("p").build()).is_empty(), "no kind selected");
    }

    #[test]
    fn a_service_without_ips_of_a_selected_kind_is_not_eligible() {
        let nodes = [node("n1", &[])];
        let pending = service("default", "pending").external(&["198.51.100.1"]);
        assert!(eligible(&[pending], &nodes, &[policy("p").lb_ips().build()]).is_empty());
    }

    #[test]
    fn interfaces_are_the_union_of_policies_selecting_the_service_and_node() {
        let nodes = [node("n1", &[("zone", "a")]), node("n2", &[("zone", "b")])];
        let everywhere = policy("everywhere")
            .lb_ips()
            .interfaces(&["^eth0$"])
            .build();
        let zone_a = policy("zone-a")
            .lb_ips()
            .node_labels(&[("zone", "a")])
            .interfaces(&["^eth1$"])
            .build();
        let ext_only = policy("ext")
            .external_ips()
            .node_labels(&[("zone", "a")])
            .interfaces(&["^eth2$"])
            .build();
        let svc = service("default", "web")
            .ingress(&["192.0.2.1"])
            .external(&["198.51.100.1"]);
        let out = eligible(&[svc], &nodes, &[everywhere, zone_a, ext_only]);
        let n1 = &out[0].nodes["n1"];
        let n2 = &out[0].nodes["n2"];
        let lb = &n1[&ip("192.0.2.1")];
        assert!(lb.selects("eth0") && lb.selects("eth1") && !lb.selects("eth2"));
        let ext = &n1[&ip("198.51.100.1")];
        assert!(ext.selects("eth2") && !ext.selects("eth0"));
        assert_eq!(n2.len(), 1, "zone b only gets the everywhere policy's IP");
        let lb2 = &n2[&ip("192.0.2.1")];
        assert!(lb2.selects("eth0") && !lb2.selects("eth1"));
    }

    #[test]
    fn nodes_outside_every_matching_policy_are_not_listed() {
        let nodes = [node("n1", &[("l2", "yes")]), node("n2", &[])];
        let p = policy("p").lb_ips().node_labels(&[("l2", "yes")]).build();
        let out = eligible(
            &[service("default", "web").ingress(&["192.0.2.1"])],
            &nodes,
            &[p],
        );
        assert_eq!(out[0].nodes.keys().collect::<Vec<_>>(), ["n1"]);
    }
}
