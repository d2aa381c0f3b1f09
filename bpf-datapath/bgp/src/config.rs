//! What the owner configures: the speaker as a whole and each peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::prefix::Family;

/// The BGP port.
pub const BGP_PORT: u16 = 179;

/// The speaker's own identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalConfig {
    /// Local ASN (4-byte ASNs are fine; AS_TRANS goes in the OPEN).
    pub asn: u32,
    /// BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Listen for peers on this TCP port (all addresses, IPv4 and IPv6); `None` = never accept.
    pub listen_port: Option<u16>,
}

/// Graceful restart (RFC 4724) as restarting speaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestart {
    /// Restart time announced to the peer, seconds (at most 4095).
    pub restart_time: u16,
}

/// One peer. Peers are identified by `address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Name, for status and logs.
    pub name: String,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's TCP port (transport peerPort).
    pub port: u16,
    /// The peer's ASN; `None` accepts any (the learned one is reported in status).
    pub asn: Option<u32>,
    /// Source address of the session (bound before connecting).
    pub local_address: Option<IpAddr>,
    /// Only accept the peer's connection, never connect (needs a listen port).
    pub passive: bool,
    /// Proposed hold time, seconds (0, or at least 3).
    pub hold_time: u16,
    /// Keepalive interval, seconds; a third of the negotiated hold time when unset.
    pub keepalive: Option<u16>,
    /// ConnectRetry time; the timer runs for a random time in [this, 2 * this).
    pub connect_retry: Duration,
    /// TTL of eBGP packets (1 = directly connected); iBGP uses the system default.
    pub ebgp_multihop_ttl: u8,
    /// Families to negotiate; empty means IPv4 and IPv6 unicast.
    pub families: Vec<Family>,
    /// Graceful restart, when enabled.
    pub graceful_restart: Option<GracefulRestart>,
    /// TCP MD5 password (RFC 2385); `None` or empty = no signature.
    pub md5_password: Option<String>,
    /// IPv4 next hop for IPv4 routes when the session has no local IPv4 address.
    pub next_hop_v4: Option<Ipv4Addr>,
    /// IPv6 next hop for IPv6 routes when the session has no local IPv6 address.
    pub next_hop_v6: Option<Ipv6Addr>,
}

impl PeerConfig {
    /// A peer with Cilium's defaults: port 179, hold 90 s, keepalive 30 s, connect retry
    /// 120 s, TTL 1, both families, no graceful restart, no password.
    pub fn new(name: impl Into<String>, address: IpAddr, asn: Option<u32>) -> PeerConfig {
        PeerConfig {
            name: name.into(),
            address,
            port: BGP_PORT,
            asn,
            local_address: None,
            passive: false,
            hold_time: 90,
            keepalive: None,
            connect_retry: Duration::from_secs(120),
            ebgp_multihop_ttl: 1,
            families: Vec::new(),
            graceful_restart: None,
            md5_password: None,
            next_hop_v4: None,
            next_hop_v6: None,
        }
    }

    /// The families to negotiate, with the empty list meaning both.
    pub fn effective_families(&self) -> Vec<Family> {
        if self.families.is_empty() {
            return Family::ALL.to_vec();
        }
        let mut f = self.families.clone();
        f.sort();
        f.dedup();
        f
    }

    pub(crate) fn md5_key(&self) -> Option<&[u8]> {
        self.md5_password
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(str::as_bytes)
    }
}
