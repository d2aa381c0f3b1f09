//! The node side of the BGP control plane (`--enable-bgp-control-plane`).
//!
//! [`ferrule_bgp_control`] watches this node's CiliumBGPNodeConfig and the objects it refers
//! to and publishes the desired state; this module runs it:
//! - [`instances`]: one [`ferrule_bgp_speaker::Speaker`] per BGP instance, peers and routes
//!   mapped by [`mapping`], and BFD sessions ([`bfd`]) whose failure resets the BGP session
//!   at once;
//! - the status loop: whenever a session changes (and every [`STATUS_REFRESH`]) the sessions
//!   go to the CiliumBGPNodeConfig status (written only when it differs) and to the metrics
//!   ([`metrics`]);
//! - [`node_mac`]: the Node's `ferrule.io/host-mac-address` annotation, from which router IDs
//!   of IPv6-only nodes are derived.
//!
//! On SIGTERM, [`BgpControlPlane::shutdown`] stops the sessions (see
//! [`instances::Instances::shutdown`] for graceful restart).

pub mod bfd;
pub mod error;
pub mod instances;
pub mod mapping;
pub mod metrics;
pub mod node_mac;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ferrule_bgp_control::driver::{DEFAULT_SECRETS_NAMESPACE, Driver, DriverConfig};
use ferrule_bgp_control::gateway::linux::RouteReader;
use ferrule_bgp_control::router_id_from_mac;
use ferrule_bgp_control::status::StatusWriter;
use tokio::sync::{Mutex, Notify};

pub use error::Error;
use instances::Instances;
use metrics::BgpMetrics;

/// How often the status is refreshed without a session change (uptime, failed writes).
pub const STATUS_REFRESH: Duration = Duration::from_secs(30);
/// After a session change, wait this long for more before writing the status.
const STATUS_DEBOUNCE: Duration = Duration::from_millis(200);
/// Wait after a failed status write or MAC publication before trying again.
const RETRY: Duration = Duration::from_secs(5);
/// How often the MAC annotation is checked once published (the InternalIP may move).
const MAC_RECHECK: Duration = Duration::from_secs(300);

/// The BGP flags of `ferrule-agent run`.
#[derive(Debug, Clone)]
pub struct BgpSettings {
    pub node_name: String,
    /// The only namespace peer-config auth Secrets are read from.
    pub secrets_namespace: String,
    /// Advertise CiliumPodIPPool CIDRs allocated to this node (multi-pool IPAM).
    pub multi_pool_ipam: bool,
    /// Routes and interface addresses are re-read at least this often (and on every change
    /// `ip monitor` reports); peers' source addresses are re-evaluated as often.
    pub route_poll_interval: Duration,
    /// Datapath devices, in order: the MAC annotation falls back to the first.
    pub devices: Vec<String>,
}

impl BgpSettings {
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            secrets_namespace: DEFAULT_SECRETS_NAMESPACE.to_owned(),
            multi_pool_ipam: false,
            route_poll_interval: Duration::from_secs(30),
            devices: Vec::new(),
        }
    }
}

/// The BGP control plane of this node. [`Self::run`] does the work; the handle outlives it
/// so [`Self::shutdown`] can stop the sessions after the run future was dropped.
#[derive(Debug, Clone)]
pub struct BgpControlPlane {
    settings: BgpSettings,
    instances: Arc<Mutex<Instances>>,
    changed: Arc<Notify>,
    metrics: BgpMetrics,
}

impl BgpControlPlane {
    /// Registers the BGP metrics; nothing runs before [`Self::run`].
    pub fn new(settings: BgpSettings, metrics: &ferrule_runtime::Metrics) -> Self {
        let changed = Arc::new(Notify::new());
        let bgp_metrics = BgpMetrics::default();
        bgp_metrics.register(metrics);
        Self {
            settings,
            instances: Arc::new(Mutex::new(Instances::new(Arc::clone(&changed)))),
            changed,
            metrics: bgp_metrics,
        }
    }

    /// Publishes the MAC annotation, starts the route reader and the watches, then keeps the
    /// speakers and the status in step until a part stops (which only happens on an error).
    pub async fn run(&self, client: kube::Client) -> Error {
        let settings = &self.settings;
        let mac = match node_mac::publish(client.clone(), &settings.node_name, &settings.devices)
            .await
        {
            Ok(mac) => mac,
            Err(error) => {
                tracing::warn!(subsys = "bgp-control-plane", %error, "publishing the node's host MAC address");
                None
            }
        };
        let reader = RouteReader::new().watch(settings.route_poll_interval).await;
        let (local, _reader_task) = match reader {
            Ok(r) => r,
            Err(source) => return Error::RouteReader(source),
        };
        let mut config = DriverConfig::new(settings.node_name.clone());
        config
            .secrets_namespace
            .clone_from(&settings.secrets_namespace);
        config.multi_pool_ipam = settings.multi_pool_ipam;
        config.router_id_fallback = mac.map(router_id_from_mac);
        let driver = Driver::start(client.clone(), config, local.clone()).await;
        tracing::info!(subsys = "bgp-control-plane", "BGP control plane started");
        tokio::select! {
            error = self.reconcile_loop(&driver, local) => error,
            error = self.status_loop(client.clone()) => error,
            error = self.mac_loop(client, mac.is_some()) => error,
        }
    }

    async fn reconcile_loop(
        &self,
        driver: &Driver,
        mut local: tokio::sync::watch::Receiver<ferrule_bgp_control::driver::LocalState>,
    ) -> Error {
        let mut desired = driver.desired();
        let mut bfd_events = self.instances.lock().await.bfd_events();
        let mut tick = tokio::time::interval(self.settings.route_poll_interval);
        let mut local_open = true;
        loop {
            tokio::select! {
                changed = desired.changed() => if changed.is_err() {
                    return Error::DriverStopped;
                },
                changed = local.changed(), if local_open => if changed.is_err() {
                    local_open = false;
                },
                _ = tick.tick() => {}
                event = bfd_events.recv() => {
                    match event {
                        Ok(change) => self.instances.lock().await.bfd_change(&change),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(subsys = "bgp-control-plane", missed, "BFD events lost");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            return Error::BfdStopped;
                        }
                    }
                    continue;
                }
            }
            let desired_now = desired.borrow_and_update().clone();
            let interfaces = local.borrow_and_update().interface_addresses.clone();
            self.metrics.set_problems(desired_now.problems.len());
            self.instances
                .lock()
                .await
                .apply(&desired_now, &interfaces)
                .await;
        }
    }

    async fn status_loop(&self, client: kube::Client) -> Error {
        let writer = StatusWriter::new(client, self.settings.node_name.clone());
        let mut tick = tokio::time::interval(STATUS_REFRESH);
        loop {
            tokio::select! {
                () = self.changed.notified() => tokio::time::sleep(STATUS_DEBOUNCE).await,
                _ = tick.tick() => {}
            }
            let views = self.instances.lock().await.sessions();
            self.metrics.set_sessions(&views);
            let sessions: Vec<_> = views
                .iter()
                .map(|v| mapping::session_status(&v.instance, &v.status))
                .collect();
            if let Err(error) = writer.write(&sessions, SystemTime::now()).await {
                tracing::warn!(subsys = "bgp-control-plane", %error, "writing the BGP node config status");
                tokio::time::sleep(RETRY).await;
                self.changed.notify_one();
            }
        }
    }

    async fn mac_loop(&self, client: kube::Client, mut published: bool) -> Error {
        loop {
            tokio::time::sleep(if published { MAC_RECHECK } else { RETRY }).await;
            let result = node_mac::publish(
                client.clone(),
                &self.settings.node_name,
                &self.settings.devices,
            )
            .await;
            published = match result {
                Ok(mac) => mac.is_some(),
                Err(error) => {
                    tracing::warn!(subsys = "bgp-control-plane", %error, "publishing the node's host MAC address");
                    false
                }
            };
        }
    }

    /// Stops every session as SIGTERM should (see [`Instances::shutdown`]). Call after the
    /// run future was dropped.
    pub async fn shutdown(&self) {
        self.instances.lock().await.shutdown().await;
    }
}
