//! Small builders for the core's tests.

use super::model::{
    ClusterConfigInput, Input, NodeConfigInput, NodeInput, OverrideInput, Owner, PeerConfigInput,
};
use ferrule_api::bgp::cluster_config::v2::{BgpInstance, BgpPeer};
use ferrule_api::bgp::common::v2::PeerConfigRef;
use ferrule_api::bgp::node_config_override::v2::{BgpInstanceOverride, BgpPeerOverride};
use ferrule_api::meta::LabelSelector;

pub fn input() -> Input {
    Input::default()
}

impl Input {
    pub fn node(mut self, node: impl Into<NodeInput>) -> Self {
        let node = node.into();
        self.nodes.insert(node.name.clone(), node);
        self
    }

    pub fn cluster_config(mut self, config: impl Into<ClusterConfigInput>) -> Self {
        let config = config.into();
        self.cluster_configs.insert(config.name.clone(), config);
        self
    }

    pub fn peer_config(mut self, name: &str, auth_secret_ref: Option<&str>) -> Self {
        self.peer_configs.insert(
            name.to_owned(),
            PeerConfigInput {
                name: name.to_owned(),
                generation: Some(1),
                auth_secret_ref: auth_secret_ref.map(str::to_owned),
            },
        );
        self
    }

    pub fn node_override(mut self, adjust: impl Into<OverrideInput>) -> Self {
        let adjust = adjust.into();
        self.overrides.insert(adjust.name.clone(), adjust);
        self
    }

    pub fn node_config(mut self, existing: NodeConfigInput) -> Self {
        self.node_configs.insert(existing.name.clone(), existing);
        self
    }
}

#[derive(Debug)]
pub struct NodeBuilder(NodeInput);

pub fn node(name: &str) -> NodeBuilder {
    NodeBuilder(NodeInput {
        name: name.to_owned(),
        ..NodeInput::default()
    })
}

impl NodeBuilder {
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.0.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn ipv4(mut self, address: &str) -> Self {
        self.0.ipv4 = Some(address.parse().expect("an IPv4 address"));
        self
    }

    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.0.host_mac = Some(mac);
        self
    }

    pub fn build(self) -> NodeInput {
        self.0
    }
}

impl From<NodeBuilder> for NodeInput {
    fn from(builder: NodeBuilder) -> Self {
        builder.0
    }
}

#[derive(Debug)]
pub struct ClusterConfigBuilder(ClusterConfigInput);

pub fn cluster_config(name: &str) -> ClusterConfigBuilder {
    ClusterConfigBuilder(ClusterConfigInput {
        name: name.to_owned(),
        uid: format!("uid-{name}"),
        generation: Some(1),
        ..ClusterConfigInput::default()
    })
}

impl ClusterConfigBuilder {
    pub fn select(mut self, key: &str, value: &str) -> Self {
        self.0
            .node_selector
            .get_or_insert_with(LabelSelector::default)
            .match_labels
            .insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn created(mut self, timestamp: &str) -> Self {
        self.0.created = Some(timestamp.to_owned());
        self
    }

    pub fn uid(mut self, uid: &str) -> Self {
        self.0.uid = uid.to_owned();
        self
    }

    pub fn instance(mut self, name: &str, asn: i64, peers: Vec<PeerBuilder>) -> Self {
        self.0.instances.push(BgpInstance {
            local_asn: Some(asn),
            local_port: None,
            name: name.to_owned(),
            peers: peers.into_iter().map(|p| p.0).collect(),
        });
        self
    }

    pub fn local_port(mut self, instance: &str, port: i32) -> Self {
        for i in self.0.instances.iter_mut().filter(|i| i.name == instance) {
            i.local_port = Some(port);
        }
        self
    }

    pub fn owner(&self) -> Owner {
        Owner {
            name: self.0.name.clone(),
            uid: self.0.uid.clone(),
        }
    }

    pub fn build(self) -> ClusterConfigInput {
        self.0
    }
}

impl From<ClusterConfigBuilder> for ClusterConfigInput {
    fn from(builder: ClusterConfigBuilder) -> Self {
        builder.0
    }
}

#[derive(Debug)]
pub struct PeerBuilder(BgpPeer);

pub fn peer(name: &str) -> PeerBuilder {
    PeerBuilder(BgpPeer {
        name: name.to_owned(),
        ..BgpPeer::default()
    })
}

impl PeerBuilder {
    pub fn address(mut self, address: &str) -> Self {
        self.0.peer_address = Some(address.to_owned());
        self
    }

    pub fn asn(mut self, asn: i64) -> Self {
        self.0.peer_asn = asn;
        self
    }

    pub fn config(mut self, name: &str) -> Self {
        self.0.peer_config_ref = Some(PeerConfigRef {
            name: name.to_owned(),
        });
        self
    }
}

#[derive(Debug)]
pub struct OverrideBuilder(OverrideInput);

pub fn node_override(node: &str) -> OverrideBuilder {
    OverrideBuilder(OverrideInput {
        name: node.to_owned(),
        instances: Vec::new(),
    })
}

impl OverrideBuilder {
    fn instance(&mut self, name: &str) -> &mut BgpInstanceOverride {
        let position = match self.0.instances.iter().position(|i| i.name == name) {
            Some(position) => position,
            None => {
                self.0.instances.push(BgpInstanceOverride {
                    name: name.to_owned(),
                    ..BgpInstanceOverride::default()
                });
                self.0.instances.len() - 1
            }
        };
        &mut self.0.instances[position]
    }

    pub fn router_id(mut self, instance: &str, id: &str) -> Self {
        self.instance(instance).router_id = Some(id.to_owned());
        self
    }

    pub fn local_asn(mut self, instance: &str, asn: i64) -> Self {
        self.instance(instance).local_asn = Some(asn);
        self
    }

    pub fn local_port(mut self, instance: &str, port: i32) -> Self {
        self.instance(instance).local_port = Some(port);
        self
    }

    pub fn local_address(mut self, instance: &str, peer: &str, address: &str) -> Self {
        self.instance(instance).peers.push(BgpPeerOverride {
            local_address: Some(address.to_owned()),
            local_port: None,
            name: peer.to_owned(),
        });
        self
    }

    pub fn build(self) -> OverrideInput {
        self.0
    }
}

impl From<OverrideBuilder> for OverrideInput {
    fn from(builder: OverrideBuilder) -> Self {
        builder.0
    }
}

/// An existing node config for `node` owned by `config`, with an empty spec.
pub fn node_config_owned_by(node: &str, config: &ClusterConfigBuilder) -> NodeConfigInput {
    NodeConfigInput {
        name: node.to_owned(),
        uid: format!("uid-node-config-{node}"),
        owners: vec![config.owner()],
        ..NodeConfigInput::default()
    }
}
