//! The reconcile loop: level-triggered, whole cluster at once.
//!
//! Any change in the index (or the resync period, or gaining leadership) starts a pass after a
//! short debounce, so a burst of events costs one pass. A pass snapshots the index, plans, and
//! writes only what differs. Passes never overlap, and each sees the previous one's writes.
//!
//! Restart safety: the first pass waits until every watch has listed once, so every existing
//! node config (and the router IDs in it) is known before anything is derived. /readyz turns
//! ready at that point, on followers too (they keep the index warm; only the leader writes).

use crate::apply::Writer;
use crate::core::model::{Config, Plan, PlannedEvent};
use crate::diff::diff;
use crate::error::Error;
use crate::index::SharedIndex;
use crate::metrics::BgpMetrics;
use crate::observed::format_timestamp;
use crate::watch;
use ferrule_runtime::{EventRecorder, Metrics, Readiness};
use futures::FutureExt as _;
use kube::Client;
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch as channel;

/// The `controller` label of the runtime's reconcile metrics.
pub const CONTROLLER: &str = "bgp";

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    /// Namespace whose Secrets `authSecretRef` names (`--bgp-secrets-namespace`).
    pub secrets_namespace: String,
    /// A pass runs at least this often, changes or not (a settled cluster writes nothing).
    pub resync_period: Duration,
    /// Quiet time after a change before the pass starts, to batch bursts of events.
    pub debounce: Duration,
    /// First delay after a failed write; doubles per failing pass up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Settings {
    /// Default timing for `config`.
    pub fn new(config: Config, secrets_namespace: String, resync_period: Duration) -> Self {
        Self {
            config,
            secrets_namespace,
            resync_period,
            debounce: Duration::from_millis(50),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// What the loop needs from the runtime.
#[derive(Debug, Clone)]
pub struct Context {
    pub metrics: Metrics,
    pub events: EventRecorder,
    pub readiness: Readiness,
    /// `true` while this replica may write.
    pub leadership: channel::Receiver<bool>,
}

/// Watches, waits for the initial lists, then reconciles until the watches end (shutdown).
pub async fn run(client: Client, settings: Settings, context: Context) -> Error {
    let index = SharedIndex::new();
    let watches = watch::all(
        client.clone(),
        index.clone(),
        settings.secrets_namespace.clone(),
    );
    let bgp_metrics = BgpMetrics::register(&context.metrics);
    let writer = Writer::new(
        client,
        index.clone(),
        bgp_metrics.clone(),
        context.events.clone(),
    );
    let reconciler = Reconciler {
        settings,
        index,
        writer,
        metrics: context.metrics.clone(),
        bgp_metrics,
        readiness: context.readiness.clone(),
        leadership: context.leadership.clone(),
    };
    tokio::select! {
        error = watches => error,
        never = reconciler.run() => match never {},
    }
}

struct Reconciler {
    settings: Settings,
    index: SharedIndex,
    writer: Writer,
    metrics: Metrics,
    bgp_metrics: BgpMetrics,
    readiness: Readiness,
    leadership: channel::Receiver<bool>,
}

/// Why the loop woke up.
#[derive(Debug, PartialEq, Eq)]
enum Wake {
    Changed,
    Resync,
    Retry,
    Leadership,
}

impl Reconciler {
    async fn run(mut self) -> std::convert::Infallible {
        while !self.index.read(|i| i.is_synced()) {
            self.index.changed().await;
        }
        self.readiness.set_ready();
        tracing::info!(
            nodes = self.index.read(|i| i.nodes.len()),
            cluster_configs = self.index.read(|i| i.cluster_configs.len()),
            node_configs = self.index.read(|i| i.node_configs.len()),
            "initial lists complete; ready"
        );
        let mut published: HashSet<PlannedEvent> = HashSet::new();
        let mut failures: u32 = 0;
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut leadership_open = true;
        let mut wake = Wake::Changed;
        loop {
            if wake == Wake::Changed {
                // Let the burst that woke us finish, then drop the wake-up it left behind.
                tokio::time::sleep(self.settings.debounce).await;
                let _ = self.index.changed().now_or_never();
            }
            let leading = *self.leadership.borrow_and_update();
            if !leading {
                published.clear();
            } else if self.index.read(|i| i.is_synced()) {
                if self.pass(&mut published).await {
                    let delay = backoff(&self.settings, failures);
                    failures = failures.saturating_add(1);
                    tracing::info!(delay_ms = delay.as_millis(), "retrying failed writes");
                    retry_at = Some(tokio::time::Instant::now() + delay);
                } else {
                    failures = 0;
                    retry_at = None;
                }
            }
            wake = tokio::select! {
                () = self.index.changed() => Wake::Changed,
                () = tokio::time::sleep(self.settings.resync_period) => Wake::Resync,
                () = sleep_until(retry_at) => Wake::Retry,
                changed = self.leadership.changed(), if leadership_open => {
                    leadership_open = changed.is_ok();
                    Wake::Leadership
                }
            };
            tracing::trace!(?wake, "woke up");
        }
    }

    /// One pass; returns whether a failed write should be retried soon.
    async fn pass(&self, published: &mut HashSet<PlannedEvent>) -> bool {
        let timer = self.metrics.reconcile_started(CONTROLLER);
        let input = self.index.read(|i| i.input());
        let plan = crate::core::plan(&self.settings.config, &input);
        let now = format_timestamp(jiff::Timestamp::now());
        let targets = self.index.read(|i| diff(&plan, i));
        let planned = targets.len();
        let outcome = self
            .writer
            .write_all(&plan, targets, &now, &self.leadership)
            .await;
        *published = self.writer.publish_events(&plan.events, published).await;
        self.record_state(&plan);
        tracing::debug!(
            planned,
            written = outcome.written,
            skipped = outcome.skipped,
            "pass done"
        );
        let label = outcome.first_error.as_ref().map_or(
            ferrule_runtime::metrics::RESULT_SUCCESS,
            Error::metric_label,
        );
        timer.finish(label);
        outcome.retry
    }

    fn record_state(&self, plan: &Plan) {
        let conflicting = plan
            .cluster_configs
            .values()
            .filter(|c| {
                c.conditions.iter().any(|c| {
                    c.type_ == crate::core::conditions::CONFLICTING_CLUSTER_CONFIG && c.status
                })
            })
            .count();
        self.bgp_metrics
            .set_state(plan.node_configs.len(), conflicting);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::RouterIdMode;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = Settings::new(
            Config {
                router_id: RouterIdMode::Default,
            },
            "kube-system".into(),
            Duration::from_secs(300),
        );
        assert_eq!(backoff(&settings, 0), Duration::from_millis(200));
        assert_eq!(backoff(&settings, 1), Duration::from_millis(400));
        assert_eq!(backoff(&settings, 30), Duration::from_secs(60));
    }
}
