//! Node configs as a user sees them: one per selected node, owned by its cluster config,
//! overrides merged in, gone when the node is no longer selected, and no writes once settled.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{Cluster, Controller};

const RESYNC: &[&str] = &["--resync-period", "200ms"];

async fn rack(cluster: &Cluster) {
    cluster
        .apply_node("a", json!({"bgp": "yes"}), Some("192.0.2.1"), json!({}))
        .await;
    cluster
        .apply_node("b", json!({"bgp": "yes"}), Some("192.0.2.2"), json!({}))
        .await;
    cluster
        .apply_node("c", json!({}), Some("192.0.2.3"), json!({}))
        .await;
    cluster.apply_peer_config("generic", json!({})).await;
    cluster
        .apply_cluster_config(
            "tor",
            json!({
                "nodeSelector": {"matchLabels": {"bgp": "yes"}},
                "bgpInstances": [{
                    "name": "instance-65000",
                    "localASN": 65000,
                    "peers": [{
                        "name": "tor-65001",
                        "peerASN": 65001,
                        "peerAddress": "198.51.100.1",
                        "peerConfigRef": {"name": "generic"},
                    }],
                }],
            }),
        )
        .await;
}

fn instance(config: &Value) -> &Value {
    &config["spec"]["bgpInstances"][0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selected_nodes_get_one_owned_node_config_each_and_lose_it_when_unselected() {
    let cluster = Cluster::start().await;
    rack(&cluster).await;
    let controller = Controller::start(&cluster, "bgp-0", RESYNC).await;
    controller.wait_leader().await;

    let a = cluster.wait_node_config("a", "derived", |_| true).await;
    cluster
        .wait_condition("cluster", "tor", "cilium.io/NoMatchingNode", "False")
        .await;
    let tor = serde_json::to_value(
        kube::Api::<support::CiliumBGPClusterConfig>::all(cluster.client.clone())
            .get("tor")
            .await
            .expect("tor exists"),
    )
    .expect("serializes");
    let owners = a["metadata"]["ownerReferences"]
        .as_array()
        .expect("owner references");
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(owners[0]["kind"], "CiliumBGPClusterConfig");
    assert_eq!(owners[0]["apiVersion"], "cilium.io/v2");
    assert_eq!(owners[0]["name"], "tor");
    assert_eq!(owners[0]["uid"], tor["metadata"]["uid"]);
    assert_eq!(owners[0]["controller"], true);
    assert_eq!(instance(&a)["localASN"], 65000);
    assert_eq!(
        instance(&a)["routerID"],
        "192.0.2.1",
        "default mode: the node's InternalIP"
    );
    assert_eq!(instance(&a)["peers"][0]["peerAddress"], "198.51.100.1");
    assert_eq!(instance(&a)["peers"][0]["peerASN"], 65001);
    assert_eq!(instance(&a)["peers"][0]["peerConfigRef"]["name"], "generic");
    let managers: Vec<&str> = a["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["ferrule-bgp"]);
    let b = cluster.wait_node_config("b", "derived", |_| true).await;
    assert_eq!(instance(&b)["routerID"], "192.0.2.2");
    assert!(
        cluster.node_config("c").await.is_none(),
        "c is not selected"
    );

    // The label goes: the node config goes.
    cluster
        .apply_node("b", json!({}), Some("192.0.2.2"), json!({}))
        .await;
    cluster.wait_no_node_config("b").await;
    // The node goes: its node config goes.
    cluster.delete_node("a").await;
    cluster.wait_no_node_config("a").await;
    // c gets the label: it gets a node config.
    cluster
        .apply_node("c", json!({"bgp": "yes"}), Some("192.0.2.3"), json!({}))
        .await;
    cluster
        .wait_node_config("c", "derived", |c| instance(c)["routerID"] == "192.0.2.3")
        .await;
    // The cluster config goes: everything it derived goes.
    cluster.delete_cluster_config("tor").await;
    cluster.wait_no_node_config("c").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_changes_its_node_only_and_its_removal_reverts_it() {
    let cluster = Cluster::start().await;
    rack(&cluster).await;
    let controller = Controller::start(&cluster, "bgp-0", RESYNC).await;
    controller.wait_leader().await;
    cluster.wait_node_config("b", "derived", |_| true).await;

    cluster
        .apply_override(
            "a",
            json!({"bgpInstances": [{
                "name": "instance-65000",
                "routerID": "203.0.113.10",
                "localASN": 65100,
                "localPort": 1790,
                "peers": [{"name": "tor-65001", "localAddress": "192.0.2.101"}],
            }]}),
        )
        .await;
    let a = cluster
        .wait_node_config("a", "override applied", |c| {
            instance(c)["localASN"] == 65100
        })
        .await;
    assert_eq!(
        instance(&a)["routerID"],
        "203.0.113.10",
        "the override's router ID wins"
    );
    assert_eq!(instance(&a)["localPort"], 1790);
    assert_eq!(instance(&a)["peers"][0]["localAddress"], "192.0.2.101");
    let b = cluster
        .node_config("b")
        .await
        .expect("b still has its config");
    let b = serde_json::to_value(b).expect("serializes");
    assert_eq!(
        instance(&b)["localASN"],
        65000,
        "other nodes keep the cluster config's values"
    );

    kube::Api::<support::CiliumBGPNodeConfigOverride>::all(cluster.client.clone())
        .delete("a", &Default::default())
        .await
        .expect("the override is deleted");
    let a = cluster
        .wait_node_config("a", "override gone", |c| instance(c)["localASN"] == 65000)
        .await;
    assert_eq!(instance(&a)["routerID"], "192.0.2.1");
    assert!(instance(&a).get("localPort").is_none());
    assert!(instance(&a)["peers"][0].get("localAddress").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_cluster_costs_no_writes_across_resyncs() {
    let cluster = Cluster::start().await;
    rack(&cluster).await;
    let controller = Controller::start(&cluster, "bgp-0", RESYNC).await;
    controller.wait_leader().await;
    cluster.wait_node_config("a", "derived", |_| true).await;
    cluster.wait_node_config("b", "derived", |_| true).await;
    cluster
        .wait_condition("peer", "generic", "cilium.io/MissingAuthSecret", "False")
        .await;
    // Let the echo of the last writes arrive, then watch several resync periods go by.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cluster.controller_writes();
    let versions = cluster.node_configs().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        cluster.controller_writes(),
        before,
        "no writes once settled:\n{}",
        controller.log()
    );
    assert_eq!(cluster.node_configs().await, versions);
    // A Node change that does not matter to BGP (a label nobody selects on) writes nothing.
    cluster
        .apply_node(
            "a",
            json!({"bgp": "yes", "unrelated": "x"}),
            Some("192.0.2.1"),
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(cluster.controller_writes(), before);
}
