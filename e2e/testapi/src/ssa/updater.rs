//! The ownership bookkeeping shared by apply and other writes (structured-merge-diff
//! `merge/update.go`: `update`, `prune`, `addBackOwnedItems`, `addBackDanglingItems`). API
//! versions are not converted: every manager's fields are read against the one version the
//! object is served in.

use super::compare::{Comparison, compare};
use super::conflict::{Conflict, Conflicts};
use super::fieldset::FieldSet;
use super::managed::{ManagerId, Managers};
use super::remove::{Emptied, remove_items};
use super::to_field_set::{ensure_named_fields_are_members, field_set_of};
use crate::typeinfo::TypeInfo;
use serde_json::Value;

/// Takes the fields `new` changes from `old` away from every manager but `writer`: a changed
/// field another manager owns is a conflict (an error unless `force`, else ownership moves),
/// a removed field leaves every set; managers left with nothing are dropped.
pub(crate) fn update(
    old: &Value,
    new: &Value,
    managers: &mut Managers,
    writer: Option<&ManagerId>,
    force: bool,
    types: &dyn TypeInfo,
) -> Result<Comparison, Conflicts> {
    let cmp = compare(old, new, types);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts: Vec<(ManagerId, FieldSet)> = Vec::new();
    for (id, owned) in managers.iter() {
        if Some(id) == writer {
            continue;
        }
        let clash = owned.set.intersection(&changed);
        if !clash.is_empty() {
            conflicts.push((id.clone(), clash));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(Conflicts(
            conflicts
                .iter()
                .flat_map(|(id, set)| {
                    set.paths().into_iter().map(|path| Conflict {
                        manager: id.clone(),
                        path,
                    })
                })
                .collect(),
        ));
    }
    for (id, clash) in &conflicts {
        if let Some(owned) = managers.get_mut(id) {
            owned.set = owned.set.difference(clash);
        }
    }
    if !cmp.removed.is_empty() {
        for (id, owned) in managers.iter_mut() {
            if Some(id) != writer {
                owned.set = owned.set.difference(&cmp.removed);
            }
        }
    }
    managers.retain(|_, owned| !owned.set.is_empty());
    Ok(cmp)
}

/// Removes from `merged` what `applier` applied last time (`last`) but no longer applies,
/// unless some manager (the applier's new configuration included) still owns it.
pub(crate) fn prune(
    merged: &Value,
    managers: &Managers,
    last: Option<&FieldSet>,
    types: &dyn TypeInfo,
) -> Value {
    let Some(last) = last.filter(|l| !l.is_empty()) else {
        return merged.clone();
    };
    let widen = |s: &FieldSet| ensure_named_fields_are_members(s, types);
    let last = widen(last);
    let pruned = remove_items(merged, &last, types, Emptied::Null);

    // Add back whatever any manager owns (addBackOwnedItems).
    let owned = managers
        .values()
        .fold(FieldSet::new(), |acc, o| acc.union(&o.set));
    let merged_set = widen(&field_set_of(merged, types));
    let pruned_set = widen(&field_set_of(&pruned, types));
    let unowned_removed = merged_set.difference(&pruned_set.union(&widen(&owned)));
    let pruned = remove_items(merged, &unowned_removed, types, Emptied::Null);

    // Only what the applier had applied may go; add back the rest (addBackDanglingItems).
    let pruned_set = widen(&field_set_of(&pruned, types));
    let to_remove = merged_set.difference(&pruned_set).intersection(&last);
    remove_items(merged, &to_remove, types, Emptied::Drop)
}
