//! lb.bpf.c: ICMP errors about SNATed flows (eTP Cluster, backend on another node). The
//! backend only knows node:snat_port, the client only VIP:port; each side's errors must be
//! translated into the other's view, quoted packet and outer header alike.

mod support;

use ferrule_bpf_common::LbService;
use support::addrs::{CLIENT4, CLIENT6, NODE4, NODE6, REMOTE4, REMOTE6, VIP4, VIP6};
use support::ip::{
    Ip, ParsedIcmpError, TCP, UDP, icmp_error, icmp_too_big, ip_packet, parse_and_verify,
    parse_icmp_error,
};
use support::lb::{Lb, TC_ACT_OK, unforwarded_snat_verdict};

const SERVICE: u32 = 13;
const DECOY4: Ip = Ip::V4([198, 51, 100, 2]);
const ROUTER4: Ip = Ip::V4([192, 0, 2, 254]);
const DECOY6: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x02,
]);
const PORT: u16 = 443;
const BACKEND_PORT: u16 = 8443;
const CLIENT_PORT: u16 = 40600;

/// A SNATed flow: the lb, and the client's first packet as it left towards the backend.
struct Snated {
    lb: Lb,
    to_backend: Vec<u8>,
    snat_port: u16,
}

/// Cluster-policy service with one remote backend. Another client first takes CLIENT_PORT
/// towards the backend, so the flow under test gets a SNAT port different from the client's
/// and a translation that forgets the port would show.
fn snated_flow(vip: Ip, node: Ip, client: Ip, decoy: Ip, backend: Ip, proto: u8) -> Snated {
    let mut lb = Lb::load();
    lb.set_node_addr(node);
    lb.add_backend(1, backend, BACKEND_PORT, 0);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(vip, PORT, proto, service);
    // No ingress device in these runs: translated, then not forwarded (see support::lb).
    assert_eq!(
        lb.run(&ip_packet(proto, decoy, vip, CLIENT_PORT, PORT))
            .verdict,
        unforwarded_snat_verdict(vip)
    );

    let out = lb.run(&ip_packet(proto, client, vip, CLIENT_PORT, PORT));

    assert_eq!(out.verdict, unforwarded_snat_verdict(vip));
    let p = parse_and_verify(&out.frame);
    assert_eq!((p.src, p.dst), (node, backend), "flow is SNATed");
    assert_ne!(p.sport, CLIENT_PORT, "SNAT port differs from the client's");
    Snated {
        lb,
        snat_port: p.sport,
        to_backend: out.frame,
    }
}

/// The ICMP type, code and rest-of-header of a frame made by the support builders.
fn icmp_header(frame: &[u8]) -> &[u8] {
    let at = if frame[12..14] == [0x08, 0x00] {
        34
    } else {
        54
    };
    &frame[at..at + 8]
}

fn assert_too_big_from_backend_reaches_client(
    vip: Ip,
    node: Ip,
    client: Ip,
    decoy: Ip,
    backend: Ip,
) {
    let flow = snated_flow(vip, node, client, decoy, backend, TCP);
    let error = icmp_too_big(backend, node, &flow.to_backend[14..], 1400);

    let out = flow.lb.run(&error);

    assert_eq!(out.verdict, TC_ACT_OK);
    assert_eq!(out.frame.len(), error.len());
    let expected = ParsedIcmpError {
        src: vip,
        dst: client,
        quoted_src: client,
        quoted_dst: vip,
        quoted_sport: CLIENT_PORT,
        quoted_dport: PORT,
    };
    // parse_icmp_error asserts the outer and quoted IPv4 header checksums and the ICMP
    // checksum (ICMPv6: over the new pseudo-header).
    assert_eq!(parse_icmp_error(&out.frame), expected);
    let header = icmp_header(&out.frame);
    assert_eq!(
        (&header[..2], &header[4..]),
        (&icmp_header(&error)[..2], &icmp_header(&error)[4..]),
        "type, code and MTU unchanged"
    );
    // The two flows' packets count when passed; unforwarded IPv4 counts as a drop instead.
    let passed_flows = if unforwarded_snat_verdict(vip) == TC_ACT_OK {
        2
    } else {
        0
    };
    assert_eq!(
        flow.lb.service_counters(SERVICE).packets,
        1 + passed_flows,
        "the error, and the flows if passed"
    );
}

#[test]
fn fragmentation_needed_v4_from_backend_about_snated_flow_reaches_client_from_vip() {
    assert_too_big_from_backend_reaches_client(VIP4, NODE4, CLIENT4, DECOY4, REMOTE4);
}

#[test]
fn packet_too_big_v6_from_backend_about_snated_flow_reaches_client_from_vip() {
    assert_too_big_from_backend_reaches_client(VIP6, NODE6, CLIENT6, DECOY6, REMOTE6);
}

#[test]
fn error_from_a_router_on_the_backend_path_keeps_its_source() {
    let flow = snated_flow(VIP4, NODE4, CLIENT4, DECOY4, REMOTE4, UDP);

    let out = flow
        .lb
        .run(&icmp_error(ROUTER4, NODE4, &flow.to_backend[14..]));

    let p = parse_icmp_error(&out.frame);
    assert_eq!((p.src, p.dst), (ROUTER4, CLIENT4), "on to the client");
    assert_eq!(
        (p.quoted_src, p.quoted_sport, p.quoted_dst, p.quoted_dport),
        (CLIENT4, CLIENT_PORT, VIP4, PORT)
    );
}

fn assert_error_from_client_reaches_backend_from_node(
    vip: Ip,
    node: Ip,
    client: Ip,
    decoy: Ip,
    backend: Ip,
) {
    let flow = snated_flow(vip, node, client, decoy, backend, UDP);
    let reply = flow
        .lb
        .run(&ip_packet(UDP, backend, node, BACKEND_PORT, flow.snat_port));
    let r = parse_and_verify(&reply.frame);
    assert_eq!((r.src, r.dst, r.dport), (vip, client, CLIENT_PORT));

    // The client's host has no socket any more and says so to the VIP.
    let out = flow.lb.run(&icmp_error(client, vip, &reply.frame[14..]));

    assert_eq!(out.verdict, TC_ACT_OK);
    let expected = ParsedIcmpError {
        src: node,
        dst: backend,
        quoted_src: backend,
        quoted_dst: node,
        quoted_sport: BACKEND_PORT,
        quoted_dport: flow.snat_port,
    };
    assert_eq!(parse_icmp_error(&out.frame), expected);
}

#[test]
fn error_from_client_about_snated_reply_v4_reaches_backend_from_node() {
    assert_error_from_client_reaches_backend_from_node(VIP4, NODE4, CLIENT4, DECOY4, REMOTE4);
}

#[test]
fn error_from_client_about_snated_reply_v6_reaches_backend_from_node() {
    assert_error_from_client_reaches_backend_from_node(VIP6, NODE6, CLIENT6, DECOY6, REMOTE6);
}
