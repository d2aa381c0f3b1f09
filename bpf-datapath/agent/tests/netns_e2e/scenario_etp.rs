//! externalTrafficPolicy, as the backend and the client notice it.
//! - Local: the backend sees the client's address; when the only endpoint runs on another
//!   node, connections fail and the service's "no local backend" drop counter rises (rather
//!   than the traffic leaving the node, which would lose the client address anyway).
//! - Cluster with the endpoint on another node: the connection works and the backend sees the
//!   node's address (SNAT), so its reply comes back through the node's reverse translation.

use ferrule_bpf_common::DropReason;
use ferrule_bpf_loader::model::{Protocol, ServiceId};

use super::client::{Session, parse_answer};
use super::node::{
    Cluster, NODE, OTHER_NODE, Pins, eventually, service_of, start_agent, vip, wait_for_maps,
};
use super::roles::NodeEnv;
use super::scenario_families::{BACKEND4, BACKEND6, VIP4, VIP6};
use super::topo::{CLIENT_IP, CLIENT_IP6, NODE_IPS};

pub async fn local(env: NodeEnv) {
    let cluster = Cluster::start().await;
    cluster.create_service(VIP4, "Local").await;
    cluster.set_endpoints(&[(BACKEND4, NODE)]).await;
    let pins = Pins::new(&env.tag);
    let _agent = start_agent(&cluster, &pins).await;
    let addr = vip(VIP4);
    wait_for_maps(&pins, "the local backend", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 1)
    })
    .await;
    let mut client = Session::start(&env.client_ns);
    let answer = eventually("TCP to a Local service", || client.tcp(addr, "hello")).await;
    assert_eq!(answer, format!("{CLIENT_IP} {BACKEND4} hello"));

    // The pod moves to another node: this node has no backend left for the service.
    cluster.set_endpoints(&[(BACKEND4, OTHER_NODE)]).await;
    wait_for_maps(&pins, "the Local service without backends", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 0)
    })
    .await;
    let service = service_of(&pins.contents(), addr, Protocol::Tcp)
        .expect("frontend kept")
        .id;
    let before = no_local_backend_drops(&pins, service);
    let outcome = client.tcp(addr, "hello");
    assert!(
        outcome.is_err(),
        "a Local service without a local backend answered: {outcome:?}"
    );
    let after = no_local_backend_drops(&pins, service);
    assert!(
        after > before,
        "`ferrule-agent state` shows {after} no-local-backend drops, {before} before the failed connection"
    );
}

/// The service's "no local backend" drops as `ferrule-agent state` reports them.
fn no_local_backend_drops(pins: &Pins, service: ServiceId) -> u64 {
    pins.state()
        .services
        .iter()
        .find(|s| s.id == service)
        .map(|s| s.counters.drops.get(DropReason::NoLocalBackend))
        .expect("the service in the state report")
}

async fn cluster_remote(env: NodeEnv, vip_ip: &str, backend: &str, client_ip: &str) {
    let cluster = Cluster::start().await;
    cluster.create_service(vip_ip, "Cluster").await;
    // Another node's pod, reachable through this node's routing like a pod network would be.
    cluster.set_endpoints(&[(backend, OTHER_NODE)]).await;
    let pins = Pins::new(&env.tag);
    let _agent = start_agent(&cluster, &pins).await;
    let addr = vip(vip_ip);
    wait_for_maps(&pins, "the remote backend", |c| {
        service_of(c, addr, Protocol::Tcp).is_some_and(|s| s.backend_count == 1)
            && c.backends.values().all(|b| b.remote)
    })
    .await;
    let mut client = Session::start(&env.client_ns);
    let answer = eventually("TCP to a remote backend", || client.tcp(addr, "hello")).await;
    let (seen, answered_by, text) = parse_answer(&answer);
    assert_eq!((answered_by.as_str(), text.as_str()), (backend, "hello"));
    assert!(
        NODE_IPS.contains(&seen.as_str()),
        "the backend saw {seen}, not a node address (the client is {client_ip}): no SNAT"
    );
}

pub async fn cluster_remote4(env: NodeEnv) {
    cluster_remote(env, VIP4, BACKEND4, CLIENT_IP).await;
}

pub async fn cluster_remote6(env: NodeEnv) {
    cluster_remote(env, VIP6, BACKEND6, CLIENT_IP6).await;
}
