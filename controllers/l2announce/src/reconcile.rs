//! The announcer: the liveness Lease renewer, the watches and the reconcile loop, until
//! shutdown.
//!
//! A pass runs after any change that can move an assignment (a policy, Service, slice or Node
//! changed; a node became live or not; this node's own liveness changed) and when the first
//! live Lease is due to expire; bursts are debounced. Lease renewals of live nodes are no
//! change, so the API load of N announcers is N Lease writes per retry period plus their watch
//! events, however many Services there are. A pass writes this node's NodeL2Announcement only
//! when it differs from what is stored.
//!
//! Shutdown (SIGTERM): the Lease is released (holder cleared) and an empty NodeL2Announcement
//! written, concurrently, so the others reassign at once and this node stops answering.

use crate::apply;
use crate::core::model::ServiceKey;
use crate::core::timings::LeaseTimings;
use crate::error::Error;
use crate::health::AgentHealth;
use crate::index::SharedIndex;
use crate::lease::Renewer;
use crate::metrics::AnnouncerMetrics;
use crate::plan::{self, Decision};
use crate::watch;
use ferrule_api::node_l2announcements::v1alpha1::NodeL2AnnouncementSpec;
use ferrule_runtime::leader::ElectionTiming;
use ferrule_runtime::{EventRecorder, Metrics, Readiness, Shutdown};
use futures::FutureExt as _;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::watch as channel;

/// The `controller` label of the runtime's reconcile metrics.
pub const CONTROLLER: &str = "l2announce";

/// How long shutdown may spend withdrawing this node's announcements.
const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(3);

/// How the announcer runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub node: String,
    /// Namespace of the liveness Leases.
    pub namespace: String,
    /// Validated lease timings.
    pub timings: LeaseTimings,
    pub agent_health: AgentHealth,
    /// Quiet time after a change before the pass starts, to batch bursts of events.
    pub debounce: Duration,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Settings {
    pub fn new(
        node: String,
        namespace: String,
        timings: LeaseTimings,
        agent_health: AgentHealth,
    ) -> Self {
        Self {
            node,
            namespace,
            timings,
            agent_health,
            debounce: Duration::from_millis(100),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the announcer needs from the runtime.
#[derive(Debug, Clone)]
pub struct Context {
    pub metrics: Metrics,
    pub events: EventRecorder,
    pub readiness: Readiness,
}

/// Runs until `shutdown`, then withdraws (see the module docs); returns an error only when a
/// watch ended without shutdown.
pub async fn run(
    client: Client,
    settings: Settings,
    context: Context,
    shutdown: Shutdown,
) -> Result<(), Error> {
    let index = SharedIndex::new();
    let metrics = AnnouncerMetrics::register(&context.metrics);
    let t = settings.timings;
    let timing = ElectionTiming {
        lease_duration: t.lease_duration,
        renew_deadline: t.renew_deadline,
        retry_period: t.retry_period,
    };
    let (renewer, live_until) = Renewer::new(
        client.clone(),
        &settings.namespace,
        &settings.node,
        timing,
        t.failover_after(),
        settings.agent_health.clone(),
        metrics.clone(),
    );
    let renewer = tokio::spawn(renewer.run(shutdown.clone()));
    let namespace = settings.namespace.clone();
    let watches = watch::all(client.clone(), index.clone(), &namespace, t.lease_duration);
    let reconciler = Reconciler {
        client,
        settings,
        index,
        metrics,
        runtime_metrics: context.metrics,
        events: context.events,
        readiness: context.readiness,
        live_until,
    };
    let result = tokio::select! {
        error = watches => Err(error),
        () = reconciler.run(shutdown.clone()) => Ok(()),
    };
    // The renewer releases the Lease once shutdown fires; a watch that ended must stop it too.
    shutdown.trigger();
    if let Err(error) = renewer.await {
        tracing::warn!(%error, "the liveness Lease task failed");
    }
    result
}

struct Reconciler {
    client: Client,
    settings: Settings,
    index: SharedIndex,
    metrics: AnnouncerMetrics,
    runtime_metrics: Metrics,
    events: EventRecorder,
    readiness: Readiness,
    live_until: channel::Receiver<Option<Instant>>,
}

impl Reconciler {
    async fn run(mut self, shutdown: Shutdown) {
        tokio::select! {
            () = shutdown.wait() => {
                self.withdraw().await;
                return;
            }
            () = self.wait_for_sync() => {}
        }
        self.readiness.set_ready();
        tracing::info!(node = %self.settings.node, "initial lists complete; ready");
        let mut warned: BTreeSet<ServiceKey> = BTreeSet::new();
        let mut failures: u32 = 0;
        let mut live_open = true;
        loop {
            // Let the burst that woke us finish, then drop the wake-up it left behind.
            tokio::select! {
                () = shutdown.wait() => break,
                () = tokio::time::sleep(self.settings.debounce) => {}
            }
            let _ = self.index.changed().now_or_never();
            let (due, failed) = self.pass(&mut warned).await;
            let retry_at = if failed {
                let delay = backoff(&self.settings, failures);
                failures = failures.saturating_add(1);
                Some(tokio::time::Instant::now() + delay)
            } else {
                failures = 0;
                None
            };
            let wake_at = [due.map(tokio::time::Instant::from_std), retry_at]
                .into_iter()
                .flatten()
                .min();
            tokio::select! {
                () = shutdown.wait() => break,
                () = self.index.changed() => {}
                changed = self.live_until.changed(), if live_open => {
                    live_open = changed.is_ok();
                }
                () = sleep_until(wake_at) => {}
            }
        }
        self.withdraw().await;
    }

    async fn wait_for_sync(&self) {
        while !self.index.read(|i| i.is_synced()) {
            self.index.changed().await;
        }
    }

    /// One pass; returns when the next one is due without any change, and whether a write
    /// failed (retried with backoff).
    async fn pass(&self, warned: &mut BTreeSet<ServiceKey>) -> (Option<Instant>, bool) {
        let timer = self.runtime_metrics.reconcile_started(CONTROLLER);
        let now = watch::now();
        let live_until = *self.live_until.borrow();
        let self_live = live_until.is_some_and(|until| now < until);
        let snapshot = self.index.read(|i| {
            i.snapshot(
                &self.settings.node,
                now,
                self.settings.timings.lease_duration,
            )
        });
        let wall = Time(Timestamp::now());
        let decision = plan::decide(&snapshot, &self.settings.node, self_live, &wall);
        let mut first_error: Option<Error> = None;
        self.write(&decision, &mut first_error).await;
        self.warn(&decision, warned).await;
        self.metrics
            .set_state(count_services(&decision.own), snapshot.live.len());
        tracing::debug!(
            live = ?snapshot.live,
            self_live,
            announced = decision.own.announcements.len(),
            writes_status = decision.writes_status,
            "pass done"
        );
        let failed = first_error.is_some();
        let label = first_error.as_ref().map_or(
            ferrule_runtime::metrics::RESULT_SUCCESS,
            Error::metric_label,
        );
        timer.finish(label);
        let own_expiry = live_until.filter(|_| self_live);
        let due = [snapshot.next_expiry, own_expiry]
            .into_iter()
            .flatten()
            .min();
        (due, failed)
    }

    async fn write(&self, decision: &Decision, first_error: &mut Option<Error>) {
        let node = &self.settings.node;
        if decision.own_changed {
            let result = apply::announcement(&self.client, &self.index, node, &decision.own).await;
            self.record("announcement", result, first_error);
            tracing::info!(
                services = count_services(&decision.own),
                ips = %decision.own.summary.ips,
                "announcements of this node changed"
            );
        }
        for stale in &decision.stale {
            let empty = NodeL2AnnouncementSpec::new(stale.clone(), Vec::new());
            let result = apply::announcement(&self.client, &self.index, stale, &empty).await;
            if result.is_ok() {
                tracing::info!(node = %stale, "emptied the NodeL2Announcement of a node that is no longer live");
            }
            self.record("stale_announcement", result, first_error);
        }
        for (name, conditions) in &decision.policy_status {
            let result = apply::policy_status(&self.client, &self.index, name, conditions).await;
            self.record("policy_status", result, first_error);
        }
    }

    fn record(&self, kind: &'static str, result: Result<(), Error>, first: &mut Option<Error>) {
        match result {
            Ok(()) => self
                .metrics
                .write(kind, ferrule_runtime::metrics::RESULT_SUCCESS),
            Err(error) => {
                self.metrics.write(kind, error.metric_label());
                tracing::warn!(%error, source = ?std::error::Error::source(&error), "write failed; will retry");
                first.get_or_insert(error);
            }
        }
    }

    /// A Warning per eTP Local Service without a ready local endpoint on any candidate, once
    /// per appearance, from the status-writing node only.
    async fn warn(&self, decision: &Decision, warned: &mut BTreeSet<ServiceKey>) {
        if !decision.writes_status {
            warned.clear();
            return;
        }
        let current: BTreeSet<ServiceKey> = decision.no_local_endpoint.iter().cloned().collect();
        for key in current.difference(warned) {
            let Some(uid) = self
                .index
                .read(|i| i.services.get(key).map(|s| s.uid.clone()))
            else {
                continue;
            };
            let reference = ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Service".into()),
                namespace: Some(key.namespace.clone()),
                name: Some(key.name.clone()),
                uid: Some(uid),
                ..ObjectReference::default()
            };
            self.events
                .warning(
                    &reference,
                    "NoLocalEndpoint",
                    "Announce",
                    "externalTrafficPolicy is Local and no node selected by an L2 announcement \
                     policy has a ready endpoint of this Service; its IPs are not announced",
                )
                .await;
        }
        *warned = current;
    }

    /// Stops announcing: an empty NodeL2Announcement unless one is already stored.
    async fn withdraw(&self) {
        let node = &self.settings.node;
        let empty = NodeL2AnnouncementSpec::new(node.clone(), Vec::new());
        let stored = self.index.read(|i| i.announcements.get(node).cloned());
        if stored.as_ref() == Some(&empty) {
            return;
        }
        match tokio::time::timeout(
            WITHDRAW_TIMEOUT,
            apply::announcement(&self.client, &self.index, node, &empty),
        )
        .await
        {
            Ok(Ok(())) => tracing::info!("withdrew this node's announcements"),
            Ok(Err(error)) => tracing::warn!(%error, "withdrawing this node's announcements"),
            Err(_) => tracing::warn!("withdrawing this node's announcements timed out"),
        }
    }
}

/// Distinct Services in a spec.
fn count_services(spec: &NodeL2AnnouncementSpec) -> usize {
    spec.announcements
        .iter()
        .map(|a| (&a.service.namespace, &a.service.name))
        .collect::<BTreeSet<_>>()
        .len()
}

fn backoff(settings: &Settings, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(16));
    settings
        .min_backoff
        .saturating_mul(factor)
        .min(settings.max_backoff)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
