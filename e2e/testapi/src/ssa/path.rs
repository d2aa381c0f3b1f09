//! Field paths as structured-merge-diff models them (`fieldpath/element.go`, `path.go`): one
//! element per step — a field name, the key of a map-list item, the value of a set item or
//! the index of an atomic-list item — with upstream's order and rendering.

use super::value;
use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// One step of a field path.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// A field of an object (`.name`).
    Field(String),
    /// The item of a map-list with these key field values, sorted by key name
    /// (`[port=80,protocol="TCP"]`).
    Key(Vec<(String, Value)>),
    /// The item of a set with this value (`[="a"]`).
    Value(Value),
    /// The item of a list at this index (`[0]`); never written to FieldsV1 by Kubernetes for
    /// associative lists, but part of the format.
    Index(usize),
}

impl PathElement {
    /// A key element from unsorted key fields; sorts them by name as upstream does.
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Self::Key(fields)
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Field(_) => 0,
            Self::Key(_) => 1,
            Self::Value(_) => 2,
            Self::Index(_) => 3,
        }
    }
}

/// Upstream's `FieldList.Compare`: field by field (name, then value), shorter first.
fn compare_keys(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((na, va), (nb, vb)) in a.iter().zip(b) {
        match na.cmp(nb).then_with(|| value::compare(va, vb)) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

impl Ord for PathElement {
    /// Upstream's `PathElement.Compare`: fields, then keys, then values, then indexes.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Field(a), Self::Field(b)) => a.cmp(b),
            (Self::Key(a), Self::Key(b)) => compare_keys(a, b),
            (Self::Value(a), Self::Value(b)) => value::compare(a, b),
            (Self::Index(a), Self::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    /// Upstream's `PathElement.String`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(name) => write!(f, ".{name}"),
            Self::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value::to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            Self::Value(v) => write!(f, "[={}]", value::to_string(v)),
            Self::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A field path: `.spec.ports[port=80,protocol="TCP"].name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// The path of fields `names`, e.g. `Path::fields(&["spec", "replicas"])`.
    pub fn fields(names: &[&str]) -> Self {
        Self(
            names
                .iter()
                .map(|n| PathElement::Field((*n).to_owned()))
                .collect(),
        )
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_like_upstream() {
        let path = Path(vec![
            PathElement::Field("spec".into()),
            PathElement::Field("ports".into()),
            PathElement::key(vec![
                ("protocol".into(), json!("TCP")),
                ("port".into(), json!(80)),
            ]),
            PathElement::Field("name".into()),
        ]);
        assert_eq!(
            path.to_string(),
            r#".spec.ports[port=80,protocol="TCP"].name"#
        );
        assert_eq!(PathElement::Value(json!("a")).to_string(), r#"[="a"]"#);
        assert_eq!(PathElement::Index(3).to_string(), "[3]");
    }

    #[test]
    fn orders_fields_before_keys_before_values_before_indexes() {
        let mut pes = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            PathElement::key(vec![("name".into(), json!("a"))]),
            PathElement::Field("z".into()),
            PathElement::Field("a".into()),
        ];
        pes.sort();
        let rendered: Vec<String> = pes.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            vec![".a", ".z", "[name=\"a\"]", "[=\"a\"]", "[0]"]
        );
    }
}
