//! Small builders for the core's tests: objects from JSON as a user would write them, and a
//! node "node-1" with one instance (ASN 65000) and one eBGP peer "tor" whose peer config
//! "cilium-peer" announces the advertisements labelled `advertise: bgp` in both families.

#![allow(clippy::unwrap_used, reason = "test fixtures")]

use crate::desired::{DesiredBgp, DesiredPeer, RouteAttributes};
use crate::family::Family;
use crate::inputs::Inputs;
use crate::views::{EndpointSliceView, ServiceView};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const NODE: &str = "node-1";

pub(crate) fn object<T: DeserializeOwned>(value: Value) -> Arc<T> {
    Arc::new(serde_json::from_value(value).expect("a valid test object"))
}

/// A Service from JSON, as the driver stores it.
pub(crate) fn service_view(value: Value) -> Arc<ServiceView> {
    Arc::new(ServiceView::new(&object::<Service>(value)))
}

/// An EndpointSlice from JSON, as the driver stores it on [`NODE`].
pub(crate) fn slice_view(value: Value) -> Arc<EndpointSliceView> {
    Arc::new(EndpointSliceView::new(
        &object::<EndpointSlice>(value),
        NODE,
    ))
}

pub(crate) fn node_config(instances: Value) -> Value {
    json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig",
        "metadata": {"name": NODE},
        "spec": {"bgpInstances": instances},
    })
}

pub(crate) fn peer_config(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": name}, "spec": spec,
    })
}

pub(crate) fn advertisement(name: &str, labels: Value, advertisements: Value) -> Value {
    json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
        "metadata": {"name": name, "labels": labels},
        "spec": {"advertisements": advertisements},
    })
}

/// A LoadBalancer Service `default/<name>` with the ingress IP `lb_ip`; `extra` is merged
/// into its spec.
pub(crate) fn lb_service(name: &str, lb_ip: &str, extra: Value) -> Value {
    let mut spec =
        json!({"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"]});
    merge(&mut spec, extra);
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"ip": lb_ip}]}},
    })
}

/// An EndpointSlice of `default/<service>` with one endpoint on `node`.
pub(crate) fn slice(service: &str, node: &str, ready: Option<bool>) -> Value {
    let mut conditions = json!({});
    if let Some(ready) = ready {
        conditions = json!({"ready": ready});
    }
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("{service}-abc"), "namespace": "default",
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.5"], "nodeName": node, "conditions": conditions}],
    })
}

pub(crate) fn merge(target: &mut Value, extra: Value) {
    if let (Value::Object(target), Value::Object(extra)) = (target, extra) {
        target.extend(extra);
    }
}

/// The standard node: instance-65000 with peer "tor" (192.0.2.1, AS `peer_asn`) using
/// "cilium-peer"; the node has pod CIDRs and an InternalIP.
pub(crate) fn inputs_with_peer_asn(peer_asn: u32) -> Inputs {
    Inputs {
        node_name: NODE.to_owned(),
        node: Some(object(json!({
            "metadata": {"name": NODE},
            "spec": {"podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}]},
        }))),
        node_config: Some(object(node_config(json!([{
            "name": "instance-65000", "localASN": 65000,
            "peers": [{"name": "tor", "peerAddress": "192.0.2.1", "peerASN": peer_asn,
                       "peerConfigRef": {"name": "cilium-peer"}}],
        }])))),
        peer_configs: vec![object(peer_config(
            "cilium-peer",
            json!({"families": [
                {"afi": "ipv4", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}},
                {"afi": "ipv6", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}},
            ]}),
        ))],
        secrets_namespace: "kube-system".to_owned(),
        ..Inputs::default()
    }
}

/// The standard node with an eBGP peer.
pub(crate) fn inputs() -> Inputs {
    inputs_with_peer_asn(65001)
}

pub(crate) fn first_peer(desired: &DesiredBgp) -> &DesiredPeer {
    desired
        .instances
        .first()
        .and_then(|i| i.peers.first())
        .unwrap_or_else(|| panic!("one instance with a peer expected: {desired:#?}"))
}

/// The first peer's routes of `family`, keyed by prefix text.
pub(crate) fn routes(desired: &DesiredBgp, family: Family) -> BTreeMap<String, RouteAttributes> {
    first_peer(desired)
        .families
        .get(&family)
        .map(|f| {
            f.routes
                .iter()
                .map(|(p, a)| (p.to_string(), a.clone()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn prefixes(desired: &DesiredBgp, family: Family) -> Vec<String> {
    routes(desired, family).into_keys().collect()
}
