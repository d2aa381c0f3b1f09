//! UPDATE messages (RFC 4271 4.3) with MP_REACH/MP_UNREACH_NLRI (RFC 4760), End-of-RIB
//! markers (RFC 4724 2) and the packing of routes into messages of at most 4096 bytes.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attrs::{self, AttrError, FLAG_EXTENDED, FLAG_OPTIONAL, PathAttrs, put_attr};
use super::notification::{code, update as sub};
use super::{HEADER_LEN, MAX_MESSAGE_LEN, Reader, SessionCtx, WireError, nlri};
use crate::prefix::{Family, Prefix};

/// MP_REACH_NLRI for a family this speaker handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpReach {
    /// The family of the NLRI.
    pub family: Family,
    /// Next hops: one address, or an IPv6 global and link-local pair.
    pub next_hops: Vec<IpAddr>,
    /// Announced prefixes.
    pub nlri: Vec<Prefix>,
}

/// MP_UNREACH_NLRI for a family this speaker handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpUnreach {
    /// The family of the withdrawn prefixes.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Prefix>,
}

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn IPv4 prefixes.
    pub withdrawn: Vec<Prefix>,
    /// Path attributes.
    pub attrs: PathAttrs,
    /// Announced IPv4 prefixes.
    pub nlri: Vec<Prefix>,
    /// MP_REACH_NLRI, if present and for a handled family.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, if present and for a handled family.
    pub mp_unreach: Option<MpUnreach>,
    /// Set on decode when an attribute error means every announced prefix must be treated
    /// as withdrawn (RFC 7606 2); the session stays up.
    pub treat_as_withdraw: Option<WireError>,
}

impl Update {
    /// The End-of-RIB marker of a family (RFC 4724 2).
    pub fn end_of_rib(family: Family) -> Update {
        match family {
            Family::Ipv4Unicast => Update::default(),
            Family::Ipv6Unicast => Update {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..Update::default()
            },
        }
    }

    /// The family whose End-of-RIB this is, if it is one.
    pub fn is_end_of_rib(&self) -> Option<Family> {
        let empty = self.withdrawn.is_empty()
            && self.nlri.is_empty()
            && self.mp_reach.is_none()
            && self.attrs == PathAttrs::default();
        match &self.mp_unreach {
            None if empty => Some(Family::Ipv4Unicast),
            Some(u) if empty && u.withdrawn.is_empty() => Some(u.family),
            _ => None,
        }
    }

    /// Prefixes this UPDATE announces (none when it must be treated as withdraw).
    pub fn announced(&self) -> Vec<Prefix> {
        if self.treat_as_withdraw.is_some() {
            return Vec::new();
        }
        let mp = self.mp_reach.iter().flat_map(|m| m.nlri.iter());
        self.nlri.iter().chain(mp).copied().collect()
    }

    /// Prefixes this UPDATE withdraws, including the announced ones under treat-as-withdraw.
    pub fn withdrawn_all(&self) -> Vec<Prefix> {
        let mut out = self.withdrawn.clone();
        out.extend(self.mp_unreach.iter().flat_map(|m| m.withdrawn.iter()));
        if self.treat_as_withdraw.is_some() {
            out.extend(&self.nlri);
            out.extend(self.mp_reach.iter().flat_map(|m| m.nlri.iter()));
        }
        out
    }

    pub(crate) fn decode(body: &[u8], ctx: SessionCtx) -> Result<Update, WireError> {
        let malformed =
            |reason| WireError::new(code::UPDATE, sub::MALFORMED_ATTR_LIST, Vec::new(), reason);
        let bad_network =
            |reason| WireError::new(code::UPDATE, sub::INVALID_NETWORK, Vec::new(), reason);
        let mut r = Reader(body);
        let wlen = r
            .u16()
            .ok_or_else(|| malformed("truncated withdrawn routes length"))?;
        let withdrawn_raw = r
            .take(usize::from(wlen))
            .ok_or_else(|| malformed("withdrawn routes length exceeds the message"))?;
        let alen = r
            .u16()
            .ok_or_else(|| malformed("truncated total path attribute length"))?;
        let attrs_raw = r
            .take(usize::from(alen))
            .ok_or_else(|| malformed("total path attribute length exceeds the message"))?;
        let withdrawn = nlri::decode(Family::Ipv4Unicast, withdrawn_raw)
            .ok_or_else(|| bad_network("malformed withdrawn routes"))?;
        let nlri =
            nlri::decode(Family::Ipv4Unicast, r.0).ok_or_else(|| bad_network("malformed NLRI"))?;

        let mut u = Update {
            withdrawn,
            nlri,
            ..Update::default()
        };
        let mut seen = HashSet::new();
        let mut a = Reader(attrs_raw);
        while !a.is_empty() {
            let start = a.0;
            let (Some(flags), Some(ty)) = (a.u8(), a.u8()) else {
                return Err(malformed("truncated attribute header"));
            };
            let len = if flags & FLAG_EXTENDED != 0 {
                a.u16()
            } else {
                a.u8().map(u16::from)
            };
            let value = len
                .and_then(|l| a.take(usize::from(l)))
                .ok_or_else(|| malformed("attribute length exceeds the attribute list"))?;
            let raw = &start[..start.len() - a.0.len()];
            if !seen.insert(ty) {
                if ty == attrs::MP_REACH || ty == attrs::MP_UNREACH {
                    return Err(malformed("repeated MP_REACH_NLRI or MP_UNREACH_NLRI"));
                }
                continue; // RFC 7606 3(g): keep the first occurrence.
            }
            let result = match attrs::expected_flags(ty) {
                None if flags & FLAG_OPTIONAL == 0 => Err(AttrError::Reset(WireError::new(
                    code::UPDATE,
                    sub::UNRECOGNIZED_WELL_KNOWN,
                    raw.to_vec(),
                    "unrecognized well-known attribute",
                ))),
                None => Ok(()),
                Some(want) if flags & 0xC0 != want => Err(attrs::on_error(
                    ty,
                    WireError::new(
                        code::UPDATE,
                        sub::ATTR_FLAGS,
                        raw.to_vec(),
                        "attribute flags error",
                    ),
                )),
                Some(_) if ty == attrs::MP_REACH => {
                    decode_mp_reach(value, raw).map(|m| u.mp_reach = m)
                }
                Some(_) if ty == attrs::MP_UNREACH => {
                    decode_mp_unreach(value, raw).map(|m| u.mp_unreach = m)
                }
                Some(_) => u.attrs.decode_one(ty, value, raw, ctx),
            };
            match result {
                Ok(()) | Err(AttrError::Discard) => {}
                Err(AttrError::Reset(e)) => return Err(e),
                Err(AttrError::Withdraw(e)) => {
                    u.treat_as_withdraw.get_or_insert(e);
                }
            }
        }

        let reach_nlri = u.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
        if u.treat_as_withdraw.is_none() && (!u.nlri.is_empty() || reach_nlri) {
            let missing = if u.attrs.origin.is_none() {
                Some(attrs::ORIGIN)
            } else if u.attrs.as_path.is_none() {
                Some(attrs::AS_PATH)
            } else if !u.nlri.is_empty() && u.attrs.next_hop.is_none() {
                Some(attrs::NEXT_HOP)
            } else {
                None
            };
            if let Some(ty) = missing {
                u.treat_as_withdraw = Some(WireError::new(
                    code::UPDATE,
                    sub::MISSING_WELL_KNOWN,
                    vec![ty],
                    "missing well-known attribute",
                ));
            }
        }
        Ok(u)
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>, ctx: SessionCtx) {
        let mut withdrawn = Vec::new();
        for p in &self.withdrawn {
            nlri::encode(p, &mut withdrawn);
        }
        out.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&withdrawn);
        let mut mp = Vec::new();
        if let Some(m) = &self.mp_reach {
            encode_mp_reach(m, &mut mp);
        }
        if let Some(m) = &self.mp_unreach {
            encode_mp_unreach(m, &mut mp);
        }
        let mut attrs = Vec::new();
        self.attrs.encode(ctx, &mp, &mut attrs);
        out.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&attrs);
        for p in &self.nlri {
            nlri::encode(p, out);
        }
    }
}

fn mp_error(raw: &[u8], reason: &'static str) -> AttrError {
    AttrError::Reset(WireError::new(
        code::UPDATE,
        sub::OPTIONAL_ATTR,
        raw.to_vec(),
        reason,
    ))
}

fn decode_mp_reach(value: &[u8], raw: &[u8]) -> Result<Option<MpReach>, AttrError> {
    let mut r = Reader(value);
    let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(mp_error(raw, "truncated MP_REACH_NLRI"));
    };
    let nh = r
        .take(usize::from(nh_len))
        .ok_or_else(|| mp_error(raw, "truncated next hop"))?;
    r.u8()
        .ok_or_else(|| mp_error(raw, "truncated MP_REACH_NLRI"))?;
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        return Ok(None); // A family we did not negotiate: RFC 4760 lets us ignore it.
    };
    let next_hops = match (family, nh.len()) {
        (Family::Ipv4Unicast, 4) => vec![IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3]))],
        (_, 16) | (_, 32) => nh
            .chunks_exact(16)
            .map(|c| {
                let mut a = [0u8; 16];
                a.copy_from_slice(c);
                IpAddr::V6(Ipv6Addr::from(a))
            })
            .collect(),
        _ => return Err(mp_error(raw, "bad next hop length in MP_REACH_NLRI")),
    };
    let nlri = nlri::decode(family, r.0).ok_or_else(|| {
        AttrError::Reset(WireError::new(
            code::UPDATE,
            sub::INVALID_NETWORK,
            Vec::new(),
            "malformed NLRI in MP_REACH_NLRI",
        ))
    })?;
    Ok(Some(MpReach {
        family,
        next_hops,
        nlri,
    }))
}

fn decode_mp_unreach(value: &[u8], raw: &[u8]) -> Result<Option<MpUnreach>, AttrError> {
    let mut r = Reader(value);
    let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
        return Err(mp_error(raw, "truncated MP_UNREACH_NLRI"));
    };
    let Some(family) = Family::from_afi_safi(afi, safi) else {
        return Ok(None);
    };
    let withdrawn = nlri::decode(family, r.0).ok_or_else(|| {
        AttrError::Reset(WireError::new(
            code::UPDATE,
            sub::INVALID_NETWORK,
            Vec::new(),
            "malformed withdrawn routes in MP_UNREACH_NLRI",
        ))
    })?;
    Ok(Some(MpUnreach { family, withdrawn }))
}

// MP attributes always carry the extended length flag, so their header size does not depend
// on how many prefixes they hold (which the packer relies on).
fn encode_mp_reach(m: &MpReach, out: &mut Vec<u8>) {
    let (afi, safi) = m.family.afi_safi();
    let mut v = afi.to_be_bytes().to_vec();
    v.push(safi);
    let mut nh = Vec::new();
    for a in &m.next_hops {
        match a {
            IpAddr::V4(a) => nh.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => nh.extend_from_slice(&a.octets()),
        }
    }
    v.push(u8::try_from(nh.len()).unwrap_or(0));
    v.extend_from_slice(&nh);
    v.push(0);
    for p in &m.nlri {
        nlri::encode(p, &mut v);
    }
    put_attr(out, FLAG_OPTIONAL | FLAG_EXTENDED, attrs::MP_REACH, &v);
}

fn encode_mp_unreach(m: &MpUnreach, out: &mut Vec<u8>) {
    let (afi, safi) = m.family.afi_safi();
    let mut v = afi.to_be_bytes().to_vec();
    v.push(safi);
    for p in &m.withdrawn {
        nlri::encode(p, &mut v);
    }
    put_attr(out, FLAG_OPTIONAL | FLAG_EXTENDED, attrs::MP_UNREACH, &v);
}

fn encoded_size(u: &Update, ctx: SessionCtx) -> usize {
    let mut body = Vec::new();
    u.encode_body(&mut body, ctx);
    HEADER_LEN + body.len()
}

/// Splits `prefixes` (all of `family`) into UPDATEs announcing them with `attrs` and
/// `next_hop`, each at most [`MAX_MESSAGE_LEN`] bytes. IPv4 goes in the classic NLRI field
/// (with NEXT_HOP), IPv6 in MP_REACH_NLRI.
pub fn pack_announce(
    family: Family,
    attrs: &PathAttrs,
    next_hop: IpAddr,
    prefixes: &[Prefix],
    ctx: SessionCtx,
) -> Vec<Update> {
    let template = match (family, next_hop) {
        (Family::Ipv4Unicast, IpAddr::V4(nh)) => Update {
            attrs: PathAttrs {
                next_hop: Some(nh),
                ..attrs.clone()
            },
            ..Update::default()
        },
        _ => Update {
            attrs: PathAttrs {
                next_hop: None,
                ..attrs.clone()
            },
            mp_reach: Some(MpReach {
                family,
                next_hops: vec![next_hop],
                nlri: Vec::new(),
            }),
            ..Update::default()
        },
    };
    pack(template, prefixes, ctx, |u| match &mut u.mp_reach {
        Some(m) => &mut m.nlri,
        None => &mut u.nlri,
    })
}

/// Splits `prefixes` (all of `family`) into withdrawing UPDATEs of at most
/// [`MAX_MESSAGE_LEN`] bytes.
pub fn pack_withdraw(family: Family, prefixes: &[Prefix], ctx: SessionCtx) -> Vec<Update> {
    let template = match family {
        Family::Ipv4Unicast => Update::default(),
        Family::Ipv6Unicast => Update {
            mp_unreach: Some(MpUnreach {
                family,
                withdrawn: Vec::new(),
            }),
            ..Update::default()
        },
    };
    pack(template, prefixes, ctx, |u| match &mut u.mp_unreach {
        Some(m) => &mut m.withdrawn,
        None => &mut u.withdrawn,
    })
}

fn pack(
    template: Update,
    prefixes: &[Prefix],
    ctx: SessionCtx,
    list: impl Fn(&mut Update) -> &mut Vec<Prefix>,
) -> Vec<Update> {
    let base = encoded_size(&template, ctx);
    let mut out = Vec::new();
    let mut current = template.clone();
    let mut size = base;
    for p in prefixes {
        let n = nlri::encoded_len(p);
        if size + n > MAX_MESSAGE_LEN && !list(&mut current).is_empty() {
            out.push(std::mem::replace(&mut current, template.clone()));
            size = base;
        }
        list(&mut current).push(*p);
        size += n;
    }
    if !list(&mut current).is_empty() {
        out.push(current);
    }
    out
}
