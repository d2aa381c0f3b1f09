//! Leader election against ferrule-testapi, the in-memory API server that speaks the real
//! protocol: one leader among candidates, takeover after a crash (by expiry) and after a
//! graceful shutdown (by release), stepping down when the API fails renewals, never two leaders
//! at once, and no takeover of a Lease whose holder's clock is skewed but which keeps renewing.

use std::time::{Duration, Instant};

use ferrule_runtime::Metrics;
use ferrule_runtime::leader::{ElectionConfig, ElectionTiming, LeaderElector};
use ferrule_testapi::{Matcher, TestApi};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use k8s_openapi::serde_json::json;
use kube::api::{Api, Patch, PatchParams, PostParams};
use tokio::runtime::Runtime;
use tokio::sync::watch;

const NAMESPACE: &str = "kube-system";
const LEASE: &str = "ferrule-testapi-leader";
/// How often leadership is sampled for split-brain checks.
const SAMPLE: Duration = Duration::from_millis(50);

fn timing() -> ElectionTiming {
    ElectionTiming {
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(200),
    }
}

/// A candidate in a runtime of its own, so that it can be killed like a crashed process: the
/// runtime is shut down and nothing of it (elector task, connections) runs on.
struct Process {
    identity: &'static str,
    runtime: Option<Runtime>,
    elector: Option<LeaderElector>,
    leadership: watch::Receiver<bool>,
}

impl Process {
    async fn start(api: &TestApi, identity: &'static str) -> Self {
        let config = ferrule_runtime::client::load_config(Some(api.kubeconfig_path()))
            .await
            .expect("the test server's kubeconfig loads");
        let client = ferrule_runtime::client::client_from_config(config, 100.0, 100)
            .expect("a client builds");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the candidate");
        let election = ElectionConfig {
            namespace: NAMESPACE.to_owned(),
            lease_name: LEASE.to_owned(),
            identity: identity.to_owned(),
            timing: timing(),
        };
        let elector = {
            let _inside = runtime.enter();
            LeaderElector::spawn(client, election, Metrics::new())
        };
        Self {
            identity,
            leadership: elector.leadership(),
            runtime: Some(runtime),
            elector: Some(elector),
        }
    }

    /// Whether this process believes it leads; a killed process leads nothing.
    fn leading(&self) -> bool {
        self.runtime.is_some() && *self.leadership.borrow()
    }

    /// Dies without releasing the Lease.
    fn kill(&mut self) {
        self.elector = None;
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Shuts down gracefully (the SIGTERM path): releases the Lease.
    async fn stop(&mut self) {
        if let Some(elector) = self.elector.take() {
            elector.release().await;
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Samples every candidate's leadership every 50ms until `done` holds for the samples,
/// asserting that no two ever lead at the same instant. Returns when `done` first held.
async fn sample_until(
    processes: &[&Process],
    within: Duration,
    what: &str,
    done: impl Fn(&[bool]) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let leading: Vec<bool> = processes.iter().map(|p| p.leading()).collect();
        let leaders: Vec<&str> = processes
            .iter()
            .zip(&leading)
            .filter(|(_, leads)| **leads)
            .map(|(p, _)| p.identity)
            .collect();
        assert!(leaders.len() <= 1, "split brain: {leaders:?} lead at once");
        if done(&leading) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{what} within {within:?}: {leading:?}"
        );
        tokio::time::sleep(SAMPLE).await;
    }
}

/// Samples for `period`, asserting at most one leader throughout; returns the leadership seen
/// at every sample.
async fn sample_for(processes: &[&Process], period: Duration) -> Vec<Vec<bool>> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < period {
        let leading: Vec<bool> = processes.iter().map(|p| p.leading()).collect();
        assert!(
            leading.iter().filter(|l| **l).count() <= 1,
            "split brain: {leading:?}"
        );
        samples.push(leading);
        tokio::time::sleep(SAMPLE).await;
    }
    samples
}

async fn lease(api: &TestApi) -> LeaseSpec {
    let client = api.client().await.expect("client");
    let leases: Api<Lease> = Api::namespaced(client, NAMESPACE);
    leases
        .get(LEASE)
        .await
        .expect("the Lease exists")
        .spec
        .expect("the Lease has a spec")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_candidates_elect_exactly_one_leader() {
    let api = TestApi::start().await.expect("test API");
    let a = Process::start(&api, "pod-a").await;
    let b = Process::start(&api, "pod-b").await;
    sample_until(&[&a, &b], Duration::from_secs(5), "one leader", |l| {
        l.contains(&true)
    })
    .await;
    let leader = if a.leading() { "pod-a" } else { "pod-b" };

    // Over several lease durations the same single candidate leads at every sample.
    let samples = sample_for(&[&a, &b], Duration::from_secs(5)).await;
    let expected = vec![leader == "pod-a", leader == "pod-b"];
    assert!(
        samples.iter().all(|s| *s == expected),
        "leadership stayed with {leader}"
    );
    let held = lease(&api).await;
    assert_eq!(held.holder_identity.as_deref(), Some(leader));
    assert_eq!(held.lease_transitions, Some(0));
    assert_eq!(held.lease_duration_seconds, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_leader_is_replaced_once_the_lease_stands_still_for_its_duration() {
    let api = TestApi::start().await.expect("test API");
    let mut a = Process::start(&api, "pod-a").await;
    sample_until(&[&a], Duration::from_secs(5), "pod-a leads", |l| l[0]).await;
    let b = Process::start(&api, "pod-b").await;
    let samples = sample_for(&[&a, &b], Duration::from_secs(1)).await;
    assert!(
        samples.iter().all(|s| s == &[true, false]),
        "pod-a keeps leading"
    );

    a.kill();
    let took = sample_until(&[&a, &b], Duration::from_secs(6), "pod-b takes over", |l| {
        l[1]
    })
    .await;
    // pod-a's last renewal was at most one retry period (200ms) before the kill, and pod-b
    // waits until it saw the record unchanged for 2s, looking every 200ms.
    assert!(
        took >= Duration::from_millis(1500),
        "no takeover before the Lease could expire: {took:?}"
    );
    assert!(
        took <= Duration::from_millis(3000),
        "takeover within the 2s lease plus observation lag: {took:?}"
    );
    let held = lease(&api).await;
    assert_eq!(held.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(held.lease_transitions, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gracefully_stopped_leader_hands_over_at_once() {
    let api = TestApi::start().await.expect("test API");
    let mut a = Process::start(&api, "pod-a").await;
    sample_until(&[&a], Duration::from_secs(5), "pod-a leads", |l| l[0]).await;
    let b = Process::start(&api, "pod-b").await;
    sample_for(&[&a, &b], Duration::from_millis(500)).await;
    assert!(a.leading() && !b.leading());

    let stopping = Instant::now();
    a.stop().await;
    assert!(!a.leading());
    let took = sample_until(&[&a, &b], Duration::from_secs(3), "pod-b takes over", |l| {
        l[1]
    })
    .await;
    let since_stop = stopping.elapsed();
    assert!(
        since_stop < Duration::from_secs(1),
        "a released Lease is taken at once, not after its 2s duration: {since_stop:?} ({took:?} after the release)"
    );
    let held = lease(&api).await;
    assert_eq!(held.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(held.lease_transitions, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_renewals_make_the_leader_step_down_without_split_brain() {
    let api = TestApi::start().await.expect("test API");
    let a = Process::start(&api, "pod-a").await;
    sample_until(&[&a], Duration::from_secs(5), "pod-a leads", |l| l[0]).await;
    let b = Process::start(&api, "pod-b").await;
    sample_for(&[&a, &b], Duration::from_millis(500)).await;
    assert!(a.leading() && !b.leading());

    // Every Lease update fails (500, which kube does not retry), for renewals and takeovers.
    let updates = Matcher {
        verb: Some("update".to_owned()),
        resource: Some("leases".to_owned()),
    };
    api.server().faults.fail_next(updates, 500, 10_000);
    let stepped = sample_until(&[&a, &b], Duration::from_secs(4), "pod-a steps down", |l| {
        !l[0]
    })
    .await;
    assert!(
        stepped >= Duration::from_millis(1200),
        "leadership survives failures shorter than the renew deadline: {stepped:?}"
    );
    assert!(
        stepped <= Duration::from_millis(2000),
        "the leader stops within the 1.5s renew deadline: {stepped:?}"
    );
    // Nobody can write the Lease, so nobody may lead, however long it lasts.
    let samples = sample_for(&[&a, &b], Duration::from_secs(3)).await;
    assert!(
        samples.iter().all(|s| s == &[false, false]),
        "no leader while the Lease cannot be written"
    );

    api.server().faults.clear();
    sample_until(&[&a, &b], Duration::from_secs(5), "a leader again", |l| {
        l.contains(&true)
    })
    .await;
    let samples = sample_for(&[&a, &b], Duration::from_secs(1)).await;
    assert!(
        samples
            .iter()
            .all(|s| s.iter().filter(|l| **l).count() == 1)
    );
    let leader = if a.leading() { "pod-a" } else { "pod-b" };
    assert_eq!(lease(&api).await.holder_identity.as_deref(), Some(leader));
}

/// Renews the Lease as `holder` every 300ms with a clock an hour behind, until dropped.
fn skewed_holder(client: kube::Client) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let leases: Api<Lease> = Api::namespaced(client, NAMESPACE);
        loop {
            let skewed = Timestamp::now() - SignedDuration::from_hours(1);
            let patch = json!({ "spec": { "renewTime": MicroTime(skewed) } });
            leases
                .patch(LEASE, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .expect("the skewed holder renews");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_renewed_by_a_skewed_clock_is_not_taken_over() {
    let api = TestApi::start().await.expect("test API");
    let client = api.client().await.expect("client");
    let skewed = Timestamp::now() - SignedDuration::from_hours(1);
    Api::<Lease>::namespaced(client.clone(), NAMESPACE)
        .create(
            &PostParams::default(),
            &Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE.to_owned()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some("node-with-slow-clock".to_owned()),
                    lease_duration_seconds: Some(2),
                    acquire_time: Some(MicroTime(skewed)),
                    renew_time: Some(MicroTime(skewed)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            },
        )
        .await
        .expect("seed the Lease");
    let holder = skewed_holder(client);

    // By its renewTime the Lease expired an hour ago; it keeps changing, so it is valid.
    let b = Process::start(&api, "pod-b").await;
    let samples = sample_for(&[&b], Duration::from_secs(4)).await;
    assert!(
        samples.iter().all(|s| s == &[false]),
        "a Lease that keeps being renewed is not taken over"
    );
    assert_eq!(
        lease(&api).await.holder_identity.as_deref(),
        Some("node-with-slow-clock")
    );

    holder.abort();
    let took = sample_until(&[&b], Duration::from_secs(5), "pod-b takes over", |l| l[0]).await;
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert_eq!(lease(&api).await.holder_identity.as_deref(), Some("pod-b"));
}
