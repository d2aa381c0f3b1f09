use super::*;

const MAC: Mac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a];

#[test]
fn gratuitous_arp_request_announces_the_address_as_its_own_target() {
    let frame = gratuitous_arp(MAC, "192.0.2.10".parse().expect("ip"), ArpForm::Request);
    #[rustfmt::skip]
    let expected: [u8; ARP_FRAME_LEN] = [
        // Ethernet: broadcast, from the interface, ARP.
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a,
        0x08, 0x06,
        // Ethernet/IPv4, request.
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
        // Sender: the interface MAC, the announced address.
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a, 192, 0, 2, 10,
        // Target: no hardware address, the announced address again.
        0, 0, 0, 0, 0, 0, 192, 0, 2, 10,
    ];
    assert_eq!(frame, expected);
}

#[test]
fn gratuitous_arp_reply_repeats_the_sender_mac_as_target() {
    let frame = gratuitous_arp(MAC, "203.0.113.7".parse().expect("ip"), ArpForm::Reply);
    #[rustfmt::skip]
    let expected: [u8; ARP_FRAME_LEN] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a,
        0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02,
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a, 203, 0, 113, 7,
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x0a, 203, 0, 113, 7,
    ];
    assert_eq!(frame, expected);
}

#[test]
fn unsolicited_na_overrides_caches_of_all_nodes() {
    let frame = unsolicited_na(MAC, "2001:db8::10".parse().expect("ip"));
    let vip = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut expected = Vec::new();
    // Ethernet: all-nodes multicast, from the interface, IPv6.
    expected.extend([0x33, 0x33, 0, 0, 0, 1]);
    expected.extend(MAC);
    expected.extend([0x86, 0xdd]);
    // IPv6: 32-byte ICMPv6 payload, hop limit 255, from the VIP to ff02::1.
    expected.extend([0x60, 0, 0, 0, 0, 32, 58, 255]);
    expected.extend(vip);
    expected.extend([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // NA; checksum computed independently (Python, RFC 4443 2.3); flags: Override only.
    expected.extend([136, 0, 0x9a, 0xf3, 0x20, 0, 0, 0]);
    expected.extend(vip);
    // Target link-layer address option, one 8-byte unit.
    expected.extend([2, 1]);
    expected.extend(MAC);
    assert_eq!(frame.to_vec(), expected);
}

#[test]
fn na_checksum_verifies_over_the_whole_message() {
    // A receiver sums pseudo-header and message including the checksum: all ones means valid.
    for addr in [
        "2001:db8::1",
        "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe",
        "fe80::1",
    ] {
        let addr: Ipv6Addr = addr.parse().expect("ip");
        let frame = unsolicited_na(MAC, addr);
        let icmp = &frame[54..];
        let mut sum = sum_words(&addr.octets()) + sum_words(&ALL_NODES.octets());
        sum += icmp.len() as u32 + 58 + sum_words(icmp);
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff, "checksum of the NA for {addr}");
    }
}

#[test]
fn solicited_node_group_keeps_the_low_24_bits() {
    let group = |a: &str| solicited_node(a.parse().expect("ip")).to_string();
    assert_eq!(group("2001:db8::10"), "ff02::1:ff00:10");
    assert_eq!(group("2001:db8::abcd:1234:5678"), "ff02::1:ff34:5678");
    assert_eq!(group("fe80::ff:fe00:a01"), "ff02::1:ff00:a01");
}

#[test]
fn multicast_groups_map_to_33_33_macs() {
    assert_eq!(multicast_mac(ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
    assert_eq!(
        multicast_mac(solicited_node(
            "2001:db8::abcd:1234:5678".parse().expect("ip")
        )),
        [0x33, 0x33, 0xff, 0x34, 0x56, 0x78]
    );
}
