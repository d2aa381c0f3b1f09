//! The run loop against ferrule-testapi with in-memory maps (no kernel needed): what a user
//! sees through the API when the agent cannot program something, and how this node's
//! NodeL2Announcement becomes responder entries (announced, and withdrawn when it goes).

use std::time::Duration;

#[path = "support/recorder.rs"]
mod recorder;
use recorder::Recorder;

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

#[tokio::test]
async fn this_nodes_announcement_becomes_responder_entries_and_goes_away_with_it() {
    use ferrule_agent::l2_entries::Device;
    use ferrule_api::node_l2announcements::v1alpha1::{
        Announcement, NodeL2Announcement, ServiceRef,
    };

    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    ferrule_testapi::test_helpers::install_crds(
        &client,
        ferrule_api::crds::all(),
        Duration::from_secs(10),
    )
    .await;
    let announcement = |ip: &str, regexes: &[&str]| Announcement {
        service: ServiceRef {
            namespace: "default".into(),
            name: "web".into(),
        },
        ip: ip.into(),
        interface_regexes: regexes.iter().map(|r| (*r).to_owned()).collect(),
    };
    let objects: Api<NodeL2Announcement> = Api::all(client.clone());
    // Another node's object must not count here.
    objects
        .create(
            &PostParams::default(),
            &NodeL2Announcement::for_node("node-2", vec![announcement("203.0.113.9", &[])]),
        )
        .await
        .expect("node-2 object");
    objects
        .create(
            &PostParams::default(),
            &NodeL2Announcement::for_node(
                "node-1",
                vec![
                    announcement("203.0.113.5", &[]),
                    announcement("2001:db8::5", &["^eth1$"]),
                ],
            ),
        )
        .await
        .expect("node-1 object");

    let recorder = Recorder::default();
    let mut agent = Agent::new("node-1", InMemoryMaps::default(), recorder.clone());
    agent.devices = vec![
        Device {
            ifindex: 2,
            name: "eth0".into(),
        },
        Device {
            ifindex: 3,
            name: "eth1".into(),
        },
    ];
    let settings = RunSettings {
        l2_announcements: true,
        ..RunSettings::default()
    };
    let task = tokio::spawn(run(
        client.clone(),
        agent,
        ferrule_runtime::Readiness::new(),
        ferrule_runtime::Metrics::new(),
        settings,
    ));
    for line in [
        "announce 203.0.113.5 on 2",
        "announce 203.0.113.5 on 3",
        "announce 2001:db8::5 on 3",
    ] {
        recorder.wait_for(line).await;
    }
    assert!(
        !recorder
            .lines()
            .iter()
            .any(|l| l.contains("203.0.113.9") || l.contains("2001:db8::5 on 2")),
        "{:?}",
        recorder.lines()
    );

    // The assignment moves away: this node stops answering at once.
    objects
        .replace("node-1", &PostParams::default(), &{
            let mut o = objects.get("node-1").await.expect("get");
            o.spec = NodeL2Announcement::for_node(
                "node-1",
                vec![announcement("203.0.113.5", &["^eth0$"])],
            )
            .spec;
            o
        })
        .await
        .expect("replace");
    recorder.wait_for("withdraw 2001:db8::5 on 3").await;
    recorder.wait_for("withdraw 203.0.113.5 on 3").await;
    objects
        .delete("node-1", &Default::default())
        .await
        .expect("delete");
    recorder.wait_for("withdraw 203.0.113.5 on 2").await;
    task.abort();
}

#[tokio::test]
async fn device_changes_move_the_responder_entries_without_a_restart() {
    use ferrule_agent::l2_entries::Device;
    use ferrule_api::node_l2announcements::v1alpha1::{
        Announcement, NodeL2Announcement, ServiceRef,
    };

    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    ferrule_testapi::test_helpers::install_crds(
        &client,
        ferrule_api::crds::all(),
        Duration::from_secs(10),
    )
    .await;
    Api::<NodeL2Announcement>::all(client.clone())
        .create(
            &PostParams::default(),
            &NodeL2Announcement::for_node(
                "node-1",
                vec![Announcement {
                    service: ServiceRef {
                        namespace: "default".into(),
                        name: "web".into(),
                    },
                    ip: "203.0.113.6".into(),
                    interface_regexes: vec!["^eth".into()],
                }],
            ),
        )
        .await
        .expect("node-1 object");
    let device = |ifindex, name: &str| Device {
        ifindex,
        name: name.into(),
    };
    let (updates, changes) = tokio::sync::watch::channel(vec![device(2, "eth0")]);
    let recorder = Recorder::default();
    let mut agent = Agent::new("node-1", InMemoryMaps::default(), recorder.clone());
    agent.devices = vec![device(2, "eth0")];
    let task = tokio::spawn(run(
        client,
        agent,
        ferrule_runtime::Readiness::new(),
        ferrule_runtime::Metrics::new(),
        RunSettings {
            l2_announcements: true,
            devices: Some(changes),
            ..RunSettings::default()
        },
    ));
    recorder.wait_for("announce 203.0.113.6 on 2").await;

    // A new device the regex selects, and one it does not.
    updates.send_replace(vec![
        device(2, "eth0"),
        device(3, "eth1"),
        device(4, "wlan0"),
    ]);
    recorder.wait_for("announce 203.0.113.6 on 3").await;
    // eth0 recreated (new ifindex), eth1 removed.
    updates.send_replace(vec![device(7, "eth0"), device(4, "wlan0")]);
    recorder.wait_for("announce 203.0.113.6 on 7").await;
    recorder.wait_for("withdraw 203.0.113.6 on 2").await;
    recorder.wait_for("withdraw 203.0.113.6 on 3").await;
    assert!(
        !recorder.lines().iter().any(|l| l.ends_with(" on 4")),
        "{:?}",
        recorder.lines()
    );
    task.abort();
}
