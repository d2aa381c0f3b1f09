//! What the core plans from ([`Input`]) and what it decides ([`Plan`]). Plain data: the
//! [`crate::observed`] module fills the inputs from API objects, [`crate::diff`] compares the
//! plan with what is stored.

use ferrule_api::bgp::cluster_config::v2::BgpInstance;
use ferrule_api::bgp::node_config::v2::NodeConfigSpec;
use ferrule_api::bgp::node_config_override::v2::BgpInstanceOverride;
use ferrule_api::meta::LabelSelector;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// How router IDs are chosen (`--bgp-router-id-allocation-mode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterIdMode {
    /// The node's IPv4 address, or the lower 32 bits of its host MAC on IPv6-only nodes.
    Default,
    /// Unique addresses from an IPv4 pool (`--bgp-router-id-allocation-ip-pool`).
    IpPool(Ipv4Pool),
}

/// An IPv4 prefix router IDs are allocated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Pool {
    network: u32,
    prefix_len: u8,
}

/// Why a pool could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("{0:?} is not an IPv4 prefix like 10.0.0.0/24")]
    Syntax(String),
    #[error("{0:?} has host bits set (did you mean {1}?)")]
    HostBits(String, String),
}

impl Ipv4Pool {
    /// Parses `a.b.c.d/len`; host bits must be zero.
    pub fn parse(text: &str) -> Result<Self, PoolError> {
        let syntax = || PoolError::Syntax(text.to_owned());
        let (address, len) = text.trim().split_once('/').ok_or_else(syntax)?;
        let address: Ipv4Addr = address.parse().map_err(|_| syntax())?;
        let prefix_len: u8 = len.parse().map_err(|_| syntax())?;
        if prefix_len > 32 {
            return Err(syntax());
        }
        let pool = Self {
            network: u32::from(address) & mask(prefix_len),
            prefix_len,
        };
        if pool.network != u32::from(address) {
            return Err(PoolError::HostBits(text.to_owned(), pool.to_string()));
        }
        Ok(pool)
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & mask(self.prefix_len) == self.network
    }

    /// The addresses handed out, lowest first: all of them, except the network and broadcast
    /// addresses of prefixes that have others, and never 0.0.0.0 (BGP forbids a zero
    /// identifier).
    pub fn usable(&self) -> impl Iterator<Item = Ipv4Addr> + use<> {
        let last = self.network | !mask(self.prefix_len);
        let (first, last) = if self.prefix_len <= 30 {
            (self.network + 1, last - 1)
        } else {
            (self.network, last)
        };
        (first.max(1)..=last).map(Ipv4Addr::from)
    }

    /// Whether `address` is one [`Self::usable`] would hand out.
    pub fn is_usable(&self, address: Ipv4Addr) -> bool {
        let value = u32::from(address);
        let last = self.network | !mask(self.prefix_len);
        self.contains(address)
            && value != 0
            && (self.prefix_len > 30 || (value != self.network && value != last))
    }
}

impl std::fmt::Display for Ipv4Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix_len)
    }
}

fn mask(prefix_len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0)
}

/// Settings of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub router_id: RouterIdMode,
}

/// What the core needs of a Node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInput {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The first IPv4 InternalIP, else the first IPv4 ExternalIP.
    pub ipv4: Option<Ipv4Addr>,
    /// The host interface MAC the node agent publishes (see
    /// [`crate::observed::HOST_MAC_ANNOTATION`]).
    pub host_mac: Option<[u8; 6]>,
}

/// What the core needs of a `CiliumBGPClusterConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterConfigInput {
    pub name: String,
    pub uid: String,
    pub generation: Option<i64>,
    /// RFC 3339 creation time, the first tie-breaker between conflicting configs.
    pub created: Option<String>,
    pub node_selector: Option<LabelSelector>,
    pub instances: Vec<BgpInstance>,
}

/// What the core needs of a `CiliumBGPNodeConfigOverride` (named after its node).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverrideInput {
    pub name: String,
    pub instances: Vec<BgpInstanceOverride>,
}

/// What the core needs of a `CiliumBGPPeerConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerConfigInput {
    pub name: String,
    pub generation: Option<i64>,
    pub auth_secret_ref: Option<String>,
}

/// A cluster config a node config names as its owner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    pub name: String,
    pub uid: String,
}

/// An existing `CiliumBGPNodeConfig`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeConfigInput {
    pub name: String,
    pub uid: String,
    /// Its owner references to `CiliumBGPClusterConfig`s; non-empty means ferrule-bgp (or
    /// Cilium's operator) derived it, so it may be pruned.
    pub owners: Vec<Owner>,
    pub spec: NodeConfigSpec,
}

/// Everything a pass plans from.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub nodes: BTreeMap<String, NodeInput>,
    pub cluster_configs: BTreeMap<String, ClusterConfigInput>,
    pub overrides: BTreeMap<String, OverrideInput>,
    pub peer_configs: BTreeMap<String, PeerConfigInput>,
    /// Names of the Secrets in the BGP secrets namespace.
    pub secrets: BTreeSet<String>,
    pub node_configs: BTreeMap<String, NodeConfigInput>,
}

/// The node config a node should have.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredNodeConfig {
    pub owner: Owner,
    pub spec: NodeConfigSpec,
}

/// A status condition the core wants on an object (the apply layer adds the transition time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCondition {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

/// Conditions for one object, computed at `generation`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlannedConditions {
    pub generation: Option<i64>,
    pub conditions: Vec<PlannedCondition>,
}

/// A warning worth a Kubernetes Event on a cluster config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlannedEvent {
    pub cluster_config: String,
    pub reason: &'static str,
    pub note: String,
}

/// What a pass decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// By node name.
    pub node_configs: BTreeMap<String, DesiredNodeConfig>,
    /// Derived node configs no node should have any more.
    pub prune: BTreeSet<String>,
    pub cluster_configs: BTreeMap<String, PlannedConditions>,
    pub peer_configs: BTreeMap<String, PlannedConditions>,
    pub events: Vec<PlannedEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_parse_and_refuse_host_bits() {
        let pool = Ipv4Pool::parse("10.0.0.0/24").expect("a valid pool");
        assert_eq!(pool.to_string(), "10.0.0.0/24");
        assert!(pool.contains("10.0.0.77".parse().expect("ip")));
        assert!(!pool.contains("10.0.1.1".parse().expect("ip")));
        assert_eq!(
            Ipv4Pool::parse("10.0.0.1/24"),
            Err(PoolError::HostBits(
                "10.0.0.1/24".into(),
                "10.0.0.0/24".into()
            ))
        );
        for bad in ["10.0.0.0", "10.0.0.0/33", "2001:db8::/64", "x/8"] {
            assert!(Ipv4Pool::parse(bad).is_err(), "{bad} refused");
        }
    }

    #[test]
    fn usable_skips_network_broadcast_and_zero() {
        let pool = Ipv4Pool::parse("192.0.2.0/30").expect("pool");
        let got: Vec<String> = pool.usable().map(|a| a.to_string()).collect();
        assert_eq!(got, ["192.0.2.1", "192.0.2.2"]);
        assert!(!pool.is_usable("192.0.2.3".parse().expect("ip")));
        let pair = Ipv4Pool::parse("192.0.2.0/31").expect("pool");
        assert_eq!(pair.usable().count(), 2, "a /31 has no network address");
        let zero = Ipv4Pool::parse("0.0.0.0/31").expect("pool");
        let got: Vec<String> = zero.usable().map(|a| a.to_string()).collect();
        assert_eq!(got, ["0.0.0.1"], "0.0.0.0 is never a router ID");
        assert_eq!(
            Ipv4Pool::parse("0.0.0.0/0").expect("pool").usable().next(),
            Some(Ipv4Addr::new(0, 0, 0, 1))
        );
    }
}
