//! Kubernetes Events about the objects a controller handles. Events are a courtesy to users:
//! failing to publish one is logged and never fails a reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// Publishes Events as `reportingController` = the binary name and `reportingInstance` = the
/// pod name (the hostname when unknown). Cheap to clone.
#[derive(Clone)]
pub struct EventRecorder {
    recorder: Recorder,
    reporter: Reporter,
}

impl std::fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventRecorder")
            .field("reporter", &self.reporter)
            .finish_non_exhaustive()
    }
}

impl EventRecorder {
    /// A recorder reporting as `binary` from instance `pod_name`.
    pub fn new(client: Client, binary: &str, pod_name: Option<&str>) -> Self {
        let reporter = match pod_name {
            Some(pod) => Reporter {
                controller: binary.to_owned(),
                instance: Some(pod.to_owned()),
            },
            // kube falls back to the hostname, which is the pod name in a pod.
            None => Reporter::from(binary),
        };
        Self {
            recorder: Recorder::new(client, reporter.clone()),
            reporter,
        }
    }

    /// Publishes a `Normal` event about `regarding`. `reason` and `action` are short PascalCase
    /// identifiers (e.g. `IPAllocated`, `Allocate`); `note` is the human-readable message.
    pub async fn normal(
        &self,
        regarding: &ObjectReference,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) {
        self.publish(regarding, EventType::Normal, reason, action, note.into())
            .await;
    }

    /// Publishes a `Warning` event about `regarding`, for problems a user must act on.
    pub async fn warning(
        &self,
        regarding: &ObjectReference,
        reason: &str,
        action: &str,
        note: impl Into<String>,
    ) {
        self.publish(regarding, EventType::Warning, reason, action, note.into())
            .await;
    }

    /// Publishes an event; an API error is logged, not returned.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, regarding).await {
            tracing::warn!(
                %error,
                reason,
                kind = regarding.kind.as_deref().unwrap_or_default(),
                namespace = regarding.namespace.as_deref().unwrap_or_default(),
                name = regarding.name.as_deref().unwrap_or_default(),
                "publishing Event failed"
            );
        }
    }
}
