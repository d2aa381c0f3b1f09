//! Validation of `metadata` the API server does for every kind (names, labels), worded like
//! apimachinery's validation messages.

use crate::registry::ResourceDef;
use crate::status::Cause;
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

const SUBDOMAIN: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL_1123: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const LABEL_1035: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QUALIFIED: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

fn anchored(pattern: &str) -> Regex {
    Regex::new(&format!("^{pattern}$")).unwrap_or_else(|e| panic_regex(pattern, &e))
}

#[expect(
    clippy::panic,
    reason = "the patterns are constants checked by the tests"
)]
fn panic_regex(pattern: &str, error: &regex::Error) -> ! {
    panic!("constant pattern {pattern} does not compile: {error}")
}

static SUBDOMAIN_RE: LazyLock<Regex> = LazyLock::new(|| anchored(SUBDOMAIN));
static LABEL_1123_RE: LazyLock<Regex> = LazyLock::new(|| anchored(LABEL_1123));
static LABEL_1035_RE: LazyLock<Regex> = LazyLock::new(|| anchored(LABEL_1035));
static QUALIFIED_RE: LazyLock<Regex> = LazyLock::new(|| anchored(QUALIFIED));

fn invalid(field: &str, value: &str, detail: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!(
            "Invalid value: {}: {detail}",
            serde_json::to_string(value).unwrap_or_default()
        ),
        field: field.into(),
    }
}

/// Checks of `metadata.name` and labels.
pub fn metadata(def: &ResourceDef, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(name) = object["metadata"]["name"].as_str()
        && let Some(detail) = name_problem(def, name)
    {
        causes.push(invalid("metadata.name", name, detail));
    }
    if let Some(labels) = object["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            if let Some(detail) = qualified_name_problem(key) {
                causes.push(invalid("metadata.labels", key, detail));
            }
            match value.as_str() {
                Some(v) if !v.is_empty() && (v.len() > 63 || !QUALIFIED_RE.is_match(v)) => causes.push(invalid(
                    "metadata.labels",
                    v,
                    format!("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '({QUALIFIED})?')"),
                )),
                _ => {}
            }
        }
    }
    causes
}

fn name_problem(def: &ResourceDef, name: &str) -> Option<String> {
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "namespaces") => label_1123_problem(name),
        ("", "services") => {
            if name.len() > 63 || !LABEL_1035_RE.is_match(name) {
                Some(format!(
                    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '{LABEL_1035}')"
                ))
            } else {
                None
            }
        }
        _ => {
            if name.len() > 253 {
                Some("must be no more than 253 characters".into())
            } else if !SUBDOMAIN_RE.is_match(name) {
                Some(format!(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{SUBDOMAIN}')"
                ))
            } else {
                None
            }
        }
    }
}

fn label_1123_problem(name: &str) -> Option<String> {
    if name.len() > 63 {
        return Some("must be no more than 63 characters".into());
    }
    (!LABEL_1123_RE.is_match(name)).then(|| {
        format!("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{LABEL_1123}')")
    })
}

fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && (prefix.is_empty() || prefix.len() > 253 || !SUBDOMAIN_RE.is_match(prefix))
    {
        return Some("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into());
    }
    if name.is_empty() || name.len() > 63 || !QUALIFIED_RE.is_match(name) {
        return Some(format!(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{QUALIFIED}')"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use serde_json::json;

    #[test]
    fn names_are_checked_per_kind() {
        let registry = Registry::with_builtins();
        let cm = registry.get("", "v1", "configmaps").expect("configmaps");
        let svc = registry.get("", "v1", "services").expect("services");
        let ok = json!({ "metadata": { "name": "a.b-c" } });
        assert!(metadata(&cm, &ok).is_empty());
        let bad = json!({ "metadata": { "name": "Bad_Name" } });
        let causes = metadata(&cm, &bad);
        assert_eq!(causes.len(), 1);
        assert!(
            causes[0]
                .message
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
        assert_eq!(
            metadata(&svc, &ok).len(),
            1,
            "services need a DNS-1035 label"
        );
    }
}
