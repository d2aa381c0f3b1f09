//! Lease timing flags are corrected as Cilium corrects its l2announcements options — with a
//! warning naming the flag, never a refusal to start — and the corrected values are used.

mod support;

use support::{AgentStub, Announcer, Cluster, WITHIN, eventually, wait_announcements};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lease_timings_are_corrected_with_warnings_and_the_announcer_runs() {
    let cluster = Cluster::start().await;
    cluster.node("node-a").await;
    cluster.policy("all", &[]).await;
    cluster.service("web", "192.0.2.10", false).await;
    let agent = AgentStub::start().await;
    // 500ms lease → 1s; renew 5s ≥ lease → 500ms; retry 2s too long for it → 250ms.
    let announcer = Announcer::start_with(
        &cluster,
        "node-a",
        &agent,
        &[
            "--lease-duration",
            "500ms",
            "--lease-renew-deadline",
            "5s",
            "--lease-retry-period",
            "2s",
        ],
    );
    wait_announcements(&cluster, "node-a announces web", |a| {
        a.get("node-a").is_some_and(|s| s == &["web"])
    })
    .await;
    let log = eventually("the corrections are logged", WITHIN, || async {
        let log = announcer.log();
        log.contains("--lease-retry-period").then_some(log)
    })
    .await;
    assert!(
        log.contains("--lease-duration must be greater than 1s"),
        "{log}"
    );
    assert!(log.contains("half the lease duration"), "{log}");
    assert!(log.contains("half the renew deadline"), "{log}");
    let lease: k8s_openapi::api::coordination::v1::Lease =
        kube::Api::namespaced(cluster.client.clone(), "kube-system")
            .get("ferrule-l2announce-node-a")
            .await
            .expect("the liveness Lease exists");
    let spec = lease.spec.expect("a spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("node-a"));
    assert_eq!(
        spec.lease_duration_seconds,
        Some(1),
        "the corrected duration"
    );
}
