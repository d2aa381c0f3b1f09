//! IPv6 extension header chains (RFC 8200 section 4) for the load-balancer tests.

use super::packets::{CLIENT_MAC, IFACE_MAC, eth, ipv6_header};

pub const HOP_BY_HOP: u8 = 0;
pub const ROUTING: u8 = 43;
pub const FRAGMENT: u8 = 44;
pub const ESP: u8 = 50;
pub const AH: u8 = 51;
pub const NO_NEXT_HEADER: u8 = 59;
pub const DEST_OPTS: u8 = 60;

/// A hop-by-hop or destination options header of `(units + 1) * 8` bytes, filled with one
/// PadN option (RFC 8200 4.2). Byte 0 (next header) is set by [`ipv6_chain`].
pub fn options_header(units: u8) -> Vec<u8> {
    let total = (usize::from(units) + 1) * 8;
    let mut h = vec![
        0,
        units,
        1,
        u8::try_from(total - 4).expect("PadN length fits"),
    ];
    h.resize(total, 0);
    h
}

/// A segment routing header (type 4, RFC 8754) with one segment, 24 bytes.
pub fn routing_header(segments_left: u8, segment: [u8; 16]) -> Vec<u8> {
    let mut h = vec![0, 2, 4, segments_left, 0, 0, 0, 0];
    h.extend_from_slice(&segment);
    h
}

/// A fragment header (RFC 8200 4.5): `offset` in 8-byte units, M flag, identification.
pub fn fragment_header(offset: u16, more: bool, id: u32) -> Vec<u8> {
    let field = (offset << 3) | u16::from(more);
    let mut h = vec![0, 0];
    h.extend_from_slice(&field.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

/// Ethernet + IPv6 + `headers` (type, bytes) + `payload` of protocol `proto`, with every
/// next-header field chained and the payload length right.
pub fn ipv6_chain(
    src: [u8; 16],
    dst: [u8; 16],
    headers: &[(u8, Vec<u8>)],
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let first = headers.first().map_or(proto, |(t, _)| *t);
    let mut body = Vec::new();
    for (i, (_, bytes)) in headers.iter().enumerate() {
        let mut h = bytes.clone();
        h[0] = headers.get(i + 1).map_or(proto, |(t, _)| *t);
        body.extend_from_slice(&h);
    }
    body.extend_from_slice(payload);
    let mut f = eth(IFACE_MAC, CLIENT_MAC, 0x86dd);
    let len = u16::try_from(body.len()).expect("small");
    f.extend_from_slice(&ipv6_header(len, first, 64, src, dst));
    f.extend_from_slice(&body);
    f
}
