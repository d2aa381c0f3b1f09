//! Field-level errors as `k8s.io/apimachinery/pkg/util/validation/field` defines them, and the
//! aggregate message `apierrors.NewInvalid` builds from them. Clients parse `reason` and tests
//! compare `message`, so both are reproduced exactly.

use crate::gofmt;
use serde_json::Value;
use std::fmt;

/// `field.ErrorType`: why a field is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// `FieldValueNotFound`
    NotFound,
    /// `FieldValueRequired`
    Required,
    /// `FieldValueDuplicate`
    Duplicate,
    /// `FieldValueInvalid`
    Invalid,
    /// `FieldValueNotSupported`
    NotSupported,
    /// `FieldValueForbidden`
    Forbidden,
    /// `FieldValueTooLong`
    TooLong,
    /// `FieldValueTooMany`
    TooMany,
    /// `InternalError`
    Internal,
    /// `FieldValueTypeInvalid`
    TypeInvalid,
}

impl FieldErrorKind {
    /// The `reason` of a `StatusCause` (`metav1.CauseType`).
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }

    /// `ErrorType.String()`: the words that open the message.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
}

/// One `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field path as the API server writes it (`spec.blocks[0].cidr`,
    /// `metadata.labels[app]`); `<nil>` for errors that name no field (which is what the
    /// server prints for anyOf/oneOf/allOf/not failures of custom resources).
    pub path: String,
    pub kind: FieldErrorKind,
    /// The offending value; `None` where Go uses its "omit value" marker (the message then
    /// carries no value).
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    pub(crate) fn new(
        path: impl Into<String>,
        kind: FieldErrorKind,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            kind,
            bad_value,
            detail: detail.into(),
        }
    }

    /// `field.Required(path, detail)`.
    pub(crate) fn required(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            path,
            FieldErrorKind::Required,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.Forbidden(path, detail)`.
    pub(crate) fn forbidden(path: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            path,
            FieldErrorKind::Forbidden,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.Invalid(path, value, detail)`.
    pub(crate) fn invalid(
        path: impl Into<String>,
        value: Value,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(path, FieldErrorKind::Invalid, Some(value), detail)
    }

    /// `field.NotSupported(path, value, validValues)`.
    pub(crate) fn not_supported(path: impl Into<String>, value: Value, valid: &[String]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| gofmt::quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(path, FieldErrorKind::NotSupported, Some(value), detail)
    }

    /// `field.TooLong(path, _, max)` (which `TooLongMaxLength` delegates to since 1.33):
    /// the value is never shown.
    pub(crate) fn too_long(path: impl Into<String>, max: i64) -> Self {
        let detail = if max >= 0 {
            format!(
                "may not be more than {max} {}",
                if max == 1 { "byte" } else { "bytes" }
            )
        } else {
            "value is too long".to_string()
        };
        Self::new(
            path,
            FieldErrorKind::TooLong,
            Some(Value::String("<value omitted>".into())),
            detail,
        )
    }

    /// `field.TooMany(path, actual, max)`.
    pub(crate) fn too_many(path: impl Into<String>, actual: i64, max: i64) -> Self {
        let detail = if max >= 0 {
            format!(
                "must have at most {max} {}",
                if max == 1 { "item" } else { "items" }
            )
        } else {
            "has too many items".to_string()
        };
        let value = (actual >= 0).then(|| Value::from(actual));
        Self::new(path, FieldErrorKind::TooMany, value, detail)
    }

    /// `field.Duplicate(path, value)`.
    pub(crate) fn duplicate(path: impl Into<String>, value: Value) -> Self {
        Self::new(path, FieldErrorKind::Duplicate, Some(value), "")
    }

    /// `ErrorBody()`: exactly the `message` of the `StatusCause` the server returns for this
    /// error (the field goes into the cause's `field`).
    #[must_use]
    pub fn message(&self) -> String {
        let mut s = match self.kind {
            FieldErrorKind::Required
            | FieldErrorKind::Forbidden
            | FieldErrorKind::TooLong
            | FieldErrorKind::Internal => self.kind.words().to_string(),
            _ => match &self.bad_value {
                None => self.kind.words().to_string(),
                Some(v) => format!("{}: {}", self.kind.words(), render_bad_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The `reason` of the `StatusCause`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

/// `Error()`: `<field>: <body>`, the form the aggregate Status message lists.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message())
    }
}

impl std::error::Error for FieldError {}

/// `ErrorBody`'s rendering of a bad value: simple Go types with `%v`, strings with `%q`,
/// everything else as JSON.
fn render_bad_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => gofmt::GoNumber::of(n).go_v(),
        Value::String(s) => gofmt::quote(s),
        other => gofmt::json(other),
    }
}

/// `errs.ToAggregate().Error()`: duplicates (by text) dropped, a single error as it is,
/// several as `[a, b]`; `None` for no errors.
#[must_use]
pub fn aggregate(errors: &[FieldError]) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let text = e.to_string();
        if !seen.contains(&text) {
            seen.push(text);
        }
    }
    match seen.len() {
        0 => None,
        1 => seen.pop(),
        _ => Some(format!("[{}]", seen.join(", "))),
    }
}

/// The `message` of the `Invalid` Status (`apierrors.NewInvalid`) for an object of
/// `group`/`kind` named `name`: `CiliumLoadBalancerIPPool.cilium.io "pool-a" is invalid: …`.
/// The core group (`""`) prints the bare kind.
#[must_use]
pub fn invalid_message(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    match aggregate(errors) {
        Some(agg) => format!("{qualified} {} is invalid: {agg}", gofmt::quote(name)),
        None => format!("{qualified} {} is invalid", gofmt::quote(name)),
    }
}

/// A `field.Path` under construction, printed the way `Path.String()` does:
/// children joined with `.`, indices and map keys in brackets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(String);

impl FieldPath {
    pub(crate) fn new(root: &str) -> Self {
        Self(root.to_string())
    }

    pub(crate) fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_string())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }

    pub(crate) fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }

    pub(crate) fn key(&self, k: &str) -> Self {
        Self(format!("{}[{k}]", self.0))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a CRD version's `openAPIV3Schema` cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchemaError {
    /// The schema is well-formed JSON but the API server rejects it (not structural, bad list
    /// types, invalid defaults, …); the errors are the ones the CRD create/update would get
    /// (422 Invalid with these causes).
    #[error("{}", aggregate(.0).unwrap_or_default())]
    Invalid(Vec<FieldError>),
    /// The schema cannot even be decoded into `JSONSchemaProps` (wrong JSON types); the server
    /// answers such a CRD with 400 Bad Request.
    #[error("cannot decode openAPIV3Schema at {path}: {detail}")]
    Malformed { path: String, detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_match_apimachinery() {
        let e = FieldError::new(
            "spec.disabled",
            FieldErrorKind::TypeInvalid,
            Some(json!("string")),
            "spec.disabled in body must be of type boolean: \"string\"",
        );
        assert_eq!(
            e.message(),
            r#"Invalid value: "string": spec.disabled in body must be of type boolean: "string""#
        );
        assert_eq!(e.reason(), "FieldValueTypeInvalid");
        assert_eq!(
            FieldError::required("spec.blocks", "").to_string(),
            "spec.blocks: Required value"
        );
        assert_eq!(
            FieldError::too_long("spec.x", 3).message(),
            "Too long: may not be more than 3 bytes"
        );
        assert_eq!(
            FieldError::too_many("spec.x", 5, 1).message(),
            "Too many: 5: must have at most 1 item"
        );
        assert_eq!(
            FieldError::not_supported("spec.a", json!("Maybe"), &["Yes".into(), "No".into()])
                .message(),
            r#"Unsupported value: "Maybe": supported values: "Yes", "No""#
        );
        assert_eq!(
            FieldError::duplicate("status.conditions[1]", json!({"type": "Ready"})).message(),
            r#"Duplicate value: {"type":"Ready"}"#
        );
        assert_eq!(
            FieldError::invalid("spec.n", json!(1.5), "x").message(),
            "Invalid value: 1.5: x"
        );
    }

    #[test]
    fn aggregate_message_matches_new_invalid() {
        let a = FieldError::required("spec.a", "");
        let b = FieldError::required("spec.b", "");
        assert_eq!(
            invalid_message(
                "cilium.io",
                "CiliumLoadBalancerIPPool",
                "p",
                std::slice::from_ref(&a)
            ),
            r#"CiliumLoadBalancerIPPool.cilium.io "p" is invalid: spec.a: Required value"#
        );
        assert_eq!(
            invalid_message("", "Service", "s", &[a.clone(), b, a]),
            r#"Service "s" is invalid: [spec.a: Required value, spec.b: Required value]"#
        );
        assert_eq!(invalid_message("g", "K", "n", &[]), r#"K.g "n" is invalid"#);
    }
}
