//! The decoded form of one `JSONSchemaProps` node of a CRD's `openAPIV3Schema`: every keyword
//! the API server knows, decoded with the JSON types Go's decoder insists on, so that a schema
//! the server would not even decode is refused here too.

use super::errors::{FieldPath, SchemaError};
use super::goregex;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `additionalProperties`: a boolean or a schema.
#[derive(Debug, Clone)]
pub(crate) enum Additional {
    Bool(bool),
    Schema(Box<Node>),
}

/// A `pattern` with its compiled form (`None` when Go's RE2 would accept it but we cannot
/// translate it, or when it is invalid: the CRD checks report both).
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub source: String,
    pub compiled: Result<Regex, String>,
}

/// One `x-kubernetes-validations` rule.
#[derive(Debug, Clone)]
pub(crate) struct CelRule {
    pub rule: String,
    pub message: Option<String>,
    pub message_expression: Option<String>,
    pub reason: Option<String>,
    pub field_path: Option<String>,
}

/// One schema node. Fields mirror `apiextensions.JSONSchemaProps`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub type_: String,
    /// `format` as written.
    pub format: String,
    /// `format` after the server's `StripUnsupportedFormatsPostProcess`: empty when the
    /// server ignores it.
    pub effective_format: String,
    pub title: String,
    pub description: String,
    pub nullable: bool,
    pub default: Option<Value>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: Option<Pattern>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub multiple_of: Option<f64>,
    pub enum_: Option<Vec<Value>>,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub items: Option<Box<Node>>,
    /// `items` given as an array of schemas (forbidden; kept to report it).
    pub items_array: bool,
    pub all_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub properties: BTreeMap<String, Node>,
    pub additional_properties: Option<Additional>,
    pub external_docs: bool,
    /// Keywords the server decodes but rejects in CRDs (`id`, `$schema`, `$ref`,
    /// `patternProperties`, `dependencies`, `additionalItems`, `definitions`).
    pub unsupported_keywords: Vec<&'static str>,
    pub x_preserve_unknown_fields: Option<bool>,
    pub x_embedded_resource: bool,
    pub x_int_or_string: bool,
    pub x_list_map_keys: Vec<String>,
    pub x_list_type: Option<String>,
    pub x_map_type: Option<String>,
    pub x_validations: Vec<CelRule>,
}

/// String formats the API server validates for CRDs (Kubernetes 1.33: the formats of
/// `supportedVersionedFormats` introduced in 1.0, names normalized by dropping `-`).
/// Every other string format is ignored by the server.
const SUPPORTED_STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// `StripUnsupportedFormatsPostProcessorForVersion`: which formats survive for a type.
fn effective_format(type_: &str, format: &str) -> String {
    if format.is_empty() {
        return String::new();
    }
    let keep = match type_ {
        "" | "string" => SUPPORTED_STRING_FORMATS.contains(&format.replace('-', "").as_str()),
        "integer" => format == "int32" || format == "int64",
        "number" => format == "float" || format == "double",
        _ => false,
    };
    if keep {
        format.to_string()
    } else {
        String::new()
    }
}

fn malformed(path: &FieldPath, detail: impl Into<String>) -> SchemaError {
    SchemaError::Malformed {
        path: path.to_string(),
        detail: detail.into(),
    }
}

fn get_string(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<String, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(malformed(&path.child(key), "must be a string")),
    }
}

fn get_bool(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<Option<bool>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(malformed(&path.child(key), "must be a boolean")),
    }
}

fn get_f64(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<Option<f64>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(malformed(&path.child(key), "must be a number")),
    }
}

fn get_i64(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<Option<i64>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| malformed(&path.child(key), "must be an integer (int64)")),
        Some(_) => Err(malformed(&path.child(key), "must be an integer (int64)")),
    }
}

fn get_strings(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<Vec<String>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed(&path.child(key).index(i), "must be a string")),
            })
            .collect(),
        Some(_) => Err(malformed(&path.child(key), "must be a list of strings")),
    }
}

fn get_schema_list(
    obj: &Map<String, Value>,
    key: &str,
    path: &FieldPath,
) -> Result<Vec<Node>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| Node::parse(v, &path.child(key).index(i)))
            .collect(),
        Some(_) => Err(malformed(&path.child(key), "must be a list of schemas")),
    }
}

fn get_rules(obj: &Map<String, Value>, path: &FieldPath) -> Result<Vec<CelRule>, SchemaError> {
    const KEY: &str = "x-kubernetes-validations";
    let Some(v) = obj.get(KEY) else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        if v.is_null() {
            return Ok(Vec::new());
        }
        return Err(malformed(&path.child(KEY), "must be a list of rules"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = path.child(KEY).index(i);
            let Value::Object(r) = r else {
                return Err(malformed(&p, "must be an object"));
            };
            let opt = |k: &str| -> Result<Option<String>, SchemaError> {
                match r.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(_) => Err(malformed(&p.child(k), "must be a string")),
                }
            };
            Ok(CelRule {
                rule: opt("rule")?.unwrap_or_default(),
                message: opt("message")?,
                message_expression: opt("messageExpression")?,
                reason: opt("reason")?,
                field_path: opt("fieldPath")?,
            })
        })
        .collect()
}

impl Node {
    /// Decodes a `JSONSchemaProps`. `path` names it in errors (`openAPIV3Schema…`).
    pub(crate) fn parse(v: &Value, path: &FieldPath) -> Result<Self, SchemaError> {
        let Value::Object(obj) = v else {
            return Err(malformed(path, "must be an object"));
        };
        let mut n = Node {
            type_: get_string(obj, "type", path)?,
            format: get_string(obj, "format", path)?,
            title: get_string(obj, "title", path)?,
            description: get_string(obj, "description", path)?,
            nullable: get_bool(obj, "nullable", path)?.unwrap_or(false),
            // `default: null` decodes to "no default" (the JSON wrapper keeps no raw bytes).
            default: obj.get("default").filter(|d| !d.is_null()).cloned(),
            maximum: get_f64(obj, "maximum", path)?,
            exclusive_maximum: get_bool(obj, "exclusiveMaximum", path)?.unwrap_or(false),
            minimum: get_f64(obj, "minimum", path)?,
            exclusive_minimum: get_bool(obj, "exclusiveMinimum", path)?.unwrap_or(false),
            max_length: get_i64(obj, "maxLength", path)?,
            min_length: get_i64(obj, "minLength", path)?,
            max_items: get_i64(obj, "maxItems", path)?,
            min_items: get_i64(obj, "minItems", path)?,
            unique_items: get_bool(obj, "uniqueItems", path)?.unwrap_or(false),
            multiple_of: get_f64(obj, "multipleOf", path)?,
            max_properties: get_i64(obj, "maxProperties", path)?,
            min_properties: get_i64(obj, "minProperties", path)?,
            required: get_strings(obj, "required", path)?,
            all_of: get_schema_list(obj, "allOf", path)?,
            one_of: get_schema_list(obj, "oneOf", path)?,
            any_of: get_schema_list(obj, "anyOf", path)?,
            external_docs: obj.get("externalDocs").is_some_and(|d| !d.is_null()),
            x_preserve_unknown_fields: get_bool(obj, "x-kubernetes-preserve-unknown-fields", path)?,
            x_embedded_resource: get_bool(obj, "x-kubernetes-embedded-resource", path)?
                .unwrap_or(false),
            x_int_or_string: get_bool(obj, "x-kubernetes-int-or-string", path)?.unwrap_or(false),
            x_list_map_keys: get_strings(obj, "x-kubernetes-list-map-keys", path)?,
            x_validations: get_rules(obj, path)?,
            ..Node::default()
        };
        // kube-openapi sees int-or-string as the two types integer and string, for which the
        // format post-processing applies the rules of untyped schemas.
        let format_type = if n.x_int_or_string {
            ""
        } else {
            n.type_.as_str()
        };
        n.effective_format = effective_format(format_type, &n.format);
        let pattern = get_string(obj, "pattern", path)?;
        if !pattern.is_empty() {
            n.compile_pattern(pattern);
        }
        let list_type = get_string(obj, "x-kubernetes-list-type", path)?;
        n.x_list_type = obj
            .get("x-kubernetes-list-type")
            .filter(|v| !v.is_null())
            .map(|_| list_type);
        let map_type = get_string(obj, "x-kubernetes-map-type", path)?;
        n.x_map_type = obj
            .get("x-kubernetes-map-type")
            .filter(|v| !v.is_null())
            .map(|_| map_type);
        match obj.get("enum") {
            None | Some(Value::Null) => {}
            Some(Value::Array(values)) => n.enum_ = Some(values.clone()),
            Some(_) => return Err(malformed(&path.child("enum"), "must be a list")),
        }
        if let Some(not) = obj.get("not").filter(|v| !v.is_null()) {
            n.not = Some(Box::new(Node::parse(not, &path.child("not"))?));
        }
        match obj.get("items") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                // JSONSchemaPropsOrArray: an array of schemas decodes but is forbidden later.
                for (i, item) in list.iter().enumerate() {
                    Node::parse(item, &path.child("items").index(i))?;
                }
                n.items_array = true;
            }
            Some(items) => n.items = Some(Box::new(Node::parse(items, &path.child("items"))?)),
        }
        match obj.get("properties") {
            None | Some(Value::Null) => {}
            Some(Value::Object(props)) => {
                for (k, v) in props {
                    let child = Node::parse(v, &path.child("properties").key(k))?;
                    n.properties.insert(k.clone(), child);
                }
            }
            Some(_) => return Err(malformed(&path.child("properties"), "must be an object")),
        }
        match obj.get("additionalProperties") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => n.additional_properties = Some(Additional::Bool(*b)),
            Some(schema) => {
                let child = Node::parse(schema, &path.child("additionalProperties"))?;
                n.additional_properties = Some(Additional::Schema(Box::new(child)));
            }
        }
        for (key, name) in [
            ("id", "id"),
            ("$schema", "$schema"),
            ("$ref", "$ref"),
            ("patternProperties", "patternProperties"),
            ("dependencies", "dependencies"),
            ("additionalItems", "additionalItems"),
            ("definitions", "definitions"),
        ] {
            let present = match obj.get(key) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Object(m)) => !m.is_empty() || key == "additionalItems",
                Some(_) => true,
            };
            if present {
                n.unsupported_keywords.push(name);
            }
        }
        Ok(n)
    }

    fn compile_pattern(&mut self, source: String) {
        let compiled = goregex::compile(&source);
        self.pattern = Some(Pattern { source, compiled });
    }

    /// The schema that applies to values of this object's unknown keys.
    pub(crate) fn additional_schema(&self) -> Option<&Node> {
        match &self.additional_properties {
            Some(Additional::Schema(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn preserves_unknown_fields(&self) -> bool {
        self.x_preserve_unknown_fields == Some(true)
    }

    /// The schema of field `k` of an object of this schema: the property if declared,
    /// otherwise the `additionalProperties` schema.
    pub(crate) fn field_schema(&self, k: &str) -> Option<&Node> {
        self.properties.get(k).or_else(|| self.additional_schema())
    }

    /// The `type` as kube-openapi sees it: `x-kubernetes-int-or-string` becomes
    /// `["integer", "string"]`.
    pub(crate) fn openapi_types(&self) -> Vec<&str> {
        if self.x_int_or_string {
            vec!["integer", "string"]
        } else if self.type_.is_empty() {
            Vec::new()
        } else {
            vec![self.type_.as_str()]
        }
    }
}
