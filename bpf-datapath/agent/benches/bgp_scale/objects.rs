//! The Kubernetes objects of the benchmark and the timed writes to them.

use std::time::{Duration, Instant};

use ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use futures::{StreamExt as _, stream};
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::agent::apply;
use crate::routers::NODE_V4;

const MANAGER: &str = "bgp-scale-bench";
/// Requests in flight at once: enough to keep the in-process API server busy.
const IN_FLIGHT: usize = 64;

pub struct Objects {
    client: kube::Client,
    node: String,
    services: usize,
}

impl Objects {
    pub fn new(client: kube::Client, node: &str, services: usize) -> Self {
        Self {
            client,
            node: node.to_owned(),
            services,
        }
    }

    fn service_name(i: usize) -> String {
        format!("svc-{i:05}")
    }

    /// The LB IP of Service `i`: a /128 in 2001:db8:1::/64.
    pub fn lb_ip(i: usize) -> String {
        format!("2001:db8:1::{:x}", i + 1)
    }

    /// The Node, the advertisement of every Service's LB IP, and a node config peering with
    /// `peers` (BFD off).
    pub async fn create_base(&self, peers: &[String]) {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": "default"}})).expect("namespace");
        let _ = Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &namespace)
            .await;
        let nodes: Api<Node> = Api::all(self.client.clone());
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": self.node}})).expect("node");
        nodes
            .create(&PostParams::default(), &node)
            .await
            .expect("Node created");
        let addresses =
            json!({"status": {"addresses": [{"type": "InternalIP", "address": NODE_V4}]}});
        nodes
            .patch_status(
                &self.node,
                &PatchParams::default(),
                &Patch::Merge(addresses),
            )
            .await
            .expect("Node status");
        apply(
            Api::<CiliumBGPAdvertisement>::all(self.client.clone()),
            MANAGER,
            json!({
                "apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
                "metadata": {"name": "lb-ips", "labels": {"advertise": "bgp"}},
                "spec": {"advertisements": [{
                    "advertisementType": "Service",
                    "service": {"addresses": ["LoadBalancerIP"]},
                    "selector": {"matchExpressions": [
                        {"key": "somekey", "operator": "NotIn", "values": ["never-used-value"]}]}}]}
            }),
        )
        .await;
        self.set_peers(peers, false).await;
    }

    /// The peer config (default keepalive and hold times; BFD at 100 ms x 3 when `bfd`) and
    /// a node config peering with `peers`.
    pub async fn set_peers(&self, peers: &[String], bfd: bool) {
        let annotations = if bfd {
            json!({
                "bfd.ferrule.io/enabled": "true",
                "bfd.ferrule.io/min-tx-interval": "100ms",
                "bfd.ferrule.io/min-rx-interval": "100ms",
                "bfd.ferrule.io/detect-multiplier": "3"})
        } else {
            json!({})
        };
        apply(
            Api::<CiliumBGPPeerConfig>::all(self.client.clone()),
            MANAGER,
            json!({
                "apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
                "metadata": {"name": "frr-peer", "annotations": annotations},
                "spec": {
                    "timers": {"connectRetryTimeSeconds": 1},
                    "families": [{"afi": "ipv6", "safi": "unicast",
                        "advertisements": {"matchLabels": {"advertise": "bgp"}}}]}
            }),
        )
        .await;
        let peers: Vec<_> = peers
            .iter()
            .enumerate()
            .map(|(k, addr)| {
                json!({"name": format!("frr-{k}"), "peerAddress": addr, "peerASN": 65001,
                       "peerConfigRef": {"name": "frr-peer"}})
            })
            .collect();
        apply(
            Api::<CiliumBGPNodeConfig>::all(self.client.clone()),
            MANAGER,
            json!({
                "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig",
                "metadata": {"name": self.node},
                "spec": {"bgpInstances": [
                    {"name": "instance-65000", "localASN": 65000, "peers": peers}]}
            }),
        )
        .await;
    }

    /// Creates the LoadBalancer Services without LB IPs; returns how long that took.
    pub async fn create_services(&self) -> Duration {
        let services: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let started = Instant::now();
        stream::iter(0..self.services)
            .map(|i| {
                let services = services.clone();
                async move {
                    let service: Service = serde_json::from_value(json!({
                        "metadata": {"namespace": "default", "name": Self::service_name(i)},
                        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]}
                    }))
                    .expect("service");
                    services
                        .create(&PostParams::default(), &service)
                        .await
                        .unwrap_or_else(|e| panic!("creating Service {i}: {e}"));
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<()>()
            .await;
        started.elapsed()
    }

    /// Writes every Service's LB IP into its status (`on`) or clears it; returns when the
    /// first write went out and when the last one was acknowledged.
    pub async fn set_ingress(&self, on: bool) -> (Instant, Instant) {
        let services: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let first = Instant::now();
        stream::iter(0..self.services)
            .map(|i| {
                let services = services.clone();
                async move {
                    let ingress = if on {
                        json!([{"ip": Self::lb_ip(i)}])
                    } else {
                        json!([])
                    };
                    let status = json!({"status": {"loadBalancer": {"ingress": ingress}}});
                    services
                        .patch_status(
                            &Self::service_name(i),
                            &PatchParams::default(),
                            &Patch::Merge(status),
                        )
                        .await
                        .unwrap_or_else(|e| panic!("status of Service {i}: {e}"));
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<()>()
            .await;
        (first, Instant::now())
    }
}
