//! Trace export: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach an OTLP/HTTP collector by the
//! time `Telemetry::shutdown` returns. The subscriber is process-global and the switch is the
//! environment, so the exporting side runs as a child process (this test binary re-executed).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use ferrule_runtime::LogFormat;
use ferrule_runtime::telemetry::Telemetry;
use tokio::net::TcpListener;

const CHILD_ROLE: &str = "FERRULE_OTLP_CHILD";
const CHILD_TEST: &str = "child_exports_a_span";
const SERVICE_NAME: &str = "ferrule-otlp-child";
const SPAN_NAME: &str = "reconcile_lease_probe";

/// The child: traces one span and shuts telemetry down. A no-op unless started by the parent.
#[tokio::test(flavor = "multi_thread")]
async fn child_exports_a_span() {
    if std::env::var_os(CHILD_ROLE).is_none() {
        return;
    }
    let telemetry = Telemetry::init("ferrule-otlp-binary", LogFormat::Json, "info")
        .expect("telemetry should initialise with OTLP export");
    tracing::info_span!(SPAN_NAME, controller = "lbipam").in_scope(|| {
        tracing::info!("inside the probe span");
    });
    telemetry.shutdown().await;
    println!("FERRULE_CHILD_FLUSHED");
}

#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<Vec<(String, Bytes)>>>,
}

async fn collect(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    received
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((content_type, body));
    ""
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_and_flushed_on_shutdown() {
    let received = Received::default();
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("the fake collector should bind");
    let addr = listener
        .local_addr()
        .expect("bound listener has an address");
    let app = Router::new()
        .route("/v1/traces", post(collect))
        .with_state(received.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let mut command = Command::new(exe);
    command
        .args(["--exact", CHILD_TEST, "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    command
        .env(CHILD_ROLE, "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}"))
        .env("OTEL_SERVICE_NAME", SERVICE_NAME);
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the child should finish within 60s")
    .expect("the child task should not panic")
    .expect("the child should run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("FERRULE_CHILD_FLUSHED"),
        "child failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let requests = received
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert!(
        !requests.is_empty(),
        "the collector should have received the flushed spans"
    );
    let contains = |needle: &str| {
        requests.iter().any(|(_, body)| {
            body.windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
    };
    assert!(
        requests
            .iter()
            .all(|(content_type, _)| content_type == "application/x-protobuf"),
        "OTLP/HTTP must send protobuf: {:?}",
        requests.iter().map(|(ct, _)| ct).collect::<Vec<_>>()
    );
    assert!(contains(SPAN_NAME), "the probe span should be exported");
    assert!(
        contains(SERVICE_NAME),
        "service.name should come from OTEL_SERVICE_NAME"
    );
}
