use ferrule_bpf_loader::InMemoryMaps;
use ferrule_bpf_loader::model::{Frontend, Protocol};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::*;
use crate::testing::{RecordingAnnouncer, ip};

fn service() -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web"},
        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster",
                 "ports": [{"name": "http", "port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}
    }))
    .expect("a valid Service")
}

fn slice(ready: &[(&str, &str)]) -> EndpointSlice {
    let endpoints: Vec<_> = ready
        .iter()
        .map(|(a, n)| json!({"addresses": [a], "conditions": {"ready": true}, "nodeName": n}))
        .collect();
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "web-1",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints
    }))
    .expect("a valid EndpointSlice")
}

fn vip() -> Frontend {
    Frontend {
        addr: ip("192.0.2.10"),
        port: 80,
        protocol: Protocol::Tcp,
    }
}

#[test]
fn watched_objects_become_map_entries_and_a_restart_adopts_them_without_writes() {
    let mut agent = Agent::new(
        "node-a",
        InMemoryMaps::default(),
        RecordingAnnouncer::default(),
    );
    assert!(agent.index.apply_service(&service()));
    assert!(
        agent
            .index
            .apply_slice(&slice(&[("10.0.0.1", "node-a"), ("10.0.1.1", "node-b")]))
    );
    agent.responders.set([(2, ip("192.0.2.10"))]);
    let report = agent.sync().expect("sync");
    assert_eq!(
        report.applied.updates(),
        5,
        "2 backends, table, frontend, responder"
    );
    assert_eq!(report.announcements.sent.len(), 1);
    let entry = *agent
        .maps()
        .read()
        .expect("read")
        .frontends
        .get(&vip())
        .expect("the VIP is programmed");
    assert_eq!(entry.backend_count, 2);

    // Restart: a new agent over the same (pinned) maps, rebuilt from a relist.
    let mut restarted = Agent::new("node-a", agent.into_maps(), RecordingAnnouncer::default());
    restarted.index.reset_services([&service()]);
    restarted
        .index
        .reset_slices([&slice(&[("10.0.0.1", "node-a"), ("10.0.1.1", "node-b")])]);
    restarted.responders.set([(2, ip("192.0.2.10"))]);
    let report = restarted.sync().expect("sync");
    assert!(
        report.applied.ops.is_empty(),
        "adoption wrote {:?}",
        report.applied.ops
    );
    assert!(report.announcements.sent.is_empty());
    assert_eq!(
        restarted
            .maps()
            .read()
            .expect("read")
            .frontends
            .get(&vip())
            .map(|e| e.id),
        Some(entry.id),
        "the service id survives the restart"
    );
}

#[test]
fn index_reports_only_real_changes_and_deletes_drive_map_deletes() {
    let mut agent = Agent::new(
        "node-a",
        InMemoryMaps::default(),
        RecordingAnnouncer::default(),
    );
    assert!(agent.index.apply_service(&service()));
    assert!(
        !agent.index.apply_service(&service()),
        "same object again: no change"
    );
    assert!(agent.index.apply_slice(&slice(&[("10.0.0.1", "node-a")])));
    agent.sync().expect("sync");

    assert!(agent.index.delete_service(&service()));
    let report = agent.sync().expect("sync");
    assert_eq!(report.applied.updates(), 0);
    assert_eq!(report.applied.deletes(), 3, "frontend, table, backend");
    assert_eq!(agent.maps().read().expect("read"), Default::default());
}
