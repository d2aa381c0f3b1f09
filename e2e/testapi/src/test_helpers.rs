//! What tests of ferrule's components do against a [`crate::TestApi`] over and over: wait for a
//! condition, and install CRDs the way a cluster has them (created, then Established). They
//! panic with a message on failure, as test helpers should.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

/// Polls `check` until it returns `Some`, panicking with `what` after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} (waited {within:?})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates each CRD and waits (up to `within` each) until the server reports it Established,
/// so the caller can use its resources at once.
pub async fn install_crds(
    client: &kube::Client,
    crds: impl IntoIterator<Item = CustomResourceDefinition>,
    within: Duration,
) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.clone().expect("CRDs are named");
        api.create(&PostParams::default(), &crd)
            .await
            .unwrap_or_else(|e| panic!("CRD {name} is accepted: {e}"));
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(within, established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} is Established within {within:?}"))
            .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }
}

/// A spawned component's stderr lines, collected as they arrive.
pub type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Spawns a component binary that logs JSON (`--log-format json`) with stderr piped, collects
/// its log lines, and waits (without blocking the caller's runtime, which may host the API
/// server) until it logs the address of its `/healthz` `/metrics` server. Panics, naming
/// `what`, when it does not start or say so within `within`.
pub async fn spawn_component(
    command: &mut std::process::Command,
    what: &str,
    within: Duration,
) -> (std::process::Child, LogLines, std::net::SocketAddr) {
    use std::io::BufRead as _;
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} starts: {e}"));
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = LogLines::default();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line)
                && entry["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("serving /healthz"))
                && let Some(addr) = entry["addr"].as_str().and_then(|a| a.parse().ok())
            {
                let _ = addr_tx.send(addr);
            }
            lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
    let metrics_addr = tokio::task::spawn_blocking(move || addr_rx.recv_timeout(within))
        .await
        .expect("the waiting thread")
        .unwrap_or_else(|_| panic!("{what} reports its metrics address"));
    (child, log, metrics_addr)
}
