//! Configuration problems as Cilium reports them: conditions on the cluster config (and the
//! peer config) that turn True while the problem lasts and False once it is fixed.

mod support;

use serde_json::json;
use support::{Cluster, Controller};

const RESYNC: &[&str] = &["--resync-period", "200ms"];

fn everywhere(asn: u32) -> serde_json::Value {
    json!({"bgpInstances": [{"name": format!("instance-{asn}"), "localASN": asn}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_config_selecting_the_same_node_is_rejected_until_its_selector_is_fixed() {
    let cluster = Cluster::start().await;
    cluster
        .apply_node("a", json!({"rack": "r0"}), Some("192.0.2.1"), json!({}))
        .await;
    let controller = Controller::start(&cluster, "bgp-0", RESYNC).await;
    controller.wait_leader().await;
    cluster
        .apply_cluster_config("first", everywhere(65000))
        .await;
    cluster
        .wait_node_config("a", "from first", |c| {
            c["spec"]["bgpInstances"][0]["localASN"] == 65000
        })
        .await;
    cluster
        .wait_condition(
            "cluster",
            "first",
            "cilium.io/ConflictingClusterConfig",
            "False",
        )
        .await;

    cluster
        .apply_cluster_config("second", everywhere(65001))
        .await;
    let conflict = cluster
        .wait_condition(
            "cluster",
            "second",
            "cilium.io/ConflictingClusterConfig",
            "True",
        )
        .await;
    assert_eq!(conflict["reason"], "ConflictingClusterConfigs");
    let message = conflict["message"].as_str().expect("a message");
    assert!(
        message.contains("node(s) a are configured by CiliumBGPClusterConfig first"),
        "{message}"
    );
    // The node keeps the first config, and stays with it across resyncs (no flapping).
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let a = cluster.node_config("a").await.expect("a keeps its config");
    assert_eq!(a.spec.bgp_instances[0].local_asn, Some(65000));
    let first = cluster
        .condition("cluster", "first", "cilium.io/ConflictingClusterConfig")
        .await
        .expect("present");
    assert_eq!(
        first["status"], "False",
        "only the rejected config reports the conflict"
    );

    let mut fixed = everywhere(65001);
    fixed["nodeSelector"] = json!({"matchLabels": {"rack": "r9"}});
    cluster.apply_cluster_config("second", fixed).await;
    cluster
        .wait_condition(
            "cluster",
            "second",
            "cilium.io/ConflictingClusterConfig",
            "False",
        )
        .await;
    let none = cluster
        .wait_condition("cluster", "second", "cilium.io/NoMatchingNode", "True")
        .await;
    assert_eq!(none["reason"], "NoMatchingNode");

    // Its node appears: it is configured by it, and NoMatchingNode clears.
    cluster
        .apply_node("z", json!({"rack": "r9"}), Some("192.0.2.26"), json!({}))
        .await;
    cluster
        .wait_condition("cluster", "second", "cilium.io/NoMatchingNode", "False")
        .await;
    // z is selected by both: the older config ("first") has it, so the conflict is back.
    cluster
        .wait_condition(
            "cluster",
            "second",
            "cilium.io/ConflictingClusterConfig",
            "True",
        )
        .await;
    let z = cluster.node_config("z").await.expect("z is configured");
    assert_eq!(z.spec.bgp_instances[0].local_asn, Some(65000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_peer_config_is_reported_until_it_exists() {
    let cluster = Cluster::start().await;
    cluster
        .apply_node("a", json!({}), Some("192.0.2.1"), json!({}))
        .await;
    let controller = Controller::start(&cluster, "bgp-0", RESYNC).await;
    controller.wait_leader().await;
    cluster
        .apply_cluster_config(
            "c",
            json!({"bgpInstances": [{"name": "i", "localASN": 65000, "peers": [
                {"name": "p", "peerASN": 65001, "peerAddress": "198.51.100.1", "peerConfigRef": {"name": "typo"}},
            ]}]}),
        )
        .await;
    let missing = cluster
        .wait_condition("cluster", "c", "cilium.io/MissingPeerConfigs", "True")
        .await;
    assert_eq!(missing["reason"], "MissingPeerConfigs");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("typo"))
    );
    cluster
        .wait_node_config("a", "still derived", |_| true)
        .await;
    let since = missing["lastTransitionTime"].clone();

    cluster.apply_peer_config("typo", json!({})).await;
    let fixed = cluster
        .wait_condition("cluster", "c", "cilium.io/MissingPeerConfigs", "False")
        .await;
    assert_eq!(fixed["message"], "");
    assert!(fixed["lastTransitionTime"].is_string());
    assert!(since.is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_config_reports_a_missing_auth_secret_until_it_exists() {
    let cluster = Cluster::start().await;
    let controller = Controller::start(
        &cluster,
        "bgp-0",
        &["--bgp-secrets-namespace", "kube-system"],
    )
    .await;
    controller.wait_leader().await;
    cluster
        .apply_peer_config("md5", json!({"authSecretRef": "bgp-auth"}))
        .await;
    let missing = cluster
        .wait_condition("peer", "md5", "cilium.io/MissingAuthSecret", "True")
        .await;
    assert_eq!(missing["reason"], "MissingAuthSecret");
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("bgp-auth"))
    );
    // A Secret of that name elsewhere does not count.
    cluster.create_secret("default", "bgp-auth").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        cluster
            .condition("peer", "md5", "cilium.io/MissingAuthSecret")
            .await
            .expect("present")["status"],
        "True"
    );
    cluster.create_secret("kube-system", "bgp-auth").await;
    cluster
        .wait_condition("peer", "md5", "cilium.io/MissingAuthSecret", "False")
        .await;
}
