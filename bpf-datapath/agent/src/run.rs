//! The agent's run loop: two watches (Services, EndpointSlices) feed the [`Index`]; changes are
//! debounced into one [`Agent::sync`], which programs the maps by diff.
//!
//! Nothing is synced before both watches have listed once (see
//! [`Feeder::initially_listed`]): the maps adopted from the previous agent keep serving
//! established and new flows until the new agent knows the whole cluster, so a restart never
//! deletes a service's entries just because its Service was not listed yet.
//!
//! [`Index`]: crate::index::Index

use std::time::Duration;

use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_runtime::{Metrics, Readiness};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::time::Instant;

use crate::Error;
use crate::agent::Agent;
use crate::feed::{Change, Feeder};
use crate::l2_entries::resolve;
use crate::metrics::AgentMetrics;
use crate::problems::Problems;
use crate::responder::Announcer;

/// The controller label of the reconcile metrics.
pub const CONTROLLER: &str = "agent";

/// Timing of the run loop.
#[derive(Debug, Clone, Copy)]
pub struct RunSettings {
    /// A sync runs at most this long after the first change it includes, so a burst of
    /// events (a rollout touching many EndpointSlices) becomes one sync, not hundreds.
    pub debounce: Duration,
    /// Wait after a failed sync before trying again.
    pub retry: Duration,
    /// Watch this node's NodeL2Announcement (ferrule.io CRD) and answer ARP / NDP for what
    /// it lists. Off where the CRD is not installed (then the responder table is whatever the
    /// caller sets), on in the DaemonSet.
    pub l2_announcements: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(100),
            retry: Duration::from_secs(2),
            l2_announcements: false,
        }
    }
}

/// Runs until the watches end (they retry with backoff, so in practice until shutdown drops
/// this future). Marks `readiness` once the first sync after the initial lists succeeded.
pub async fn run<M: DatapathMaps, A: Announcer>(
    client: Client,
    mut agent: Agent<M, A>,
    readiness: Readiness,
    metrics: Metrics,
    settings: RunSettings,
) -> Error {
    let recorder = ferrule_runtime::EventRecorder::new(client.clone(), "ferrule-agent", None);
    let services = watcher::watcher(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .map_ok(|e| Change::Services(Box::new(e)));
    let slices = watcher::watcher(
        Api::<EndpointSlice>::all(client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .map_ok(|e| Change::Slices(Box::new(e)));
    let announcement = settings.l2_announcements.then(|| {
        watcher::watcher(
            Api::<NodeL2Announcement>::all(client),
            watcher::Config::default().fields(&format!("metadata.name={}", agent.node_name)),
        )
        .default_backoff()
        .map_ok(|e| Change::Announcement(Box::new(e)))
    });
    let mut feeder = if announcement.is_some() {
        Feeder::with_announcement()
    } else {
        Feeder::default()
    };
    let mut events = std::pin::pin!(futures::stream::select(
        futures::stream::select(services, slices),
        futures::stream::iter(announcement).flatten()
    ));
    let agent_metrics = AgentMetrics::register(&metrics);
    let mut problems = Problems::default();
    // Due from the start: the first sync adopts and reconciles whatever the maps hold.
    let mut due: Option<Instant> = Some(Instant::now());
    loop {
        let next = match due {
            Some(at) if feeder.initially_listed() => {
                tokio::time::timeout_at(at, events.next()).await.ok()
            }
            _ => Some(events.next().await),
        };
        match next {
            Some(Some(Ok(change))) => {
                let announcement = matches!(change, Change::Announcement(_));
                let mut changed = feeder.apply(&mut agent.index, change);
                if announcement {
                    changed |= program_announced(&mut agent);
                }
                if changed && due.is_none() {
                    due = Some(Instant::now() + settings.debounce);
                }
            }
            Some(Some(Err(error))) => {
                tracing::warn!(%error, "watch failed; retrying with backoff");
            }
            Some(None) => return Error::WatchEnded,
            None => {
                let timer = metrics.reconcile_started(CONTROLLER);
                let outcome = agent.sync();
                timer.observe(&outcome);
                match outcome {
                    Ok(report) => {
                        tracing::info!(
                            ops = report.applied.ops.len(),
                            announced = report.announcements.sent.len(),
                            "datapath maps in sync"
                        );
                        agent_metrics.announced(
                            report.announcements.sent.len(),
                            report.announcements.failed.len(),
                        );
                        for error in &report.announcements.failed {
                            tracing::warn!(%error, "announcement failed");
                        }
                        for problem in problems.newly_seen(&report.desired) {
                            report_problem(&recorder, &agent.node_name, &problem).await;
                        }
                        due = None;
                        readiness.set_ready();
                    }
                    Err(error) => {
                        tracing::warn!(error = %error_chain(&error), "sync failed; retrying");
                        due = Some(Instant::now() + settings.retry);
                    }
                }
            }
        }
    }
}

/// Turns this node's announced IPs into responder entries on the attached devices; returns
/// whether the responder table changed.
fn program_announced<M: DatapathMaps, A: Announcer>(agent: &mut Agent<M, A>) -> bool {
    let resolved = resolve(agent.index.announced(), &agent.devices);
    for (pattern, error) in &resolved.bad_regexes {
        tracing::warn!(%pattern, %error, "interface expression of a NodeL2Announcement does not compile; its IP is not announced there");
    }
    agent.responders.set(resolved.entries)
}

/// Logs a problem and, when it concerns a Service, puts a Warning Event on it.
async fn report_problem(
    events: &ferrule_runtime::EventRecorder,
    node: &str,
    problem: &crate::problems::Problem,
) {
    tracing::warn!(reason = problem.reason(), "{problem}");
    if let Some(service) = problem.service() {
        let regarding = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Service".into()),
            namespace: Some(service.namespace.clone()),
            name: Some(service.name.clone()),
            ..Default::default()
        };
        events
            .warning(
                &regarding,
                problem.reason(),
                "Program",
                format!("{problem} (node {node})"),
            )
            .await;
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
