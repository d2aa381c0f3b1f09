//! The agent's run loop: two watches (Services, EndpointSlices) feed the [`Index`]; changes are
//! debounced into one [`Agent::sync`], which programs the maps by diff. With L2 announcements
//! on, this node's NodeL2Announcement and its liveness Lease are watched too, and the
//! responder table follows them ([`L2Answering`]).
//!
//! Nothing is synced before every watch has listed once (see
//! [`Feeder::initially_listed`]): the maps adopted from the previous agent keep serving
//! established and new flows until the new agent knows the whole cluster, so a restart never
//! deletes a service's entries just because its Service was not listed yet. The one exception
//! is the L2 fence: an agent that cannot list its Lease within the start-up bound withdraws the
//! responder entries alone ([`Agent::withdraw_responders`]; see [`crate::l2_fence`]).
//!
//! [`Index`]: crate::index::Index

use std::time::Duration;

use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use ferrule_bpf_loader::DatapathMaps;
use ferrule_runtime::{Metrics, Readiness};
use futures::stream::BoxStream;
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::time::Instant;

use crate::Error;
use crate::agent::Agent;
use crate::feed::{Change, Feeder};
use crate::l2_answering::L2Answering;
use crate::l2_entries::Device;
use crate::l2_fence::{LeaseFence, LeaseRef};
use crate::metrics::AgentMetrics;
use crate::problems::Problems;
use crate::responder::Announcer;

/// The controller label of the reconcile metrics.
pub const CONTROLLER: &str = "agent";

/// Timing of the run loop.
#[derive(Debug, Clone)]
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
    /// With `l2_announcements`: answer only while this liveness Lease is seen renewed (see
    /// [`crate::l2_fence`]). `None` answers for the announcement unconditionally.
    pub l2_lease: Option<LeaseRef>,
    /// The attached devices as the device rescan changes them
    /// ([`crate::bring_up::rescan_devices`]): each change replaces the agent's devices and
    /// recomputes the responder entries. `None`: the devices stay as the agent started.
    pub devices: Option<tokio::sync::watch::Receiver<Vec<Device>>>,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            debounce: Duration::from_millis(100),
            retry: Duration::from_secs(2),
            l2_announcements: false,
            l2_lease: None,
            devices: None,
        }
    }
}

/// One input of the loop.
enum Input {
    Cluster(Result<Change, watcher::Error>),
    Lease(Result<Box<watcher::Event<Lease>>, watcher::Error>),
    Devices(Vec<Device>),
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
    let mut inputs: Vec<BoxStream<'static, Input>> = vec![
        watcher::watcher(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .map_ok(|e| Change::Services(Box::new(e.modify(|s| unread_metadata(&mut s.metadata)))))
        .map(Input::Cluster)
        .boxed(),
        watcher::watcher(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff()
        .map_ok(|e| Change::Slices(Box::new(e.modify(|s| unread_metadata(&mut s.metadata)))))
        .map(Input::Cluster)
        .boxed(),
    ];
    let agent_metrics = AgentMetrics::register(&metrics);
    let mut feeder = Feeder::default();
    let mut l2 = L2Answering::new(None, "", agent_metrics.clone());
    if settings.l2_announcements {
        feeder = Feeder::with_announcement();
        inputs.push(
            watcher::watcher(
                Api::<NodeL2Announcement>::all(client.clone()),
                watcher::Config::default().fields(&format!("metadata.name={}", agent.node_name)),
            )
            .default_backoff()
            .map_ok(|e| Change::Announcement(Box::new(e)))
            .map(Input::Cluster)
            .boxed(),
        );
        if let Some(lease) = &settings.l2_lease {
            inputs.push(
                watcher::watcher(
                    Api::<Lease>::namespaced(client.clone(), &lease.namespace),
                    watcher::Config::default().fields(&format!("metadata.name={}", lease.name)),
                )
                .default_backoff()
                .map_ok(Box::new)
                .map(Input::Lease)
                .boxed(),
            );
            let fence = LeaseFence::new(Instant::now().into_std(), lease.default_duration);
            let name = format!("{}/{}", lease.namespace, lease.name);
            l2 = L2Answering::new(Some(fence), name, agent_metrics.clone());
        }
    }
    if let Some(devices) = settings.devices.clone() {
        inputs.push(
            futures::stream::unfold(devices, |mut rx| async move {
                rx.changed().await.ok()?;
                let now = rx.borrow_and_update().clone();
                Some((Input::Devices(now), rx))
            })
            .boxed(),
        );
    }
    let mut events = futures::stream::select_all(inputs);
    let mut problems = Problems::default();
    // Due from the start: the first sync adopts and reconciles whatever the maps hold.
    let mut due: Option<Instant> = Some(Instant::now());
    // When the fence must be looked at again although nothing was observed.
    let mut fence_at: Option<Instant> = None;
    // Whether the responder entries were withdrawn before the first sync (see the module doc).
    let mut withdrawn_early = false;
    loop {
        let listed = feeder.initially_listed() && l2.lease_listed();
        let wake = [due.filter(|_| listed), fence_at]
            .into_iter()
            .flatten()
            .min();
        let next = match wake {
            Some(at) => tokio::time::timeout_at(at, events.next()).await.ok(),
            None => Some(events.next().await),
        };
        let now = Instant::now();
        let mut reprogram = false;
        match next {
            Some(Some(Input::Cluster(Ok(change)))) => {
                reprogram = matches!(change, Change::Announcement(_));
                if feeder.apply(&mut agent.index, change) && due.is_none() {
                    due = Some(now + settings.debounce);
                }
            }
            Some(Some(Input::Lease(Ok(event)))) => {
                l2.observe_lease(*event, now.into_std());
                reprogram = true;
            }
            Some(Some(Input::Devices(devices))) => {
                tracing::info!(devices = ?devices.iter().map(|d| (&d.name, d.ifindex)).collect::<Vec<_>>(), "attached devices changed; recomputing where announced IPs are answered");
                agent.devices = devices;
                reprogram = true;
            }
            Some(Some(Input::Cluster(Err(error)) | Input::Lease(Err(error)))) => {
                tracing::warn!(%error, "watch failed; retrying with backoff");
            }
            Some(None) => return Error::WatchEnded,
            None => {
                if fence_at.is_some_and(|at| at <= now) {
                    fence_at = None;
                    reprogram = true;
                }
                if listed && due.is_some_and(|at| at <= now) {
                    due = sync(
                        &mut agent,
                        &metrics,
                        &agent_metrics,
                        &mut problems,
                        &recorder,
                    )
                    .await
                    .then(|| now + settings.retry);
                    if due.is_none() {
                        readiness.set_ready();
                    }
                }
            }
        }
        if reprogram && settings.l2_announcements {
            let programmed = l2.program(&mut agent, now.into_std());
            fence_at = programmed.recheck_at.map(Instant::from_std);
            if programmed.changed && due.is_none() {
                due = Some(now + settings.debounce);
            }
        }
        let listed = feeder.initially_listed() && l2.lease_listed();
        if !listed && l2.fenced() && !withdrawn_early {
            match agent.withdraw_responders() {
                Ok(report) => {
                    withdrawn_early = true;
                    tracing::warn!(
                        withdrawn = report.withdrawn.len(),
                        "responder entries withdrawn before the first sync: the liveness Lease could not be listed"
                    );
                }
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "withdrawing responder entries failed; retrying");
                    fence_at = Some(now + settings.retry);
                }
            }
        }
    }
}

/// Drops what the datapath never reads from a watched object's metadata before it is kept
/// (a relist buffers every object until the list is complete): managedFields and annotations
/// (last-applied-configuration) are most of a Service's size, 44 MB of heap at 10,000.
fn unread_metadata(meta: &mut kube::api::ObjectMeta) {
    meta.managed_fields = None;
    meta.annotations = None;
}

/// One sync and its reporting; returns whether it failed (and must be retried).
async fn sync<M: DatapathMaps, A: Announcer>(
    agent: &mut Agent<M, A>,
    metrics: &Metrics,
    agent_metrics: &AgentMetrics,
    problems: &mut Problems,
    recorder: &ferrule_runtime::EventRecorder,
) -> bool {
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
                report_problem(recorder, &agent.node_name, &problem).await;
            }
            false
        }
        Err(error) => {
            tracing::warn!(error = %error_chain(&error), "sync failed; retrying");
            true
        }
    }
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
