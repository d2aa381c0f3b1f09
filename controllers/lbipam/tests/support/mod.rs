//! What the integration tests share: a ferrule-testapi with ferrule's CRDs, the real
//! `ferrule-lbipam` binary pointed at it, object builders and polling helpers.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrule_testapi::TestApi;
#[allow(unused_imports, reason = "not every test binary polls")]
pub use ferrule_testapi::test_helpers::eventually;
use ferrule_testapi::test_helpers::{install_crds, spawn_component};
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub use ferrule_api::lbipam::v2::CiliumLoadBalancerIPPool;

pub const BINARY: &str = env!("CARGO_BIN_EXE_ferrule-lbipam");
/// The Service condition LB-IPAM writes (Cilium's spelling).
pub const SATISFIED: &str = "cilium.io/IPAMRequestSatisfied";
/// Generous: a 2-core machine may be compiling something else at the same time.
pub const WITHIN: Duration = Duration::from_secs(30);
/// The field manager the tests write specs with.
const TEST_MANAGER: &str = "lbipam-test";

/// A test API server with every ferrule CRD established, and a client of it.
pub struct Cluster {
    pub api: TestApi,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Self {
        let api = TestApi::start().await.expect("ferrule-testapi starts");
        let client = api.client().await.expect("a client from the kubeconfig");
        install_crds(&client, ferrule_api::crds::all(), WITHIN).await;
        Self { api, client }
    }

    pub fn services(&self, namespace: &str) -> Api<Service> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub fn pools(&self) -> Api<CiliumLoadBalancerIPPool> {
        Api::all(self.client.clone())
    }

    pub async fn namespace(&self, name: &str) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("a Namespace");
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("the namespace is created");
    }

    /// Creates or updates a pool (server-side apply of its spec).
    pub async fn apply_pool(&self, pool: &PoolBuilder) {
        self.pools()
            .patch(
                &pool.name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(pool.json()),
            )
            .await
            .expect("the pool is applied");
    }

    pub async fn delete_pool(&self, name: &str) {
        self.pools()
            .delete(name, &DeleteParams::default())
            .await
            .expect("the pool is deleted");
    }

    /// Creates or updates a Service (server-side apply of its spec and metadata).
    pub async fn apply_service(&self, service: &ServiceBuilder) {
        self.services(&service.namespace)
            .patch(
                &service.name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(service.json()),
            )
            .await
            .expect("the service is applied");
    }

    /// Creates a Service with a POST (unlike [`Cluster::apply_service`], not a patch: fault
    /// tests fail patches on `services`).
    pub async fn create_service(&self, service: &ServiceBuilder) {
        let object: Service = serde_json::from_value(service.json()).expect("a valid Service");
        self.services(&service.namespace)
            .create(&PostParams::default(), &object)
            .await
            .expect("the service is created");
    }

    pub async fn service(&self, namespace: &str, name: &str) -> Service {
        self.services(namespace)
            .get(name)
            .await
            .expect("the service exists")
    }

    /// `status.loadBalancer.ingress[].ip` of a Service, in status order.
    pub async fn ips(&self, namespace: &str, name: &str) -> Vec<String> {
        ips_of(&self.service(namespace, name).await)
    }

    /// LB-IPAM's condition on a Service.
    pub async fn condition(&self, namespace: &str, name: &str) -> Option<Condition> {
        condition_of(&self.service(namespace, name).await)
    }

    /// Waits until the Service has exactly `count` IPs and a True condition; returns them.
    pub async fn wait_satisfied(&self, namespace: &str, name: &str, count: usize) -> Vec<String> {
        let what = format!("{namespace}/{name} satisfied with {count} IP(s)");
        eventually(&what, WITHIN, || async {
            let service = self.service(namespace, name).await;
            let ips = ips_of(&service);
            let satisfied = condition_of(&service).is_some_and(|c| c.status == "True");
            (satisfied && ips.len() == count).then_some(ips)
        })
        .await
    }

    /// Waits until LB-IPAM's condition on the Service is `status` with `reason`.
    pub async fn wait_condition(
        &self,
        namespace: &str,
        name: &str,
        status: &str,
        reason: &str,
    ) -> Condition {
        let what = format!("{namespace}/{name} condition {status}/{reason}");
        eventually(&what, WITHIN, || async {
            self.condition(namespace, name)
                .await
                .filter(|c| c.status == status && c.reason == reason)
        })
        .await
    }

    /// A pool's condition of `type_`.
    pub async fn pool_condition(&self, pool: &str, type_: &str) -> Option<Value> {
        let pool = self.pools().get(pool).await.expect("the pool exists");
        let status = serde_json::to_value(pool.status?).expect("a status serialises");
        status["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .cloned()
    }

    /// Waits until the pool's condition `type_` has `status` (and the message, when given).
    pub async fn wait_pool_condition(
        &self,
        pool: &str,
        type_: &str,
        status: &str,
        message: Option<&str>,
    ) -> Value {
        let what = format!("pool {pool} condition {type_}={status} {message:?}");
        eventually(&what, WITHIN, || async {
            self.pool_condition(pool, type_)
                .await
                .filter(|c| c["status"] == status && message.is_none_or(|m| c["message"] == m))
        })
        .await
    }

    /// Every Service's IPs, by `namespace/name`.
    pub async fn all_ips(&self) -> BTreeMap<String, Vec<String>> {
        let services: Api<Service> = Api::all(self.client.clone());
        services
            .list(&ListParams::default())
            .await
            .expect("services list")
            .items
            .iter()
            .map(|s| {
                let key = format!(
                    "{}/{}",
                    s.metadata.namespace.as_deref().unwrap_or_default(),
                    s.metadata.name.as_deref().unwrap_or_default()
                );
                (key, ips_of(s))
            })
            .collect()
    }

    /// Status writes LB-IPAM issued (Services and pools), counted by the server.
    pub fn status_writes(&self) -> u64 {
        let requests = &self.api.server().requests;
        requests.count("patch", "services", "status")
            + requests.count("update", "services", "status")
            + requests.count("patch", "ciliumloadbalancerippools", "status")
            + requests.count("update", "ciliumloadbalancerippools", "status")
    }

    /// Every write LB-IPAM can issue: status writes and Events.
    pub fn controller_writes(&self) -> u64 {
        self.status_writes() + self.api.server().requests.writes("events")
    }

    /// Events about a Service, as `reason: note`.
    pub async fn events_about(&self, namespace: &str, name: &str) -> Vec<String> {
        let events: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(self.client.clone(), namespace);
        events
            .list(&ListParams::default())
            .await
            .expect("events list")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| {
                format!(
                    "{}: {}",
                    e.reason.unwrap_or_default(),
                    e.note.unwrap_or_default()
                )
            })
            .collect()
    }
}

pub fn ips_of(service: &Service) -> Vec<String> {
    service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ingress| ingress.iter().filter_map(|i| i.ip.clone()).collect())
        .unwrap_or_default()
}

pub fn condition_of(service: &Service) -> Option<Condition> {
    service
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == SATISFIED)
        .cloned()
}

/// Asserts no IP is held by two services unless they are in `sharing` groups together.
pub fn assert_no_ip_twice(ips: &BTreeMap<String, Vec<String>>) {
    let mut holders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (service, list) in ips {
        for ip in list {
            holders.entry(ip).or_default().push(service);
        }
    }
    let twice: Vec<_> = holders.iter().filter(|(_, h)| h.len() > 1).collect();
    assert!(twice.is_empty(), "IPs handed out twice: {twice:?}");
}

/// A Service of type LoadBalancer, TCP port 80, unless told otherwise.
#[derive(Debug, Clone)]
pub struct ServiceBuilder {
    pub namespace: String,
    pub name: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    type_: String,
    class: Option<String>,
    policy: Option<String>,
    families: Vec<String>,
    load_balancer_ip: Option<String>,
    ports: Vec<(i32, String)>,
}

impl ServiceBuilder {
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            type_: "LoadBalancer".to_owned(),
            class: None,
            policy: None,
            families: Vec::new(),
            load_balancer_ip: None,
            ports: vec![(80, "TCP".to_owned())],
        }
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn type_(mut self, type_: &str) -> Self {
        self.type_ = type_.to_owned();
        self
    }

    pub fn class(mut self, class: &str) -> Self {
        self.class = Some(class.to_owned());
        self
    }

    pub fn policy(mut self, policy: &str, families: &[&str]) -> Self {
        self.policy = Some(policy.to_owned());
        self.families = families.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    pub fn load_balancer_ip(mut self, ip: &str) -> Self {
        self.load_balancer_ip = Some(ip.to_owned());
        self
    }

    pub fn ports(mut self, ports: &[(i32, &str)]) -> Self {
        self.ports = ports
            .iter()
            .map(|(p, proto)| (*p, (*proto).to_owned()))
            .collect();
        self
    }

    pub fn json(&self) -> Value {
        let mut spec = json!({
            "type": self.type_,
            "ports": self.ports.iter().map(|(port, protocol)| json!({
                "name": format!("p{port}-{}", protocol.to_ascii_lowercase()),
                "port": port,
                "protocol": protocol,
            })).collect::<Vec<_>>(),
        });
        if let Some(class) = &self.class {
            spec["loadBalancerClass"] = json!(class);
        }
        if let Some(policy) = &self.policy {
            spec["ipFamilyPolicy"] = json!(policy);
            spec["ipFamilies"] = json!(self.families);
        }
        if let Some(ip) = &self.load_balancer_ip {
            spec["loadBalancerIP"] = json!(ip);
        }
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": self.labels,
                "annotations": self.annotations,
            },
            "spec": spec,
        })
    }
}

/// A CiliumLoadBalancerIPPool.
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    pub name: String,
    blocks: Vec<Value>,
    selector: Option<Value>,
    disabled: bool,
    allow_first_last: Option<String>,
}

impl PoolBuilder {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            blocks: Vec::new(),
            selector: None,
            disabled: false,
            allow_first_last: None,
        }
    }

    pub fn cidr(mut self, cidr: &str) -> Self {
        self.blocks.push(json!({ "cidr": cidr }));
        self
    }

    pub fn range(mut self, start: &str, stop: &str) -> Self {
        self.blocks.push(json!({ "start": start, "stop": stop }));
        self
    }

    pub fn without_blocks(mut self) -> Self {
        self.blocks.clear();
        self
    }

    pub fn selector(mut self, selector: Value) -> Self {
        self.selector = Some(selector);
        self
    }

    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    pub fn allow_first_last(mut self, value: &str) -> Self {
        self.allow_first_last = Some(value.to_owned());
        self
    }

    pub fn json(&self) -> Value {
        let mut spec = json!({ "blocks": self.blocks, "disabled": self.disabled });
        if let Some(selector) = &self.selector {
            spec["serviceSelector"] = selector.clone();
        }
        if let Some(value) = &self.allow_first_last {
            spec["allowFirstLastIPs"] = json!(value);
        }
        json!({
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumLoadBalancerIPPool",
            "metadata": { "name": self.name },
            "spec": spec,
        })
    }
}

/// A running `ferrule-lbipam`; dropped, it is killed.
pub struct Controller {
    child: Child,
    pub metrics_addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pub started: Instant,
    pub ready_after: Duration,
}

impl Controller {
    /// Starts the binary against `cluster` as `pod` (its leader-election identity), with
    /// `extra` flags, and waits until /readyz answers 200.
    pub async fn start(cluster: &Cluster, pod: &str, extra: &[&str]) -> Self {
        let started = Instant::now();
        // Defaults a test may override by passing the same flag in `extra` (clap refuses a
        // flag given twice).
        let defaults = [
            ("--log-level", "info,ferrule_lbipam=debug"),
            ("--leader-election-lease-duration", "2s"),
            ("--leader-election-renew-deadline", "1500ms"),
            ("--leader-election-retry-period", "200ms"),
            ("--kube-api-qps", "1000"),
            ("--kube-api-burst", "2000"),
        ];
        let mut args: Vec<&str> = Vec::new();
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag, value]);
            }
        }
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
                ])
                .args(&args)
                .args(extra)
                .env_remove("RUST_LOG"),
            "ferrule-lbipam",
            WITHIN,
        )
        .await;
        let mut controller = Self {
            child,
            metrics_addr,
            log,
            started,
            ready_after: Duration::ZERO,
        };
        controller.wait_ready().await;
        controller.ready_after = started.elapsed();
        controller
    }

    async fn wait_ready(&mut self) {
        let addr = self.metrics_addr;
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ferrule-lbipam exited with {status}:\n{}", self.log());
            }
            if http_get(addr, "/readyz").is_ok_and(|(code, _)| code == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ferrule-lbipam not ready:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id (for /proc reads).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// /metrics, as text.
    pub fn metrics(&self) -> String {
        http_get(self.metrics_addr, "/metrics")
            .expect("/metrics answers")
            .1
    }

    /// The value of a metric line starting with `prefix` (name and labels).
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        self.metrics()
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    /// Whether this replica holds the Lease (the runtime's `ferrule_leader` gauge).
    pub fn is_leader(&self) -> bool {
        self.metric("ferrule_leader{") == Some(1.0)
    }

    /// Everything the binary logged so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// SIGTERM, then waits for a clean exit (the Lease is released on the way out).
    pub async fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + WITHIN;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    assert!(
                        status.success(),
                        "a clean exit on SIGTERM: {status}\n{}",
                        self.log()
                    );
                    return;
                }
                _ if Instant::now() > deadline => panic!("no exit after SIGTERM:\n{}", self.log()),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- ferrule-lbipam log ---\n{}", self.log());
        }
    }
}

/// A GET with `Connection: close`: status code and body (not chunked: the runtime's axum
/// server sends a length for these small bodies).
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

/// The set of IPs of several services.
pub fn ip_set(ips: &BTreeMap<String, Vec<String>>) -> BTreeSet<String> {
    ips.values().flatten().cloned().collect()
}

/// Whether `ip` is inside `cidr` (both parsed; test inputs are valid).
pub fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').expect("a CIDR");
    let bits: u32 = bits.parse().expect("a prefix length");
    match (
        ip.parse::<std::net::IpAddr>().expect("an IP"),
        net.parse::<std::net::IpAddr>().expect("a network"),
    ) {
        (std::net::IpAddr::V4(ip), std::net::IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (std::net::IpAddr::V6(ip), std::net::IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}
