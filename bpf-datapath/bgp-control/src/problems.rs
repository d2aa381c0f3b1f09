//! Configuration problems found while deriving the desired state. None stops the rest of the
//! configuration from running; each says what to fix.

use crate::family::Family;

/// A configuration mistake, in the words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum Problem {
    #[error("BGP instance {instance}: localASN is not set; the instance does not run")]
    MissingLocalAsn { instance: String },
    #[error("BGP instance {instance}: localASN {value} is not a valid ASN (1..=4294967295)")]
    InvalidLocalAsn { instance: String, value: i64 },
    #[error(
        "BGP instance {instance}: no router ID: routerID is unset and the node has no IPv4 address; the instance does not run"
    )]
    NoRouterId { instance: String },
    #[error("BGP instance {instance}: routerID {value:?} is not an IPv4 address")]
    InvalidRouterId { instance: String, value: String },
    #[error("BGP instance {instance}: localPort {value} is not a TCP port")]
    InvalidLocalPort { instance: String, value: i32 },
    #[error("BGP instance {instance} is listed more than once; only the first runs")]
    DuplicateInstance { instance: String },
    #[error("BGP instance {instance}: peer {peer} is listed more than once; only the first runs")]
    DuplicatePeer { instance: String, peer: String },
    #[error(
        "BGP instance {instance}, peer {peer}: CiliumBGPPeerConfig {peer_config} does not exist; the peer runs with default settings"
    )]
    MissingPeerConfig {
        instance: String,
        peer: String,
        peer_config: String,
    },
    #[error(
        "CiliumBGPPeerConfig {peer_config}: auth secret {namespace}/{secret} not found; sessions use an empty password"
    )]
    MissingAuthSecret {
        peer_config: String,
        namespace: String,
        secret: String,
    },
    #[error(
        "CiliumBGPPeerConfig {peer_config}: auth secret {namespace}/{secret} has no UTF-8 \"password\" key; sessions use an empty password"
    )]
    AuthSecretWithoutPassword {
        peer_config: String,
        namespace: String,
        secret: String,
    },
    #[error(
        "CiliumBGPPeerConfig {peer_config}: family {afi}/{safi} is not supported (only ipv4/unicast and ipv6/unicast); ignored"
    )]
    UnsupportedFamily {
        peer_config: String,
        afi: String,
        safi: String,
    },
    #[error("BGP instance {instance}, peer {peer}: neither peerAddress nor autoDiscovery is set")]
    NoPeerAddress { instance: String, peer: String },
    #[error("BGP instance {instance}, peer {peer}: peerAddress {value:?} is not an IP address")]
    InvalidPeerAddress {
        instance: String,
        peer: String,
        value: String,
    },
    #[error("BGP instance {instance}, peer {peer}: localAddress {value:?} is not an IP address")]
    InvalidLocalAddress {
        instance: String,
        peer: String,
        value: String,
    },
    #[error("BGP instance {instance}, peer {peer}: peerASN {value} is not a valid ASN")]
    InvalidPeerAsn {
        instance: String,
        peer: String,
        value: i64,
    },
    #[error(
        "BGP instance {instance}, peer {peer}: no usable {family:?} default gateway to peer with (link-local gateways are not supported)"
    )]
    NoDefaultGateway {
        instance: String,
        peer: String,
        family: Family,
    },
    #[error("CiliumBGPPeerConfig {peer_config}: a value is out of range: {detail}")]
    InvalidPeerConfigValue { peer_config: String, detail: String },
    #[error("{object}: invalid selector: {error}")]
    InvalidSelector { object: String, error: String },
    #[error("CiliumBGPAdvertisement {advertisement}: community {value:?} is not valid; ignored")]
    InvalidCommunity {
        advertisement: String,
        value: String,
    },
    #[error(
        "CiliumBGPAdvertisement {advertisement}: localPreference {value} is out of range (0..=4294967295); ignored"
    )]
    InvalidLocalPreference { advertisement: String, value: i64 },
    #[error(
        "CiliumBGPAdvertisement {advertisement}: aggregation length {value} is longer than the address; host routes are announced"
    )]
    InvalidAggregationLength { advertisement: String, value: u8 },
    #[error("CiliumBGPAdvertisement {advertisement}: {kind} advertisement lacks its {field} field")]
    IncompleteAdvertisement {
        advertisement: String,
        kind: &'static str,
        field: &'static str,
    },
    #[error(
        "CiliumBGPPeerConfig {peer_config}: annotation {annotation}={value:?} is invalid ({reason}); BFD is off for its peers"
    )]
    InvalidBfdAnnotation {
        peer_config: String,
        annotation: &'static str,
        value: String,
        reason: String,
    },
    #[error("node {node}: pod CIDR {value:?} is not a CIDR")]
    InvalidPodCidr { node: String, value: String },
    #[error("CiliumPodIPPool {pool}: allocated CIDR {value:?} is not a CIDR")]
    InvalidPoolCidr { pool: String, value: String },
}
