//! The driver against ferrule-testapi: the desired state follows the API objects and the
//! node-local state, reading Secrets from the BGP secrets namespace only.

mod support;

use ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_bgp_control::driver::{Driver, DriverConfig, LocalState};
use ferrule_bgp_control::{DefaultGateways, DesiredBgp, Family, Problem};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use kube::api::{Api, DeleteParams};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;
use support::{Cluster, NODE, WITHIN};
use tokio::sync::watch;

async fn seed(cluster: &Cluster) {
    cluster
        .apply::<Node>(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE},
            "spec": {"podCIDRs": ["10.244.1.0/24"]}}),
        )
        .await;
    cluster
        .apply::<Node>(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-2"},
            "spec": {"podCIDRs": ["10.244.2.0/24"]}}),
        )
        .await;
    cluster
        .apply::<CiliumBGPNodeConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig", "metadata": {"name": NODE},
            "spec": {"bgpInstances": [{"name": "instance-65000", "localASN": 65000, "routerID": "192.0.2.10",
                "peers": [
                    {"name": "tor", "peerAddress": "192.0.2.1", "peerASN": 65001, "peerConfigRef": {"name": "cilium-peer"}},
                    {"name": "gateway", "peerASN": 65002, "peerConfigRef": {"name": "cilium-peer"},
                     "autoDiscovery": {"mode": "DefaultGateway", "defaultGateway": {"addressFamily": "ipv4"}}},
                ]}]},
        }))
        .await;
    // Another node's config must not leak into this node's speaker.
    cluster
        .apply::<CiliumBGPNodeConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig", "metadata": {"name": "node-2"},
            "spec": {"bgpInstances": [{"name": "other", "localASN": 64999, "routerID": "192.0.2.20"}]},
        }))
        .await;
    cluster
        .apply::<CiliumBGPPeerConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig", "metadata": {"name": "cilium-peer"},
            "spec": {"authSecretRef": "bgp-auth", "families": [
                {"afi": "ipv4", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}}]},
        }))
        .await;
    cluster
        .apply::<CiliumBGPAdvertisement>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
            "metadata": {"name": "bgp", "labels": {"advertise": "bgp"}},
            "spec": {"advertisements": [
                {"advertisementType": "PodCIDR"},
                {"advertisementType": "Service", "service": {"addresses": ["LoadBalancerIP"]},
                 "selector": {"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["y"]}]}},
            ]},
        }))
        .await;
    for namespace in ["kube-system", "default"] {
        cluster
            .apply_in::<Secret>(
                namespace,
                json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "bgp-auth", "namespace": namespace},
                "stringData": {"password": format!("from-{namespace}")}}),
            )
            .await;
    }
}

fn peer<'a>(desired: &'a DesiredBgp, name: &str) -> Option<&'a ferrule_bgp_control::DesiredPeer> {
    desired
        .instances
        .first()?
        .peers
        .iter()
        .find(|p| p.name == name)
}

fn prefixes(desired: &DesiredBgp) -> Vec<String> {
    peer(desired, "tor")
        .and_then(|p| p.families.get(&Family::Ipv4Unicast))
        .map(|f| f.routes.keys().map(ToString::to_string).collect())
        .unwrap_or_default()
}

async fn until(
    receiver: &mut watch::Receiver<DesiredBgp>,
    what: &str,
    mut check: impl FnMut(&DesiredBgp) -> bool,
) {
    let reached = tokio::time::timeout(WITHIN, receiver.wait_for(|d| check(d)))
        .await
        .is_ok_and(|r| r.is_ok());
    assert!(
        reached,
        "{what}; last desired state: {:#?}",
        *receiver.borrow()
    );
}

#[tokio::test]
async fn desired_state_follows_objects_secrets_and_gateways() {
    let cluster = Cluster::start().await;
    seed(&cluster).await;
    let (local_tx, local_rx) = watch::channel(LocalState::default());
    let mut config = DriverConfig::new(NODE);
    config.debounce = Duration::from_millis(20);
    let driver = tokio::time::timeout(
        WITHIN,
        Driver::start(cluster.client.clone(), config, local_rx),
    )
    .await
    .expect("the driver lists everything and starts");
    let mut desired = driver.desired();

    // The first published state is already complete: no empty start.
    {
        let first = desired.borrow_and_update().clone();
        assert_eq!(
            first.instances.len(),
            1,
            "only this node's config: {first:#?}"
        );
        let tor = peer(&first, "tor").expect("peer tor runs");
        assert_eq!(
            tor.md5_password.as_ref().map(|p| p.expose().to_owned()),
            Some("from-kube-system".into())
        );
        assert_eq!(prefixes(&first), ["10.244.1.0/24"]);
        assert!(
            peer(&first, "gateway").is_none(),
            "no default gateway known yet"
        );
        assert!(
            first
                .problems
                .iter()
                .any(|p| matches!(p, Problem::NoDefaultGateway { .. }))
        );
    }

    // A LoadBalancer Service gets its ingress IP: announced. Deleted: withdrawn.
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), "default");
    cluster
        .apply_in::<Service>(
            "default",
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
        )
        .await;
    cluster
        .patch_status::<Service>(
            "default",
            "web",
            json!({"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}}),
        )
        .await;
    until(&mut desired, "the service's ingress IP is announced", |d| {
        prefixes(d) == ["10.244.1.0/24", "198.51.100.7/32"]
    })
    .await;
    services
        .delete("web", &DeleteParams::default())
        .await
        .expect("the Service is deleted");
    until(&mut desired, "the deleted service is withdrawn", |d| {
        prefixes(d) == ["10.244.1.0/24"]
    })
    .await;

    // The default gateway appears: the auto-discovered peer runs.
    local_tx
        .send(LocalState {
            default_gateways: DefaultGateways {
                ipv4: Some(Ipv4Addr::new(192, 0, 2, 254)),
                ipv6: None,
            },
            ..LocalState::default()
        })
        .expect("the driver listens");
    until(&mut desired, "the gateway peer runs", |d| {
        peer(d, "gateway").map(|p| p.address) == Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)))
    })
    .await;

    // The secret in the secrets namespace goes away: empty password and a problem, even
    // though a Secret of that name exists in another namespace.
    Api::<Secret>::namespaced(cluster.client.clone(), "kube-system")
        .delete("bgp-auth", &DeleteParams::default())
        .await
        .expect("the Secret is deleted");
    until(&mut desired, "the missing secret means no password", |d| {
        peer(d, "tor").is_some_and(|p| p.md5_password.is_none())
            && d.problems.iter().any(|p| matches!(p, Problem::MissingAuthSecret { namespace, .. } if namespace == "kube-system"))
    })
    .await;

    // The node config goes away: nothing runs.
    Api::<CiliumBGPNodeConfig>::all(cluster.client.clone())
        .delete(NODE, &DeleteParams::default())
        .await
        .expect("the node config is deleted");
    until(&mut desired, "no node config, no instances", |d| {
        d.instances.is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_settled_driver_publishes_nothing_new() {
    let cluster = Cluster::start().await;
    seed(&cluster).await;
    let (_local_tx, local_rx) = watch::channel(LocalState::default());
    let mut config = DriverConfig::new(NODE);
    config.debounce = Duration::from_millis(20);
    let driver = tokio::time::timeout(
        WITHIN,
        Driver::start(cluster.client.clone(), config, local_rx),
    )
    .await
    .expect("the driver starts");
    let mut desired = driver.desired();
    desired.borrow_and_update();
    // Changes that do not concern this node: another node's labels, an unselected object.
    cluster
        .apply::<Node>(json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-2", "labels": {"rack": "b"}}, "spec": {"podCIDRs": ["10.244.2.0/24"]}}))
        .await;
    cluster
        .apply::<CiliumBGPAdvertisement>(
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
            "metadata": {"name": "unselected", "labels": {"advertise": "elsewhere"}},
            "spec": {"advertisements": [{"advertisementType": "PodCIDR"}]}}),
        )
        .await;
    let changed = tokio::time::timeout(Duration::from_secs(2), desired.changed()).await;
    assert!(
        changed.is_err(),
        "an unchanged desired state is not republished: {:#?}",
        *desired.borrow()
    );

    // The driver is alive all the same: selecting the advertisement is published.
    cluster
        .apply::<CiliumBGPAdvertisement>(
            json!({"apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
            "metadata": {"name": "unselected", "labels": {"advertise": "bgp"}},
            "spec": {"advertisements": [{"advertisementType": "PodCIDR"}]}}),
        )
        .await;
    until(
        &mut desired,
        "the newly selected advertisement is listed",
        |d| {
            peer(d, "tor").is_some_and(|p| {
                p.families[&Family::Ipv4Unicast].advertisements == ["bgp", "unselected"]
            })
        },
    )
    .await;
}
