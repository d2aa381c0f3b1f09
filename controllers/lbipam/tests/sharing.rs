//! Sharing keys: services share an IP unless their ports conflict; across namespaces only
//! when both allow it.

mod support;

use support::{Cluster, Controller, PoolBuilder, ServiceBuilder};

const KEY: &str = "lbipam.cilium.io/sharing-key";
const CROSS: &str = "lbipam.cilium.io/sharing-cross-namespace";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_with_a_sharing_key_share_an_ip_until_their_ports_conflict() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/24"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let shared = |name, ports: &[(i32, &str)]| {
        ServiceBuilder::new("default", name)
            .annotation(KEY, "web")
            .ports(ports)
    };
    cluster.apply_service(&shared("http", &[(80, "TCP")])).await;
    let http = cluster.wait_satisfied("default", "http", 1).await;
    cluster
        .apply_service(&shared("https", &[(443, "TCP")]))
        .await;
    cluster.apply_service(&shared("dns", &[(80, "UDP")])).await;
    assert_eq!(cluster.wait_satisfied("default", "https", 1).await, http);
    assert_eq!(
        cluster.wait_satisfied("default", "dns", 1).await,
        http,
        "same port number, other protocol: no conflict"
    );
    // Port 80/TCP is taken on the shared IP: another IP joins the key's set.
    cluster
        .apply_service(&shared("http-2", &[(80, "TCP")]))
        .await;
    let second = cluster.wait_satisfied("default", "http-2", 1).await;
    assert_ne!(second, http);
    // A service without the key never gets a shared IP.
    cluster
        .apply_service(&ServiceBuilder::new("default", "loner").ports(&[(8080, "TCP")]))
        .await;
    let loner = cluster.wait_satisfied("default", "loner", 1).await;
    assert_ne!(loner, http);
    assert_ne!(loner, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_across_namespaces_needs_both_services_to_allow_it() {
    let cluster = Cluster::start().await;
    for namespace in ["a", "b", "c"] {
        cluster.namespace(namespace).await;
    }
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/24"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .apply_service(
            &ServiceBuilder::new("a", "one")
                .annotation(KEY, "k")
                .annotation(CROSS, "b"),
        )
        .await;
    let one = cluster.wait_satisfied("a", "one", 1).await;
    cluster
        .apply_service(
            &ServiceBuilder::new("b", "two")
                .annotation(KEY, "k")
                .annotation(CROSS, "*")
                .ports(&[(443, "TCP")]),
        )
        .await;
    assert_eq!(
        cluster.wait_satisfied("b", "two", 1).await,
        one,
        "a allows b, b allows every namespace"
    );
    // c does not list a, and a does not list c: no sharing.
    cluster
        .apply_service(
            &ServiceBuilder::new("c", "three")
                .annotation(KEY, "k")
                .ports(&[(8443, "TCP")]),
        )
        .await;
    assert_ne!(cluster.wait_satisfied("c", "three", 1).await, one);
}
