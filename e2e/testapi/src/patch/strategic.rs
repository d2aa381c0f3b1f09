//! Strategic merge patch of objects (k8s.io/apimachinery `util/strategicpatch/patch.go`,
//! `StrategicMergeMapPatch` with the API server's options: parallel deletion lists are
//! merged, unmatched nulls ignored). Lists are in `strategic_list.rs`.

use super::error::{PatchError, smp};
use super::strategic_list::{delete_from_primitive_list, merge_slice_handler, set_element_order};
use crate::gofmt;
use crate::typeinfo::{Step, TypeInfo};
use serde_json::{Map, Value};

pub(crate) const DIRECTIVE: &str = "$patch";
pub(crate) const RETAIN_KEYS: &str = "$retainKeys";
pub(crate) const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
pub(crate) const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies strategic merge patch `patch` to `target`, merging lists the way `types` says the
/// built-in kind tags them (`patchStrategy`, `patchMergeKey`).
///
/// Supported: merge-keyed lists, `$patch: replace|delete|merge` (in maps and list items),
/// `$retainKeys`, `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>`, null to
/// delete a field. A `$deleteFromPrimitiveList` for a list the object does not have is a
/// no-op (upstream stores the deletion list as the list).
pub fn strategic_merge_patch(
    target: &Value,
    patch: &Value,
    types: &dyn TypeInfo,
) -> Result<Value, PatchError> {
    let original = match target {
        Value::Object(m) => m.clone(),
        _ => return Err(smp::bad_json_doc()),
    };
    let patch = match patch {
        // Go decodes `null` into a nil map: nothing to do.
        Value::Null => return Ok(target.clone()),
        Value::Object(p) => p.clone(),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                gofmt::json_kind(other)
            )));
        }
    };
    Ok(Value::Object(merge_map(original, patch, &[], types)?))
}

/// The step for field `name` of the object at `steps`.
pub(crate) fn field_step(steps: &[Step], name: &str, types: &dyn TypeInfo) -> Vec<Step> {
    let mut out = steps.to_vec();
    out.push(if types.is_declared_field(steps, name) {
        Step::Field(name.to_owned())
    } else {
        Step::Value
    });
    out
}

/// Upstream's `mergeMap`.
pub(crate) fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    steps: &[Step],
    types: &dyn TypeInfo,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => Ok(strip_directives_map(&patch)),
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(&directive, &patch)),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    set_element_order(&mut original, &mut patch, steps, types)?;

    // Go iterates the patch in random order; a sorted order puts `$deleteFromPrimitiveList/x`
    // before `x`, and both orders give the same result unless one value is added and deleted.
    for (key, patch_value) in patch {
        if let Some(rest) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let field = rest.strip_prefix('/').ok_or_else(smp::bad_primitive_list)?;
            delete_from_primitive_list(&mut original, field, &patch_value)?;
            continue;
        }
        if patch_value.is_null() {
            original.remove(&key);
            continue;
        }
        let Some(current) = original.get_mut(&key) else {
            original.insert(key, strip_directives(&patch_value));
            continue;
        };
        let child = field_step(steps, &key, types);
        match (current, patch_value) {
            (Value::Object(cur), Value::Object(p)) => {
                let merged = merge_map(std::mem::take(cur), p, &child, types)?;
                *cur = merged;
            }
            (Value::Array(cur), Value::Array(p)) => {
                let merged = merge_slice_handler(std::mem::take(cur), p, &child, types)?;
                *cur = merged;
            }
            (current, patch_value) => *current = strip_directives(&patch_value),
        }
    }
    Ok(original)
}

/// `mergepatch.ErrBadPatchType`.
pub(crate) fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> PatchError {
    let t = match directive {
        Value::String(s) => s.clone(),
        other => format!("%!s({}={})", gofmt::type_name(other), gofmt::v(other)),
    };
    let mut shown = map.clone();
    shown.insert(DIRECTIVE.into(), directive.clone());
    PatchError::Merge(format!(
        "unknown patch type: {t} in map: {}",
        gofmt::v(&Value::Object(shown))
    ))
}

/// Upstream's `applyRetainKeysDirective`: keeps only the listed fields of `original`, and
/// requires the patch to set nothing else.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retain) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(smp::bad_retain_keys());
    };
    let kept: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !kept.contains(&k.as_str()) {
            return Err(smp::bad_retain_keys());
        }
    }
    original.retain(|k, _| kept.contains(&k.as_str()));
    Ok(())
}

/// A patch value that lands where the object has nothing: upstream stores it as it is and the
/// typed decoding then drops directive keys and nulls; this does the same directly.
pub(crate) fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                return Value::Object(Map::new());
            }
            Value::Object(strip_directives_map(m))
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|item| item.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"))
                .map(strip_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn strip_directives_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, v)| {
            !v.is_null()
                && k.as_str() != DIRECTIVE
                && k.as_str() != RETAIN_KEYS
                && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
                && !k.starts_with(SET_ELEMENT_ORDER)
        })
        .map(|(k, v)| (k.clone(), strip_directives(v)))
        .collect()
}
