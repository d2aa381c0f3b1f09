//! `CiliumEgressGatewayPolicy`: traffic from selected pods to selected destinations leaves the
//! cluster through a chosen gateway node, source-NATed to a stable egress IP.

#![forbid(unsafe_code)]

use crate::crds::Assembly;
use crate::meta::LabelSelector;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceSubresources;
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Most gateways one policy may list in `egressGateways`.
pub const MAX_EGRESS_GATEWAYS: usize = 64;

pub(crate) fn assembly() -> Assembly {
    let mut crd = v2::CiliumEgressGatewayPolicy::crd();
    // Upstream declares an empty subresources object (no status); kube-derive omits it.
    for version in &mut crd.spec.versions {
        version
            .subresources
            .get_or_insert_with(CustomResourceSubresources::default);
    }
    Assembly {
        versions: vec![crd],
        storage: "v2",
        root_required: &["metadata"],
    }
}

/// Served version `cilium.io/v2` (storage; the only version).
pub mod v2 {
    use super::*;

    /// Which pod traffic leaves through which gateway node, and with which source IP.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2",
        kind = "CiliumEgressGatewayPolicy",
        doc = "Routes traffic of selected pods to selected destinations through a gateway node that source-NATs it.",
        plural = "ciliumegressgatewaypolicies",
        category = "cilium",
        category = "ciliumpolicy",
        shortname = "cegp",
        derive = "PartialEq",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct EgressGatewayPolicySpec {
        /// Destination CIDRs the policy applies to; a destination matching any of them is
        /// redirected.
        #[serde(rename = "destinationCIDRs")]
        #[schemars(extend("items" = {"type": "string", "format": "cidr"}))]
        pub destination_cidrs: Vec<String>,
        /// The gateway node and its source IP. Ignored when `egressGateways` is non-empty.
        /// Among several matching nodes, the one whose name sorts first is used.
        pub egress_gateway: EgressGateway,
        /// Several gateways sharing the traffic; when non-empty, `egressGateway` is ignored.
        /// Each entry resolves to the first matching node by name.
        #[serde(default)]
        #[schemars(length(max = MAX_EGRESS_GATEWAYS))]
        pub egress_gateways: Vec<EgressGateway>,
        /// Destination CIDRs exempt from redirection; only useful inside `destinationCIDRs`.
        #[serde(
            default,
            rename = "excludedCIDRs",
            skip_serializing_if = "Vec::is_empty"
        )]
        #[schemars(extend("items" = {"type": "string", "format": "cidr"}))]
        pub excluded_cidrs: Vec<String>,
        /// Source pods the policy applies to; a pod matching any entry is selected.
        pub selectors: Vec<EgressRule>,
    }

    /// One gateway: a node selector plus how the source IP is chosen on that node.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct EgressGateway {
        /// The source IP (IPv4 or IPv6) traffic is NATed to; it must be assigned on the
        /// gateway node. With neither this nor `interface`, the first IPv4 address of the
        /// default-route interface is used.
        #[serde(default, rename = "egressIP", skip_serializing_if = "Option::is_none")]
        #[schemars(
            length(max = 39),
            extend("x-kubernetes-validations" = [{
                "rule": "self == '' || isIP(self)",
                "message": "egressIP must be a valid IP address",
            }])
        )]
        pub egress_ip: Option<String>,
        /// The gateway interface whose first IPv4 address becomes the source IP.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub interface: Option<String>,
        /// Candidate gateway nodes; the one whose name sorts first is used.
        pub node_selector: LabelSelector,
    }

    /// Source pods of a policy. The selectors present are ANDed; an empty selector matches
    /// everything of its kind.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct EgressRule {
        /// Namespaces (by their labels) whose pods are selected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace_selector: Option<LabelSelector>,
        /// Nodes (by their labels) whose pods are selected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selector: Option<LabelSelector>,
        /// Pods (by their labels) that are selected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pod_selector: Option<LabelSelector>,
    }

    impl EgressGatewayPolicySpec {
        /// The gateways in effect: `egressGateways` when non-empty, else `egressGateway`.
        pub fn effective_gateways(&self) -> &[EgressGateway] {
            if self.egress_gateways.is_empty() {
                std::slice::from_ref(&self.egress_gateway)
            } else {
                &self.egress_gateways
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MAX_EGRESS_GATEWAYS;
    use super::v2::*;

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2
kind: CiliumEgressGatewayPolicy
metadata:
  name: billing-egress
spec:
  selectors:
    - podSelector:
        matchLabels:
          app: billing
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: billing
  destinationCIDRs:
    - 203.0.113.0/24
    - 2001:db8:100::/48
  excludedCIDRs:
    - 203.0.113.128/25
  egressGateway:
    nodeSelector:
      matchLabels:
        egress: "true"
    egressIP: 198.51.100.10
"#;

    #[test]
    fn parses_a_policy_and_defaults_the_gateway_list() {
        let policy: CiliumEgressGatewayPolicy =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let spec = &policy.spec;
        assert_eq!(
            spec.destination_cidrs,
            ["203.0.113.0/24", "2001:db8:100::/48"]
        );
        assert_eq!(spec.excluded_cidrs, ["203.0.113.128/25"]);
        assert_eq!(
            spec.egress_gateway.egress_ip.as_deref(),
            Some("198.51.100.10")
        );
        assert_eq!(
            spec.egress_gateway.node_selector.match_labels["egress"],
            "true"
        );
        assert!(spec.egress_gateways.is_empty());
        let effective = spec.effective_gateways();
        assert_eq!(effective.len(), 1);
        assert!(std::ptr::eq(&effective[0], &spec.egress_gateway));
        let rule = &spec.selectors[0];
        assert!(rule.node_selector.is_none());
        assert_eq!(
            rule.pod_selector
                .as_ref()
                .expect("pod selector")
                .match_labels["app"],
            "billing"
        );
    }

    #[test]
    fn gateway_list_takes_precedence() {
        let spec: EgressGatewayPolicySpec = serde_json::from_value(serde_json::json!({
            "selectors": [{}],
            "destinationCIDRs": ["0.0.0.0/0"],
            "egressGateway": { "nodeSelector": {} },
            "egressGateways": [
                { "nodeSelector": { "matchLabels": { "zone": "a" } }, "interface": "eth1" },
                { "nodeSelector": { "matchLabels": { "zone": "b" } }, "egressIP": "2001:db8::10" },
            ],
        }))
        .expect("spec parses");
        let gateways = spec.effective_gateways();
        assert_eq!(gateways.len(), 2);
        assert!(gateways.len() <= MAX_EGRESS_GATEWAYS);
        assert_eq!(gateways[0].interface.as_deref(), Some("eth1"));
        assert_eq!(gateways[1].egress_ip.as_deref(), Some("2001:db8::10"));
    }

    #[test]
    fn required_fields_are_required() {
        let missing = serde_json::from_value::<EgressGatewayPolicySpec>(serde_json::json!({
            "destinationCIDRs": ["192.0.2.0/24"],
            "egressGateway": { "nodeSelector": {} },
        }));
        assert!(missing.is_err(), "selectors is required");
    }

    #[test]
    fn round_trips_without_nulls() {
        let policy: CiliumEgressGatewayPolicy =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let json = serde_json::to_value(&policy).expect("serializes");
        assert!(!json.to_string().contains("null"), "{json}");
        assert_eq!(json["spec"]["egressGateways"], serde_json::json!([]));
        let back: CiliumEgressGatewayPolicy = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, policy);
    }
}
