//! Watched objects reduced to what the announcer reads.

use crate::core::model::{NodeInput, PolicyInput, ServiceInput, ServiceKey};
use ferrule_api::l2announcement::v2alpha1::CiliumL2AnnouncementPolicy;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use std::collections::BTreeSet;

/// The label an EndpointSlice names its Service with.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A Service's input to the core (without its ready nodes, which come from its slices) and
/// its uid (for Events about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    pub input: ServiceInput,
    pub uid: String,
}

impl ObservedService {
    pub fn from_service(service: &Service) -> Option<Self> {
        let meta = &service.metadata;
        let key = ServiceKey::new(meta.namespace.clone()?, meta.name.clone()?);
        let spec = service.spec.clone().unwrap_or_default();
        let ingress_ips = service
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .map(|ingress| ingress.iter().filter_map(|i| i.ip.clone()).collect())
            .unwrap_or_default();
        Some(Self {
            input: ServiceInput {
                key,
                labels: meta.labels.clone().unwrap_or_default(),
                load_balancer_class: spec.load_balancer_class,
                external_ips: spec.external_ips.unwrap_or_default(),
                ingress_ips,
                external_traffic_local: spec.external_traffic_policy.as_deref() == Some("Local"),
                ready_local_nodes: BTreeSet::new(),
            },
            uid: meta.uid.clone().unwrap_or_default(),
        })
    }
}

/// One EndpointSlice: its Service and the nodes hosting a ready endpoint of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSlice {
    pub service: ServiceKey,
    pub ready_nodes: BTreeSet<String>,
}

impl ObservedSlice {
    /// `None` for slices not owned by a Service (no service-name label).
    pub fn from_slice(slice: &EndpointSlice) -> Option<Self> {
        let meta = &slice.metadata;
        let service = meta.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
        let ready_nodes = slice
            .endpoints
            .iter()
            // An unset `ready` means ready (the API's documented default).
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
            .filter_map(|e| e.node_name.clone())
            .collect();
        Some(Self {
            service: ServiceKey::new(meta.namespace.clone()?, service.clone()),
            ready_nodes,
        })
    }
}

/// `namespace/name` of an EndpointSlice.
pub fn slice_key(slice: &EndpointSlice) -> Option<(String, String)> {
    Some((
        slice.metadata.namespace.clone()?,
        slice.metadata.name.clone()?,
    ))
}

pub fn node_input(node: &Node) -> Option<NodeInput> {
    Some(NodeInput {
        name: node.metadata.name.clone()?,
        labels: node.metadata.labels.clone().unwrap_or_default(),
    })
}

pub fn policy_input(policy: &CiliumL2AnnouncementPolicy) -> Option<PolicyInput> {
    Some(PolicyInput {
        name: policy.metadata.name.clone()?,
        generation: policy.metadata.generation.unwrap_or_default(),
        spec: policy.spec.clone(),
        conditions: policy
            .status
            .as_ref()
            .map(|s| s.conditions.clone())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ready_nodes_count_endpoints_that_are_ready_or_unset() {
        let slice: EndpointSlice = serde_json::from_value(json!({
            "metadata": {"name": "web-abc", "namespace": "shop",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["198.51.100.1"], "nodeName": "n1", "conditions": {"ready": true}},
                {"addresses": ["198.51.100.2"], "nodeName": "n2", "conditions": {"ready": false}},
                {"addresses": ["198.51.100.3"], "nodeName": "n3"},
                {"addresses": ["198.51.100.4"]},
            ],
        }))
        .expect("a valid slice");
        let observed = ObservedSlice::from_slice(&slice).expect("owned by a Service");
        assert_eq!(observed.service, ServiceKey::new("shop", "web"));
        assert_eq!(
            observed.ready_nodes.into_iter().collect::<Vec<_>>(),
            ["n1", "n3"]
        );
    }

    #[test]
    fn service_fields_the_core_reads() {
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "labels": {"a": "b"}},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
                     "externalIPs": ["203.0.113.9"], "loadBalancerClass": "io.cilium/l2-announcer"},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "x"}]}},
        }))
        .expect("a valid Service");
        let observed = ObservedService::from_service(&service).expect("named");
        assert_eq!(observed.uid, "u1");
        assert!(observed.input.external_traffic_local);
        assert_eq!(observed.input.ingress_ips, ["192.0.2.10"]);
        assert_eq!(observed.input.external_ips, ["203.0.113.9"]);
        assert_eq!(
            observed.input.load_balancer_class.as_deref(),
            Some("io.cilium/l2-announcer")
        );
    }
}
