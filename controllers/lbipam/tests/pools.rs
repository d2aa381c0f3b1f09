//! Pool lifecycle through the API: disabling, overlapping pools, edits that keep IPs, and a
//! removed block moving its services with an Event naming the old and new IP.

mod support;

use serde_json::json;
use support::{Cluster, Controller, PoolBuilder, ServiceBuilder, in_cidr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_pool_keeps_its_allocations_and_hands_out_nothing_new() {
    let cluster = Cluster::start().await;
    let pool = PoolBuilder::new("blue").cidr("192.0.2.0/24");
    cluster.apply_pool(&pool).await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "old"))
        .await;
    let old = cluster.wait_satisfied("default", "old", 1).await;

    cluster.apply_pool(&pool.clone().disabled(true)).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "new"))
        .await;
    cluster
        .wait_condition("default", "new", "False", "no_pool")
        .await;
    assert_eq!(cluster.ips("default", "old").await, old, "existing IP kept");

    cluster.apply_pool(&pool.disabled(false)).await;
    cluster.wait_satisfied("default", "new", 1).await;
    assert_eq!(cluster.ips("default", "old").await, old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_later_of_two_overlapping_pools_conflicts_until_the_overlap_goes() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(
            &PoolBuilder::new("first")
                .cidr("192.0.2.0/25")
                .selector(json!({"matchLabels": {"pool": "first"}})),
        )
        .await;
    // Creation timestamps have second precision: make "second" clearly later.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = PoolBuilder::new("second")
        .cidr("192.0.2.64/26")
        .selector(json!({"matchLabels": {"pool": "second"}}));
    cluster.apply_pool(&second).await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;

    let conflict = cluster
        .wait_pool_condition("second", "cilium.io/PoolConflict", "True", None)
        .await;
    assert_eq!(conflict["reason"], "cidr_overlap");
    let message = conflict["message"].as_str().expect("a message");
    assert!(message.contains("first"), "names the other pool: {message}");
    cluster
        .wait_pool_condition("first", "cilium.io/PoolConflict", "False", None)
        .await;
    // The conflicting pool allocates nothing.
    cluster
        .apply_service(&ServiceBuilder::new("default", "wants-second").label("pool", "second"))
        .await;
    cluster
        .wait_condition("default", "wants-second", "False", "no_pool")
        .await;

    // Moving it out of the overlap: it recovers by itself.
    cluster
        .apply_pool(&second.without_blocks().cidr("198.51.100.0/26"))
        .await;
    cluster
        .wait_pool_condition("second", "cilium.io/PoolConflict", "False", None)
        .await;
    let ips = cluster.wait_satisfied("default", "wants-second", 1).await;
    assert!(in_cidr(&ips[0], "198.51.100.0/26"), "{ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_pool_never_moves_a_service_whose_ip_stays_valid() {
    let cluster = Cluster::start().await;
    let pool = PoolBuilder::new("blue")
        .cidr("192.0.2.0/28")
        .selector(json!({"matchLabels": {"team": "web"}}));
    cluster.apply_pool(&pool).await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let mut before = Vec::new();
    for i in 0..4 {
        let name = format!("svc-{i}");
        cluster
            .apply_service(&ServiceBuilder::new("default", &name).label("team", "web"))
            .await;
        before.push(cluster.wait_satisfied("default", &name, 1).await);
    }
    let service_writes = || {
        cluster
            .api
            .server()
            .requests
            .count("patch", "services", "status")
    };
    let before_edit = service_writes();
    // A block added in front, and a broader selector: all current IPs stay valid.
    cluster
        .apply_pool(
            &PoolBuilder::new("blue")
                .cidr("192.0.1.0/28")
                .cidr("192.0.2.0/28")
                .selector(json!({"matchExpressions": [
                    {"key": "team", "operator": "In", "values": ["web", "api"]}
                ]})),
        )
        .await;
    cluster
        .wait_pool_condition("blue", "cilium.io/IPsTotal", "Unknown", Some("32"))
        .await;
    for (i, ips) in before.iter().enumerate() {
        assert_eq!(&cluster.ips("default", &format!("svc-{i}")).await, ips);
    }
    // Only the pool's own status changed (counts, observedGeneration).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        service_writes(),
        before_edit,
        "no service rewritten after the edit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_block_moves_its_services_with_an_event_naming_both_ips() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/30"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "web"))
        .await;
    let old = cluster.wait_satisfied("default", "web", 1).await;

    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("198.51.100.0/30"))
        .await;
    let new = support::eventually("web moved to the new block", support::WITHIN, || async {
        let ips = cluster.ips("default", "web").await;
        (ips.len() == 1 && in_cidr(&ips[0], "198.51.100.0/30")).then_some(ips)
    })
    .await;
    let events = support::eventually("an Event about the move", support::WITHIN, || async {
        let events = cluster.events_about("default", "web").await;
        events
            .iter()
            .any(|e| e.contains(&old[0]) && e.contains(&new[0]))
            .then_some(events)
    })
    .await;
    assert!(
        events.iter().any(|e| e.starts_with("IPReallocated")),
        "{events:?}"
    );
}
