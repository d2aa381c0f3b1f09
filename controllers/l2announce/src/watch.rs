//! The watches that keep the index current: policies, Services, EndpointSlices and Nodes in
//! the whole cluster, the liveness Leases in the announcer's namespace, and the
//! NodeL2Announcements (this node's, to write it only when what is stored differs; the
//! others', so that the status-writing node can empty those of nodes that are no longer live).

use crate::error::Error;
use crate::index::{Collection, SharedIndex};
use crate::liveness::{LeaseRecord, node_of};
use crate::observed::{self, ObservedService, ObservedSlice};
use ferrule_api::l2announcement::v2alpha1::CiliumL2AnnouncementPolicy;
use ferrule_api::node_l2announcements::v1alpha1::NodeL2Announcement;
use futures::{Stream, StreamExt as _};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use std::hash::Hash;
use std::time::Duration;

/// Runs every watch until one ends (only shutdown ends them: they retry with backoff).
pub async fn all(
    client: Client,
    index: SharedIndex,
    namespace: &str,
    default_lease_duration: Duration,
) -> Error {
    tokio::select! {
        e = collection(
            Api::<CiliumL2AnnouncementPolicy>::all(client.clone()),
            watcher::Config::default(),
            index.clone(),
            "ciliuml2announcementpolicies",
            |p| observed::policy_input(p).map(|i| (i.name.clone(), i)),
            |i| &mut i.policies,
        ) => e,
        e = collection(
            Api::<Service>::all(client.clone()),
            watcher::Config::default(),
            index.clone(),
            "services",
            |s| ObservedService::from_service(s).map(|o| (o.input.key.clone(), o)),
            |i| &mut i.services,
        ) => e,
        e = collection(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default(),
            index.clone(),
            "endpointslices",
            |s| Some((observed::slice_key(s)?, ObservedSlice::from_slice(s)?)),
            |i| &mut i.slices,
        ) => e,
        e = collection(
            Api::<Node>::all(client.clone()),
            watcher::Config::default(),
            index.clone(),
            "nodes",
            |n| observed::node_input(n).map(|i| (i.name.clone(), i)),
            |i| &mut i.nodes,
        ) => e,
        e = collection(
            Api::<NodeL2Announcement>::all(client.clone()),
            watcher::Config::default(),
            index.clone(),
            "nodel2announcements",
            |a| Some((a.metadata.name.clone()?, a.spec.clone())),
            |i| &mut i.announcements,
        ) => e,
        e = leases(client, index, namespace, default_lease_duration) => e,
    }
}

/// Feeds one kind into its collection; `reduce` gives the key and value (or `None` to skip).
async fn collection<K, Key, V>(
    api: Api<K>,
    config: watcher::Config,
    index: SharedIndex,
    resource: &'static str,
    reduce: impl Fn(&K) -> Option<(Key, V)>,
    pick: impl Fn(&mut crate::index::Index) -> &mut Collection<Key, V>,
) -> Error
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    Key: Eq + Hash + Clone,
    V: PartialEq + Clone,
{
    let events = watcher::watcher(api, config).default_backoff();
    feed(events, resource, |event| match event {
        Event::Init => index.update(|i| {
            pick(i).init();
            false
        }),
        Event::InitApply(object) => {
            if let Some((key, value)) = reduce(&object) {
                index.update(|i| {
                    pick(i).init_apply(key, value);
                    false
                });
            }
        }
        Event::InitDone => index.update(|i| pick(i).init_done()),
        Event::Apply(object) => {
            if let Some((key, value)) = reduce(&object) {
                index.update(|i| pick(i).apply(key, value));
            }
        }
        Event::Delete(object) => {
            if let Some((key, _)) = reduce(&object) {
                index.update(|i| pick(i).delete(&key));
            }
        }
    })
    .await
}

/// Liveness Leases in `namespace`, by node; the clock each is judged on starts here.
async fn leases(
    client: Client,
    index: SharedIndex,
    namespace: &str,
    default_duration: Duration,
) -> Error {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let events = watcher::watcher(api, watcher::Config::default()).default_backoff();
    let node_and_spec = |lease: &Lease| {
        let node = node_of(lease.metadata.name.as_deref()?)?.to_owned();
        Some((node, LeaseRecord::of(lease)))
    };
    feed(events, "leases", |event| match event {
        Event::Init => index.update(|i| {
            i.leases.init();
            false
        }),
        Event::InitApply(lease) => {
            if let Some((node, spec)) = node_and_spec(&lease) {
                index.update(|i| {
                    i.init_lease(&node, spec, now());
                    false
                });
            }
        }
        Event::InitDone => index.update(|i| i.leases.init_done()),
        Event::Apply(lease) => {
            if let Some((node, spec)) = node_and_spec(&lease) {
                index.update(|i| i.observe_lease(&node, spec, now(), default_duration));
            }
        }
        Event::Delete(lease) => {
            if let Some((node, _)) = node_and_spec(&lease) {
                index.update(|i| i.leases.delete(&node));
            }
        }
    })
    .await
}

/// The monotonic clock liveness is judged on: Tokio's, so that tests with a paused clock see
/// the time the loop's sleeps use.
pub fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// Drains a watch stream into `handle`; errors are logged (the backoff retries them).
async fn feed<K>(
    events: impl Stream<Item = Result<Event<K>, watcher::Error>>,
    resource: &'static str,
    mut handle: impl FnMut(Event<K>),
) -> Error {
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => handle(event),
            Err(error) => tracing::warn!(%error, resource, "watch failed; retrying with backoff"),
        }
    }
    Error::WatchEnded { resource }
}
