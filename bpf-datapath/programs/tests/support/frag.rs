//! IP fragments (RFC 791 / RFC 8200 4.5) for the load-balancer tests: split a datagram in
//! two, read fragments back, and reassemble their payload to check the L4 checksum.

use super::ext::{FRAGMENT, fragment_header, ipv6_chain};
use super::ip::{Ip, header_checksum};
use super::packets::{CLIENT_MAC, IFACE_MAC, eth};

const IPV4_MF: u16 = 0x2000;

/// Ethernet + IPv4 header (valid checksum) with the given identification and
/// flags/fragment-offset field, around `payload`.
pub fn ipv4_fragment(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    frag_field: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = eth(IFACE_MAC, CLIENT_MAC, 0x0800);
    let total = u16::try_from(20 + payload.len()).expect("small");
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag_field.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let csum = header_checksum(&h);
    h[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// `l4` (a whole TCP/UDP segment) as two fragments split at byte `split` (a multiple of 8):
/// the first with MF set at offset 0, the second at offset `split`.
pub fn fragments(src: Ip, dst: Ip, proto: u8, id: u32, l4: &[u8], split: usize) -> [Vec<u8>; 2] {
    assert_eq!(split % 8, 0, "fragment offsets are in 8-byte units");
    let offset = u16::try_from(split / 8).expect("small");
    let (head, tail) = l4.split_at(split);
    match (src, dst) {
        (Ip::V4(s), Ip::V4(d)) => {
            let id = u16::try_from(id).expect("IPv4 ids are 16 bits");
            [
                ipv4_fragment(s, d, proto, id, IPV4_MF, head),
                ipv4_fragment(s, d, proto, id, offset, tail),
            ]
        }
        (Ip::V6(s), Ip::V6(d)) => [
            ipv6_chain(
                s,
                d,
                &[(FRAGMENT, fragment_header(0, true, id))],
                proto,
                head,
            ),
            ipv6_chain(
                s,
                d,
                &[(FRAGMENT, fragment_header(offset, false, id))],
                proto,
                tail,
            ),
        ],
        _ => panic!("mixed address families in a test packet"),
    }
}

/// One fragment read back; for IPv4 the header checksum is asserted.
#[derive(Debug, PartialEq, Eq)]
pub struct Fragment {
    pub src: Ip,
    pub dst: Ip,
    pub id: u32,
    /// Byte offset of `payload` in the datagram.
    pub offset: usize,
    pub more: bool,
    pub payload: Vec<u8>,
}

/// Parses a frame made by [`fragments`] (possibly rewritten): IPv4, or IPv6 whose only
/// extension header is the fragment header.
pub fn parse_fragment(frame: &[u8]) -> Fragment {
    if u16::from_be_bytes([frame[12], frame[13]]) == 0x0800 {
        let h = &frame[14..34];
        assert_eq!(header_checksum(h), 0, "IPv4 header checksum verifies");
        let field = u16::from_be_bytes([h[6], h[7]]);
        Fragment {
            src: Ip::V4(h[12..16].try_into().expect("src")),
            dst: Ip::V4(h[16..20].try_into().expect("dst")),
            id: u32::from(u16::from_be_bytes([h[4], h[5]])),
            offset: usize::from(field & 0x1fff) * 8,
            more: field & IPV4_MF != 0,
            payload: frame[34..].to_vec(),
        }
    } else {
        assert_eq!(
            frame[20], FRAGMENT,
            "fragment header follows the IPv6 header"
        );
        let fh = &frame[54..62];
        let field = u16::from_be_bytes([fh[2], fh[3]]);
        Fragment {
            src: Ip::V6(frame[22..38].try_into().expect("src")),
            dst: Ip::V6(frame[38..54].try_into().expect("dst")),
            id: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
            offset: usize::from(field >> 3) * 8,
            more: field & 1 != 0,
            payload: frame[62..].to_vec(),
        }
    }
}

/// The L4 segment of a datagram from its fragments in any order, asserting that they are
/// contiguous, agree on addresses and identification, and end with the last fragment.
pub fn reassemble(mut parts: Vec<Fragment>) -> Vec<u8> {
    parts.sort_by_key(|p| p.offset);
    let mut l4 = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p.offset, l4.len(), "fragments are contiguous");
        assert_eq!(
            (p.src, p.dst, p.id),
            (parts[0].src, parts[0].dst, parts[0].id),
            "fragments of one datagram"
        );
        assert_eq!(p.more, i + 1 < parts.len(), "MF on all but the last");
        l4.extend_from_slice(&p.payload);
    }
    l4
}
