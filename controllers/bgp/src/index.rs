//! The in-memory index of everything the controller watches. Watch events and the objects our
//! own writes return go in synchronously; the core's [`Input`] comes out.
//!
//! An object is never replaced by an older version of itself (resourceVersions compared as
//! integers when both are), so a write's response is not undone by a watch event already in
//! flight and the next pass does not rewrite what was just written. A relist is buffered and
//! swapped in at its end, and the index reports itself unsynced meanwhile.

use crate::core::model::{Input, NodeConfigInput, NodeInput, OverrideInput};
use crate::observed::{ObservedClusterConfig, ObservedPeerConfig};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// An object's reduced content and the resourceVersion it was read at.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<V> {
    pub resource_version: String,
    pub value: V,
}

fn not_older(incoming: &str, stored: &str) -> bool {
    match (incoming.parse::<u64>(), stored.parse::<u64>()) {
        (Ok(incoming), Ok(stored)) => incoming >= stored,
        _ => true,
    }
}

/// One watched collection, by object name.
#[derive(Debug)]
pub struct Collection<V> {
    objects: BTreeMap<String, Stored<V>>,
    relist: Option<BTreeMap<String, Stored<V>>>,
    listed: bool,
}

impl<V> Default for Collection<V> {
    fn default() -> Self {
        Self {
            objects: BTreeMap::new(),
            relist: None,
            listed: false,
        }
    }
}

impl<V: PartialEq + Clone> Collection<V> {
    /// An added or modified object; returns whether its content changed.
    pub fn apply(&mut self, name: String, resource_version: String, value: V) -> bool {
        let stored = Stored {
            resource_version,
            value,
        };
        if let Some(buffer) = &mut self.relist {
            insert_newer(buffer, name.clone(), stored.clone());
        }
        insert_newer(&mut self.objects, name, stored)
    }

    /// A deleted object; returns whether it was known.
    pub fn delete(&mut self, name: &str) -> bool {
        if let Some(buffer) = &mut self.relist {
            buffer.remove(name);
        }
        self.objects.remove(name).is_some()
    }

    /// A (re)list starts.
    pub fn init(&mut self) {
        self.relist = Some(BTreeMap::new());
    }

    /// An object of the list in progress.
    pub fn init_apply(&mut self, name: String, resource_version: String, value: V) {
        let stored = Stored {
            resource_version,
            value,
        };
        match &mut self.relist {
            Some(buffer) => {
                insert_newer(buffer, name, stored);
            }
            None => {
                insert_newer(&mut self.objects, name, stored);
            }
        }
    }

    /// The list is complete: it replaces the collection. Returns whether anything changed.
    pub fn init_done(&mut self) -> bool {
        let Some(buffer) = self.relist.take() else {
            return false;
        };
        let changed = !self.listed || buffer != self.objects;
        self.objects = buffer;
        self.listed = true;
        changed
    }

    pub fn is_listed(&self) -> bool {
        self.listed && self.relist.is_none()
    }

    pub fn get(&self, name: &str) -> Option<&V> {
        self.objects.get(name).map(|s| &s.value)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.objects.values().map(|s| &s.value)
    }

    /// Every object, transformed, by name.
    pub fn map<T>(&self, f: impl Fn(&V) -> T) -> BTreeMap<String, T> {
        self.objects
            .iter()
            .map(|(name, stored)| (name.clone(), f(&stored.value)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

fn insert_newer<V: PartialEq>(
    map: &mut BTreeMap<String, Stored<V>>,
    name: String,
    stored: Stored<V>,
) -> bool {
    match map.get_mut(&name) {
        Some(current) if !not_older(&stored.resource_version, &current.resource_version) => false,
        Some(current) => {
            let changed = current.value != stored.value;
            *current = stored;
            changed
        }
        None => {
            map.insert(name, stored);
            true
        }
    }
}

/// Everything watched.
#[derive(Debug, Default)]
pub struct Index {
    pub nodes: Collection<NodeInput>,
    pub cluster_configs: Collection<ObservedClusterConfig>,
    pub overrides: Collection<OverrideInput>,
    pub peer_configs: Collection<ObservedPeerConfig>,
    pub node_configs: Collection<NodeConfigInput>,
    /// Secrets of the BGP secrets namespace, by name only (their data is never read).
    pub secrets: Collection<()>,
}

impl Index {
    /// Every watch has listed once and no relist is in progress.
    pub fn is_synced(&self) -> bool {
        self.nodes.is_listed()
            && self.cluster_configs.is_listed()
            && self.overrides.is_listed()
            && self.peer_configs.is_listed()
            && self.node_configs.is_listed()
            && self.secrets.is_listed()
    }

    /// A snapshot for the core.
    pub fn input(&self) -> Input {
        Input {
            nodes: self.nodes.map(Clone::clone),
            cluster_configs: self.cluster_configs.map(|c| c.input.clone()),
            overrides: self.overrides.map(Clone::clone),
            peer_configs: self.peer_configs.map(|p| p.input.clone()),
            secrets: self.secrets.objects.keys().cloned().collect(),
            node_configs: self.node_configs.map(Clone::clone),
        }
    }
}

/// The index shared by the watches, the reconciler and the writer.
#[derive(Debug, Clone, Default)]
pub struct SharedIndex {
    index: Arc<Mutex<Index>>,
    changed: Arc<Notify>,
}

impl SharedIndex {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // The index holds plain data; a panic elsewhere cannot leave it half-updated in a way
        // that matters more than stopping would.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the index; wakes the reconciler when it returns `true`.
    pub fn update(&self, f: impl FnOnce(&mut Index) -> bool) {
        let changed = f(&mut self.lock());
        if changed {
            self.changed.notify_one();
        }
    }

    pub fn read<T>(&self, f: impl FnOnce(&Index) -> T) -> T {
        f(&self.lock())
    }

    /// Resolves after the next change (or at once if one happened since the last call).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let mut c: Collection<u32> = Collection::default();
        assert!(c.apply("a".into(), "10".into(), 1));
        assert!(!c.apply("a".into(), "9".into(), 2), "stale watch event");
        assert_eq!(c.get("a"), Some(&1));
        assert!(
            !c.apply("a".into(), "11".into(), 1),
            "same content is no change"
        );
        assert!(c.apply("a".into(), "12".into(), 3));
    }

    #[test]
    fn a_relist_swaps_in_at_its_end_and_keeps_writes_made_meanwhile() {
        let mut c: Collection<u32> = Collection::default();
        c.init();
        c.init_apply("gone".into(), "1".into(), 1);
        assert!(c.init_done());
        assert!(c.is_listed());
        c.init();
        assert!(!c.is_listed(), "unsynced while relisting");
        c.init_apply("b".into(), "5".into(), 5);
        c.apply("written".into(), "6".into(), 6);
        assert!(c.init_done());
        let names: Vec<u32> = c.values().copied().collect();
        assert_eq!(names, [5, 6]);
    }
}
