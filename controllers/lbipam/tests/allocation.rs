//! Services get IPs from pools, through the API, from the real binary: families and their
//! policies, requested IPs, selectors with Cilium's special keys, classes.

mod support;

use serde_json::json;
use support::{Cluster, Controller, PoolBuilder, ServiceBuilder, in_cidr};

const V4: &str = "192.0.2.0/24";
const V6: &str = "2001:db8::/64";

async fn cluster_with_dual_stack_pool() -> Cluster {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr(V4).cidr(V6))
        .await;
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipv4_service_gets_an_ip_and_the_pool_counts_it() {
    let cluster = cluster_with_dual_stack_pool().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "web"))
        .await;

    let ips = cluster.wait_satisfied("default", "web", 1).await;
    assert!(
        in_cidr(&ips[0], V4),
        "SingleStack defaults to IPv4: {ips:?}"
    );
    let condition = cluster
        .condition("default", "web")
        .await
        .expect("the condition is written");
    assert_eq!(condition.reason, "satisfied");
    cluster
        .wait_pool_condition("blue", "cilium.io/IPsUsed", "Unknown", Some("1"))
        .await;
    cluster
        .wait_pool_condition("blue", "cilium.io/PoolConflict", "False", None)
        .await;
    let total = cluster
        .pool_condition("blue", "cilium.io/IPsTotal")
        .await
        .expect("IPsTotal is written");
    assert_eq!(
        total["message"],
        (256u128 + (1u128 << 64)).to_string(),
        "a /24 and a /64, every IP usable by default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_family_policies_get_the_families_they_ask_for() {
    let cluster = cluster_with_dual_stack_pool().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let cases = [
        ("v6-only", "SingleStack", vec!["IPv6"], vec![V6]),
        (
            "prefer",
            "PreferDualStack",
            vec!["IPv4", "IPv6"],
            vec![V4, V6],
        ),
        (
            "require",
            "RequireDualStack",
            vec!["IPv6", "IPv4"],
            vec![V4, V6],
        ),
    ];
    for (name, policy, families, _) in &cases {
        cluster
            .apply_service(&ServiceBuilder::new("default", name).policy(policy, families))
            .await;
    }
    for (name, _, _, cidrs) in &cases {
        let ips = cluster.wait_satisfied("default", name, cidrs.len()).await;
        for cidr in cidrs {
            assert!(
                ips.iter().any(|ip| in_cidr(ip, cidr)),
                "{name}: an IP from {cidr} in {ips:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_ipv6_disabled_prefer_dual_stack_is_satisfied_and_require_is_not() {
    let cluster = cluster_with_dual_stack_pool().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &["--enable-ipv6=false"]).await;
    cluster
        .apply_service(
            &ServiceBuilder::new("default", "prefer").policy("PreferDualStack", &["IPv4", "IPv6"]),
        )
        .await;
    cluster
        .apply_service(
            &ServiceBuilder::new("default", "require")
                .policy("RequireDualStack", &["IPv4", "IPv6"]),
        )
        .await;
    let ips = cluster.wait_satisfied("default", "prefer", 1).await;
    assert!(in_cidr(&ips[0], V4), "{ips:?}");
    let condition = cluster
        .wait_condition("default", "require", "False", "ip_family_disabled")
        .await;
    assert!(!condition.message.is_empty(), "the message says why");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requested_ips_come_from_both_annotations_and_load_balancer_ip() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(
            &PoolBuilder::new("blue")
                .cidr(V4)
                .cidr(V6)
                .selector(json!({"matchLabels": {"pool": "blue"}})),
        )
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let blue = |name| ServiceBuilder::new("default", name).label("pool", "blue");
    cluster
        .apply_service(
            &blue("annotated")
                .annotation("lbipam.cilium.io/ips", "192.0.2.77,2001:db8::77")
                .policy("PreferDualStack", &["IPv4", "IPv6"]),
        )
        .await;
    cluster
        .apply_service(&blue("legacy-annotation").annotation("io.cilium/lb-ipam-ips", "192.0.2.78"))
        .await;
    cluster
        .apply_service(&blue("spec-field").load_balancer_ip("192.0.2.79"))
        .await;
    // The pool's selector still applies to requested IPs.
    cluster
        .apply_service(
            &ServiceBuilder::new("default", "unselected")
                .annotation("lbipam.cilium.io/ips", "192.0.2.80"),
        )
        .await;

    let mut annotated = cluster.wait_satisfied("default", "annotated", 2).await;
    annotated.sort();
    assert_eq!(annotated, ["192.0.2.77", "2001:db8::77"]);
    assert_eq!(
        cluster
            .wait_satisfied("default", "legacy-annotation", 1)
            .await,
        ["192.0.2.78"]
    );
    assert_eq!(
        cluster.wait_satisfied("default", "spec-field", 1).await,
        ["192.0.2.79"]
    );
    cluster
        .wait_condition("default", "unselected", "False", "pool_selector_mismatch")
        .await;
    assert!(cluster.ips("default", "unselected").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_the_annotation_is_a_condition_not_a_crash() {
    let cluster = cluster_with_dual_stack_pool().await;
    let lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(
            &ServiceBuilder::new("default", "garbage")
                .annotation("lbipam.cilium.io/ips", "not-an-ip"),
        )
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "fine"))
        .await;
    cluster
        .wait_condition("default", "garbage", "False", "invalid_ip")
        .await;
    cluster.wait_satisfied("default", "fine", 1).await;
    support::eventually("passes counted as successes", support::WITHIN, || async {
        lbipam.metric("ferrule_lbipam_passes_total{result=\"success\"}")
    })
    .await;
    assert!(
        !lbipam.log().contains("\"level\":\"ERROR\""),
        "bad input is not an error of the controller:\n{}",
        lbipam.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_match_the_special_namespace_and_name_keys() {
    let cluster = Cluster::start().await;
    cluster.namespace("team-a").await;
    cluster
        .apply_pool(
            &PoolBuilder::new("team-a")
                .cidr("198.51.100.0/28")
                .selector(json!({"matchLabels": {"io.kubernetes.service.namespace": "team-a"}})),
        )
        .await;
    cluster
        .apply_pool(
            &PoolBuilder::new("by-name")
                .cidr("203.0.113.0/28")
                .selector(json!({
                    "matchExpressions": [{
                        "key": "io.kubernetes.service.name", "operator": "In", "values": ["special"]
                    }]
                })),
        )
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("team-a", "api"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "special"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "other"))
        .await;

    let team_a = cluster.wait_satisfied("team-a", "api", 1).await;
    assert!(in_cidr(&team_a[0], "198.51.100.0/28"), "{team_a:?}");
    let special = cluster.wait_satisfied("default", "special", 1).await;
    assert!(in_cidr(&special[0], "203.0.113.0/28"), "{special:?}");
    cluster
        .wait_condition("default", "other", "False", "no_pool")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_class_is_ignored_completely() {
    let cluster = cluster_with_dual_stack_pool().await;
    let lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "foreign").class("example.com/other-lb"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "l2").class("io.cilium/l2-announcer"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "bgp").class("io.cilium/bgp-control-plane"))
        .await;
    cluster.wait_satisfied("default", "l2", 1).await;
    cluster.wait_satisfied("default", "bgp", 1).await;
    let foreign = cluster.service("default", "foreign").await;
    assert!(
        foreign.status.as_ref().is_none_or(|s| s
            .load_balancer
            .as_ref()
            .is_none_or(|lb| lb.ingress.is_none())
            && s.conditions.is_none()),
        "no status at all for a foreign class: {:?}",
        foreign.status
    );
    let managed_by_us = foreign
        .metadata
        .managed_fields
        .unwrap_or_default()
        .iter()
        .any(|m| m.manager.as_deref() == Some("ferrule-lbipam"));
    assert!(!managed_by_us, "not a single field written by LB-IPAM");
    drop(lbipam);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_lb_class_ignores_services_without_a_class() {
    let cluster = cluster_with_dual_stack_pool().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &["--require-lb-class"]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "classless"))
        .await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "l2").class("io.cilium/l2-announcer"))
        .await;
    cluster.wait_satisfied("default", "l2", 1).await;
    let classless = cluster.service("default", "classless").await;
    assert!(support::ips_of(&classless).is_empty());
    assert!(support::condition_of(&classless).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsatisfiable_service_is_satisfied_when_a_pool_appears() {
    let cluster = Cluster::start().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(&ServiceBuilder::new("default", "early").label("app", "early"))
        .await;
    let condition = cluster
        .wait_condition("default", "early", "False", "no_pool")
        .await;
    assert!(
        condition
            .message
            .contains("no enabled CiliumLoadBalancerIPPools")
    );
    cluster
        .apply_pool(
            &PoolBuilder::new("late")
                .cidr(V4)
                .selector(json!({"matchLabels": {"app": "early"}})),
        )
        .await;
    let ips = cluster.wait_satisfied("default", "early", 1).await;
    assert!(in_cidr(&ips[0], V4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_stops_being_a_load_balancer_is_released() {
    let cluster = cluster_with_dual_stack_pool().await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let web = ServiceBuilder::new("default", "web");
    cluster.apply_service(&web).await;
    let ips = cluster.wait_satisfied("default", "web", 1).await;
    cluster.apply_service(&web.clone().type_("ClusterIP")).await;
    support::eventually("the status is given up", support::WITHIN, || async {
        let service = cluster.service("default", "web").await;
        (support::ips_of(&service).is_empty() && support::condition_of(&service).is_none())
            .then_some(())
    })
    .await;
    // Nothing of ours is left, so later passes have nothing to release again.
    let released = cluster.service("default", "web").await;
    let ours = released
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.manager.as_deref() == Some("ferrule-lbipam"))
        .count();
    assert_eq!(ours, 0, "LB-IPAM owns no field of a released service");
    // The IP is free again: the next service gets it.
    cluster
        .apply_service(&ServiceBuilder::new("default", "next"))
        .await;
    assert_eq!(cluster.wait_satisfied("default", "next", 1).await, ips);
    let writes = cluster.status_writes();
    cluster
        .apply_service(&web.type_("ClusterIP").label("touched", "again"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(cluster.status_writes(), writes, "no repeated release");
}
