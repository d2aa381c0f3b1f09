//! What the integration tests share: a ferrule-testapi with ferrule's CRDs, Nodes, Services
//! with LoadBalancer IPs, a stub agent health endpoint per node, and the real
//! `ferrule-l2announcer` binary started once per node.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferrule_api::l2announcement::v2alpha1::CiliumL2AnnouncementPolicy;
use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use ferrule_testapi::TestApi;
#[allow(unused_imports, reason = "not every test binary polls")]
pub use ferrule_testapi::test_helpers::eventually;
use ferrule_testapi::test_helpers::install_crds;
use k8s_openapi::api::core::v1::{Node, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

pub const BINARY: &str = env!("CARGO_BIN_EXE_ferrule-l2announcer");
/// Generous: a 2-core machine may be compiling something else at the same time.
pub const WITHIN: Duration = Duration::from_secs(20);
const TEST_MANAGER: &str = "l2announce-test";
/// The short timings of the tests: lease 2s, renew deadline 1s, retry 200ms.
pub const LEASE: Duration = Duration::from_secs(2);
/// The failover delay of those timings: max(lease − renew deadline, renew deadline).
pub const FAILOVER_AFTER: Duration = Duration::from_secs(1);
const TIMINGS: [&str; 6] = [
    "--lease-duration",
    "2s",
    "--lease-renew-deadline",
    "1s",
    "--lease-retry-period",
    "200ms",
];

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

    pub async fn node(&self, name: &str) {
        let node: Node =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("a Node");
        Api::<Node>::all(self.client.clone())
            .create(&PostParams::default(), &node)
            .await
            .expect("the Node is created");
    }

    /// Applies a policy announcing LoadBalancer IPs on `interfaces` (every node and Service).
    pub async fn policy(&self, name: &str, interfaces: &[&str]) {
        let body = json!({
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumL2AnnouncementPolicy",
            "metadata": {"name": name},
            "spec": {"loadBalancerIPs": true, "interfaces": interfaces},
        });
        Api::<CiliumL2AnnouncementPolicy>::all(self.client.clone())
            .patch(
                name,
                &PatchParams::apply(TEST_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .expect("the policy is applied");
    }

    /// A policy's condition of `type_`, as (status, message).
    pub async fn policy_condition(&self, name: &str, type_: &str) -> Option<(String, String)> {
        let policy = Api::<CiliumL2AnnouncementPolicy>::all(self.client.clone())
            .get(name)
            .await
            .expect("the policy exists");
        policy
            .status?
            .conditions
            .into_iter()
            .find_map(|c| (c.r#type == type_).then(|| (format!("{:?}", c.status), c.message)))
    }

    /// A LoadBalancer Service `default/<name>` whose status carries `ip` (as LB-IPAM writes
    /// it); `local` sets externalTrafficPolicy Local.
    pub async fn service(&self, name: &str, ip: &str, local: bool) {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        let mut spec = json!({"type": "LoadBalancer", "ports": [{"port": 80}]});
        if local {
            spec["externalTrafficPolicy"] = json!("Local");
        }
        let service: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }))
        .expect("a Service");
        api.create(&PostParams::default(), &service)
            .await
            .expect("the Service is created");
        let status = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}},
        });
        api.patch_status(
            name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("the Service status is applied");
    }

    /// Every NodeL2Announcement: node → announced Service names (sorted).
    pub async fn announcements(&self) -> BTreeMap<String, Vec<String>> {
        Api::<NodeL2Announcement>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .expect("announcements list")
            .items
            .into_iter()
            .map(|a| {
                let mut names: Vec<String> = a
                    .spec
                    .announcements
                    .iter()
                    .map(|x| x.service.name.clone())
                    .collect();
                names.sort();
                names.dedup();
                (a.spec.node_name, names)
            })
            .collect()
    }

    /// The raw NodeL2Announcement of `node`.
    pub async fn announcement(&self, node: &str) -> Option<NodeL2Announcement> {
        Api::<NodeL2Announcement>::all(self.client.clone())
            .get_opt(node)
            .await
            .expect("get announcement")
    }

    /// Events about `default/<name>`, as reasons.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        Api::<k8s_openapi::api::events::v1::Event>::namespaced(self.client.clone(), "default")
            .list(&ListParams::default())
            .await
            .expect("events list")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .filter_map(|e| e.reason)
            .collect()
    }
}

/// Every announced Service with the nodes announcing it.
pub fn owners(announcements: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (node, services) in announcements {
        for service in services {
            owners
                .entry(service.clone())
                .or_default()
                .push(node.clone());
        }
    }
    owners
}

/// Waits until the announcements satisfy `settled` and returns them.
pub async fn wait_announcements(
    cluster: &Cluster,
    what: &str,
    settled: impl Fn(&BTreeMap<String, Vec<String>>) -> bool,
) -> BTreeMap<String, Vec<String>> {
    eventually(what, WITHIN, || async {
        let current = cluster.announcements().await;
        settled(&current).then_some(current)
    })
    .await
}

/// A stand-in for a node's ferrule-agent health endpoint, answering the status it is set to.
pub struct AgentStub {
    pub url: String,
    status: Arc<AtomicU16>,
}

impl AgentStub {
    pub async fn start() -> Self {
        let status = Arc::new(AtomicU16::new(200));
        let served = status.clone();
        let app = axum::Router::new().route(
            "/healthz",
            axum::routing::get(move || {
                let code = served.load(Ordering::Relaxed);
                async move {
                    axum::http::StatusCode::from_u16(code)
                        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr: SocketAddr = listener.local_addr().expect("bound");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}/healthz"),
            status,
        }
    }

    pub fn set_status(&self, code: u16) {
        self.status.store(code, Ordering::Relaxed);
    }
}

/// A running `ferrule-l2announcer` for one node; dropped, it is killed.
pub struct Announcer {
    pub node: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Announcer {
    pub fn start(cluster: &Cluster, node: &str, agent: &AgentStub) -> Self {
        Self::start_with(cluster, node, agent, &TIMINGS)
    }

    /// Like [`Announcer::start`] with other `--lease-*` flags.
    pub fn start_with(cluster: &Cluster, node: &str, agent: &AgentStub, timings: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .arg("--kubeconfig")
            .arg(cluster.api.kubeconfig_path())
            .args([
                "--metrics-addr",
                "127.0.0.1:0",
                "--namespace",
                "kube-system",
                "--node-name",
                node,
                "--pod-name",
                &format!("l2announcer-{node}"),
                "--agent-health-url",
                &agent.url,
                "--kube-api-qps",
                "1000",
                "--kube-api-burst",
                "2000",
                "--log-level",
                "info,ferrule_l2announce=debug",
            ])
            .args(timings)
            .env_remove("RUST_LOG")
            .env_remove("NODE_NAME")
            .env_remove("FERRULE_AGENT_HEALTH_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferrule-l2announcer starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        Self {
            node: node.to_owned(),
            child,
            log,
        }
    }

    /// kill -9: no release, no withdrawal.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the process to exit; returns its success.
    pub fn terminate(&mut self) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM delivered");
        let deadline = Instant::now() + WITHIN;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "exits after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Three nodes with stub agents and an announcer each, one policy on every interface, and 30
/// LoadBalancer Services with IPs.
pub struct Lab {
    pub cluster: Cluster,
    pub agents: Vec<AgentStub>,
    pub announcers: Vec<Announcer>,
}

pub const NODES: [&str; 3] = ["node-a", "node-b", "node-c"];

impl Lab {
    pub async fn start(services: usize) -> Self {
        Self::start_with(services, &TIMINGS).await
    }

    /// Like [`Lab::start`], the announcers with other `--lease-*` flags.
    pub async fn start_with(services: usize, timings: &[&str]) -> Self {
        let cluster = Cluster::start().await;
        for node in NODES {
            cluster.node(node).await;
        }
        cluster.policy("all", &[]).await;
        for i in 0..services {
            cluster
                .service(&format!("svc-{i:02}"), &format!("192.0.2.{}", i + 1), false)
                .await;
        }
        let mut agents = Vec::new();
        for _ in NODES {
            agents.push(AgentStub::start().await);
        }
        let announcers = NODES
            .iter()
            .zip(&agents)
            .map(|(node, agent)| Announcer::start_with(&cluster, node, agent, timings))
            .collect();
        Self {
            cluster,
            agents,
            announcers,
        }
    }

    pub fn logs(&self) -> String {
        self.announcers
            .iter()
            .map(|a| format!("--- {}\n{}", a.node, a.log()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Each of `services` Services announced by exactly one of `nodes`, nobody else announcing.
pub fn each_once_by(
    announcements: &BTreeMap<String, Vec<String>>,
    nodes: &[&str],
    services: usize,
) -> bool {
    let owners = owners(announcements);
    owners.len() == services
        && owners
            .values()
            .all(|n| n.len() == 1 && nodes.contains(&n[0].as_str()))
}

/// What the core assigns to each live node for the lab's `services` Services: what every
/// announcer must converge on.
pub fn expected(live: &[&str], services: usize) -> BTreeMap<String, Vec<String>> {
    use ferrule_l2announce::core::{assign, eligible, model, policy};
    let inputs: Vec<model::ServiceInput> = (0..services)
        .map(|i| model::ServiceInput {
            key: model::ServiceKey::new("default", format!("svc-{i:02}")),
            ingress_ips: vec![format!("192.0.2.{}", i + 1)],
            ..model::ServiceInput::default()
        })
        .collect();
    let nodes: Vec<model::NodeInput> = NODES
        .iter()
        .map(|n| model::NodeInput {
            name: (*n).to_owned(),
            ..model::NodeInput::default()
        })
        .collect();
    let spec = ferrule_api::l2announcement::v2alpha1::L2AnnouncementPolicySpec {
        load_balancer_ips: true,
        ..Default::default()
    };
    let policy = policy::compile("all", &spec).policy.expect("valid");
    let eligible = eligible::eligible(&inputs, &nodes, &[policy]);
    let live = live.iter().map(|n| (*n).to_owned()).collect();
    assign::assign(&eligible, &live)
        .by_node
        .into_iter()
        .map(|(node, list)| {
            (
                node,
                list.into_iter().map(|a| a.service.name).collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// The non-empty entries of `announcements`.
pub fn non_empty(announcements: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    announcements
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}
