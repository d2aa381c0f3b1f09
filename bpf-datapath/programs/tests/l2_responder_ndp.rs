//! l2_responder, IPv6: Neighbor Solicitations in, Neighbor Advertisements (or untouched
//! frames) out, run in the kernel with BPF_PROG_TEST_RUN.

mod support;

use ferrule_bpf_common::L2ResponderKey;
use support::packets::*;
use support::{L2Responder, XDP_PASS, XDP_TX, loopback_ifindex};

const NA_LEN: usize = 14 + 40 + 32;

fn responder_for_vip6() -> (L2Responder, L2ResponderKey) {
    let mut r = L2Responder::load();
    let key = L2ResponderKey::ipv6(loopback_ifindex(), VIP6);
    r.answer(key);
    r.set_mac(loopback_ifindex(), IFACE_MAC);
    (r, key)
}

/// The NA we expect byte for byte, built independently of the program (RFC 4861 4.4).
fn expected_na(eth_dst: [u8; 6], ip_dst: [u8; 16], flags: u8) -> Vec<u8> {
    let mut icmp = vec![136, 0, 0, 0, flags, 0, 0, 0];
    icmp.extend_from_slice(&VIP6);
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&IFACE_MAC);
    let csum = icmpv6_checksum(&VIP6, &ip_dst, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    let mut f = eth(eth_dst, IFACE_MAC, 0x86dd);
    f.extend_from_slice(&ipv6_header(32, 58, 255, VIP6, ip_dst));
    f.extend_from_slice(&icmp);
    f
}

/// Recomputes the ICMPv6 checksum of an edited NS frame.
fn reseal_checksum(frame: &mut [u8]) {
    let src: [u8; 16] = frame[22..38].try_into().expect("src");
    let dst: [u8; 16] = frame[38..54].try_into().expect("dst");
    frame[56] = 0;
    frame[57] = 0;
    let csum = icmpv6_checksum(&src, &dst, &frame[54..]);
    frame[56..58].copy_from_slice(&csum.to_be_bytes());
}

fn assert_checksum_valid(frame: &[u8]) {
    let src: [u8; 16] = frame[22..38].try_into().expect("src");
    let dst: [u8; 16] = frame[38..54].try_into().expect("dst");
    let mut icmp = frame[54..].to_vec();
    let got = u16::from_be_bytes([icmp[2], icmp[3]]);
    icmp[2] = 0;
    icmp[3] = 0;
    assert_eq!(
        got,
        icmpv6_checksum(&src, &dst, &icmp),
        "ICMPv6 checksum recomputed"
    );
}

#[test]
fn ns_for_mapped_ip_gets_solicited_override_na() {
    let (r, key) = responder_for_vip6();

    let out = r.run(&neighbor_solicitation(CLIENT6, VIP6, true));

    assert_eq!(out.verdict, XDP_TX);
    assert_eq!(
        out.frame.len(),
        NA_LEN,
        "NS with SLLA option resized to an NA"
    );
    assert_eq!(
        out.frame,
        expected_na(CLIENT_MAC, CLIENT6, 0x60),
        "every byte of the NA"
    );
    assert_eq!(
        out.frame[58], 0x60,
        "solicited and override set, router clear"
    );
    assert_eq!(
        &out.frame[78..86],
        &[2, 1, 2, 0xfe, 0, 0, 0, 1],
        "target LL address option"
    );
    assert_checksum_valid(&out.frame);
    assert_eq!(r.responses(&key), 1);
    let counters = r.program_counters();
    assert_eq!(counters.packets, 1);
    assert_eq!(counters.bytes, NA_LEN as u64);
}

#[test]
fn ns_without_slla_option_grows_into_na() {
    let (r, key) = responder_for_vip6();
    let ns = neighbor_solicitation(CLIENT6, VIP6, false);
    assert!(ns.len() < NA_LEN);

    let out = r.run(&ns);

    assert_eq!(out.verdict, XDP_TX);
    assert_eq!(out.frame, expected_na(CLIENT_MAC, CLIENT6, 0x60));
    assert_checksum_valid(&out.frame);
    assert_eq!(r.responses(&key), 1);
}

#[test]
fn ns_with_trailing_options_shrinks_into_na() {
    let (r, _) = responder_for_vip6();
    let mut ns = neighbor_solicitation(CLIENT6, VIP6, true);
    // A nonce option (RFC 3971, type 14, 8 bytes): payload length and checksum follow.
    ns.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
    let plen = u16::from_be_bytes([ns[18], ns[19]]) + 8;
    ns[18..20].copy_from_slice(&plen.to_be_bytes());
    reseal_checksum(&mut ns);

    let out = r.run(&ns);

    assert_eq!(out.verdict, XDP_TX);
    assert_eq!(out.frame, expected_na(CLIENT_MAC, CLIENT6, 0x60));
}

#[test]
fn dad_probe_is_answered_to_all_nodes_without_solicited_flag() {
    let (r, _) = responder_for_vip6();
    let all_nodes = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    let out = r.run(&neighbor_solicitation([0; 16], VIP6, false));

    assert_eq!(out.verdict, XDP_TX);
    assert_eq!(
        out.frame,
        expected_na([0x33, 0x33, 0, 0, 0, 1], all_nodes, 0x20)
    );
    assert_checksum_valid(&out.frame);
}

fn assert_passed_untouched(r: &L2Responder, frame: &[u8], why: &str) {
    let out = r.run(frame);
    assert_eq!(out.verdict, XDP_PASS, "{why}: passed");
    assert_eq!(out.frame, frame, "{why}: frame unchanged");
}

#[test]
fn ns_for_other_ip_passes() {
    let (r, key) = responder_for_vip6();
    assert_passed_untouched(
        &r,
        &neighbor_solicitation(CLIENT6, OTHER6, true),
        "other target",
    );
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn ipv6_with_extension_header_passes() {
    let (r, key) = responder_for_vip6();
    let ns = neighbor_solicitation(CLIENT6, VIP6, true);
    // Insert a hop-by-hop header (8 bytes: next=ICMPv6, len 0, PadN) before the ICMPv6 body.
    let mut f = ns[..54].to_vec();
    f[20] = 0; // IPv6 next header: hop-by-hop options
    let plen = u16::from_be_bytes([f[18], f[19]]) + 8;
    f[18..20].copy_from_slice(&plen.to_be_bytes());
    f.extend_from_slice(&[58, 0, 1, 4, 0, 0, 0, 0]);
    f.extend_from_slice(&ns[54..]);
    assert_passed_untouched(&r, &f, "hop-by-hop extension header");
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn invalid_ns_passes() {
    let (r, key) = responder_for_vip6();
    let good = neighbor_solicitation(CLIENT6, VIP6, true);
    let mut hop = good.clone();
    hop[21] = 64;
    assert_passed_untouched(&r, &hop, "hop limit not 255 (off-link sender)");
    let mut code = good.clone();
    code[55] = 1;
    reseal_checksum(&mut code);
    assert_passed_untouched(&r, &code, "ICMPv6 code not 0");
    let mut na = good.clone();
    na[54] = 136;
    reseal_checksum(&mut na);
    assert_passed_untouched(&r, &na, "an advertisement, not a solicitation");
    let mut long = good.clone();
    long[18..20].copy_from_slice(&200u16.to_be_bytes());
    assert_passed_untouched(&r, &long, "payload length beyond the frame");
    let mut corrupt = good.clone();
    corrupt[57] ^= 0x01;
    assert_passed_untouched(&r, &corrupt, "bad ICMPv6 checksum");
    let mut odd_length = good.clone();
    odd_length.push(0);
    odd_length[18..20].copy_from_slice(&33u16.to_be_bytes());
    reseal_checksum(&mut odd_length);
    assert_passed_untouched(&r, &odd_length, "payload not a multiple of 8 bytes");
    let mut echo = good;
    echo[54] = 128;
    assert_passed_untouched(&r, &echo, "echo request");
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn truncated_ns_frames_pass_for_every_length() {
    let (r, key) = responder_for_vip6();
    let ns = neighbor_solicitation(CLIENT6, VIP6, false);
    for len in 14..ns.len() {
        assert_passed_untouched(&r, &ns[..len], &format!("NS truncated to {len} bytes"));
    }
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn vlan_tagged_ns_passes() {
    let (r, key) = responder_for_vip6();
    let ns = neighbor_solicitation(CLIENT6, VIP6, true);
    let mut tagged = ns[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    tagged.extend_from_slice(&ns[12..]);
    assert_passed_untouched(&r, &tagged, "802.1Q tagged NS");
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn ipv4_and_ipv6_entries_do_not_alias() {
    let mut r = L2Responder::load();
    // The IPv4 key for VIP4 has the same leading bytes as an IPv6 target starting with them;
    // the family field keeps them apart.
    r.answer(L2ResponderKey::ipv4(loopback_ifindex(), VIP4));
    r.set_mac(loopback_ifindex(), IFACE_MAC);
    let aliasing_target = ferrule_bpf_common::ipv4_bytes(VIP4);
    assert_passed_untouched(
        &r,
        &neighbor_solicitation(CLIENT6, aliasing_target, true),
        "IPv6 target with an IPv4 entry's bytes",
    );
}
