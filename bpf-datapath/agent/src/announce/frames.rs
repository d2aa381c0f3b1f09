//! The announcement frames, byte for byte: pure, so every field is checked in unit tests. Their
//! conventions are the XDP responder's (`bpf/l2_responder.bpf.c`): an NA carries the target
//! link-layer address option and is sent *from* the announced address, so a neighbour sees the
//! same thing from an announcement as from an answer.

use std::net::{Ipv4Addr, Ipv6Addr};

pub type Mac = [u8; 6];

const BROADCAST: Mac = [0xff; 6];
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ARP_HTYPE_ETHERNET: u16 = 1;
const IPPROTO_ICMPV6: u8 = 58;
const ND_NEIGHBOUR_ADVERTISEMENT: u8 = 136;
const ND_OPT_TARGET_LL_ADDR: u8 = 2;
/// RFC 4861 4.4: Router (0x80), Solicited (0x40), Override (0x20) in the first flags byte.
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// RFC 4861 7.1.2: a neighbour drops NDP messages that may have crossed a router.
const NDP_HOP_LIMIT: u8 = 255;

pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub const ARP_FRAME_LEN: usize = 14 + 28;
pub const NA_FRAME_LEN: usize = 14 + 40 + NA_PAYLOAD_LEN;
const NA_PAYLOAD_LEN: usize = 24 + 8;

/// Which of the two gratuitous ARP forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpForm {
    /// RFC 5227's "ARP Announcement": a request asking for the announced address itself, target
    /// hardware address zero (what the Linux kernel's own gratuitous ARP looks like).
    Request,
    /// The reply form (`arping -A`): target hardware address = sender's, which is what Linux
    /// requires before it treats a *reply* as gratuitous.
    Reply,
}

/// A broadcast gratuitous ARP: `addr` is at `mac` (sender IP = target IP = `addr`).
pub fn gratuitous_arp(mac: Mac, addr: Ipv4Addr, form: ArpForm) -> [u8; ARP_FRAME_LEN] {
    let (op, target_mac) = match form {
        ArpForm::Request => (1u16, [0; 6]),
        ArpForm::Reply => (2u16, mac),
    };
    let mut f = [0u8; ARP_FRAME_LEN];
    let mut w = Writer::new(&mut f);
    w.bytes(&BROADCAST);
    w.bytes(&mac);
    w.u16(ETHERTYPE_ARP);
    w.u16(ARP_HTYPE_ETHERNET);
    w.u16(ETHERTYPE_IPV4);
    w.bytes(&[6, 4]);
    w.u16(op);
    w.bytes(&mac);
    w.bytes(&addr.octets());
    w.bytes(&target_mac);
    w.bytes(&addr.octets());
    f
}

/// An unsolicited neighbour advertisement to all nodes (RFC 4861 7.2.6): `addr` is at `mac`,
/// Override set so neighbours replace a cached address, Solicited and Router clear.
pub fn unsolicited_na(mac: Mac, addr: Ipv6Addr) -> [u8; NA_FRAME_LEN] {
    let mut f = [0u8; NA_FRAME_LEN];
    let mut w = Writer::new(&mut f);
    w.bytes(&multicast_mac(ALL_NODES));
    w.bytes(&mac);
    w.u16(ETHERTYPE_IPV6);
    // Version 6, traffic class and flow label 0.
    w.bytes(&[0x60, 0, 0, 0]);
    w.u16(NA_PAYLOAD_LEN as u16);
    w.bytes(&[IPPROTO_ICMPV6, NDP_HOP_LIMIT]);
    w.bytes(&addr.octets());
    w.bytes(&ALL_NODES.octets());
    let icmp = w.at;
    w.bytes(&[ND_NEIGHBOUR_ADVERTISEMENT, 0]);
    w.u16(0); // checksum, filled in below
    w.bytes(&[NA_FLAG_OVERRIDE, 0, 0, 0]);
    w.bytes(&addr.octets());
    w.bytes(&[ND_OPT_TARGET_LL_ADDR, 1]);
    w.bytes(&mac);
    let sum = icmpv6_checksum(addr, ALL_NODES, &f[icmp..]);
    f[icmp + 2..icmp + 4].copy_from_slice(&sum.to_be_bytes());
    f
}

/// The solicited-node multicast group of `addr` (RFC 4291 2.7.1): ff02::1:ff00:0/104 plus the
/// low 24 bits. Neighbours send their Neighbor Solicitations for `addr` there.
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address an IPv6 multicast group maps to (RFC 2464 7): 33:33 + low 32 bits.
pub fn multicast_mac(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// RFC 4443 2.3: one's complement of the one's-complement sum of the pseudo-header (source,
/// destination, upper-layer length, next header) and the message with its checksum field zero.
fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, message: &[u8]) -> u16 {
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut sum = sum_words(&src.octets()) + sum_words(&dst.octets());
    sum += (len >> 16) + (len & 0xffff) + u32::from(IPPROTO_ICMPV6);
    sum += sum_words(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|w| u32::from(w[0]) << 8 | u32::from(w.get(1).copied().unwrap_or(0)))
        .sum()
}

/// Appends fields to a fixed-size frame in network byte order.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, at: 0 }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }

    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
