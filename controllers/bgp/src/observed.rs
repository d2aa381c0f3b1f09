//! API objects reduced to what the core and the diff need. Reductions compare equal when
//! nothing the controller cares about changed, so a Node's heartbeat or a status written by
//! someone else costs no pass.

use crate::core::model::{
    ClusterConfigInput, NodeConfigInput, NodeInput, OverrideInput, Owner, PeerConfigInput,
};
use ferrule_api::bgp::cluster_config::v2::CiliumBGPClusterConfig;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::node_config_override::v2::CiliumBGPNodeConfigOverride;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_api::meta::{Condition, ConditionStatus};
use k8s_openapi::api::core::v1::Node;
use std::net::Ipv4Addr;

/// Node annotation carrying the MAC address (`aa:bb:cc:dd:ee:ff`) of the node's host
/// interface, which ferrule-agent publishes. Cilium takes the router ID of IPv6-only nodes
/// from the lower 32 bits of its `cilium_host` MAC, which no Node field carries; this
/// annotation is ferrule's source for the same value.
pub use ferrule_api::names::ferrule_annotation::HOST_MAC_ADDRESS as HOST_MAC_ANNOTATION;

/// The `kind` node configs name their owners with.
pub const CLUSTER_CONFIG_KIND: &str = "CiliumBGPClusterConfig";

/// A condition as stored, reduced to what decides whether to rewrite it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedCondition {
    pub type_: String,
    pub status: bool,
    pub reason: String,
    pub message: String,
    pub observed_generation: Option<i64>,
    /// Kept when the status stays the same.
    pub last_transition_time: String,
}

/// A cluster config with the conditions it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedClusterConfig {
    pub input: ClusterConfigInput,
    pub conditions: Vec<ObservedCondition>,
}

/// A peer config with the conditions it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPeerConfig {
    pub input: PeerConfigInput,
    pub conditions: Vec<ObservedCondition>,
}

pub fn node(node: &Node) -> Option<NodeInput> {
    let name = node.metadata.name.clone()?;
    let addresses = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    let ipv4_of = |kind: &str| {
        addresses
            .iter()
            .filter(|a| a.type_ == kind)
            .find_map(|a| a.address.parse::<Ipv4Addr>().ok())
    };
    let host_mac = node
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HOST_MAC_ANNOTATION))
        .and_then(|text| parse_mac(text));
    Some(NodeInput {
        name,
        labels: node.metadata.labels.clone().unwrap_or_default(),
        ipv4: ipv4_of("InternalIP").or_else(|| ipv4_of("ExternalIP")),
        host_mac,
    })
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-`); anything else is ignored.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.trim().split([':', '-']);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

pub fn cluster_config(config: &CiliumBGPClusterConfig) -> Option<ObservedClusterConfig> {
    let meta = &config.metadata;
    Some(ObservedClusterConfig {
        input: ClusterConfigInput {
            name: meta.name.clone()?,
            uid: meta.uid.clone().unwrap_or_default(),
            generation: meta.generation,
            created: meta.creation_timestamp.as_ref().map(|t| t.0.to_string()),
            node_selector: config.spec.node_selector.clone(),
            instances: config.spec.bgp_instances.clone(),
        },
        conditions: conditions(config.status.as_ref().map(|s| s.conditions.as_slice())),
    })
}

pub fn node_config_override(adjust: &CiliumBGPNodeConfigOverride) -> Option<OverrideInput> {
    Some(OverrideInput {
        name: adjust.metadata.name.clone()?,
        instances: adjust.spec.bgp_instances.clone(),
    })
}

pub fn peer_config(peer: &CiliumBGPPeerConfig) -> Option<ObservedPeerConfig> {
    Some(ObservedPeerConfig {
        input: PeerConfigInput {
            name: peer.metadata.name.clone()?,
            generation: peer.metadata.generation,
            auth_secret_ref: peer.spec.auth_secret_ref.clone(),
        },
        conditions: conditions(peer.status.as_ref().map(|s| s.conditions.as_slice())),
    })
}

pub fn node_config(config: &CiliumBGPNodeConfig) -> Option<NodeConfigInput> {
    let meta = &config.metadata;
    let mut owners: Vec<Owner> = meta
        .owner_references
        .iter()
        .flatten()
        .filter(|r| r.kind == CLUSTER_CONFIG_KIND && r.api_version.starts_with("cilium.io/"))
        .map(|r| Owner {
            name: r.name.clone(),
            uid: r.uid.clone(),
        })
        .collect();
    owners.sort();
    Some(NodeConfigInput {
        name: meta.name.clone()?,
        uid: meta.uid.clone().unwrap_or_default(),
        owners,
        spec: config.spec.clone(),
    })
}

fn conditions(stored: Option<&[Condition]>) -> Vec<ObservedCondition> {
    stored
        .unwrap_or_default()
        .iter()
        .map(|c| ObservedCondition {
            type_: c.r#type.clone(),
            status: c.status == ConditionStatus::True,
            reason: c.reason.clone(),
            message: c.message.clone(),
            observed_generation: c.observed_generation,
            last_transition_time: format_timestamp(c.last_transition_time.0),
        })
        .collect()
}

/// RFC 3339 with second precision, as Kubernetes writes `metav1.Time`.
pub fn format_timestamp(timestamp: jiff::Timestamp) -> String {
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", timestamp)
        .unwrap_or_else(|_| timestamp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn macs_parse_in_both_spellings_and_nothing_else() {
        assert_eq!(
            parse_mac("02:42:c0:00:02:07"),
            Some([2, 0x42, 0xc0, 0, 2, 7])
        );
        assert_eq!(
            parse_mac("02-42-C0-00-02-07"),
            Some([2, 0x42, 0xc0, 0, 2, 7])
        );
        for bad in [
            "",
            "02:42:c0:00:02",
            "02:42:c0:00:02:07:08",
            "2:42:c0:00:02:07",
            "zz:42:c0:00:02:07",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_node_yields_its_internal_ipv4_before_external_and_ignores_ipv6() {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "a", "labels": {"rack": "r0"},
                         "annotations": {HOST_MAC_ANNOTATION: "02:00:c0:00:02:09"}},
            "status": {"addresses": [
                {"type": "InternalIP", "address": "2001:db8::1"},
                {"type": "ExternalIP", "address": "203.0.113.1"},
                {"type": "InternalIP", "address": "192.0.2.1"},
            ]},
        }))
        .expect("a Node");
        let input = super::node(&node).expect("named");
        assert_eq!(input.ipv4, Some(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(input.labels["rack"], "r0");
        assert_eq!(input.host_mac, Some([2, 0, 0xc0, 0, 2, 9]));
    }

    #[test]
    fn only_cluster_config_owners_count() {
        let config: CiliumBGPNodeConfig = serde_json::from_value(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig",
            "metadata": {"name": "a", "uid": "u", "ownerReferences": [
                {"apiVersion": "cilium.io/v2", "kind": "CiliumBGPClusterConfig", "name": "c", "uid": "cu"},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "xu"},
            ]},
            "spec": {"bgpInstances": [{"name": "i"}]},
        }))
        .expect("a node config");
        let input = super::node_config(&config).expect("named");
        assert_eq!(
            input.owners,
            [Owner {
                name: "c".into(),
                uid: "cu".into()
            }]
        );
    }
}
