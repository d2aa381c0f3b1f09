//! lb.bpf.c: eTP Cluster traffic to a backend on another node is SNATed to the node IP, so the
//! reply returns through this node and is translated back to VIP → client.
//!
//! These runs have no ingress device, so the FIB lookup that forwards SNATed packets fails:
//! original-direction IPv4 is translated, then dropped as FERRULE_DROP_NO_ROUTE; IPv6 is
//! passed to the stack. lb_snat_forward.rs covers the forwarding itself.

mod support;

use ferrule_bpf_common::{DropReason, LB_BACKEND_F_NODE_LOCAL, LbService};
use support::addrs::{CLIENT4, CLIENT6, NODE4, NODE6, REMOTE4, REMOTE6, VIP4, VIP6};
use support::ip::{Ip, TCP, UDP, hop_limit, ip_packet, parse_and_verify, with_hop_limit};
use support::lb::{Lb, TC_ACT_OK, TC_ACT_SHOT, unforwarded_snat_verdict};

const SERVICE: u32 = 11;
const OTHER_CLIENT4: Ip = Ip::V4([198, 51, 100, 2]);
const PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;

/// A Cluster-policy service whose only backend is on another node (flags 0).
fn lb_with_remote_backend(vip: Ip, backend: Ip, proto: u8) -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, backend, BACKEND_PORT, 0);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(vip, PORT, proto, service);
    lb
}

fn assert_snat_round_trip(vip: Ip, node: Ip, client: Ip, backend: Ip, proto: u8) {
    let mut lb = lb_with_remote_backend(vip, backend, proto);
    lb.set_node_addr(node);

    let original_verdict = unforwarded_snat_verdict(vip);
    let passed = u64::from(original_verdict == TC_ACT_OK);

    let out = lb.run(&ip_packet(proto, client, vip, 40030, PORT));

    assert_eq!(out.verdict, original_verdict);
    let p = parse_and_verify(&out.frame);
    assert_eq!(
        (p.src, p.sport),
        (node, 40030),
        "source is the node, client port kept"
    );
    assert_eq!((p.dst, p.dport), (backend, BACKEND_PORT));

    let reply = lb.run(&ip_packet(proto, backend, node, BACKEND_PORT, 40030));

    assert_eq!(reply.verdict, TC_ACT_OK);
    let r = parse_and_verify(&reply.frame);
    assert_eq!((r.src, r.sport), (vip, PORT), "reply from the VIP");
    assert_eq!((r.dst, r.dport), (client, 40030), "reply to the client");

    let again = lb.run(&ip_packet(proto, client, vip, 40030, PORT));
    assert_eq!(again.verdict, original_verdict);
    let a = parse_and_verify(&again.frame);
    assert_eq!(
        (a.src, a.dst),
        (node, backend),
        "tracked packets SNATed the same"
    );
    let counters = lb.service_counters(SERVICE);
    assert_eq!(
        counters.packets,
        1 + 2 * passed,
        "the reply, and what was passed"
    );
    assert_eq!(counters.drops_for(DropReason::NoRoute), 2 - 2 * passed);
}

#[test]
fn tcp_v4_to_remote_backend_is_snated_to_node_and_back() {
    assert_snat_round_trip(VIP4, NODE4, CLIENT4, REMOTE4, TCP);
}

#[test]
fn udp_v6_to_remote_backend_is_snated_to_node_and_back() {
    assert_snat_round_trip(VIP6, NODE6, CLIENT6, REMOTE6, UDP);
}

#[test]
fn clients_sharing_a_source_port_get_distinct_snat_ports() {
    let mut lb = lb_with_remote_backend(VIP4, REMOTE4, TCP);
    lb.set_node_addr(NODE4);

    let first = parse_and_verify(&lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40031, PORT)).frame);
    let second = parse_and_verify(
        &lb.run(&ip_packet(TCP, OTHER_CLIENT4, VIP4, 40031, PORT))
            .frame,
    );

    assert_eq!(first.sport, 40031);
    assert_ne!(
        second.sport, 40031,
        "port already taken towards this backend"
    );
    assert!(
        (32768..61000).contains(&second.sport),
        "ephemeral range: {}",
        second.sport
    );
    for (sport, client) in [(first.sport, CLIENT4), (second.sport, OTHER_CLIENT4)] {
        let reply = lb.run(&ip_packet(TCP, REMOTE4, NODE4, BACKEND_PORT, sport));
        let r = parse_and_verify(&reply.frame);
        assert_eq!(
            (r.src, r.dst, r.dport),
            (VIP4, client, 40031),
            "reply to its own client"
        );
    }
}

#[test]
fn remote_backend_without_node_address_drops_and_counts() {
    let lb = lb_with_remote_backend(VIP4, REMOTE4, TCP);

    let out = lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40032, PORT));

    assert_eq!(out.verdict, TC_ACT_SHOT);
    assert_eq!(
        lb.service_counters(SERVICE)
            .drops_for(DropReason::NoNodeAddr),
        1
    );
}

/// Forwarding would end the packet's life: dropped before anything is translated or tracked
/// (see forward_snat in lb.bpf.c for why it is not passed instead).
#[test]
fn snat_packets_with_ttl_1_are_dropped_untranslated_and_counted() {
    for (vip, node, client, backend) in [
        (VIP4, NODE4, CLIENT4, REMOTE4),
        (VIP6, NODE6, CLIENT6, REMOTE6),
    ] {
        let mut lb = lb_with_remote_backend(vip, backend, TCP);
        lb.set_node_addr(node);
        let packet = with_hop_limit(&ip_packet(TCP, client, vip, 40033, PORT), 1);

        let out = lb.run(&packet);

        assert_eq!(out.verdict, TC_ACT_SHOT);
        assert_eq!(out.frame, packet, "left untranslated");
        assert_eq!(
            lb.service_counters(SERVICE)
                .drops_for(DropReason::TtlExceeded),
            1
        );
        assert_eq!(
            lb.conntrack.keys().count(),
            0,
            "no flow state or SNAT port taken"
        );
    }
}

#[test]
fn tracked_snat_packet_with_ttl_1_is_dropped_and_counted() {
    let mut lb = lb_with_remote_backend(VIP6, REMOTE6, UDP);
    lb.set_node_addr(NODE6);
    let packet = ip_packet(UDP, CLIENT6, VIP6, 40034, PORT);
    assert_eq!(lb.run(&packet).verdict, TC_ACT_OK, "flow established");

    let out = lb.run(&with_hop_limit(&packet, 1));

    assert_eq!(out.verdict, TC_ACT_SHOT);
    assert_eq!(
        lb.service_counters(SERVICE)
            .drops_for(DropReason::TtlExceeded),
        1
    );
}

/// Without SNAT the stack forwards (or delivers) the packet and applies its own TTL rules.
#[test]
fn ttl_1_to_a_local_backend_is_left_to_the_stack() {
    let mut lb = Lb::load();
    lb.add_backend(1, REMOTE4, BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(VIP4, PORT, TCP, service);

    let out = lb.run(&with_hop_limit(
        &ip_packet(TCP, CLIENT4, VIP4, 40035, PORT),
        1,
    ));

    assert_eq!(out.verdict, TC_ACT_OK);
    assert_eq!(parse_and_verify(&out.frame).dst, REMOTE4);
    assert_eq!(hop_limit(&out.frame), 1, "not decremented here");
}
