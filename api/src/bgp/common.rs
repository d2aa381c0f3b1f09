//! Pieces several BGP CRDs share: address and community patterns, address families, peer
//! config references and peer auto-discovery.

use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

/// An IPv4 or IPv6 address (IPv6 optionally with a `%zone`), surrounding blanks allowed; the
/// validation upstream attaches to peer and local addresses.
pub const IP_ADDRESS_PATTERN: &str = r"((^\s*((([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5]))\s*$)|(^\s*((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?\s*$))";

/// A BGP standard community: `<0-4294967295>` or `<0-65535>:<0-65535>`.
pub const STANDARD_COMMUNITY_PATTERN: &str = r"^([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])$|^([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]):([0-9]|[1-9][0-9]{1,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$";

/// A BGP large community: `<0-4294967295>:<0-4294967295>:<0-4294967295>`.
pub const LARGE_COMMUNITY_PATTERN: &str = r"^([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5]):([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5]):([0-9]|[1-9][0-9]{1,8}|[1-3][0-9]{9}|4[01][0-9]{8}|42[0-8][0-9]{7}|429[0-3][0-9]{6}|4294[0-8][0-9]{5}|42949[0-5][0-9]{4}|429496[0-6][0-9]{3}|4294967[01][0-9]{2}|42949672[0-8][0-9]|429496729[0-5])$";

/// Drops the `format` schemars derives from the Rust integer type, for fields whose upstream
/// schema is a plain `integer` (a Go `int`).
pub(crate) fn plain_integer(schema: &mut Schema) {
    schema.remove("format");
}

/// Address family identifier (AFI) of a multiprotocol BGP family.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Afi {
    Ipv4,
    Ipv6,
    L2vpn,
    Ls,
    Opaque,
}

/// Subsequent address family identifier (SAFI) of a multiprotocol BGP family.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Safi {
    Unicast,
    Multicast,
    MplsLabel,
    Encapsulation,
    Vpls,
    Evpn,
    Ls,
    SrPolicy,
    Mup,
    MplsVpn,
    MplsVpnMulticast,
    RouteTargetConstraints,
    FlowspecUnicast,
    FlowspecVpn,
    KeyValue,
}

/// Shared sub-schemas of the `v2` versions.
pub mod v2 {
    use super::*;

    /// Names the `CiliumBGPPeerConfig` that configures a peer.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PeerConfigRef {
        /// Name of the `CiliumBGPPeerConfig` object.
        pub name: String,
    }

    /// Finds the peer address at run time instead of configuring it.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct AutoDiscovery {
        /// Settings of the `DefaultGateway` mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub default_gateway: Option<DefaultGatewayDiscovery>,
        /// How the peer is discovered.
        pub mode: AutoDiscoveryMode,
    }

    /// The ways a peer address can be discovered.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
    pub enum AutoDiscoveryMode {
        /// Peer with the node's default gateway.
        DefaultGateway,
    }

    /// Peering with the node's default gateway.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct DefaultGatewayDiscovery {
        /// Which default route (IPv4 or IPv6) names the gateway.
        pub address_family: IpFamily,
    }

    /// An IP address family.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum IpFamily {
        Ipv4,
        Ipv6,
    }
}

/// Shared sub-schemas of the deprecated `v2alpha1` versions.
pub mod v2alpha1 {
    use super::*;

    /// Names the peer configuration object of a peer, by group, kind and name.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PeerConfigRef {
        /// API group of the referenced object.
        #[serde(default = "default_group")]
        pub group: String,
        /// Kind of the referenced object.
        #[serde(default = "default_kind")]
        pub kind: String,
        /// Name of the referenced object.
        pub name: String,
    }

    impl Default for PeerConfigRef {
        fn default() -> Self {
            Self {
                group: default_group(),
                kind: default_kind(),
                name: String::new(),
            }
        }
    }

    fn default_group() -> String {
        "cilium.io".to_owned()
    }

    fn default_kind() -> String {
        "CiliumBGPPeerConfig".to_owned()
    }
}
