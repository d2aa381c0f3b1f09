//! The status writer against ferrule-testapi: Cilium's status shape through the status
//! subresource, no write when nothing changed, and the operator's conditions left alone.

mod support;

use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_bgp_control::Family;
use ferrule_bgp_control::status::{PeerSessionStatus, RouteCounts, StatusWriter};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use support::{Cluster, NODE};

fn session(state: &str, uptime: Option<Duration>, advertised: u32) -> PeerSessionStatus {
    PeerSessionStatus {
        instance: "instance-65000".into(),
        peer_name: "tor".into(),
        peer_address: "192.0.2.1".parse().expect("an address"),
        peer_asn: Some(65001),
        state: state.into(),
        uptime,
        applied_hold_time_seconds: Some(9),
        applied_keepalive_seconds: Some(3),
        route_counts: BTreeMap::from([
            (
                Family::Ipv4Unicast,
                RouteCounts {
                    advertised,
                    received: 1,
                },
            ),
            (
                Family::Ipv6Unicast,
                RouteCounts {
                    advertised: 0,
                    received: 0,
                },
            ),
        ]),
    }
}

#[tokio::test]
async fn status_is_written_in_ciliums_shape_only_when_it_changes() {
    let cluster = Cluster::start().await;
    let writer = StatusWriter::new(cluster.client.clone(), NODE);
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_060);
    let up = [session("established", Some(Duration::from_secs(60)), 2)];

    assert!(
        !writer
            .write(&up, now)
            .await
            .expect("no node config: nothing to do")
    );

    cluster
        .apply::<CiliumBGPNodeConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig", "metadata": {"name": NODE},
            "spec": {"bgpInstances": [{"name": "instance-65000", "localASN": 65000,
                "peers": [{"name": "tor", "peerAddress": "192.0.2.1", "peerASN": 65001}]}]},
        }))
        .await;
    // The operator's condition, written by another manager, must survive our writes.
    let api: Api<CiliumBGPNodeConfig> = Api::all(cluster.client.clone());
    api.patch_status(
        NODE,
        &PatchParams::apply("operator").force(),
        &Patch::Apply(&json!({"apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfig",
            "metadata": {"name": NODE},
            "status": {"conditions": [{"type": "cilium.io/Example", "status": "True", "reason": "Test",
                "message": "kept", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}})),
    )
    .await
    .expect("the operator's condition is written");

    assert!(writer.write(&up, now).await.expect("the status is written"));
    let stored = api.get_status(NODE).await.expect("the node config is read");
    let status = serde_json::to_value(stored.status.expect("a status")).expect("status serializes");
    assert_eq!(
        status["bgpInstances"],
        json!([{"name": "instance-65000", "localASN": 65000, "peers": [{
            "name": "tor", "peerAddress": "192.0.2.1", "peerASN": 65001, "peeringState": "established",
            "establishedTime": "2023-11-14T22:13:20Z",
            "timers": {"appliedHoldTimeSeconds": 9, "appliedKeepaliveSeconds": 3},
            "routeCount": [
                {"afi": "ipv4", "safi": "unicast", "advertised": 2, "received": 1},
                {"afi": "ipv6", "safi": "unicast", "advertised": 0, "received": 0}],
        }]}])
    );
    assert_eq!(status["conditions"][0]["message"], "kept");

    // Ten seconds later the same session reports the same status: no write at all.
    let server = cluster.api.server();
    server.requests.reset();
    let later = [session("established", Some(Duration::from_secs(70)), 2)];
    assert!(
        !writer
            .write(&later, now + Duration::from_secs(10))
            .await
            .expect("compared")
    );
    assert_eq!(server.requests.writes("ciliumbgpnodeconfigs"), 0);

    // A route more: written.
    let more = [session("established", Some(Duration::from_secs(70)), 3)];
    assert!(
        writer
            .write(&more, now + Duration::from_secs(10))
            .await
            .expect("written")
    );
    assert_eq!(
        server
            .requests
            .count("patch", "ciliumbgpnodeconfigs", "status"),
        1
    );

    // The session drops: state changes and the establishment time goes.
    let down = [session("active", None, 0)];
    assert!(
        writer
            .write(&down, now + Duration::from_secs(20))
            .await
            .expect("written")
    );
    let stored = api.get_status(NODE).await.expect("read");
    let peer = &stored.status.expect("a status").bgp_instances[0].peers[0];
    assert_eq!(peer.peering_state.as_deref(), Some("active"));
    assert_eq!(peer.established_time, None);

    // Reporting turned off: the instances go, the operator's condition stays.
    assert!(writer.clear().await.expect("cleared"));
    let stored = api.get_status(NODE).await.expect("read");
    let status = stored.status.expect("a status");
    assert!(status.bgp_instances.is_empty());
    assert_eq!(status.conditions.len(), 1);
    assert!(!writer.clear().await.expect("nothing to clear"));
}
