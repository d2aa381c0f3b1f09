//! lb.bpf.c: IPv6 TCP/UDP behind extension headers is balanced; chains the program cannot
//! walk (too long, truncated, encrypted or authenticated, still being source-routed) pass
//! untouched.

mod support;

use ferrule_bpf_common::{LB_BACKEND_F_NODE_LOCAL, LbService};
use support::ext::{
    AH, DEST_OPTS, ESP, HOP_BY_HOP, NO_NEXT_HEADER, ROUTING, ipv6_chain, options_header,
    routing_header,
};
use support::ip::{Ip, TCP, UDP, l4_checksum, l4_segment};
use support::lb::{Lb, TC_ACT_OK};

const SERVICE: u32 = 9;
const VIP: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x0a,
];
const CLIENT: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x01,
];
const BACKEND: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x21,
];
const PORT: u16 = 80;
const BACKEND_PORT: u16 = 8080;

/// One node-local backend behind `VIP:80` for both TCP and UDP.
fn lb() -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, Ip::V6(BACKEND), BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(Ip::V6(VIP), PORT, TCP, service);
    lb.add_frontend(Ip::V6(VIP), PORT, UDP, service);
    lb
}

fn request(proto: u8, headers: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let l4 = l4_segment(
        proto,
        &Ip::V6(CLIENT),
        &Ip::V6(VIP),
        40500,
        PORT,
        b"ferrule",
    );
    ipv6_chain(CLIENT, VIP, headers, proto, &l4)
}

/// Asserts `frame` (with `headers_len` bytes of extension headers) was DNATed to the backend
/// with the headers untouched and a verifying L4 checksum.
fn assert_reaches_backend(lb: &Lb, frame: &[u8], proto: u8, headers_len: usize, what: &str) {
    let out = lb.run(frame);

    assert_eq!(out.verdict, TC_ACT_OK, "{what}");
    assert_eq!(out.frame.len(), frame.len(), "{what}");
    assert_eq!(
        &out.frame[..38],
        &frame[..38],
        "{what}: up to the source kept"
    );
    assert_eq!(
        &out.frame[38..54],
        &BACKEND,
        "{what}: destination is the backend"
    );
    let l4_at = 54 + headers_len;
    assert_eq!(
        &out.frame[54..l4_at],
        &frame[54..l4_at],
        "{what}: extension headers untouched"
    );
    let l4 = &out.frame[l4_at..];
    assert_eq!(&l4[..2], &40500u16.to_be_bytes(), "{what}: source port");
    assert_eq!(
        &l4[2..4],
        &BACKEND_PORT.to_be_bytes(),
        "{what}: backend port"
    );
    assert_eq!(
        l4_checksum(&Ip::V6(CLIENT), &Ip::V6(BACKEND), proto, l4),
        0,
        "{what}: L4 checksum verifies over the rewritten pseudo-header"
    );
}

fn assert_passed_untouched(lb: &Lb, frame: &[u8], what: &str) {
    let out = lb.run(frame);
    assert_eq!(out.verdict, TC_ACT_OK, "{what}: passed");
    assert_eq!(out.frame, frame, "{what}: unchanged");
}

#[test]
fn udp_and_tcp_behind_hop_by_hop_and_destination_options_reach_the_backend() {
    let lb = lb();
    let headers = [
        (HOP_BY_HOP, options_header(0)),
        (DEST_OPTS, options_header(1)),
    ];
    for proto in [UDP, TCP] {
        let frame = request(proto, &headers);
        assert_reaches_backend(&lb, &frame, proto, 8 + 16, &format!("proto {proto}"));
    }
    assert_eq!(lb.service_counters(SERVICE).packets, 2);
}

#[test]
fn four_extension_headers_are_walked_and_a_fifth_is_too_many() {
    let lb = lb();
    let mut headers = vec![(HOP_BY_HOP, options_header(0))];
    headers.extend((0..3).map(|_| (DEST_OPTS, options_header(0))));
    assert_reaches_backend(&lb, &request(UDP, &headers), UDP, 32, "four headers");

    headers.push((DEST_OPTS, options_header(0)));
    assert_passed_untouched(&lb, &request(UDP, &headers), "five headers");
    assert_eq!(lb.service_counters(SERVICE).packets, 1);
}

#[test]
fn routing_header_is_walked_only_once_its_segments_are_done() {
    let lb = lb();
    let done = request(TCP, &[(ROUTING, routing_header(0, CLIENT))]);
    assert_reaches_backend(&lb, &done, TCP, 24, "segments left 0: the VIP is final");

    // With segments left the destination is a waypoint and the L4 checksum covers the final
    // address: not ours to rewrite.
    let en_route = request(TCP, &[(ROUTING, routing_header(1, BACKEND))]);
    assert_passed_untouched(&lb, &en_route, "segments left 1");
}

#[test]
fn truncated_chains_esp_ah_and_no_next_header_pass_untouched() {
    let lb = lb();
    let headers = [
        (HOP_BY_HOP, options_header(0)),
        (DEST_OPTS, options_header(2)),
    ];
    let full = request(UDP, &headers);
    // Cut inside the hop-by-hop header, inside destination options, and inside UDP.
    for len in [56, 62, 66, 80, 54 + 32 + 4] {
        assert_passed_untouched(&lb, &full[..len], &format!("truncated to {len}"));
    }
    // A destination options length running past the end of the packet.
    let mut overlong = request(UDP, &[(DEST_OPTS, options_header(0))]);
    overlong[54 + 1] = 200;
    assert_passed_untouched(&lb, &overlong, "header length past the end");

    let l4 = l4_segment(UDP, &Ip::V6(CLIENT), &Ip::V6(VIP), 40500, PORT, b"ferrule");
    for (proto, what) in [(ESP, "ESP"), (AH, "AH"), (NO_NEXT_HEADER, "no next header")] {
        let frame = ipv6_chain(CLIENT, VIP, &[(DEST_OPTS, options_header(0))], proto, &l4);
        assert_passed_untouched(&lb, &frame, what);
        assert_passed_untouched(&lb, &ipv6_chain(CLIENT, VIP, &[], proto, &l4), what);
    }
    assert_eq!(lb.program_counters().packets, 0, "nothing translated");
}
