//! Path attributes (RFC 4271 5, RFC 1997, RFC 8092) and their RFC 7606 error handling.

use std::net::Ipv4Addr;

use super::notification::{code, update as sub};
use super::{AS_TRANS, Reader, SessionCtx, WireError};
use crate::community::{Community, LargeCommunity};

pub(crate) const FLAG_OPTIONAL: u8 = 0x80;
pub(crate) const FLAG_TRANSITIVE: u8 = 0x40;
pub(crate) const FLAG_EXTENDED: u8 = 0x10;

pub(crate) const ORIGIN: u8 = 1;
pub(crate) const AS_PATH: u8 = 2;
pub(crate) const NEXT_HOP: u8 = 3;
pub(crate) const MED: u8 = 4;
pub(crate) const LOCAL_PREF: u8 = 5;
pub(crate) const ATOMIC_AGGREGATE: u8 = 6;
pub(crate) const AGGREGATOR: u8 = 7;
pub(crate) const COMMUNITIES: u8 = 8;
pub(crate) const MP_REACH: u8 = 14;
pub(crate) const MP_UNREACH: u8 = 15;
pub(crate) const AS4_PATH: u8 = 17;
pub(crate) const AS4_AGGREGATOR: u8 = 18;
pub(crate) const LARGE_COMMUNITY: u8 = 32;

/// ORIGIN values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Learned from an interior protocol; what this speaker sends.
    Igp,
    /// Learned by EGP.
    Egp,
    /// Learned some other way.
    Incomplete,
}

/// One AS_PATH segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AsSegment {
    /// AS_SET.
    Set(Vec<u32>),
    /// AS_SEQUENCE.
    Sequence(Vec<u32>),
    /// AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence(Vec<u32>),
    /// AS_CONFED_SET (RFC 5065).
    ConfedSet(Vec<u32>),
}

/// The path attributes this speaker understands; others are dropped after their checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathAttrs {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH; `None` when absent (an empty path is `Some(vec![])`).
    pub as_path: Option<Vec<AsSegment>>,
    /// NEXT_HOP for IPv4 NLRI outside MP_REACH_NLRI.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<LargeCommunity>,
}

/// What RFC 7606 says to do with a bad attribute.
#[derive(Debug)]
pub(crate) enum AttrError {
    /// Keep the session, treat the UPDATE's routes as withdrawn.
    Withdraw(WireError),
    /// Keep the session, ignore the attribute.
    Discard,
    /// Reset the session with this NOTIFICATION.
    Reset(WireError),
}

fn attr_err(subcode: u8, raw: &[u8], reason: &'static str) -> WireError {
    WireError::new(code::UPDATE, subcode, raw.to_vec(), reason)
}

/// The optional and transitive bits each known attribute must carry.
pub(crate) fn expected_flags(ty: u8) -> Option<u8> {
    match ty {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some(FLAG_TRANSITIVE),
        MED | MP_REACH | MP_UNREACH => Some(FLAG_OPTIONAL),
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITY => {
            Some(FLAG_OPTIONAL | FLAG_TRANSITIVE)
        }
        _ => None,
    }
}

/// How a flags or length problem of this attribute is handled (RFC 7606 7).
pub(crate) fn on_error(ty: u8, err: WireError) -> AttrError {
    match ty {
        ATOMIC_AGGREGATE | AGGREGATOR | AS4_PATH | AS4_AGGREGATOR => AttrError::Discard,
        MP_REACH | MP_UNREACH => AttrError::Reset(err),
        _ => AttrError::Withdraw(err),
    }
}

impl PathAttrs {
    /// Decodes one non-MP attribute into `self`; `raw` is the whole attribute for diagnostics.
    pub(crate) fn decode_one(
        &mut self,
        ty: u8,
        value: &[u8],
        raw: &[u8],
        ctx: SessionCtx,
    ) -> Result<(), AttrError> {
        let bad_len = || on_error(ty, attr_err(sub::ATTR_LENGTH, raw, "bad attribute length"));
        let mut r = Reader(value);
        match ty {
            ORIGIN => {
                let [v] = value else { return Err(bad_len()) };
                self.origin = Some(match v {
                    0 => Origin::Igp,
                    1 => Origin::Egp,
                    2 => Origin::Incomplete,
                    _ => {
                        return Err(AttrError::Withdraw(attr_err(
                            sub::INVALID_ORIGIN,
                            raw,
                            "invalid ORIGIN",
                        )));
                    }
                });
            }
            AS_PATH => {
                let size = if ctx.four_octet_as { 4 } else { 2 };
                self.as_path = Some(decode_as_path(value, size).ok_or_else(|| {
                    AttrError::Withdraw(attr_err(sub::MALFORMED_AS_PATH, raw, "malformed AS_PATH"))
                })?);
            }
            AS4_PATH => {
                decode_as_path(value, 4).ok_or(AttrError::Discard)?;
            }
            NEXT_HOP => {
                let a = Ipv4Addr::from(r.u32().filter(|_| value.len() == 4).ok_or_else(bad_len)?);
                if a.is_unspecified() || a.is_multicast() || a.is_broadcast() {
                    return Err(AttrError::Withdraw(attr_err(
                        sub::INVALID_NEXT_HOP,
                        raw,
                        "invalid NEXT_HOP",
                    )));
                }
                self.next_hop = Some(a);
            }
            MED => self.med = Some(r.u32().filter(|_| value.len() == 4).ok_or_else(bad_len)?),
            LOCAL_PREF => {
                self.local_pref = Some(r.u32().filter(|_| value.len() == 4).ok_or_else(bad_len)?);
            }
            ATOMIC_AGGREGATE if !value.is_empty() => return Err(AttrError::Discard),
            AGGREGATOR | AS4_AGGREGATOR => {
                let want = if ty == AS4_AGGREGATOR || ctx.four_octet_as {
                    8
                } else {
                    6
                };
                if value.len() != want {
                    return Err(AttrError::Discard);
                }
            }
            COMMUNITIES => {
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err(bad_len());
                }
                self.communities = value.chunks_exact(4).map(|c| Community(be32(c))).collect();
            }
            LARGE_COMMUNITY => {
                if value.is_empty() || !value.len().is_multiple_of(12) {
                    return Err(bad_len());
                }
                self.large_communities = value
                    .chunks_exact(12)
                    .map(|c| LargeCommunity {
                        global: be32(&c[0..4]),
                        local1: be32(&c[4..8]),
                        local2: be32(&c[8..12]),
                    })
                    .collect();
            }
            _ => {}
        }
        Ok(())
    }

    /// Encodes the non-MP attributes in type order, with `extra` (MP_REACH/MP_UNREACH,
    /// already encoded) placed where its type code sorts.
    pub(crate) fn encode(&self, ctx: SessionCtx, extra: &[u8], out: &mut Vec<u8>) {
        if let Some(o) = self.origin {
            let v = match o {
                Origin::Igp => 0,
                Origin::Egp => 1,
                Origin::Incomplete => 2,
            };
            put_attr(out, FLAG_TRANSITIVE, ORIGIN, &[v]);
        }
        let mut as4_path = None;
        if let Some(path) = &self.as_path {
            let mut v = Vec::new();
            let needs_as4 = encode_as_path(path, ctx.four_octet_as, &mut v);
            put_attr(out, FLAG_TRANSITIVE, AS_PATH, &v);
            if needs_as4 {
                let mut v4 = Vec::new();
                encode_as_path(path, true, &mut v4);
                as4_path = Some(v4);
            }
        }
        if let Some(nh) = self.next_hop {
            put_attr(out, FLAG_TRANSITIVE, NEXT_HOP, &nh.octets());
        }
        if let Some(med) = self.med {
            put_attr(out, FLAG_OPTIONAL, MED, &med.to_be_bytes());
        }
        if let Some(lp) = self.local_pref {
            put_attr(out, FLAG_TRANSITIVE, LOCAL_PREF, &lp.to_be_bytes());
        }
        if !self.communities.is_empty() {
            let v: Vec<u8> = self
                .communities
                .iter()
                .flat_map(|c| c.0.to_be_bytes())
                .collect();
            put_attr(out, FLAG_OPTIONAL | FLAG_TRANSITIVE, COMMUNITIES, &v);
        }
        out.extend_from_slice(extra);
        if let Some(v) = as4_path {
            put_attr(out, FLAG_OPTIONAL | FLAG_TRANSITIVE, AS4_PATH, &v);
        }
        if !self.large_communities.is_empty() {
            let v: Vec<u8> = self
                .large_communities
                .iter()
                .flat_map(|c| [c.global, c.local1, c.local2])
                .flat_map(u32::to_be_bytes)
                .collect();
            put_attr(out, FLAG_OPTIONAL | FLAG_TRANSITIVE, LARGE_COMMUNITY, &v);
        }
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Writes one attribute, with the extended length flag when the value needs it or when
/// `flags` asks for it.
pub(crate) fn put_attr(out: &mut Vec<u8>, flags: u8, ty: u8, value: &[u8]) {
    match u8::try_from(value.len()) {
        Ok(len) if flags & FLAG_EXTENDED == 0 => out.extend_from_slice(&[flags, ty, len]),
        _ => {
            out.extend_from_slice(&[flags | FLAG_EXTENDED, ty]);
            out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
}

fn decode_as_path(value: &[u8], size: usize) -> Option<Vec<AsSegment>> {
    let mut r = Reader(value);
    let mut out = Vec::new();
    while !r.is_empty() {
        let (ty, count) = (r.u8()?, r.u8()?);
        if count == 0 {
            return None;
        }
        let bytes = r.take(usize::from(count) * size)?;
        let asns: Vec<u32> = bytes
            .chunks_exact(size)
            .map(|c| {
                if size == 4 {
                    be32(c)
                } else {
                    u32::from(u16::from_be_bytes([c[0], c[1]]))
                }
            })
            .collect();
        out.push(match ty {
            1 => AsSegment::Set(asns),
            2 => AsSegment::Sequence(asns),
            3 => AsSegment::ConfedSequence(asns),
            4 => AsSegment::ConfedSet(asns),
            _ => return None,
        });
    }
    Some(out)
}

/// Encodes an AS_PATH; returns whether an ASN did not fit two bytes (AS4_PATH needed).
fn encode_as_path(path: &[AsSegment], four: bool, out: &mut Vec<u8>) -> bool {
    let mut truncated = false;
    for seg in path {
        let (ty, asns) = match seg {
            AsSegment::Set(a) => (1, a),
            AsSegment::Sequence(a) => (2, a),
            AsSegment::ConfedSequence(a) => (3, a),
            AsSegment::ConfedSet(a) => (4, a),
        };
        for chunk in asns.chunks(255) {
            out.push(ty);
            out.push(u8::try_from(chunk.len()).unwrap_or(u8::MAX));
            for &asn in chunk {
                if four {
                    out.extend_from_slice(&asn.to_be_bytes());
                } else {
                    let short = u16::try_from(asn).unwrap_or_else(|_| {
                        truncated = true;
                        AS_TRANS
                    });
                    out.extend_from_slice(&short.to_be_bytes());
                }
            }
        }
    }
    truncated
}
