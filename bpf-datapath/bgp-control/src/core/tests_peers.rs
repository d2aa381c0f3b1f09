//! Instances and peers: defaults of the peer config, families, secrets, router ID, ports and
//! default-gateway discovery.

use super::desired_bgp;
use super::fixtures::*;
use crate::desired::{GracefulRestart, Timers};
use crate::family::Family;
use crate::gateway::DefaultGateways;
use crate::inputs::AuthSecret;
use crate::problems::Problem;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// The standard node whose single peer is `peer` (merged over the default "tor" peer).
fn with_peer(peer: Value) -> crate::inputs::Inputs {
    let mut base = json!({"name": "tor", "peerAddress": "192.0.2.1", "peerASN": 65001});
    merge(&mut base, peer);
    let mut inputs = inputs();
    inputs.node_config = Some(object(node_config(
        json!([{"name": "instance-65000", "localASN": 65000, "peers": [base]}]),
    )));
    inputs
}

const DEFAULT_TIMERS: Timers = Timers {
    connect_retry_seconds: 120,
    hold_time_seconds: 90,
    keepalive_seconds: 30,
};

#[test]
fn a_node_without_a_node_config_runs_nothing() {
    let mut inputs = inputs();
    inputs.node_config = None;
    let desired = desired_bgp(&inputs);
    assert!(desired.instances.is_empty());
    assert!(desired.problems.is_empty());
}

#[test]
fn instance_and_peer_basics_come_from_the_node_config() {
    let mut inputs = with_peer(json!({"localAddress": "192.0.2.10"}));
    inputs.node_config = Some(object(node_config(json!([{
        "name": "instance-65000", "localASN": 4_200_000_000u32, "routerID": "203.0.113.50", "localPort": 1790,
        "peers": [{"name": "tor", "peerAddress": " 2001:db8::1 ", "peerASN": 4_200_000_001u32,
                   "localAddress": "2001:db8::10"}],
    }]))));
    let desired = desired_bgp(&inputs);
    let instance = &desired.instances[0];
    assert_eq!(instance.local_asn, 4_200_000_000);
    assert_eq!(instance.router_id, Ipv4Addr::new(203, 0, 113, 50));
    assert_eq!(instance.listen_port, Some(1790));
    let peer = &instance.peers[0];
    assert_eq!(
        peer.address,
        "2001:db8::1".parse::<IpAddr>().expect("an address")
    );
    assert_eq!(peer.peer_asn, Some(4_200_000_001));
    assert_eq!(peer.local_address, "2001:db8::10".parse().ok());
}

#[test]
fn without_local_port_the_instance_does_not_listen() {
    let desired = desired_bgp(&inputs());
    assert_eq!(desired.instances[0].listen_port, None);
}

#[test]
fn router_id_defaults_to_the_node_ipv4_address_then_the_fallback() {
    let desired = desired_bgp(&inputs());
    assert_eq!(desired.instances[0].router_id, Ipv4Addr::new(192, 0, 2, 10));

    let mut ipv6_only = inputs();
    ipv6_only.node = Some(object(json!({"metadata": {"name": NODE},
        "status": {"addresses": [{"type": "InternalIP", "address": "2001:db8::10"}]}})));
    let desired = desired_bgp(&ipv6_only);
    assert!(desired.instances.is_empty());
    assert_eq!(
        desired.problems,
        [Problem::NoRouterId {
            instance: "instance-65000".into()
        }]
    );
    ipv6_only.router_id_fallback = Some(crate::inputs::router_id_from_mac([2, 0, 0xc0, 0, 2, 99]));
    let desired = desired_bgp(&ipv6_only);
    assert_eq!(desired.instances[0].router_id, Ipv4Addr::new(192, 0, 2, 99));
}

#[test]
fn an_instance_without_local_asn_does_not_run() {
    let mut inputs = inputs();
    inputs.node_config = Some(object(node_config(json!([{"name": "no-asn"}]))));
    let desired = desired_bgp(&inputs);
    assert!(desired.instances.is_empty());
    assert_eq!(
        desired.problems,
        [Problem::MissingLocalAsn {
            instance: "no-asn".into()
        }]
    );
}

#[test]
fn peer_asn_zero_is_learned_from_the_peer() {
    let desired = desired_bgp(&with_peer(json!({"peerASN": 0})));
    assert_eq!(first_peer(&desired).peer_asn, None);
}

#[test]
fn no_peer_config_ref_means_cilium_defaults_without_complaint() {
    let mut inputs = with_peer(json!({}));
    inputs.peer_configs.clear();
    let desired = desired_bgp(&inputs);
    let peer = first_peer(&desired);
    assert_eq!(peer.port, 179);
    assert_eq!(peer.ebgp_multihop_ttl, 1);
    assert_eq!(peer.timers, DEFAULT_TIMERS);
    assert_eq!(
        peer.graceful_restart,
        GracefulRestart {
            enabled: false,
            restart_time_seconds: 120
        }
    );
    assert_eq!(peer.md5_password, None);
    assert_eq!(peer.peer_config, None);
    assert!(desired.problems.is_empty());
}

#[test]
fn a_dangling_peer_config_ref_runs_the_peer_with_defaults_and_reports_it() {
    let desired = desired_bgp(&with_peer(json!({"peerConfigRef": {"name": "typo"}})));
    let peer = first_peer(&desired);
    assert_eq!(
        (peer.port, peer.timers, peer.peer_config.clone()),
        (179, DEFAULT_TIMERS, None)
    );
    assert_eq!(
        desired.problems,
        [Problem::MissingPeerConfig {
            instance: "instance-65000".into(),
            peer: "tor".into(),
            peer_config: "typo".into()
        }]
    );
}

#[test]
fn families_default_to_ipv4_and_ipv6_unicast_without_advertisements() {
    let mut inputs = inputs();
    inputs.peer_configs = vec![object(peer_config("cilium-peer", json!({})))];
    inputs.advertisements = vec![object(advertisement(
        "pods",
        json!({"advertise": "bgp"}),
        json!([{"advertisementType": "PodCIDR"}]),
    ))];
    let desired = desired_bgp(&inputs);
    let families = &first_peer(&desired).families;
    assert_eq!(families.keys().copied().collect::<Vec<_>>(), Family::ALL);
    assert!(
        families
            .values()
            .all(|f| f.routes.is_empty() && f.advertisements.is_empty())
    );
}

#[test]
fn listed_families_only_and_unsupported_ones_are_reported() {
    let mut inputs = inputs();
    inputs.peer_configs = vec![object(peer_config(
        "cilium-peer",
        json!({"families": [{"afi": "ipv4", "safi": "unicast"}, {"afi": "ipv6", "safi": "mpls_vpn"}]}),
    ))];
    let desired = desired_bgp(&inputs);
    assert_eq!(
        first_peer(&desired)
            .families
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [Family::Ipv4Unicast]
    );
    assert_eq!(
        desired.problems,
        [Problem::UnsupportedFamily {
            peer_config: "cilium-peer".into(),
            afi: "ipv6".into(),
            safi: "mpls_vpn".into()
        }]
    );
}

#[test]
fn peer_config_settings_are_applied() {
    let mut inputs = inputs();
    inputs.peer_configs = vec![object(peer_config(
        "cilium-peer",
        json!({"timers": {"holdTimeSeconds": 9, "keepAliveTimeSeconds": 3, "connectRetryTimeSeconds": 5},
               "ebgpMultihop": 4, "gracefulRestart": {"enabled": true},
               "transport": {"peerPort": 1179, "sourceInterface": "eth1"}}),
    ))];
    let desired = desired_bgp(&inputs);
    let peer = first_peer(&desired);
    assert_eq!(
        peer.timers,
        Timers {
            connect_retry_seconds: 5,
            hold_time_seconds: 9,
            keepalive_seconds: 3
        }
    );
    assert_eq!(peer.ebgp_multihop_ttl, 4);
    assert_eq!(
        peer.graceful_restart,
        GracefulRestart {
            enabled: true,
            restart_time_seconds: 120
        }
    );
    assert_eq!(peer.port, 1179);
    assert_eq!(peer.source_interface.as_deref(), Some("eth1"));
    assert_eq!(peer.peer_config.as_deref(), Some("cilium-peer"));
}

#[test]
fn partial_timers_keep_the_defaults_of_the_others() {
    let mut inputs = inputs();
    inputs.peer_configs = vec![object(peer_config(
        "cilium-peer",
        json!({"timers": {"holdTimeSeconds": 30}, "gracefulRestart": {"enabled": true, "restartTimeSeconds": 300}}),
    ))];
    let desired = desired_bgp(&inputs);
    let peer = first_peer(&desired);
    assert_eq!(
        peer.timers,
        Timers {
            hold_time_seconds: 30,
            ..DEFAULT_TIMERS
        }
    );
    assert_eq!(peer.graceful_restart.restart_time_seconds, 300);
}

#[test]
fn auth_secret_password_is_used_and_a_missing_secret_means_no_password_and_a_problem() {
    let mut inputs = inputs();
    inputs.peer_configs = vec![object(peer_config(
        "cilium-peer",
        json!({"authSecretRef": "bgp-auth"}),
    ))];
    let desired = desired_bgp(&inputs);
    assert_eq!(first_peer(&desired).md5_password, None);
    assert_eq!(
        desired.problems,
        [Problem::MissingAuthSecret {
            peer_config: "cilium-peer".into(),
            namespace: "kube-system".into(),
            secret: "bgp-auth".into()
        }]
    );

    inputs.auth_secrets =
        BTreeMap::from([("bgp-auth".to_owned(), AuthSecret::Password("s3cret".into()))]);
    let desired = desired_bgp(&inputs);
    assert_eq!(
        first_peer(&desired)
            .md5_password
            .as_ref()
            .map(|p| p.expose().to_owned()),
        Some("s3cret".to_owned())
    );
    assert!(desired.problems.is_empty());
    assert!(
        !format!("{desired:?}").contains("s3cret"),
        "passwords stay out of logs"
    );

    inputs.auth_secrets = BTreeMap::from([("bgp-auth".to_owned(), AuthSecret::NoPassword)]);
    let desired = desired_bgp(&inputs);
    assert_eq!(first_peer(&desired).md5_password, None);
    assert!(matches!(
        desired.problems[..],
        [Problem::AuthSecretWithoutPassword { .. }]
    ));
}

#[test]
fn auto_discovery_peers_with_the_default_gateway_of_the_family() {
    let discovery = |family: &str| json!({"peerAddress": null, "autoDiscovery": {"mode": "DefaultGateway", "defaultGateway": {"addressFamily": family}}});
    let mut inputs = with_peer(discovery("ipv6"));
    inputs.default_gateways = DefaultGateways {
        ipv4: Some(Ipv4Addr::new(192, 0, 2, 254)),
        ipv6: "2001:db8::fe".parse().ok(),
    };
    let desired = desired_bgp(&inputs);
    assert_eq!(
        first_peer(&desired).address,
        "2001:db8::fe".parse::<IpAddr>().expect("an address")
    );

    let mut inputs = with_peer(discovery("ipv4"));
    inputs.default_gateways.ipv6 = "2001:db8::fe".parse().ok();
    let desired = desired_bgp(&inputs);
    assert!(
        desired.instances[0].peers.is_empty(),
        "no IPv4 gateway: no session"
    );
    assert_eq!(
        desired.problems,
        [Problem::NoDefaultGateway {
            instance: "instance-65000".into(),
            peer: "tor".into(),
            family: Family::Ipv4Unicast
        }]
    );
}

#[test]
fn unusable_peers_are_skipped_and_the_others_run() {
    let mut inputs = inputs();
    inputs.node_config = Some(object(node_config(json!([{
        "name": "instance-65000", "localASN": 65000,
        "peers": [
            {"name": "bad", "peerAddress": "not-an-ip"},
            {"name": "none"},
            {"name": "good", "peerAddress": "192.0.2.1"},
            {"name": "good", "peerAddress": "192.0.2.2"},
        ],
    }]))));
    let desired = desired_bgp(&inputs);
    let peers: Vec<_> = desired.instances[0]
        .peers
        .iter()
        .map(|p| (p.name.as_str(), p.address))
        .collect();
    assert_eq!(peers, [("good", IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))]);
    assert_eq!(desired.problems.len(), 3, "{:?}", desired.problems);
}

#[test]
fn bfd_comes_from_the_peer_config_annotations_and_a_bad_one_turns_it_off() {
    use crate::desired::BfdSpec;
    use std::time::Duration;
    let mut inputs = inputs();
    let mut config = peer_config("cilium-peer", json!({}));
    config["metadata"]["annotations"] = json!({
        "bfd.ferrule.io/enabled": "true",
        "bfd.ferrule.io/min-tx-interval": "100ms",
        "bfd.ferrule.io/min-rx-interval": "200ms",
        "bfd.ferrule.io/detect-multiplier": "5",
    });
    inputs.peer_configs = vec![object(config.clone())];
    let desired = desired_bgp(&inputs);
    assert_eq!(
        first_peer(&desired).bfd,
        Some(BfdSpec {
            min_tx: Duration::from_millis(100),
            min_rx: Duration::from_millis(200),
            detect_multiplier: 5,
        })
    );
    assert!(desired.problems.is_empty(), "{:?}", desired.problems);

    config["metadata"]["annotations"]["bfd.ferrule.io/min-rx-interval"] = json!("fast");
    inputs.peer_configs = vec![object(config)];
    let desired = desired_bgp(&inputs);
    assert_eq!(
        first_peer(&desired).bfd,
        None,
        "the session still runs, without BFD"
    );
    assert!(matches!(
        &desired.problems[..],
        [Problem::InvalidBfdAnnotation {
            annotation: "bfd.ferrule.io/min-rx-interval",
            ..
        }]
    ));
}
