//! The `CiliumBGPNodeConfig` spec of one node: its cluster config's instances and peers, with
//! the node's override merged in and the router IDs assigned.
//!
//! Override rules (Cilium's): instances and peers are matched by name; an override's
//! `localASN`, `localPort` and `routerID` replace the instance's, a peer override's
//! `localAddress` becomes the peer's source address. Override entries naming an instance or
//! peer the cluster config lacks have nothing to apply to and are ignored. The node config has
//! no per-peer source port, so a peer override's `localPort` cannot be passed on.

use super::model::{ClusterConfigInput, OverrideInput};
use super::router_id::RouterId;
use ferrule_api::bgp::node_config::v2::{BgpInstance, BgpPeer, NodeConfigSpec};
use ferrule_api::bgp::node_config_override::v2::BgpInstanceOverride;
use std::collections::{BTreeMap, BTreeSet};

/// An instance whose router ID could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    pub instance: String,
}

/// Builds the spec; instances and peers keep the cluster config's order, and only the first
/// of a duplicated name is used.
pub fn node_config_spec(
    config: &ClusterConfigInput,
    override_: Option<&OverrideInput>,
    node: &str,
    router_ids: &BTreeMap<(String, String), RouterId>,
) -> Result<NodeConfigSpec, Exhausted> {
    let mut seen = BTreeSet::new();
    let mut instances = Vec::new();
    for instance in &config.instances {
        if !seen.insert(instance.name.as_str()) {
            continue;
        }
        let adjust = override_.and_then(|o| o.instances.iter().find(|i| i.name == instance.name));
        let router_id = match router_ids.get(&(node.to_owned(), instance.name.clone())) {
            Some(RouterId::Set(id)) => Some(id.clone()),
            Some(RouterId::PoolExhausted) => {
                return Err(Exhausted {
                    instance: instance.name.clone(),
                });
            }
            Some(RouterId::Unset) | None => None,
        };
        let mut peer_names = BTreeSet::new();
        let peers = instance
            .peers
            .iter()
            .filter(|peer| peer_names.insert(peer.name.as_str()))
            .map(|peer| BgpPeer {
                auto_discovery: peer.auto_discovery.clone(),
                local_address: local_address(adjust, &peer.name),
                name: peer.name.clone(),
                peer_asn: Some(peer.peer_asn),
                peer_address: peer.peer_address.clone(),
                peer_config_ref: peer.peer_config_ref.clone(),
            })
            .collect();
        instances.push(BgpInstance {
            local_asn: adjust.and_then(|a| a.local_asn).or(instance.local_asn),
            local_port: adjust.and_then(|a| a.local_port).or(instance.local_port),
            name: instance.name.clone(),
            peers,
            router_id,
        });
    }
    Ok(NodeConfigSpec {
        bgp_instances: instances,
    })
}

fn local_address(adjust: Option<&BgpInstanceOverride>, peer: &str) -> Option<String> {
    adjust?
        .peers
        .iter()
        .find(|p| p.name == peer)?
        .local_address
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testing::{cluster_config, node_override, peer};

    fn ids(entries: &[(&str, &str, RouterId)]) -> BTreeMap<(String, String), RouterId> {
        entries
            .iter()
            .map(|(n, i, id)| (((*n).to_owned(), (*i).to_owned()), id.clone()))
            .collect()
    }

    #[test]
    fn copies_instances_and_peers_with_the_router_id() {
        let config = cluster_config("c")
            .instance(
                "i",
                65000,
                vec![
                    peer("tor")
                        .address("192.0.2.1")
                        .asn(65001)
                        .config("generic"),
                ],
            )
            .build();
        let spec = node_config_spec(
            &config,
            None,
            "a",
            &ids(&[("a", "i", RouterId::Set("192.0.2.10".into()))]),
        )
        .expect("no exhaustion");
        let value = serde_json::to_value(&spec).expect("serializes");
        assert_eq!(
            value,
            serde_json::json!({"bgpInstances": [{
                "localASN": 65000,
                "name": "i",
                "routerID": "192.0.2.10",
                "peers": [{
                    "name": "tor",
                    "peerASN": 65001,
                    "peerAddress": "192.0.2.1",
                    "peerConfigRef": {"name": "generic"},
                }],
            }]})
        );
    }

    #[test]
    fn an_override_replaces_asn_port_and_sets_local_addresses() {
        let config = cluster_config("c")
            .instance("i", 65000, vec![peer("tor"), peer("other")])
            .local_port("i", 1790)
            .build();
        let adjust = node_override("a")
            .local_asn("i", 65100)
            .local_port("i", 1791)
            .local_address("i", "tor", "198.51.100.5")
            .local_address("i", "unknown-peer", "198.51.100.6")
            .local_asn("unknown-instance", 1)
            .build();
        let spec = node_config_spec(&config, Some(&adjust), "a", &BTreeMap::new()).expect("spec");
        let [instance] = &spec.bgp_instances[..] else {
            panic!("one instance, the override adds none: {spec:?}");
        };
        assert_eq!(instance.local_asn, Some(65100));
        assert_eq!(instance.local_port, Some(1791));
        assert_eq!(
            instance.peers[0].local_address.as_deref(),
            Some("198.51.100.5")
        );
        assert_eq!(instance.peers[1].local_address, None);
        assert_eq!(instance.router_id, None, "unset IDs stay unset");
    }

    #[test]
    fn an_override_local_port_works_without_one_in_the_cluster_config() {
        let config = cluster_config("c").instance("i", 65000, vec![]).build();
        let adjust = node_override("a").local_port("i", 179).build();
        let spec = node_config_spec(&config, Some(&adjust), "a", &BTreeMap::new()).expect("spec");
        assert_eq!(spec.bgp_instances[0].local_port, Some(179));
    }

    #[test]
    fn duplicates_keep_the_first_definition() {
        let config = cluster_config("c")
            .instance("i", 65000, vec![peer("p").asn(1), peer("p").asn(2)])
            .instance("i", 65001, vec![])
            .build();
        let spec = node_config_spec(&config, None, "a", &BTreeMap::new()).expect("spec");
        assert_eq!(spec.bgp_instances.len(), 1);
        assert_eq!(spec.bgp_instances[0].local_asn, Some(65000));
        assert_eq!(spec.bgp_instances[0].peers.len(), 1);
        assert_eq!(spec.bgp_instances[0].peers[0].peer_asn, Some(1));
    }

    #[test]
    fn exhaustion_names_the_instance() {
        let config = cluster_config("c").instance("i", 65000, vec![]).build();
        let result = node_config_spec(
            &config,
            None,
            "a",
            &ids(&[("a", "i", RouterId::PoolExhausted)]),
        );
        assert_eq!(
            result,
            Err(Exhausted {
                instance: "i".into()
            })
        );
    }
}
