//! What the speaker reports about each peer (maps onto CiliumBGPNodeConfig status).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::fsm::State;
use crate::prefix::Family;

/// The state of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The configured name.
    pub name: String,
    /// The peer's address.
    pub address: IpAddr,
    /// The configured peer ASN, or the one learned from its OPEN.
    pub peer_asn: Option<u32>,
    /// Our ASN.
    pub local_asn: u32,
    /// Session state; [`State::as_str`] gives Cilium's `peeringState` string.
    pub state: State,
    /// When the session became established (wall clock), while it is.
    pub established_at: Option<SystemTime>,
    /// How long the session has been established, while it is.
    pub uptime: Option<Duration>,
    /// Negotiated hold time, seconds (`appliedHoldTimeSeconds`), while established.
    pub hold_time: Option<u16>,
    /// Keepalive interval in use, seconds (`appliedKeepaliveSeconds`), while established.
    pub keepalive: Option<u16>,
    /// Per configured family: counts (`routeCount`) and why it is not advertised, if so.
    pub families: Vec<FamilyStatus>,
    /// Why the session last went down or failed, if it did.
    pub last_error: Option<String>,
}

/// One family of one peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyStatus {
    /// The family (`afi`/`safi` via [`Family::afi_name`] and [`Family::safi_name`]).
    pub family: Family,
    /// Both sides announced it in the current session.
    pub negotiated: bool,
    /// Prefixes currently advertised to the peer.
    pub advertised: u32,
    /// Distinct prefixes currently received from the peer.
    pub received: u32,
    /// Set when the family is negotiated but not advertised (no next hop of that family).
    pub not_advertised: Option<String>,
}

impl PeerStatus {
    pub(crate) fn idle(
        name: String,
        address: IpAddr,
        peer_asn: Option<u32>,
        local_asn: u32,
        families: &[Family],
    ) -> PeerStatus {
        PeerStatus {
            name,
            address,
            peer_asn,
            local_asn,
            state: State::Idle,
            established_at: None,
            uptime: None,
            hold_time: None,
            keepalive: None,
            families: families
                .iter()
                .map(|&family| FamilyStatus {
                    family,
                    negotiated: false,
                    advertised: 0,
                    received: 0,
                    not_advertised: None,
                })
                .collect(),
            last_error: None,
        }
    }
}
