//! API errors as `metav1.Status` objects, worded like kube-apiserver's so that kube-rs and
//! kubectl show the same messages they show against a real cluster.

use crate::registry::ResourceDef;
use serde_json::{Value, json};

/// One `details.causes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// An error answer: HTTP code, `reason`, message and optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// An error whose code, reason and message come from elsewhere (patch and apply errors).
    pub fn from_parts(code: u16, reason: &'static str, message: String) -> Self {
        Self::new(code, reason, message)
    }

    /// `pods "web" not found`, `ciliumloadbalancerippools.cilium.io "a" not found`.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.qualified_resource()),
        )
        .with_details(object_details(def, name))
    }

    /// A path that names no resource the server serves.
    pub fn no_route(path: &str) -> Self {
        Self::new(404, "NotFound", format!("the server could not find the requested resource ({path})"))
            .with_details(json!({ "causes": [{ "reason": "UnexpectedServerResponse", "message": "404 page not found" }] }))
    }

    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.qualified_resource()),
        )
        .with_details(object_details(def, name))
    }

    /// Optimistic-concurrency failure on update.
    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                def.qualified_resource()
            ),
        )
        .with_details(object_details(def, name))
    }

    /// A conflict with explicit message and causes (server-side apply, UID preconditions).
    pub fn conflict_with(def: &ResourceDef, name: &str, message: String, causes: &[Cause]) -> Self {
        let mut details = object_details(def, name);
        details["causes"] = causes_json(causes);
        Self::new(409, "Conflict", message).with_details(details)
    }

    /// A watch or list resumed from a version older than the retained history.
    pub fn gone(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    /// 422 with the validation causes, message formatted by the caller.
    pub fn invalid(def: &ResourceDef, name: &str, message: String, causes: &[Cause]) -> Self {
        let mut details = object_details(def, name);
        details["kind"] = json!(def.kind);
        details["causes"] = causes_json(causes);
        Self::new(422, "Invalid", message).with_details(details)
    }

    /// Something this test server deliberately does not implement: refused loudly.
    pub fn unsupported(what: impl Into<String>) -> Self {
        Self::new(
            501,
            "NotImplemented",
            format!("ferrule-testapi does not support {}", what.into()),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// A failure injected through the fault API.
    pub fn injected(code: u16) -> Self {
        let reason = match code {
            409 => "Conflict",
            429 => "TooManyRequests",
            500 => "InternalError",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "Unknown",
        };
        Self::new(code, reason, format!("injected failure ({code})"))
    }

    /// The `Status` object sent as the body.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        // `StatusReasonUnknown` is "" and omitted from the JSON (a bare error's 500).
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

fn object_details(def: &ResourceDef, name: &str) -> Value {
    let mut details = json!({ "name": name, "kind": def.plural });
    if !def.group.is_empty() {
        details["group"] = json!(def.group);
    }
    details
}

fn causes_json(causes: &[Cause]) -> Value {
    causes
        .iter()
        .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
        .collect()
}

/// The success `Status` some deletes return.
pub fn success(def: &ResourceDef, name: &str, uid: Option<&str>) -> Value {
    let mut details = object_details(def, name);
    if let Some(uid) = uid {
        details["uid"] = json!(uid);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}
