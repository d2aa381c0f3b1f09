//! Prefix encoding in NLRI and withdrawn-routes fields (RFC 4271 4.3, RFC 4760 5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::prefix::{Family, Prefix};

/// Decodes a run of prefixes of one family; `None` when a length is too long for the family
/// or the bytes end inside a prefix.
pub(crate) fn decode(family: Family, mut buf: &[u8]) -> Option<Vec<Prefix>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = buf.split_first() {
        if len > family.max_len() {
            return None;
        }
        let n = usize::from(len).div_ceil(8);
        let bytes = rest.get(..n)?;
        let addr = match family {
            Family::Ipv4Unicast => {
                let mut a = [0u8; 4];
                a[..n].copy_from_slice(bytes);
                IpAddr::V4(Ipv4Addr::from(a))
            }
            Family::Ipv6Unicast => {
                let mut a = [0u8; 16];
                a[..n].copy_from_slice(bytes);
                IpAddr::V6(Ipv6Addr::from(a))
            }
        };
        out.push(Prefix::new(addr, len).ok()?);
        buf = &rest[n..];
    }
    Some(out)
}

/// The encoded size of one prefix.
pub(crate) fn encoded_len(p: &Prefix) -> usize {
    1 + usize::from(p.len()).div_ceil(8)
}

pub(crate) fn encode(p: &Prefix, out: &mut Vec<u8>) {
    let n = usize::from(p.len()).div_ceil(8);
    out.push(p.len());
    match p.addr() {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..n]),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..n]),
    }
}
