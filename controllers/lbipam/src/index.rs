//! The in-memory index of Services and pools: watch events (and the objects our own writes
//! return) go in synchronously, the core's [`Input`] comes out.
//!
//! Two rules keep allocations safe:
//! - An object is never replaced by an older version of itself (resourceVersions compared as
//!   the integers every real API server uses), so the object a status write returned is not
//!   overwritten by a watch event that was already in flight. The next pass therefore sees
//!   every IP the previous pass handed out, even before the watch echoes it.
//! - A relist (after a 410) is buffered and swapped in at its end, like kube's reflector store,
//!   and the index reports itself unsynced meanwhile, so no pass plans on a half-read cluster.

use crate::core::model::{Config, Input, ServiceInput, ServiceKey};
use crate::observed::{ObservedPool, ObservedService};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// An object's reduced content and the resourceVersion it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<V> {
    pub resource_version: String,
    pub value: V,
}

/// Whether `incoming` may replace `stored`: not when both are integers and `incoming` is
/// older. resourceVersions are opaque by contract, so anything else is accepted.
fn not_older(incoming: &str, stored: &str) -> bool {
    match (incoming.parse::<u64>(), stored.parse::<u64>()) {
        (Ok(incoming), Ok(stored)) => incoming >= stored,
        _ => true,
    }
}

/// Objects by key. Boxed: a hash table reserves room for more entries than it holds (and
/// twice that while it grows), so inline 500-byte entries would cost several MiB at 10,000
/// services.
type Objects<K, V> = HashMap<K, Box<Stored<V>>>;

/// One watched collection: the current objects, and a relist in progress.
#[derive(Debug)]
pub struct Collection<K, V> {
    objects: Objects<K, V>,
    relist: Option<Objects<K, V>>,
    /// A complete list has been seen at least once.
    listed: bool,
}

impl<K, V> Default for Collection<K, V> {
    fn default() -> Self {
        Self {
            objects: HashMap::new(),
            relist: None,
            listed: false,
        }
    }
}

impl<K: Eq + Hash + Clone, V: PartialEq + Clone> Collection<K, V> {
    /// An added or modified object (a watch event or a write's response); returns whether the
    /// content changed — a new resourceVersion alone (the echo of our own write) is no change.
    pub fn apply(&mut self, key: K, resource_version: String, value: V) -> bool {
        let stored = Box::new(Stored {
            resource_version,
            value,
        });
        if let Some(buffer) = &mut self.relist {
            // A write that lands while relisting must survive the swap.
            insert_newer(buffer, key.clone(), stored.clone());
        }
        insert_newer(&mut self.objects, key, stored)
    }

    /// A deleted object; returns whether it was known.
    pub fn delete(&mut self, key: &K) -> bool {
        if let Some(buffer) = &mut self.relist {
            buffer.remove(key);
        }
        self.objects.remove(key).is_some()
    }

    /// A (re)list starts.
    pub fn init(&mut self) {
        self.relist = Some(HashMap::new());
    }

    /// An object of the list in progress.
    pub fn init_apply(&mut self, key: K, resource_version: String, value: V) {
        let buffer = self.relist.get_or_insert_with(HashMap::new);
        insert_newer(
            buffer,
            key,
            Box::new(Stored {
                resource_version,
                value,
            }),
        );
    }

    /// The list is complete and replaces the objects, except where the index holds a newer
    /// version of an object (one of our writes raced the list). Returns whether the loop
    /// should look: always after a completed list, because passes wait while a list is in
    /// progress and one may have been skipped.
    pub fn init_done(&mut self) -> bool {
        let Some(mut listed) = self.relist.take() else {
            return false;
        };
        self.listed = true;
        for (key, old) in self.objects.drain() {
            if let Some(new) = listed.get_mut(&key)
                && !not_older(&new.resource_version, &old.resource_version)
            {
                *new = old;
            }
        }
        self.objects = listed;
        true
    }

    /// A complete list has been seen and no relist is in progress.
    pub fn is_synced(&self) -> bool {
        self.listed && self.relist.is_none()
    }

    pub fn get(&self, key: &K) -> Option<&Stored<V>> {
        self.objects.get(key).map(|s| &**s)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut Stored<V>> {
        self.objects.get_mut(key).map(|s| &mut **s)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.objects.values().map(|s| &s.value)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Inserts unless the map holds a newer version; returns whether the content changed.
fn insert_newer<K: Eq + Hash, V: PartialEq>(
    map: &mut Objects<K, V>,
    key: K,
    incoming: Box<Stored<V>>,
) -> bool {
    match map.get_mut(&key) {
        Some(stored) if !not_older(&incoming.resource_version, &stored.resource_version) => false,
        Some(stored) => {
            let changed = stored.value != incoming.value;
            *stored = incoming;
            changed
        }
        None => {
            map.insert(key, incoming);
            true
        }
    }
}

/// Services and pools, as last observed.
#[derive(Debug, Default)]
pub struct Index {
    pub services: Collection<ServiceKey, ObservedService>,
    pub pools: Collection<String, ObservedPool>,
}

impl Index {
    /// Both collections are fully listed: every existing allocation is known.
    pub fn is_synced(&self) -> bool {
        self.services.is_synced() && self.pools.is_synced()
    }

    /// The core's input, every service and pool in a stable order. The services' inputs are
    /// moved out, not copied (with 10,000 services a copy per pass would double the index's
    /// memory); [`Index::give_back`] returns them. Meanwhile watch events may replace entries
    /// as usual.
    pub fn lend_input(&mut self, config: Config) -> Input {
        let mut services: Vec<ServiceInput> = self
            .services
            .objects
            .values_mut()
            .map(|stored| {
                stored.value.lent = true;
                std::mem::replace(&mut stored.value.input, ObservedService::lent_placeholder())
            })
            .collect();
        services.sort_by(|a, b| a.key.cmp(&b.key));
        let mut pools: Vec<_> = self.pools.values().map(|p| p.input.clone()).collect();
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        Input {
            config,
            pools,
            services,
        }
    }

    /// Puts lent inputs back where no newer version arrived meanwhile.
    pub fn give_back(&mut self, input: Input) {
        for service in input.services {
            if let Some(stored) = self.services.get_mut(&service.key)
                && stored.value.lent
            {
                stored.value.input = service;
                stored.value.lent = false;
            }
        }
    }
}

/// The index shared by the watch tasks, the writer and the reconcile loop, with a wake-up for
/// the loop.
#[derive(Debug, Clone, Default)]
pub struct SharedIndex {
    inner: Arc<Mutex<Index>>,
    changed: Arc<Notify>,
}

impl SharedIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the index; wakes the reconcile loop when it returns `true` (changed).
    pub fn update(&self, f: impl FnOnce(&mut Index) -> bool) {
        let changed = f(&mut self.lock());
        if changed {
            self.changed.notify_one();
        }
    }

    /// Runs `f` on the index without waking the reconcile loop (the loop's own bookkeeping).
    pub fn update_quietly<T>(&self, f: impl FnOnce(&mut Index) -> T) -> T {
        f(&mut self.lock())
    }

    /// Reads the index.
    pub fn read<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        f(&self.lock())
    }

    /// Completes after a change since the last wake-up (one stored permit, so a change made
    /// while nobody waited is not lost).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // Every update is a few map operations; a panic in one leaves a usable index.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection() -> Collection<&'static str, u32> {
        let mut c = Collection::default();
        c.init();
        c.init_apply("a", "5".into(), 1);
        assert!(!c.is_synced(), "not synced before the list is complete");
        assert!(c.init_done(), "the first list is a change");
        c
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let mut c = collection();
        assert!(c.apply("a", "9".into(), 2), "our write's response");
        assert!(
            !c.apply("a", "7".into(), 3),
            "an in-flight event from before the write"
        );
        assert_eq!(c.get(&"a").map(|s| s.value), Some(2));
        assert!(
            !c.apply("a", "9".into(), 2),
            "the echo of our write is no change"
        );
        assert!(c.apply("a", "10".into(), 4));
    }

    #[test]
    fn a_relist_replaces_everything_but_keeps_newer_writes() {
        let mut c = collection();
        c.apply("b", "6".into(), 1);
        c.init();
        assert!(!c.is_synced(), "a relist in progress is not synced");
        c.init_apply("a", "8".into(), 1);
        // Our write lands while the (older) list pages arrive.
        c.apply("a", "12".into(), 7);
        c.init_apply("a", "8".into(), 1);
        assert!(c.init_done());
        assert!(c.is_synced());
        assert_eq!(
            c.get(&"a").map(|s| s.value),
            Some(7),
            "the newer write wins"
        );
        assert!(c.get(&"b").is_none(), "absent from the list means deleted");
    }

    #[test]
    fn a_completed_relist_always_wakes_the_loop() {
        let mut c = collection();
        c.init();
        c.init_apply("a", "5".into(), 1);
        assert!(c.init_done(), "a pass may have been skipped while listing");
        assert!(!c.init_done(), "no list in progress: nothing completed");
    }

    fn service(name: &str, ip: &str) -> ObservedService {
        let svc: k8s_openapi::api::core::v1::Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}
        }))
        .expect("a valid Service");
        ObservedService::from_service(&svc, "cilium.io/IPAMRequestSatisfied").expect("named")
    }

    fn synced_index(services: &[ObservedService]) -> Index {
        let mut index = Index::default();
        index.services.init();
        for s in services {
            index
                .services
                .init_apply(s.input.key.clone(), "1".into(), s.clone());
        }
        index.services.init_done();
        index.pools.init();
        index.pools.init_done();
        index
    }

    fn config() -> Config {
        Config {
            ipv4: true,
            ipv6: true,
            require_lb_class: false,
        }
    }

    #[test]
    fn lent_inputs_come_back_unless_a_newer_version_arrived() {
        let (a, b) = (service("a", "192.0.2.1"), service("b", "192.0.2.2"));
        let mut index = synced_index(&[b.clone(), a.clone()]);
        let input = index.lend_input(config());
        let names: Vec<_> = input.services.iter().map(|s| s.key.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "sorted, and moved out");
        // b changes while the plan runs.
        let newer_b = service("b", "192.0.2.9");
        index
            .services
            .apply(newer_b.input.key.clone(), "2".into(), newer_b.clone());
        index.give_back(input);
        let get = |name: &str| {
            let key = ServiceKey {
                namespace: "default".into(),
                name: name.into(),
            };
            index.services.get(&key).map(|s| s.value.clone())
        };
        assert_eq!(get("a"), Some(a), "returned as it was lent");
        assert_eq!(get("b"), Some(newer_b), "the newer version is kept");
    }

    #[test]
    fn opaque_versions_are_always_accepted() {
        assert!(not_older("abc", "10"));
        assert!(not_older("10", "10"));
        assert!(!not_older("9", "10"));
    }
}
