//! The leader-election driver against an in-memory Lease API over real HTTP: acquisition,
//! release on shutdown, takeover of expired and released Leases, and stepping down when the
//! API is unreachable past the renew deadline.

mod fake_api;

use std::time::{Duration, Instant};

use fake_api::FakeApi;
use ferrule_runtime::Metrics;
use ferrule_runtime::leader::{ElectionConfig, ElectionTiming, LeaderElector};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

const NAMESPACE: &str = "kube-system";
const LEASE: &str = "ferrule-test";

fn client(base_url: &str) -> kube::Client {
    let config = kube::Config::new(base_url.parse().expect("the fake API URL is a valid URI"));
    ferrule_runtime::client::client_from_config(config, 100.0, 100)
        .expect("a client for a plain-HTTP URL should build")
}

fn config(identity: &str, timing: ElectionTiming) -> ElectionConfig {
    ElectionConfig {
        namespace: NAMESPACE.to_owned(),
        lease_name: LEASE.to_owned(),
        identity: identity.to_owned(),
        timing,
    }
}

/// Fast timings so a test takes seconds; a long lease so that a takeover within it can only
/// come from a release, never from expiry.
fn fast(lease_seconds: u64) -> ElectionTiming {
    ElectionTiming {
        lease_duration: Duration::from_secs(lease_seconds),
        renew_deadline: Duration::from_secs(1),
        retry_period: Duration::from_millis(100),
    }
}

async fn wait_until(leadership: &mut watch::Receiver<bool>, leading: bool, within: Duration) {
    tokio::time::timeout(within, leadership.wait_for(|now| *now == leading))
        .await
        .unwrap_or_else(|_| panic!("leadership should become {leading} within {within:?}"))
        .expect("the elector keeps its watch channel open");
}

fn spec(api: &FakeApi) -> LeaseSpec {
    api.lease(NAMESPACE, LEASE)
        .expect("the Lease should exist")
        .spec
        .expect("the Lease should have a spec")
}

fn seed(holder: &str, renewed_ago: Duration, duration_seconds: i32, transitions: i32) -> Lease {
    let renewed =
        Timestamp::now() - SignedDuration::try_from(renewed_ago).expect("a small duration");
    Lease {
        metadata: ObjectMeta {
            name: Some(LEASE.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(duration_seconds),
            acquire_time: Some(MicroTime(renewed)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }),
    }
}

async fn create(base_url: &str, lease: &Lease) {
    let leases: kube::Api<Lease> = kube::Api::namespaced(client(base_url), NAMESPACE);
    leases
        .create(&Default::default(), lease)
        .await
        .expect("seeding the Lease should work");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_candidate_leads_then_releases_on_shutdown() {
    let api = FakeApi::default();
    let url = api.serve().await;
    let metrics = Metrics::new();
    let elector = LeaderElector::spawn(client(&url), config("pod-a", fast(10)), metrics.clone());
    let mut leadership = elector.leadership();
    wait_until(&mut leadership, true, Duration::from_secs(5)).await;

    let held = spec(&api);
    assert_eq!(held.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(held.lease_transitions, Some(0));
    assert_eq!(held.lease_duration_seconds, Some(10));
    let text = metrics.encode().expect("metrics encode");
    assert!(
        text.contains(r#"ferrule_leader{lease="ferrule-test"} 1"#),
        "{text}"
    );

    elector.release().await;
    assert!(!*leadership.borrow(), "leadership ends with the release");
    let released = spec(&api);
    assert_eq!(released.holder_identity, None, "the holder is cleared");
    assert_eq!(released.lease_duration_seconds, Some(1));
    let text = metrics.encode().expect("metrics encode");
    assert!(
        text.contains(r#"ferrule_leader{lease="ferrule-test"} 0"#),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn standby_takes_over_at_once_when_the_leader_releases() {
    let api = FakeApi::default();
    let url = api.serve().await;
    let first = LeaderElector::spawn(client(&url), config("pod-a", fast(30)), Metrics::new());
    wait_until(&mut first.leadership(), true, Duration::from_secs(5)).await;

    let second = LeaderElector::spawn(client(&url), config("pod-b", fast(30)), Metrics::new());
    let mut standby = second.leadership();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!*standby.borrow(), "a held Lease must be respected");
    assert_eq!(spec(&api).holder_identity.as_deref(), Some("pod-a"));

    let released_at = Instant::now();
    first.release().await;
    // The Lease lasts 30s: taking over within a few seconds proves the release worked.
    wait_until(&mut standby, true, Duration::from_secs(5)).await;
    assert!(released_at.elapsed() < Duration::from_secs(5));
    let taken = spec(&api);
    assert_eq!(taken.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(
        taken.lease_transitions,
        Some(1),
        "one transition from pod-a to pod-b"
    );
    second.release().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lease_of_a_vanished_leader_is_taken_over_after_standing_still_for_its_duration() {
    let api = FakeApi::default();
    let url = api.serve().await;
    // Renewed a minute ago by the holder's clock; that time is never compared with ours. The
    // newcomer must see the record unchanged for the Lease's 2s before taking it.
    create(&url, &seed("ghost", Duration::from_secs(60), 2, 4)).await;

    let elector = LeaderElector::spawn(client(&url), config("pod-a", fast(10)), Metrics::new());
    let mut leadership = elector.leadership();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !*leadership.borrow(),
        "a Lease first seen 1.2s ago is still valid for a newcomer"
    );
    wait_until(&mut leadership, true, Duration::from_secs(5)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let taken = spec(&api);
    assert_eq!(taken.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(taken.lease_transitions, Some(5));
    elector.release().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_lease_of_another_holder_is_respected() {
    let api = FakeApi::default();
    let url = api.serve().await;
    create(&url, &seed("pod-z", Duration::ZERO, 30, 2)).await;

    let elector = LeaderElector::spawn(client(&url), config("pod-a", fast(10)), Metrics::new());
    let leadership = elector.leadership();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!*leadership.borrow(), "pod-z's Lease is valid for 30s");
    assert_eq!(spec(&api).holder_identity.as_deref(), Some("pod-z"));
    elector.release().await;
    assert_eq!(
        spec(&api).holder_identity.as_deref(),
        Some("pod-z"),
        "a follower's shutdown must not touch the leader's Lease"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn leader_steps_down_when_the_api_is_unreachable_past_the_renew_deadline() {
    let api = FakeApi::default();
    let url = api.serve().await;
    let elector = LeaderElector::spawn(client(&url), config("pod-a", fast(3)), Metrics::new());
    let mut leadership = elector.leadership();
    wait_until(&mut leadership, true, Duration::from_secs(5)).await;

    api.set_unavailable(true);
    let outage = Instant::now();
    wait_until(&mut leadership, false, Duration::from_secs(3)).await;
    let lasted = outage.elapsed();
    assert!(
        lasted >= Duration::from_millis(500),
        "a short outage must not cost leadership at once (stepped down after {lasted:?})"
    );

    api.set_unavailable(false);
    // Nobody else took the Lease, so renewing it regains leadership.
    wait_until(&mut leadership, true, Duration::from_secs(3)).await;
    assert_eq!(spec(&api).holder_identity.as_deref(), Some("pod-a"));
    elector.release().await;
}
