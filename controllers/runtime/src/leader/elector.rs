//! The async side of leader election: reads the Lease, applies [`decide`], writes with
//! optimistic concurrency and publishes leadership on a watch channel.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use std::time::Instant;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::decision::{ElectionTiming, LeaderAction, Observation, RecordClock, decide};
use crate::metrics::Metrics;

/// Upper bound for releasing the Lease on shutdown; a standby takes over by expiry otherwise.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// Who competes for which Lease, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub lease_name: String,
    /// This candidate's identity, unique among candidates (the pod name).
    pub identity: String,
    /// Lease duration, renew deadline, retry period.
    pub timing: ElectionTiming,
}

/// A running leader election. Leadership is published on a watch channel; writes to the
/// cluster should happen only while it reads `true` (reads need no leadership, so followers
/// keep their caches warm for a fast takeover).
#[derive(Debug)]
pub struct LeaderElector {
    leadership: watch::Receiver<bool>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl LeaderElector {
    /// Starts competing for the Lease with `client` (any client: a real cluster or a test API).
    pub fn spawn(client: Client, config: ElectionConfig, metrics: Metrics) -> Self {
        let (sender, leadership) = watch::channel(false);
        metrics.set_leader(&config.lease_name, false);
        let stop = CancellationToken::new();
        let candidate = Candidate {
            api: Api::namespaced(client, &config.namespace),
            config,
            metrics,
            leading: sender,
            cached: None,
            record_clock: RecordClock::default(),
            last_renewed: None,
        };
        let task = tokio::spawn(candidate.run(stop.clone()));
        Self {
            leadership,
            stop,
            task,
        }
    }

    /// `true` while this process leads; changes are notified.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leadership.clone()
    }

    /// Stops competing and, when leading, releases the Lease so a standby takes over at once.
    /// Leadership reads `false` before the release is written.
    pub async fn release(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "leader election task failed");
        }
    }
}

struct Candidate {
    api: Api<Lease>,
    config: ElectionConfig,
    metrics: Metrics,
    leading: watch::Sender<bool>,
    /// The Lease as last read or written; its resourceVersion guards our next write.
    cached: Option<Lease>,
    /// When the Lease record last changed, by our monotonic clock: expiry is judged on it.
    record_clock: RecordClock,
    /// When (monotonic clock) our last successful acquire/renew started, while leading.
    last_renewed: Option<Instant>,
}

/// How a write ended.
enum Written {
    Ok,
    /// Someone else wrote first (409): re-read and decide again.
    Conflict,
    Failed,
}

impl Candidate {
    async fn run(mut self, stop: CancellationToken) {
        tracing::info!(
            lease = %self.config.lease_name,
            namespace = %self.config.namespace,
            identity = %self.config.identity,
            "competing for leadership"
        );
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => break,
                next = self.round() => next,
            };
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(next) => {}
            }
        }
        // Stop acting as leader before the Lease is given away.
        self.set_leading(false);
        self.last_renewed = None;
        if tokio::time::timeout(RELEASE_TIMEOUT, self.release())
            .await
            .is_err()
        {
            tracing::warn!("releasing the Lease timed out; a standby takes over when it expires");
        }
    }

    /// One attempt to acquire or renew; returns the delay before the next one.
    async fn round(&mut self) -> Duration {
        // A conflict means our view is stale: re-read at once, but only once per round.
        for _ in 0..2 {
            self.refresh().await;
            // Taken before the write: the renew deadline then counts from no later than the
            // moment the API server stored our renewal.
            let now = monotonic_now();
            let action = decide(
                &self.observation(now, false),
                &self.config.identity,
                &self.config.timing,
            );
            match action {
                LeaderAction::Create(spec) => match self.create(spec).await {
                    Written::Ok => self.acquired(now),
                    Written::Conflict => continue,
                    Written::Failed => {}
                },
                LeaderAction::Renew(spec) | LeaderAction::TakeOver(spec) => {
                    match self.replace(spec).await {
                        Written::Ok => self.acquired(now),
                        Written::Conflict => continue,
                        Written::Failed => {}
                    }
                }
                LeaderAction::Wait { holder } => {
                    if *self.leading.borrow() {
                        tracing::warn!(%holder, "another candidate holds the Lease; no longer leading");
                    }
                    self.last_renewed = None;
                    self.set_leading(false);
                }
                LeaderAction::StepDown => {
                    tracing::warn!(
                        deadline = ?self.config.timing.renew_deadline,
                        "could not renew the Lease before the renew deadline; no longer leading"
                    );
                    self.last_renewed = None;
                    self.set_leading(false);
                }
                // Only decided while shutting down, which `round` never is.
                LeaderAction::Release(_) | LeaderAction::Exit => {}
            }
            break;
        }
        self.config.timing.retry_period
    }

    async fn release(&mut self) {
        for _ in 0..2 {
            let observation = self.observation(monotonic_now(), true);
            let LeaderAction::Release(spec) =
                decide(&observation, &self.config.identity, &self.config.timing)
            else {
                return;
            };
            match self.replace(spec).await {
                Written::Ok => {
                    tracing::info!(lease = %self.config.lease_name, "released the Lease");
                    return;
                }
                // Re-read: if the Lease is still ours, release that version.
                Written::Conflict => self.refresh().await,
                Written::Failed => return,
            }
        }
    }

    fn observation(&self, local_now: Instant, shutting_down: bool) -> Observation<'_> {
        Observation {
            lease: self.cached.as_ref().and_then(|lease| lease.spec.as_ref()),
            now: Timestamp::now(),
            local_now,
            record_changed_at: self.record_clock.changed_at(),
            last_renewed: self.last_renewed,
            shutting_down,
        }
    }

    /// Notes the Lease as just read or written, for expiry by our own clock.
    fn note_record(&mut self) {
        let record = self.cached.as_ref().and_then(|lease| lease.spec.as_ref());
        self.record_clock.observe(record, monotonic_now());
    }

    /// Reads the Lease into the cache. On error the cache is kept: deciding on it is safe,
    /// because any write based on it fails unless it is still current.
    async fn refresh(&mut self) {
        match self.call(self.api.get_opt(&self.config.lease_name)).await {
            Some(Ok(lease)) => {
                self.cached = lease;
                self.note_record();
            }
            Some(Err(error)) => tracing::warn!(%error, "reading the leader-election Lease"),
            None => tracing::warn!("reading the leader-election Lease timed out"),
        }
    }

    async fn create(&mut self, spec: LeaseSpec) -> Written {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.config.lease_name.clone()),
                namespace: Some(self.config.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
        };
        let result = self
            .call(self.api.create(&PostParams::default(), &lease))
            .await;
        self.written(result, "creating")
    }

    /// Replaces the cached Lease's spec; the cached resourceVersion makes a concurrent write
    /// fail with 409 instead of being overwritten.
    async fn replace(&mut self, spec: LeaseSpec) -> Written {
        let Some(cached) = &self.cached else {
            return Written::Conflict;
        };
        let lease = Lease {
            spec: Some(spec),
            ..cached.clone()
        };
        let result = self
            .call(
                self.api
                    .replace(&self.config.lease_name, &PostParams::default(), &lease),
            )
            .await;
        self.written(result, "updating")
    }

    fn written(&mut self, result: Option<kube::Result<Lease>>, verb: &str) -> Written {
        match result {
            Some(Ok(lease)) => {
                self.cached = Some(lease);
                self.note_record();
                Written::Ok
            }
            Some(Err(kube::Error::Api(status))) if status.code == 409 => {
                tracing::debug!(
                    verb,
                    "leader-election Lease changed concurrently; re-reading"
                );
                Written::Conflict
            }
            Some(Err(error)) => {
                tracing::warn!(%error, verb, "writing the leader-election Lease");
                Written::Failed
            }
            None => {
                tracing::warn!(verb, "writing the leader-election Lease timed out");
                Written::Failed
            }
        }
    }

    /// Runs one API call, bounded so that a hanging API server cannot keep us leading past the
    /// renew deadline: `None` when it timed out.
    async fn call<T>(&self, request: impl Future<Output = T>) -> Option<T> {
        let budget = match self.last_renewed {
            Some(renewed) => {
                let elapsed = monotonic_now().saturating_duration_since(renewed);
                self.config.timing.renew_deadline.saturating_sub(elapsed)
            }
            None => self.config.timing.renew_deadline,
        };
        tokio::time::timeout(budget, request).await.ok()
    }

    fn acquired(&mut self, renewed_at: Instant) {
        if !*self.leading.borrow() {
            tracing::info!(
                lease = %self.config.lease_name,
                identity = %self.config.identity,
                "acquired leadership"
            );
        }
        self.last_renewed = Some(renewed_at);
        self.set_leading(true);
    }

    fn set_leading(&self, leading: bool) {
        // The gauge first: whoever the watch wakes must already see it agree.
        self.metrics.set_leader(&self.config.lease_name, leading);
        self.leading.send_if_modified(|current| {
            let changed = *current != leading;
            *current = leading;
            changed
        });
    }
}

/// The monotonic clock leadership is timed on: Tokio's, so that tests with a paused clock see
/// the same time the elector's sleeps use.
fn monotonic_now() -> Instant {
    tokio::time::Instant::now().into_std()
}
