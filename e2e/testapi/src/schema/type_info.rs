//! How lists and maps of a custom resource merge, read from the structural schema
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`), and a
//! read-only view of schema nodes for the server.

use super::StructuralSchema;
use super::node::{Additional, Node};
use crate::typeinfo::{ListType, MapType, Step, TypeInfo};
use serde_json::Value;

/// The node at `path`, following properties, then `additionalProperties` for fields.
pub(crate) fn walk<'a>(root: &'a Node, path: &[Step]) -> Option<&'a Node> {
    let mut n = root;
    for step in path {
        n = match step {
            Step::Field(name) => n.field_schema(name)?,
            Step::Item => n.items.as_deref()?,
            Step::Value => n.additional_schema()?,
        };
    }
    Some(n)
}

fn list_type_of(n: &Node) -> ListType {
    match n.x_list_type.as_deref() {
        Some("set") => ListType::Set,
        Some("map") => ListType::Map(n.x_list_map_keys.clone()),
        // CRD lists without a list type are atomic.
        _ => ListType::Atomic,
    }
}

fn map_type_of(n: &Node) -> MapType {
    match n.x_map_type.as_deref() {
        Some("atomic") => MapType::Atomic,
        _ => MapType::Granular,
    }
}

impl TypeInfo for StructuralSchema {
    fn list_type(&self, path: &[Step]) -> ListType {
        walk(&self.root, path).map_or(ListType::Atomic, list_type_of)
    }

    fn map_type(&self, path: &[Step]) -> MapType {
        walk(&self.root, path).map_or(MapType::Granular, map_type_of)
    }

    fn conversion_errors(&self, object: &Value) -> Vec<(String, String)> {
        StructuralSchema::conversion_errors(self, object)
    }
}

/// A read-only view of one schema node.
#[derive(Debug, Clone, Copy)]
pub struct SchemaNode<'a> {
    node: &'a Node,
}

impl<'a> SchemaNode<'a> {
    pub(crate) fn new(node: &'a Node) -> Self {
        Self { node }
    }

    /// `type` (empty if unset; `x-kubernetes-int-or-string` nodes usually have none).
    #[must_use]
    pub fn type_name(&self) -> &'a str {
        &self.node.type_
    }

    /// `format` as written in the CRD (the server ignores formats it does not know).
    #[must_use]
    pub fn format(&self) -> &'a str {
        &self.node.format
    }

    #[must_use]
    pub fn nullable(&self) -> bool {
        self.node.nullable
    }

    #[must_use]
    pub fn default(&self) -> Option<&'a Value> {
        self.node.default.as_ref()
    }

    #[must_use]
    pub fn is_int_or_string(&self) -> bool {
        self.node.x_int_or_string
    }

    #[must_use]
    pub fn preserves_unknown_fields(&self) -> bool {
        self.node.preserves_unknown_fields()
    }

    #[must_use]
    pub fn is_embedded_resource(&self) -> bool {
        self.node.x_embedded_resource
    }

    #[must_use]
    pub fn required(&self) -> &'a [String] {
        &self.node.required
    }

    /// Names of the declared properties, sorted.
    pub fn property_names(&self) -> impl Iterator<Item = &'a str> {
        self.node.properties.keys().map(String::as_str)
    }

    /// The schema of field `name` (declared property, else `additionalProperties`).
    #[must_use]
    pub fn field(&self, name: &str) -> Option<SchemaNode<'a>> {
        self.node.field_schema(name).map(SchemaNode::new)
    }

    /// The schema of list items.
    #[must_use]
    pub fn items(&self) -> Option<SchemaNode<'a>> {
        self.node.items.as_deref().map(SchemaNode::new)
    }

    /// The schema of map values (`additionalProperties` given as a schema).
    #[must_use]
    pub fn additional_properties(&self) -> Option<SchemaNode<'a>> {
        self.node.additional_schema().map(SchemaNode::new)
    }

    /// Whether unknown keys are allowed by `additionalProperties: true` or a schema.
    #[must_use]
    pub fn allows_additional_properties(&self) -> bool {
        matches!(
            self.node.additional_properties,
            Some(Additional::Bool(true) | Additional::Schema(_))
        )
    }

    #[must_use]
    pub fn list_type(&self) -> ListType {
        list_type_of(self.node)
    }

    #[must_use]
    pub fn map_type(&self) -> MapType {
        map_type_of(self.node)
    }
}
