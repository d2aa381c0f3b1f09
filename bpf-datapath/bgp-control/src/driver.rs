//! The watch/reconcile driver: reflectors keep every input current, and after each change
//! (debounced) the desired state is recomputed and published on a `watch` channel when it
//! differs. Problems are logged when they appear and when they are resolved.

use crate::core::desired_bgp;
use crate::desired::DesiredBgp;
use crate::gateway::DefaultGateways;
use crate::inputs::{AuthSecret, Inputs};
use crate::problems::Problem;
use crate::views::{EndpointSliceView, ServiceView};
use ferrule_api::bgp::advertisement::v2::CiliumBGPAdvertisement;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use ferrule_api::pod_ip_pool::v2alpha1::CiliumPodIPPool;
use futures::{Stream, StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Lookup, Store, store::Writer};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Cilium's default `--bgp-secrets-namespace` (the Helm chart's `kube-system`).
pub const DEFAULT_SECRETS_NAMESPACE: &str = "kube-system";
/// How long to wait after a change for more before recomputing.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(100);

/// What the driver watches and how.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// The node the speaker runs on (its Node and CiliumBGPNodeConfig are watched by name).
    pub node_name: String,
    /// The only namespace whose Secrets are read (authSecretRef).
    pub secrets_namespace: String,
    pub debounce: Duration,
    /// Multi-pool IPAM: watch CiliumPodIPPools and this node's CiliumNode (whose
    /// `spec.ipam.pools.allocated` says which pool CIDRs the node holds).
    pub multi_pool_ipam: bool,
    /// Router ID for instances without one on a node without IPv4.
    pub router_id_fallback: Option<Ipv4Addr>,
}

impl DriverConfig {
    pub fn new(node_name: impl Into<String>) -> Self {
        Self {
            node_name: node_name.into(),
            secrets_namespace: DEFAULT_SECRETS_NAMESPACE.to_owned(),
            debounce: DEFAULT_DEBOUNCE,
            multi_pool_ipam: false,
            router_id_fallback: None,
        }
    }
}

/// Node-local inputs that do not come from the API.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalState {
    pub default_gateways: DefaultGateways,
    /// Interface name → addresses, for `Interface` advertisements.
    pub interface_addresses: BTreeMap<String, Vec<IpAddr>>,
}

/// The running driver; dropping it stops every watch.
#[derive(Debug)]
pub struct Driver {
    desired: watch::Receiver<DesiredBgp>,
    _tasks: JoinSet<()>,
}

impl Driver {
    /// Starts the watches, waits until each has listed its objects, and publishes the first
    /// desired state; from then on a new one whenever it changes. `local` carries the default
    /// gateways (see [`crate::gateway::linux::RouteReader::watch`]) and interface addresses.
    pub async fn start(
        client: Client,
        config: DriverConfig,
        local: watch::Receiver<LocalState>,
    ) -> Driver {
        let notify = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        let by_name =
            |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
        let node_configs = watch_into(
            &mut tasks,
            &notify,
            Api::<CiliumBGPNodeConfig>::all(client.clone()),
            by_name(&config.node_name),
            Writer::default(),
        );
        let nodes = watch_into(
            &mut tasks,
            &notify,
            Api::<Node>::all(client.clone()),
            by_name(&config.node_name),
            Writer::default(),
        );
        let peer_configs = watch_all::<CiliumBGPPeerConfig>(&mut tasks, &notify, &client);
        let advertisements = watch_all::<CiliumBGPAdvertisement>(&mut tasks, &notify, &client);
        let services = watch_views(&mut tasks, &notify, &client, |s: Service| {
            ServiceView::new(&s)
        });
        let node_name = config.node_name.clone();
        let slices = watch_views(&mut tasks, &notify, &client, move |s: EndpointSlice| {
            EndpointSliceView::new(&s, &node_name)
        });
        let secrets = watch_into(
            &mut tasks,
            &notify,
            Api::<Secret>::namespaced(client.clone(), &config.secrets_namespace),
            watcher::Config::default(),
            Writer::default(),
        );
        let pools = config.multi_pool_ipam.then(|| {
            let pools = watch_all::<CiliumPodIPPool>(&mut tasks, &notify, &client);
            let resource = cilium_node_resource();
            let cilium_nodes = watch_into(
                &mut tasks,
                &notify,
                Api::<DynamicObject>::all_with(client.clone(), &resource),
                by_name(&config.node_name),
                Writer::new(resource),
            );
            (pools, cilium_nodes)
        });

        let sources = Sources {
            config,
            node_configs,
            nodes,
            peer_configs,
            advertisements,
            services,
            slices,
            secrets,
            pools,
        };
        sources.wait_until_ready().await;
        let mut local = local;
        let first = desired_bgp(&sources.inputs(&local.borrow_and_update()));
        log_problems(&[], &first.problems);
        let (sender, receiver) = watch::channel(first);
        tasks.spawn(recompute_loop(sources, notify, local, sender));
        Driver {
            desired: receiver,
            _tasks: tasks,
        }
    }

    /// The latest desired state; `changed()` fires on every new one.
    pub fn desired(&self) -> watch::Receiver<DesiredBgp> {
        self.desired.clone()
    }
}

/// The stores the inputs are read from.
struct Sources {
    config: DriverConfig,
    node_configs: Store<CiliumBGPNodeConfig>,
    nodes: Store<Node>,
    peer_configs: Store<CiliumBGPPeerConfig>,
    advertisements: Store<CiliumBGPAdvertisement>,
    services: Store<ServiceView>,
    slices: Store<EndpointSliceView>,
    secrets: Store<Secret>,
    pools: Option<(Store<CiliumPodIPPool>, Store<DynamicObject>)>,
}

impl Sources {
    async fn wait_until_ready(&self) {
        // A store whose writer is gone never becomes ready; the watch tasks outlive this.
        let _ = self.node_configs.wait_until_ready().await;
        let _ = self.nodes.wait_until_ready().await;
        let _ = self.peer_configs.wait_until_ready().await;
        let _ = self.advertisements.wait_until_ready().await;
        let _ = self.services.wait_until_ready().await;
        let _ = self.slices.wait_until_ready().await;
        let _ = self.secrets.wait_until_ready().await;
        if let Some((pools, cilium_nodes)) = &self.pools {
            let _ = pools.wait_until_ready().await;
            let _ = cilium_nodes.wait_until_ready().await;
        }
    }

    fn inputs(&self, local: &LocalState) -> Inputs {
        let node_name = &self.config.node_name;
        let (pod_ip_pools, pool_allocations) = match &self.pools {
            Some((pools, cilium_nodes)) => (
                pools.state(),
                cilium_nodes
                    .state()
                    .iter()
                    .find(|n| n.metadata.name.as_deref() == Some(node_name))
                    .map(|n| pool_allocations(n))
                    .unwrap_or_default(),
            ),
            None => (Vec::new(), BTreeMap::new()),
        };
        Inputs {
            node_name: node_name.clone(),
            node: named(&self.nodes, node_name),
            node_config: named(&self.node_configs, node_name),
            peer_configs: self.peer_configs.state(),
            advertisements: self.advertisements.state(),
            services: self.services.state(),
            endpoint_slices: self.slices.state(),
            pod_ip_pools,
            pool_allocations,
            auth_secrets: self
                .secrets
                .state()
                .iter()
                .filter_map(|s| Some((s.metadata.name.clone()?, AuthSecret::from_secret(s))))
                .collect(),
            secrets_namespace: self.config.secrets_namespace.clone(),
            default_gateways: local.default_gateways,
            interface_addresses: local.interface_addresses.clone(),
            router_id_fallback: self.config.router_id_fallback,
        }
    }
}

/// The object called `name` in a store (watched by name, so it holds at most that one).
fn named<K>(store: &Store<K>, name: &str) -> Option<Arc<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store
        .state()
        .into_iter()
        .find(|o| o.meta().name.as_deref() == Some(name))
}

async fn recompute_loop(
    sources: Sources,
    notify: Arc<Notify>,
    mut local: watch::Receiver<LocalState>,
    sender: watch::Sender<DesiredBgp>,
) {
    let mut local_open = true;
    loop {
        tokio::select! {
            () = notify.notified() => {}
            changed = local.changed(), if local_open => {
                if changed.is_err() {
                    local_open = false; // the last value stays in effect
                    continue;
                }
            }
            () = sender.closed() => return,
        }
        tokio::time::sleep(sources.config.debounce).await;
        let mut desired = desired_bgp(&sources.inputs(&local.borrow_and_update()));
        desired.keep_unchanged_tables(&sender.borrow());
        sender.send_if_modified(|current| {
            if *current == desired {
                return false;
            }
            log_problems(&current.problems, &desired.problems);
            *current = desired;
            true
        });
    }
}

/// Logs problems that appeared (as errors, the way Cilium logs a missing auth secret) and
/// those that went away.
fn log_problems(before: &[Problem], after: &[Problem]) {
    let before: BTreeSet<&Problem> = before.iter().collect();
    let after: BTreeSet<&Problem> = after.iter().collect();
    for problem in after.difference(&before) {
        tracing::error!(subsys = "bgp-control-plane", %problem, "BGP configuration problem");
    }
    for problem in before.difference(&after) {
        tracing::info!(subsys = "bgp-control-plane", %problem, "BGP configuration problem resolved");
    }
}

fn watch_all<K>(tasks: &mut JoinSet<()>, notify: &Arc<Notify>, client: &Client) -> Store<K>
where
    K: Resource + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    watch_into(
        tasks,
        notify,
        Api::<K>::all(client.clone()),
        watcher::Config::default(),
        Writer::default(),
    )
}

/// Runs a reflector of `api` into a store, waking the recompute loop on every event.
fn watch_into<K>(
    tasks: &mut JoinSet<()>,
    notify: &Arc<Notify>,
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
) -> Store<K>
where
    K: Resource + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    let store = writer.as_reader();
    let events = reflector::reflector(writer, watcher::watcher(api, config).default_backoff());
    tasks.spawn(drain(
        events,
        Arc::clone(notify),
        std::any::type_name::<K>(),
    ));
    store
}

/// Runs a reflector of every `K` that stores `view(object)` instead of the object.
fn watch_views<K, V>(
    tasks: &mut JoinSet<()>,
    notify: &Arc<Notify>,
    client: &Client,
    view: impl Fn(K) -> V + Send + 'static,
) -> Store<V>
where
    K: Resource + Clone + Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Default,
    V: Lookup<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let writer = Writer::<V>::new(());
    let store = writer.as_reader();
    let objects = watcher::watcher(Api::<K>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .map_ok(move |event| match event {
            watcher::Event::Apply(o) => watcher::Event::Apply(view(o)),
            watcher::Event::Delete(o) => watcher::Event::Delete(view(o)),
            watcher::Event::InitApply(o) => watcher::Event::InitApply(view(o)),
            watcher::Event::Init => watcher::Event::Init,
            watcher::Event::InitDone => watcher::Event::InitDone,
        });
    let events = reflector::reflector(writer, objects);
    tasks.spawn(drain(
        events,
        Arc::clone(notify),
        std::any::type_name::<K>(),
    ));
    store
}

async fn drain<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
    notify: Arc<Notify>,
    kind: &'static str,
) {
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(_) => notify.notify_one(),
            Err(error) => tracing::warn!(%error, kind, "watch failed; retrying"),
        }
    }
}

/// `cilium.io/v2` CiliumNode, read untyped: only `spec.ipam.pools.allocated` matters here.
fn cilium_node_resource() -> ApiResource {
    ApiResource {
        group: "cilium.io".into(),
        version: "v2".into(),
        api_version: "cilium.io/v2".into(),
        kind: "CiliumNode".into(),
        plural: "ciliumnodes".into(),
    }
}

/// Pool name → CIDRs, from a CiliumNode's `spec.ipam.pools.allocated`.
fn pool_allocations(node: &DynamicObject) -> BTreeMap<String, Vec<String>> {
    let allocated = node.data["spec"]["ipam"]["pools"]["allocated"].as_array();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in allocated.into_iter().flatten() {
        let Some(pool) = entry["pool"].as_str() else {
            continue;
        };
        let cidrs = entry["cidrs"].as_array().into_iter().flatten();
        out.entry(pool.to_owned())
            .or_default()
            .extend(cidrs.filter_map(|c| c.as_str().map(str::to_owned)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_allocations_are_read_from_the_cilium_node() -> Result<(), serde_json::Error> {
        let node: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "cilium.io/v2", "kind": "CiliumNode", "metadata": {"name": "node-1"},
            "spec": {"ipam": {"pools": {"allocated": [
                {"pool": "blue", "cidrs": ["10.10.1.0/27", "10.10.2.0/27"]},
                {"pool": "green", "cidrs": ["fd00::/96"]},
                {"cidrs": ["10.99.0.0/24"]},
            ]}}},
        }))?;
        let allocations = pool_allocations(&node);
        assert_eq!(allocations.len(), 2);
        assert_eq!(allocations["blue"], ["10.10.1.0/27", "10.10.2.0/27"]);
        assert_eq!(allocations["green"], ["fd00::/96"]);
        Ok(())
    }
}
