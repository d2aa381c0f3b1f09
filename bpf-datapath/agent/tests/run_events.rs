//! The run loop against ferrule-testapi with in-memory maps (no kernel needed): what a user
//! sees through the API when the agent cannot program something.

use std::time::Duration;

use ferrule_agent::agent::Agent;
use ferrule_agent::announce::Unavailable;
use ferrule_agent::run::{RunSettings, run};
use ferrule_bpf_loader::InMemoryMaps;
use ferrule_testapi::TestApi;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"type": "ClusterIP", "externalIPs": ["203.0.113.10"],
                 "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    }))
    .expect("a valid Service")
}

#[tokio::test]
async fn a_service_losing_a_frontend_conflict_gets_a_warning_event() {
    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    let _ = Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "default"}})).expect("ns"),
        )
        .await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    for name in ["a-first", "b-second"] {
        services
            .create(&PostParams::default(), &service(name))
            .await
            .expect("Service created");
    }
    let agent = Agent::new("node-1", InMemoryMaps::default(), Unavailable);
    let task = tokio::spawn(run(
        client.clone(),
        agent,
        ferrule_runtime::Readiness::new(),
        ferrule_runtime::Metrics::new(),
        RunSettings::default(),
    ));

    let events: Api<Event> = Api::namespaced(client, "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let event = loop {
        let list = events
            .list(&ListParams::default())
            .await
            .expect("events list");
        if let Some(e) = list
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("FrontendConflict"))
        {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no FrontendConflict Event"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    task.abort();
    let regarding = event.regarding.expect("regarding");
    assert_eq!(regarding.name.as_deref(), Some("b-second"));
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    let note = event.note.expect("note");
    assert!(
        note.contains("203.0.113.10:80/TCP is already served by Service default/a-first")
            && note.contains("node-1"),
        "{note}"
    );
}
