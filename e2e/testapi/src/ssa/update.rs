//! Field ownership of writes that are not applies: create, update, JSON/merge/strategic
//! patches (k8s.io/apimachinery `FieldManager.UpdateNoErrors` and its chain:
//! `managedfieldsupdater.go`, `stripmeta.go`, `capmanagers.go`).

use super::managed::{
    MAX_UPDATE_MANAGERS, ManagedFieldsEntry, ManagerId, Managers, Operation, Owned,
    cap_update_managers, entries_of, managers_of, read_managed_fields, strip_set,
    write_managed_fields,
};
use super::updater::update;
use super::walk::validate;
use crate::typeinfo::TypeInfo;
use serde_json::{Map, Value};

/// A managedFields list that asks for a reset (upstream's `isResetManagedFields`): `[]`, or
/// one entry with nothing in it.
fn is_reset(list: &Value) -> bool {
    match list.as_array().map(Vec::as_slice) {
        Some([]) => true,
        Some([only]) => only.as_object().is_some_and(|m| {
            m.values().all(|v| match v {
                Value::Null => true,
                Value::String(s) => s.is_empty(),
                Value::Object(o) => o.is_empty(),
                _ => false,
            })
        }),
        _ => false,
    }
}

/// The managers a write starts from (upstream's `decodeLiveOrNew`): through a subresource,
/// always the live object's; otherwise the request's own managedFields when it sets valid,
/// non-empty ones (or resets them), else the live object's. Unreadable lists count as empty.
fn starting_managers(old: &Value, new: &Value, through_subresource: bool) -> Managers {
    let live = || {
        read_managed_fields(old)
            .map(managers_of)
            .unwrap_or_default()
    };
    if through_subresource {
        return live();
    }
    let requested = new.get("metadata").and_then(|m| m.get("managedFields"));
    if requested.is_some_and(is_reset) {
        return Managers::new();
    }
    match read_managed_fields(new) {
        Ok(entries) if !entries.is_empty() => managers_of(entries),
        _ => live(),
    }
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

/// `new` (the object a create, update or patch is about to store over `old`) with the
/// managedFields that write leaves: the fields it added or changed belong to `manager`
/// (operation Update, this API version and subresource) and leave every other manager,
/// removed fields leave every manager, emptied entries go. A write that changed nothing
/// keeps every time as it was. Never fails: when an object does not fit its type
/// information, the live managedFields are kept, as upstream's `UpdateNoErrors` does.
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    subresource: Option<&str>,
    api_version: &str,
    now: &str,
    types: &dyn TypeInfo,
) -> Value {
    let old_full = old.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let mut managers = starting_managers(&old_full, new, subresource.is_some());
    let old_obj = without_managed_fields(&old_full);
    let mut result = without_managed_fields(new);
    let keep_live = |mut result: Value| {
        let entries: Vec<ManagedFieldsEntry> = read_managed_fields(&old_full).unwrap_or_default();
        write_managed_fields(&mut result, &entries);
        result
    };
    if validate(&old_obj, types, true).is_err() || validate(&result, types, true).is_err() {
        return keep_live(result);
    }
    let Ok(cmp) = update(&old_obj, &result, &mut managers, None, true, types) else {
        // Unreachable with force; keep the live ownership rather than invent one.
        return keep_live(result);
    };
    let written = cmp.modified.union(&cmp.added).difference(&strip_set());
    if !written.is_empty() {
        let id = ManagerId::new(manager, Operation::Update, api_version, subresource);
        let set = match managers.get(&id) {
            Some(previous) => written.union(&previous.set),
            None => written,
        };
        managers.insert(
            id,
            Owned {
                set,
                api_version: api_version.to_owned(),
                time: Some(now.to_owned()),
            },
        );
    }
    cap_update_managers(&mut managers, MAX_UPDATE_MANAGERS);
    write_managed_fields(&mut result, &entries_of(&managers));
    result
}
