//! OPEN messages, capabilities (RFC 5492) and session parameter negotiation.

use std::net::Ipv4Addr;

use super::notification::{code, open as sub};
use super::{AS_TRANS, Reader, WireError};
use crate::prefix::Family;

const PARAM_CAPABILITIES: u8 = 2;
const CAP_MULTIPROTOCOL: u8 = 1;
const CAP_ROUTE_REFRESH: u8 = 2;
const CAP_GRACEFUL_RESTART: u8 = 64;
const CAP_FOUR_OCTET_AS: u8 = 65;

/// An OPEN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// "My Autonomous System": the ASN, or AS_TRANS when it needs four bytes.
    pub my_as: u16,
    /// Proposed hold time in seconds.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

/// A capability advertised in an OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions (RFC 4760) for a family this speaker handles.
    Multiprotocol(Family),
    /// Multiprotocol extensions for another AFI/SAFI.
    MultiprotocolOther {
        /// AFI.
        afi: u16,
        /// SAFI.
        safi: u8,
    },
    /// Route refresh (RFC 2918).
    RouteRefresh,
    /// Graceful restart (RFC 4724).
    GracefulRestart(GracefulRestartCap),
    /// 4-octet AS numbers (RFC 6793), carrying the real ASN.
    FourOctetAs(u32),
    /// Anything else, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

/// The graceful restart capability (RFC 4724 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestartCap {
    /// The R bit: the sender has restarted.
    pub restarting: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// Families whose forwarding state the sender preserves, with the F bit.
    pub families: Vec<(Family, bool)>,
}

impl Open {
    /// The sender's ASN: from the 4-octet AS capability when present.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// The families the sender announced; IPv4 unicast when it announced none (RFC 4760 8).
    pub fn families(&self) -> Vec<Family> {
        let mut mp = self.capabilities.iter().filter_map(|c| match c {
            Capability::Multiprotocol(f) => Some(Some(*f)),
            Capability::MultiprotocolOther { .. } => Some(None),
            _ => None,
        });
        let Some(first) = mp.next() else {
            return vec![Family::Ipv4Unicast];
        };
        let mut out: Vec<Family> = std::iter::once(first).chain(mp).flatten().collect();
        out.sort();
        out.dedup();
        out
    }

    /// The sender's graceful restart capability, if any.
    pub fn graceful_restart(&self) -> Option<&GracefulRestartCap> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g),
            _ => None,
        })
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Open, WireError> {
        let malformed =
            || WireError::new(code::OPEN, 0, Vec::new(), "malformed optional parameters");
        let mut r = Reader(body);
        let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
            (r.u8(), r.u16(), r.u16(), r.u32(), r.u8())
        else {
            return Err(WireError::new(
                code::HEADER,
                2,
                Vec::new(),
                "OPEN too short",
            ));
        };
        if version != 4 {
            return Err(WireError::new(
                code::OPEN,
                sub::UNSUPPORTED_VERSION,
                4u16.to_be_bytes().to_vec(),
                "unsupported BGP version",
            ));
        }
        if usize::from(opt_len) != r.0.len() {
            return Err(malformed());
        }
        let mut capabilities = Vec::new();
        while !r.is_empty() {
            let (Some(ty), Some(len)) = (r.u8(), r.u8()) else {
                return Err(malformed());
            };
            let value = r.take(usize::from(len)).ok_or_else(malformed)?;
            if ty != PARAM_CAPABILITIES {
                return Err(WireError::new(
                    code::OPEN,
                    sub::UNSUPPORTED_OPT_PARAM,
                    Vec::new(),
                    "unsupported optional parameter",
                ));
            }
            let mut caps = Reader(value);
            while !caps.is_empty() {
                let (Some(code), Some(len)) = (caps.u8(), caps.u8()) else {
                    return Err(malformed());
                };
                let value = caps.take(usize::from(len)).ok_or_else(malformed)?;
                capabilities.push(Capability::decode(code, value).ok_or_else(malformed)?);
            }
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_id: Ipv4Addr::from(id),
            capabilities,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        for c in &self.capabilities {
            c.encode(&mut caps);
        }
        if caps.is_empty() {
            out.push(0);
            return;
        }
        // One capabilities parameter per capability keeps each under 255 bytes.
        let mut params = Vec::new();
        let mut r = Reader(&caps);
        while let (Some(code), Some(len)) = (r.u8(), r.u8()) {
            let value = r.take(usize::from(len)).unwrap_or_default();
            params.extend_from_slice(&[PARAM_CAPABILITIES, len + 2, code, len]);
            params.extend_from_slice(value);
        }
        out.push(u8::try_from(params.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&params);
    }
}

impl Capability {
    fn decode(code: u8, value: &[u8]) -> Option<Capability> {
        let mut r = Reader(value);
        Some(match code {
            CAP_MULTIPROTOCOL => {
                let (afi, _, safi) = (r.u16()?, r.u8()?, r.u8()?);
                match Family::from_afi_safi(afi, safi) {
                    Some(f) => Capability::Multiprotocol(f),
                    None => Capability::MultiprotocolOther { afi, safi },
                }
            }
            CAP_ROUTE_REFRESH => Capability::RouteRefresh,
            CAP_FOUR_OCTET_AS => Capability::FourOctetAs(r.u32()?),
            CAP_GRACEFUL_RESTART => {
                let head = r.u16()?;
                let mut families = Vec::new();
                while !r.is_empty() {
                    let (afi, safi, flags) = (r.u16()?, r.u8()?, r.u8()?);
                    if let Some(f) = Family::from_afi_safi(afi, safi) {
                        families.push((f, flags & 0x80 != 0));
                    }
                }
                Capability::GracefulRestart(GracefulRestartCap {
                    restarting: head & 0x8000 != 0,
                    restart_time: head & 0x0FFF,
                    families,
                })
            }
            _ => Capability::Unknown {
                code,
                value: value.to_vec(),
            },
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut v = Vec::new();
        let code = match self {
            Capability::Multiprotocol(f) => {
                let (afi, safi) = f.afi_safi();
                v.extend_from_slice(&afi.to_be_bytes());
                v.extend_from_slice(&[0, safi]);
                CAP_MULTIPROTOCOL
            }
            Capability::MultiprotocolOther { afi, safi } => {
                v.extend_from_slice(&afi.to_be_bytes());
                v.extend_from_slice(&[0, *safi]);
                CAP_MULTIPROTOCOL
            }
            Capability::RouteRefresh => CAP_ROUTE_REFRESH,
            Capability::FourOctetAs(a) => {
                v.extend_from_slice(&a.to_be_bytes());
                CAP_FOUR_OCTET_AS
            }
            Capability::GracefulRestart(g) => {
                let head = (u16::from(g.restarting) << 15) | (g.restart_time & 0x0FFF);
                v.extend_from_slice(&head.to_be_bytes());
                for (f, fwd) in &g.families {
                    let (afi, safi) = f.afi_safi();
                    v.extend_from_slice(&afi.to_be_bytes());
                    v.extend_from_slice(&[safi, if *fwd { 0x80 } else { 0 }]);
                }
                CAP_GRACEFUL_RESTART
            }
            Capability::Unknown { code, value } => {
                v.extend_from_slice(value);
                *code
            }
        };
        out.push(code);
        out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&v);
    }
}

/// What this side expects of a peer's OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPolicy {
    /// Our ASN.
    pub local_asn: u32,
    /// The peer's ASN, or `None` to accept any.
    pub peer_asn: Option<u32>,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Our proposed hold time (0 or >= 3).
    pub hold_time: u16,
    /// Configured keepalive interval; hold/3 when unset.
    pub keepalive: Option<u16>,
    /// Families we announce.
    pub families: Vec<Family>,
}

/// The parameters of a session, agreed from both OPENs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's ASN.
    pub peer_asn: u32,
    /// The peer's BGP Identifier.
    pub peer_id: Ipv4Addr,
    /// min(ours, theirs); 0 means no hold timer and no keepalives.
    pub hold_time: u16,
    /// Keepalive interval; 0 when the hold time is 0.
    pub keepalive: u16,
    /// Families both sides announced.
    pub families: Vec<Family>,
    /// Both sides speak 4-octet ASNs.
    pub four_octet_as: bool,
    /// The peer's graceful restart capability.
    pub peer_graceful_restart: Option<GracefulRestartCap>,
}

/// Checks a peer's OPEN against what we expect (RFC 4271 6.2) and agrees the session
/// parameters, or returns the NOTIFICATION to send.
pub fn negotiate(ours: &OpenPolicy, theirs: &Open) -> Result<Negotiated, WireError> {
    let four_octet_as = theirs
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::FourOctetAs(_)));
    let peer_asn = theirs.asn();
    let field_ok = theirs.my_as == AS_TRANS || u32::from(theirs.my_as) == peer_asn;
    if !field_ok || ours.peer_asn.is_some_and(|want| want != peer_asn) || peer_asn == 0 {
        return Err(WireError::new(
            code::OPEN,
            sub::BAD_PEER_AS,
            theirs.my_as.to_be_bytes().to_vec(),
            "peer AS does not match the configured one",
        ));
    }
    if theirs.hold_time == 1 || theirs.hold_time == 2 {
        return Err(WireError::new(
            code::OPEN,
            sub::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            "hold time below 3 seconds",
        ));
    }
    let id = u32::from(theirs.bgp_id);
    if id == 0 || id == u32::MAX || (peer_asn == ours.local_asn && theirs.bgp_id == ours.router_id)
    {
        return Err(WireError::new(
            code::OPEN,
            sub::BAD_BGP_ID,
            theirs.bgp_id.octets().to_vec(),
            "invalid BGP identifier",
        ));
    }
    let hold_time = ours.hold_time.min(theirs.hold_time);
    let keepalive = if hold_time == 0 {
        0
    } else {
        ours.keepalive
            .unwrap_or(ours.hold_time / 3)
            .min(hold_time / 3)
            .max(1)
    };
    let theirs_families = theirs.families();
    let families = ours
        .families
        .iter()
        .copied()
        .filter(|f| theirs_families.contains(f))
        .collect();
    Ok(Negotiated {
        peer_asn,
        peer_id: theirs.bgp_id,
        hold_time,
        keepalive,
        families,
        four_octet_as,
        peer_graceful_restart: theirs.graceful_restart().cloned(),
    })
}
