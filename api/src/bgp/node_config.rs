//! `CiliumBGPNodeConfig`: the BGP configuration of one node, derived by ferrule-bgp from the
//! cluster configs and overrides; the node's BGP speaker reports session state in its status.

use super::common::{Afi, IP_ADDRESS_PATTERN, Safi};
use crate::crds::Assembly;
use crate::meta::Condition;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            v2::CiliumBGPNodeConfig::crd(),
            v2alpha1::CiliumBGPNodeConfig::crd(),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;
    use crate::bgp::common::v2::{AutoDiscovery, PeerConfigRef};

    /// The BGP instances and peers one node runs; the object is named after the node.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumBGPNodeConfig",
        derive = "PartialEq",
        doc = "The BGP instances and peers of one node (named after the node), derived from the cluster configs and overrides.",
        plural = "ciliumbgpnodeconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpnode",
        status = "NodeConfigStatus",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct NodeConfigSpec {
        /// The BGP instances (virtual routers) the node runs, unique by name.
        #[schemars(
            length(min = 1, max = 16),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
        )]
        pub bgp_instances: Vec<BgpInstance>,
    }

    /// One BGP instance of the node.
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
        /// Identifies the instance on the node.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The neighbors of this instance, unique by name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
        pub peers: Vec<BgpPeer>,
        /// The BGP router ID (an IPv4 address) of the instance; unset derives it from the node.
        #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "ipv4"))]
        pub router_id: Option<String>,
    }

    /// A BGP neighbor of a node's instance.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeer {
        /// Discover the peer address instead of setting `peerAddress`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auto_discovery: Option<AutoDiscovery>,
        /// Source address of the session (from an override); unset lets routing choose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub local_address: Option<String>,
        /// Identifies the peer within its instance.
        pub name: String,
        /// The peer's autonomous system number; 0 or unset learns it from the peer's OPEN.
        #[serde(default, rename = "peerASN", skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0, max = u32::MAX))]
        pub peer_asn: Option<i64>,
        /// The peer's IPv4 or IPv6 address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub peer_address: Option<String>,
        /// The `CiliumBGPPeerConfig` with the session settings; unset uses the defaults.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub peer_config_ref: Option<PeerConfigRef>,
    }
}

/// Observed BGP state of a node, written by its BGP speaker.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeConfigStatus {
    /// State of each BGP instance, unique by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub bgp_instances: Vec<BgpInstanceStatus>,
    /// Conditions reporting problems applying the configuration on the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// Observed state of one BGP instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BgpInstanceStatus {
    /// The ASN the instance runs with.
    #[serde(default, rename = "localASN", skip_serializing_if = "Option::is_none")]
    pub local_asn: Option<i64>,
    /// The instance name, as in the spec.
    pub name: String,
    /// State of each session, unique by peer name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub peers: Vec<PeerStatus>,
}

/// Observed state of one BGP session.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    /// When the session reached Established, as an RFC 3339 UTC timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub established_time: Option<String>,
    /// The peer name, as in the spec.
    pub name: String,
    /// The ASN the peer uses.
    #[serde(default, rename = "peerASN", skip_serializing_if = "Option::is_none")]
    pub peer_asn: Option<i64>,
    /// The peer's address.
    pub peer_address: String,
    /// The BGP finite-state-machine state last seen (`idle`, `active`, `established`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peering_state: Option<String>,
    /// Routes exchanged with the peer, per address family.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_count: Vec<RouteCount>,
    /// Timer values negotiated with the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timers: Option<NegotiatedTimers>,
}

/// Routes exchanged with a peer in one address family.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RouteCount {
    /// Routes sent to the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised: Option<i32>,
    /// Address family identifier.
    pub afi: Afi,
    /// Routes received from the peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<i32>,
    /// Subsequent address family identifier.
    pub safi: Safi,
}

/// Timer values in effect on an established session.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NegotiatedTimers {
    /// Hold time agreed with the peer, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_hold_time_seconds: Option<i32>,
    /// Keepalive interval in use, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_keepalive_seconds: Option<i32>,
}

/// Deprecated served version `cilium.io/v2alpha1`: peers have no auto-discovery and name their
/// peer config by group, kind and name.
pub mod v2alpha1 {
    use super::*;
    use crate::bgp::common::v2alpha1::PeerConfigRef;

    /// The BGP instances and peers one node runs (deprecated version).
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumBGPNodeConfig",
        derive = "PartialEq",
        doc = "The BGP instances and peers of one node (deprecated version).",
        plural = "ciliumbgpnodeconfigs",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpnode",
        status = "NodeConfigStatus",
        deprecated,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct NodeConfigSpec {
        /// The BGP instances (virtual routers) the node runs, unique by name.
        #[schemars(
            length(min = 1, max = 16),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
        )]
        pub bgp_instances: Vec<BgpInstance>,
    }

    /// One BGP instance of the node.
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
        /// Identifies the instance on the node.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// The neighbors of this instance, unique by name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
        pub peers: Vec<BgpPeer>,
        /// The BGP router ID (an IPv4 address) of the instance; unset derives it from the node.
        #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "ipv4"))]
        pub router_id: Option<String>,
    }

    /// A BGP neighbor of a node's instance.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeer {
        /// Source address of the session (from an override); unset lets routing choose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub local_address: Option<String>,
        /// Identifies the peer within its instance.
        pub name: String,
        /// The peer's autonomous system number; 0 or unset learns it from the peer's OPEN.
        #[serde(default, rename = "peerASN", skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 0, max = u32::MAX))]
        pub peer_asn: Option<i64>,
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
    use crate::bgp::tests::assert_no_nulls;
    use crate::meta::ConditionStatus;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfig
metadata:
  name: worker-1
spec:
  bgpInstances:
  - name: instance-65000
    localASN: 65000
    routerID: 192.0.2.10
    peers:
    - name: tor-65001
      peerASN: 65001
      peerAddress: 2001:db8::1
      localAddress: 2001:db8::10
      peerConfigRef:
        name: cilium-peer
status:
  bgpInstances:
  - name: instance-65000
    localASN: 65000
    peers:
    - name: tor-65001
      peerAddress: 2001:db8::1
      peerASN: 65001
      peeringState: established
      establishedTime: "2024-05-01T10:00:00Z"
      timers:
        appliedHoldTimeSeconds: 90
        appliedKeepaliveSeconds: 30
      routeCount:
      - afi: ipv6
        safi: unicast
        advertised: 3
        received: 12
  conditions:
  - type: cilium.io/BGPReconcileError
    status: "False"
    reason: ReconcileSucceeded
    message: ""
    lastTransitionTime: "2024-05-01T10:00:00Z"
"#;

    #[test]
    fn v2_manifest_with_status_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let node: v2::CiliumBGPNodeConfig = serde_yaml::from_str(MANIFEST)?;
        let instance = &node.spec.bgp_instances[0];
        assert_eq!(instance.router_id.as_deref(), Some("192.0.2.10"));
        assert_eq!(instance.peers[0].peer_asn, Some(65001));
        assert_eq!(
            instance.peers[0].local_address.as_deref(),
            Some("2001:db8::10")
        );
        let status = node.status.as_ref().ok_or("status parsed")?;
        let peer = &status.bgp_instances[0].peers[0];
        assert_eq!(peer.peering_state.as_deref(), Some("established"));
        assert_eq!(
            peer.route_count,
            [RouteCount {
                advertised: Some(3),
                afi: Afi::Ipv6,
                received: Some(12),
                safi: Safi::Unicast,
            }]
        );
        assert_eq!(
            peer.timers.and_then(|t| t.applied_hold_time_seconds),
            Some(90)
        );
        assert_eq!(status.conditions[0].status, ConditionStatus::False);

        let value = serde_json::to_value(&node)?;
        assert_no_nulls(&value);
        assert_eq!(value["spec"]["bgpInstances"][0]["routerID"], "192.0.2.10");
        assert_eq!(
            serde_json::from_value::<v2::CiliumBGPNodeConfig>(value)?,
            node
        );
        Ok(())
    }

    #[test]
    fn v2alpha1_peer_config_ref_gets_group_and_kind() -> Result<(), Box<dyn std::error::Error>> {
        let manifest = MANIFEST.replace("cilium.io/v2\n", "cilium.io/v2alpha1\n");
        let node: v2alpha1::CiliumBGPNodeConfig = serde_yaml::from_str(&manifest)?;
        let reference = node.spec.bgp_instances[0].peers[0]
            .peer_config_ref
            .as_ref()
            .ok_or("peerConfigRef parsed")?;
        assert_eq!(
            (reference.group.as_str(), reference.kind.as_str()),
            ("cilium.io", "CiliumBGPPeerConfig")
        );
        assert_no_nulls(&serde_json::to_value(&node)?);
        Ok(())
    }
}
