//! Frame builders and checksum for the tests: explicit byte layouts, so a reader can check
//! each offset against the RFC.

pub const IFACE_MAC: [u8; 6] = [0x02, 0xfe, 0x00, 0x00, 0x00, 0x01];
pub const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0x00, 0x00, 0x00, 0x02];
pub const BROADCAST: [u8; 6] = [0xff; 6];
pub const VIP4: [u8; 4] = [192, 0, 2, 10];
pub const OTHER4: [u8; 4] = [192, 0, 2, 11];
pub const CLIENT4: [u8; 4] = [192, 0, 2, 1];
pub const VIP6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a,
];
pub const OTHER6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
];
pub const CLIENT6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// Ethernet/IPv4 ARP (RFC 826) with the given opcode.
pub fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = eth(BROADCAST, sha, 0x0806);
    f.extend_from_slice(&1u16.to_be_bytes()); // htype Ethernet
    f.extend_from_slice(&0x0800u16.to_be_bytes()); // ptype IPv4
    f.push(6);
    f.push(4);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa);
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa);
    f
}

pub fn arp_request(target: [u8; 4]) -> Vec<u8> {
    arp(1, CLIENT_MAC, CLIENT4, [0; 6], target)
}

/// Solicited-node multicast address of `target` (RFC 4291 2.7.1).
pub fn solicited_node(target: [u8; 16]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0xff;
    a[1] = 0x02;
    a[11] = 0x01;
    a[12] = 0xff;
    a[13..].copy_from_slice(&target[13..]);
    a
}

pub fn ipv6_header(
    payload_len: u16,
    next: u8,
    hop_limit: u8,
    src: [u8; 16],
    dst: [u8; 16],
) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&payload_len.to_be_bytes());
    h.push(next);
    h.push(hop_limit);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

/// A Neighbor Solicitation (RFC 4861 4.3) with a valid checksum; `with_slla` adds the source
/// link-layer address option (absent in DAD probes).
pub fn neighbor_solicitation(src: [u8; 16], target: [u8; 16], with_slla: bool) -> Vec<u8> {
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target);
    if with_slla {
        icmp.extend_from_slice(&[1, 1]);
        icmp.extend_from_slice(&CLIENT_MAC);
    }
    let dst = solicited_node(target);
    let csum = icmpv6_checksum(&src, &dst, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    let mut mcast_mac = [0x33, 0x33, 0, 0, 0, 0];
    mcast_mac[2..].copy_from_slice(&dst[12..]);
    let mut f = eth(mcast_mac, CLIENT_MAC, 0x86dd);
    let len = u16::try_from(icmp.len()).expect("small packet");
    f.extend_from_slice(&ipv6_header(len, 58, 255, src, dst));
    f.extend_from_slice(&icmp);
    f
}

/// RFC 4443 2.3 checksum over the pseudo-header and `icmp` (checksum field as given).
pub fn icmpv6_checksum(src: &[u8; 16], dst: &[u8; 16], icmp: &[u8]) -> u16 {
    let mut data = Vec::new();
    data.extend_from_slice(src);
    data.extend_from_slice(dst);
    data.extend_from_slice(&u32::try_from(icmp.len()).expect("small").to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 58]);
    data.extend_from_slice(icmp);
    if data.len() % 2 == 1 {
        data.push(0);
    }
    let mut sum: u32 = data
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
