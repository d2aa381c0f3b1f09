//! The reconcile loop: level-triggered, whole cluster at once.
//!
//! Any change in the index (or the resync period, or gaining leadership) starts a pass after a
//! short debounce, so a burst of events costs one pass. A pass snapshots the index into the
//! core's [`Input`](crate::core::model::Input), plans, and writes only what differs from what
//! is observed. Passes never overlap, and each one sees the previous one's writes (the index
//! takes the objects writes return).
//!
//! Restart safety: the first pass waits until both watches have listed everything, so every
//! IP already in a Service's status is known before anything new is allocated. /readyz turns
//! ready at that point, on followers too (they keep the index warm, and only the leader
//! writes).

use crate::apply::{EventKey, Outcome, Writer};
use crate::core::conditions::SVC_REQUEST_SATISFIED;
use crate::core::model::{Config, Plan, ServicePlan};
use crate::error::Error;
use crate::index::SharedIndex;
use crate::metrics::LbipamMetrics;
use crate::observed::format_timestamp;
use crate::status::diff;
use crate::watch;
use ferrule_runtime::{EventRecorder, Metrics, Readiness};
use futures::FutureExt as _;
use kube::Client;
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use tokio::sync::watch as channel;

/// The `controller` label of the runtime's reconcile metrics.
pub const CONTROLLER: &str = "lbipam";

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
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
    pub fn new(config: Config, resync_period: Duration) -> Self {
        Self {
            config,
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
    let services = watch::services(client.clone(), index.clone(), SVC_REQUEST_SATISFIED);
    let pools = watch::pools(client.clone(), index.clone());
    let lbipam_metrics = LbipamMetrics::register(&context.metrics);
    let writer = Writer::new(
        client,
        index.clone(),
        lbipam_metrics.clone(),
        context.events.clone(),
        SVC_REQUEST_SATISFIED,
    );
    let reconciler = Reconciler {
        settings,
        index,
        writer,
        metrics: context.metrics.clone(),
        lbipam_metrics,
        readiness: context.readiness.clone(),
        leadership: context.leadership.clone(),
    };
    tokio::select! {
        error = services => error,
        error = pools => error,
        never = reconciler.run() => match never {},
    }
}

struct Reconciler {
    settings: Settings,
    index: SharedIndex,
    writer: Writer,
    metrics: Metrics,
    lbipam_metrics: LbipamMetrics,
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
        self.wait_for_sync().await;
        self.readiness.set_ready();
        tracing::info!(
            services = self.index.read(|i| i.services.len()),
            pools = self.index.read(|i| i.pools.len()),
            "initial lists complete; ready"
        );
        let mut published: HashSet<EventKey> = HashSet::new();
        let mut failures: u32 = 0;
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut leadership_open = true;
        // The first pass runs right away: a restart must settle what changed while we were down.
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
                let outcome = self.pass(&mut published).await;
                match outcome {
                    Some(outcome) if outcome.retry => {
                        let delay = backoff(&self.settings, failures);
                        failures = failures.saturating_add(1);
                        tracing::info!(delay_ms = delay.as_millis(), "retrying failed writes");
                        retry_at = Some(tokio::time::Instant::now() + delay);
                    }
                    _ => {
                        failures = 0;
                        retry_at = None;
                    }
                }
            }
            // A relist in progress wakes us again when it completes (its end is a change).
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

    /// Waits until both watches have listed everything once.
    async fn wait_for_sync(&self) {
        while !self.index.read(|i| i.is_synced()) {
            self.index.changed().await;
        }
    }

    /// One pass; `None` when there was nothing to do with the outcome (plan failed).
    async fn pass(&self, published: &mut HashSet<EventKey>) -> Option<Outcome> {
        let timer = self.metrics.reconcile_started(CONTROLLER);
        let input = self
            .index
            .update_quietly(|i| i.lend_input(self.settings.config.clone()));
        let started = Instant::now();
        // The core is CPU work: off the async workers. A panic in it must not lose the lent
        // inputs, so it is caught where the input is still at hand.
        let planned = tokio::task::spawn_blocking(move || {
            let plan = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::core::plan(&input)
            }));
            (input, plan)
        })
        .await;
        let plan = match planned {
            Ok((input, plan)) => {
                self.index.update_quietly(|i| i.give_back(input));
                plan.map_err(|_| Error::PlanPanicked)
            }
            // Only a cancelled runtime gets here (shutdown): the index goes with it.
            Err(join) => Err(Error::Plan(join)),
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(error) => {
                tracing::error!(%error, "planning failed");
                self.lbipam_metrics.pass(error.metric_label());
                timer.observe::<(), _>(&Err(error));
                return None;
            }
        };
        self.lbipam_metrics
            .plan_duration(started.elapsed().as_secs_f64());
        let now = format_timestamp(jiff::Timestamp::now());
        let targets = self.index.read(|i| diff(&plan, i, &now));
        let planned = targets.len();
        let outcome = self
            .writer
            .write_all(&plan, targets, &now, &self.leadership)
            .await;
        *published = self
            .writer
            .publish_events(&plan.events, published, &outcome.failed_services)
            .await;
        self.record_state(&plan);
        tracing::debug!(
            planned,
            written = outcome.written,
            skipped = outcome.skipped,
            failed = outcome.failed_services.len(),
            rejected = outcome.rejected,
            elapsed_ms = started.elapsed().as_millis(),
            "pass done"
        );
        let label = outcome.first_error.as_ref().map_or(
            ferrule_runtime::metrics::RESULT_SUCCESS,
            Error::metric_label,
        );
        self.lbipam_metrics.pass(label);
        timer.finish(label);
        Some(outcome)
    }

    fn record_state(&self, plan: &Plan) {
        let mut managed = 0;
        let (mut ipv4, mut ipv6) = (0, 0);
        for service in plan.services.values() {
            if let ServicePlan::Managed { ingress_ips, .. } = service {
                managed += 1;
                for ip in ingress_ips {
                    match ip {
                        IpAddr::V4(_) => ipv4 += 1,
                        IpAddr::V6(_) => ipv6 += 1,
                    }
                }
            }
        }
        self.lbipam_metrics
            .set_state(managed, plan.pools.len(), ipv4, ipv6);
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

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = Settings::new(
            Config {
                ipv4: true,
                ipv6: true,
                require_lb_class: false,
            },
            Duration::from_secs(300),
        );
        assert_eq!(backoff(&settings, 0), Duration::from_millis(200));
        assert_eq!(backoff(&settings, 1), Duration::from_millis(400));
        assert_eq!(backoff(&settings, 30), Duration::from_secs(60));
    }
}
