//! `metadata.managedFields`: its entries in and out of JSON, and the managers they stand for
//! (k8s.io/apimachinery `util/managedfields/internal`: `managedfields.go`,
//! `buildmanagerinfo.go`, `capmanagers.go`, `stripmeta.go`).

use super::fieldset::FieldSet;
use super::fieldsv1::FieldsV1Error;
use super::path::Path;
use super::time::unix_seconds;
use crate::gofmt;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The operation a managedFields entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Any other write: create, update, patch.
    Update,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    /// The field manager's name.
    pub manager: String,
    /// How it wrote.
    pub operation: Operation,
    /// The API version of the fields.
    pub api_version: String,
    /// When the entry last changed (RFC 3339), if known.
    pub time: Option<String>,
    /// The fields it owns (`fieldsType: FieldsV1`).
    pub fields: FieldSet,
    /// The subresource it wrote through, if any.
    pub subresource: Option<String>,
}

/// A managedFields list the server cannot use (upstream's `DecodeManagedFields` errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagedFieldsError {
    /// Not a list of objects.
    #[error("managedFields must be a list of objects")]
    NotAList,
    /// `operation` is neither `Apply` nor `Update`.
    #[error("operation must be `Apply` or `Update`")]
    Operation,
    /// `apiVersion` is empty.
    #[error("apiVersion must not be empty")]
    ApiVersion,
    /// `fieldsType` is missing.
    #[error("missing fieldsType in managed fields entry {0}")]
    MissingFieldsType(usize),
    /// `fieldsType` is not `FieldsV1`.
    #[error("invalid fieldsType {} in managed fields entry {index}", gofmt::quote(.fields_type))]
    FieldsType {
        /// The type found.
        fields_type: String,
        /// The entry's position.
        index: usize,
    },
    /// `fieldsV1` is not a valid field set.
    #[error("error decoding set: {0}")]
    Fields(#[from] FieldsV1Error),
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

impl ManagedFieldsEntry {
    /// Reads one entry; `index` is its position, for error messages.
    pub fn from_json(v: &Value, index: usize) -> Result<Self, ManagedFieldsError> {
        if !v.is_object() {
            return Err(ManagedFieldsError::NotAList);
        }
        let operation = match str_field(v, "operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err(ManagedFieldsError::Operation),
        };
        let api_version = str_field(v, "apiVersion");
        if api_version.is_empty() {
            return Err(ManagedFieldsError::ApiVersion);
        }
        match str_field(v, "fieldsType") {
            "FieldsV1" => {}
            "" => return Err(ManagedFieldsError::MissingFieldsType(index)),
            other => {
                return Err(ManagedFieldsError::FieldsType {
                    fields_type: other.to_owned(),
                    index,
                });
            }
        }
        let fields = match v.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f)?,
        };
        let subresource = Some(str_field(v, "subresource"))
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(Self {
            manager: str_field(v, "manager").to_owned(),
            operation,
            api_version: api_version.to_owned(),
            time: v.get("time").and_then(Value::as_str).map(str::to_owned),
            fields,
            subresource,
        })
    }

    /// The entry as the API server writes it (empty optional fields omitted).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), json!(self.manager));
        }
        m.insert("operation".into(), json!(self.operation.as_str()));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), json!(t));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(s) = &self.subresource {
            m.insert("subresource".into(), json!(s));
        }
        Value::Object(m)
    }
}

/// Reads `metadata.managedFields` of `obj` (absent or null: no entries).
pub fn read_managed_fields(obj: &Value) -> Result<Vec<ManagedFieldsEntry>, ManagedFieldsError> {
    match obj.get("metadata").and_then(|m| m.get("managedFields")) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, e)| ManagedFieldsEntry::from_json(e, i))
            .collect(),
        Some(_) => Err(ManagedFieldsError::NotAList),
    }
}

/// Sets `metadata.managedFields` of `obj` to `entries`, in the API server's order; no
/// entries removes the field, as the API server does.
pub fn write_managed_fields(obj: &mut Value, entries: &[ManagedFieldsEntry]) {
    let Some(o) = obj.as_object_mut() else { return };
    if entries.is_empty() && !o.contains_key("metadata") {
        return;
    }
    let metadata = o
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        metadata.remove("managedFields");
        return;
    }
    let mut sorted = entries.to_vec();
    sort_entries(&mut sorted);
    metadata.insert(
        "managedFields".into(),
        Value::Array(sorted.iter().map(ManagedFieldsEntry::to_json).collect()),
    );
}

/// Upstream's `sortEncodedManagedFields`: by operation, time, manager, apiVersion,
/// subresource.
fn sort_entries(entries: &mut [ManagedFieldsEntry]) {
    let secs = |e: &ManagedFieldsEntry| e.time.as_deref().and_then(unix_seconds).unwrap_or(0);
    entries.sort_by(|p, q| {
        p.operation
            .as_str()
            .cmp(q.operation.as_str())
            .then_with(|| secs(p).cmp(&secs(q)))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
}

/// Who a managedFields entry belongs to (upstream's manager identifier): appliers are one
/// entry whatever the API version, updaters one per API version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManagerId {
    /// The field manager's name.
    pub manager: String,
    /// Apply or Update.
    pub operation: Operation,
    /// The API version, for updaters only.
    pub api_version: Option<String>,
    /// The subresource written through.
    pub subresource: Option<String>,
}

impl ManagerId {
    /// The identifier of a write: an empty manager name is `unknown`, as upstream.
    pub fn new(
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
    ) -> Self {
        Self {
            manager: if manager.is_empty() {
                "unknown".into()
            } else {
                manager.to_owned()
            },
            operation,
            api_version: (operation == Operation::Update).then(|| api_version.to_owned()),
            subresource: subresource.filter(|s| !s.is_empty()).map(str::to_owned),
        }
    }

    fn of_entry(e: &ManagedFieldsEntry) -> Self {
        Self {
            manager: e.manager.clone(),
            operation: e.operation,
            api_version: (e.operation == Operation::Update).then(|| e.api_version.clone()),
            subresource: e.subresource.clone(),
        }
    }

    /// The identifier string upstream keys managers by (the JSON of the entry without time
    /// and fields); conflict messages sort managers by it.
    pub fn identifier(&self) -> String {
        let mut s = String::from("{");
        if !self.manager.is_empty() {
            s.push_str(&format!(
                "\"manager\":{},",
                gofmt::json_string(&self.manager)
            ));
        }
        s.push_str(&format!("\"operation\":\"{}\"", self.operation.as_str()));
        if let Some(v) = self.api_version.as_deref().filter(|v| !v.is_empty()) {
            s.push_str(&format!(",\"apiVersion\":{}", gofmt::json_string(v)));
        }
        if let Some(r) = &self.subresource {
            s.push_str(&format!(",\"subresource\":{}", gofmt::json_string(r)));
        }
        s.push('}');
        s
    }

    /// How conflict messages name the manager (upstream's `printManager`):
    /// `"kubectl" with subresource "status" using v1` for updaters, `"kubectl"` for appliers.
    pub fn describe(&self) -> String {
        let mut s = gofmt::quote(&self.manager);
        if let Some(r) = &self.subresource {
            s.push_str(&format!(" with subresource {}", gofmt::quote(r)));
        }
        if self.operation == Operation::Update {
            s.push_str(&format!(
                " using {}",
                self.api_version.as_deref().unwrap_or("")
            ));
        }
        s
    }
}

/// `validation.FieldManagerMaxLength`.
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// The field manager of a non-apply write (upstream's `managerOrUserAgent`): the
/// `fieldManager` parameter if given, else the User-Agent up to its first `/` (so kubectl's
/// `kubectl/v1.33.0 (linux/amd64) kubernetes/abc` becomes `kubectl`), without unprintable
/// characters and cut to 128 bytes.
pub fn manager_or_user_agent(field_manager: &str, user_agent: &str) -> String {
    if !field_manager.is_empty() {
        return field_manager.to_owned();
    }
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| gofmt::is_go_printable(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// What a manager owns, at which API version, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owned {
    pub(crate) set: FieldSet,
    pub(crate) api_version: String,
    pub(crate) time: Option<String>,
}

/// Every manager of an object.
pub(crate) type Managers = BTreeMap<ManagerId, Owned>;

/// The managers of decoded entries; a later entry with the same identifier wins, as upstream.
pub(crate) fn managers_of(entries: Vec<ManagedFieldsEntry>) -> Managers {
    entries
        .into_iter()
        .map(|e| {
            (
                ManagerId::of_entry(&e),
                Owned {
                    set: e.fields,
                    api_version: e.api_version,
                    time: e.time,
                },
            )
        })
        .collect()
}

/// The entries of `managers`.
pub(crate) fn entries_of(managers: &Managers) -> Vec<ManagedFieldsEntry> {
    managers
        .iter()
        .map(|(id, owned)| ManagedFieldsEntry {
            manager: id.manager.clone(),
            operation: id.operation,
            api_version: owned.api_version.clone(),
            time: owned.time.clone(),
            fields: owned.set.clone(),
            subresource: id.subresource.clone(),
        })
        .collect()
}

/// Fields nobody owns (upstream's `stripmeta.go`): type meta, `metadata` itself and the
/// system-managed metadata fields.
pub(crate) fn strip_set() -> FieldSet {
    let mut paths = vec![
        Path::fields(&["apiVersion"]),
        Path::fields(&["kind"]),
        Path::fields(&["metadata"]),
    ];
    for f in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        paths.push(Path::fields(&["metadata", f]));
    }
    FieldSet::from_paths(&paths)
}

/// Upstream's `DefaultMaxUpdateManagers`.
pub(crate) const MAX_UPDATE_MANAGERS: usize = 10;

/// Merges the oldest Update entries into per-version `ancient-changes` entries until at most
/// `max` Update entries remain (upstream's `capUpdateManagers`).
pub(crate) fn cap_update_managers(managers: &mut Managers, max: usize) {
    let mut updaters: Vec<ManagerId> = managers
        .keys()
        .filter(|id| id.operation == Operation::Update)
        .cloned()
        .collect();
    if updaters.len() <= max {
        return;
    }
    let secs = |m: &Managers, id: &ManagerId| {
        m.get(id)
            .and_then(|o| o.time.as_deref())
            .and_then(unix_seconds)
            .unwrap_or(0)
    };
    updaters.sort_by(|a, b| {
        secs(managers, a)
            .cmp(&secs(managers, b))
            .then_with(|| a.identifier().cmp(&b.identifier()))
    });
    let mut first_of_version: BTreeMap<String, ManagerId> = BTreeMap::new();
    let mut remaining = updaters.len();
    for id in updaters {
        if remaining <= max {
            break;
        }
        let Some(owned) = managers.get(&id).cloned() else {
            continue;
        };
        let version = owned.api_version.clone();
        let bucket = ManagerId::new("ancient-changes", Operation::Update, &version, None);
        match first_of_version.get(&version) {
            None => {
                first_of_version.insert(version, id);
            }
            Some(first) => {
                if !managers.contains_key(&bucket)
                    && let Some(moved) = managers.remove(first)
                {
                    managers.insert(bucket.clone(), moved);
                }
                let set = managers
                    .get(&bucket)
                    .map_or_else(FieldSet::new, |b| b.set.clone())
                    .union(&owned.set);
                managers.remove(&id);
                // The bucket takes the time of the entry merged last, the most recent one.
                managers.insert(
                    bucket,
                    Owned {
                        set,
                        api_version: version,
                        time: owned.time,
                    },
                );
                remaining -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_descriptions() {
        let apply = ManagerId::new("kubectl", Operation::Apply, "v1", None);
        assert_eq!(
            apply.identifier(),
            r#"{"manager":"kubectl","operation":"Apply"}"#
        );
        assert_eq!(apply.describe(), r#""kubectl""#);
        let update = ManagerId::new(
            "kube-controller-manager",
            Operation::Update,
            "apps/v1",
            Some("status"),
        );
        assert_eq!(
            update.identifier(),
            r#"{"manager":"kube-controller-manager","operation":"Update","apiVersion":"apps/v1","subresource":"status"}"#
        );
        assert_eq!(
            update.describe(),
            r#""kube-controller-manager" with subresource "status" using apps/v1"#
        );
        assert_eq!(
            ManagerId::new("", Operation::Apply, "v1", None).manager,
            "unknown"
        );
    }

    #[test]
    fn manager_from_user_agent() {
        assert_eq!(
            manager_or_user_agent("", "kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
            "kubectl"
        );
        assert_eq!(manager_or_user_agent("", "kube-rs/0.99"), "kube-rs");
        assert_eq!(manager_or_user_agent("mine", "kubectl/v1"), "mine");
        assert_eq!(manager_or_user_agent("", &"x".repeat(200)).len(), 128);
    }

    #[test]
    fn decoding_checks_like_upstream() {
        let bad = |v: Value| {
            ManagedFieldsEntry::from_json(&v, 0)
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            bad(json!({"operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}))
                .as_deref(),
            Some("operation must be `Apply` or `Update`")
        );
        assert_eq!(
            bad(json!({"operation": "Apply", "fieldsType": "FieldsV1"})).as_deref(),
            Some("apiVersion must not be empty")
        );
        assert_eq!(
            bad(json!({"operation": "Apply", "apiVersion": "v1"})).as_deref(),
            Some("missing fieldsType in managed fields entry 0")
        );
        assert_eq!(
            bad(json!({"operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"}))
                .as_deref(),
            Some(r#"invalid fieldsType "FieldsV2" in managed fields entry 0"#)
        );
    }

    #[test]
    fn entries_sort_by_operation_then_time() {
        let entry = |m: &str, op: Operation, t: &str| ManagedFieldsEntry {
            manager: m.into(),
            operation: op,
            api_version: "v1".into(),
            time: Some(t.into()),
            fields: FieldSet::new(),
            subresource: None,
        };
        let mut obj = json!({"metadata": {}});
        write_managed_fields(
            &mut obj,
            &[
                entry("b", Operation::Update, "2024-01-01T00:00:00Z"),
                entry("z", Operation::Apply, "2024-01-02T00:00:00Z"),
                entry("a", Operation::Update, "2024-01-01T00:00:00Z"),
                entry("y", Operation::Apply, "2024-01-01T00:00:00Z"),
            ],
        );
        let order: Vec<&str> = obj["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(order, vec!["y", "z", "a", "b"]);
        write_managed_fields(&mut obj, &[]);
        assert_eq!(obj, json!({"metadata": {}}));
    }

    #[test]
    fn update_managers_are_capped() {
        let mut managers = Managers::new();
        for i in 0..12 {
            managers.insert(
                ManagerId::new(&format!("m{i:02}"), Operation::Update, "v1", None),
                Owned {
                    set: FieldSet::from_paths(&[Path::fields(&[&format!("f{i}")])]),
                    api_version: "v1".into(),
                    time: Some(format!("2024-01-01T00:00:{i:02}Z")),
                },
            );
        }
        cap_update_managers(&mut managers, MAX_UPDATE_MANAGERS);
        assert_eq!(managers.len(), 10);
        let bucket = &managers[&ManagerId::new("ancient-changes", Operation::Update, "v1", None)];
        assert_eq!(bucket.set.paths().len(), 3);
        assert_eq!(bucket.time.as_deref(), Some("2024-01-01T00:00:02Z"));
    }
}
