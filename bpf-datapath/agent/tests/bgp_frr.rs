//! The BGP control plane end to end (needs root): an in-process ferrule-testapi with the
//! shipped CRDs holds a Node, its CiliumBGPNodeConfig (as ferrule-bgp writes it), a peer config
//! with BFD annotations, a Service advertisement with a community and a LoadBalancer Service;
//! the real `ferrule-agent --enable-bgp-control-plane` runs in a node namespace and peers with
//! FRR (bgpd + bfdd) in a router namespace. Asserted as a router operator would see it: the
//! route in FRR with our next hop and community, the session in the CiliumBGPNodeConfig status
//! and the metrics, the withdrawal when the Service goes, and BFD resetting the session well
//! before the hold timer when the link is cut.

#[path = "support/agent.rs"]
mod agent;
#[path = "support/routers.rs"]
mod routers;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use agent::{Agent, in_node_netns};
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_testapi::TestApi;
use k8s_openapi::api::core::v1::{Namespace, Node, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use routers::{Frr, Link, NODE_V4, ROUTER_V4, require_root};
use serde_json::{Value, json};

const NODE: &str = "node-bgp";
const VIP: &str = "203.0.113.10";
const VIP_PREFIX: &str = "203.0.113.10/32";
const MANAGER: &str = "bgp-frr-test";
const METRICS: &str = "127.0.0.1:9962";
/// Far longer than BFD needs (3 x 100 ms), far shorter than the hold time (9 s): a session
/// that leaves Established within it was reset by BFD.
const BFD_BOUND: Duration = Duration::from_secs(3);

fn bgpd_conf(extra: &str) -> String {
    format!(
        "router bgp 65001
 bgp router-id {ROUTER_V4}
{extra} no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor {NODE_V4} remote-as 65000
 neighbor {NODE_V4} timers 3 9
 neighbor {NODE_V4} timers connect 1
 address-family ipv4 unicast
  neighbor {NODE_V4} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor {NODE_V4} activate
 exit-address-family
"
    )
}

fn bfdd_conf() -> String {
    format!(
        "bfd
 peer {NODE_V4} local-address {ROUTER_V4}
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
"
    )
}

/// Polls `check` every 50 ms until it returns `Some`, or panics with `what` and `context()`.
async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what} within {within:?}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn node_config_status(client: &kube::Client) -> Value {
    let api: Api<CiliumBGPNodeConfig> = Api::all(client.clone());
    match api.get_opt(NODE).await {
        Ok(Some(config)) => serde_json::to_value(config.status).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn peer_status(status: &Value) -> &Value {
    &status["bgpInstances"][0]["peers"][0]
}

fn metrics() -> String {
    let Ok(mut stream) = TcpStream::connect(METRICS) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /metrics HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    let _ = stream.write_all(request.as_bytes());
    let _ = stream.read_to_string(&mut response);
    response
}

async fn create_objects(client: &kube::Client, graceful_restart: bool) {
    let namespace: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "default"}})).expect("namespace");
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await;
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": NODE}})).expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("Node created");
    let addresses = json!({"status": {"addresses": [{"type": "InternalIP", "address": NODE_V4}]}});
    nodes
        .patch_status(NODE, &PatchParams::default(), &Patch::Merge(addresses))
        .await
        .expect("Node status");
    agent::apply(Api::<ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig>::all(client.clone()), MANAGER, json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": "frr-peer", "annotations": {
            "bfd.ferrule.io/enabled": "true",
            "bfd.ferrule.io/min-tx-interval": "100ms",
            "bfd.ferrule.io/min-rx-interval": "100ms",
            "bfd.ferrule.io/detect-multiplier": "3"}},
        "spec": {
            "timers": {"connectRetryTimeSeconds": 1, "holdTimeSeconds": 9, "keepAliveTimeSeconds": 3},
            "gracefulRestart": {"enabled": graceful_restart, "restartTimeSeconds": 30},
            "families": [
                {"afi": "ipv4", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}},
                {"afi": "ipv6", "safi": "unicast", "advertisements": {"matchLabels": {"advertise": "bgp"}}}]}
    })).await;
    agent::apply(Api::<ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement>::all(client.clone()), MANAGER, json!({
        "apiVersion": "cilium.io/v2", "kind": "CiliumBGPAdvertisement",
        "metadata": {"name": "lb-ips", "labels": {"advertise": "bgp"}},
        "spec": {"advertisements": [{
            "advertisementType": "Service",
            "service": {"addresses": ["LoadBalancerIP"]},
            "selector": {"matchExpressions": [{"key": "somekey", "operator": "NotIn", "values": ["never-used-value"]}]},
            "attributes": {"communities": {"standard": ["65000:100"]}}}]}
    })).await;
    agent::apply(
        Api::<CiliumBGPNodeConfig>::all(client.clone()),
        MANAGER,
        json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig",
            "metadata": {"name": NODE},
            "spec": {"bgpInstances": [{"name": "instance-65000", "localASN": 65000, "peers": [
                {"name": "frr", "peerAddress": ROUTER_V4, "peerASN": 65001,
                 "peerConfigRef": {"name": "frr-peer"}}]}]}
        }),
    )
    .await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    agent::apply(
        services.clone(),
        MANAGER,
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]}
        }),
    )
    .await;
    services
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"loadBalancer": {"ingress": [{"ip": VIP}]}}})),
        )
        .await
        .expect("Service status");
}

async fn start(link: &Link, graceful_restart: bool) -> (TestApi, kube::Client, Agent) {
    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    ferrule_testapi::test_helpers::install_crds(
        &client,
        ferrule_api::crds::all(),
        Duration::from_secs(10),
    )
    .await;
    create_objects(&client, graceful_restart).await;
    let agent = Agent::start(link, NODE, api.kubeconfig_path(), METRICS);
    (api, client, agent)
}

async fn advertise_report_withdraw_and_bfd(link: &Link, frr: &Frr) {
    let (_api, client, mut agent) = start(link, false).await;
    let context = || format!("--- agent\n{}\n--- frr\n{}", agent.log(), frr.logs());
    let started = Instant::now();

    let path = eventually(
        "the LB IP in FRR",
        Duration::from_secs(30),
        || frr.paths("ipv4", VIP_PREFIX).into_iter().next(),
        context,
    )
    .await;
    eprintln!(
        "route in FRR {:?} after the agent started",
        started.elapsed()
    );
    assert_eq!(
        path["nexthops"][0]["ip"], NODE_V4,
        "next hop is the node: {path:#}"
    );
    assert_eq!(
        path["community"]["string"], "65000:100",
        "the advertisement's community: {path:#}"
    );

    let mut status = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(10);
    while peer_status(&status)["peeringState"] != "established"
        || status.to_string().find("\"advertised\":1").is_none()
    {
        assert!(
            Instant::now() < deadline,
            "status never showed the session: {status:#}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = node_config_status(&client).await;
    }
    let peer = peer_status(&status);
    assert_eq!(peer["peerAddress"], ROUTER_V4);
    assert_eq!(peer["peerASN"], 65001);
    assert_eq!(peer["timers"]["appliedHoldTimeSeconds"], 9);
    let v4 = peer["routeCount"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["afi"] == "ipv4")
        .cloned();
    assert_eq!(
        v4.map(|c| c["advertised"].clone()),
        Some(json!(1)),
        "{peer:#}"
    );

    let scraped = eventually(
        "BGP metrics",
        Duration::from_secs(5),
        || {
            let m = metrics();
            m.contains(
                "ferrule_agent_bgp_session_state{instance=\"instance-65000\",peer=\"192.0.2.1\"} 6",
            )
            .then_some(m)
        },
        context,
    )
    .await;
    assert!(
        scraped.contains("ferrule_agent_bgp_problems 0"),
        "{scraped}"
    );
    assert!(scraped.contains("ferrule_agent_bgp_routes_advertised{instance=\"instance-65000\",peer=\"192.0.2.1\",family=\"ipv4-unicast\"} 1"), "{scraped}");

    // The router ID source of IPv6-only nodes: the MAC of the interface with the InternalIP.
    let link_json = Command::new("ip")
        .args([
            "-n",
            link.near.name(),
            "-j",
            "link",
            "show",
            "dev",
            &link.near_if,
        ])
        .output()
        .expect("ip link");
    let mac =
        serde_json::from_slice::<Value>(&link_json.stdout).expect("ip -j")[0]["address"].clone();
    let nodes: Api<Node> = Api::all(client.clone());
    let annotated = nodes
        .get(NODE)
        .await
        .expect("Node")
        .metadata
        .annotations
        .unwrap_or_default();
    assert_eq!(
        annotated
            .get("ferrule.io/host-mac-address")
            .map(|m| json!(m)),
        Some(mac)
    );

    Api::<Service>::namespaced(client.clone(), "default")
        .delete("web", &DeleteParams::default())
        .await
        .expect("Service deleted");
    eventually(
        "the route withdrawn from FRR",
        Duration::from_secs(10),
        || frr.paths("ipv4", VIP_PREFIX).is_empty().then_some(()),
        context,
    )
    .await;

    eventually(
        "BFD up in FRR",
        Duration::from_secs(15),
        || (frr.bfd_peer(NODE_V4)["status"] == "up").then_some(()),
        context,
    )
    .await;
    let cut = Instant::now();
    link.cut();
    let mut state = String::new();
    while cut.elapsed() < BFD_BOUND + Duration::from_secs(1) {
        let status = node_config_status(&client).await;
        state = peer_status(&status)["peeringState"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if state != "established" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = cut.elapsed();
    eprintln!("session left established {took:?} after the link was cut (now {state})");
    assert!(
        state != "established" && took < BFD_BOUND,
        "session still {state} {took:?} after the cut\n{}",
        context()
    );

    // SIGTERM without graceful restart: a Cease, so the router drops our routes at once.
    // FRR (bgpd without BFD) still holds the old connection: our reconnect succeeds once its
    // next keepalive is refused, so wait for our own status to be established again.
    link.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while peer_status(&node_config_status(&client).await)["peeringState"] != "established" {
        assert!(
            Instant::now() < deadline,
            "the session never came back\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually(
        "FRR established again",
        Duration::from_secs(5),
        || (frr.neighbor(NODE_V4)["bgpState"] == "Established").then_some(()),
        context,
    )
    .await;
    let exit = agent.terminate();
    assert!(exit.success(), "agent on SIGTERM: {exit}\n{}", agent.log());
    let neighbor = eventually(
        "FRR seeing the session go",
        Duration::from_secs(5),
        || {
            let neighbor = frr.neighbor(NODE_V4);
            (neighbor["bgpState"] != "Established").then_some(neighbor)
        },
        || agent.log(),
    )
    .await;
    assert!(
        neighbor.to_string().contains("Administrative Shutdown"),
        "FRR got no Cease: {neighbor:#}\n{}",
        agent.log()
    );
}

/// SIGTERM with graceful restart on: no Cease; the router keeps our route (stale) for the
/// restart time while no agent runs.
async fn graceful_restart_keeps_routes_across_sigterm(link: &Link, frr: &Frr) {
    let (_api, _client, mut agent) = start(link, true).await;
    let log = agent.log.clone();
    let context = || {
        let agent = std::fs::read_to_string(&log).unwrap_or_default();
        format!("--- agent\n{agent}\n--- frr\n{}", frr.logs())
    };
    eventually(
        "the LB IP in FRR",
        Duration::from_secs(30),
        || frr.paths("ipv4", VIP_PREFIX).into_iter().next(),
        context,
    )
    .await;
    let exit = agent.terminate();
    assert!(exit.success(), "agent on SIGTERM: {exit}\n{}", agent.log());
    let stale = eventually(
        "FRR holding the route as stale",
        Duration::from_secs(10),
        || {
            let path = frr.paths("ipv4", VIP_PREFIX).into_iter().next()?;
            (path["stale"] == true).then_some(path)
        },
        context,
    )
    .await;
    let neighbor = frr.neighbor(NODE_V4);
    assert!(
        !neighbor.to_string().contains("Administrative Shutdown"),
        "a Cease went out: {neighbor:#}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !frr.paths("ipv4", VIP_PREFIX).is_empty(),
        "the route went before the restart time: {stale:#}"
    );
}

#[test]
fn agent_advertises_to_frr_reports_status_withdraws_and_bfd_resets_the_session() {
    if !require_root() {
        return;
    }
    let link = routers::link("e");
    let frr = routers::frr(&link.far, &bgpd_conf(""), &bfdd_conf());
    in_node_netns(&link, advertise_report_withdraw_and_bfd(&link, &frr));
}

#[test]
fn graceful_restart_peers_keep_the_routes_when_the_agent_stops() {
    if !require_root() {
        return;
    }
    let link = routers::link("g");
    let frr = routers::frr(
        &link.far,
        &bgpd_conf(" bgp graceful-restart\n"),
        &bfdd_conf(),
    );
    in_node_netns(
        &link,
        graceful_restart_keeps_routes_across_sigterm(&link, &frr),
    );
}
