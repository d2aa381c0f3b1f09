//! The two watches that keep the index current: Services in every namespace and
//! CiliumLoadBalancerIPPools. Followers run them too, so a new leader starts warm.

use crate::error::Error;
use crate::index::SharedIndex;
use crate::observed::{ObservedPool, ObservedService};
use ferrule_api::lbipam::v2::CiliumLoadBalancerIPPool;
use futures::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::Service;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};

/// Feeds Service events into the index until the watch ends (it retries with backoff, so only
/// shutdown ends it). `condition_type` is the Service condition LB-IPAM owns.
pub async fn services(client: Client, index: SharedIndex, condition_type: &'static str) -> Error {
    let api: Api<Service> = Api::all(client);
    let events = watcher::watcher(api, watcher::Config::default()).default_backoff();
    feed(events, "services", |event| match event {
        Event::Init => index.update(|i| {
            i.services.init();
            false
        }),
        Event::InitApply(svc) => {
            if let Some(observed) = ObservedService::from_service(&svc, condition_type) {
                let version = svc.metadata.resource_version.unwrap_or_default();
                index.update(|i| {
                    i.services
                        .init_apply(observed.input.key.clone(), version, observed);
                    false
                });
            }
        }
        Event::InitDone => index.update(|i| i.services.init_done()),
        Event::Apply(svc) => {
            if let Some(observed) = ObservedService::from_service(&svc, condition_type) {
                let version = svc.metadata.resource_version.unwrap_or_default();
                index.update(|i| {
                    i.services
                        .apply(observed.input.key.clone(), version, observed)
                });
            }
        }
        Event::Delete(svc) => {
            if let Some(observed) = ObservedService::from_service(&svc, condition_type) {
                index.update(|i| i.services.delete(&observed.input.key));
            }
        }
    })
    .await
}

/// Feeds pool events into the index until the watch ends.
pub async fn pools(client: Client, index: SharedIndex) -> Error {
    let api: Api<CiliumLoadBalancerIPPool> = Api::all(client);
    let events = watcher::watcher(api, watcher::Config::default()).default_backoff();
    feed(events, "ciliumloadbalancerippools", |event| match event {
        Event::Init => index.update(|i| {
            i.pools.init();
            false
        }),
        Event::InitApply(pool) => {
            if let Some(observed) = ObservedPool::from_pool(&pool) {
                let version = pool.metadata.resource_version.unwrap_or_default();
                index.update(|i| {
                    i.pools
                        .init_apply(observed.input.name.clone(), version, observed);
                    false
                });
            }
        }
        Event::InitDone => index.update(|i| i.pools.init_done()),
        Event::Apply(pool) => {
            if let Some(observed) = ObservedPool::from_pool(&pool) {
                let version = pool.metadata.resource_version.unwrap_or_default();
                index.update(|i| {
                    i.pools
                        .apply(observed.input.name.clone(), version, observed)
                });
            }
        }
        Event::Delete(pool) => {
            if let Some(name) = pool.metadata.name {
                index.update(|i| i.pools.delete(&name));
            }
        }
    })
    .await
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
