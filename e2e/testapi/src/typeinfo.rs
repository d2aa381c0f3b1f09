//! How lists and maps of a resource merge: the information server-side apply, strategic merge
//! patch and field ownership need about a type, whether it comes from a CRD's structural
//! schema (`x-kubernetes-list-type`, `x-kubernetes-map-type`) or from the built-in table of a
//! Kubernetes kind (`patchStrategy`/`patchMergeKey`, `listType`).

/// One step of a path into an object, as used to ask about the type at that place.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An object field.
    Field(String),
    /// Any element of a list (type information is the same for every element).
    Item,
    /// Any value of a string-keyed map (`additionalProperties`).
    Value,
}

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole; owned as a whole.
    Atomic,
    /// Scalar items, merged by value.
    Set,
    /// Object items, merged by the values of these key fields.
    Map(Vec<String>),
}

/// How an object-valued field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    /// Fields merge and are owned one by one.
    Granular,
    /// Replaced as a whole; owned as a whole.
    Atomic,
}

/// Type information about the places of one resource kind.
pub trait TypeInfo: Send + Sync {
    /// The list type at `path` (which must name a list); unknown places are atomic, as in
    /// Kubernetes for untyped lists.
    fn list_type(&self, path: &[Step]) -> ListType;
    /// The map type at `path` (which must name an object); unknown places are granular.
    fn map_type(&self, path: &[Step]) -> MapType;

    /// Whether `name` is a declared property of the object at `path` (a struct field, addressed
    /// with [`Step::Field`]) rather than a key of a string-keyed map or an unknown field
    /// (addressed with [`Step::Value`]). Field ownership depends on it, as in
    /// structured-merge-diff: a map key is owned as a field in its own right (`"."` in
    /// FieldsV1), a struct field only through its leaves. Default: declared.
    fn is_declared_field(&self, path: &[Step], name: &str) -> bool {
        let _ = (path, name);
        true
    }

    /// The default of key field `key` of the items of the map-list at `path`, used when an
    /// item omits it (structured-merge-diff reads key defaults from the schema, e.g. the
    /// `protocol: TCP` of Service and container ports). Default: none.
    fn key_default(&self, path: &[Step], key: &str) -> Option<serde_json::Value> {
        let _ = (path, key);
        None
    }

    /// What server-side apply's typed conversion refuses in an applied configuration beyond
    /// list keys (fields the type does not declare, values of the wrong kind), as (rendered
    /// path, message). Default: nothing, for kinds this server has no schema of.
    fn conversion_errors(&self, object: &serde_json::Value) -> Vec<(String, String)> {
        let _ = object;
        Vec::new()
    }

    /// How strategic merge patch treats the list at `path` (`patchStrategy`/`patchMergeKey`).
    /// Default: derived from [`TypeInfo::list_type`], which matches Kubernetes for almost every
    /// field; override where the tags disagree.
    fn patch_strategy(&self, path: &[Step]) -> PatchStrategy {
        PatchStrategy::from_list_type(&self.list_type(path))
    }
}

/// How strategic merge patch merges a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchStrategy {
    /// No `patchStrategy`: the patch list replaces the live list.
    Replace,
    /// `patchStrategy: merge` on a list of scalars: union by value.
    MergeScalars,
    /// `patchStrategy: merge` with `patchMergeKey`: items merge by that one key.
    MergeByKey(String),
}

impl PatchStrategy {
    /// The strategy Kubernetes tags give a list of this type: map-lists merge by their first
    /// key (which is the `patchMergeKey` for every built-in kind), sets merge by value.
    pub fn from_list_type(list_type: &ListType) -> Self {
        match list_type {
            ListType::Atomic => Self::Replace,
            ListType::Set => Self::MergeScalars,
            ListType::Map(keys) => keys
                .first()
                .map_or(Self::MergeScalars, |k| Self::MergeByKey(k.clone())),
        }
    }
}

/// Type information for a kind we know nothing about: every list atomic, every map granular.
#[derive(Debug, Clone, Copy, Default)]
pub struct Untyped;

impl TypeInfo for Untyped {
    fn list_type(&self, _path: &[Step]) -> ListType {
        ListType::Atomic
    }
    fn map_type(&self, _path: &[Step]) -> MapType {
        MapType::Granular
    }
    /// structured-merge-diff's deduced type for schemaless objects is a map of anything, so
    /// every key is a map key (owned as a field in its own right), never a declared field.
    fn is_declared_field(&self, _path: &[Step], _name: &str) -> bool {
        false
    }
}
