//! `CiliumBGPNodeConfigOverride`: per-node adjustments (router ID, ASN, ports, source
//! addresses) merged into the `CiliumBGPNodeConfig` of the node with the same name.

use super::common::IP_ADDRESS_PATTERN;
use super::with_empty_subresources;
use crate::crds::Assembly;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            with_empty_subresources(v2::CiliumBGPNodeConfigOverride::crd()),
            with_empty_subresources(v2alpha1::CiliumBGPNodeConfigOverride::crd()),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;

    /// Per-node BGP adjustments; applies to the node whose name equals this object's name.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumBGPNodeConfigOverride",
        derive = "PartialEq",
        doc = "Per-node BGP adjustments, applied to the CiliumBGPNodeConfig of the node with the same name.",
        plural = "ciliumbgpnodeconfigoverrides",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpnodeoverride",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct NodeConfigOverrideSpec {
        /// Adjustments per BGP instance, matched by instance name.
        #[schemars(
            length(min = 1),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"])
        )]
        pub bgp_instances: Vec<BgpInstanceOverride>,
    }

    /// Adjustments to one BGP instance of the node.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpInstanceOverride {
        /// Replaces the instance's autonomous system number.
        #[serde(default, rename = "localASN", skip_serializing_if = "Option::is_none")]
        #[schemars(range(min = 1, max = u32::MAX))]
        pub local_asn: Option<i64>,
        /// TCP port the instance listens on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub local_port: Option<i32>,
        /// The instance being adjusted.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
        /// Adjustments per peer, matched by peer name.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
        pub peers: Vec<BgpPeerOverride>,
        /// The router ID (an IPv4 address) of the instance; must be unique among instances.
        #[serde(default, rename = "routerID", skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "ipv4"))]
        pub router_id: Option<String>,
    }

    /// Adjustments to one peer of an instance.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct BgpPeerOverride {
        /// Source address of the session with this peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(pattern(IP_ADDRESS_PATTERN))]
        pub local_address: Option<String>,
        /// Source TCP port of the session with this peer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub local_port: Option<i32>,
        /// The peer being adjusted.
        #[schemars(length(min = 1, max = 255))]
        pub name: String,
    }
}

/// Deprecated served version `cilium.io/v2alpha1`, schema-identical to [`v2`].
pub mod v2alpha1 {
    use super::*;

    /// The v2alpha1 spec: the v2 spec under the old version.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumBGPNodeConfigOverride",
        derive = "PartialEq",
        doc = "Per-node BGP adjustments (deprecated version).",
        plural = "ciliumbgpnodeconfigoverrides",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpnodeoverride",
        deprecated,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(transparent)]
    #[schemars(transparent)]
    pub struct NodeConfigOverrideSpec(pub super::v2::NodeConfigOverrideSpec);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::tests::assert_no_nulls;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumBGPNodeConfigOverride
metadata:
  name: worker-1
spec:
  bgpInstances:
  - name: instance-65000
    routerID: 192.0.2.20
    localPort: 1790
    peers:
    - name: tor-65001
      localAddress: 198.51.100.20
"#;

    #[test]
    fn manifest_round_trips_in_both_versions() -> Result<(), Box<dyn std::error::Error>> {
        let over: v2::CiliumBGPNodeConfigOverride = serde_yaml::from_str(MANIFEST)?;
        let expected = v2::NodeConfigOverrideSpec {
            bgp_instances: vec![v2::BgpInstanceOverride {
                local_asn: None,
                local_port: Some(1790),
                name: "instance-65000".into(),
                peers: vec![v2::BgpPeerOverride {
                    local_address: Some("198.51.100.20".into()),
                    local_port: None,
                    name: "tor-65001".into(),
                }],
                router_id: Some("192.0.2.20".into()),
            }],
        };
        assert_eq!(over.spec, expected);
        let value = serde_json::to_value(&over)?;
        assert_no_nulls(&value);
        assert_eq!(
            serde_json::from_value::<v2::CiliumBGPNodeConfigOverride>(value)?,
            over
        );

        let old: v2alpha1::CiliumBGPNodeConfigOverride =
            serde_yaml::from_str(&MANIFEST.replace("cilium.io/v2\n", "cilium.io/v2alpha1\n"))?;
        assert_eq!(old.spec.0, expected);
        assert_eq!(
            serde_json::to_value(&old.spec)?,
            serde_json::to_value(&over.spec)?
        );
        Ok(())
    }
}
