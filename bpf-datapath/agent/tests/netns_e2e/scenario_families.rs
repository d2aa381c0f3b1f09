//! TCP and UDP through a LoadBalancer IP of each family, backend on this node: the answer
//! comes from the backend, which saw the client's own address (no SNAT for local backends),
//! and UDP replies come back from the VIP.

use ferrule_bpf_loader::model::Protocol;

use super::client::Session;
use super::node::{Cluster, NODE, Pins, eventually, service_of, start_agent, vip, wait_for_maps};
use super::roles::NodeEnv;
use super::topo::{CLIENT_IP, CLIENT_IP6};

pub const VIP4: &str = "203.0.113.10";
pub const BACKEND4: &str = "198.51.100.10";
pub const VIP6: &str = "2001:db8:ff::10";
pub const BACKEND6: &str = "2001:db8:b::10";

async fn tcp_and_udp(env: NodeEnv, vip_ip: &str, backend: &str, client_ip: &str) {
    let cluster = Cluster::start().await;
    cluster.create_service(vip_ip, "Cluster").await;
    cluster.set_endpoints(&[(backend, NODE)]).await;
    let pins = Pins::new(&env.tag);
    let _agent = start_agent(&cluster, &pins).await;
    let addr = vip(vip_ip);
    wait_for_maps(&pins, "both frontends with their backend", |c| {
        [Protocol::Tcp, Protocol::Udp]
            .iter()
            .all(|p| service_of(c, addr, *p).is_some_and(|s| s.backend_count == 1))
    })
    .await;

    let mut client = Session::start(&env.client_ns);
    let expected = format!("{client_ip} {backend} hello");
    let tcp = eventually("TCP through the VIP", || client.tcp(addr, "hello")).await;
    assert_eq!(tcp, expected, "TCP answer");
    let udp = eventually("UDP through the VIP", || client.udp(addr, "hello")).await;
    assert_eq!(
        udp, expected,
        "UDP answer (received on a socket connected to the VIP)"
    );
}

pub async fn ipv4(env: NodeEnv) {
    tcp_and_udp(env, VIP4, BACKEND4, CLIENT_IP).await;
}

pub async fn ipv6(env: NodeEnv) {
    tcp_and_udp(env, VIP6, BACKEND6, CLIENT_IP6).await;
}
