use super::*;
use ferrule_bgp_control::{
    Family, FamilyAdvertisement, GracefulRestart as DesiredGr, LargeCommunity, Password,
    RouteAttributes, Timers,
};
use ferrule_bgp_speaker::{FamilyStatus, State};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an address")
}

fn peer() -> DesiredPeer {
    let mut v4 = FamilyAdvertisement::default();
    std::sync::Arc::make_mut(&mut v4.routes).insert(
        "203.0.113.10/32".parse().expect("prefix"),
        RouteAttributes {
            communities: [65000 << 16 | 100].into(),
            large_communities: [LargeCommunity {
                global: 64512,
                local1: 1,
                local2: 2,
            }]
            .into(),
            local_preference: None,
        },
    );
    let mut v6 = FamilyAdvertisement::default();
    std::sync::Arc::make_mut(&mut v6.routes).insert(
        "2001:db8:f::/64".parse().expect("prefix"),
        RouteAttributes::default(),
    );
    DesiredPeer {
        name: "tor".into(),
        address: ip("192.0.2.1"),
        port: 1179,
        peer_asn: Some(65001),
        local_address: None,
        source_interface: None,
        ebgp_multihop_ttl: 2,
        timers: Timers {
            connect_retry_seconds: 5,
            hold_time_seconds: 9,
            keepalive_seconds: 3,
        },
        graceful_restart: DesiredGr {
            enabled: true,
            restart_time_seconds: 60,
        },
        md5_password: Some(Password("s3cret".into())),
        peer_config: Some("peer".into()),
        families: [(Family::Ipv4Unicast, v4), (Family::Ipv6Unicast, v6)].into(),
        bfd: None,
    }
}

fn interfaces() -> InterfaceAddresses {
    [
        (
            "eth0".to_owned(),
            vec![ip("fe80::1"), ip("192.0.2.10"), ip("2001:db8::10")],
        ),
        ("eth1".to_owned(), vec![ip("198.51.100.10")]),
    ]
    .into()
}

#[test]
fn session_settings_carry_over_to_the_speaker() {
    let config = peer_config(&peer(), &interfaces(), None);
    assert_eq!(config.name, "tor");
    assert_eq!(config.address, ip("192.0.2.1"));
    assert_eq!((config.port, config.asn), (1179, Some(65001)));
    assert_eq!((config.hold_time, config.keepalive), (9, Some(3)));
    assert_eq!(config.connect_retry, Duration::from_secs(5));
    assert_eq!(config.ebgp_multihop_ttl, 2);
    assert_eq!(config.families, Family::ALL);
    assert_eq!(
        config.graceful_restart,
        Some(GracefulRestart { restart_time: 60 })
    );
    assert_eq!(config.md5_password.as_deref(), Some("s3cret"));
    assert_eq!(config.local_address, None, "routing picks the source");
}

#[test]
fn gr_off_and_an_empty_password_mean_neither_is_configured() {
    let mut p = peer();
    p.graceful_restart.enabled = false;
    p.md5_password = Some(Password(String::new()));
    let config = peer_config(&p, &interfaces(), None);
    assert_eq!(config.graceful_restart, None);
    assert_eq!(config.md5_password, None);
}

#[test]
fn a_source_interface_becomes_its_address_of_the_peers_family() {
    let mut p = peer();
    p.source_interface = Some("eth0".into());
    assert_eq!(
        peer_config(&p, &interfaces(), None).local_address,
        Some(ip("192.0.2.10"))
    );
    p.address = ip("2001:db8::1");
    assert_eq!(
        peer_config(&p, &interfaces(), None).local_address,
        Some(ip("2001:db8::10")),
        "global before link-local"
    );
    p.local_address = Some(ip("192.0.2.99"));
    assert_eq!(
        configured_source(&p, &interfaces()),
        Some(ip("192.0.2.99")),
        "localAddress wins"
    );
    p.local_address = None;
    p.source_interface = Some("missing0".into());
    assert_eq!(configured_source(&p, &interfaces()), None);
}

#[test]
fn next_hops_of_both_families_come_from_the_interface_holding_the_source() {
    let config = peer_config(&peer(), &interfaces(), Some(ip("192.0.2.10")));
    assert_eq!(config.next_hop_v4, Some("192.0.2.10".parse().expect("v4")));
    assert_eq!(
        config.next_hop_v6,
        Some("2001:db8::10".parse().expect("v6"))
    );
    let config = peer_config(&peer(), &interfaces(), Some(ip("198.51.100.10")));
    assert_eq!(config.next_hop_v6, None, "eth1 has no IPv6 address");
}

#[test]
fn routes_are_the_union_of_the_families_with_their_attributes() {
    let routes = routes(&peer());
    assert_eq!(routes.len(), 2);
    let v4 = routes
        .values()
        .find(|r| r.prefix.to_string() == "203.0.113.10/32")
        .expect("the IPv4 route");
    assert_eq!(v4.attrs.communities, [Community(65000 << 16 | 100)]);
    assert_eq!(v4.attrs.large_communities[0].to_string(), "64512:1:2");
    assert!(routes.keys().any(|p| p.to_string() == "2001:db8:f::/64"));
}

#[test]
fn speaker_status_maps_to_ciliums_session_status() {
    let status = PeerStatus {
        name: "tor".into(),
        address: ip("192.0.2.1"),
        peer_asn: Some(65001),
        local_asn: 65000,
        state: State::Established,
        established_at: None,
        uptime: Some(Duration::from_secs(42)),
        hold_time: Some(9),
        keepalive: Some(3),
        families: vec![FamilyStatus {
            family: Family::Ipv4Unicast,
            negotiated: true,
            advertised: 7,
            received: 1,
            not_advertised: None,
        }],
        last_error: None,
    };
    let session = session_status("instance-65000", &status);
    assert_eq!(session.instance, "instance-65000");
    assert_eq!(session.peer_name, "tor");
    assert_eq!(session.state, "established");
    assert_eq!(session.uptime, Some(Duration::from_secs(42)));
    assert_eq!(session.applied_hold_time_seconds, Some(9));
    assert_eq!(
        session.route_counts[&Family::Ipv4Unicast],
        RouteCounts {
            advertised: 7,
            received: 1
        }
    );
    assert_eq!(state_number(State::Established), 6);
    assert_eq!(state_number(State::Idle), 1);
}
