//! lb.bpf.c: SNATed packets are forwarded by the program itself (FIB lookup, TTL decrement,
//! redirect to the egress device), because IPv4 input routing would drop a packet whose source
//! is a node address as a martian. When the FIB cannot forward, IPv4 is dropped and counted and
//! IPv6 is left to the stack.
//!
//! Each test builds a namespace whose routes and forwarding sysctls decide the FIB lookup's
//! answer, then re-runs this binary inside it (`in_namespace`), where the test runs happen.

mod support;

use ferrule_bpf_common::{DropReason, LbService};
use support::addrs::{CLIENT4, CLIENT6, NODE4, NODE6, REMOTE4, REMOTE6, VIP4, VIP6};
use support::ip::{Ip, TCP, UDP, hop_limit, ip_packet, parse_and_verify};
use support::lb::{Lb, TC_ACT_OK, TC_ACT_REDIRECT, TC_ACT_SHOT};
use support::netns::{Netns, SCENARIO_ENV, ifindex};

const SERVICE: u32 = 12;
const PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;
/// The device client packets arrive on; the backends are behind `out0`.
const INGRESS: &str = "in0";
const EGRESS: &str = "out0";
const CHILD_TEST: &str = "in_namespace";

/// A node with an ingress and an egress device (veths whose peers stay in the namespace: the
/// test run never transmits). `backends_routed`: the egress device holds the node addresses,
/// so the backends are on a connected route; otherwise nothing routes to them.
fn node(tag: &str, backends_routed: bool, forwarding: bool) -> Netns {
    let ns = Netns::new(tag);
    for dev in [INGRESS, EGRESS] {
        let peer = format!("{dev}p");
        ns.ip(&["link", "add", dev, "type", "veth", "peer", "name", &peer])
            .ip(&["link", "set", dev, "up"])
            .ip(&["link", "set", &peer, "up"]);
    }
    ns.ip(&["addr", "add", "198.51.100.254/24", "dev", INGRESS]);
    if backends_routed {
        ns.ip(&["addr", "add", "192.0.2.1/24", "dev", EGRESS]).ip(&[
            "addr",
            "add",
            "2001:db8::1/64",
            "dev",
            EGRESS,
            "nodad",
        ]);
    }
    let on = u8::from(forwarding);
    ns.sysctl(&format!("net.ipv4.ip_forward={on}"))
        .sysctl(&format!("net.ipv6.conf.all.forwarding={on}"));
    ns
}

fn lb_with_remote_backend(vip: Ip, node: Ip, backend: Ip, proto: u8) -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, backend, BACKEND_PORT, 0);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(vip, PORT, proto, service);
    lb.set_node_addr(node);
    lb
}

#[test]
fn snated_packets_are_redirected_towards_the_backend_with_one_hop_less() {
    node("fwd", true, true).run_child(CHILD_TEST, "forwarded");
}

#[test]
fn without_a_route_to_the_backend_ipv4_is_dropped_and_counted_and_ipv6_passed() {
    node("noroute", false, true).run_child(CHILD_TEST, "not_forwarded");
}

#[test]
fn with_forwarding_disabled_ipv4_is_dropped_and_counted_and_ipv6_passed() {
    node("nofwd", true, false).run_child(CHILD_TEST, "not_forwarded");
}

fn forwarded(vip: Ip, node: Ip, client: Ip, backend: Ip, proto: u8) {
    let lb = lb_with_remote_backend(vip, node, backend, proto);
    let ingress = ifindex(INGRESS);

    for packet in ["new flow", "tracked flow"] {
        let out = lb.run_from(&ip_packet(proto, client, vip, 40040, PORT), ingress);

        assert_eq!(out.verdict, TC_ACT_REDIRECT, "{packet}: redirected");
        let p = parse_and_verify(&out.frame);
        assert_eq!((p.src, p.sport), (node, 40040), "{packet}: SNATed");
        assert_eq!(
            (p.dst, p.dport),
            (backend, BACKEND_PORT),
            "{packet}: DNATed"
        );
        assert_eq!(
            hop_limit(&out.frame),
            63,
            "{packet}: forwarding costs a hop"
        );
    }

    let reply = lb.run_from(
        &ip_packet(proto, backend, node, BACKEND_PORT, 40040),
        ingress,
    );
    assert_eq!(
        reply.verdict, TC_ACT_OK,
        "replies go to the stack, to the client"
    );
    let r = parse_and_verify(&reply.frame);
    assert_eq!((r.src, r.dst), (vip, client));
    assert_eq!(
        hop_limit(&reply.frame),
        64,
        "the stack decrements replies itself"
    );

    let counters = lb.service_counters(SERVICE);
    assert_eq!(counters.packets, 3);
    assert_eq!(
        counters.drops,
        [0; ferrule_bpf_common::FERRULE_DROP_REASONS]
    );
}

fn not_forwarded() {
    let ingress = ifindex(INGRESS);

    let lb4 = lb_with_remote_backend(VIP4, NODE4, REMOTE4, TCP);
    let out = lb4.run_from(&ip_packet(TCP, CLIENT4, VIP4, 40041, PORT), ingress);
    assert_eq!(
        out.verdict, TC_ACT_SHOT,
        "IPv4: the stack would drop it as a martian anyway"
    );
    assert_eq!(
        lb4.service_counters(SERVICE).drops_for(DropReason::NoRoute),
        1
    );
    assert_eq!(
        lb4.program_counters().drops_for(DropReason::NoRoute),
        1,
        "counted on the program too"
    );

    let lb6 = lb_with_remote_backend(VIP6, NODE6, REMOTE6, UDP);
    let out = lb6.run_from(&ip_packet(UDP, CLIENT6, VIP6, 40041, PORT), ingress);
    assert_eq!(out.verdict, TC_ACT_OK, "IPv6: left to the stack");
    let p = parse_and_verify(&out.frame);
    assert_eq!((p.src, p.dst), (NODE6, REMOTE6), "translated as before");
    assert_eq!(
        hop_limit(&out.frame),
        64,
        "the stack decrements it if it forwards"
    );
    let counters = lb6.service_counters(SERVICE);
    assert_eq!(
        (counters.packets, counters.drops_for(DropReason::NoRoute)),
        (1, 0)
    );
}

/// The child side of the tests above, run inside their namespace.
#[test]
#[ignore = "runs only as a child process of the tests above, inside their namespace"]
fn in_namespace() {
    match std::env::var(SCENARIO_ENV).as_deref() {
        Ok("forwarded") => {
            forwarded(VIP4, NODE4, CLIENT4, REMOTE4, TCP);
            forwarded(VIP6, NODE6, CLIENT6, REMOTE6, UDP);
        }
        Ok("not_forwarded") => not_forwarded(),
        other => panic!("unknown scenario {other:?}"),
    }
}
