//! The health/metrics server, over real TCP on an ephemeral port.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use ferrule_runtime::http::{HttpServer, OPENMETRICS_CONTENT_TYPE};
use ferrule_runtime::{MetricLabel, Metrics, Readiness};

async fn get(addr: SocketAddr, path: &'static str) -> support::Response {
    tokio::task::spawn_blocking(move || support::get(addr, path))
        .await
        .expect("the HTTP client task should not panic")
        .unwrap_or_else(|error| panic!("GET {path} should get a response: {error}"))
}

async fn start() -> (HttpServer, Metrics, Readiness) {
    let metrics = Metrics::new();
    let readiness = Readiness::new();
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("a literal socket address");
    let server = HttpServer::start(addr, metrics.clone(), readiness.clone())
        .await
        .expect("the server should bind an ephemeral port");
    (server, metrics, readiness)
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_the_ephemeral_port_it_bound() {
    let (server, _, _) = start().await;
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0, "the real port must be reported, not 0");
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_while_running() {
    let (server, _, _) = start().await;
    let response = get(server.local_addr(), "/healthz").await;
    assert_eq!(response.status, 200, "{response:?}");
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_follows_readiness() {
    let (server, _, readiness) = start().await;
    let addr = server.local_addr();
    assert_eq!(
        get(addr, "/readyz").await.status,
        503,
        "not ready before set_ready"
    );
    readiness.set_ready();
    assert_eq!(
        get(addr, "/readyz").await.status,
        200,
        "ready after set_ready"
    );
    readiness.set_not_ready();
    assert_eq!(
        get(addr, "/readyz").await.status,
        503,
        "not ready again while stopping"
    );
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
}

#[derive(Debug)]
struct AllocationFailed;

impl MetricLabel for AllocationFailed {
    fn metric_label(&self) -> &'static str {
        "pool_exhausted"
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_expose_recorded_reconciles() {
    let (server, metrics, _) = start().await;
    metrics
        .reconcile_started("lbipam")
        .observe(&Ok::<(), AllocationFailed>(()));
    metrics
        .reconcile_started("lbipam")
        .observe(&Err::<(), _>(AllocationFailed));

    let response = get(server.local_addr(), "/metrics").await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    let body = &response.body;
    for expected in [
        "# TYPE ferrule_reconcile counter",
        r#"ferrule_reconcile_total{controller="lbipam",result="success"} 1"#,
        r#"ferrule_reconcile_total{controller="lbipam",result="pool_exhausted"} 1"#,
        "# TYPE ferrule_reconcile_duration_seconds histogram",
        "# UNIT ferrule_reconcile_duration_seconds seconds",
        r#"ferrule_reconcile_duration_seconds_count{controller="lbipam"} 2"#,
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
    assert!(
        body.ends_with("# EOF\n"),
        "OpenMetrics ends with # EOF:\n{body}"
    );
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_closes_the_port() {
    let (server, _, _) = start().await;
    let addr = server.local_addr();
    assert_eq!(get(addr, "/healthz").await.status, 200);
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
    let refused = tokio::task::spawn_blocking(move || support::get(addr, "/healthz"))
        .await
        .expect("the HTTP client task should not panic");
    assert!(
        refused.is_err(),
        "the port must be closed after stop: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_are_not_found() {
    let (server, _, _) = start().await;
    assert_eq!(get(server.local_addr(), "/nope").await.status, 404);
    server
        .stop(Duration::from_secs(5))
        .await
        .expect("clean stop");
}
