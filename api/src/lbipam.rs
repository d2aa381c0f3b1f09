//! `CiliumLoadBalancerIPPool`: the address ranges LB-IPAM hands out to LoadBalancer Services.

use crate::crds::Assembly;
use crate::meta::{Condition, LabelSelector};
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            v2::CiliumLoadBalancerIPPool::crd(),
            v2alpha1::CiliumLoadBalancerIPPool::crd(),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;

    /// A pool of IPs that LB-IPAM assigns to LoadBalancer Services matching its selector.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumLoadBalancerIPPool",
        doc = "A pool of IPs that LB-IPAM assigns to LoadBalancer Services.",
        plural = "ciliumloadbalancerippools",
        category = "cilium",
        shortname = "ippools",
        shortname = "ippool",
        shortname = "lbippool",
        shortname = "lbippools",
        status = "PoolStatus",
        printcolumn = r#"{"jsonPath":".spec.disabled","name":"Disabled","type":"boolean"}"#,
        printcolumn = r#"{"jsonPath":".status.conditions[?(@.type==\"cilium.io/PoolConflict\")].status","name":"Conflicting","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".status.conditions[?(@.type==\"cilium.io/IPsAvailable\")].message","name":"IPs Available","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct PoolSpec {
        /// "No" reserves the first and last address of each CIDR block (network and broadcast
        /// style); "Yes" or unset makes every address usable. Ignored for /32, /31, /128, /127
        /// and for start/stop ranges.
        #[serde(
            default,
            rename = "allowFirstLastIPs",
            skip_serializing_if = "Option::is_none"
        )]
        pub allow_first_last_ips: Option<AllowFirstLastIps>,
        /// The address blocks of the pool: CIDRs or start/stop ranges, IPv4 or IPv6.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub blocks: Vec<PoolBlock>,
        /// A disabled pool allocates no new IPs; IPs already handed out stay assigned.
        #[serde(default)]
        pub disabled: bool,
        /// Which Services may receive IPs from this pool; unset selects every Service.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_selector: Option<LabelSelector>,
    }

    /// One block of a pool: either `cidr`, or `start` (and optionally `stop`).
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PoolBlock {
        /// A CIDR such as 192.0.2.0/24 or 2001:db8::/64.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "cidr"))]
        pub cidr: Option<String>,
        /// First address of a range.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub start: Option<String>,
        /// Last address of a range; defaults to `start`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub stop: Option<String>,
    }

    /// Whether the first and last IPs of CIDR blocks may be allocated.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
    pub enum AllowFirstLastIps {
        Yes,
        No,
    }

    /// Observed state of a pool, written by ferrule-lbipam.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PoolStatus {
        /// Pool conditions (`cilium.io/IPsAvailable`, `cilium.io/PoolConflict`, ...).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
        pub conditions: Vec<Condition>,
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
        kind = "CiliumLoadBalancerIPPool",
        doc = "A pool of IPs that LB-IPAM assigns to LoadBalancer Services (deprecated version).",
        plural = "ciliumloadbalancerippools",
        category = "cilium",
        shortname = "ippools",
        shortname = "ippool",
        shortname = "lbippool",
        shortname = "lbippools",
        status = "super::v2::PoolStatus",
        deprecated,
        printcolumn = r#"{"jsonPath":".spec.disabled","name":"Disabled","type":"boolean"}"#,
        printcolumn = r#"{"jsonPath":".status.conditions[?(@.type==\"cilium.io/PoolConflict\")].status","name":"Conflicting","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".status.conditions[?(@.type==\"cilium.io/IPsAvailable\")].message","name":"IPs Available","type":"string"}"#,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(transparent)]
    #[schemars(transparent)]
    pub struct PoolSpec(pub super::v2::PoolSpec);
}
