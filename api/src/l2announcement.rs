//! `CiliumL2AnnouncementPolicy`: which nodes answer ARP / NDP for which Service IPs.

#![forbid(unsafe_code)]

use crate::crds::Assembly;
use crate::meta::{Condition, LabelSelector};
use kube::{CustomResource, CustomResourceExt as _};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) fn assembly() -> Assembly {
    Assembly {
        versions: vec![v2alpha1::CiliumL2AnnouncementPolicy::crd()],
        storage: "v2alpha1",
        root_required: &["metadata"],
    }
}

/// Served version `cilium.io/v2alpha1` (storage; the only version).
pub mod v2alpha1 {
    use super::*;

    /// Which nodes announce which Service IPs on the local link, and over which interfaces.
    #[derive(
        CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema,
    )]
    #[kube(
        group = "cilium.io",
        version = "v2alpha1",
        kind = "CiliumL2AnnouncementPolicy",
        doc = "Selects Services whose IPs a set of nodes announces with ARP (IPv4) and NDP (IPv6).",
        plural = "ciliuml2announcementpolicies",
        category = "cilium",
        shortname = "l2announcement",
        status = "L2AnnouncementPolicyStatus",
        derive = "PartialEq",
        printcolumn = r#"{"jsonPath":".metadata.creationTimestamp","name":"Age","type":"date"}"#
    )]
    #[serde(rename_all = "camelCase")]
    pub struct L2AnnouncementPolicySpec {
        /// Announce the `spec.externalIPs` of the selected Services.
        #[serde(
            default,
            rename = "externalIPs",
            skip_serializing_if = "std::ops::Not::not"
        )]
        pub external_ips: bool,
        /// Regular expressions naming the interfaces to announce on; empty means every
        /// interface.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub interfaces: Vec<String>,
        /// Announce the load-balancer ingress IPs (`status.loadBalancer.ingress`) of the
        /// selected Services.
        #[serde(
            default,
            rename = "loadBalancerIPs",
            skip_serializing_if = "std::ops::Not::not"
        )]
        pub load_balancer_ips: bool,
        /// Nodes that may announce; unset means every node.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub node_selector: Option<LabelSelector>,
        /// Services to announce; unset means every Service with a supported (or no)
        /// load-balancer class. The special keys `io.kubernetes.service.namespace` and
        /// `io.kubernetes.service.name` match a Service's namespace and name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub service_selector: Option<LabelSelector>,
    }

    /// Observed state of a policy, written by ferrule-l2announcer.
    #[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct L2AnnouncementPolicyStatus {
        /// Policy conditions, one per type (for example a malformed selector or interface
        /// expression).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
        pub conditions: Vec<Condition>,
    }
}

#[cfg(test)]
mod tests {
    use super::v2alpha1::*;
    use crate::meta::{ConditionStatus, LabelSelectorOperator};

    const MANIFEST: &str = r#"
apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata:
  name: lab-services
spec:
  serviceSelector:
    matchLabels:
      announce: l2
  nodeSelector:
    matchExpressions:
      - key: node-role.kubernetes.io/control-plane
        operator: DoesNotExist
  interfaces:
    - ^eth[0-9]+
    - ^lab-
  externalIPs: true
  loadBalancerIPs: true
status:
  conditions:
    - type: io.cilium/BadSelector
      status: "False"
      reason: SelectorValid
      message: ""
      lastTransitionTime: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn parses_a_full_policy() {
        let policy: CiliumL2AnnouncementPolicy =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let spec = &policy.spec;
        assert!(spec.external_ips && spec.load_balancer_ips);
        assert_eq!(spec.interfaces, ["^eth[0-9]+", "^lab-"]);
        let nodes = spec.node_selector.as_ref().expect("node selector");
        assert_eq!(
            nodes.match_expressions[0].operator,
            LabelSelectorOperator::DoesNotExist
        );
        let services = spec.service_selector.as_ref().expect("service selector");
        assert_eq!(services.match_labels["announce"], "l2");
        let status = policy.status.as_ref().expect("status");
        assert_eq!(status.conditions[0].status, ConditionStatus::False);
    }

    #[test]
    fn empty_spec_defaults_to_announcing_nothing_everywhere() {
        let spec: L2AnnouncementPolicySpec = serde_json::from_str("{}").expect("empty spec parses");
        assert_eq!(spec, L2AnnouncementPolicySpec::default());
        assert!(!spec.external_ips && !spec.load_balancer_ips);
        assert_eq!(serde_json::to_string(&spec).expect("serializes"), "{}");
    }

    #[test]
    fn round_trips_without_nulls() {
        let policy: CiliumL2AnnouncementPolicy =
            serde_yaml::from_str(MANIFEST).expect("manifest parses");
        let json = serde_json::to_value(&policy).expect("serializes");
        assert!(!json.to_string().contains("null"), "{json}");
        let back: CiliumL2AnnouncementPolicy = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, policy);
    }
}
