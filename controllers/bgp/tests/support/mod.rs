//! What the integration tests share: a ferrule-testapi with the BGP CRDs from deploy/crds,
//! the real `ferrule-bgp` binary pointed at it, object helpers and polling helpers.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use ferrule_api::bgp::cluster_config::v2::CiliumBGPClusterConfig;
pub use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
pub use ferrule_api::bgp::node_config_override::v2::CiliumBGPNodeConfigOverride;
pub use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_testapi::TestApi;
pub use ferrule_testapi::test_helpers::eventually;
use ferrule_testapi::test_helpers::{install_crds, spawn_component};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub const BINARY: &str = env!("CARGO_BIN_EXE_ferrule-bgp");
/// Generous: a 2-core machine may be compiling something else at the same time.
pub const WITHIN: Duration = Duration::from_secs(30);
/// The field manager the tests write objects with.
const TEST_MANAGER: &str = "bgp-test";

/// The BGP CRDs exactly as deploy/ ships them.
fn shipped_bgp_crds() -> Vec<CustomResourceDefinition> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds");
    let mut crds = Vec::new();
    for entry in std::fs::read_dir(dir).expect("deploy/crds is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("cilium.io_ciliumbgp") && name.ends_with(".yaml") {
            let text = std::fs::read_to_string(&path).expect("a readable CRD");
            crds.push(serde_yaml::from_str(&text).expect("a CRD manifest"));
        }
    }
    assert_eq!(crds.len(), 5, "five BGP CRDs in deploy/crds");
    crds
}

/// A test API server with the BGP CRDs established, and a client of it.
pub struct Cluster {
    pub api: TestApi,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Self {
        let api = TestApi::start().await.expect("ferrule-testapi starts");
        let client = api.client().await.expect("a client from the kubeconfig");
        install_crds(&client, shipped_bgp_crds(), WITHIN).await;
        Self { api, client }
    }

    fn all<K>(&self) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::ClusterResourceScope>,
    {
        Api::all(self.client.clone())
    }

    /// Server-side applies a cluster-scoped object given as JSON (name in its metadata).
    async fn apply<K>(&self, object: Value)
    where
        K: kube::Resource<DynamicType = (), Scope = kube::core::ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let name = object["metadata"]["name"]
            .as_str()
            .expect("named")
            .to_owned();
        self.all::<K>()
            .patch(
                &name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap_or_else(|e| panic!("{name} is applied: {e}"));
    }

    /// Creates or updates a Node with `labels`, an InternalIP (if any) and annotations.
    pub async fn apply_node(
        &self,
        name: &str,
        labels: Value,
        internal_ip: Option<&str>,
        annotations: Value,
    ) {
        self.apply::<Node>(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "annotations": annotations},
        }))
        .await;
        let addresses: Vec<Value> = internal_ip
            .map(|ip| json!({"type": "InternalIP", "address": ip}))
            .into_iter()
            .chain([json!({"type": "Hostname", "address": name})])
            .collect();
        let status = json!({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"addresses": addresses},
        });
        self.all::<Node>()
            .patch_status(
                name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&status),
            )
            .await
            .expect("the node's status is applied");
    }

    pub async fn delete_node(&self, name: &str) {
        self.all::<Node>()
            .delete(name, &DeleteParams::default())
            .await
            .expect("the node is deleted");
    }

    pub async fn apply_cluster_config(&self, name: &str, spec: Value) {
        self.apply::<CiliumBGPClusterConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPClusterConfig",
            "metadata": {"name": name}, "spec": spec,
        }))
        .await;
    }

    pub async fn delete_cluster_config(&self, name: &str) {
        self.all::<CiliumBGPClusterConfig>()
            .delete(name, &DeleteParams::default())
            .await
            .expect("the cluster config is deleted");
    }

    pub async fn apply_override(&self, node: &str, spec: Value) {
        self.apply::<CiliumBGPNodeConfigOverride>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPNodeConfigOverride",
            "metadata": {"name": node}, "spec": spec,
        }))
        .await;
    }

    pub async fn apply_peer_config(&self, name: &str, spec: Value) {
        self.apply::<CiliumBGPPeerConfig>(json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumBGPPeerConfig",
            "metadata": {"name": name}, "spec": spec,
        }))
        .await;
    }

    pub async fn create_secret(&self, namespace: &str, name: &str) {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"password": "s3cret"},
        });
        Api::<Secret>::namespaced(self.client.clone(), namespace)
            .patch(
                name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .expect("the secret is applied");
    }

    pub async fn node_config(&self, name: &str) -> Option<CiliumBGPNodeConfig> {
        self.all::<CiliumBGPNodeConfig>()
            .get_opt(name)
            .await
            .expect("node configs can be read")
    }

    /// Every node config, by name, as JSON.
    pub async fn node_configs(&self) -> BTreeMap<String, Value> {
        self.all::<CiliumBGPNodeConfig>()
            .list(&Default::default())
            .await
            .expect("node configs can be listed")
            .items
            .into_iter()
            .map(|c| {
                let name = c.metadata.name.clone().unwrap_or_default();
                (name, serde_json::to_value(&c).expect("serializes"))
            })
            .collect()
    }

    /// Waits until the node config `name` exists and `check` accepts it.
    pub async fn wait_node_config(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(&format!("node config {name}: {what}"), WITHIN, || async {
            let config = self.node_config(name).await?;
            let value = serde_json::to_value(&config).expect("serializes");
            check(&value).then_some(value)
        })
        .await
    }

    pub async fn wait_no_node_config(&self, name: &str) {
        eventually(
            &format!("node config {name} is deleted"),
            WITHIN,
            || async { self.node_config(name).await.is_none().then_some(()) },
        )
        .await;
    }

    /// A condition of a cluster config (`kind` "cluster") or peer config ("peer"), as JSON.
    pub async fn condition(&self, kind: &str, name: &str, type_: &str) -> Option<Value> {
        let status = match kind {
            "cluster" => serde_json::to_value(
                self.all::<CiliumBGPClusterConfig>()
                    .get(name)
                    .await
                    .ok()?
                    .status,
            ),
            _ => serde_json::to_value(
                self.all::<CiliumBGPPeerConfig>()
                    .get(name)
                    .await
                    .ok()?
                    .status,
            ),
        }
        .expect("serializes");
        status["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
    }

    /// Waits until that condition has `status` ("True"/"False"); returns it.
    pub async fn wait_condition(&self, kind: &str, name: &str, type_: &str, status: &str) -> Value {
        eventually(
            &format!("{kind} config {name}: {type_}={status}"),
            WITHIN,
            || async {
                self.condition(kind, name, type_)
                    .await
                    .filter(|c| c["status"] == status)
            },
        )
        .await
    }

    /// Every write ferrule-bgp can issue, counted by the server.
    pub fn controller_writes(&self) -> u64 {
        let requests = &self.api.server().requests;
        requests.writes("ciliumbgpnodeconfigs")
            + requests.count("patch", "ciliumbgpclusterconfigs", "status")
            + requests.count("patch", "ciliumbgppeerconfigs", "status")
            + requests.writes("events")
    }
}

/// A running `ferrule-bgp`; dropped, it is killed.
pub struct Controller {
    child: Child,
    pub metrics_addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Controller {
    /// Starts the binary against `cluster` as `pod` with `extra` flags, and waits until
    /// /readyz answers 200.
    pub async fn start(cluster: &Cluster, pod: &str, extra: &[&str]) -> Self {
        let (child, log, metrics_addr) = spawn_component(
            Command::new(BINARY)
                .arg("--kubeconfig")
                .arg(cluster.api.kubeconfig_path())
                .args([
                    "--metrics-addr",
                    "127.0.0.1:0",
                    "--leader-elect",
                    "--namespace",
                    "kube-system",
                    "--pod-name",
                    pod,
                    "--log-format",
                    "json",
                    "--log-level",
                    "info,ferrule_bgp=debug",
                    "--leader-election-lease-duration",
                    "2s",
                    "--leader-election-renew-deadline",
                    "1500ms",
                    "--leader-election-retry-period",
                    "200ms",
                    "--kube-api-qps",
                    "1000",
                    "--kube-api-burst",
                    "2000",
                ])
                .args(extra)
                .env_remove("RUST_LOG"),
            "ferrule-bgp",
            WITHIN,
        )
        .await;
        let mut controller = Self {
            child,
            metrics_addr,
            log,
        };
        controller.wait_ready().await;
        controller
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ferrule-bgp exited with {status}:\n{}", self.log());
            }
            if http_get(self.metrics_addr, "/readyz").is_ok_and(|(code, _)| code == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ferrule-bgp not ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until this replica holds the Lease (the runtime's `ferrule_leader` gauge).
    pub async fn wait_leader(&self) {
        eventually("ferrule-bgp leads", WITHIN, || async {
            let metrics = http_get(self.metrics_addr, "/metrics").ok()?.1;
            metrics
                .lines()
                .any(|l| l.starts_with("ferrule_leader{") && l.ends_with(" 1"))
                .then_some(())
        })
        .await;
    }

    /// Everything the binary logged so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// SIGTERM, then waits for the exit (the Lease is released on the way out).
    pub async fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WITHIN;
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- ferrule-bgp log ---\n{}", self.log());
        }
    }
}

/// A GET with `Connection: close`: status code and body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status code"))?;
    Ok((code, body.to_owned()))
}

/// The router IDs of every node config, by node and instance.
pub fn router_ids(configs: &BTreeMap<String, Value>) -> BTreeMap<(String, String), String> {
    let mut ids = BTreeMap::new();
    for (node, config) in configs {
        for instance in config["spec"]["bgpInstances"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = instance["routerID"].as_str() {
                let name = instance["name"].as_str().unwrap_or_default().to_owned();
                ids.insert((node.clone(), name), id.to_owned());
            }
        }
    }
    ids
}
