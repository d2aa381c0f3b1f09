//! The watches that keep the index current. Followers run them too, so a new leader starts
//! warm.

use crate::error::Error;
use crate::index::{Collection, Index, SharedIndex};
use crate::observed;
use ferrule_api::bgp::cluster_config::v2::CiliumBGPClusterConfig;
use ferrule_api::bgp::node_config::v2::CiliumBGPNodeConfig;
use ferrule_api::bgp::node_config_override::v2::CiliumBGPNodeConfigOverride;
use ferrule_api::bgp::peer_config::v2::CiliumBGPPeerConfig;
use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt as _};

/// Runs every watch until one ends (only shutdown ends them); returns why.
pub async fn all(client: Client, index: SharedIndex, secrets_namespace: String) -> Error {
    let config = watcher::Config::default;
    let nodes = feed(
        watcher::watcher(Api::<Node>::all(client.clone()), config()),
        "nodes",
        index.clone(),
        |i| &mut i.nodes,
        observed::node,
    );
    let cluster_configs = feed(
        watcher::watcher(Api::<CiliumBGPClusterConfig>::all(client.clone()), config()),
        "ciliumbgpclusterconfigs",
        index.clone(),
        |i| &mut i.cluster_configs,
        observed::cluster_config,
    );
    let overrides = feed(
        watcher::watcher(
            Api::<CiliumBGPNodeConfigOverride>::all(client.clone()),
            config(),
        ),
        "ciliumbgpnodeconfigoverrides",
        index.clone(),
        |i| &mut i.overrides,
        observed::node_config_override,
    );
    let peer_configs = feed(
        watcher::watcher(Api::<CiliumBGPPeerConfig>::all(client.clone()), config()),
        "ciliumbgppeerconfigs",
        index.clone(),
        |i| &mut i.peer_configs,
        observed::peer_config,
    );
    let node_configs = feed(
        watcher::watcher(Api::<CiliumBGPNodeConfig>::all(client.clone()), config()),
        "ciliumbgpnodeconfigs",
        index.clone(),
        |i| &mut i.node_configs,
        observed::node_config,
    );
    // Metadata only: whether a Secret exists is all that matters here.
    let secrets = feed(
        watcher::watcher(
            Api::<PartialObjectMeta<Secret>>::namespaced(client, &secrets_namespace),
            config(),
        ),
        "secrets",
        index,
        |i| &mut i.secrets,
        |_| Some(()),
    );
    tokio::select! {
        error = nodes => error,
        error = cluster_configs => error,
        error = overrides => error,
        error = peer_configs => error,
        error = node_configs => error,
        error = secrets => error,
    }
}

/// Drains a watch stream into one collection of the index; errors are logged (the backoff
/// retries them).
async fn feed<K, V>(
    events: impl Stream<Item = Result<Event<K>, watcher::Error>> + Send,
    resource: &'static str,
    index: SharedIndex,
    collection: fn(&mut Index) -> &mut Collection<V>,
    reduce: fn(&K) -> Option<V>,
) -> Error
where
    K: Resource + Clone + std::fmt::Debug + Send + 'static,
    V: PartialEq + Clone,
{
    let events = events.default_backoff();
    let mut events = std::pin::pin!(events);
    let entry = |object: &K| {
        let value = reduce(object)?;
        Some((
            object.name_any(),
            object.resource_version().unwrap_or_default(),
            value,
        ))
    };
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => index.update(|i| {
                collection(i).init();
                false
            }),
            Ok(Event::InitApply(object)) => {
                if let Some((name, version, value)) = entry(&object) {
                    index.update(|i| {
                        collection(i).init_apply(name, version, value);
                        false
                    });
                }
            }
            Ok(Event::InitDone) => index.update(|i| collection(i).init_done()),
            Ok(Event::Apply(object)) => {
                if let Some((name, version, value)) = entry(&object) {
                    index.update(|i| collection(i).apply(name, version, value));
                }
            }
            Ok(Event::Delete(object)) => {
                let name = object.name_any();
                index.update(|i| collection(i).delete(&name));
            }
            Err(error) => tracing::warn!(%error, resource, "watch failed; retrying with backoff"),
        }
    }
    Error::WatchEnded { resource }
}
