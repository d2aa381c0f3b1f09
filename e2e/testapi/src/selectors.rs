//! `labelSelector` and `fieldSelector` query parameters, in the API's string syntax.

use crate::status::ApiError;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelTerm {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelQuery {
    terms: Vec<LabelTerm>,
}

impl LabelQuery {
    /// Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for raw in split_top_level(text) {
            let term = raw.trim();
            if term.is_empty() {
                continue;
            }
            let bad = || ApiError::bad_request(format!("unable to parse requirement: {term:?}"));
            let parsed = if let Some(key) = term.strip_prefix('!') {
                LabelTerm::NotExists(key.trim().to_owned())
            } else if let Some((key, values)) = split_set(term, " notin ") {
                LabelTerm::NotIn(key, values.ok_or_else(bad)?)
            } else if let Some((key, values)) = split_set(term, " in ") {
                LabelTerm::In(key, values.ok_or_else(bad)?)
            } else if let Some((k, v)) = term.split_once("!=") {
                LabelTerm::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                LabelTerm::Equals(k.trim().into(), v.trim().into())
            } else {
                LabelTerm::Exists(term.to_owned())
            };
            terms.push(parsed);
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let get = |k: &str| labels[k].as_str();
        self.terms.iter().all(|term| match term {
            LabelTerm::Equals(k, v) => get(k) == Some(v.as_str()),
            LabelTerm::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelTerm::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelTerm::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelTerm::Exists(k) => get(k).is_some(),
            LabelTerm::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn split_set(term: &str, operator: &str) -> Option<(String, Option<Vec<String>>)> {
    let (key, rest) = term.split_once(operator)?;
    let values = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        });
    Some((key.trim().to_owned(), values))
}

/// A parsed `fieldSelector`: `metadata.name` and `metadata.namespace` (every resource), with
/// `=`, `==` and `!=`. Other fields are refused as the API server refuses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldQuery {
    terms: Vec<(String, bool, String)>,
}

impl FieldQuery {
    pub fn parse(text: &str, kind: &str, extra_fields: &[&str]) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !matches!(field, "metadata.name" | "metadata.namespace")
                && !extra_fields.contains(&field)
            {
                return Err(
                    ApiError::bad_request(format!("field label not supported: {field}"))
                        .with_kind_hint(kind),
                );
            }
            terms.push((field.to_owned(), equal, value.trim().to_owned()));
        }
        Ok(Self { terms })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, equal, value)| {
            let actual = field
                .split('.')
                .try_fold(object, |v, part| v.get(part))
                .and_then(Value::as_str)
                .unwrap_or("");
            (actual == value) == *equal
        })
    }
}

impl ApiError {
    /// kube-apiserver prefixes unsupported field selectors with the kind's name in some
    /// versions; keep the core text and say which kind was asked about.
    fn with_kind_hint(mut self, kind: &str) -> Self {
        self.message = format!("{} (kind {kind})", self.message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(labels: Value) -> Value {
        json!({ "metadata": { "name": "web", "namespace": "default", "labels": labels } })
    }

    #[test]
    fn label_selector_syntax() {
        let q = LabelQuery::parse("app=web,tier in (front, edge),!legacy,env!=prod,team")
            .expect("valid selector");
        assert!(q.matches(&object(
            json!({ "app": "web", "tier": "edge", "team": "a" })
        )));
        assert!(!q.matches(&object(
            json!({ "app": "web", "tier": "back", "team": "a" })
        )));
        assert!(!q.matches(&object(
            json!({ "app": "web", "tier": "edge", "team": "a", "legacy": "1" })
        )));
        assert!(LabelQuery::parse("a in x").is_err());
    }

    #[test]
    fn field_selector_on_name_and_namespace() {
        let q = FieldQuery::parse(
            "metadata.name=web,metadata.namespace!=kube-system",
            "Pod",
            &[],
        )
        .expect("valid");
        assert!(q.matches(&object(json!({}))));
        let err = FieldQuery::parse("spec.nodeName=x", "Pod", &[]).expect_err("unsupported");
        assert!(
            err.message
                .contains("field label not supported: spec.nodeName")
        );
    }
}
