//! IPv4/IPv6 TCP/UDP frame builders and checksum checks for the load-balancer tests.

use super::packets::{CLIENT_MAC, IFACE_MAC, eth, ipv6_header};

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// An IP address of either family; IPv4 is 4 bytes, IPv6 16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Ip {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Ip::V4(a) => a,
            Ip::V6(a) => a,
        }
    }

    /// The 16-byte ABI form.
    pub fn abi(&self) -> [u8; 16] {
        match self {
            Ip::V4(a) => ferrule_bpf_common::ipv4_bytes(*a),
            Ip::V6(a) => *a,
        }
    }

    pub fn family(&self) -> u8 {
        match self {
            Ip::V4(_) => ferrule_bpf_common::FERRULE_AF_INET,
            Ip::V6(_) => ferrule_bpf_common::FERRULE_AF_INET6,
        }
    }
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn sum_words(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum()
}

/// Internet checksum of an IPv4 header; 0 when a header with its checksum verifies.
pub fn header_checksum(header: &[u8]) -> u16 {
    fold(sum_words(header))
}

/// L4 checksum over the pseudo-header (RFC 793 / 768 / 8200 8.1) and `l4`.
pub fn l4_checksum(src: &Ip, dst: &Ip, proto: u8, l4: &[u8]) -> u16 {
    let len = u32::try_from(l4.len()).expect("small");
    let mut sum = sum_words(src.bytes()) + sum_words(dst.bytes()) + u32::from(proto) + len;
    sum += sum_words(l4);
    fold(sum)
}

/// A TCP (SYN) or UDP header plus `payload`, with the checksum over the pseudo-header.
pub fn l4_segment(
    proto: u8,
    src: &Ip,
    dst: &Ip,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    let csum_at = if proto == TCP {
        l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        16
    } else {
        let len = u16::try_from(8 + payload.len()).expect("small");
        l4.extend_from_slice(&len.to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        6
    };
    l4.extend_from_slice(payload);
    let csum = l4_checksum(src, dst, proto, &l4);
    l4[csum_at..csum_at + 2].copy_from_slice(&csum.to_be_bytes());
    l4
}

/// Ethernet + IP + TCP (SYN) or UDP with valid checksums.
pub fn ip_packet(proto: u8, src: Ip, dst: Ip, sport: u16, dport: u16) -> Vec<u8> {
    let payload = b"ferrule";
    let l4 = l4_segment(proto, &src, &dst, sport, dport, payload);
    ip_frame(proto, src, dst, &l4)
}

/// Ethernet + IP header (IPv4 with a valid header checksum) around `l4`.
pub fn ip_frame(proto: u8, src: Ip, dst: Ip, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (Ip::V4(s), Ip::V4(d)) => {
            let mut f = eth(IFACE_MAC, CLIENT_MAC, 0x0800);
            let total = u16::try_from(20 + l4.len()).expect("small");
            let mut h = vec![0x45, 0];
            h.extend_from_slice(&total.to_be_bytes());
            h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
            h.extend_from_slice(&s);
            h.extend_from_slice(&d);
            let csum = fold(sum_words(&h));
            h[10..12].copy_from_slice(&csum.to_be_bytes());
            f.extend_from_slice(&h);
            f.extend_from_slice(l4);
            f
        }
        (Ip::V6(s), Ip::V6(d)) => {
            let mut f = eth(IFACE_MAC, CLIENT_MAC, 0x86dd);
            let len = u16::try_from(l4.len()).expect("small");
            f.extend_from_slice(&ipv6_header(len, proto, 64, s, d));
            f.extend_from_slice(l4);
            f
        }
        _ => panic!("mixed address families in a test packet"),
    }
}

pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// An ICMP error from `src` to `dst` quoting `quoted_l3` (an IP packet without Ethernet):
/// ICMPv4 port unreachable quoting IP header + 8 bytes (RFC 792), ICMPv6 port unreachable
/// quoting header + 8 bytes too (RFC 4443 allows more; 8 is what the datapath may rely on).
pub fn icmp_error(src: Ip, dst: Ip, quoted_l3: &[u8]) -> Vec<u8> {
    let (header, quoted_len) = match src {
        Ip::V4(_) => ([3, 3, 0, 0, 0, 0, 0, 0], 28),
        Ip::V6(_) => ([1, 4, 0, 0, 0, 0, 0, 0], 48),
    };
    icmp_message(src, dst, header, &quoted_l3[..quoted_len])
}

/// ICMPv4 fragmentation needed (RFC 1191) or ICMPv6 packet too big (RFC 4443 3.2) with the
/// next-hop MTU, quoting all of `quoted_l3` as routers usually quote as much as fits.
pub fn icmp_too_big(src: Ip, dst: Ip, quoted_l3: &[u8], mtu: u16) -> Vec<u8> {
    let [hi, lo] = mtu.to_be_bytes();
    let header = match src {
        Ip::V4(_) => [3, 4, 0, 0, 0, 0, hi, lo],
        Ip::V6(_) => [2, 0, 0, 0, 0, 0, hi, lo],
    };
    icmp_message(src, dst, header, quoted_l3)
}

/// An ICMP message with the 8-byte `header` (checksum field filled in) and `body`.
pub fn icmp_message(src: Ip, dst: Ip, header: [u8; 8], body: &[u8]) -> Vec<u8> {
    let proto = match src {
        Ip::V4(_) => ICMP,
        Ip::V6(_) => ICMPV6,
    };
    let mut icmp = header.to_vec();
    icmp.extend_from_slice(body);
    let csum = icmp_checksum(&src, &dst, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());
    ip_frame(proto, src, dst, &icmp)
}

/// ICMPv4 checksum covers the message only; ICMPv6 adds the pseudo-header.
pub fn icmp_checksum(src: &Ip, dst: &Ip, icmp: &[u8]) -> u16 {
    match src {
        Ip::V4(_) => fold(sum_words(icmp)),
        Ip::V6(_) => l4_checksum(src, dst, ICMPV6, icmp),
    }
}

/// An ICMP error read back, with every checksum that must hold asserted.
#[derive(Debug, PartialEq, Eq)]
pub struct ParsedIcmpError {
    pub src: Ip,
    pub dst: Ip,
    pub quoted_src: Ip,
    pub quoted_dst: Ip,
    pub quoted_sport: u16,
    pub quoted_dport: u16,
}

pub fn parse_icmp_error(frame: &[u8]) -> ParsedIcmpError {
    let v4 = u16::from_be_bytes([frame[12], frame[13]]) == 0x0800;
    let (src, dst, icmp) = if v4 {
        assert_eq!(
            fold(sum_words(&frame[14..34])),
            0,
            "outer IPv4 header checksum"
        );
        let s: [u8; 4] = frame[26..30].try_into().expect("src");
        let d: [u8; 4] = frame[30..34].try_into().expect("dst");
        (Ip::V4(s), Ip::V4(d), &frame[34..])
    } else {
        let s: [u8; 16] = frame[22..38].try_into().expect("src");
        let d: [u8; 16] = frame[38..54].try_into().expect("dst");
        (Ip::V6(s), Ip::V6(d), &frame[54..])
    };
    assert_eq!(icmp_checksum(&src, &dst, icmp), 0, "ICMP checksum verifies");
    let quoted = &icmp[8..];
    let (quoted_src, quoted_dst, l4) = if v4 {
        assert_eq!(
            fold(sum_words(&quoted[..20])),
            0,
            "quoted IPv4 header checksum"
        );
        let s: [u8; 4] = quoted[12..16].try_into().expect("qsrc");
        let d: [u8; 4] = quoted[16..20].try_into().expect("qdst");
        (Ip::V4(s), Ip::V4(d), &quoted[20..])
    } else {
        let s: [u8; 16] = quoted[8..24].try_into().expect("qsrc");
        let d: [u8; 16] = quoted[24..40].try_into().expect("qdst");
        (Ip::V6(s), Ip::V6(d), &quoted[40..])
    };
    ParsedIcmpError {
        src,
        dst,
        quoted_src,
        quoted_dst,
        quoted_sport: u16::from_be_bytes([l4[0], l4[1]]),
        quoted_dport: u16::from_be_bytes([l4[2], l4[3]]),
    }
}

/// What a test reads back from a frame: addresses, ports, and whether checksums verify.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub src: Ip,
    pub dst: Ip,
    pub sport: u16,
    pub dport: u16,
    pub l4_checksum: u16,
}

/// Parses a frame made by [`ip_packet`] (possibly rewritten) and asserts every checksum.
pub fn parse_and_verify(frame: &[u8]) -> Parsed {
    let (src, dst, proto, l4) = match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0800 => {
            let h = &frame[14..34];
            assert_eq!(fold(sum_words(h)), 0, "IPv4 header checksum verifies");
            let s: [u8; 4] = h[12..16].try_into().expect("v4 src");
            let d: [u8; 4] = h[16..20].try_into().expect("v4 dst");
            (Ip::V4(s), Ip::V4(d), h[9], &frame[34..])
        }
        0x86dd => {
            let s: [u8; 16] = frame[22..38].try_into().expect("v6 src");
            let d: [u8; 16] = frame[38..54].try_into().expect("v6 dst");
            (Ip::V6(s), Ip::V6(d), frame[20], &frame[54..])
        }
        other => panic!("not an IP frame: ethertype {other:#06x}"),
    };
    let csum_at = if proto == TCP { 16 } else { 6 };
    let carried = u16::from_be_bytes([l4[csum_at], l4[csum_at + 1]]);
    if !(proto == UDP && carried == 0) {
        assert_eq!(
            l4_checksum(&src, &dst, proto, l4),
            0,
            "L4 checksum verifies"
        );
    }
    Parsed {
        src,
        dst,
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        l4_checksum: carried,
    }
}

/// The IPv4 TTL or IPv6 hop limit of a frame made by [`ip_frame`].
pub fn hop_limit(frame: &[u8]) -> u8 {
    match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0800 => frame[14 + 8],
        0x86dd => frame[14 + 7],
        other => panic!("not an IP frame: ethertype {other:#06x}"),
    }
}

/// `frame` (made by [`ip_frame`]) with its TTL or hop limit set to `value`, the IPv4 header
/// checksum recomputed.
pub fn with_hop_limit(frame: &[u8], value: u8) -> Vec<u8> {
    let mut f = frame.to_vec();
    match u16::from_be_bytes([f[12], f[13]]) {
        0x0800 => {
            f[14 + 8] = value;
            f[14 + 10..14 + 12].fill(0);
            let csum = header_checksum(&f[14..34]);
            f[14 + 10..14 + 12].copy_from_slice(&csum.to_be_bytes());
        }
        0x86dd => f[14 + 7] = value,
        other => panic!("not an IP frame: ethertype {other:#06x}"),
    }
    f
}
