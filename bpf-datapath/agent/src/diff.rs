//! Current vs desired map contents → the single-entry operations that turn one into the other.
//!
//! Order matters because the datapath reads the maps while they change: updates go first and
//! bottom-up (backends, then Maglev tables that name them, then frontends that name the
//! tables), deletes after and top-down (frontends, tables, backends). A packet therefore never
//! finds a frontend whose table is missing or a slot whose backend is gone.

use std::collections::{BTreeMap, BTreeSet};

use ferrule_bpf_loader::{MapContents, MapOp};

/// The operations, in apply order; empty when `current == desired`.
pub fn diff(current: &MapContents, desired: &MapContents) -> Vec<MapOp> {
    let mut ops = Vec::new();
    ops.extend(updates(&current.backends, &desired.backends, |k, v| {
        MapOp::UpdateBackend(*k, *v)
    }));
    ops.extend(updates(&current.maglev, &desired.maglev, |k, v| {
        MapOp::UpdateMaglev(*k, v.clone())
    }));
    ops.extend(updates(&current.frontends, &desired.frontends, |k, v| {
        MapOp::UpdateFrontend(*k, *v)
    }));
    ops.extend(
        desired
            .responders
            .difference(&current.responders)
            .map(|k| MapOp::UpdateResponder(*k)),
    );

    ops.extend(stale(&current.frontends, &desired.frontends).map(|k| MapOp::DeleteFrontend(*k)));
    ops.extend(stale(&current.maglev, &desired.maglev).map(|k| MapOp::DeleteMaglev(*k)));
    ops.extend(stale(&current.backends, &desired.backends).map(|k| MapOp::DeleteBackend(*k)));
    let gone: BTreeSet<_> = current.responders.difference(&desired.responders).collect();
    ops.extend(gone.into_iter().map(|k| MapOp::DeleteResponder(*k)));
    ops
}

fn updates<'a, K: Ord, V: PartialEq>(
    current: &'a BTreeMap<K, V>,
    desired: &'a BTreeMap<K, V>,
    op: impl Fn(&K, &V) -> MapOp + 'a,
) -> impl Iterator<Item = MapOp> + 'a {
    desired
        .iter()
        .filter(|(k, v)| current.get(k) != Some(v))
        .map(move |(k, v)| op(k, v))
}

fn stale<'a, K: Ord, V>(
    current: &'a BTreeMap<K, V>,
    desired: &'a BTreeMap<K, V>,
) -> impl Iterator<Item = &'a K> + 'a {
    current.keys().filter(|k| !desired.contains_key(*k))
}
