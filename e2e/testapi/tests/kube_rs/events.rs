//! Events written through events.k8s.io/v1 (kube-rs's recorder) are the core v1 Events that
//! `kubectl get events` lists, as both groups share one storage in kube-apiserver.

use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference};
use kube::Api;
use kube::api::ListParams;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

#[tokio::test]
async fn recorder_events_are_listed_as_core_events() {
    let (_api, client) = crate::support::start().await;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "ferrule-lbipam".into(),
            instance: Some("lbipam-0".into()),
        },
    );
    let regarding = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        name: Some("web".into()),
        namespace: Some("default".into()),
        ..ObjectReference::default()
    };
    let event = Event {
        type_: EventType::Normal,
        reason: "IPAllocated".into(),
        note: Some("assigned 203.0.113.10".into()),
        action: "Allocate".into(),
        secondary: None,
    };
    recorder
        .publish(&event, &regarding)
        .await
        .expect("the recorder publishes");
    // A repeat is a merge patch on the same Event (series), also through events.k8s.io.
    recorder
        .publish(&event, &regarding)
        .await
        .expect("the recorder publishes a repeat");

    let core: Api<CoreEvent> = Api::namespaced(client, "default");
    let listed = core
        .list(&ListParams::default())
        .await
        .expect("core events list");
    assert_eq!(
        listed.items.len(),
        1,
        "one Event, updated in place: {:?}",
        listed.items
    );
    let stored = &listed.items[0];
    assert_eq!(stored.message.as_deref(), Some("assigned 203.0.113.10"));
    assert_eq!(stored.reason.as_deref(), Some("IPAllocated"));
    assert_eq!(stored.involved_object.name.as_deref(), Some("web"));
    assert_eq!(
        stored.reporting_component.as_deref(),
        Some("ferrule-lbipam")
    );
    assert!(stored.series.is_some(), "the repeat became a series");
}
