//! lb.bpf.c: ICMP errors about tracked flows are translated so they reach the right socket;
//! anything else ICMP passes untouched.

mod support;

use ferrule_bpf_common::{LB_BACKEND_F_NODE_LOCAL, LbService};
use support::addrs::{CLIENT4, CLIENT6, VIP4, VIP6};
use support::ip::{
    Ip, ParsedIcmpError, TCP, UDP, icmp_error, ip_frame, ip_packet, parse_and_verify,
    parse_icmp_error,
};
use support::lb::{Lb, TC_ACT_OK};

const SERVICE: u32 = 3;
const ROUTER4: Ip = Ip::V4([198, 51, 100, 254]);
const BACKEND4: Ip = Ip::V4([192, 0, 2, 21]);
const BACKEND6: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x21,
]);
const PORT: u16 = 53;
const BACKEND_PORT: u16 = 5353;
const CLIENT_PORT: u16 = 40020;

fn lb(vip: Ip, backend: Ip, proto: u8) -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, backend, BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    lb.set_maglev_row(SERVICE, &[1]);
    let service = LbService {
        id: SERVICE,
        backend_count: 1,
        flags: 0,
    };
    lb.add_frontend(vip, PORT, proto, service);
    lb
}

/// Sends client→VIP through the program and returns the DNATed frame (as the backend sees it).
fn establish(lb: &Lb, client: Ip, vip: Ip, proto: u8) -> Vec<u8> {
    let out = lb.run(&ip_packet(proto, client, vip, CLIENT_PORT, PORT));
    assert_eq!(out.verdict, TC_ACT_OK);
    out.frame
}

fn assert_error_from_backend_is_translated(vip: Ip, client: Ip, backend: Ip, proto: u8) {
    let lb = lb(vip, backend, proto);
    let dnated = establish(&lb, client, vip, proto);

    let out = lb.run(&icmp_error(backend, client, &dnated[14..]));

    assert_eq!(out.verdict, TC_ACT_OK);
    let expected = ParsedIcmpError {
        src: vip,
        dst: client,
        quoted_src: client,
        quoted_dst: vip,
        quoted_sport: CLIENT_PORT,
        quoted_dport: PORT,
    };
    assert_eq!(parse_icmp_error(&out.frame), expected);
    assert_eq!(
        lb.service_counters(SERVICE).packets,
        2,
        "error counted for the service"
    );
}

#[test]
fn icmp_v4_error_from_backend_reaches_client_as_from_vip() {
    assert_error_from_backend_is_translated(VIP4, CLIENT4, BACKEND4, UDP);
}

#[test]
fn icmp_v6_error_from_backend_reaches_client_as_from_vip() {
    assert_error_from_backend_is_translated(VIP6, CLIENT6, BACKEND6, TCP);
}

#[test]
fn icmp_error_from_a_router_keeps_its_source_and_translates_the_quote() {
    let lb = lb(VIP4, BACKEND4, UDP);
    let dnated = establish(&lb, CLIENT4, VIP4, UDP);

    let out = lb.run(&icmp_error(ROUTER4, CLIENT4, &dnated[14..]));

    let p = parse_icmp_error(&out.frame);
    assert_eq!(
        (p.src, p.dst),
        (ROUTER4, CLIENT4),
        "outer header is the router's"
    );
    assert_eq!(
        (p.quoted_dst, p.quoted_dport),
        (VIP4, PORT),
        "quote shows the VIP"
    );
}

#[test]
fn icmp_error_about_a_reply_reaches_the_backend() {
    let lb = lb(VIP4, BACKEND4, UDP);
    establish(&lb, CLIENT4, VIP4, UDP);
    let reply = lb.run(&ip_packet(
        UDP,
        BACKEND4,
        CLIENT4,
        BACKEND_PORT,
        CLIENT_PORT,
    ));
    let reverse_nated = parse_and_verify(&reply.frame);
    assert_eq!(reverse_nated.src, VIP4);

    // The client's side answers the VIP-sourced reply with an error addressed to the VIP.
    let out = lb.run(&icmp_error(ROUTER4, VIP4, &reply.frame[14..]));

    let expected = ParsedIcmpError {
        src: ROUTER4,
        dst: BACKEND4,
        quoted_src: BACKEND4,
        quoted_dst: CLIENT4,
        quoted_sport: BACKEND_PORT,
        quoted_dport: CLIENT_PORT,
    };
    assert_eq!(parse_icmp_error(&out.frame), expected);
}

#[test]
fn icmp_not_about_a_tracked_flow_passes_unchanged() {
    let lb = lb(VIP4, BACKEND4, UDP);
    let untracked = ip_packet(UDP, CLIENT4, BACKEND4, 1234, BACKEND_PORT);
    let error = icmp_error(BACKEND4, CLIENT4, &untracked[14..]);
    assert_eq!(lb.run(&error).frame, error, "error about an unknown flow");

    let mut echo = vec![8, 0, 0, 0, 0, 1, 0, 1];
    let csum = support::ip::icmp_checksum(&CLIENT4, &VIP4, &echo);
    echo[2..4].copy_from_slice(&csum.to_be_bytes());
    let ping = ip_frame(support::ip::ICMP, CLIENT4, VIP4, &echo);
    let out = lb.run(&ping);
    assert_eq!(
        (out.verdict, out.frame),
        (TC_ACT_OK, ping),
        "echo request to the VIP"
    );
    assert_eq!(lb.program_counters().packets, 0);
}
