//! Fault injection: failed status writes, closed watches and a compacted history (410 on
//! resume). Whatever happens, no IP is handed out twice and no settled service moves.

mod support;

use ferrule_testapi::Matcher;
use std::time::{Duration, Instant};
use support::{Cluster, Controller, PoolBuilder, ServiceBuilder, assert_no_ip_twice};

fn service_status_patches() -> Matcher {
    Matcher {
        verb: Some("patch".into()),
        resource: Some("services".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_status_writes_are_retried_without_handing_an_ip_out_twice() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("small").cidr("192.0.2.0/27"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    cluster
        .api
        .server()
        .faults
        .fail_next(service_status_patches(), 500, 12);
    for i in 0..20 {
        cluster
            .create_service(&ServiceBuilder::new("default", &format!("svc-{i:02}")))
            .await;
    }
    for i in 0..20 {
        cluster
            .wait_satisfied("default", &format!("svc-{i:02}"), 1)
            .await;
    }
    assert_no_ip_twice(&cluster.all_ips().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_api_gets_backoff_not_a_retry_storm() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/24"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let server = cluster.api.server();
    // 500, not 503: kube's client retries 503 and 429 by itself, which would blur the count
    // of LB-IPAM's own attempts.
    server
        .faults
        .fail_next(service_status_patches(), 500, 1_000_000);
    cluster
        .create_service(&ServiceBuilder::new("default", "web"))
        .await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let attempts = server.requests.count("patch", "services", "status");
    assert!(
        (2..=8).contains(&attempts),
        "retried with exponential backoff, not in a loop: {attempts} attempts in {:?}",
        started.elapsed()
    );
    server.faults.clear();
    cluster.wait_satisfied("default", "web", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_watches_and_a_compacted_history_lose_nothing() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/26"))
        .await;
    let _lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    let server = cluster.api.server();
    for i in 0..10 {
        cluster
            .apply_service(&ServiceBuilder::new("default", &format!("early-{i}")))
            .await;
    }
    for i in 0..10 {
        cluster
            .wait_satisfied("default", &format!("early-{i}"), 1)
            .await;
    }
    let settled = cluster.all_ips().await;

    // The watches resume from their last resourceVersion.
    server.close_watches();
    for i in 0..5 {
        cluster
            .apply_service(&ServiceBuilder::new("default", &format!("resumed-{i}")))
            .await;
    }
    // Resuming now answers 410 Gone: the controller relists.
    server.compact();
    server.close_watches();
    for i in 0..5 {
        cluster
            .apply_service(&ServiceBuilder::new("default", &format!("relisted-{i}")))
            .await;
    }
    cluster
        .services("default")
        .delete("early-0", &Default::default())
        .await
        .expect("the service is deleted");
    for prefix in ["resumed", "relisted"] {
        for i in 0..5 {
            cluster
                .wait_satisfied("default", &format!("{prefix}-{i}"), 1)
                .await;
        }
    }
    let after = cluster.all_ips().await;
    for (name, ips) in &settled {
        if name != "default/early-0" {
            assert_eq!(after.get(name), Some(ips), "{name} did not move");
        }
    }
    assert_no_ip_twice(&after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_reconcile_makes_no_writes() {
    let cluster = Cluster::start().await;
    cluster
        .apply_pool(&PoolBuilder::new("blue").cidr("192.0.2.0/24"))
        .await;
    let lbipam = Controller::start(&cluster, "lbipam-0", &[]).await;
    for i in 0..5 {
        cluster
            .apply_service(&ServiceBuilder::new("default", &format!("svc-{i}")))
            .await;
    }
    for i in 0..5 {
        cluster
            .wait_satisfied("default", &format!("svc-{i}"), 1)
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writes = cluster.controller_writes();
    let passes = |l: &Controller| {
        l.metric("ferrule_lbipam_passes_total{result=\"success\"}")
            .unwrap_or(0.0)
    };
    let before = passes(&lbipam);
    // A change LB-IPAM must look at but that changes nothing it writes: a new label.
    cluster
        .apply_service(&ServiceBuilder::new("default", "svc-0").label("touched", "yes"))
        .await;
    support::eventually("another pass ran", support::WITHIN, || async {
        (passes(&lbipam) > before).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        cluster.controller_writes(),
        writes,
        "the second pass wrote nothing"
    );
}
