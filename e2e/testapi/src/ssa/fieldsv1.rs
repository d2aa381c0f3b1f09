//! The FieldsV1 format of `metadata.managedFields[].fieldsV1` (structured-merge-diff
//! `fieldpath/serialize.go` and `serialize-pe.go`): a JSON object whose keys are serialized
//! path elements (`f:name`, `k:{"port":80,"protocol":"TCP"}`, `v:"a"`, `i:0`) and whose values
//! are the children; `{}` marks a member, and `"."` marks a node that is both a member and a
//! parent.

use super::fieldset::FieldSet;
use super::path::PathElement;
use crate::gofmt;
use serde_json::{Map, Value};

/// A `fieldsV1` document that is not a valid field set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldsV1Error(pub String);

/// The serialized form of one path element, as upstream's `SerializePathElement`.
pub fn serialize_path_element(pe: &PathElement) -> String {
    match pe {
        // Field names are written raw, unescaped, as upstream does.
        PathElement::Field(name) => format!("f:{name}"),
        PathElement::Key(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}:{}", gofmt::json_string(k), gofmt::json(v)))
                .collect();
            format!("k:{{{}}}", inner.join(","))
        }
        PathElement::Value(v) => format!("v:{}", gofmt::json(v)),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

/// Parses a serialized path element; `Ok(None)` for a type prefix this version does not know
/// (upstream drops those, for forward compatibility).
pub fn deserialize_path_element(s: &str) -> Result<Option<PathElement>, FieldsV1Error> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return Err(FieldsV1Error("key must be 2 characters long:".into()));
    }
    if bytes[1] != b':' {
        return Err(FieldsV1Error(format!("missing colon: {s}")));
    }
    let rest = &s[2..];
    let parse = |what: &str| -> Result<Value, FieldsV1Error> {
        serde_json::from_str(rest)
            .map_err(|e| FieldsV1Error(format!("parsing {what} {rest:?}: {e}")))
    };
    Ok(Some(match bytes[0] {
        b'f' => PathElement::Field(rest.to_owned()),
        b'v' => PathElement::Value(parse("value")?),
        b'k' => match parse("key")? {
            Value::Object(map) => PathElement::key(map.into_iter().collect()),
            other => return Err(FieldsV1Error(format!("key is not an object: {other}"))),
        },
        b'i' => PathElement::Index(rest.parse().map_err(|_| {
            FieldsV1Error(format!(
                "strconv.Atoi: parsing {}: invalid syntax",
                gofmt::quote(rest)
            ))
        })?),
        _ => return Ok(None),
    }))
}

impl FieldSet {
    /// The FieldsV1 JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit_value(false))
    }

    fn emit_value(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && (!self.members.is_empty() || !self.children.is_empty()) {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for m in &self.members {
            if !self.children.contains_key(m) {
                out.insert(serialize_path_element(m), Value::Object(Map::new()));
            }
        }
        for (pe, child) in &self.children {
            let is_member = self.members.contains(pe);
            out.insert(
                serialize_path_element(pe),
                Value::Object(child.emit_value(is_member)),
            );
        }
        out
    }

    /// The FieldsV1 text exactly as the API server writes it (`Set.ToJSON` of
    /// structured-merge-diff v6): `"."` first, then members and children in path-element
    /// order. A `serde_json::Value` cannot keep that key order; this can.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::from("{");
        self.emit_string(false, &mut out);
        out.push('}');
        out
    }

    fn emit_string(&self, include_self: bool, out: &mut String) {
        let mut first = true;
        let mut sep = |out: &mut String| {
            if !first {
                out.push(',');
            }
            first = false;
        };
        if include_self && (!self.members.is_empty() || !self.children.is_empty()) {
            sep(out);
            out.push_str("\".\":{}");
        }
        // Members and children interleave in path-element order; a node that is both is
        // written once, as a child that includes itself.
        let mut keys: Vec<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        keys.sort();
        keys.dedup();
        for pe in keys {
            sep(out);
            out.push_str(&gofmt::json_string(&serialize_path_element(pe)));
            out.push(':');
            match self.children.get(pe) {
                None => out.push_str("{}"),
                Some(child) => {
                    out.push('{');
                    child.emit_string(self.members.contains(pe), out);
                    out.push('}');
                }
            }
        }
    }

    /// Reads FieldsV1 JSON (upstream's `readIterV1`).
    pub fn from_fields_v1(v: &Value) -> Result<Self, FieldsV1Error> {
        let Value::Object(map) = v else {
            return Err(FieldsV1Error(format!(
                "fieldsV1 must be an object, got {v}"
            )));
        };
        Ok(read_level(map)?.0.unwrap_or_default())
    }
}

/// Reads one level: the set of its children (if any) and whether the node itself is a member.
fn read_level(map: &Map<String, Value>) -> Result<(Option<FieldSet>, bool), FieldsV1Error> {
    let mut children: Option<FieldSet> = None;
    let mut is_member = false;
    for (key, value) in map {
        if key == "." {
            is_member = true;
            continue;
        }
        let pe = deserialize_path_element(key)
            .map_err(|e| FieldsV1Error(format!("parsing key as path element: {e}")))?;
        let Some(pe) = pe else { continue };
        let Value::Object(inner) = value else {
            return Err(FieldsV1Error(format!("value of {key:?} must be an object")));
        };
        let (grandchildren, child_is_member) = read_level(inner)?;
        let set = children.get_or_insert_with(FieldSet::new);
        if child_is_member {
            set.members.insert(pe.clone());
        }
        if let Some(g) = grandchildren.filter(|g| !g.is_empty()) {
            set.children.insert(pe, g);
        }
    }
    // A node without children is a leaf member (`{}`).
    if children.is_none() {
        is_member = true;
    }
    Ok((children, is_member))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_elements_serialize_like_upstream() {
        let key = PathElement::key(vec![
            ("protocol".into(), json!("TCP")),
            ("port".into(), json!(80)),
        ]);
        assert_eq!(
            serialize_path_element(&key),
            r#"k:{"port":80,"protocol":"TCP"}"#
        );
        assert_eq!(
            serialize_path_element(&PathElement::Value(json!("a<b"))),
            r#"v:"a\u003cb""#
        );
        assert_eq!(
            serialize_path_element(&PathElement::Field("x.y/z".into())),
            "f:x.y/z"
        );
        assert_eq!(
            deserialize_path_element(r#"k:{"protocol":"TCP","port":80}"#)
                .ok()
                .flatten(),
            Some(key)
        );
        assert_eq!(deserialize_path_element("z:foo").ok().flatten(), None);
        assert!(deserialize_path_element("f").is_err());
        assert!(deserialize_path_element("fx").is_err());
    }

    #[test]
    fn dot_marks_member_with_children() {
        let v = json!({"f:a": {".": {}, "f:b": {}}, "f:c": {}});
        let set = FieldSet::from_fields_v1(&v).expect("valid");
        assert_eq!(set.paths().len(), 3);
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(
            set.to_fields_v1_string(),
            r#"{"f:a":{".":{},"f:b":{}},"f:c":{}}"#
        );
    }

    #[test]
    fn unknown_element_types_are_dropped() {
        let set = FieldSet::from_fields_v1(&json!({"f:a": {}, "x:b": {}})).expect("valid");
        assert_eq!(set.to_fields_v1(), json!({"f:a": {}}));
    }
}
