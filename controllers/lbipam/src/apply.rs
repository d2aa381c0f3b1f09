//! Carrying a plan out: status writes (server-side apply on the status subresources, field
//! manager `ferrule-lbipam`, forced: LB-IPAM is the authority on these fields) and Events.
//!
//! Every successful write puts the returned object into the index at once, so the next pass
//! plans on top of it even before the watch delivers it (see [`crate::index`]).

use crate::FIELD_MANAGER;
use crate::core::model::Plan;
use crate::core::model::{EventType, PlannedEvent, Regarding, ServiceKey};
use crate::error::Error;
use crate::index::SharedIndex;
use crate::metrics::LbipamMetrics;
use crate::observed::{ObservedPool, ObservedService};
use crate::status::{Target, Write, render};
use ferrule_api::lbipam::v2::CiliumLoadBalancerIPPool;
use ferrule_runtime::EventRecorder;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use std::collections::{BTreeSet, HashSet};
use tokio::sync::watch;

/// Status writes in flight at once: enough to keep a pipelined API server busy, few enough
/// that a pass of 10,000 first allocations does not open thousands of requests.
const CONCURRENT_WRITES: usize = 32;

/// What one round of writes achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: usize,
    /// Writes not attempted because leadership was lost.
    pub skipped: usize,
    /// Services whose write failed (their Events wait for a successful write).
    pub failed_services: BTreeSet<ServiceKey>,
    /// The first failure, for the pass's result label.
    pub first_error: Option<Error>,
    /// Some failure is worth retrying soon (server errors, timeouts): the loop backs off
    /// and retries. Rejected writes wait for the next change or resync instead.
    pub retry: bool,
    /// Writes the API server rejected for what they are (retrying cannot fix them).
    pub rejected: usize,
}

/// Performs writes and publishes Events for the reconcile loop.
#[derive(Clone)]
pub struct Writer {
    client: Client,
    index: SharedIndex,
    metrics: LbipamMetrics,
    events: EventRecorder,
    condition_type: &'static str,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    pub fn new(
        client: Client,
        index: SharedIndex,
        metrics: LbipamMetrics,
        events: EventRecorder,
        condition_type: &'static str,
    ) -> Self {
        Self {
            client,
            index,
            metrics,
            events,
            condition_type,
        }
    }

    /// Brings every target's status in line with `plan`, several at a time, while `leader`
    /// stays true. Each body is rendered just before it is sent, against the latest
    /// observation.
    pub async fn write_all(
        &self,
        plan: &Plan,
        targets: Vec<Target>,
        now: &str,
        leader: &watch::Receiver<bool>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let results = futures::stream::iter(targets)
            .filter_map(|target| async move {
                // Checked per write: a lost lease stops the rest of a long pass.
                if !*leader.borrow() {
                    return Some((target, None));
                }
                // Settled meanwhile (e.g. deleted): nothing to send.
                let write = self.index.read(|i| render(plan, i, &target, now))?;
                Some((target, Some(write)))
            })
            .map(|(target, write)| async move {
                match write {
                    Some(write) => {
                        let result = self.write_one(&write).await;
                        (target, write.kind(), Some(result))
                    }
                    None => (target, crate::metrics::WriteKind::ServiceStatus, None),
                }
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .collect::<Vec<_>>()
            .await;
        for (target, kind, result) in results {
            match result {
                None => outcome.skipped += 1,
                Some(Ok(())) => {
                    outcome.written += 1;
                    self.metrics
                        .write(kind, ferrule_runtime::metrics::RESULT_SUCCESS);
                }
                Some(Err(error)) => {
                    self.metrics.write(kind, error.metric_label());
                    if let Target::Service(key) = &target {
                        outcome.failed_services.insert(key.clone());
                    }
                    if error.is_not_found() {
                        // Deleted meanwhile; the watch removes it from the index.
                        tracing::debug!(%error, "object gone before its status write");
                    } else if error.is_retryable() {
                        tracing::warn!(error = %error, source = ?std::error::Error::source(&error), "status write failed; will retry");
                        outcome.retry = true;
                        outcome.first_error.get_or_insert(error);
                    } else {
                        tracing::error!(error = %error, source = ?std::error::Error::source(&error), "status write rejected");
                        outcome.rejected += 1;
                        outcome.first_error.get_or_insert(error);
                    }
                }
            }
        }
        outcome
    }

    async fn write_one(&self, write: &Write) -> Result<(), Error> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match write {
            Write::Service { key, body, .. } => {
                let api: Api<Service> = Api::namespaced(self.client.clone(), &key.namespace);
                let service = api
                    .patch_status(&key.name, &params, &Patch::Apply(body))
                    .await
                    .map_err(|source| Error::ApplyServiceStatus {
                        key: key.to_string(),
                        source: Box::new(source),
                    })?;
                let version = service
                    .metadata
                    .resource_version
                    .clone()
                    .unwrap_or_default();
                if let Some(observed) = ObservedService::from_service(&service, self.condition_type)
                {
                    // Not a change to plan on: the pass that wrote it already did.
                    self.index.update(|i| {
                        i.services.apply(key.clone(), version, observed);
                        false
                    });
                }
                tracing::debug!(service = %key, "status applied");
            }
            Write::Pool { name, body } => {
                let api: Api<CiliumLoadBalancerIPPool> = Api::all(self.client.clone());
                let pool = api
                    .patch_status(name, &params, &Patch::Apply(body))
                    .await
                    .map_err(|source| Error::ApplyPoolStatus {
                        name: name.clone(),
                        source: Box::new(source),
                    })?;
                let version = pool.metadata.resource_version.clone().unwrap_or_default();
                if let Some(observed) = ObservedPool::from_pool(&pool) {
                    self.index.update(|i| {
                        i.pools.apply(name.clone(), version, observed);
                        false
                    });
                }
                tracing::debug!(pool = %name, "status applied");
            }
        }
        Ok(())
    }

    /// Publishes the planned Events that were not already published while they stayed
    /// planned: a condition that persists is reported once, not once per pass. Events about a
    /// Service whose write failed wait for the pass that succeeds. Returns the set to pass
    /// in next time.
    pub async fn publish_events(
        &self,
        events: &[PlannedEvent],
        published: &HashSet<EventKey>,
        failed_services: &BTreeSet<ServiceKey>,
    ) -> HashSet<EventKey> {
        let mut still_planned = HashSet::new();
        for event in events {
            let key = EventKey::of(event);
            if published.contains(&key) {
                still_planned.insert(key);
                continue;
            }
            if let Regarding::Service(service) = &event.regarding
                && failed_services.contains(service)
            {
                continue;
            }
            let Some(reference) = self.reference(&event.regarding) else {
                // Deleted since the plan; nothing to report on.
                continue;
            };
            let type_ = match event.type_ {
                EventType::Normal => kube::runtime::events::EventType::Normal,
                EventType::Warning => kube::runtime::events::EventType::Warning,
            };
            self.events
                .publish(
                    &reference,
                    type_,
                    &event.reason,
                    &event.action,
                    event.note.clone(),
                )
                .await;
            still_planned.insert(key);
        }
        still_planned
    }

    fn reference(&self, regarding: &Regarding) -> Option<ObjectReference> {
        self.index.read(|index| match regarding {
            Regarding::Service(key) => {
                let service = index.services.get(key)?;
                Some(ObjectReference {
                    api_version: Some("v1".into()),
                    kind: Some("Service".into()),
                    namespace: Some(key.namespace.clone()),
                    name: Some(key.name.clone()),
                    uid: Some(service.value.input.uid.clone()),
                    ..ObjectReference::default()
                })
            }
            Regarding::Pool(name) => {
                let pool = index.pools.get(name)?;
                Some(ObjectReference {
                    api_version: Some("cilium.io/v2".into()),
                    kind: Some("CiliumLoadBalancerIPPool".into()),
                    name: Some(name.clone()),
                    uid: Some(pool.value.input.uid.clone()),
                    ..ObjectReference::default()
                })
            }
        })
    }
}

/// What makes two planned Events the same report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    regarding: String,
    reason: String,
    note: String,
}

impl EventKey {
    fn of(event: &PlannedEvent) -> Self {
        let regarding = match &event.regarding {
            Regarding::Service(key) => format!("service/{key}"),
            Regarding::Pool(name) => format!("pool/{name}"),
        };
        Self {
            regarding,
            reason: event.reason.clone(),
            note: event.note.clone(),
        }
    }
}
