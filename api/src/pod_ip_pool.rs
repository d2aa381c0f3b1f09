//! `CiliumPodIPPool`: a named pool of pod CIDRs for multi-pool IPAM, carved into per-node
//! blocks of `maskSize` bits.
//!
//! `v2alpha1` is the served storage version. `v2` is declared but neither served nor stored
//! (upstream ships it that way ahead of a migration); its family pools add per-CIDR reserved
//! ranges and list limits.

#![forbid(unsafe_code)]

use crate::crds::Assembly;
use crate::meta::LabelSelector;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![v2alpha1::CiliumPodIPPool::crd(), v2::CiliumPodIPPool::crd()],
        storage: "v2alpha1",
        root_required: &["spec"],
    }
}

/// Longest IPv4 prefix a per-node block may have.
pub const IPV4_MAX_MASK_SIZE: u8 = 32;
/// Longest IPv6 prefix a per-node block may have.
pub const IPV6_MAX_MASK_SIZE: u8 = 128;

/// `maskSize` is a plain integer upstream (no `format`), bounded per family.
fn mask_size_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer" })
}

/// Narrows the `maskSize` of an inlined family-pool schema to IPv4's 32 bits.
fn ipv4_mask_size(schema: &mut Schema) {
    if let Some(mask) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("maskSize"))
        .and_then(serde_json::Value::as_object_mut)
    {
        mask.insert("maximum".into(), IPV4_MAX_MASK_SIZE.into());
    }
}

/// Declared version `cilium.io/v2`: neither served nor stored.
pub mod v2 {
    use super::*;

    /// A pool of pod CIDRs for multi-pool IPAM, with optional per-CIDR reservations.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumPodIPPool",
        doc = "A pool of pod CIDRs for multi-pool IPAM (unserved future version).",
        plural = "ciliumpodippools",
        category = "cilium",
        shortname = "cpip",
        served = false,
        storage = false,
        derive = "PartialEq"
    )]
    #[serde(rename_all = "camelCase")]
    pub struct PodIpPoolSpec {
        /// Make the first address of every allocated block usable (otherwise reserved).
        /// Ignored for /31, /32, /127 and /128 blocks. Immutable.
        #[serde(default, rename = "allowFirstIP")]
        #[schemars(extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "allowFirstIP is immutable",
        }]))]
        pub allow_first_ip: bool,
        /// Make the last address of every allocated block usable (otherwise reserved).
        /// Ignored for /31, /32, /127 and /128 blocks. Immutable.
        #[serde(default, rename = "allowLastIP")]
        #[schemars(extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "allowLastIP is immutable",
        }]))]
        pub allow_last_ip: bool,
        /// The IPv4 part of the pool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(transform = ipv4_mask_size)]
        pub ipv4: Option<IpFamilyPool>,
        /// The IPv6 part of the pool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ipv6: Option<IpFamilyPool>,
        /// Namespaces whose pods may use the pool; unset means any namespace. ANDed with
        /// `podSelector`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace_selector: Option<LabelSelector>,
        /// Pods that get addresses from this pool when neither they nor their namespace name
        /// a pool by annotation. `io.kubernetes.pod.namespace` and `io.kubernetes.pod.name`
        /// match a pod's namespace and name. A pod matched by two pools of one family gets
        /// no address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_selector: Option<LabelSelector>,
    }

    /// The CIDRs of one IP family, the per-node block size and per-CIDR settings.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "rule": "!has(self.pool) || self.pool.all(p, p.cidr in self.cidrs)",
        "message": "If pool is set, each pool entry must reference a CIDR from cidrs",
    }]))]
    pub struct IpFamilyPool {
        /// The CIDRs per-node blocks are carved from (1 to 32 entries).
        #[schemars(
            length(min = 1, max = 32),
            extend("items" = {"type": "string", "format": "cidr"})
        )]
        pub cidrs: Vec<String>,
        /// Prefix length of the block each node receives. Immutable.
        #[schemars(
            schema_with = "mask_size_schema",
            range(min = 1, max = IPV6_MAX_MASK_SIZE),
            extend("x-kubernetes-validations" = [{
                "rule": "self == oldSelf",
                "message": "maskSize is immutable",
            }])
        )]
        pub mask_size: u8,
        /// Settings for some of the `cidrs`, at most one entry per CIDR.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(
            length(max = 32),
            extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["cidr"])
        )]
        pub pool: Vec<PoolCidrConfig>,
    }

    /// Settings for one CIDR of a family pool.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct PoolCidrConfig {
        /// The CIDR these settings apply to; must be one of the family's `cidrs`.
        #[schemars(extend("format" = "cidr"))]
        pub cidr: String,
        /// Address ranges inside the CIDR that are never allocated.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub reserved_ranges: Vec<ReservedRange>,
    }

    /// An inclusive address range, `start` to `end`.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    pub struct ReservedRange {
        /// The first reserved address.
        pub start: String,
        /// The last reserved address.
        pub end: String,
    }

    impl From<super::v2alpha1::IpFamilyPool> for IpFamilyPool {
        fn from(old: super::v2alpha1::IpFamilyPool) -> Self {
            Self {
                cidrs: old.cidrs,
                mask_size: old.mask_size,
                pool: Vec::new(),
            }
        }
    }

    impl From<super::v2alpha1::PodIpPoolSpec> for PodIpPoolSpec {
        fn from(old: super::v2alpha1::PodIpPoolSpec) -> Self {
            Self {
                allow_first_ip: old.allow_first_ip,
                allow_last_ip: old.allow_last_ip,
                ipv4: old.ipv4.map(Into::into),
                ipv6: old.ipv6.map(Into::into),
                namespace_selector: old.namespace_selector,
                pod_selector: old.pod_selector,
            }
        }
    }
}

/// Served version `cilium.io/v2alpha1` (storage).
pub mod v2alpha1 {
    use super::*;

    /// A pool of pod CIDRs for multi-pool IPAM.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumPodIPPool",
        doc = "A pool of pod CIDRs for multi-pool IPAM, handed to nodes in fixed-size blocks.",
        plural = "ciliumpodippools",
        category = "cilium",
        shortname = "cpip",
        derive = "PartialEq"
    )]
    #[serde(rename_all = "camelCase")]
    pub struct PodIpPoolSpec {
        /// Make the first address of every allocated block usable (otherwise reserved).
        /// Ignored for /31, /32, /127 and /128 blocks. Immutable.
        #[serde(default, rename = "allowFirstIP")]
        #[schemars(extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "allowFirstIP is immutable",
        }]))]
        pub allow_first_ip: bool,
        /// Make the last address of every allocated block usable (otherwise reserved).
        /// Ignored for /31, /32, /127 and /128 blocks. Immutable.
        #[serde(default, rename = "allowLastIP")]
        #[schemars(extend("x-kubernetes-validations" = [{
            "rule": "self == oldSelf",
            "message": "allowLastIP is immutable",
        }]))]
        pub allow_last_ip: bool,
        /// The IPv4 part of the pool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(transform = ipv4_mask_size)]
        pub ipv4: Option<IpFamilyPool>,
        /// The IPv6 part of the pool.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ipv6: Option<IpFamilyPool>,
        /// Namespaces whose pods may use the pool; unset means any namespace. ANDed with
        /// `podSelector`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace_selector: Option<LabelSelector>,
        /// Pods that get addresses from this pool when neither they nor their namespace name
        /// a pool by annotation. `io.kubernetes.pod.namespace` and `io.kubernetes.pod.name`
        /// match a pod's namespace and name. A pod matched by two pools of one family gets
        /// no address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_selector: Option<LabelSelector>,
    }

    /// The CIDRs of one IP family and the per-node block size.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct IpFamilyPool {
        /// The CIDRs per-node blocks are carved from (at least one).
        #[schemars(
            length(min = 1),
            extend("items" = {"type": "string", "format": "cidr"})
        )]
        pub cidrs: Vec<String>,
        /// Prefix length of the block each node receives (at most 32 for IPv4, 128 for
        /// IPv6). Immutable.
        #[schemars(
            schema_with = "mask_size_schema",
            range(min = 1, max = IPV6_MAX_MASK_SIZE),
            extend("x-kubernetes-validations" = [{
                "rule": "self == oldSelf",
                "message": "maskSize is immutable",
            }])
        )]
        pub mask_size: u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2alpha1
kind: CiliumPodIPPool
metadata:
  name: tenant-a
spec:
  ipv4:
    cidrs:
      - 192.0.2.0/24
      - 198.51.100.0/24
    maskSize: 27
  ipv6:
    cidrs:
      - 2001:db8:a::/48
    maskSize: 112
  namespaceSelector:
    matchLabels:
      tenant: a
"#;

    #[test]
    fn parses_a_dual_stack_pool_with_defaults() {
        let pool: v2alpha1::CiliumPodIPPool =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let spec = &pool.spec;
        assert!(!spec.allow_first_ip && !spec.allow_last_ip);
        let v4 = spec.ipv4.as_ref().expect("ipv4");
        assert_eq!(v4.cidrs, ["192.0.2.0/24", "198.51.100.0/24"]);
        assert_eq!(v4.mask_size, 27);
        assert_eq!(spec.ipv6.as_ref().expect("ipv6").mask_size, 112);
        assert!(spec.pod_selector.is_none());
    }

    #[test]
    fn round_trips_without_nulls() {
        let pool: v2alpha1::CiliumPodIPPool =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let json = serde_json::to_value(&pool).expect("serializes");
        assert!(!json.to_string().contains("null"), "{json}");
        assert_eq!(json["spec"]["allowFirstIP"], false);
        let back: v2alpha1::CiliumPodIPPool = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, pool);
    }

    #[test]
    fn v2_reserved_ranges_and_upgrade_from_v2alpha1() {
        let spec: v2::PodIpPoolSpec = serde_json::from_value(serde_json::json!({
            "allowFirstIP": true,
            "ipv4": {
                "cidrs": ["203.0.113.0/24"],
                "maskSize": 28,
                "pool": [{
                    "cidr": "203.0.113.0/24",
                    "reservedRanges": [{ "start": "203.0.113.1", "end": "203.0.113.9" }],
                }],
            },
        }))
        .expect("v2 spec parses");
        let v4 = spec.ipv4.as_ref().expect("ipv4");
        assert_eq!(v4.pool[0].reserved_ranges[0].end, "203.0.113.9");
        assert!(spec.allow_first_ip && !spec.allow_last_ip);

        let old: v2alpha1::CiliumPodIPPool =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let upgraded = v2::PodIpPoolSpec::from(old.spec);
        assert_eq!(upgraded.ipv4.as_ref().expect("ipv4").mask_size, 27);
        assert!(upgraded.ipv4.as_ref().expect("ipv4").pool.is_empty());
        let json = serde_json::to_value(&upgraded).expect("serializes");
        assert!(json["ipv4"].get("pool").is_none());
    }

    #[test]
    fn mask_size_is_bounded_per_family() {
        let crd = serde_json::to_value(v2alpha1::CiliumPodIPPool::crd()).expect("crd serializes");
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        let max = |family: &str| spec[family]["properties"]["maskSize"]["maximum"].as_f64();
        assert_eq!(max("ipv4"), Some(f64::from(IPV4_MAX_MASK_SIZE)));
        assert_eq!(max("ipv6"), Some(f64::from(IPV6_MAX_MASK_SIZE)));
        assert!(
            spec["ipv4"]["properties"]["maskSize"]
                .get("format")
                .is_none()
        );
    }
}
