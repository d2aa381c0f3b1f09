//! Scenario tests of server-side apply and field ownership, after the Kubernetes
//! "Server-Side Apply" documentation and structured-merge-diff's behaviour.

mod apply_conflicts;
mod apply_lists;
mod apply_merge;
mod fieldsv1;
mod props;
mod update;

use crate::builtin_types::builtin_type_info;
use crate::ssa::{ApplyError, apply};
use serde_json::Value;

pub(super) const T1: &str = "2024-05-01T10:00:00Z";
pub(super) const T2: &str = "2024-05-01T11:00:00Z";
pub(super) const T3: &str = "2024-05-01T12:00:00Z";

/// Applies `config` to a core/v1 object of `kind` as `manager` at time `now`.
pub(super) fn apply_v1(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    now: &str,
) -> Result<Value, ApplyError> {
    let kind = config["kind"].as_str().unwrap_or("");
    apply(
        live,
        config,
        manager,
        force,
        "v1",
        None,
        now,
        builtin_type_info("", kind).as_ref(),
    )
}

/// Like [`apply_v1`], for a test that expects success.
pub(super) fn applied(live: Option<&Value>, config: &Value, manager: &str, now: &str) -> Value {
    match apply_v1(live, config, manager, false, now) {
        Ok(v) => v,
        Err(e) => panic!("apply by {manager} failed: {e}"),
    }
}

/// The managedFields entry of `manager` with `operation`.
pub(super) fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
}

/// The fieldsV1 of `manager`'s entry with `operation` (null if none).
pub(super) fn fields(obj: &Value, manager: &str, operation: &str) -> Value {
    entry(obj, manager, operation).map_or(Value::Null, |e| e["fieldsV1"].clone())
}

/// The manager names in managedFields order.
pub(super) fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["manager"].as_str().map(str::to_owned))
        .collect()
}
