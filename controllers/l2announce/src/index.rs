//! The in-memory picture of the cluster the announcer decides on: watch events go in
//! synchronously, the core's inputs come out. A relist (after a 410) is buffered and swapped
//! in at its end, and the index reports itself unsynced meanwhile, so no pass decides on a
//! half-read cluster (a half-read Lease list would look like dead nodes).

use crate::core::model::{NodeInput, PolicyInput, ServiceInput, ServiceKey};
use crate::liveness::{LeaseRecord, ObservedLease, live_nodes};
use crate::observed::{ObservedService, ObservedSlice};
use ferrule_api::node_l2announcements::v1alpha1::NodeL2AnnouncementSpec;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// One watched collection: the current objects and a relist in progress.
#[derive(Debug)]
pub struct Collection<K, V> {
    objects: HashMap<K, V>,
    relist: Option<HashMap<K, V>>,
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
    /// An added or modified object; returns whether its content changed.
    pub fn apply(&mut self, key: K, value: V) -> bool {
        if let Some(buffer) = &mut self.relist {
            buffer.insert(key.clone(), value.clone());
        }
        self.objects.insert(key, value.clone()).as_ref() != Some(&value)
    }

    /// A deleted object; returns whether it was known.
    pub fn delete(&mut self, key: &K) -> bool {
        if let Some(buffer) = &mut self.relist {
            buffer.remove(key);
        }
        self.objects.remove(key).is_some()
    }

    pub fn init(&mut self) {
        self.relist = Some(HashMap::new());
    }

    pub fn init_apply(&mut self, key: K, value: V) {
        self.relist
            .get_or_insert_with(HashMap::new)
            .insert(key, value);
    }

    /// The list is complete and replaces the objects; always a change worth a pass.
    pub fn init_done(&mut self) -> bool {
        let Some(listed) = self.relist.take() else {
            return false;
        };
        self.objects = listed;
        self.listed = true;
        true
    }

    pub fn is_synced(&self) -> bool {
        self.listed && self.relist.is_none()
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.objects.get(key)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.objects.get_mut(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.objects.iter()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.objects.values()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Everything the announcer watches.
#[derive(Debug, Default)]
pub struct Index {
    pub policies: Collection<String, PolicyInput>,
    pub services: Collection<ServiceKey, ObservedService>,
    pub slices: Collection<(String, String), ObservedSlice>,
    pub nodes: Collection<String, NodeInput>,
    /// Liveness Leases by node.
    pub leases: Collection<String, LeaseEntry>,
    /// Every node's NodeL2Announcement as stored, by object name.
    pub announcements: Collection<String, NodeL2AnnouncementSpec>,
}

/// A liveness Lease in the index (equality on the record, so a renewal is a "change" only to
/// the clock, which the watch handles).
#[derive(Debug, Clone)]
pub struct LeaseEntry(pub ObservedLease);

impl PartialEq for LeaseEntry {
    fn eq(&self, other: &Self) -> bool {
        self.0.record == other.0.record
    }
}

/// The core's inputs, in a stable order.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub policies: Vec<PolicyInput>,
    pub services: Vec<ServiceInput>,
    pub nodes: Vec<NodeInput>,
    pub live: BTreeSet<String>,
    /// When the live set must be looked at again (the first live Lease to expire).
    pub next_expiry: Option<Instant>,
    /// This node's NodeL2Announcement as stored (`None`: absent).
    pub own: Option<NodeL2AnnouncementSpec>,
    /// Nodes whose stored NodeL2Announcement lists something.
    pub announcing: BTreeSet<String>,
}

impl Index {
    pub fn is_synced(&self) -> bool {
        self.policies.is_synced()
            && self.services.is_synced()
            && self.slices.is_synced()
            && self.nodes.is_synced()
            && self.leases.is_synced()
            && self.announcements.is_synced()
    }

    /// Takes in a Lease event at `at`; returns whether the node's liveness changed (a
    /// renewal of a live node only moves its clock, and must not cost a pass).
    pub fn observe_lease(
        &mut self,
        node: &str,
        record: LeaseRecord,
        at: Instant,
        default_duration: Duration,
    ) -> bool {
        let was_live = self
            .leases
            .get(&node.to_owned())
            .is_some_and(|l| l.0.is_live(at, default_duration));
        let mut entry = self
            .leases
            .get(&node.to_owned())
            .cloned()
            .unwrap_or_else(|| LeaseEntry(ObservedLease::default()));
        entry.0.observe(record, at);
        let is_live = entry.0.is_live(at, default_duration);
        self.leases.apply(node.to_owned(), entry);
        was_live != is_live
    }

    /// Like [`Index::observe_lease`] for a Lease of a (re)list in progress, keeping the clock
    /// of a Lease already known so a relist does not make a silent node look fresh.
    pub fn init_lease(&mut self, node: &str, record: LeaseRecord, at: Instant) {
        let mut entry = self
            .leases
            .get(&node.to_owned())
            .cloned()
            .unwrap_or_else(|| LeaseEntry(ObservedLease::default()));
        entry.0.observe(record, at);
        self.leases.init_apply(node.to_owned(), entry);
    }

    /// The core's inputs at `now`, for `node`.
    pub fn snapshot(&self, node: &str, now: Instant, default_duration: Duration) -> Snapshot {
        let mut ready: BTreeMap<&ServiceKey, BTreeSet<String>> = BTreeMap::new();
        for slice in self.slices.values() {
            ready
                .entry(&slice.service)
                .or_default()
                .extend(slice.ready_nodes.iter().cloned());
        }
        let mut services: Vec<ServiceInput> = self
            .services
            .values()
            .map(|s| {
                let mut input = s.input.clone();
                if let Some(nodes) = ready.get(&input.key) {
                    input.ready_local_nodes = nodes.clone();
                }
                input
            })
            .collect();
        services.sort_by(|a, b| a.key.cmp(&b.key));
        let mut policies: Vec<PolicyInput> = self.policies.values().cloned().collect();
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        let mut nodes: Vec<NodeInput> = self.nodes.values().cloned().collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let (live, next_expiry) = live_nodes(
            self.leases.iter().map(|(node, l)| (node.as_str(), &l.0)),
            now,
            default_duration,
        );
        Snapshot {
            policies,
            services,
            nodes,
            live,
            next_expiry,
            own: self.announcements.get(&node.to_owned()).cloned(),
            announcing: self
                .announcements
                .iter()
                .filter(|(_, spec)| !spec.announcements.is_empty())
                .map(|(name, _)| name.clone())
                .collect(),
        }
    }
}

/// The index shared by the watch tasks and the reconcile loop, with a wake-up for the loop.
#[derive(Debug, Clone, Default)]
pub struct SharedIndex {
    inner: Arc<Mutex<Index>>,
    changed: Arc<Notify>,
}

impl SharedIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on the index; wakes the reconcile loop when it returns `true`.
    pub fn update(&self, f: impl FnOnce(&mut Index) -> bool) {
        if f(&mut self.lock()) {
            self.changed.notify_one();
        }
    }

    pub fn read<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        f(&self.lock())
    }

    /// Completes after a change since the last wake-up (one stored permit).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::ObservedSlice;
    use k8s_openapi::api::coordination::v1::LeaseSpec;

    fn held(holder: &str, version: i32) -> LeaseRecord {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(2),
            lease_transitions: Some(version),
            ..LeaseSpec::default()
        }
        .into()
    }

    #[test]
    fn renewals_of_a_live_node_are_not_liveness_changes() {
        let mut index = Index::default();
        let base = Instant::now();
        let d = Duration::from_secs(15);
        assert!(
            index.observe_lease("n1", held("n1", 0), base, d),
            "new and live"
        );
        assert!(!index.observe_lease("n1", held("n1", 1), base + Duration::from_secs(1), d));
        // Silent past its duration, then renewed again: live again is a change.
        assert!(index.observe_lease("n1", held("n1", 2), base + Duration::from_secs(4), d));
        let mut released = held("n1", 3);
        released.spec.holder_identity = None;
        assert!(index.observe_lease("n1", released, base + Duration::from_secs(5), d));
    }

    #[test]
    fn a_relist_keeps_the_clock_of_known_leases() {
        let mut index = Index::default();
        let base = Instant::now();
        let d = Duration::from_secs(15);
        index.leases.init();
        index.init_lease("n1", held("n1", 0), base);
        index.leases.init_done();
        index.leases.init();
        index.init_lease("n1", held("n1", 0), base + Duration::from_secs(3));
        index.leases.init_done();
        let snapshot = index.snapshot("n1", base + Duration::from_millis(2_100), d);
        assert!(snapshot.live.is_empty(), "unchanged for 2.1s of a 2s lease");
    }

    #[test]
    fn ready_nodes_are_the_union_of_a_services_slices() {
        let mut index = Index::default();
        let key = ServiceKey::new("shop", "web");
        let svc = ObservedService {
            input: ServiceInput {
                key: key.clone(),
                ..ServiceInput::default()
            },
            uid: "u".into(),
        };
        index.services.apply(key.clone(), svc);
        for (name, node) in [("a", "n1"), ("b", "n2")] {
            index.slices.apply(
                ("shop".into(), name.into()),
                ObservedSlice {
                    service: key.clone(),
                    ready_nodes: [node.to_owned()].into(),
                },
            );
        }
        let snapshot = index.snapshot("n1", Instant::now(), Duration::from_secs(1));
        assert_eq!(
            snapshot.services[0]
                .ready_local_nodes
                .iter()
                .collect::<Vec<_>>(),
            ["n1", "n2"]
        );
    }
}
