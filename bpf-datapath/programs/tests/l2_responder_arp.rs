//! l2_responder, IPv4: ARP requests in, ARP replies (or untouched frames) out, run in the
//! kernel with BPF_PROG_TEST_RUN.

mod support;

use ferrule_bpf_common::{DropReason, L2ResponderKey};
use support::packets::*;
use support::{L2Responder, XDP_PASS, XDP_TX, loopback_ifindex};

fn responder_for_vip4() -> (L2Responder, L2ResponderKey) {
    let mut r = L2Responder::load();
    let key = L2ResponderKey::ipv4(loopback_ifindex(), VIP4);
    r.answer(key);
    r.set_mac(loopback_ifindex(), IFACE_MAC);
    (r, key)
}

#[test]
fn arp_request_for_mapped_ip_gets_reply_with_interface_mac() {
    let (r, key) = responder_for_vip4();
    let request = arp_request(VIP4);

    let out = r.run(&request);

    assert_eq!(out.verdict, XDP_TX, "a mapped IP is answered");
    let mut expected = arp(2, IFACE_MAC, VIP4, CLIENT_MAC, CLIENT4);
    expected[..6].copy_from_slice(&CLIENT_MAC); // unicast back to the requester
    assert_eq!(out.frame, expected, "every byte of the reply");
    assert_eq!(&out.frame[..6], &CLIENT_MAC, "eth dst is the requester");
    assert_eq!(
        &out.frame[6..12],
        &IFACE_MAC,
        "eth src is the interface MAC"
    );
    assert_eq!(&out.frame[20..22], &[0, 2], "opcode reply");
    assert_eq!(r.responses(&key), 1, "entry counter counts the reply");
    let counters = r.program_counters();
    assert_eq!(counters.packets, 1);
    assert_eq!(counters.bytes, request.len() as u64);
}

#[test]
fn padded_minimum_size_request_is_answered_and_keeps_its_padding() {
    let (r, key) = responder_for_vip4();
    let mut request = arp_request(VIP4);
    request.resize(60, 0); // Ethernet minimum frame without FCS

    let out = r.run(&request);

    assert_eq!(out.verdict, XDP_TX);
    assert_eq!(out.frame.len(), 60);
    assert_eq!(
        &out.frame[22..42],
        &arp(2, IFACE_MAC, VIP4, CLIENT_MAC, CLIENT4)[22..42]
    );
    assert_eq!(r.responses(&key), 1);
}

#[test]
fn repeated_requests_count_every_reply() {
    let (r, key) = responder_for_vip4();
    for _ in 0..3 {
        assert_eq!(r.run(&arp_request(VIP4)).verdict, XDP_TX);
    }
    assert_eq!(r.responses(&key), 3);
    assert_eq!(r.program_counters().packets, 3);
}

fn assert_passed_untouched(r: &L2Responder, frame: &[u8], why: &str) {
    let out = r.run(frame);
    assert_eq!(out.verdict, XDP_PASS, "{why}: passed");
    assert_eq!(out.frame, frame, "{why}: frame unchanged");
}

#[test]
fn request_for_unmapped_ip_passes_unchanged() {
    let (r, key) = responder_for_vip4();
    assert_passed_untouched(&r, &arp_request(OTHER4), "unmapped IP");
    assert_eq!(r.responses(&key), 0);
    assert_eq!(r.program_counters().packets, 0);
}

#[test]
fn mapped_ip_on_another_interface_passes() {
    let mut r = L2Responder::load();
    let elsewhere = loopback_ifindex() + 1000;
    r.answer(L2ResponderKey::ipv4(elsewhere, VIP4));
    r.set_mac(elsewhere, IFACE_MAC);
    assert_passed_untouched(&r, &arp_request(VIP4), "IP announced on another interface");
}

#[test]
fn arp_reply_and_gratuitous_arp_pass() {
    let (r, key) = responder_for_vip4();
    assert_passed_untouched(
        &r,
        &arp(2, CLIENT_MAC, CLIENT4, IFACE_MAC, VIP4),
        "ARP reply",
    );
    assert_passed_untouched(
        &r,
        &arp(1, CLIENT_MAC, VIP4, [0; 6], VIP4),
        "gratuitous ARP",
    );
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn non_ethernet_or_non_ipv4_arp_passes() {
    let (r, _) = responder_for_vip4();
    let mut wrong_htype = arp_request(VIP4);
    wrong_htype[15] = 6; // IEEE 802 hardware type
    assert_passed_untouched(&r, &wrong_htype, "hardware type not Ethernet");
    let mut wrong_hlen = arp_request(VIP4);
    wrong_hlen[18] = 8;
    assert_passed_untouched(&r, &wrong_hlen, "hardware length not 6");
}

#[test]
fn truncated_arp_frames_pass_for_every_length() {
    let (r, key) = responder_for_vip4();
    let request = arp_request(VIP4);
    // XDP test runs reject frames shorter than an Ethernet header, as real drivers never
    // deliver them; every length from there up to one byte short of the full ARP is covered.
    for len in 14..request.len() {
        assert_passed_untouched(
            &r,
            &request[..len],
            &format!("ARP truncated to {len} bytes"),
        );
    }
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn vlan_tagged_arp_passes() {
    let (r, key) = responder_for_vip4();
    let request = arp_request(VIP4);
    for tpid in [0x8100u16, 0x88a8] {
        let mut tagged = request[..12].to_vec();
        tagged.extend_from_slice(&tpid.to_be_bytes());
        tagged.extend_from_slice(&[0x00, 0x0a]); // VLAN 10
        tagged.extend_from_slice(&request[12..]);
        assert_passed_untouched(&r, &tagged, &format!("tagged with TPID {tpid:#06x}"));
    }
    assert_eq!(r.responses(&key), 0);
}

#[test]
fn non_ip_frames_pass() {
    let (r, _) = responder_for_vip4();
    let mut lldp = eth([0x01, 0x80, 0xc2, 0, 0, 0x0e], CLIENT_MAC, 0x88cc);
    lldp.extend_from_slice(&[0u8; 46]);
    assert_passed_untouched(&r, &lldp, "LLDP");
    let mut ipv4 = eth(IFACE_MAC, CLIENT_MAC, 0x0800);
    ipv4.extend_from_slice(&[0x45; 46]);
    assert_passed_untouched(&r, &ipv4, "IPv4");
    assert_passed_untouched(
        &r,
        &eth(IFACE_MAC, CLIENT_MAC, 0x0806),
        "bare ARP ethertype",
    );
}

#[test]
fn mapped_ip_without_interface_mac_passes_and_counts() {
    let mut r = L2Responder::load();
    let key = L2ResponderKey::ipv4(loopback_ifindex(), VIP4);
    r.answer(key);
    assert_passed_untouched(&r, &arp_request(VIP4), "no MAC known for the interface");
    assert_eq!(r.responses(&key), 0);
    assert_eq!(r.program_counters().drops_for(DropReason::NoIfMac), 1);
}
