//! Strategic merge patch of lists (k8s.io/apimachinery `util/strategicpatch/patch.go`:
//! `mergeSliceHandler`, `mergeSlice`, `mergeSliceWithSpecialElements`, `normalizeElementOrder`,
//! `mergePatchIntoOriginal` for `$setElementOrder`).

use super::error::{PatchError, smp};
use super::strategic::{
    DIRECTIVE, SET_ELEMENT_ORDER, bad_patch_type, field_step, merge_map, strip_directives,
};
use crate::gofmt;
use crate::typeinfo::{PatchStrategy, Step, TypeInfo};
use serde_json::{Map, Value};

/// Upstream's `mergepatch.ErrNoMergeKey`.
fn no_merge_key(item: &Map<String, Value>, key: &str) -> PatchError {
    PatchError::Merge(format!(
        "map: {} does not contain declared merge key: {key}",
        gofmt::v(&Value::Object(item.clone()))
    ))
}

/// Upstream's `mergepatch.ErrBadArgType`.
fn bad_arg_type(expected: &str, actual: &Value) -> PatchError {
    PatchError::Merge(format!(
        "expected a {expected}, but received a {}",
        gofmt::type_name(actual)
    ))
}

/// What kind of items a list holds (Go's `reflect.Kind` of the elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementKind {
    Map,
    Scalar,
}

/// Upstream's `sliceElementType`: every item of every list has the same Go type, and it is
/// not a list.
fn element_kind(lists: &[&[Value]]) -> Result<ElementKind, PatchError> {
    let mut first: Option<&'static str> = None;
    for list in lists {
        for item in *list {
            if item.is_array() {
                return Err(smp::no_list_of_lists());
            }
            let t = gofmt::type_name(item);
            match first {
                None => first = Some(t),
                Some(f) if f != t => {
                    let all: Vec<String> = lists
                        .iter()
                        .map(|l| gofmt::v(&Value::Array(l.to_vec())))
                        .collect();
                    return Err(PatchError::Merge(format!(
                        "list element types are not identical: [{}]",
                        all.join(" ")
                    )));
                }
                Some(_) => {}
            }
        }
    }
    match first {
        None => Err(PatchError::Merge(
            "no elements in any of the given slices".into(),
        )),
        Some("map[string]interface {}") => Ok(ElementKind::Map),
        Some(_) => Ok(ElementKind::Scalar),
    }
}

/// Upstream's `mergeSliceHandler`: lists without `patchStrategy: merge` are replaced.
pub(crate) fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<Vec<Value>, PatchError> {
    match types.patch_strategy(steps) {
        PatchStrategy::Replace => Ok(patch),
        PatchStrategy::MergeScalars => merge_slice(original, patch, None, steps, types),
        PatchStrategy::MergeByKey(key) => merge_slice(original, patch, Some(&key), steps, types),
    }
}

/// Upstream's `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: Option<&str>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    let (original, patch, merged) = match kind {
        ElementKind::Scalar => {
            // Upstream deduplicates the live items too.
            let mut merged: Vec<Value> = Vec::new();
            for v in original.iter().chain(&patch) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            (original, patch, merged)
        }
        ElementKind::Map => {
            let Some(key) = merge_key else {
                return Err(PatchError::Merge(
                    "cannot merge lists without merge key for type struct".into(),
                ));
            };
            let (original, patch) = merge_special_elements(original, patch, key)?;
            let merged =
                merge_without_special_elements(original.clone(), &patch, key, steps, types)?;
            (original, patch, merged)
        }
    };
    let key = if kind == ElementKind::Map {
        merge_key
    } else {
        None
    };
    let (patch_items, server_only) = partition(&merged, &patch, key)?;
    normalize_element_order(patch_items, server_only, &patch, &original, key)
}

/// Upstream's `mergeSliceWithSpecialElements`: `$patch: delete` items delete by merge key,
/// `$patch: replace` makes the other items the whole list.
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::new();
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else { continue };
        match map.get(DIRECTIVE) {
            None => plain.push(item),
            Some(Value::String(d)) if d == "delete" => {
                let Some(value) = map.get(key) else {
                    return Err(no_merge_key(map, key));
                };
                original.retain(|o| o.get(key) != Some(value));
            }
            Some(Value::String(d)) if d == "replace" => replace = true,
            Some(Value::String(d)) if d == "merge" => {
                return Err(PatchError::Merge(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            Some(other) => {
                let mut rest = map.clone();
                rest.remove(DIRECTIVE);
                return Err(bad_patch_type(other, &rest));
            }
        }
    }
    if replace {
        Ok((plain, Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// Upstream's `mergeSliceWithoutSpecialElements`: items with the same merge key value merge,
/// others are appended.
fn merge_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<Vec<Value>, PatchError> {
    let mut item_steps = steps.to_vec();
    item_steps.push(Step::Item);
    for item in patch {
        let Value::Object(p) = item else {
            return Err(bad_arg_type("map[string]interface {}", item));
        };
        let Some(value) = p.get(key) else {
            return Err(no_merge_key(p, key));
        };
        match find_by_key(&original, key, value)? {
            Some(i) => {
                let Value::Object(cur) = std::mem::take(&mut original[i]) else {
                    continue;
                };
                original[i] = Value::Object(merge_map(cur, p.clone(), &item_steps, types)?);
            }
            None => original.push(strip_directives(item)),
        }
    }
    Ok(original)
}

/// Upstream's `findMapInSliceBasedOnKeyValue`.
fn find_by_key(list: &[Value], key: &str, value: &Value) -> Result<Option<usize>, PatchError> {
    for (i, item) in list.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(PatchError::Merge(format!(
                "value for key {i} is not a map."
            )));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// The value an item is ordered by: its merge key value, or itself for scalars.
fn order_value<'a>(item: &'a Value, key: Option<&str>) -> Option<&'a Value> {
    match key {
        Some(k) => item.get(k),
        None => Some(item),
    }
}

fn index_in(list: &[Value], item: &Value, key: Option<&str>) -> Option<usize> {
    let wanted = order_value(item, key);
    list.iter().position(|v| order_value(v, key) == wanted)
}

/// Upstream's `partitionMapsByPresentInList` / `partitionPrimitivesByPresentInList`: the
/// merged items the patch mentions, and the others.
fn partition(
    merged: &[Value],
    patch: &[Value],
    key: Option<&str>,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for item in merged {
        let found = match key {
            None => patch.contains(item),
            Some(k) => {
                let Value::Object(m) = item else {
                    return Err(bad_arg_type("map[string]interface {}", item));
                };
                let Some(value) = m.get(k) else {
                    return Err(no_merge_key(m, k));
                };
                find_by_key(patch, k, value)?.is_some()
            }
        };
        if found {
            in_patch.push(item.clone())
        } else {
            server_only.push(item.clone())
        }
    }
    Ok((in_patch, server_only))
}

/// Upstream's `normalizeSliceOrder`: sorts `items` by their position in `order`, deletion
/// directives last. Go's `sort.SliceStable` runs an insertion sort with a "less" that is true
/// whenever either item is missing from `order`; this is that insertion sort.
fn normalize_slice_order(
    items: Vec<Value>,
    order: &[Value],
    key: Option<&str>,
) -> Result<Vec<Value>, PatchError> {
    let mut to_delete = Vec::new();
    let mut items = items;
    if let Some(k) = key {
        for v in items.iter().chain(order) {
            let Value::Object(m) = v else {
                return Err(bad_arg_type("map[string]interface {}", v));
            };
            if !m.contains_key(k) {
                return Err(no_merge_key(m, k));
            }
        }
        let (keep, delete): (Vec<Value>, Vec<Value>) = items
            .into_iter()
            .partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        items = keep;
        to_delete = delete;
    }
    let less = |a: &Value, b: &Value| match (index_in(order, a, key), index_in(order, b, key)) {
        (Some(i), Some(j)) => i < j,
        _ => true,
    };
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
    items.extend(to_delete);
    Ok(items)
}

/// Upstream's `normalizeElementOrder` and `mergeSortedSlice`: patch items in patch order,
/// server-only items in live order, interleaved by their live positions. Items new to the
/// list come before the server-only items that follow them.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
) -> Result<Vec<Value>, PatchError> {
    let right = normalize_slice_order(patch_items, patch_order, key)?;
    let left = normalize_slice_order(server_only, server_order, key)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let take_left = if i >= left.len() {
            false
        } else if j >= right.len() {
            true
        } else {
            matches!(
                (index_in(server_order, &left[i], key), index_in(server_order, &right[j], key)),
                (Some(li), Some(ri)) if li < ri
            )
        };
        if take_left {
            out.push(left[i].clone());
            i += 1;
        } else {
            out.push(right[j].clone());
            j += 1;
        }
    }
    Ok(out)
}

/// `$deleteFromPrimitiveList/<field>`: removes these values from the list `field`.
pub(crate) fn delete_from_primitive_list(
    original: &mut Map<String, Value>,
    field: &str,
    values: &Value,
) -> Result<(), PatchError> {
    let Value::Array(values) = values else {
        return Err(bad_arg_type("[]interface {}", values));
    };
    if let Some(Value::Array(list)) = original.get_mut(field) {
        if list.iter().chain(values).any(Value::is_array) {
            return Err(smp::no_list_of_lists());
        }
        list.retain(|v| !values.contains(v));
    }
    Ok(())
}

/// Upstream's `mergePatchIntoOriginal`: merges every list that has a `$setElementOrder/<field>`
/// directive and orders it by the directive.
pub(crate) fn set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<(), PatchError> {
    let directives: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive in directives {
        let Some(order) = patch.remove(&directive) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let field = directive
            .strip_prefix(SET_ELEMENT_ORDER)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(smp::bad_set_element_order)?
            .to_owned();
        let live = match original.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let patched = match patch.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let child = field_step(steps, &field, types);
        let key = match types.patch_strategy(&child) {
            PatchStrategy::MergeByKey(k) => Some(k),
            _ => None,
        };
        validate_order(patched.as_deref().unwrap_or(&[]), &order, key.as_deref())?;
        let merged = match (live.clone(), patched.clone()) {
            (Some(l), None) => l,
            (None, Some(p)) => p,
            (Some(l), Some(p)) => merge_slice_handler(l, p, &child, types)?,
            (None, None) => continue,
        };
        let kind = element_kind(&[
            live.as_deref().unwrap_or(&[]),
            patched.as_deref().unwrap_or(&[]),
        ])?;
        let key = if kind == ElementKind::Map { key } else { None };
        let (patch_items, server_only) = partition(&merged, &order, key.as_deref())?;
        let ordered = normalize_element_order(
            patch_items,
            server_only,
            &order,
            live.as_deref().unwrap_or(&[]),
            key.as_deref(),
        )?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

/// Upstream's `validatePatchWithSetOrderList`: the patch list's items (deletions aside)
/// appear in the directive's order.
fn validate_order(
    patch_list: &[Value],
    order: &[Value],
    key: Option<&str>,
) -> Result<(), PatchError> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let is_delete = |v: &Value| v.get(DIRECTIVE).and_then(Value::as_str) == Some("delete");
    let non_delete: Vec<&Value> = if key.is_some() {
        patch_list.iter().filter(|v| !is_delete(v)).collect()
    } else {
        patch_list.iter().collect()
    };
    let (mut p, mut o) = (0, 0);
    while p < non_delete.len() && o < order.len() {
        if non_delete[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        let equal = match key {
            None => non_delete[p] == &order[o],
            Some(k) => {
                let (Value::Object(a), Value::Object(b)) = (non_delete[p], &order[o]) else {
                    return Err(bad_arg_type("map[string]interface {}", non_delete[p]));
                };
                let Some(av) = a.get(k) else {
                    return Err(no_merge_key(a, k));
                };
                let Some(bv) = b.get(k) else {
                    return Err(no_merge_key(b, k));
                };
                av == bv
            }
        };
        if equal {
            p += 1;
        }
        o += 1;
    }
    if p < non_delete.len() && o >= order.len() {
        return Err(PatchError::Merge(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            gofmt::v(&Value::Array(patch_list.to_vec())),
            gofmt::v(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}
