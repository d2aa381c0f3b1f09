//! This node's liveness Lease: created and renewed every retry period while the node's
//! ferrule-agent is healthy, released on shutdown.
//!
//! The rules are ferrule-runtime's leader election ([`decide`]) with the node name as the
//! identity and one Lease per node, so they are client-go's: renew with optimistic
//! concurrency, stop claiming liveness when no renewal succeeded for the renew deadline (a
//! partitioned node stops announcing before the others' lease-duration timers let them take
//! over, as a leader steps down), and on shutdown clear the holder so the others reassign at
//! once. Two differences: when the agent turns unhealthy the Lease is released as on shutdown
//! (this node stops answering at once, so the others must take over at once) and nothing is
//! renewed until it is healthy again, and liveness is published as an instant ("live until") rather than a flag,
//! so the reconcile loop can stop announcing exactly at the deadline even while an API call
//! hangs.
//!
//! Every write carries this node's failover delay as an annotation
//! ([`ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER`]): how long the others and
//! this node's agent wait after the record last changed (see `crate::liveness`).

use crate::health::AgentHealth;
use crate::liveness::{format_failover_after, lease_name};
use crate::metrics::{AnnouncerMetrics, RenewResult};
use ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER;
use ferrule_runtime::Shutdown;
use ferrule_runtime::leader::{ElectionTiming, LeaderAction, Observation, RecordClock, decide};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Upper bound for releasing the Lease on shutdown (the kubelet's grace period is longer).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(3);

/// The renewer of one node's Lease.
pub struct Renewer {
    api: Api<Lease>,
    name: String,
    node: String,
    timing: ElectionTiming,
    /// The annotation value announcing this node's failover delay.
    failover_after: String,
    health: AgentHealth,
    metrics: AnnouncerMetrics,
    /// Until when (local clock) this node may announce; `None`: not live.
    live_until: watch::Sender<Option<Instant>>,
    cached: Option<Lease>,
    clock: RecordClock,
    last_renewed: Option<Instant>,
    agent_healthy: Option<bool>,
    /// Since when (local clock) every probe of the agent failed; `None` while it answers.
    failing_since: Option<Instant>,
}

impl std::fmt::Debug for Renewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewer")
            .field("name", &self.name)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

/// How a write ended.
enum Written {
    Ok,
    Conflict,
    Failed,
}

impl Renewer {
    pub fn new(
        client: Client,
        namespace: &str,
        node: &str,
        timing: ElectionTiming,
        failover_after: Duration,
        health: AgentHealth,
        metrics: AnnouncerMetrics,
    ) -> (Self, watch::Receiver<Option<Instant>>) {
        let (live_until, receiver) = watch::channel(None);
        let renewer = Self {
            api: Api::namespaced(client, namespace),
            name: lease_name(node),
            node: node.to_owned(),
            timing,
            failover_after: format_failover_after(failover_after),
            health,
            metrics,
            live_until,
            cached: None,
            clock: RecordClock::default(),
            last_renewed: None,
            agent_healthy: None,
            failing_since: None,
        };
        (renewer, receiver)
    }

    /// Renews until `shutdown`, then stops claiming liveness and releases the Lease.
    pub async fn run(mut self, shutdown: Shutdown) {
        tracing::info!(lease = %self.name, timing = ?self.timing, failover_after = %self.failover_after, "renewing the liveness Lease while the agent is healthy");
        loop {
            tokio::select! {
                () = shutdown.wait() => break,
                () = self.round() => {}
            }
            tokio::select! {
                () = shutdown.wait() => break,
                () = tokio::time::sleep(self.timing.retry_period) => {}
            }
        }
        self.publish(None);
        if tokio::time::timeout(RELEASE_TIMEOUT, self.release())
            .await
            .is_err()
        {
            tracing::warn!(
                "releasing the liveness Lease timed out; the others wait for it to expire"
            );
        }
    }

    async fn round(&mut self) {
        let probe_timeout = self
            .timing
            .retry_period
            .clamp(Duration::from_millis(200), self.timing.renew_deadline);
        let probe_ok = self.health.is_healthy(probe_timeout).await;
        // The XDP responder keeps answering from the pinned maps while the agent restarts or
        // upgrades, so a short failure is tolerated: the agent counts as unhealthy once every
        // probe failed for the renew deadline, as a renewal failure does.
        let healthy = if probe_ok {
            self.failing_since = None;
            true
        } else {
            let since = *self.failing_since.get_or_insert_with(crate::watch::now);
            self.agent_healthy == Some(true) && since.elapsed() < self.timing.renew_deadline
        };
        if self.agent_healthy != Some(healthy) {
            if healthy {
                tracing::info!("the node's ferrule-agent is healthy; renewing the liveness Lease");
            } else {
                tracing::warn!(
                    "the node's ferrule-agent is not healthy; not renewing the liveness Lease and announcing nothing"
                );
            }
            self.agent_healthy = Some(healthy);
        }
        if !healthy {
            let was_live = self.last_renewed.take().is_some();
            self.publish(None);
            self.metrics.renewal(RenewResult::AgentUnhealthy);
            // This node just stopped answering: release the Lease so the others take its
            // services over now, not a lease duration later (a gap with nobody answering).
            if was_live
                && tokio::time::timeout(RELEASE_TIMEOUT, self.release())
                    .await
                    .is_err()
            {
                tracing::warn!(
                    "releasing the liveness Lease timed out; the others wait for it to expire"
                );
            }
            return;
        }
        for _ in 0..2 {
            self.refresh().await;
            let now = crate::watch::now();
            match decide(&self.observation(now, false), &self.node, &self.timing) {
                LeaderAction::Create(spec) => match self.create(spec).await {
                    Written::Ok => return self.renewed(now),
                    Written::Conflict => continue,
                    Written::Failed => {}
                },
                LeaderAction::Renew(spec) | LeaderAction::TakeOver(spec) => {
                    match self.replace(spec).await {
                        Written::Ok => return self.renewed(now),
                        Written::Conflict => continue,
                        Written::Failed => {}
                    }
                }
                LeaderAction::Wait { holder } => {
                    tracing::warn!(%holder, lease = %self.name, "another announcer holds this node's Lease (two announcers for one node?); announcing nothing");
                    self.last_renewed = None;
                    self.publish(None);
                    self.metrics.renewal(RenewResult::HeldByOther);
                    return;
                }
                LeaderAction::StepDown => {
                    tracing::warn!(deadline = ?self.timing.renew_deadline, "could not renew the liveness Lease before the renew deadline; announcing nothing");
                    self.last_renewed = None;
                    self.publish(None);
                    self.metrics.renewal(RenewResult::DeadlineMissed);
                    return;
                }
                LeaderAction::Release(_) | LeaderAction::Exit => return,
            }
            break;
        }
        self.metrics.renewal(RenewResult::Error);
    }

    fn renewed(&mut self, at: Instant) {
        if self.last_renewed.is_none() {
            tracing::info!(lease = %self.name, "liveness Lease held; this node is a candidate");
        }
        self.last_renewed = Some(at);
        self.publish(Some(at + self.timing.renew_deadline));
        self.metrics.renewal(RenewResult::Success);
    }

    fn publish(&self, until: Option<Instant>) {
        self.live_until.send_if_modified(|current| {
            let changed = *current != until;
            *current = until;
            changed
        });
    }

    async fn release(&mut self) {
        for _ in 0..2 {
            let observation = self.observation(crate::watch::now(), true);
            let LeaderAction::Release(spec) = decide(&observation, &self.node, &self.timing) else {
                return;
            };
            match self.replace(spec).await {
                Written::Ok => {
                    tracing::info!(lease = %self.name, "released the liveness Lease");
                    return;
                }
                Written::Conflict => self.refresh().await,
                Written::Failed => return,
            }
        }
    }

    fn observation(&self, local_now: Instant, shutting_down: bool) -> Observation<'_> {
        Observation {
            lease: self.cached.as_ref().and_then(|l| l.spec.as_ref()),
            now: Timestamp::now(),
            local_now,
            record_changed_at: self.clock.changed_at(),
            last_renewed: self.last_renewed,
            shutting_down,
        }
    }

    async fn refresh(&mut self) {
        match self.call(self.api.get_opt(&self.name)).await {
            Some(Ok(lease)) => {
                self.cached = lease;
                let record = self.cached.as_ref().and_then(|l| l.spec.as_ref());
                self.clock.observe(record, crate::watch::now());
            }
            Some(Err(error)) => tracing::warn!(%error, "reading the liveness Lease"),
            None => tracing::warn!("reading the liveness Lease timed out"),
        }
    }

    async fn create(&mut self, spec: LeaseSpec) -> Written {
        let mut lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        self.annotate(&mut lease.metadata);
        let result = self
            .call(self.api.create(&PostParams::default(), &lease))
            .await;
        self.written(result, "creating")
    }

    async fn replace(&mut self, spec: LeaseSpec) -> Written {
        let Some(cached) = &self.cached else {
            return Written::Conflict;
        };
        let mut lease = Lease {
            spec: Some(spec),
            ..cached.clone()
        };
        self.annotate(&mut lease.metadata);
        let result = self
            .call(self.api.replace(&self.name, &PostParams::default(), &lease))
            .await;
        self.written(result, "updating")
    }

    fn annotate(&self, metadata: &mut ObjectMeta) {
        metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(L2_FAILOVER_AFTER.to_owned(), self.failover_after.clone());
    }

    fn written(&mut self, result: Option<kube::Result<Lease>>, verb: &str) -> Written {
        match result {
            Some(Ok(lease)) => {
                self.cached = Some(lease);
                let record = self.cached.as_ref().and_then(|l| l.spec.as_ref());
                self.clock.observe(record, crate::watch::now());
                Written::Ok
            }
            Some(Err(kube::Error::Api(status))) if status.code == 409 => Written::Conflict,
            Some(Err(error)) => {
                tracing::warn!(%error, verb, "writing the liveness Lease");
                Written::Failed
            }
            None => {
                tracing::warn!(verb, "writing the liveness Lease timed out");
                Written::Failed
            }
        }
    }

    /// One API call, bounded so a hanging API server cannot stretch a renewal past the
    /// deadline.
    async fn call<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let budget = match self.last_renewed {
            Some(renewed) => self
                .timing
                .renew_deadline
                .saturating_sub(crate::watch::now().saturating_duration_since(renewed)),
            None => self.timing.renew_deadline,
        };
        tokio::time::timeout(budget.max(Duration::from_millis(100)), request)
            .await
            .ok()
    }
}
