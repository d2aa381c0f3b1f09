//! The object store: every collection under one lock, a global resourceVersion counter, a
//! bounded change history per collection for watch resumption, and consistent list snapshots
//! for `limit`/`continue` paging.
//!
//! One lock keeps every write linearizable, which is what the real API server (backed by etcd)
//! guarantees; the closures run under it are pure and short.

use crate::registry::GroupResource;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Namespace (empty for cluster-scoped) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One committed change, as watchers see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub kind: ChangeKind,
    pub object: Arc<Value>,
    /// The object before a modification: a filtered watch needs it to tell an object entering
    /// or leaving its selection (ADDED / DELETED) from one changing inside it (MODIFIED).
    pub previous: Option<Arc<Value>>,
}

/// What a write decides to do with the current object.
#[derive(Debug)]
pub enum Write {
    /// Nothing changed: no new resourceVersion, no event.
    Unchanged,
    /// Store this object (created or modified).
    Put(Value),
    /// Remove the object.
    Delete,
}

/// The result of a committed write.
#[derive(Debug, Clone)]
pub enum Committed {
    Unchanged(Arc<Value>),
    Stored(Arc<Value>),
    Deleted(Arc<Value>),
    /// `Write::Unchanged` or `Write::Delete` on an absent object.
    Absent,
}

/// A watch subscription: the events before it started (replayed), then live ones.
#[derive(Debug)]
pub struct Subscription {
    pub replay: Vec<Change>,
    pub live: mpsc::UnboundedReceiver<Change>,
    /// The store's resourceVersion when the subscription started (read under the same lock,
    /// so bookmarks never name a version older than what was replayed).
    pub rv: u64,
}

/// The watch cannot start from the requested version: it is older than the history kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub requested: u64,
    pub oldest: u64,
}

#[derive(Debug, Default)]
struct Collection {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    history: VecDeque<Change>,
    /// History covers every change with rv > oldest.
    oldest: u64,
    watchers: Vec<mpsc::UnboundedSender<Change>>,
}

#[derive(Debug)]
struct State {
    rv: u64,
    collections: HashMap<GroupResource, Collection>,
    history_limit: usize,
    snapshots: HashMap<u64, Snapshot>,
    next_snapshot: u64,
}

/// A frozen list result that `continue` tokens page through.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub rv: u64,
    pub items: Arc<Vec<Arc<Value>>>,
}

const SNAPSHOTS_KEPT: usize = 256;

#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
}

impl Store {
    /// `history_limit`: changes kept per collection for watch resumption.
    pub fn new(history_limit: usize) -> Self {
        Self {
            state: Mutex::new(State {
                rv: 1,
                collections: HashMap::new(),
                history_limit,
                snapshots: HashMap::new(),
                next_snapshot: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in a pure write closure; the data is
        // still consistent (writes are applied only after the closure returns), so go on.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current resourceVersion of the whole store.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, gr: &GroupResource, key: &ObjectKey) -> Option<Arc<Value>> {
        self.lock().collections.get(gr)?.objects.get(key).cloned()
    }

    /// Objects of a collection (in one namespace, or all), sorted by namespace and name, with
    /// the resourceVersion they are consistent with.
    pub fn list(&self, gr: &GroupResource, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let state = self.lock();
        let items = state
            .collections
            .get(gr)
            .map(|c| {
                c.objects
                    .iter()
                    .filter(|(key, _)| namespace.is_none_or(|ns| key.namespace == ns))
                    .map(|(_, object)| object.clone())
                    .collect()
            })
            .unwrap_or_default();
        (items, state.rv)
    }

    /// Every object of every collection (for garbage collection by owner UID).
    pub fn all_objects(&self) -> Vec<(GroupResource, ObjectKey, Arc<Value>)> {
        let state = self.lock();
        state
            .collections
            .iter()
            .flat_map(|(gr, c)| {
                c.objects
                    .iter()
                    .map(move |(key, object)| (gr.clone(), key.clone(), object.clone()))
            })
            .collect()
    }

    /// Atomically reads the current object, lets `decide` compute the write, and commits it
    /// with a new resourceVersion (set in `metadata.resourceVersion`) and a watch event.
    pub fn write<E>(
        &self,
        gr: &GroupResource,
        key: &ObjectKey,
        decide: impl FnOnce(Option<&Value>, u64) -> Result<Write, E>,
    ) -> Result<Committed, E> {
        let mut state = self.lock();
        let next_rv = state.rv + 1;
        let current = state
            .collections
            .get(gr)
            .and_then(|c| c.objects.get(key))
            .cloned();
        let write = decide(current.as_deref(), next_rv)?;
        let (kind, stored, previous) = match (write, current) {
            (Write::Unchanged, Some(current)) => return Ok(Committed::Unchanged(current)),
            (Write::Unchanged | Write::Delete, None) => return Ok(Committed::Absent),
            (Write::Put(mut object), current) => {
                object["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                let kind = if current.is_some() {
                    ChangeKind::Modified
                } else {
                    ChangeKind::Added
                };
                (kind, Arc::new(object), current)
            }
            (Write::Delete, Some(current)) => {
                let mut object = (*current).clone();
                object["metadata"]["resourceVersion"] = Value::String(next_rv.to_string());
                (ChangeKind::Deleted, Arc::new(object), None)
            }
        };
        state.rv = next_rv;
        let limit = state.history_limit;
        let collection = state.collections.entry(gr.clone()).or_default();
        match kind {
            ChangeKind::Deleted => {
                collection.objects.remove(key);
            }
            _ => {
                collection.objects.insert(key.clone(), stored.clone());
            }
        }
        let change = Change {
            rv: next_rv,
            kind,
            object: stored.clone(),
            previous,
        };
        collection
            .watchers
            .retain(|w| w.send(change.clone()).is_ok());
        collection.history.push_back(change);
        while collection.history.len() > limit {
            if let Some(dropped) = collection.history.pop_front() {
                collection.oldest = dropped.rv;
            }
        }
        Ok(match kind {
            ChangeKind::Deleted => Committed::Deleted(stored),
            _ => Committed::Stored(stored),
        })
    }

    /// Starts a watch. `from: None` replays the current objects as ADDED events (the API's
    /// "get state and start at most recent"); `Some(rv)` replays the changes after `rv`.
    pub fn watch(&self, gr: &GroupResource, from: Option<u64>) -> Result<Subscription, Expired> {
        let mut state = self.lock();
        let rv = state.rv;
        let collection = state.collections.entry(gr.clone()).or_default();
        let replay = match from {
            None => collection
                .objects
                .values()
                .map(|object| Change {
                    rv: object_rv(object),
                    kind: ChangeKind::Added,
                    object: object.clone(),
                    previous: None,
                })
                .collect(),
            Some(rv) if rv < collection.oldest => {
                return Err(Expired {
                    requested: rv,
                    oldest: collection.oldest,
                });
            }
            Some(rv) => collection
                .history
                .iter()
                .filter(|change| change.rv > rv)
                .cloned()
                .collect(),
        };
        let (tx, live) = mpsc::unbounded_channel();
        collection.watchers.push(tx);
        Ok(Subscription { replay, live, rv })
    }

    /// Ends every open watch (their streams close; clients re-watch).
    pub fn close_watches(&self) {
        for collection in self.lock().collections.values_mut() {
            collection.watchers.clear();
        }
    }

    /// Drops all history: resuming a watch from any earlier version now answers 410 Gone.
    pub fn compact(&self) {
        let mut state = self.lock();
        let rv = state.rv;
        for collection in state.collections.values_mut() {
            collection.history.clear();
            collection.oldest = rv;
        }
        state.snapshots.clear();
    }

    /// The oldest version a watch of `gr` may resume from.
    pub fn oldest(&self, gr: &GroupResource) -> u64 {
        self.lock().collections.get(gr).map_or(0, |c| c.oldest)
    }

    /// Keeps a list result for `continue` paging; returns its id.
    pub fn save_snapshot(&self, snapshot: Snapshot) -> u64 {
        let mut state = self.lock();
        let id = state.next_snapshot;
        state.next_snapshot += 1;
        if state.snapshots.len() >= SNAPSHOTS_KEPT
            && let Some(oldest) = state.snapshots.keys().min().copied()
        {
            state.snapshots.remove(&oldest);
        }
        state.snapshots.insert(id, snapshot);
        id
    }

    /// A saved list result, if still kept.
    pub fn snapshot(&self, id: u64) -> Option<Snapshot> {
        self.lock().snapshots.get(&id).cloned()
    }
}

/// `metadata.resourceVersion` of a stored object.
pub fn object_rv(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gr() -> GroupResource {
        GroupResource {
            group: String::new(),
            resource: "configmaps".into(),
        }
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn put(store: &Store, name: &str, data: &str) -> Committed {
        store
            .write::<()>(&gr(), &key(name), |_, _| {
                Ok(Write::Put(
                    json!({ "metadata": { "name": name }, "data": { "k": data } }),
                ))
            })
            .expect("write succeeds")
    }

    #[test]
    fn writes_bump_the_version_and_reach_watchers_in_order() {
        let store = Store::new(100);
        let mut sub = store
            .watch(&gr(), Some(store.resource_version()))
            .expect("watch");
        put(&store, "a", "1");
        put(&store, "a", "2");
        store
            .write::<()>(&gr(), &key("a"), |_, _| Ok(Write::Delete))
            .expect("delete");
        let kinds: Vec<_> = std::iter::from_fn(|| sub.live.try_recv().ok())
            .map(|c| (c.kind, c.rv))
            .collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::Added, 2),
                (ChangeKind::Modified, 3),
                (ChangeKind::Deleted, 4)
            ]
        );
        assert!(store.get(&gr(), &key("a")).is_none());
    }

    #[test]
    fn resuming_replays_history_and_compaction_expires_it() {
        let store = Store::new(100);
        put(&store, "a", "1");
        let after_first = store.resource_version();
        put(&store, "b", "1");
        let sub = store.watch(&gr(), Some(after_first)).expect("resume");
        assert_eq!(
            sub.replay.len(),
            1,
            "only the change after the resume point"
        );
        store.compact();
        let expired = store
            .watch(&gr(), Some(after_first))
            .expect_err("history compacted");
        assert_eq!(expired.requested, after_first);
        assert!(
            store.watch(&gr(), None).is_ok(),
            "a fresh watch still works"
        );
    }

    #[test]
    fn bounded_history_expires_old_versions() {
        let store = Store::new(2);
        for i in 0..5 {
            put(&store, "a", &i.to_string());
        }
        assert!(store.watch(&gr(), Some(2)).is_err());
        assert_eq!(store.watch(&gr(), Some(4)).expect("recent").replay.len(), 2);
    }

    #[test]
    fn unchanged_writes_commit_nothing() {
        let store = Store::new(100);
        put(&store, "a", "1");
        let rv = store.resource_version();
        let result = store
            .write::<()>(&gr(), &key("a"), |_, _| Ok(Write::Unchanged))
            .expect("no-op");
        assert!(matches!(result, Committed::Unchanged(_)));
        assert_eq!(store.resource_version(), rv);
    }
}
