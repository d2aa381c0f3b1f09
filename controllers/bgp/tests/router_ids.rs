//! Router IDs: the node's address in default mode (the host MAC on IPv6-only nodes), unique
//! pool addresses in ip-pool mode that survive a restart of the controller.

mod support;

use serde_json::json;
use std::collections::BTreeSet;
use support::{Cluster, Controller, router_ids};

const POOL: &[&str] = &[
    "--bgp-router-id-allocation-mode",
    "ip-pool",
    "--bgp-router-id-allocation-ip-pool",
    "198.51.100.0/24",
    "--resync-period",
    "200ms",
];

async fn instances(cluster: &Cluster) {
    cluster
        .apply_cluster_config(
            "c",
            json!({"bgpInstances": [
                {"name": "i1", "localASN": 65000},
                {"name": "i2", "localASN": 65001},
            ]}),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_mode_uses_the_node_ipv4_or_the_host_mac_on_ipv6_only_nodes() {
    let cluster = Cluster::start().await;
    cluster
        .apply_node("v4", json!({}), Some("192.0.2.4"), json!({}))
        .await;
    cluster
        .apply_node(
            "v6",
            json!({}),
            Some("2001:db8::6"),
            json!({"ferrule.io/host-mac-address": "02:00:c6:33:64:07"}),
        )
        .await;
    instances(&cluster).await;
    let controller = Controller::start(&cluster, "bgp-0", &[]).await;
    controller.wait_leader().await;
    cluster.wait_node_config("v4", "derived", |_| true).await;
    cluster.wait_node_config("v6", "derived", |_| true).await;
    let ids = router_ids(&cluster.node_configs().await);
    let id = |node: &str, instance: &str| ids[&(node.to_owned(), instance.to_owned())].as_str();
    assert_eq!(id("v4", "i1"), "192.0.2.4");
    assert_eq!(id("v4", "i2"), "192.0.2.4");
    assert_eq!(
        id("v6", "i1"),
        "198.51.100.7",
        "lower 32 bits of 02:00:c6:33:64:07"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_pool_ids_are_unique_and_survive_a_restart() {
    let cluster = Cluster::start().await;
    for n in 1..=4 {
        cluster
            .apply_node(
                &format!("node-{n}"),
                json!({}),
                Some(&format!("192.0.2.{n}")),
                json!({}),
            )
            .await;
    }
    instances(&cluster).await;
    let mut first = Controller::start(&cluster, "bgp-0", POOL).await;
    first.wait_leader().await;
    for n in 1..=4 {
        cluster
            .wait_node_config(&format!("node-{n}"), "has IDs", |c| {
                c["spec"]["bgpInstances"][1]["routerID"].is_string()
            })
            .await;
    }
    let before_configs = cluster.node_configs().await;
    let before = router_ids(&before_configs);
    assert_eq!(before.len(), 8);
    let unique: BTreeSet<&String> = before.values().collect();
    assert_eq!(unique.len(), 8, "no two instances share an ID: {before:?}");
    assert!(
        before.values().all(|id| id.starts_with("198.51.100.")),
        "{before:?}"
    );
    first.stop().await;

    // Meanwhile a node that sorts first joins; a restarted controller must not shuffle IDs.
    cluster
        .apply_node("node-0", json!({}), Some("192.0.2.100"), json!({}))
        .await;
    let second = Controller::start(&cluster, "bgp-1", POOL).await;
    second.wait_leader().await;
    cluster
        .wait_node_config("node-0", "has IDs", |c| {
            c["spec"]["bgpInstances"][1]["routerID"].is_string()
        })
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let after_configs = cluster.node_configs().await;
    let after = router_ids(&after_configs);
    for (key, id) in &before {
        assert_eq!(after.get(key), Some(id), "{key:?} kept its ID");
    }
    for (name, config) in &before_configs {
        assert_eq!(
            after_configs[name]["metadata"]["resourceVersion"],
            config["metadata"]["resourceVersion"],
            "{name} was not rewritten"
        );
    }
    let unique: BTreeSet<&String> = after.values().collect();
    assert_eq!((after.len(), unique.len()), (10, 10), "{after:?}");
}

/// A pool mistake stops the binary at start with a message, before it touches the cluster.
#[test]
fn a_missing_or_malformed_pool_refuses_to_start() {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(support::BINARY)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .env_remove("RUST_LIB_BACKTRACE")
            .output()
            .expect("ferrule-bgp runs");
        assert!(!output.status.success(), "{args:?} is refused");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let missing = run(&["--bgp-router-id-allocation-mode", "ip-pool"]);
    assert!(
        missing.contains("needs --bgp-router-id-allocation-ip-pool"),
        "{missing}"
    );
    let host_bits = run(&[
        "--bgp-router-id-allocation-mode",
        "ip-pool",
        "--bgp-router-id-allocation-ip-pool",
        "198.51.100.1/24",
    ]);
    assert!(
        host_bits.contains("did you mean 198.51.100.0/24?"),
        "{host_bits}"
    );
}
