//! Compares a generated CRD with its upstream counterpart, property path by property path.
//!
//! Descriptions are ignored (ours are our own words); everything the API server or kubectl
//! acts on is compared: names, scope, versions, subresources, printer columns and, for every
//! property, type, format, enum, default, required-ness, pattern, bounds, the
//! `x-kubernetes-*` extensions and CEL validation rules.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The schema keywords compared at every property path.
const SCHEMA_ASPECTS: &[&str] = &[
    "type",
    "format",
    "enum",
    "default",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

/// One way a generated CRD differs from upstream.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// CRD name, e.g. `ciliumloadbalancerippools.cilium.io`.
    pub crd: String,
    /// Version name, or `-` for CRD-level aspects.
    pub version: String,
    /// Property path (`.spec.blocks[].cidr`, `{}` for map values), or `-`.
    pub path: String,
    /// What differs: a schema keyword, `required`, `property`, or a CRD-level field.
    pub aspect: String,
    pub ours: String,
    pub upstream: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}: ours {}, upstream {}",
            self.crd, self.version, self.path, self.aspect, self.ours, self.upstream
        )
    }
}

/// Every difference between two CRDs given as JSON, sorted.
pub fn compare(ours: &Value, upstream: &Value) -> Vec<Difference> {
    let crd = text(&upstream["metadata"]["name"]);
    let mut out = Vec::new();
    let mut push = |version: &str, path: &str, aspect: &str, a: String, b: String| {
        if a != b {
            out.push(Difference {
                crd: crd.clone(),
                version: version.into(),
                path: path.into(),
                aspect: aspect.into(),
                ours: a,
                upstream: b,
            });
        }
    };

    let (o, u) = (&ours["spec"], &upstream["spec"]);
    push(
        "-",
        "-",
        "metadata.name",
        text(&ours["metadata"]["name"]),
        crd.clone(),
    );
    for field in ["group", "scope"] {
        push("-", "-", field, text(&o[field]), text(&u[field]));
    }
    for field in [
        "kind",
        "listKind",
        "plural",
        "singular",
        "shortNames",
        "categories",
    ] {
        push(
            "-",
            "-",
            &format!("names.{field}"),
            text(&o["names"][field]),
            text(&u["names"][field]),
        );
    }

    let ours_versions = versions(o);
    let upstream_versions = versions(u);
    let names = |m: &BTreeMap<String, &Value>| m.keys().cloned().collect::<Vec<_>>().join(",");
    push(
        "-",
        "-",
        "versions",
        names(&ours_versions),
        names(&upstream_versions),
    );
    for (name, uv) in &upstream_versions {
        let Some(ov) = ours_versions.get(name) else {
            continue;
        };
        for field in [
            "served",
            "storage",
            "deprecated",
            "deprecationWarning",
            "subresources",
        ] {
            push(name, "-", field, text(&ov[field]), text(&uv[field]));
        }
        push(
            name,
            "-",
            "additionalPrinterColumns",
            text(&printer_columns(ov)),
            text(&printer_columns(uv)),
        );
        let ours_schema = flatten(&ov["schema"]["openAPIV3Schema"]);
        let upstream_schema = flatten(&uv["schema"]["openAPIV3Schema"]);
        let paths: BTreeSet<_> = ours_schema.keys().chain(upstream_schema.keys()).collect();
        for path in paths {
            match (ours_schema.get(path), upstream_schema.get(path)) {
                (Some(a), Some(b)) => {
                    for (aspect, a_value) in a {
                        push(name, path, aspect, a_value.clone(), b[aspect].clone());
                    }
                }
                (a, b) => push(
                    name,
                    path,
                    "property",
                    presence(a.is_some()),
                    presence(b.is_some()),
                ),
            }
        }
    }
    out.sort();
    out
}

fn presence(present: bool) -> String {
    if present { "present" } else { "absent" }.into()
}

fn versions(spec: &Value) -> BTreeMap<String, &Value> {
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (text(&v["name"]), v))
        .collect()
}

/// Printer columns with their descriptions dropped (prose is ours).
fn printer_columns(version: &Value) -> Value {
    let mut columns = version["additionalPrinterColumns"].clone();
    if let Some(list) = columns.as_array_mut() {
        for column in list.iter_mut().filter_map(Value::as_object_mut) {
            column.remove("description");
        }
    }
    columns
}

/// Property path → aspect → canonical text of that aspect (`-` when absent).
fn flatten(schema: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    walk(schema, String::new(), false, &mut out);
    out
}

fn walk(
    schema: &Value,
    path: String,
    required: bool,
    out: &mut BTreeMap<String, BTreeMap<String, String>>,
) {
    let mut facts: BTreeMap<String, String> = SCHEMA_ASPECTS
        .iter()
        .map(|aspect| ((*aspect).to_owned(), canonical(aspect, &schema[*aspect])))
        .collect();
    facts.insert("required".into(), required.to_string());
    let required_children: BTreeSet<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let display = if path.is_empty() { "." } else { &path };
    out.insert(display.to_owned(), facts);
    if let Some(properties) = schema["properties"].as_object() {
        for (key, child) in properties {
            walk(
                child,
                format!("{path}.{key}"),
                required_children.contains(key),
                out,
            );
        }
    }
    if schema["items"].is_object() {
        walk(&schema["items"], format!("{path}[]"), false, out);
    }
    if schema["additionalProperties"].is_object() {
        walk(
            &schema["additionalProperties"],
            format!("{path}{{}}"),
            false,
            out,
        );
    }
}

/// Text of a keyword's value where equal meaning gives equal text: numbers compare by value,
/// enum members and CEL rules as sets.
fn canonical(aspect: &str, value: &Value) -> String {
    match (aspect, value) {
        (_, Value::Null) => "-".into(),
        (_, Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string()),
        ("enum" | "x-kubernetes-validations", Value::Array(items)) => {
            let set: BTreeSet<String> = items.iter().map(Value::to_string).collect();
            format!("[{}]", set.into_iter().collect::<Vec<_>>().join(","))
        }
        (_, other) => other.to_string(),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A checked-in list of accepted differences, one per line:
/// `<crd> <version|*> <path|*> <aspect> # <reason>`. Blank lines and `#` comments are skipped.
#[derive(Debug)]
pub struct Allowlist {
    entries: Vec<AllowEntry>,
}

#[derive(Debug)]
struct AllowEntry {
    line: usize,
    crd: String,
    version: String,
    path: String,
    aspect: String,
}

impl AllowEntry {
    fn matches(&self, d: &Difference) -> bool {
        let field = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        field(&self.crd, &d.crd)
            && field(&self.version, &d.version)
            && field(&self.path, &d.path)
            && field(&self.aspect, &d.aspect)
    }
}

impl Allowlist {
    /// Parses the allowlist; every entry must carry a reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (fields, reason) = trimmed
                .split_once(" # ")
                .ok_or_else(|| format!("line {line}: missing ` # <reason>`"))?;
            if reason.trim().is_empty() {
                return Err(format!("line {line}: the reason is empty"));
            }
            let fields: Vec<_> = fields.split_whitespace().collect();
            let [crd, version, path, aspect] = fields[..] else {
                return Err(format!(
                    "line {line}: expected `<crd> <version> <path> <aspect>`"
                ));
            };
            entries.push(AllowEntry {
                line,
                crd: crd.into(),
                version: version.into(),
                path: path.into(),
                aspect: aspect.into(),
            });
        }
        Ok(Self { entries })
    }

    /// Splits differences into those no entry explains, and lists entries that explained
    /// nothing (stale entries hide future regressions, so they fail too).
    pub fn apply(&self, differences: &[Difference]) -> (Vec<Difference>, Vec<String>) {
        let mut used = vec![false; self.entries.len()];
        let mut unexplained = Vec::new();
        for d in differences {
            let mut explained = false;
            for (i, entry) in self.entries.iter().enumerate() {
                if entry.matches(d) {
                    used[i] = true;
                    explained = true;
                }
            }
            if !explained {
                unexplained.push(d.clone());
            }
        }
        let unused = self
            .entries
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(e, _)| {
                format!(
                    "line {}: {} {} {} {}",
                    e.line, e.crd, e.version, e.path, e.aspect
                )
            })
            .collect();
        (unexplained, unused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd(spec_schema: Value) -> Value {
        json!({
            "metadata": { "name": "things.example.io" },
            "spec": {
                "group": "example.io",
                "scope": "Cluster",
                "names": { "kind": "Thing", "plural": "things" },
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": { "openAPIV3Schema": { "type": "object", "properties": { "spec": spec_schema } } },
                }],
            },
        })
    }

    #[test]
    fn finds_a_changed_bound_and_a_missing_property() {
        let upstream = crd(json!({
            "type": "object",
            "required": ["port"],
            "properties": {
                "port": { "type": "integer", "maximum": 65535 },
                "name": { "type": "string" },
            },
        }));
        let ours = crd(json!({
            "type": "object",
            "properties": { "port": { "type": "integer", "maximum": 65536.0 } },
        }));
        let found: Vec<_> = compare(&ours, &upstream)
            .into_iter()
            .map(|d| (d.path, d.aspect))
            .collect();
        assert_eq!(
            found,
            [
                (".spec.name".to_owned(), "property".to_owned()),
                (".spec.port".to_owned(), "maximum".to_owned()),
                (".spec.port".to_owned(), "required".to_owned()),
            ]
        );
    }

    #[test]
    fn equal_meaning_is_no_difference() {
        let upstream = crd(
            json!({ "type": "string", "enum": ["A", "B"], "minLength": 1, "description": "theirs" }),
        );
        let ours = crd(
            json!({ "type": "string", "enum": ["B", "A"], "minLength": 1.0, "description": "ours" }),
        );
        assert_eq!(compare(&ours, &upstream), []);
    }

    #[test]
    fn allowlist_explains_and_reports_stale_entries() {
        let upstream = crd(json!({ "type": "string", "pattern": "^a$" }));
        let ours = crd(json!({ "type": "string" }));
        let differences = compare(&ours, &upstream);
        let list = Allowlist::parse(
            "# comment\nthings.example.io v1 .spec pattern # we validate in the controller\nthings.example.io * .spec format # stale\n",
        )
        .expect("a well-formed allowlist");
        let (unexplained, unused) = list.apply(&differences);
        assert!(unexplained.is_empty(), "{unexplained:?}");
        assert_eq!(unused, ["line 3: things.example.io * .spec format"]);
        assert!(
            Allowlist::parse("a b c d\n").is_err(),
            "an entry without a reason is refused"
        );
    }
}
