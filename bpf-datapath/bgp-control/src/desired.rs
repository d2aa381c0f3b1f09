//! What the node's BGP speaker should run: per instance its global settings, its peers with
//! their session settings, and per peer and family the routes to announce with their path
//! attributes. Plain data, independent of any speaker implementation.

use crate::family::Family;
use crate::problems::Problem;
use ferrule_bgp_speaker::{LargeCommunity, Prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// Everything the node's speaker should do, and what in the configuration prevented parts of
/// it (the speaker runs what could be derived; problems are for logs and status).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredBgp {
    /// BGP instances in the node config's order; instances that cannot run are left out (and
    /// reported in `problems`).
    pub instances: Vec<DesiredInstance>,
    /// Sorted, without duplicates.
    pub problems: Vec<Problem>,
}

impl DesiredBgp {
    /// Every route table, each shared table once.
    fn tables(&self) -> Vec<&Arc<RouteTable>> {
        let mut out: Vec<&Arc<RouteTable>> = Vec::new();
        let all = self.instances.iter().flat_map(|i| &i.peers);
        for family in all.flat_map(|p| p.families.values()) {
            if !out.iter().any(|t| Arc::ptr_eq(t, &family.routes)) {
                out.push(&family.routes);
            }
        }
        out
    }

    /// Replaces each table equal to one of `previous` by that one, so tables that did not
    /// change keep their identity (and their memory is not held twice while both exist).
    pub fn keep_unchanged_tables(&mut self, previous: &DesiredBgp) {
        let previous = previous.tables();
        let all = self.instances.iter_mut().flat_map(|i| &mut i.peers);
        for family in all.flat_map(|p| p.families.values_mut()) {
            if let Some(old) = previous.iter().find(|old| ***old == family.routes) {
                family.routes = Arc::clone(old);
            }
        }
    }
}

/// One BGP instance (virtual router) on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredInstance {
    pub name: String,
    pub local_asn: u32,
    pub router_id: Ipv4Addr,
    /// TCP port to accept sessions on; `None` means the instance only connects out.
    pub listen_port: Option<u16>,
    /// Peers in the node config's order; peers without a usable address are left out.
    pub peers: Vec<DesiredPeer>,
}

/// One BGP neighbor with everything needed to run the session and fill its Adj-RIB-Out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredPeer {
    /// The peer name in the node config (the key of its status entry).
    pub name: String,
    /// Configured, or discovered from the default route (`autoDiscovery`).
    pub address: IpAddr,
    /// Destination TCP port (`transport.peerPort`, default 179).
    pub port: u16,
    /// `None` (unset or 0) means: accept the ASN the peer sends in its OPEN.
    pub peer_asn: Option<u32>,
    /// Source address of the session; `None` lets routing choose.
    pub local_address: Option<IpAddr>,
    /// Interface whose address is the session's source (`transport.sourceInterface`).
    pub source_interface: Option<String>,
    /// IP TTL of the session's packets when it is eBGP (default 1); iBGP ignores it.
    pub ebgp_multihop_ttl: u8,
    pub timers: Timers,
    pub graceful_restart: GracefulRestart,
    /// TCP MD5 (RFC 2385) password; `None` when no secret is referenced or it was not found
    /// (the session then runs without MD5, which is what an empty password means).
    pub md5_password: Option<Password>,
    /// The `CiliumBGPPeerConfig` in effect; `None` when defaults apply.
    pub peer_config: Option<String>,
    /// The families to negotiate (Multiprotocol capability), each with its routes.
    pub families: BTreeMap<Family, FamilyAdvertisement>,
    /// BFD with the peer, from the peer config's `bfd.ferrule.io/*` annotations; `None` when
    /// off (also when an annotation is invalid: that is reported as a [`Problem`]).
    pub bfd: Option<BfdSpec>,
}

/// A BFD session's timers (RFC 5880 bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval,
/// bfd.DetectMult).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdSpec {
    pub min_tx: Duration,
    pub min_rx: Duration,
    pub detect_multiplier: u8,
}

impl DesiredPeer {
    /// Whether the session is known to be iBGP (same ASN on both sides); `None` while the
    /// peer ASN is to be learned from the OPEN.
    pub fn is_ibgp(&self, local_asn: u32) -> Option<bool> {
        self.peer_asn.map(|asn| asn == local_asn)
    }
}

/// BGP timers in seconds. The speaker applies connect-retry with jitter in
/// `[connect_retry, 2 × connect_retry)`, as Cilium's documentation describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub connect_retry_seconds: u32,
    pub hold_time_seconds: u16,
    pub keepalive_seconds: u16,
}

/// Graceful restart as a restarting speaker (RFC 4724).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestart {
    pub enabled: bool,
    /// Advertised in the capability; 120 unless configured.
    pub restart_time_seconds: u16,
}

/// What is announced to one peer in one family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FamilyAdvertisement {
    /// Names of the `CiliumBGPAdvertisement` objects the family's selector picked, sorted.
    pub advertisements: Vec<String>,
    /// The Adj-RIB-Out of the family: prefixes of the family's address type only. Peers
    /// announced the same routes share one table, and a recomputation keeps the tables that
    /// did not change ([`DesiredBgp::keep_unchanged_tables`]), so an unchanged `Arc` (by
    /// pointer) means unchanged routes.
    pub routes: Arc<RouteTable>,
}

/// Prefix → path attributes of the announced route.
pub type RouteTable = BTreeMap<Prefix, RouteAttributes>;

/// The path attributes Cilium lets advertisements set; next hop, origin and AS path are the
/// speaker's business.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteAttributes {
    /// Standard communities (RFC 1997), well-known names already mapped to their values:
    /// the union over every advertisement announcing the prefix.
    pub communities: BTreeSet<u32>,
    /// Large communities (RFC 8092): the union over every advertisement.
    pub large_communities: BTreeSet<LargeCommunity>,
    /// LOCAL_PREF: the largest any advertisement sets. Left out for peers known to be eBGP;
    /// kept for peers whose ASN is learned at OPEN time, where the speaker must drop it if
    /// the session turns out external (RFC 4271 §5.1.5).
    pub local_preference: Option<u32>,
}

impl RouteAttributes {
    /// Folds another advertisement's attributes for the same prefix in: union of communities,
    /// largest local preference.
    pub fn merge(&mut self, other: &RouteAttributes) {
        self.communities.extend(other.communities.iter().copied());
        self.large_communities
            .extend(other.large_communities.iter().copied());
        self.local_preference = match (self.local_preference, other.local_preference) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// A TCP MD5 password; Debug does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
