//! Route tables are shared between peers announced the same routes and kept across
//! recomputations that do not change them: what keeps the node's memory flat in the number of
//! peers (10,000 Services to 10 peers are one table, not ten).

use super::desired_bgp;
use super::fixtures::*;
use crate::desired::DesiredBgp;
use crate::family::Family::{Ipv4Unicast, Ipv6Unicast};
use crate::inputs::Inputs;
use serde_json::json;
use std::sync::Arc;

/// Three peers on the standard node: two eBGP peers and one iBGP peer, all with the standard
/// peer config, and one Service advertised with a local preference.
fn three_peers(lb_ip: &str) -> Inputs {
    let mut inputs = inputs();
    inputs.node_config = Some(object(node_config(json!([{
        "name": "instance-65000", "localASN": 65000,
        "peers": [
            {"name": "a", "peerAddress": "192.0.2.1", "peerASN": 65001, "peerConfigRef": {"name": "cilium-peer"}},
            {"name": "b", "peerAddress": "192.0.2.2", "peerASN": 65002, "peerConfigRef": {"name": "cilium-peer"}},
            {"name": "rr", "peerAddress": "192.0.2.3", "peerASN": 65000, "peerConfigRef": {"name": "cilium-peer"}},
        ],
    }]))));
    inputs.advertisements = vec![object(advertisement(
        "services",
        json!({"advertise": "bgp"}),
        json!([{"advertisementType": "Service", "service": {"addresses": ["LoadBalancerIP"]},
                "selector": {"matchExpressions": [{"key": "somekey", "operator": "NotIn", "values": ["never"]}]},
                "attributes": {"localPreference": 200}}]),
    ))];
    inputs.services = vec![service_view(lb_service("web", lb_ip, json!({})))];
    inputs
}

fn table(desired: &DesiredBgp, peer: usize, family: crate::Family) -> &Arc<crate::RouteTable> {
    &desired.instances[0].peers[peer].families[&family].routes
}

#[test]
fn peers_announced_the_same_routes_share_one_table() {
    let desired = desired_bgp(&three_peers("203.0.113.5"));
    let (a, b, rr) = (
        table(&desired, 0, Ipv4Unicast),
        table(&desired, 1, Ipv4Unicast),
        table(&desired, 2, Ipv4Unicast),
    );
    assert_eq!(a.len(), 1);
    assert!(Arc::ptr_eq(a, b), "both eBGP peers get the same routes");
    assert!(
        !Arc::ptr_eq(a, rr),
        "the iBGP peer keeps the local preference"
    );
    assert_eq!(
        rr.values().next().and_then(|r| r.local_preference),
        Some(200)
    );
    assert_eq!(a.values().next().and_then(|r| r.local_preference), None);
}

#[test]
fn a_recomputation_keeps_the_tables_that_did_not_change() {
    let before = desired_bgp(&three_peers("203.0.113.5"));
    let mut after = desired_bgp(&three_peers("2001:db8::5"));
    after.keep_unchanged_tables(&before);
    // The IPv4 route went away (a new, empty table) and one IPv6 route appeared.
    assert!(table(&after, 0, Ipv4Unicast).is_empty());
    assert_eq!(table(&after, 0, Ipv6Unicast).len(), 1);
    let mut again = desired_bgp(&three_peers("2001:db8::5"));
    again.keep_unchanged_tables(&after);
    assert_eq!(again, after);
    for peer in 0..3 {
        for family in [Ipv4Unicast, Ipv6Unicast] {
            assert!(Arc::ptr_eq(
                table(&again, peer, family),
                table(&after, peer, family)
            ));
        }
    }
}
