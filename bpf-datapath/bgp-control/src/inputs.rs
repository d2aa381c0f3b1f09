//! Everything the desired BGP state of one node is computed from: the Kubernetes objects as
//! the watches hold them (shared, never copied; Services and EndpointSlices reduced to
//! [`crate::views`]), plus what only the node knows (secrets it read, its default gateways,
//! its interface addresses).

use crate::gateway::DefaultGateways;
use crate::views::{EndpointSliceView, ServiceView};
use ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_api::pod_ip_pool::v2alpha1::CiliumPodIPPool;
use k8s_openapi::api::core::v1::Node;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// Observed state for one node. Objects of other nodes may be present; they are ignored.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The name of the node the speaker runs on.
    pub node_name: String,
    /// This node (pod CIDRs, addresses for the router ID); `None` before it is seen.
    pub node: Option<Arc<Node>>,
    /// The node's `CiliumBGPNodeConfig`; `None` means BGP is not configured on the node.
    pub node_config: Option<Arc<CiliumBGPNodeConfig>>,
    pub peer_configs: Vec<Arc<CiliumBGPPeerConfig>>,
    pub advertisements: Vec<Arc<CiliumBGPAdvertisement>>,
    pub services: Vec<Arc<ServiceView>>,
    /// Reduced for this node (see [`EndpointSliceView::new`]).
    pub endpoint_slices: Vec<Arc<EndpointSliceView>>,
    pub pod_ip_pools: Vec<Arc<CiliumPodIPPool>>,
    /// Pool name → CIDRs allocated from it to this node (multi-pool IPAM, as
    /// `CiliumNode.spec.ipam.pools.allocated` lists them).
    pub pool_allocations: BTreeMap<String, Vec<String>>,
    /// The Secrets of the BGP secrets namespace, by name.
    pub auth_secrets: BTreeMap<String, AuthSecret>,
    /// The namespace `auth_secrets` come from (for messages).
    pub secrets_namespace: String,
    /// The node's current default gateways (for `autoDiscovery: DefaultGateway`).
    pub default_gateways: DefaultGateways,
    /// Interface name → its addresses (for `Interface` advertisements).
    pub interface_addresses: BTreeMap<String, Vec<IpAddr>>,
    /// Router ID for instances without `routerID` on a node without an IPv4 address (Cilium
    /// uses the lower 32 bits of a MAC address there; see [`router_id_from_mac`]).
    pub router_id_fallback: Option<Ipv4Addr>,
}

/// What a Secret in the BGP secrets namespace offers as a TCP MD5 password.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthSecret {
    /// The `password` key, as text.
    Password(String),
    /// The Secret has no `password` key, or it is not UTF-8.
    NoPassword,
}

impl std::fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::NoPassword => f.write_str("NoPassword"),
        }
    }
}

impl AuthSecret {
    /// Reads the `password` key of a Secret (`data`, or `stringData` as written by a client
    /// that has not round-tripped through the API server).
    pub fn from_secret(secret: &k8s_openapi::api::core::v1::Secret) -> Self {
        let from_data = secret
            .data
            .as_ref()
            .and_then(|d| d.get("password"))
            .map(|bytes| String::from_utf8(bytes.0.clone()).ok());
        let from_string_data = || {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get("password"))
                .map(|s| Some(s.clone()))
        };
        match from_data.or_else(from_string_data) {
            Some(Some(password)) => Self::Password(password),
            _ => Self::NoPassword,
        }
    }
}

/// The router ID Cilium derives on IPv6-only nodes: the lower 32 bits of a MAC address.
pub fn router_id_from_mac(mac: [u8; 6]) -> Ipv4Addr {
    Ipv4Addr::new(mac[2], mac[3], mac[4], mac[5])
}
