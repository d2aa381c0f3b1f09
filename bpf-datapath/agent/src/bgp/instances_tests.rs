use super::*;
use ferrule_bgp_control::{
    Family, FamilyAdvertisement, GracefulRestart, RouteAttributes, RouteTable, Timers,
};

fn table(prefixes: &[&str]) -> Arc<RouteTable> {
    let routes = prefixes
        .iter()
        .map(|p| (p.parse().expect("prefix"), RouteAttributes::default()));
    Arc::new(routes.collect())
}

fn peer(address: &str, v4: &Arc<RouteTable>, v6: &Arc<RouteTable>) -> DesiredPeer {
    let family = |routes: &Arc<RouteTable>| FamilyAdvertisement {
        advertisements: vec!["services".into()],
        routes: Arc::clone(routes),
    };
    DesiredPeer {
        name: address.into(),
        address: address.parse().expect("address"),
        port: 179,
        peer_asn: Some(65001),
        local_address: None,
        source_interface: None,
        ebgp_multihop_ttl: 1,
        timers: Timers {
            connect_retry_seconds: 120,
            hold_time_seconds: 90,
            keepalive_seconds: 30,
        },
        graceful_restart: GracefulRestart {
            enabled: false,
            restart_time_seconds: 120,
        },
        md5_password: None,
        peer_config: None,
        families: [
            (Family::Ipv4Unicast, family(v4)),
            (Family::Ipv6Unicast, family(v6)),
        ]
        .into(),
        bfd: None,
    }
}

#[test]
fn peers_with_the_same_routes_get_one_speaker_table_that_lasts_while_unchanged() {
    let (v4, v6) = (table(&["203.0.113.1/32"]), table(&["2001:db8::1/128"]));
    let other_v6 = table(&["2001:db8::2/128"]);
    let (a, b) = (peer("192.0.2.1", &v4, &v6), peer("192.0.2.2", &v4, &v6));
    let c = peer("192.0.2.3", &v4, &other_v6);

    let mut made = Vec::new();
    let for_a = speaker_table(&a, &mut made, &[]);
    let for_b = speaker_table(&b, &mut made, &[]);
    let for_c = speaker_table(&c, &mut made, &[]);
    assert!(Arc::ptr_eq(&for_a, &for_b));
    assert!(!Arc::ptr_eq(&for_a, &for_c));
    let prefixes: Vec<String> = for_a.keys().map(ToString::to_string).collect();
    assert_eq!(prefixes, ["203.0.113.1/32", "2001:db8::1/128"]);
    assert_eq!(made.len(), 2);

    // The next apply with the same desired tables hands the speaker the same table again
    // (which the speaker recognises without comparing 10,000 routes).
    let mut next = Vec::new();
    assert!(Arc::ptr_eq(&speaker_table(&b, &mut next, &made), &for_a));
    // A changed table makes a new one.
    let changed = peer("192.0.2.1", &table(&[]), &v6);
    let for_changed = speaker_table(&changed, &mut next, &made);
    assert!(!Arc::ptr_eq(&for_changed, &for_a));
    assert_eq!(for_changed.len(), 1);
}
