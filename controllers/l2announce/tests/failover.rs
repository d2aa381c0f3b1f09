//! Three announcers (the real binary, one per node, each with a stub agent health endpoint)
//! against ferrule-testapi, with one policy and 30 LoadBalancer Services: the spread, and
//! what happens to it when a node's announcer is killed, stopped gracefully, or its agent
//! turns unhealthy. Timings: lease 2s, renew deadline 1s, retry 200ms (failover delay
//! max(2s − 1s, 1s) = 1s), unless a test says otherwise.

mod support;

use std::time::{Duration, Instant};
use support::{
    FAILOVER_AFTER, LEASE, Lab, NODES, each_once_by, expected, non_empty, owners,
    wait_announcements,
};

const SERVICES: usize = 30;

/// Waits until the three nodes announce exactly what the core assigns with all three live.
async fn settled_on_three(lab: &Lab) -> std::collections::BTreeMap<String, Vec<String>> {
    let want = expected(&NODES, SERVICES);
    wait_announcements(&lab.cluster, "all three nodes announce their share", |a| {
        non_empty(a) == want
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_spread_evenly_and_a_killed_node_is_replaced_after_the_failover_delay() {
    let mut lab = Lab::start(SERVICES).await;
    let spread = settled_on_three(&lab).await;
    assert!(each_once_by(&spread, &NODES, SERVICES), "{spread:?}");
    for (node, services) in &spread {
        assert!(services.len() <= 11, "{node} announces {}", services.len());
    }

    // Settled: a second of renewals costs Lease writes only (about 5 per node at a 200ms
    // retry period, whatever the number of Services) and no announcement or status write.
    let requests = &lab.cluster.api.server().requests;
    let derived =
        || requests.writes("nodel2announcements") + requests.writes("ciliuml2announcementpolicies");
    let (derived_before, leases_before) = (derived(), requests.writes("leases"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        derived(),
        derived_before,
        "a settled cluster rewrites nothing"
    );
    let lease_writes = requests.writes("leases") - leases_before;
    assert!(
        (9..=24).contains(&lease_writes),
        "{lease_writes} Lease writes in 1s by 3 nodes"
    );

    // The failover delay rides on each Lease, for the other announcers and the node's agent.
    let lease = kube::Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(
        lab.cluster.client.clone(),
        "kube-system",
    )
    .get("ferrule-l2announce-node-b")
    .await
    .expect("node-b's Lease");
    let annotations = lease.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get(ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER)
            .map(String::as_str),
        Some("1s"),
        "{annotations:?}"
    );
    assert_eq!(lease.spec.and_then(|s| s.lease_duration_seconds), Some(2));

    // kill -9 of node-b's announcer: nothing is released or withdrawn, so the others wait
    // until its Lease record has not changed for the failover delay it announced (1s), not
    // for the whole lease duration (2s); until then its NodeL2Announcement stays as it was.
    let victim = 1;
    lab.announcers[victim].kill();
    let killed_at = Instant::now();
    let survivors = ["node-a", "node-c"];
    let want = expected(&survivors, SERVICES);
    let after = wait_announcements(&lab.cluster, "node-b's services move to the others", |a| {
        survivors.iter().all(|n| a.get(*n) == want.get(*n))
    })
    .await;
    let moved_after = killed_at.elapsed();
    // The last renewal may precede the kill by one retry period (200ms), and the others saw
    // it a watch latency later.
    assert!(
        moved_after >= FAILOVER_AFTER - Duration::from_millis(300),
        "services moved after {moved_after:?}, before node-b was silent for the failover delay (1s)"
    );
    assert!(
        moved_after < LEASE - Duration::from_millis(200),
        "services moved after {moved_after:?}: the others waited for the lease duration (2s), \
         not the failover delay (1s)\n{}",
        lab.logs()
    );
    let survivors_only: std::collections::BTreeMap<_, _> = after
        .into_iter()
        .filter(|(n, _)| survivors.contains(&n.as_str()))
        .collect();
    assert!(each_once_by(&survivors_only, &survivors, SERVICES));
    // Services the survivors held before stay where they were, except the few the core's
    // load bound re-places (the expected assignment is exactly what it allows).
    let before = owners(&spread);
    let now = owners(&survivors_only);
    let moved: Vec<&String> = before
        .iter()
        .filter(|(s, n)| n[0] != "node-b" && now[*s][0] != n[0])
        .map(|(s, _)| s)
        .collect();
    // The status writer empties the dead node's object, so that its agent (if it still
    // runs) stops answering next to the new owners.
    wait_announcements(&lab.cluster, "node-b's object is emptied", |a| {
        a.get("node-b").is_some_and(Vec::is_empty)
    })
    .await;
    assert!(
        moved.len() <= 3,
        "survivors' services that moved: {moved:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gracefully_stopped_node_is_replaced_at_once() {
    let mut lab = Lab::start(SERVICES).await;
    settled_on_three(&lab).await;
    let stopped_at = Instant::now();
    assert!(lab.announcers[2].terminate(), "clean exit:\n{}", lab.logs());
    let survivors = ["node-a", "node-b"];
    let want = expected(&survivors, SERVICES);
    let after = wait_announcements(&lab.cluster, "node-c's services move at once", |a| {
        non_empty(a) == want
    })
    .await;
    let took = stopped_at.elapsed();
    assert!(
        took < Duration::from_millis(1_200),
        "handover took {took:?}; the Lease lasts 2s, a release must not wait for it\n{}",
        lab.logs()
    );
    assert!(each_once_by(&after, &survivors, SERVICES));
    let node_c = lab
        .cluster
        .announcement("node-c")
        .await
        .expect("kept, empty");
    assert!(node_c.spec.announcements.is_empty(), "node-c withdrew");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_agent_makes_its_node_give_up_its_services() {
    let lab = Lab::start(SERVICES).await;
    settled_on_three(&lab).await;
    lab.agents[0].set_status(503);
    let unhealthy_at = Instant::now();
    let survivors = ["node-b", "node-c"];
    let want = expected(&survivors, SERVICES);
    let after = wait_announcements(&lab.cluster, "node-a's services move away", |a| {
        non_empty(a) == want
    })
    .await;
    // node-a gives up once the agent failed its probes for the renew deadline (1s: an agent
    // restart is shorter and the pinned datapath keeps answering meanwhile), and it then
    // releases its Lease so the others take over at once, not after the 2s lease expires.
    let took = unhealthy_at.elapsed();
    assert!(
        took < Duration::from_millis(1_800),
        "handover after the agent turned unhealthy took {took:?}\n{}",
        lab.logs()
    );
    assert!(each_once_by(&after, &survivors, SERVICES));
    assert_eq!(
        after.get("node-a").map(Vec::len),
        Some(0),
        "node-a announces nothing"
    );

    // The agent recovers: node-a renews again and gets its share back.
    lab.agents[0].set_status(200);
    settled_on_three(&lab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_renew_stops_announcing_before_its_lease_expires() {
    // Lease 3s, renew deadline 1s: the failover delay (2s) is longer than the deadline, so a
    // withdrawal well before 2s can only be the node's own deadline.
    let timings = [
        "--lease-duration",
        "3s",
        "--lease-renew-deadline",
        "1s",
        "--lease-retry-period",
        "200ms",
    ];
    let lab = Lab::start_with(SERVICES, &timings).await;
    settled_on_three(&lab).await;
    // Lease writes fail from now on (for every node: a partition from the API server as far
    // as the Leases go), while the NodeL2Announcement writes still get through.
    let failing = ferrule_testapi::Matcher {
        verb: Some("update".into()),
        resource: Some("leases".into()),
    };
    lab.cluster
        .api
        .server()
        .faults
        .fail_next(failing, 500, 1_000_000);
    let failing_since = Instant::now();
    wait_announcements(&lab.cluster, "every node withdraws", |a| {
        a.len() == NODES.len() && a.values().all(Vec::is_empty)
    })
    .await;
    let took = failing_since.elapsed();
    // Renew deadline 1s after the last renewal (at most one 200ms retry period before the
    // fault), so about 1.1s with the debounce; the Leases themselves cannot look expired
    // (failover delay 2s) before 1.8s, so a withdrawal by 1.7s is the deadline's doing.
    assert!(
        took < Duration::from_millis(1_700),
        "withdrew after {took:?}, not within the renew deadline\n{}",
        lab.logs()
    );
    lab.cluster.api.server().faults.clear();
    settled_on_three(&lab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_agent_restart_moves_nothing() {
    let lab = Lab::start(SERVICES).await;
    let before = settled_on_three(&lab).await;
    // Shorter than the renew deadline (1s): an agent restart, during which the pinned
    // datapath keeps answering. Moving every service away and back would be pure churn.
    let start = Instant::now();
    lab.agents[0].set_status(503);
    let mut recovered = false;
    while start.elapsed() < Duration::from_millis(2_000) {
        if !recovered && start.elapsed() >= Duration::from_millis(500) {
            lab.agents[0].set_status(200);
            recovered = true;
        }
        assert_eq!(
            non_empty(&lab.cluster.announcements().await),
            non_empty(&before),
            "moved {:?} after the agent failed\n{}",
            start.elapsed(),
            lab.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
