use std::net::IpAddr;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test addresses parse")
}

#[test]
fn frontends_round_trip_with_port_in_network_order() {
    for (addr, protocol) in [
        ("192.0.2.10", Protocol::Tcp),
        ("2001:db8::10", Protocol::Udp),
    ] {
        let f = Frontend {
            addr: ip(addr),
            port: 0x1f90,
            protocol,
        };
        let key = frontend_key(&f);
        assert_eq!(
            key.port.to_ne_bytes(),
            [0x1f, 0x90],
            "port is big-endian in memory"
        );
        assert_eq!(frontend_from_key(&key), Ok(f));
    }
}

#[test]
fn ipv4_sits_in_the_first_four_bytes_with_zeros_after() {
    let key = frontend_key(&Frontend {
        addr: ip("192.0.2.10"),
        port: 80,
        protocol: Protocol::Tcp,
    });
    assert_eq!(key.family, FERRULE_AF_INET);
    assert_eq!(key.proto, 6);
    assert_eq!(key.ip, [192, 0, 2, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn service_entries_round_trip_and_carry_the_local_flag() {
    for policy in [TrafficPolicy::Cluster, TrafficPolicy::Local] {
        let e = ServiceEntry {
            id: ServiceId(7),
            policy,
            backend_count: 3,
        };
        let v = service_value(&e).expect("fits");
        assert_eq!(
            v.flags & LB_SERVICE_F_ETP_LOCAL != 0,
            policy == TrafficPolicy::Local
        );
        assert_eq!(service_from_value(&v), e);
    }
    let too_many = ServiceEntry {
        id: ServiceId(1),
        policy: TrafficPolicy::Cluster,
        backend_count: 70_000,
    };
    assert_eq!(
        service_value(&too_many),
        Err(AbiError::BackendCount(70_000))
    );
}

#[test]
fn backends_round_trip_and_local_means_the_node_local_flag() {
    for (addr, remote) in [("10.0.0.1", false), ("2001:db8:1::1", true)] {
        let b = Backend {
            addr: BackendAddr {
                addr: ip(addr),
                port: 8080,
            },
            remote,
        };
        let v = backend_value(&b);
        assert_eq!(v.flags & LB_BACKEND_F_NODE_LOCAL != 0, !remote);
        assert_eq!(backend_from_value(&v), Ok(b));
    }
}

#[test]
fn responder_keys_match_the_common_constructors() {
    let k = ResponderKey {
        ifindex: 3,
        addr: ip("192.0.2.1"),
    };
    assert_eq!(responder_key(&k), L2ResponderKey::ipv4(3, [192, 0, 2, 1]));
    assert_eq!(responder_from_key(&responder_key(&k)), Ok(k));
}

#[test]
fn undecodable_entries_are_errors_not_guesses() {
    let mut key = frontend_key(&Frontend {
        addr: ip("192.0.2.10"),
        port: 80,
        protocol: Protocol::Tcp,
    });
    key.proto = 132;
    assert_eq!(frontend_from_key(&key), Err(AbiError::Protocol(132)));
    key.family = 99;
    assert_eq!(frontend_from_key(&key), Err(AbiError::Family(99)));
}

#[test]
fn service_counters_sum_cpus_and_drop_reasons() {
    let mut a = FerruleCounters {
        packets: 2,
        bytes: 100,
        ..FerruleCounters::default()
    };
    a.drops[1] = 1;
    let mut b = FerruleCounters {
        packets: 3,
        bytes: 50,
        ..FerruleCounters::default()
    };
    b.drops[2] = 4;
    assert_eq!(
        service_counters([&a, &b]),
        ServiceCounters {
            packets: 5,
            bytes: 150,
            drops: DropCounts([0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        }
    );
    assert_eq!(service_counters([&a, &b]).drops.total(), 5);
    assert_eq!(
        serde_json::to_value(service_counters([&a, &b]).drops).expect("json"),
        serde_json::json!({"no_backend": 1, "no_local_backend": 4})
    );
}
