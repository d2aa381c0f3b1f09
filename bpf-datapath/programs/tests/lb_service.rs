//! lb.bpf.c: service DNAT with Maglev selection, conntrack and reverse NAT, run in the kernel
//! with BPF_PROG_TEST_RUN on crafted TCP/UDP IPv4/IPv6 frames.

mod support;

use ferrule_bpf_common::{DropReason, LB_BACKEND_F_NODE_LOCAL, LB_SERVICE_F_ETP_LOCAL, LbService};
use support::addrs::{CLIENT4, CLIENT6, VIP4, VIP6};
use support::ip::{Ip, TCP, UDP, ip_packet, parse_and_verify};
use support::lb::{Lb, TC_ACT_OK, TC_ACT_SHOT};

const SERVICE: u32 = 7;
const BACKEND4_A: Ip = Ip::V4([192, 0, 2, 21]);
const BACKEND4_B: Ip = Ip::V4([192, 0, 2, 22]);
const BACKEND6_A: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x21,
]);
const BACKEND6_B: Ip = Ip::V6([
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x30, 0x22,
]);
const PORT: u16 = 80;
/// Backends on this node: no SNAT, so these tests see pure DNAT (SNAT has its own file).
const LOCAL: u8 = LB_BACKEND_F_NODE_LOCAL;
const BACKEND_PORT: u16 = 8080;

fn service(backend_count: u16, flags: u16) -> LbService {
    LbService {
        id: SERVICE,
        backend_count,
        flags,
    }
}

/// One service on `vip:80/proto` with a single node-local backend `backend:8080` (id 1).
fn lb_with_one_backend(vip: Ip, backend: Ip, proto: u8) -> Lb {
    let mut lb = Lb::load();
    lb.add_backend(1, backend, BACKEND_PORT, LOCAL);
    lb.set_maglev_row(SERVICE, &[1]);
    lb.add_frontend(vip, PORT, proto, service(1, 0));
    lb
}

fn assert_dnat(vip: Ip, client: Ip, backend: Ip, proto: u8) {
    let lb = lb_with_one_backend(vip, backend, proto);
    let request = ip_packet(proto, client, vip, 40000, PORT);

    let out = lb.run(&request);

    assert_eq!(out.verdict, TC_ACT_OK);
    assert_eq!(out.frame.len(), request.len());
    let p = parse_and_verify(&out.frame);
    assert_eq!(
        (p.src, p.sport),
        (client, 40000),
        "client IP and port preserved"
    );
    assert_eq!(
        (p.dst, p.dport),
        (backend, BACKEND_PORT),
        "destination is the backend"
    );
    assert_eq!(
        &out.frame[..14],
        &request[..14],
        "Ethernet header untouched"
    );
    let counters = lb.service_counters(SERVICE);
    assert_eq!(counters.packets, 1);
    assert_eq!(counters.bytes, request.len() as u64);
    assert_eq!(lb.program_counters().packets, 1);
}

#[test]
fn tcp_v4_to_vip_is_dnated_to_backend() {
    assert_dnat(VIP4, CLIENT4, BACKEND4_A, TCP);
}

#[test]
fn udp_v4_to_vip_is_dnated_to_backend() {
    assert_dnat(VIP4, CLIENT4, BACKEND4_A, UDP);
}

#[test]
fn tcp_v6_to_vip_is_dnated_to_backend() {
    assert_dnat(VIP6, CLIENT6, BACKEND6_A, TCP);
}

#[test]
fn udp_v6_to_vip_is_dnated_to_backend() {
    assert_dnat(VIP6, CLIENT6, BACKEND6_A, UDP);
}

fn assert_reverse_nat(vip: Ip, client: Ip, backend: Ip, proto: u8) {
    let lb = lb_with_one_backend(vip, backend, proto);
    assert_eq!(
        lb.run(&ip_packet(proto, client, vip, 40001, PORT)).verdict,
        TC_ACT_OK
    );

    let reply = ip_packet(proto, backend, client, BACKEND_PORT, 40001);
    let out = lb.run(&reply);

    assert_eq!(out.verdict, TC_ACT_OK);
    let p = parse_and_verify(&out.frame);
    assert_eq!((p.src, p.sport), (vip, PORT), "reply comes from the VIP");
    assert_eq!(
        (p.dst, p.dport),
        (client, 40001),
        "reply goes to the client"
    );
    assert_eq!(lb.service_counters(SERVICE).packets, 2);
}

#[test]
fn tcp_v4_reply_is_reverse_nated_to_vip() {
    assert_reverse_nat(VIP4, CLIENT4, BACKEND4_A, TCP);
}

#[test]
fn udp_v6_reply_is_reverse_nated_to_vip() {
    assert_reverse_nat(VIP6, CLIENT6, BACKEND6_A, UDP);
}

#[test]
fn udp_v4_without_checksum_keeps_zero_checksum() {
    let lb = lb_with_one_backend(VIP4, BACKEND4_A, UDP);
    let mut request = ip_packet(UDP, CLIENT4, VIP4, 40002, PORT);
    request[40] = 0; // UDP checksum at 14 + 20 + 6: "no checksum"
    request[41] = 0;

    let out = lb.run(&request);

    let p = parse_and_verify(&out.frame);
    assert_eq!(p.dst, BACKEND4_A);
    assert_eq!(p.l4_checksum, 0, "no checksum invented");
}

#[test]
fn established_flow_keeps_its_backend_when_the_table_changes() {
    for (vip, client, a, b) in [
        (VIP4, CLIENT4, BACKEND4_A, BACKEND4_B),
        (VIP6, CLIENT6, BACKEND6_A, BACKEND6_B),
    ] {
        let mut lb = lb_with_one_backend(vip, a, TCP);
        lb.add_backend(2, b, BACKEND_PORT, LOCAL);
        let first = ip_packet(TCP, client, vip, 40003, PORT);
        assert_eq!(parse_and_verify(&lb.run(&first).frame).dst, a);

        lb.set_maglev_row(SERVICE, &[2]);

        assert_eq!(
            parse_and_verify(&lb.run(&first).frame).dst,
            a,
            "tracked flow stays"
        );
        let new_flow = ip_packet(TCP, client, vip, 40004, PORT);
        assert_eq!(
            parse_and_verify(&lb.run(&new_flow).frame).dst,
            b,
            "new flow uses table"
        );
    }
}

#[test]
fn flows_spread_over_backends_and_each_flow_is_stable() {
    let mut lb = lb_with_one_backend(VIP4, BACKEND4_A, TCP);
    lb.add_backend(2, BACKEND4_B, BACKEND_PORT, LOCAL);
    lb.set_maglev_row(SERVICE, &[1, 2]);
    lb.add_frontend(VIP4, PORT, TCP, service(2, 0));
    let mut seen = std::collections::BTreeSet::new();
    for sport in 41000..41064 {
        let frame = ip_packet(TCP, CLIENT4, VIP4, sport, PORT);
        let first = parse_and_verify(&lb.run(&frame).frame).dst;
        assert_eq!(
            parse_and_verify(&lb.run(&frame).frame).dst,
            first,
            "flow is sticky"
        );
        seen.insert(format!("{first:?}"));
    }
    assert_eq!(seen.len(), 2, "64 flows reach both backends: {seen:?}");
}

#[test]
fn service_without_backends_drops_and_counts() {
    let mut lb = Lb::load();
    lb.add_frontend(VIP4, PORT, TCP, service(0, 0));

    let out = lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40005, PORT));

    assert_eq!(out.verdict, TC_ACT_SHOT);
    assert_eq!(
        lb.service_counters(SERVICE)
            .drops_for(DropReason::NoBackend),
        1
    );
    assert_eq!(lb.program_counters().drops_for(DropReason::NoBackend), 1);
}

#[test]
fn local_policy_drops_without_a_local_backend_and_keeps_client_ip_with_one() {
    let mut lb = Lb::load();
    lb.add_frontend(VIP4, PORT, TCP, service(0, LB_SERVICE_F_ETP_LOCAL));
    let out = lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40006, PORT));
    assert_eq!(out.verdict, TC_ACT_SHOT);
    assert_eq!(
        lb.service_counters(SERVICE)
            .drops_for(DropReason::NoLocalBackend),
        1
    );

    // A stale table pointing at a remote backend is refused too.
    lb.add_backend(1, BACKEND4_A, BACKEND_PORT, 0);
    lb.set_maglev_row(SERVICE, &[1]);
    lb.add_frontend(VIP4, PORT, TCP, service(1, LB_SERVICE_F_ETP_LOCAL));
    let out = lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40007, PORT));
    assert_eq!(out.verdict, TC_ACT_SHOT);
    assert_eq!(
        lb.service_counters(SERVICE)
            .drops_for(DropReason::NoLocalBackend),
        2
    );

    lb.add_backend(1, BACKEND4_A, BACKEND_PORT, LB_BACKEND_F_NODE_LOCAL);
    let out = lb.run(&ip_packet(TCP, CLIENT4, VIP4, 40008, PORT));
    assert_eq!(out.verdict, TC_ACT_OK);
    let p = parse_and_verify(&out.frame);
    assert_eq!((p.src, p.dst), (CLIENT4, BACKEND4_A), "client IP preserved");
}

fn assert_passed_untouched(lb: &Lb, frame: &[u8], why: &str) {
    let out = lb.run(frame);
    assert_eq!(out.verdict, TC_ACT_OK, "{why}: passed");
    assert_eq!(out.frame, frame, "{why}: frame unchanged");
}

#[test]
fn traffic_not_for_a_frontend_passes_unchanged() {
    let lb = lb_with_one_backend(VIP4, BACKEND4_A, TCP);
    assert_passed_untouched(
        &lb,
        &ip_packet(TCP, CLIENT4, BACKEND4_B, 40009, PORT),
        "other IP",
    );
    assert_passed_untouched(
        &lb,
        &ip_packet(TCP, CLIENT4, VIP4, 40009, 443),
        "other port",
    );
    assert_passed_untouched(
        &lb,
        &ip_packet(UDP, CLIENT4, VIP4, 40009, PORT),
        "other proto",
    );
    assert_passed_untouched(
        &lb,
        &ip_packet(TCP, CLIENT6, VIP6, 40009, PORT),
        "other family",
    );
    assert_eq!(lb.program_counters().packets, 0);
}

#[test]
fn truncation_vlan_and_non_ip_pass() {
    let mut lb = lb_with_one_backend(VIP4, BACKEND4_A, TCP);
    lb.add_backend(2, BACKEND6_A, BACKEND_PORT, LOCAL);
    lb.set_maglev_row(SERVICE + 1, &[2]);
    lb.add_frontend(
        VIP6,
        PORT,
        TCP,
        LbService {
            id: SERVICE + 1,
            backend_count: 1,
            flags: 0,
        },
    );

    // Fragments and IPv6 extension headers: lb_fragments.rs and lb_ipv6_ext.rs.
    let v4 = ip_packet(TCP, CLIENT4, VIP4, 40010, PORT);
    let v6 = ip_packet(TCP, CLIENT6, VIP6, 40010, PORT);

    // Truncated L4 headers at every length. The skb test run of this kernel (6.18) refuses
    // frames whose fixed IP header itself is cut (EINVAL before the program runs), so those
    // lengths are covered by parse_flow's bounds checks and the verifier, not by a run.
    for len in 34..(14 + 20 + 20) {
        assert_passed_untouched(&lb, &v4[..len], &format!("IPv4 TCP truncated to {len}"));
    }
    for len in 54..(14 + 40 + 20) {
        assert_passed_untouched(&lb, &v6[..len], &format!("IPv6 TCP truncated to {len}"));
    }

    let mut tagged = v4[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    tagged.extend_from_slice(&v4[12..]);
    assert_passed_untouched(&lb, &tagged, "802.1Q tagged");

    let mut arp = v4.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_passed_untouched(&lb, &arp, "non-IP ethertype");
    assert_eq!(lb.program_counters().packets, 0);
}

#[test]
fn ipv4_with_options_is_dnated_at_the_right_l4_offset() {
    let lb = lb_with_one_backend(VIP4, BACKEND4_A, TCP);
    let plain = ip_packet(TCP, CLIENT4, VIP4, 40011, PORT);
    // IHL 6: four NOP options after the fixed header; the L4 checksum does not cover them.
    let mut frame = plain[..34].to_vec();
    frame.extend_from_slice(&[1, 1, 1, 1]);
    frame.extend_from_slice(&plain[34..]);
    frame[14] = 0x46;
    let total = u16::from_be_bytes([frame[16], frame[17]]) + 4;
    frame[16..18].copy_from_slice(&total.to_be_bytes());
    frame[24..26].copy_from_slice(&[0, 0]);
    let csum = support::ip::header_checksum(&frame[14..38]);
    frame[24..26].copy_from_slice(&csum.to_be_bytes());

    let out = lb.run(&frame);

    assert_eq!(out.verdict, TC_ACT_OK);
    assert_eq!(&out.frame[34..38], &[1, 1, 1, 1], "options untouched");
    let (dst, dport) = (&out.frame[30..34], &out.frame[40..42]);
    assert_eq!(dst, BACKEND4_A.bytes());
    assert_eq!(dport, &BACKEND_PORT.to_be_bytes());
    assert_eq!(
        support::ip::header_checksum(&out.frame[14..38]),
        0,
        "header checksum"
    );
    let tcp = &out.frame[38..];
    assert_eq!(
        support::ip::l4_checksum(&CLIENT4, &BACKEND4_A, TCP, tcp),
        0,
        "TCP checksum"
    );
}
