//! Restart safety and write economy: a restarted binary rebuilds every allocation from the
//! Services' status (zero reassignments, zero writes), a settled cluster costs no writes per
//! resync, and only the leader writes.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::{Cluster, Controller, PoolBuilder, ServiceBuilder, assert_no_ip_twice};

const RESYNC: &[&str] = &["--resync-period", "300ms"];

/// 30 services: IPv4, IPv6, dual-stack, and a sharing group.
async fn populate(cluster: &Cluster) -> Vec<(String, usize)> {
    cluster
        .apply_pool(&PoolBuilder::new("v4").cidr("192.0.2.0/24"))
        .await;
    cluster
        .apply_pool(&PoolBuilder::new("v6").cidr("2001:db8::/64"))
        .await;
    let mut expected = Vec::new();
    for i in 0..30 {
        let name = format!("svc-{i:02}");
        let service = match i % 5 {
            0 => (
                ServiceBuilder::new("default", &name).policy("SingleStack", &["IPv6"]),
                1,
            ),
            1 => (
                ServiceBuilder::new("default", &name).policy("RequireDualStack", &["IPv4", "IPv6"]),
                2,
            ),
            2 => (
                ServiceBuilder::new("default", &name)
                    .annotation("lbipam.cilium.io/sharing-key", "shared")
                    .ports(&[(1000 + i, "TCP")]),
                1,
            ),
            _ => (ServiceBuilder::new("default", &name), 1),
        };
        cluster.apply_service(&service.0).await;
        expected.push((name, service.1));
    }
    expected
}

async fn settled_ips(
    cluster: &Cluster,
    expected: &[(String, usize)],
) -> BTreeMap<String, Vec<String>> {
    for (name, count) in expected {
        cluster.wait_satisfied("default", name, *count).await;
    }
    cluster.all_ips().await
}

/// IPs without the sharing group, whose members hold one IP together by design.
fn unshared(ips: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let shared: Vec<&String> = ips
        .iter()
        .filter(|(name, _)| {
            name.trim_start_matches("default/svc-")
                .parse::<u32>()
                .is_ok_and(|i| i % 5 == 2)
        })
        .map(|(name, _)| name)
        .collect();
    let mut rest = ips.clone();
    for name in shared.iter().skip(1) {
        rest.remove(*name);
    }
    rest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reassigns_nothing_and_writes_nothing() {
    let cluster = Cluster::start().await;
    let expected = populate(&cluster).await;
    let mut first = Controller::start(&cluster, "lbipam-0", RESYNC).await;
    let before = settled_ips(&cluster, &expected).await;
    assert_no_ip_twice(&unshared(&before));

    // A settled cluster: resync passes run, and write nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes = cluster.controller_writes();
    let passes = first
        .metric("ferrule_lbipam_passes_total{result=\"success\"}")
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = first
        .metric("ferrule_lbipam_passes_total{result=\"success\"}")
        .unwrap_or(0.0);
    assert!(
        later >= passes + 2.0,
        "resync passes ran ({passes} → {later})"
    );
    assert_eq!(
        cluster.controller_writes(),
        writes,
        "a settled cluster costs no writes"
    );

    first.stop().await;
    cluster.api.server().requests.reset();
    let second = Controller::start(&cluster, "lbipam-1", RESYNC).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(cluster.all_ips().await, before, "zero reassignments");
    assert_eq!(
        cluster.controller_writes(),
        0,
        "zero writes after a restart: {:?}",
        cluster.api.server().requests.snapshot()
    );
    assert!(second.is_leader(), "the Lease was released and taken over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_the_binary_is_down_are_settled_without_moving_anyone() {
    let cluster = Cluster::start().await;
    let expected = populate(&cluster).await;
    let mut first = Controller::start(&cluster, "lbipam-0", &[]).await;
    let before = settled_ips(&cluster, &expected).await;
    first.stop().await;

    // While down: one service leaves, two arrive.
    cluster
        .services("default")
        .delete("svc-03", &Default::default())
        .await
        .expect("the service is deleted");
    cluster
        .apply_service(&ServiceBuilder::new("default", "newcomer-a"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "newcomer-b"))
        .await;
    let _second = Controller::start(&cluster, "lbipam-1", &[]).await;
    cluster.wait_satisfied("default", "newcomer-a", 1).await;
    cluster.wait_satisfied("default", "newcomer-b", 1).await;
    let after = cluster.all_ips().await;
    for (name, ips) in &before {
        if name != "default/svc-03" {
            assert_eq!(after.get(name), Some(ips), "{name} kept its IPs");
        }
    }
    assert_no_ip_twice(&unshared(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_and_a_follower_takes_over_warm() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("v4").cidr("192.0.2.0/24"))
        .await;
    let mut first = Controller::start(&cluster, "lbipam-a", &[]).await;
    support::eventually("a leader", support::WITHIN, || async {
        first.is_leader().then_some(())
    })
    .await;
    let second = Controller::start(&cluster, "lbipam-b", &[]).await;
    assert!(!second.is_leader(), "one leader");
    for i in 0..5 {
        cluster
            .apply_service(&ServiceBuilder::new("default", &format!("svc-{i}")))
            .await;
    }
    for i in 0..5 {
        cluster
            .wait_satisfied("default", &format!("svc-{i}"), 1)
            .await;
    }
    let follower_writes = second
        .metrics()
        .lines()
        .filter(|l| l.starts_with("ferrule_lbipam_writes_total"))
        .count();
    assert_eq!(follower_writes, 0, "the follower wrote nothing");
    let before = cluster.all_ips().await;

    first.stop().await;
    support::eventually("the follower takes over", support::WITHIN, || async {
        second.is_leader().then_some(())
    })
    .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "after-takeover"))
        .await;
    cluster.wait_satisfied("default", "after-takeover", 1).await;
    let after = cluster.all_ips().await;
    for (name, ips) in &before {
        assert_eq!(
            after.get(name),
            Some(ips),
            "{name} kept its IP across the takeover"
        );
    }
    assert_no_ip_twice(&after);
}
