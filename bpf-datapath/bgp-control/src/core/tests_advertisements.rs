//! Advertisement selection, attributes and the non-Service advertisement types.

use super::desired_bgp;
use super::fixtures::*;
use crate::family::Family::{Ipv4Unicast, Ipv6Unicast};
use crate::problems::Problem;
use ferrule_api::bgp::advertisement::WellKnownCommunity;
use ferrule_bgp_speaker::LargeCommunity;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::IpAddr;

fn pod_cidr_advertisement(name: &str, attributes: serde_json::Value) -> serde_json::Value {
    advertisement(
        name,
        json!({"advertise": "bgp"}),
        json!([{"advertisementType": "PodCIDR", "attributes": attributes}]),
    )
}

#[test]
fn pod_cidrs_of_the_node_are_announced_in_their_families() {
    let mut inputs = inputs();
    inputs.advertisements = vec![object(pod_cidr_advertisement("pods", json!(null)))];
    let desired = desired_bgp(&inputs);
    assert_eq!(prefixes(&desired, Ipv4Unicast), ["10.244.1.0/24"]);
    assert_eq!(prefixes(&desired, Ipv6Unicast), ["fd00:10:244:1::/64"]);
    let family = &first_peer(&desired).families[&Ipv4Unicast];
    assert_eq!(family.advertisements, ["pods"]);
}

#[test]
fn advertisements_the_family_selector_does_not_pick_are_not_announced() {
    let mut inputs = inputs();
    inputs.advertisements = vec![object(advertisement(
        "pods",
        json!({"advertise": "elsewhere"}),
        json!([{"advertisementType": "PodCIDR"}]),
    ))];
    let desired = desired_bgp(&inputs);
    assert!(prefixes(&desired, Ipv4Unicast).is_empty());
    assert!(
        first_peer(&desired).families[&Ipv4Unicast]
            .advertisements
            .is_empty()
    );
}

#[test]
fn communities_are_the_union_and_local_preference_the_maximum_of_all_matches() {
    let mut inputs = inputs_with_peer_asn(65000); // iBGP: local preference is sent
    inputs.advertisements = vec![
        object(pod_cidr_advertisement(
            "vpc1",
            json!({"communities": {"standard": ["65000:1"], "large": ["1111:1111:1111"]}, "localPreference": 100}),
        )),
        object(pod_cidr_advertisement(
            "vpc2",
            json!({"communities": {"standard": ["65000:2", "65000:1"], "large": ["2222:2222:2222"],
                                   "wellKnown": ["no-export"]},
                   "localPreference": 200}),
        )),
    ];
    let desired = desired_bgp(&inputs);
    let attributes = &routes(&desired, Ipv4Unicast)["10.244.1.0/24"];
    assert_eq!(
        attributes.communities.iter().copied().collect::<Vec<_>>(),
        [
            65000 << 16 | 1,
            65000 << 16 | 2,
            WellKnownCommunity::NoExport.value()
        ]
    );
    assert_eq!(
        attributes
            .large_communities
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [
            LargeCommunity {
                global: 1111,
                local1: 1111,
                local2: 1111
            },
            LargeCommunity {
                global: 2222,
                local1: 2222,
                local2: 2222
            },
        ]
    );
    assert_eq!(attributes.local_preference, Some(200));
}

#[test]
fn entries_of_one_advertisement_merge_like_separate_objects() {
    let mut inputs = inputs_with_peer_asn(65000);
    inputs.advertisements = vec![object(advertisement(
        "pods",
        json!({"advertise": "bgp"}),
        json!([
            {"advertisementType": "PodCIDR", "attributes": {"localPreference": 300}},
            {"advertisementType": "PodCIDR", "attributes": {"localPreference": 150, "communities": {"standard": ["4259840100"]}}},
        ]),
    ))];
    let desired = desired_bgp(&inputs);
    let attributes = &routes(&desired, Ipv4Unicast)["10.244.1.0/24"];
    assert_eq!(attributes.local_preference, Some(300));
    assert!(attributes.communities.contains(&4_259_840_100));
}

#[test]
fn well_known_community_names_map_to_their_values() {
    let mut inputs = inputs();
    inputs.advertisements = vec![object(pod_cidr_advertisement(
        "pods",
        json!({"communities": {"wellKnown": ["no-advertise", "blackhole", "route-filter-translated-v4"]}}),
    ))];
    let desired = desired_bgp(&inputs);
    let communities = &routes(&desired, Ipv4Unicast)["10.244.1.0/24"].communities;
    assert_eq!(
        communities.iter().copied().collect::<Vec<_>>(),
        [0xffff_0002, 0xffff_029a, 0xffff_ff02]
    );
}

#[test]
fn local_preference_goes_to_ibgp_peers_only() {
    let attributes = json!({"localPreference": 99, "communities": {"standard": ["65000:99"]}});
    let local_preference = |peer_asn: u32| {
        let mut inputs = inputs_with_peer_asn(peer_asn);
        inputs.advertisements = vec![object(pod_cidr_advertisement("pods", attributes.clone()))];
        let desired = desired_bgp(&inputs);
        let route = routes(&desired, Ipv4Unicast)["10.244.1.0/24"].clone();
        assert!(
            route.communities.contains(&(65000 << 16 | 99)),
            "communities go to every peer"
        );
        route.local_preference
    };
    assert_eq!(local_preference(65000), Some(99), "iBGP");
    assert_eq!(local_preference(65001), None, "eBGP");
    // Peer ASN 0: learned from the OPEN, so the speaker decides (and must strip it for eBGP).
    assert_eq!(local_preference(0), Some(99), "peer ASN to be learned");
}

#[test]
fn pod_ip_pools_are_selected_by_labels_or_their_special_name_key() {
    let mut inputs = inputs();
    let pool = |name: &str, labels: serde_json::Value| {
        object(json!({
            "apiVersion": "cilium.io/v2alpha1", "kind": "CiliumPodIPPool",
            "metadata": {"name": name, "labels": labels},
            "spec": {"ipv4": {"cidrs": ["10.10.0.0/16"], "maskSize": 24}},
        }))
    };
    inputs.pod_ip_pools = vec![
        pool("blue", json!({"color": "blue"})),
        pool("green", json!({})),
        pool("red", json!({})),
    ];
    inputs.pool_allocations = BTreeMap::from([
        ("blue".to_owned(), vec!["10.10.1.0/24".to_owned()]),
        (
            "green".to_owned(),
            vec!["10.20.1.0/24".to_owned(), "fd00:20::/80".to_owned()],
        ),
        ("red".to_owned(), vec!["10.30.1.0/24".to_owned()]),
    ]);
    let announced = |selector: serde_json::Value| {
        let mut inputs = inputs.clone();
        inputs.advertisements = vec![object(advertisement(
            "pools",
            json!({"advertise": "bgp"}),
            json!([{"advertisementType": "CiliumPodIPPool", "selector": selector}]),
        ))];
        let desired = desired_bgp(&inputs);
        (
            prefixes(&desired, Ipv4Unicast),
            prefixes(&desired, Ipv6Unicast),
        )
    };
    assert_eq!(
        announced(json!({"matchLabels": {"color": "blue"}})).0,
        ["10.10.1.0/24"]
    );
    assert_eq!(
        announced(json!({"matchLabels": {"io.cilium.podippool.name": "green"}})),
        (
            vec!["10.20.1.0/24".to_owned()],
            vec!["fd00:20::/80".to_owned()]
        )
    );
    let every_pool =
        json!({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["y"]}]});
    assert_eq!(announced(every_pool).0.len(), 3);
    assert!(
        announced(json!(null)).0.is_empty(),
        "no selector selects no pool"
    );
}

#[test]
fn interface_advertisements_announce_host_routes_of_its_addresses() {
    let mut inputs = inputs();
    let address = |s: &str| s.parse::<IpAddr>().expect("an address");
    inputs.interface_addresses = BTreeMap::from([(
        "lo".to_owned(),
        vec![address("203.0.113.1"), address("2001:db8::1")],
    )]);
    inputs.advertisements = vec![object(advertisement(
        "loopback",
        json!({"advertise": "bgp"}),
        json!([{"advertisementType": "Interface", "interface": {"name": "lo"}}]),
    ))];
    let desired = desired_bgp(&inputs);
    assert_eq!(prefixes(&desired, Ipv4Unicast), ["203.0.113.1/32"]);
    assert_eq!(prefixes(&desired, Ipv6Unicast), ["2001:db8::1/128"]);
}

#[test]
fn bad_selectors_and_communities_are_reported_and_skipped() {
    let mut inputs = inputs();
    inputs.advertisements = vec![
        object(advertisement(
            "broken",
            json!({"advertise": "bgp"}),
            json!([{"advertisementType": "Service", "service": {"addresses": ["ClusterIP"]},
                    "selector": {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}}]),
        )),
        object(pod_cidr_advertisement(
            "pods",
            json!({"communities": {"standard": ["70000:1", "65000:7"]}}),
        )),
    ];
    let desired = desired_bgp(&inputs);
    assert_eq!(
        routes(&desired, Ipv4Unicast)["10.244.1.0/24"]
            .communities
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        [65000 << 16 | 7]
    );
    assert!(desired.problems.iter().any(
        |p| matches!(p, Problem::InvalidSelector { object, .. } if object.contains("broken"))
    ));
    assert!(desired.problems.contains(&Problem::InvalidCommunity {
        advertisement: "pods".into(),
        value: "70000:1".into()
    }));
}
