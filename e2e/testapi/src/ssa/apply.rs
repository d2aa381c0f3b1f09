//! Server-side apply (structured-merge-diff `Updater.Apply` behind k8s.io/apimachinery's
//! field manager chain: `structuredmerge.go`, `stripmeta.go`, `managedfieldsupdater.go`).

use super::conflict::Conflicts;
use super::managed::{
    ManagerId, Managers, Operation, Owned, entries_of, managers_of, read_managed_fields, strip_set,
    write_managed_fields,
};
use super::to_field_set::field_set_of;
use super::updater::{prune, update};
use super::value;
use super::walk::{TypeError, TypeErrors, validate};
use crate::typeinfo::TypeInfo;
use serde_json::{Map, Value};

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The configuration changes fields other managers own: 409 Conflict.
    #[error("{}", .0.message())]
    Conflicts(Conflicts),
    /// The request itself is wrong (managedFields set, wrong apiVersion, not an object): 400.
    #[error("{0}")]
    BadRequest(String),
    /// The configuration or the live object does not fit the type information (a map-list
    /// item without its key, a duplicated key...). The real server answers these with a bare
    /// error, i.e. 500 with an empty reason.
    #[error("{0}")]
    Invalid(String),
    /// The live object's managedFields cannot be read: 500, as upstream.
    #[error("failed to decode managed fields: {0}")]
    ManagedFields(String),
}

impl ApplyError {
    /// The HTTP status code of the answer.
    pub fn code(&self) -> u16 {
        match self {
            Self::Conflicts(_) => 409,
            Self::BadRequest(_) => 400,
            Self::Invalid(_) | Self::ManagedFields(_) => 500,
        }
    }

    /// The Status `reason` of the answer (empty: `StatusReasonUnknown`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Conflicts(_) => "Conflict",
            Self::BadRequest(_) => "BadRequest",
            Self::Invalid(_) | Self::ManagedFields(_) => "",
        }
    }

    /// The Status message of the answer.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// The `details.causes` of the answer as (reason, message, field); only conflicts have
    /// causes.
    pub fn causes(&self) -> Vec<(String, String, String)> {
        match self {
            Self::Conflicts(c) => c.causes(),
            _ => Vec::new(),
        }
    }
}

/// `namespace/name; group/version, Kind=kind` of an object, as upstream's `objectGVKNN`
/// renders it in error messages.
fn gvknn(obj: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let api_version = s(&obj["apiVersion"]);
    let (group, version) = api_version
        .split_once('/')
        .unwrap_or(("", api_version.as_str()));
    format!(
        "{}/{}; {group}/{version}, Kind={}",
        s(&obj["metadata"]["namespace"]),
        s(&obj["metadata"]["name"]),
        s(&obj["kind"])
    )
}

/// `v` without null-valued fields at any depth: a null in an applied configuration means "not
/// specified", as it does when a built-in object is decoded (and for non-nullable CRD fields,
/// which the API server prunes).
fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    v
}

/// Applies configuration `applied` of manager `manager` to `live` (None: the object does not
/// exist yet) and returns the new object, `metadata.managedFields` included.
///
/// The configuration is the manager's whole intent: fields it applied before and omits now
/// are removed unless another manager owns them; changing a field another manager owns is a
/// conflict unless `force`, which takes the field over. When nothing changes, the result is
/// `live` with identical managedFields (times included), so the caller can skip the write.
/// The caller strips fields the endpoint ignores (`status` on the main resource, everything
/// but `status` on `/status`) from `applied` first, as the API server's strategies do.
#[allow(clippy::too_many_arguments)] // the signature the server was designed against
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
    types: &dyn TypeInfo,
) -> Result<Value, ApplyError> {
    if !applied.is_object() {
        return Err(ApplyError::BadRequest(
            "apply configuration must be an object".into(),
        ));
    }
    if applied
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|f| !f.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into(),
        ));
    }
    let patch_version = applied["apiVersion"].as_str().unwrap_or("");
    if patch_version != api_version {
        return Err(ApplyError::BadRequest(format!(
            "Incorrect version specified in apply patch. Specified patch version: {patch_version}, expected: {api_version}"
        )));
    }
    let config = without_nulls(applied);
    let live_full = live.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    let mut managers: Managers = read_managed_fields(&live_full)
        .map(managers_of)
        .map_err(|e| ApplyError::ManagedFields(e.to_string()))?;
    let live = without_managed_fields(&live_full);
    validate(&live, types, true).map_err(|e| {
        ApplyError::Invalid(format!(
            "failed to create typed live object ({}): {e}",
            gvknn(&live)
        ))
    })?;
    // One typed conversion reports undeclared fields, wrong kinds and list-key problems.
    let mut errors: Vec<TypeError> = types
        .conversion_errors(&config)
        .into_iter()
        .map(|(path, message)| TypeError { path, message })
        .collect();
    if let Err(TypeErrors(more)) = validate(&config, types, false) {
        errors.extend(more);
    }
    if !errors.is_empty() {
        return Err(ApplyError::Invalid(format!(
            "failed to create typed patch object ({}): {}",
            gvknn(&config),
            TypeErrors(errors)
        )));
    }

    let merged = super::merge::merge(&live, &config, types);
    let id = ManagerId::new(manager, Operation::Apply, api_version, subresource);
    let previous = managers.get(&id).cloned();
    let last = previous.as_ref().map(|p| p.set.clone());
    managers.insert(
        id.clone(),
        Owned {
            set: field_set_of(&config, types),
            api_version: api_version.to_owned(),
            time: previous.and_then(|p| p.time),
        },
    );
    let new = prune(&merged, &managers, last.as_ref(), types);
    update(&live, &new, &mut managers, Some(&id), force, types).map_err(ApplyError::Conflicts)?;

    // Nobody owns type meta and system metadata.
    if let Some(owned) = managers.get_mut(&id) {
        owned.set = owned.set.difference(&strip_set());
        if owned.set.is_empty() {
            managers.remove(&id);
        }
    }
    let changed = !value::equals(&live, &new);
    // The applier's time moves only when the object changed, as upstream: a no-op apply keeps
    // the managedFields byte for byte.
    if changed && let Some(owned) = managers.get_mut(&id) {
        owned.time = Some(now.to_owned());
    }
    let mut result = if changed { new } else { live };
    write_managed_fields(&mut result, &entries_of(&managers));
    Ok(result)
}
