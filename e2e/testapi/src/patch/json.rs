//! JSON patch (RFC 6902) and JSON merge patch (RFC 7386) as the API server applies them with
//! gopkg.in/evanphx/json-patch.v4.

use super::error::PatchError;
use crate::gofmt;
use json_patch::PatchOperation;
use serde_json::{Map, Value};

/// `maxJSONPatchOperations` of the API server's patch handler.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Applies JSON patch `patch` (RFC 6902) to `target`.
///
/// As the API server: a patch that is not a list (or has non-object operations) is a 400 with
/// Go's decoding error; an operation that does not apply (failed `test`, missing path, unknown
/// `op`) is a 422 whose message does not say why; `null` is an empty patch.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = match patch {
        Value::Null => return Ok(target.clone()),
        Value::Array(ops) => ops,
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                gofmt::json_kind(other)
            )));
        }
    };
    if let Some(bad) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            gofmt::json_kind(bad)
        )));
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations {
            max: MAX_JSON_PATCH_OPERATIONS,
            got: ops.len(),
        });
    }
    // evanphx decodes any object as an operation and fails when applying it, so a malformed
    // operation is a 422, not a 400.
    let parsed = ops
        .iter()
        .enumerate()
        .map(|(i, op)| {
            serde_json::from_value::<PatchOperation>(op.clone()).map_err(|e| {
                PatchError::Unprocessable {
                    detail: format!("operation {i}: {e}"),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = target.clone();
    for op in &parsed {
        if let PatchOperation::Test(test) = op
            && test.value.is_null()
        {
            test_absent(&doc, test.path.as_str())?;
            continue;
        }
        json_patch::patch(&mut doc, std::slice::from_ref(op)).map_err(|e| {
            PatchError::Unprocessable {
                detail: e.to_string(),
            }
        })?;
    }
    if !doc.is_object() {
        return Err(PatchError::NotAnObject(doc));
    }
    Ok(doc)
}

/// evanphx's `test` with a null value: it passes when the value is null or the last path
/// segment is missing (clients use it to assert that a field is absent); the parent must
/// exist.
fn test_absent(doc: &Value, path: &str) -> Result<(), PatchError> {
    let fail = |why: &str| {
        Err(PatchError::Unprocessable {
            detail: format!("testing value {path} failed: {why}"),
        })
    };
    let Some((parent, last)) = path.rsplit_once('/') else {
        return if doc.is_null() {
            Ok(())
        } else {
            fail("test failed")
        };
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    let found = match doc.pointer(parent) {
        Some(Value::Object(m)) => m.get(&last),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => items.get(i),
            _ => return fail("index out of range"),
        },
        _ => return fail("missing path"),
    };
    match found {
        None | Some(Value::Null) => Ok(()),
        Some(_) => fail("test failed"),
    }
}

/// Applies JSON merge patch `patch` (RFC 7386) to `target`, with evanphx's details: nulls are
/// pruned from values that land where nothing (or null) was, including null list items.
///
/// A patch that is `null` or a scalar is a 400 (`Invalid JSON Patch`); a list replaces the
/// document, which then is no object: 422.
pub fn merge_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    match patch {
        Value::Object(p) => {
            let mut doc = match target {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            merge_docs(&mut doc, p);
            Ok(Value::Object(doc))
        }
        Value::Array(_) => {
            let mut replaced = patch.clone();
            prune_nulls(&mut replaced);
            Err(PatchError::NotAnObject(replaced))
        }
        _ => Err(PatchError::BadRequest("Invalid JSON Patch".into())),
    }
}

/// evanphx's `mergeDocs`.
fn merge_docs(doc: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            doc.remove(k);
            continue;
        }
        match doc.get_mut(k) {
            Some(cur) if !cur.is_null() => merge_value(cur, v),
            _ => {
                let mut v = v.clone();
                prune_nulls(&mut v);
                doc.insert(k.clone(), v);
            }
        }
    }
}

/// evanphx's `merge`: objects merge; anything replacing a non-object is pruned of nulls, a
/// non-object replacing an object is taken as it is.
fn merge_value(cur: &mut Value, patch: &Value) {
    match (cur.as_object_mut(), patch) {
        (Some(cur_doc), Value::Object(p)) => merge_docs(cur_doc, p),
        (Some(_), _) => *cur = patch.clone(),
        (None, _) => {
            let mut p = patch.clone();
            prune_nulls(&mut p);
            *cur = p;
        }
    }
}

/// evanphx's `pruneNulls`: drops null fields and null list items, recursively.
fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => {
            items.retain(|v| !v.is_null());
            items.iter_mut().for_each(prune_nulls);
        }
        _ => {}
    }
}
