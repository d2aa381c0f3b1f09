//! CRD structural schemas, as `apiextensions-apiserver` handles them: the checks a CRD
//! version's `openAPIV3Schema` must pass, and what the server does with a custom resource on
//! the way in — prune unknown fields, drop disallowed nulls, apply defaults, validate (kube-
//! openapi value validation plus list-set/map uniqueness) — with the server's field paths and
//! error texts.
//!
//! The order the server runs them in (and the HTTP layer should too): decode, [`prune`]
//! (whose returned paths feed strict field validation), [`apply_defaults`], ObjectMeta
//! handling (not in this module), [`validate`].
//!
//! Behaviour the module does not reproduce, which the server should refuse loudly rather
//! than accept silently, is listed by [`StructuralSchema::unsupported_features`] and
//! [`StructuralSchema::unenforced_cel_rules`].
//!
//! [`prune`]: StructuralSchema::prune
//! [`apply_defaults`]: StructuralSchema::apply_defaults
//! [`validate`]: StructuralSchema::validate

mod crd_rules;
mod defaults;
mod errors;
mod formats;
mod goregex;
mod listtype;
mod node;
mod prune;
mod structural;
mod type_info;
mod typed;
mod validate;

#[cfg(test)]
mod tests;

pub use errors::{FieldError, FieldErrorKind, SchemaError, aggregate, invalid_message};
pub use type_info::SchemaNode;

use errors::FieldPath;
use node::Node;
use serde_json::Value;
use std::sync::Arc;

/// The parsed, checked `openAPIV3Schema` of one CRD version. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StructuralSchema {
    root: Arc<Node>,
}

impl StructuralSchema {
    /// Parses and checks a CRD version's `openAPIV3Schema`, refusing what the API server
    /// refuses; error paths start at `openAPIV3Schema`.
    ///
    /// # Errors
    /// [`SchemaError::Malformed`] if the JSON does not decode as a schema,
    /// [`SchemaError::Invalid`] with the server's field errors if it is not acceptable
    /// (not structural, bad list types, defaults that do not validate, …).
    pub fn from_json(openapi_v3_schema: &Value) -> Result<Self, SchemaError> {
        Self::from_json_at(openapi_v3_schema, "openAPIV3Schema")
    }

    /// As [`from_json`](Self::from_json), with error paths under `path` — give
    /// `spec.versions[0].schema.openAPIV3Schema` to get exactly the CRD's causes.
    ///
    /// # Errors
    /// As [`from_json`](Self::from_json).
    pub fn from_json_at(openapi_v3_schema: &Value, path: &str) -> Result<Self, SchemaError> {
        let base = FieldPath::new(path);
        let root = Node::parse(openapi_v3_schema, &base)?;
        let errs = structural::check(&root, &base);
        if !errs.is_empty() {
            return Err(SchemaError::Invalid(errs));
        }
        Ok(Self {
            root: Arc::new(root),
        })
    }

    /// Removes what the schema does not know (never the root `apiVersion`, `kind`,
    /// `metadata`, nor those of embedded resources; everything under
    /// `x-kubernetes-preserve-unknown-fields` that no schema describes is kept), then the
    /// nulls of fields that are neither nullable nor defaulted. Returns the pruned paths,
    /// sorted (`spec.foo`, `spec.list[0].bar`): the server reports them as
    /// `unknown field "spec.foo"` under strict field validation.
    pub fn prune(&self, object: &mut Value) -> Vec<String> {
        let unknown = prune::prune_resource(object, &self.root);
        prune::drop_non_nullable_nulls(object, Some(&self.root));
        unknown
    }

    /// What server-side apply's typed conversion refuses in `object` (an applied
    /// configuration): undeclared fields and values of the wrong kind, as (path, message)
    /// with structured-merge-diff's paths (`.spec.foo`).
    #[must_use]
    pub fn conversion_errors(&self, object: &Value) -> Vec<(String, String)> {
        typed::conversion_errors(&self.root, object)
    }

    /// Applies defaults: missing fields of objects that exist (and their non-nullable nulls)
    /// get their default; objects that are absent stay absent unless they have a default
    /// themselves, in which case their nested defaults apply too.
    pub fn apply_defaults(&self, object: &mut Value) {
        defaults::apply(object, &self.root);
    }

    /// Validates a (pruned, defaulted) custom resource: the schema's value validations, then
    /// the uniqueness of `x-kubernetes-list-type: set|map` lists. ObjectMeta is the
    /// server's business; `metadata.name`/`generateName` restrictions of the schema are
    /// checked here, as upstream does.
    #[must_use]
    pub fn validate(&self, object: &Value) -> Vec<FieldError> {
        let mut errs = validate::validate_value(&self.root, object);
        if let Value::Object(map) = object {
            errs.extend(listtype::validate(&FieldPath::new(""), &self.root, map));
        }
        errs
    }

    /// As [`validate`](Self::validate), for an update from `old`: errors in values that did
    /// not change are ignored, as the server does since validation ratcheting (on by
    /// default since 1.30, GA in 1.33). Values correlate by field name, map key and
    /// map-list keys; items of atomic and set lists do not correlate (but a whole unchanged
    /// list does). List uniqueness is never ratcheted.
    #[must_use]
    pub fn validate_update(&self, object: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate::validate_update(&self.root, object, old);
        if let Value::Object(map) = object {
            errs.extend(listtype::validate(&FieldPath::new(""), &self.root, map));
        }
        errs
    }

    /// The `x-kubernetes-validations` rules (CEL) of the schema, which this module does not
    /// evaluate: `(path, rule)` with paths like `spec.blocks[*].cidr` (`<root>` for the
    /// object itself; `[*]` for every list item and map value).
    #[must_use]
    pub fn unenforced_cel_rules(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        collect_rules(&self.root, "", &mut out);
        out
    }

    /// Schema features whose server behaviour is not reproduced here, each with where it is
    /// used (`format: email at spec.contact`). Empty for every upstream Cilium and Gateway
    /// API CRD.
    #[must_use]
    pub fn unsupported_features(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_unsupported(&self.root, "", &mut out);
        out
    }

    /// The schema at `path` (`Item` for list items, `Value` for map values), if the schema
    /// describes that place.
    #[must_use]
    pub fn at(&self, path: &[crate::typeinfo::Step]) -> Option<SchemaNode<'_>> {
        type_info::walk(&self.root, path).map(SchemaNode::new)
    }

    /// The root of the schema.
    #[must_use]
    pub fn root(&self) -> SchemaNode<'_> {
        SchemaNode::new(&self.root)
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "<root>".to_string()
    } else {
        path.to_string()
    }
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn collect_rules(n: &Node, path: &str, out: &mut Vec<(String, String)>) {
    for r in &n.x_validations {
        out.push((display_path(path), r.rule.clone()));
    }
    for (k, p) in &n.properties {
        collect_rules(p, &join(path, k), out);
    }
    if let Some(items) = &n.items {
        collect_rules(items, &format!("{path}[*]"), out);
    }
    if let Some(ap) = n.additional_schema() {
        collect_rules(ap, &format!("{path}[*]"), out);
    }
}

fn collect_unsupported(n: &Node, path: &str, out: &mut Vec<String>) {
    if !n.effective_format.is_empty()
        && formats::in_registry(&n.effective_format)
        && !formats::is_known(&n.effective_format)
    {
        out.push(format!(
            "format: {} at {}",
            n.effective_format,
            display_path(path)
        ));
    }
    if n.x_embedded_resource {
        out.push(format!(
            "x-kubernetes-embedded-resource at {} (ObjectMeta of embedded objects is neither coerced nor validated)",
            display_path(path)
        ));
    }
    for sub in n
        .all_of
        .iter()
        .chain(&n.any_of)
        .chain(&n.one_of)
        .chain(n.not.as_deref())
    {
        collect_unsupported(sub, path, out);
    }
    for (k, p) in &n.properties {
        collect_unsupported(p, &join(path, k), out);
    }
    if let Some(items) = &n.items {
        collect_unsupported(items, &format!("{path}[*]"), out);
    }
    if let Some(ap) = n.additional_schema() {
        collect_unsupported(ap, &format!("{path}[*]"), out);
    }
}
