use std::collections::BTreeMap;
use std::net::IpAddr;

use super::*;
use crate::community::{Community, LargeCommunity};
use crate::route::{Route, RouteAttrs};

const CTX: SessionCtx = SessionCtx {
    four_octet_as: true,
};

fn table(routes: &[(&str, RouteAttrs)]) -> BTreeMap<Prefix, Route> {
    routes
        .iter()
        .map(|(p, a)| {
            let prefix: Prefix = p.parse().unwrap();
            (
                prefix,
                Route {
                    prefix,
                    attrs: a.clone(),
                },
            )
        })
        .collect()
}

fn policy(ibgp: bool) -> ExportPolicy {
    ExportPolicy {
        local_asn: 65000,
        ibgp,
        next_hops: BTreeMap::from([
            (Family::Ipv4Unicast, "192.0.2.10".parse().unwrap()),
            (Family::Ipv6Unicast, "2001:db8::10".parse().unwrap()),
        ]),
    }
}

fn lp(n: u32) -> RouteAttrs {
    RouteAttrs {
        local_preference: Some(n),
        ..RouteAttrs::default()
    }
}

#[test]
fn ebgp_prepends_the_local_as_and_drops_local_preference() {
    let out = export(&table(&[("203.0.113.0/24", lp(200))]), &policy(false));
    let a = &out[&"203.0.113.0/24".parse().unwrap()];
    assert_eq!(a.as_path, Some(vec![AsSegment::Sequence(vec![65000])]));
    assert_eq!(a.local_pref, None);
    assert_eq!(a.origin, Some(Origin::Igp));
}

#[test]
fn ibgp_sends_an_empty_as_path_and_local_preference_defaulting_to_100() {
    let out = export(
        &table(&[
            ("203.0.113.0/24", lp(200)),
            ("198.51.100.0/24", RouteAttrs::default()),
        ]),
        &policy(true),
    );
    assert_eq!(
        out[&"203.0.113.0/24".parse().unwrap()].local_pref,
        Some(200)
    );
    assert_eq!(
        out[&"198.51.100.0/24".parse().unwrap()].local_pref,
        Some(100)
    );
    assert_eq!(
        out[&"198.51.100.0/24".parse().unwrap()].as_path,
        Some(vec![])
    );
}

#[test]
fn communities_are_sorted_and_deduplicated() {
    let attrs = RouteAttrs {
        communities: vec![Community::NO_EXPORT, Community(7), Community::NO_EXPORT],
        large_communities: vec![
            LargeCommunity {
                global: 2,
                local1: 0,
                local2: 0,
            },
            LargeCommunity {
                global: 1,
                local1: 0,
                local2: 0,
            },
        ],
        local_preference: None,
    };
    let out = export(&table(&[("203.0.113.0/24", attrs)]), &policy(false));
    let a = &out[&"203.0.113.0/24".parse().unwrap()];
    assert_eq!(a.communities, vec![Community(7), Community::NO_EXPORT]);
    assert_eq!(a.large_communities[0].global, 1);
}

#[test]
fn families_without_a_next_hop_are_skipped_with_a_reason() {
    let mut peer = crate::config::PeerConfig::new("p", "192.0.2.1".parse().unwrap(), None);
    let local: IpAddr = "192.0.2.10".parse().unwrap();
    let (nh, skipped) = next_hops(&Family::ALL, Some(local), &peer);
    assert_eq!(
        nh.keys().copied().collect::<Vec<_>>(),
        vec![Family::Ipv4Unicast]
    );
    assert_eq!(skipped[0].0, Family::Ipv6Unicast);
    assert!(skipped[0].1.contains("no ipv6 next hop"));

    peer.next_hop_v6 = Some("2001:db8::10".parse().unwrap());
    let (nh, skipped) = next_hops(&Family::ALL, Some(local), &peer);
    assert_eq!(
        nh[&Family::Ipv6Unicast],
        "2001:db8::10".parse::<IpAddr>().unwrap()
    );
    assert!(skipped.is_empty());

    // A v4-mapped local address (dual-stack listener) counts as IPv4.
    let (nh, _) = next_hops(
        &[Family::Ipv4Unicast],
        Some("::ffff:192.0.2.10".parse().unwrap()),
        &peer,
    );
    assert_eq!(nh[&Family::Ipv4Unicast], local);

    let mut p = policy(false);
    p.next_hops.remove(&Family::Ipv6Unicast);
    let out = export(
        &table(&[
            ("2001:db8:1::/48", RouteAttrs::default()),
            ("203.0.113.0/24", RouteAttrs::default()),
        ]),
        &p,
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn replacing_the_table_sends_only_the_difference() {
    let p = policy(false);
    let before = export(
        &table(&[
            ("203.0.113.0/24", RouteAttrs::default()),
            ("198.51.100.0/24", RouteAttrs::default()),
            ("2001:db8:1::/48", RouteAttrs::default()),
        ]),
        &p,
    );
    let tagged = RouteAttrs {
        communities: vec![Community(1)],
        ..RouteAttrs::default()
    };
    let after = export(
        &table(&[
            ("203.0.113.0/24", RouteAttrs::default()),
            ("198.51.100.0/24", tagged),
            ("2001:db8:2::/48", RouteAttrs::default()),
        ]),
        &p,
    );
    let ups = updates(&before, &after, &p.next_hops, CTX);
    let withdrawn: Vec<String> = ups
        .iter()
        .flat_map(|u| u.withdrawn_all())
        .map(|p| p.to_string())
        .collect();
    let announced: Vec<String> = ups
        .iter()
        .flat_map(|u| u.announced())
        .map(|p| p.to_string())
        .collect();
    assert_eq!(withdrawn, vec!["2001:db8:1::/48"]);
    assert_eq!(announced, vec!["198.51.100.0/24", "2001:db8:2::/48"]);
    let v4 = ups.iter().find(|u| !u.nlri.is_empty()).unwrap();
    assert_eq!(v4.attrs.next_hop, Some("192.0.2.10".parse().unwrap()));
    let v6 = ups.iter().find_map(|u| u.mp_reach.as_ref()).unwrap();
    assert_eq!(
        v6.next_hops,
        vec!["2001:db8::10".parse::<IpAddr>().unwrap()]
    );
    assert!(updates(&after, &after, &p.next_hops, CTX).is_empty());
}
