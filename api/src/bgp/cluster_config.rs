//! `CiliumBGPClusterConfig`: which nodes run BGP, with which instances and peers.

use super::common::IP_ADDRESS_PATTERN;
use crate::crds::Assembly;
use crate::meta::{Condition, LabelSelector};
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            v2::CiliumBGPClusterConfig::crd(),
            v2alpha1::CiliumBGPClusterConfig::crd(),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// Unset or 0 accepts whatever ASN the peer announces in its OPEN message.
fn default_peer_asn() -> i64 {
    0
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;
    use crate::bgp::common::v2::{AutoDiscovery, PeerConfigRef};

    /// Cluster-wide BGP intent: the virtual routers to run on the selected nodes.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumBGPClusterConfig",
        derive = "PartialEq",
        doc = "Cluster-wide BGP intent: the BGP instances and peers the selected nodes run.",
        plural = "ciliumbgpclusterconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpcluster",
        status = "ClusterConfigStatus",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct ClusterConfigSpec {
        /// The BGP instances (virtual routers) every selected node runs, unique by name.
        #[schemars(
            length(min = 1, max = 16),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
        )]
        pub bgp_instances: Vec<BgpInstance>,
        /// The nodes this configuration applies to; unset selects every node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selector: Option<LabelSelector>,
    }

    /// One BGP instance (virtual router) and its peers.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpInstance {
        /// The instance's own autonomous system number (4-byte ASNs allowed).
        #[serde(default, rename = "localASN", skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = u32::MAX))]
        pub local_asn: Option<i64>,
        /// TCP port the instance accepts BGP connections on; unset means it only dials out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 65535))]
        pub local_port: Option<i32>,
        /// Identifies the instance within this configuration.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The neighbors of this instance, unique by name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
        pub peers: Vec<BgpPeer>,
    }

    /// A BGP neighbor of an instance.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeer {
        /// Discover the peer address instead of setting `peerAddress`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auto_discovery: Option<AutoDiscovery>,
        /// Identifies the peer within its instance.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The peer's autonomous system number; 0 learns it from the peer's OPEN message.
        #[serde(default = "default_peer_asn", rename = "peerASN")]
        #[schemars(range(min = 0, max = u32::MAX))]
        pub peer_asn: i64,
        /// The peer's IPv4 or IPv6 address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub peer_address: Option<String>,
        /// The `CiliumBGPPeerConfig` with the session settings; unset uses the defaults.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub peer_config_ref: Option<PeerConfigRef>,
    }

    /// Observed state of a cluster configuration.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ClusterConfigStatus {
        /// Conditions reporting problems such as missing peer configs or conflicting nodes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
        pub conditions: Vec<Condition>,
    }
}

/// Deprecated served version `cilium.io/v2alpha1`: peers have no auto-discovery and name their
/// peer config by group, kind and name.
pub mod v2alpha1 {
    use super::*;
    use crate::bgp::common::v2alpha1::PeerConfigRef;

    /// Cluster-wide BGP intent (deprecated version).
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumBGPClusterConfig",
        derive = "PartialEq",
        doc = "Cluster-wide BGP intent: the BGP instances and peers the selected nodes run (deprecated version).",
        plural = "ciliumbgpclusterconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpcluster",
        status = "super::v2::ClusterConfigStatus",
        deprecated,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct ClusterConfigSpec {
        /// The BGP instances (virtual routers) every selected node runs, unique by name.
        #[schemars(
            length(min = 1, max = 16),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
        )]
        pub bgp_instances: Vec<BgpInstance>,
        /// The nodes this configuration applies to; unset selects every node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selector: Option<LabelSelector>,
    }

    /// One BGP instance (virtual router) and its peers.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpInstance {
        /// The instance's own autonomous system number (4-byte ASNs allowed).
        #[serde(default, rename = "localASN", skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = u32::MAX))]
        pub local_asn: Option<i64>,
        /// TCP port the instance accepts BGP connections on; unset means it only dials out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = 65535))]
        pub local_port: Option<i32>,
        /// Identifies the instance within this configuration.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The neighbors of this instance, unique by name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
        pub peers: Vec<BgpPeer>,
    }

    /// A BGP neighbor of an instance.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeer {
        /// Identifies the peer within its instance.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The peer's autonomous system number; 0 learns it from the peer's OPEN message.
        #[serde(default = "default_peer_asn", rename = "peerASN")]
        #[schemars(range(min = 0, max = u32::MAX))]
        pub peer_asn: i64,
        /// The peer's IPv4 or IPv6 address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub peer_address: Option<String>,
        /// The peer configuration object with the session settings; unset uses the defaults.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub peer_config_ref: Option<PeerConfigRef>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::common::v2::{AutoDiscoveryMode, IpFamily};
    use crate::bgp::tests::assert_no_nulls;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata:
  name: cilium-bgp
spec:
  nodeSelector:
    matchLabels:
      rack: rack0
  bgpInstances:
  - name: instance-65000
    localASN: 65000
    peers:
    - name: tor-65001
      peerASN: 65001
      peerAddress: 192.0.2.1
      peerConfigRef:
        name: cilium-peer
    - name: gateway
      autoDiscovery:
        mode: DefaultGateway
        defaultGateway:
          addressFamily: ipv6
      peerConfigRef:
        name: cilium-peer
"#;

    #[test]
    fn v2_manifest_round_trips_with_defaults() -> Result<(), Box<dyn std::error::Error>> {
        let config: v2::CiliumBGPClusterConfig = serde_yaml::from_str(MANIFEST)?;
        let instance = &config.spec.bgp_instances[0];
        assert_eq!(instance.local_asn, Some(65000));
        assert_eq!(instance.local_port, None);
        let [tor, gateway] = &instance.peers[..] else {
            panic!("two peers expected, got {:?}", instance.peers);
        };
        assert_eq!(tor.peer_asn, 65001);
        assert_eq!(tor.peer_address.as_deref(), Some("192.0.2.1"));
        assert_eq!(
            gateway.peer_asn, 0,
            "peerASN defaults to 0 (learn from OPEN)"
        );
        let discovery = gateway
            .auto_discovery
            .as_ref()
            .ok_or("autoDiscovery parsed")?;
        assert_eq!(discovery.mode, AutoDiscoveryMode::DefaultGateway);
        assert_eq!(
            discovery.default_gateway.as_ref().map(|g| g.address_family),
            Some(IpFamily::Ipv6)
        );

        let value = serde_json::to_value(&config)?;
        assert_no_nulls(&value);
        assert_eq!(value["spec"]["bgpInstances"][0]["peers"][1]["peerASN"], 0);
        assert_eq!(
            serde_json::from_value::<v2::CiliumBGPClusterConfig>(value)?,
            config
        );
        Ok(())
    }

    #[test]
    fn v2alpha1_peer_config_ref_gets_group_and_kind() -> Result<(), Box<dyn std::error::Error>> {
        let manifest = MANIFEST
            .replace("cilium.io/v2\n", "cilium.io/v2alpha1\n")
            .replace(
                "    - name: gateway\n      autoDiscovery:\n        mode: DefaultGateway\n        defaultGateway:\n          addressFamily: ipv6\n",
                "    - name: gateway\n",
            );
        let config: v2alpha1::CiliumBGPClusterConfig = serde_yaml::from_str(&manifest)?;
        let reference = config.spec.bgp_instances[0].peers[1]
            .peer_config_ref
            .as_ref()
            .ok_or("peerConfigRef parsed")?;
        assert_eq!(reference.group, "cilium.io");
        assert_eq!(reference.kind, "CiliumBGPPeerConfig");
        assert_eq!(reference.name, "cilium-peer");
        assert_no_nulls(&serde_json::to_value(&config)?);
        Ok(())
    }

    #[test]
    fn v2alpha1_ignores_v2_only_fields() {
        // v2alpha1 has no autoDiscovery; like the API server's pruning, unknown fields are
        // dropped rather than rejected.
        let config: Result<v2alpha1::CiliumBGPClusterConfig, _> =
            serde_yaml::from_str(&MANIFEST.replace("cilium.io/v2\n", "cilium.io/v2alpha1\n"));
        assert!(config.is_ok(), "{config:?}");
    }
}
