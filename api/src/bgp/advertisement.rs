//! `CiliumBGPAdvertisement`: which prefixes to announce to peers, with which path attributes.

use super::common::{LARGE_COMMUNITY_PATTERN, STANDARD_COMMUNITY_PATTERN, plain_integer};
use super::with_empty_subresources;
use crate::crds::Assembly;
use crate::meta::LabelSelector;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![
            with_empty_subresources(v2::CiliumBGPAdvertisement::crd()),
            with_empty_subresources(v2alpha1::CiliumBGPAdvertisement::crd()),
        ],
        storage: "v2",
        root_required: &["metadata", "spec"],
    }
}

/// Served version `cilium.io/v2` (storage).
pub mod v2 {
    use super::*;

    /// Prefixes to announce to the BGP peers whose peer config selects this object.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumBGPAdvertisement",
        derive = "PartialEq",
        doc = "Prefixes (pod CIDRs, pool CIDRs, Service or interface addresses) to announce to the BGP peers whose peer config selects it.",
        plural = "ciliumbgpadvertisements",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpadvert",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct AdvertisementSpec {
        /// What to announce; every entry is announced.
        pub advertisements: Vec<Advertisement>,
    }

    /// One kind of prefix to announce, the objects it comes from and the attributes to attach.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "message": "service field is required for the 'Service' advertisementType",
            "rule": "self.advertisementType != 'Service' || has(self.service)",
        },
        {
            "message": "service field is not allowed for non-'Service' advertisementType",
            "rule": "self.advertisementType == 'Service' || !has(self.service)",
        },
        {
            "message": "interface field is required for the 'Interface' advertisementType",
            "rule": "self.advertisementType != 'Interface' || has(self.interface)",
        },
        {
            "message": "interface field is not allowed for non-'Interface' advertisementType",
            "rule": "self.advertisementType == 'Interface' || !has(self.interface)",
        },
        {
            "message": "selector field is not allowed for the 'PodCIDR' advertisementType",
            "rule": "self.advertisementType != 'PodCIDR' || !has(self.selector)",
        },
    ]))]
    pub struct Advertisement {
        /// The source of the announced prefixes.
        pub advertisement_type: AdvertisementType,
        /// Path attributes attached to the announced routes; unset attaches none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub attributes: Option<BgpAttributes>,
        /// The interface to announce; required for, and only allowed with, `Interface`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interface: Option<InterfaceAdvertisement>,
        /// Selects the pools or Services whose prefixes are announced; unset selects none.
        /// Not allowed with `PodCIDR`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub selector: Option<LabelSelector>,
        /// Which Service addresses to announce; required for, and only allowed with, `Service`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service: Option<ServiceAdvertisement>,
    }

    /// The sources of announced prefixes.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
    pub enum AdvertisementType {
        /// The node's pod CIDRs.
        #[serde(rename = "PodCIDR")]
        PodCidr,
        /// The CIDRs of the selected `CiliumPodIPPool`s allocated to the node.
        #[serde(rename = "CiliumPodIPPool")]
        CiliumPodIpPool,
        /// Addresses of the selected Services.
        Service,
        /// The addresses of a local interface, as host routes.
        Interface,
    }

    /// A local interface whose addresses are announced (each as a /32 or /128).
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct InterfaceAdvertisement {
        /// The interface name.
        pub name: String,
    }
}

/// Path attributes attached to announced routes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BgpAttributes {
    /// Communities attached to the routes; unset attaches none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communities: Option<Communities>,
    /// LOCAL_PREF of the routes (used with iBGP peers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_preference: Option<i64>,
}

/// BGP communities, in any of three spellings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Communities {
    /// Large communities (RFC 8092), each `global:local1:local2` in decimal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(LARGE_COMMUNITY_PATTERN)))]
    pub large: Vec<String>,
    /// Standard communities (RFC 1997), each a decimal 32-bit number or `asn:value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(pattern(STANDARD_COMMUNITY_PATTERN)))]
    pub standard: Vec<String>,
    /// Standard communities given by their well-known names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub well_known: Vec<WellKnownCommunity>,
}

/// Well-known standard communities, by their IANA names.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WellKnownCommunity {
    Internet,
    PlannedShut,
    AcceptOwn,
    RouteFilterTranslatedV4,
    RouteFilterV4,
    RouteFilterTranslatedV6,
    RouteFilterV6,
    LlgrStale,
    NoLlgr,
    Blackhole,
    NoExport,
    NoAdvertise,
    NoExportSubconfed,
    NoPeer,
}

impl WellKnownCommunity {
    /// The 32-bit community value the name stands for.
    pub const fn value(self) -> u32 {
        match self {
            Self::Internet => 0x0000_0000,
            Self::PlannedShut => 0xffff_0000,
            Self::AcceptOwn => 0xffff_0001,
            Self::RouteFilterTranslatedV4 => 0xffff_0002,
            Self::RouteFilterV4 => 0xffff_0003,
            Self::RouteFilterTranslatedV6 => 0xffff_0004,
            Self::RouteFilterV6 => 0xffff_0005,
            Self::LlgrStale => 0xffff_0006,
            Self::NoLlgr => 0xffff_0007,
            Self::Blackhole => 0xffff_029a,
            Self::NoExport => 0xffff_ff01,
            Self::NoAdvertise => 0xffff_ff02,
            Self::NoExportSubconfed => 0xffff_ff03,
            Self::NoPeer => 0xffff_ff04,
        }
    }
}

/// Which addresses of the selected Services are announced, and how they are aggregated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAdvertisement {
    /// The Service address types to announce.
    #[schemars(length(min = 1))]
    pub addresses: Vec<ServiceAddressType>,
    /// Announce IPv4 Service addresses as prefixes of this length instead of /32 host routes.
    #[serde(
        default,
        rename = "aggregationLengthIPv4",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 31), transform = plain_integer)]
    pub aggregation_length_ipv4: Option<u8>,
    /// Announce IPv6 Service addresses as prefixes of this length instead of /128 host routes.
    #[serde(
        default,
        rename = "aggregationLengthIPv6",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 127), transform = plain_integer)]
    pub aggregation_length_ipv6: Option<u8>,
}

/// The Service address types that can be announced.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ServiceAddressType {
    /// The ingress IPs in `.status.loadBalancer` (LoadBalancer Services).
    #[serde(rename = "LoadBalancerIP")]
    LoadBalancerIp,
    /// The `.spec.clusterIPs`.
    #[serde(rename = "ClusterIP")]
    ClusterIp,
    /// The `.spec.externalIPs`.
    #[serde(rename = "ExternalIP")]
    ExternalIp,
}

/// Deprecated served version `cilium.io/v2alpha1`: no `Interface` advertisements, and only
/// the checks that `Service` has a `service` and `PodCIDR` no `selector`.
pub mod v2alpha1 {
    use super::*;

    /// Prefixes to announce to the BGP peers whose peer config selects this object
    /// (deprecated version).
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumBGPAdvertisement",
        derive = "PartialEq",
        doc = "Prefixes to announce to the BGP peers whose peer config selects it (deprecated version).",
        plural = "ciliumbgpadvertisements",
        category = "cilium",
        category = "ciliumbgp",
        shortname = "cbgpadvert",
        deprecated,
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct AdvertisementSpec {
        /// What to announce; every entry is announced.
        pub advertisements: Vec<Advertisement>,
    }

    /// One kind of prefix to announce, the objects it comes from and the attributes to attach.
    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "message": "service field is required for the 'Service' advertisementType",
            "rule": "self.advertisementType != 'Service' || has(self.service)",
        },
        {
            "message": "selector field is not allowed for the 'PodCIDR' advertisementType",
            "rule": "self.advertisementType != 'PodCIDR' || !has(self.selector)",
        },
    ]))]
    pub struct Advertisement {
        /// The source of the announced prefixes.
        pub advertisement_type: AdvertisementType,
        /// Path attributes attached to the announced routes; unset attaches none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub attributes: Option<BgpAttributes>,
        /// Selects the pools or Services whose prefixes are announced; unset selects none.
        /// Not allowed with `PodCIDR`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub selector: Option<LabelSelector>,
        /// Which Service addresses to announce; required with `Service`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service: Option<ServiceAdvertisement>,
    }

    /// The sources of announced prefixes.
    #[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
    pub enum AdvertisementType {
        /// The node's pod CIDRs.
        #[serde(rename = "PodCIDR")]
        PodCidr,
        /// The CIDRs of the selected `CiliumPodIPPool`s allocated to the node.
        #[serde(rename = "CiliumPodIPPool")]
        CiliumPodIpPool,
        /// Addresses of the selected Services.
        Service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp::tests::assert_no_nulls;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumBGPAdvertisement
metadata:
  name: bgp-advertisements
  labels:
    advertise: bgp
spec:
  advertisements:
  - advertisementType: PodCIDR
    attributes:
      communities:
        standard: ["65000:100", "4259840100"]
        large: ["65000:1:2"]
        wellKnown: [no-export, route-filter-translated-v4]
      localPreference: 200
  - advertisementType: Service
    service:
      addresses: [LoadBalancerIP, ClusterIP]
      aggregationLengthIPv4: 24
    selector:
      matchExpressions:
      - key: bgp
        operator: NotIn
        values: [disabled]
  - advertisementType: Interface
    interface:
      name: lo
"#;

    #[test]
    fn v2_manifest_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let advert: v2::CiliumBGPAdvertisement = serde_yaml::from_str(MANIFEST)?;
        let [pods, services, interface] = &advert.spec.advertisements[..] else {
            panic!("three advertisements expected");
        };
        assert_eq!(pods.advertisement_type, v2::AdvertisementType::PodCidr);
        let communities = pods
            .attributes
            .as_ref()
            .and_then(|a| a.communities.as_ref())
            .ok_or("communities parsed")?;
        assert_eq!(
            communities.well_known,
            [
                WellKnownCommunity::NoExport,
                WellKnownCommunity::RouteFilterTranslatedV4
            ]
        );
        assert_eq!(WellKnownCommunity::NoExport.value(), 0xffff_ff01);
        let service = services.service.as_ref().ok_or("service parsed")?;
        assert_eq!(
            service.addresses,
            [
                ServiceAddressType::LoadBalancerIp,
                ServiceAddressType::ClusterIp
            ]
        );
        assert_eq!(service.aggregation_length_ipv4, Some(24));
        assert_eq!(service.aggregation_length_ipv6, None);
        assert_eq!(
            interface.interface,
            Some(v2::InterfaceAdvertisement { name: "lo".into() })
        );

        let value = serde_json::to_value(&advert)?;
        assert_no_nulls(&value);
        assert_eq!(
            value["spec"]["advertisements"][0]["advertisementType"],
            "PodCIDR"
        );
        assert_eq!(
            value["spec"]["advertisements"][1]["service"]["aggregationLengthIPv4"],
            24
        );
        assert_eq!(
            value["spec"]["advertisements"][0]["attributes"]["communities"]["wellKnown"][1],
            "route-filter-translated-v4"
        );
        assert_eq!(
            serde_json::from_value::<v2::CiliumBGPAdvertisement>(value)?,
            advert
        );
        Ok(())
    }

    #[test]
    fn v2alpha1_has_no_interface_advertisements() {
        let manifest = MANIFEST.replace("cilium.io/v2\n", "cilium.io/v2alpha1\n");
        let advert: Result<v2alpha1::CiliumBGPAdvertisement, _> = serde_yaml::from_str(&manifest);
        assert!(advert.is_err(), "the Interface type is v2 only");
        let without_interface = manifest
            .split("  - advertisementType: Interface")
            .next()
            .unwrap_or_default();
        let advert: Result<v2alpha1::CiliumBGPAdvertisement, _> =
            serde_yaml::from_str(without_interface);
        assert!(advert.is_ok(), "{advert:?}");
    }
}
