//! Partition fencing of the L2 responder (see `ferrule_agent::l2_fence`), through the run loop
//! against ferrule-testapi with in-memory maps: this node's NodeL2Announcement is answered only
//! while its liveness Lease is seen renewed; a Lease left unrenewed or released withdraws every
//! entry though the (stale) announcement still lists it, a renewal brings them back with fresh
//! gratuitous ARPs, and a restarted agent keeps the entries it adopted.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[path = "support/recorder.rs"]
mod recorder;

use ferrule_agent::agent::Agent;
use ferrule_agent::l2_entries::Device;
use ferrule_agent::l2_fence::{DEFAULT_LEASE_PREFIX, LeaseRef};
use ferrule_agent::run::{RunSettings, run};
use ferrule_api::names::ferrule_annotation;
use ferrule_api::node_l2announcements::v1alpha1::{Announcement, NodeL2Announcement, ServiceRef};
use ferrule_bpf_loader::model::ResponderKey;
use ferrule_bpf_loader::{InMemoryMaps, MapContents};
use ferrule_runtime::{Metrics, Readiness};
use ferrule_testapi::TestApi;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use recorder::Recorder;
use serde_json::json;

const NODE: &str = "node-1";
const NAMESPACE: &str = "kube-system";
const VIP: &str = "203.0.113.5";
const ANNOUNCE: &str = "announce 203.0.113.5 on 2";
const WITHDRAW: &str = "withdraw 203.0.113.5 on 2";

fn lease_name() -> String {
    format!("{DEFAULT_LEASE_PREFIX}{NODE}")
}

/// The API with the CRDs, this node's announcement of [`VIP`] on every device, and its Lease
/// held with `duration_seconds`, renewed once (renewal number 0).
async fn cluster(duration_seconds: i32) -> (TestApi, Client) {
    cluster_with(duration_seconds, None).await
}

/// Like [`cluster`], the Lease announcing `failover_after` as the announcer does.
async fn cluster_with(duration_seconds: i32, failover_after: Option<&str>) -> (TestApi, Client) {
    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    ferrule_testapi::test_helpers::install_crds(
        &client,
        ferrule_api::crds::all(),
        Duration::from_secs(10),
    )
    .await;
    let _ = Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).expect("ns"),
        )
        .await;
    Api::<NodeL2Announcement>::all(client.clone())
        .create(
            &PostParams::default(),
            &NodeL2Announcement::for_node(
                NODE,
                vec![Announcement {
                    service: ServiceRef {
                        namespace: "default".into(),
                        name: "web".into(),
                    },
                    ip: VIP.into(),
                    interface_regexes: vec![],
                }],
            ),
        )
        .await
        .expect("announcement");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {
            "name": lease_name(),
            "namespace": NAMESPACE,
            "annotations": failover_after
                .map(|f| json!({ ferrule_annotation::L2_FAILOVER_AFTER: f }))
                .unwrap_or_else(|| json!({})),
        },
        "spec": {"holderIdentity": NODE, "leaseDurationSeconds": duration_seconds,
                 "renewTime": renew_time(0)}
    }))
    .expect("lease");
    Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &lease)
        .await
        .expect("lease created");
    (api, client)
}

/// A renewTime far from this machine's clock: the fence must not compare it with anything.
fn renew_time(n: u32) -> String {
    format!("2001-01-01T00:{:02}:{:02}.000000Z", n / 60 % 60, n % 60)
}

async fn patch_lease(client: &Client, spec: serde_json::Value) {
    Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .patch(
            &lease_name(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
        .expect("lease patched");
}

/// Renews the Lease every 200 ms, as this node's announcer would, until dropped.
struct Renewer(tokio::task::JoinHandle<()>);

impl Renewer {
    fn start(client: Client, first: u32) -> Self {
        Self(tokio::spawn(async move {
            for n in first.. {
                patch_lease(&client, json!({ "renewTime": renew_time(n) })).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }))
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Running {
    task: tokio::task::JoinHandle<ferrule_agent::Error>,
    metrics: Metrics,
    readiness: Readiness,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Running {
    fn fenced(&self) -> bool {
        let text = self.metrics.encode().expect("metrics encode");
        let line = text
            .lines()
            .find(|l| l.starts_with("ferrule_agent_l2_fenced "))
            .unwrap_or_else(|| panic!("no ferrule_agent_l2_fenced in\n{text}"));
        line.ends_with(" 1")
    }
}

fn start(client: &Client, maps: InMemoryMaps, recorder: &Recorder) -> Running {
    let mut agent = Agent::new(NODE, maps, recorder.clone());
    agent.devices = vec![Device {
        ifindex: 2,
        name: "eth0".into(),
    }];
    let settings = RunSettings {
        l2_announcements: true,
        l2_lease: Some(LeaseRef::for_node(NAMESPACE, DEFAULT_LEASE_PREFIX, NODE)),
        ..RunSettings::default()
    };
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    let task = tokio::spawn(run(
        client.clone(),
        agent,
        readiness.clone(),
        metrics.clone(),
        settings,
    ));
    Running {
        task,
        metrics,
        readiness,
    }
}

#[tokio::test]
async fn an_unrenewed_lease_withdraws_the_entries_and_a_renewal_brings_them_back() {
    let (_api, client) = cluster(1).await;
    let renewer = Renewer::start(client.clone(), 1);
    let recorder = Recorder::default();
    let agent = start(&client, InMemoryMaps::default(), &recorder);
    recorder.wait_for(ANNOUNCE).await;
    assert!(!agent.fenced());

    // Renewals keep it answering well past the 1 s duration.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(recorder.count(WITHDRAW), 0, "{:?}", recorder.lines());

    // The announcer stops renewing (partitioned, or its agent unhealthy); the announcement
    // object is left as it was.
    drop(renewer);
    let stopped = Instant::now();
    recorder
        .wait_for_n(WITHDRAW, 1, Duration::from_secs(1) + Duration::from_secs(3))
        .await;
    assert!(
        stopped.elapsed() >= Duration::from_millis(500),
        "withdrawn {:?} after the last renewal: before the Lease could expire",
        stopped.elapsed()
    );
    assert!(agent.fenced());
    assert_eq!(recorder.table(), Some(BTreeSet::new()));

    // One renewal observed: answering again, neighbours told again.
    patch_lease(&client, json!({ "renewTime": renew_time(59) })).await;
    recorder
        .wait_for_n(ANNOUNCE, 2, Duration::from_secs(5))
        .await;
    assert!(!agent.fenced());
}

#[tokio::test]
async fn the_fence_follows_the_failover_delay_on_the_lease_not_its_duration() {
    // The announcer says the others take over 1s after its last renewal; the Lease itself
    // lasts 30s. A withdrawal within seconds can only come from the annotation.
    let (_api, client) = cluster_with(30, Some("1s")).await;
    let renewer = Renewer::start(client.clone(), 1);
    let recorder = Recorder::default();
    let agent = start(&client, InMemoryMaps::default(), &recorder);
    recorder.wait_for(ANNOUNCE).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(recorder.count(WITHDRAW), 0, "{:?}", recorder.lines());

    drop(renewer);
    let stopped = Instant::now();
    recorder
        .wait_for_n(WITHDRAW, 1, Duration::from_secs(5))
        .await;
    // 0.9s after the last renewal seen, which is at most one 200ms period before `stopped`.
    assert!(
        stopped.elapsed() >= Duration::from_millis(500),
        "withdrawn {:?} after the last renewal: before the failover delay could pass",
        stopped.elapsed()
    );
    assert!(agent.fenced());
    assert_eq!(recorder.table(), Some(BTreeSet::new()));
}

#[tokio::test]
async fn a_released_lease_withdraws_at_once() {
    // 30 s: a withdrawal within seconds can only come from the release, not from expiry.
    let (_api, client) = cluster(30).await;
    let recorder = Recorder::default();
    let agent = start(&client, InMemoryMaps::default(), &recorder);
    recorder.wait_for(ANNOUNCE).await;

    patch_lease(&client, json!({ "holderIdentity": "" })).await;
    recorder
        .wait_for_n(WITHDRAW, 1, Duration::from_secs(5))
        .await;
    assert!(agent.fenced());

    patch_lease(
        &client,
        json!({ "holderIdentity": NODE, "renewTime": renew_time(7) }),
    )
    .await;
    recorder
        .wait_for_n(ANNOUNCE, 2, Duration::from_secs(5))
        .await;
    assert!(!agent.fenced());
}

/// What a previous agent left pinned: the responder entry for [`VIP`] on eth0.
fn adopted() -> InMemoryMaps {
    let key = ResponderKey {
        ifindex: 2,
        addr: VIP.parse().expect("ip"),
    };
    InMemoryMaps::with_contents(MapContents {
        responders: BTreeSet::from([key]),
        ..MapContents::default()
    })
}

async fn wait_ready(agent: &Running) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !agent.readiness.is_ready() {
        assert!(Instant::now() < deadline, "agent not ready in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_restarted_agent_keeps_the_entries_it_adopted_while_the_lease_is_held() {
    let (_api, client) = cluster(15).await;
    let recorder = Recorder::default();
    let agent = start(&client, adopted(), &recorder);
    wait_ready(&agent).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        recorder.table().map(|t| t.len()),
        Some(1),
        "{:?}",
        recorder.table()
    );
    // Neither withdrawn nor re-sent: the entry simply kept answering.
    assert!(recorder.lines().is_empty(), "{:?}", recorder.lines());
    assert!(!agent.fenced());
}

#[tokio::test]
async fn a_restarted_agent_whose_lease_was_released_meanwhile_withdraws_the_adopted_entries() {
    let (_api, client) = cluster(15).await;
    patch_lease(&client, json!({ "holderIdentity": null })).await;
    let recorder = Recorder::default();
    let agent = start(&client, adopted(), &recorder);
    recorder.wait_for(WITHDRAW).await;
    wait_ready(&agent).await;
    assert_eq!(recorder.table(), Some(BTreeSet::new()));
    assert!(agent.fenced());
}
