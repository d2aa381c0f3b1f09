//! create, update and patch (JSON, merge, strategic merge, server-side apply): one admission
//! path that every write goes through, run atomically against the current object.

use crate::objects::{self, present, spec_part};
use crate::registry::ResourceDef;
use crate::request::Target;
use crate::server::{ApiServer, Reply, Request};
use crate::status::{ApiError, Cause};
use crate::store::{Committed, Write};
use serde_json::{Value, json};
use std::sync::Arc;

/// The `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    fn from_request(request: &Request) -> Result<Self, ApiError> {
        match request.query.get("fieldValidation") {
            None | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// What a write does to the current object.
#[derive(Debug, Clone)]
enum Operation {
    Create(Value),
    Update(Value),
    JsonPatch(Value),
    MergePatch(Value),
    StrategicMergePatch(Value),
    Apply { config: Value, force: bool },
}

struct Context<'a> {
    def: &'a ResourceDef,
    name: String,
    namespace: Option<String>,
    subresource: Option<String>,
    manager: String,
    validation: FieldValidation,
    dry_run: bool,
    /// The kind and version of the decoded request body (create, update): strict decoding
    /// errors then name them as kube-apiserver's decoder does; patch errors do not.
    decoded_body: Option<(String, String)>,
}

/// The kind and version a request body declares (the resource's when it declares none, as
/// the decoder defaults them from the URL).
fn body_kind_version(def: &ResourceDef, object: &Value) -> (String, String) {
    let kind = object["kind"].as_str().filter(|k| !k.is_empty());
    let version = object["apiVersion"]
        .as_str()
        .filter(|v| !v.is_empty())
        .map(|v| v.rsplit('/').next().unwrap_or(v));
    (
        kind.unwrap_or(&def.kind).to_owned(),
        version.unwrap_or(&def.version).to_owned(),
    )
}

/// The field manager of a request: `fieldManager`, else the User-Agent's program name (as the
/// API server derives it).
fn manager(request: &Request, apply: bool) -> Result<String, ApiError> {
    if let Some(manager) = request.query.get("fieldManager") {
        if manager.len() > 128 {
            return Err(ApiError::bad_request(
                "fieldManager must be at most 128 characters",
            ));
        }
        return Ok(manager.to_owned());
    }
    if apply {
        return Err(ApiError::bad_request(
            "PATCH, application/apply-patch+yaml requires fieldManager to be set",
        ));
    }
    let agent = request.user_agent.as_deref().unwrap_or("unknown");
    Ok(agent.split('/').next().unwrap_or(agent).to_owned())
}

fn json_body(request: &Request) -> Result<Value, ApiError> {
    serde_json::from_slice(&request.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })
}

/// The object of a create or update, by Content-Type. Protobuf (what typed Go clients such as
/// `kubectl create namespace` send) and CBOR would need every kind's wire schema, which this
/// server does not have: they are refused with 415 instead of being misread as JSON.
fn object_body(request: &Request) -> Result<Value, ApiError> {
    let media_type = request
        .content_type
        .as_deref()
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or("application/json");
    match media_type {
        "" | "application/json" => json_body(request),
        "application/yaml" => serde_yaml::from_slice(&request.body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as YAML: {e}"
            ))
        }),
        other => {
            let mut error = ApiError::unsupported_media_type(other);
            error.message = format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (ferrule-testapi does not decode {other})"
            );
            Err(error)
        }
    }
}

pub fn create(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let object = object_body(request)?;
    if let (Some(path_ns), Some(object_ns)) =
        (&target.namespace, object["metadata"]["namespace"].as_str())
        && !object_ns.is_empty()
        && object_ns != path_ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let (code, body, warnings) = create_object(
        server,
        def,
        target.namespace.as_deref(),
        object,
        &manager(request, false)?,
        request.query.dry_run()?,
        FieldValidation::from_request(request)?,
    )?;
    Ok(Reply::json(code, body).with_warnings(warnings))
}

/// Creates `object` (also used for initial namespaces and by apply on absent objects).
pub fn create_object(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    namespace: Option<&str>,
    mut object: Value,
    manager: &str,
    dry_run: bool,
    validation: FieldValidation,
) -> Result<(u16, Value, Vec<String>), ApiError> {
    let metadata = objects::metadata_mut(&mut object);
    if metadata
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match metadata.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", random_suffix());
                metadata.insert("name".into(), json!(name));
            }
            _ => {
                return Err(ApiError::invalid(
                    def,
                    "",
                    format!(
                        "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        def.kind
                    ),
                    &[Cause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value: name or generateName is required".into(),
                        field: "metadata.name".into(),
                    }],
                ));
            }
        }
    }
    let name = objects::name(&object).unwrap_or_default().to_owned();
    let context = Context {
        def,
        name: name.clone(),
        namespace: namespace.map(str::to_owned),
        subresource: None,
        manager: manager.to_owned(),
        validation,
        dry_run,
        decoded_body: Some(body_kind_version(def, &object)),
    };
    run(server, &context, Operation::Create(object))
}

pub fn update(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let object = object_body(request)?;
    let name = target.name.clone().unwrap_or_default();
    if let Some(body_name) = objects::name(&object)
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let context = Context {
        def,
        name,
        namespace: target.namespace.clone(),
        subresource: target.subresource.clone(),
        manager: manager(request, false)?,
        validation: FieldValidation::from_request(request)?,
        dry_run: request.query.dry_run()?,
        decoded_body: Some(body_kind_version(def, &object)),
    };
    let (code, body, warnings) = run(server, &context, Operation::Update(object))?;
    Ok(Reply::json(code, body).with_warnings(warnings))
}

pub fn patch(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let content_type = request
        .content_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let is_apply = content_type == "application/apply-patch+yaml";
    let operation = match content_type.as_str() {
        "application/json-patch+json" => Operation::JsonPatch(json_body(request)?),
        "application/merge-patch+json" => Operation::MergePatch(json_body(request)?),
        "application/strategic-merge-patch+json" if def.crd.is_none() => {
            Operation::StrategicMergePatch(json_body(request)?)
        }
        "application/strategic-merge-patch+json" => {
            return Err(ApiError::unsupported_media_type_for_crd());
        }
        "application/apply-patch+yaml" => {
            let text = std::str::from_utf8(&request.body)
                .map_err(|_| ApiError::bad_request("apply configuration is not UTF-8"))?;
            let config: Value = serde_yaml::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            if request.query.flag("force") && request.query.get("force") != Some("true") {
                return Err(ApiError::bad_request("force must be true or false"));
            }
            Operation::Apply {
                config,
                force: request.query.flag("force"),
            }
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if !is_apply && request.query.get("force").is_some() {
        return Err(ApiError::bad_request(
            "force is only allowed for apply patches",
        ));
    }
    let context = Context {
        def,
        name: target.name.clone().unwrap_or_default(),
        namespace: target.namespace.clone(),
        subresource: target.subresource.clone(),
        manager: manager(request, is_apply)?,
        validation: FieldValidation::from_request(request)?,
        dry_run: request.query.dry_run()?,
        decoded_body: None,
    };
    let (code, body, warnings) = run(server, &context, operation)?;
    Ok(Reply::json(code, body).with_warnings(warnings))
}

impl ApiError {
    fn unsupported_media_type_for_crd() -> Self {
        let mut error = ApiError::unsupported_media_type("application/strategic-merge-patch+json");
        error.message = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into();
        error
    }
}

/// Runs one write: checks the namespace, then computes and commits atomically.
fn run(
    server: &Arc<ApiServer>,
    ctx: &Context<'_>,
    operation: Operation,
) -> Result<(u16, Value, Vec<String>), ApiError> {
    let def = ctx.def;
    if def.namespaced {
        let ns = ctx.namespace.as_deref().unwrap_or("");
        check_namespace(
            server,
            ns,
            matches!(operation, Operation::Create(_) | Operation::Apply { .. }),
        )?;
    }
    let key = ApiServer::key(def, ctx.namespace.as_deref(), &ctx.name);
    let mut warnings = Vec::new();
    let mut created = false;
    let mut dry_run_result: Option<Value> = None;
    let crd_check =
        if def.plural == "customresourcedefinitions" && def.group == "apiextensions.k8s.io" {
            Some(server.clone())
        } else {
            None
        };
    let committed = server
        .store
        .write(&def.group_resource(), &key, |stored, _next_rv| {
            let now = objects::now();
            // Writes work on the object as this endpoint presents it, and store it in the
            // storage shape (they differ for kinds two groups serve).
            let current_view = stored.map(|s| present(def, s));
            let current = current_view.as_ref();
            let candidate = match (&operation, current) {
                (Operation::Create(_), Some(_)) => {
                    return Err(ApiError::already_exists(def, &ctx.name));
                }
                (Operation::Create(object), None) => {
                    created = true;
                    prepare_create(ctx, object.clone(), &now)
                }
                (Operation::Apply { config, force }, current) => {
                    check_identity(ctx, config, current.is_some())?;
                    let base = current.cloned();
                    let config = endpoint_fields(def, ctx.subresource.as_deref(), config);
                    let applied = crate::ssa::apply(
                        base.as_ref(),
                        &config,
                        &ctx.manager,
                        *force,
                        &def.api_version(),
                        ctx.subresource.as_deref(),
                        &now,
                        def.types.as_ref(),
                    )
                    .map_err(|e| apply_error(def, &ctx.name, &e))?;
                    match current {
                        None => {
                            if ctx.subresource.is_some() {
                                return Err(ApiError::not_found(def, &ctx.name));
                            }
                            created = true;
                            prepare_create(ctx, applied, &now)
                        }
                        Some(current) => prepare_update(ctx, current, applied)?,
                    }
                }
                (_, None) => return Err(ApiError::not_found(def, &ctx.name)),
                (Operation::Update(object), Some(current)) => {
                    if let Some(rv) = object["metadata"]["resourceVersion"]
                        .as_str()
                        .filter(|rv| !rv.is_empty())
                        && Some(rv) != current["metadata"]["resourceVersion"].as_str()
                    {
                        return Err(ApiError::conflict(def, &ctx.name));
                    }
                    let mut object = object.clone();
                    if object["metadata"].get("managedFields").is_none() {
                        object["metadata"]["managedFields"] =
                            current["metadata"]["managedFields"].clone();
                    }
                    prepare_update(ctx, current, object)?
                }
                (patch_op, Some(current)) => {
                    let base = current.clone();
                    let patched = match patch_op {
                        Operation::JsonPatch(p) => crate::patch::json_patch(&base, p),
                        Operation::MergePatch(p) => crate::patch::merge_patch(&base, p),
                        Operation::StrategicMergePatch(p) => {
                            crate::patch::strategic_merge_patch(&base, p, def.types.as_ref())
                        }
                        _ => unreachable_operation(),
                    }
                    .map_err(|e| patch_error(def, &ctx.name, &e))?;
                    if let Some(rv) = patched["metadata"]["resourceVersion"].as_str()
                        && Some(rv) != current["metadata"]["resourceVersion"].as_str()
                    {
                        return Err(ApiError::conflict(def, &ctx.name));
                    }
                    prepare_update(ctx, current, patched)?
                }
            };
            let mut object = candidate;
            warnings = admit(ctx, &mut object, current)?;
            if !matches!(operation, Operation::Apply { .. }) {
                object = crate::ssa::update_managed_fields(
                    current,
                    &object,
                    &ctx.manager,
                    ctx.subresource.as_deref(),
                    &def.api_version(),
                    &now,
                    def.types.as_ref(),
                );
            }
            if let Some(server) = &crd_check {
                crate::crd::set_status(server, &mut object)?;
            }
            if let Some(current) = current {
                set_generation(def, current, &mut object);
            }
            let object = crate::conversion::to_storage(def, object);
            if let Some(current) = stored {
                if unchanged(current, &object) {
                    return Ok(Write::Unchanged);
                }
                if objects::is_deleting(&object) && objects::finalizers(&object).is_empty() {
                    return Ok(if ctx.dry_run {
                        Write::Unchanged
                    } else {
                        Write::Delete
                    });
                }
            }
            if ctx.dry_run {
                dry_run_result = Some(object);
                return Ok(Write::Unchanged);
            }
            Ok(Write::Put(object))
        });
    let committed = committed?;
    let code = if created { 201 } else { 200 };
    if let Some(object) = dry_run_result {
        return Ok((code, present(def, &object), warnings));
    }
    let stored = match committed {
        Committed::Stored(object) | Committed::Unchanged(object) => object,
        Committed::Deleted(object) => {
            crate::delete::after_delete(server, def, &object);
            object
        }
        Committed::Absent => return Err(ApiError::not_found(def, &ctx.name)),
    };
    if crd_check.is_some() {
        crate::crd::sync(server, &stored);
    }
    Ok((code, present(def, &stored), warnings))
}

#[expect(clippy::panic, reason = "the caller matched every other operation")]
fn unreachable_operation() -> ! {
    panic!("only patch operations reach the patch arm")
}

/// Refuses an apply whose body names another object or type. A body without a name applies
/// to the object on the URL when it exists (the merged object keeps the live name, as
/// kube-apiserver's name check sees it); creating needs the name.
fn check_identity(ctx: &Context<'_>, config: &Value, exists: bool) -> Result<(), ApiError> {
    let def = ctx.def;
    if config["apiVersion"].as_str() != Some(def.api_version().as_str())
        || config["kind"].as_str() != Some(def.kind.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "the API version and kind in the apply configuration ({}, {}) do not match the request ({}, {})",
            config["apiVersion"].as_str().unwrap_or(""),
            config["kind"].as_str().unwrap_or(""),
            def.api_version(),
            def.kind
        )));
    }
    let named = objects::name(config);
    if named != Some(ctx.name.as_str()) && (named.is_some() || !exists) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({})",
            objects::name(config).unwrap_or(""),
            ctx.name
        )));
    }
    Ok(())
}

/// Kinds whose objects carry `metadata.generation`.
fn uses_generation(def: &ResourceDef) -> bool {
    def.crd.is_some()
        || matches!(
            (def.group.as_str(), def.plural.as_str()),
            ("apiextensions.k8s.io", "customresourcedefinitions")
                | (
                    "admissionregistration.k8s.io",
                    "validatingadmissionpolicies" | "validatingadmissionpolicybindings"
                )
                | ("networking.k8s.io", "ingresses" | "ingressclasses")
                | ("discovery.k8s.io", "endpointslices")
                | ("", "pods")
        )
}

/// A new object as the server stores it: identity, timestamps, server-owned fields.
fn prepare_create(ctx: &Context<'_>, mut object: Value, now: &str) -> Value {
    let def = ctx.def;
    object["apiVersion"] = json!(def.api_version());
    object["kind"] = json!(def.kind);
    let metadata = objects::metadata_mut(&mut object);
    metadata.insert("name".into(), json!(ctx.name));
    if def.namespaced {
        metadata.insert(
            "namespace".into(),
            json!(ctx.namespace.as_deref().unwrap_or("")),
        );
    } else {
        metadata.remove("namespace");
    }
    metadata.insert("uid".into(), json!(objects::new_uid()));
    metadata.insert("creationTimestamp".into(), json!(now));
    for server_owned in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        metadata.remove(server_owned);
    }
    if uses_generation(def) {
        metadata.insert("generation".into(), json!(1));
    } else {
        metadata.remove("generation");
    }
    if def.plural == "namespaces" && def.group.is_empty() {
        metadata
            .entry("labels")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|labels| labels.insert("kubernetes.io/metadata.name".into(), json!(ctx.name)));
        if object["spec"]["finalizers"].is_null() {
            object["spec"] = json!({ "finalizers": ["kubernetes"] });
        }
        object["status"] = json!({ "phase": "Active" });
    } else if def.status_subresource {
        // Status is written through /status only; a create starts without it.
        if let Some(map) = object.as_object_mut() {
            map.remove("status");
        }
    }
    object
}

/// The candidate after an update or patch of `current`, before admission: server-owned
/// metadata kept, and status or everything-but-status taken from `current` depending on the
/// subresource written.
fn prepare_update(
    ctx: &Context<'_>,
    current: &Value,
    mut object: Value,
) -> Result<Value, ApiError> {
    let def = ctx.def;
    if let Some(uid) = object["metadata"]["uid"].as_str()
        && Some(uid) != objects::uid(current)
    {
        return Err(ApiError::conflict_with(
            def,
            &ctx.name,
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                objects::uid(current).unwrap_or("")
            ),
            &[],
        ));
    }
    object["apiVersion"] = json!(def.api_version());
    object["kind"] = json!(def.kind);
    let subresource = ctx.subresource.as_deref();
    if subresource == Some("status") {
        let mut next = current.clone();
        next["status"] = object["status"].clone();
        if next["status"].is_null()
            && let Some(map) = next.as_object_mut()
        {
            map.remove("status");
        }
        next["metadata"]["managedFields"] = object["metadata"]["managedFields"].clone();
        return Ok(next);
    }
    if def.status_subresource {
        match current.get("status") {
            Some(status) => object["status"] = status.clone(),
            None => {
                if let Some(map) = object.as_object_mut() {
                    map.remove("status");
                }
            }
        }
    }
    if subresource == Some("finalize") {
        // Only spec.finalizers may change through /finalize.
        let mut next = current.clone();
        next["spec"]["finalizers"] = object["spec"]["finalizers"].clone();
        return Ok(next);
    }
    let metadata = objects::metadata_mut(&mut object);
    for kept in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match current["metadata"].get(kept) {
            Some(value) => metadata.insert(kept.into(), value.clone()),
            None => metadata.remove(kept),
        };
    }
    metadata.insert("name".into(), json!(ctx.name));
    if def.namespaced {
        metadata.insert("namespace".into(), current["metadata"]["namespace"].clone());
    }
    metadata.remove("resourceVersion");
    if objects::is_deleting(current) {
        // A terminating object may only lose finalizers, never gain new ones.
        let before = objects::finalizers(current);
        let after = objects::finalizers(&object);
        if after.iter().any(|f| !before.contains(f)) {
            return Err(ApiError::invalid(
                def,
                &ctx.name,
                format!(
                    "{} \"{}\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
                    def.kind, ctx.name
                ),
                &[Cause {
                    reason: "FieldValueForbidden".into(),
                    message:
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    Ok(object)
}

/// Schema pruning, defaulting and validation (CRDs), and metadata validation. Returns the
/// warnings to send back.
fn admit(
    ctx: &Context<'_>,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<Vec<String>, ApiError> {
    let def = ctx.def;
    let mut warnings = Vec::new();
    if def.group == "admissionregistration.k8s.io" {
        // Refused loudly rather than pretended: the object is kept, its rules are not run.
        warnings.push(format!(
            "ferrule-testapi stores {} objects but does not enforce them",
            def.kind
        ));
    }
    let mut causes = crate::validation::metadata(def, object);
    let Some(schema) = &def.schema else {
        // Typed built-in objects lose nulls when the API server decodes them.
        objects::drop_nulls(object);
        return invalid_if_any(ctx, causes, &[]).map(|()| warnings);
    };
    let pruned = schema.prune(object);
    if !pruned.is_empty() {
        let messages: Vec<String> = pruned
            .iter()
            .map(|p| format!("unknown field \"{p}\""))
            .collect();
        match ctx.validation {
            FieldValidation::Strict => {
                let strict = format!("strict decoding error: {}", messages.join(", "));
                // The handlers of create and update wrap decoding errors (transformDecodeError).
                return Err(ApiError::bad_request(match &ctx.decoded_body {
                    Some((kind, version)) => format!(
                        "{kind} in version {version:?} cannot be handled as a {}: {strict}",
                        def.kind
                    ),
                    None => strict,
                }));
            }
            FieldValidation::Warn => warnings.extend(messages),
            FieldValidation::Ignore => {}
        }
    }
    schema.apply_defaults(object);
    let errors = match old {
        Some(old) => schema.validate_update(object, old),
        None => schema.validate(object),
    };
    causes.extend(errors.iter().map(|e| Cause {
        reason: e.reason().to_owned(),
        message: e.message(),
        field: e.path.clone(),
    }));
    invalid_if_any(ctx, causes, &errors).map(|()| warnings)
}

/// 422 Invalid when there are causes; the message is the API server's aggregate.
fn invalid_if_any(
    ctx: &Context<'_>,
    causes: Vec<Cause>,
    schema_errors: &[crate::schema::FieldError],
) -> Result<(), ApiError> {
    if causes.is_empty() {
        return Ok(());
    }
    let def = ctx.def;
    let metadata_causes = causes.len() - schema_errors.len();
    let mut parts: Vec<String> = causes[..metadata_causes]
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    if !schema_errors.is_empty()
        && let Some(text) = crate::schema::aggregate(schema_errors)
    {
        parts.push(
            text.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        );
    }
    let qualified = if def.group.is_empty() {
        def.kind.clone()
    } else {
        format!("{}.{}", def.kind, def.group)
    };
    let message = if metadata_causes == 0 {
        crate::schema::invalid_message(&def.group, &def.kind, &ctx.name, schema_errors)
    } else if parts.len() == 1 {
        format!("{qualified} {:?} is invalid: {}", ctx.name, parts[0])
    } else {
        format!(
            "{qualified} {:?} is invalid: [{}]",
            ctx.name,
            parts.join(", ")
        )
    };
    Err(ApiError::invalid(def, &ctx.name, message, &causes))
}

/// Bumps `metadata.generation` when the spec (anything but metadata and status) changed.
fn set_generation(def: &ResourceDef, current: &Value, object: &mut Value) {
    if !uses_generation(def) {
        return;
    }
    let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
    let next = if spec_part(current) == spec_part(object) {
        generation
    } else {
        generation + 1
    };
    object["metadata"]["generation"] = json!(next);
}

/// Equal but for the resourceVersion the store assigns.
fn unchanged(current: &Value, candidate: &Value) -> bool {
    let mut a = current.clone();
    let mut b = candidate.clone();
    for v in [&mut a, &mut b] {
        if let Some(metadata) = v["metadata"].as_object_mut() {
            metadata.remove("resourceVersion");
        }
    }
    a == b
}

/// What an apply may set through this endpoint: the main resource ignores `status` when a
/// status subresource exists, `/status` ignores everything else (the API server's
/// resetFields), so ownership is not claimed for fields the write will not change.
fn endpoint_fields(def: &ResourceDef, subresource: Option<&str>, config: &Value) -> Value {
    let mut config = config.clone();
    let Some(map) = config.as_object_mut() else {
        return config;
    };
    match subresource {
        Some("status") => {
            map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
        }
        _ if def.status_subresource => {
            map.remove("status");
        }
        _ => {}
    }
    config
}

fn apply_error(def: &ResourceDef, name: &str, error: &crate::ssa::ApplyError) -> ApiError {
    let causes: Vec<Cause> = error
        .causes()
        .into_iter()
        .map(|(reason, message, field)| Cause {
            reason,
            message,
            field,
        })
        .collect();
    if error.code() == 409 {
        return ApiError::conflict_with(def, name, error.message(), &causes);
    }
    ApiError::from_parts(error.code(), error.reason(), error.message())
}

fn patch_error(_def: &ResourceDef, _name: &str, error: &crate::patch::PatchError) -> ApiError {
    ApiError::from_parts(error.code(), error.reason(), error.message())
}

/// Five characters from the alphabet generateName uses (no vowels, no confusable digits).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let uid = objects::new_uid();
    uid.bytes()
        .filter(u8::is_ascii_hexdigit)
        .take(5)
        .enumerate()
        .map(|(i, b)| ALPHABET[(usize::from(b) * 7 + i * 13) % ALPHABET.len()] as char)
        .collect()
}

/// A namespaced write needs its namespace; creation needs it not to be terminating.
fn check_namespace(server: &ApiServer, namespace: &str, creating: bool) -> Result<(), ApiError> {
    let Some(ns_def) = server.registry().get("", "v1", "namespaces") else {
        return Ok(());
    };
    let key = ApiServer::key(&ns_def, None, namespace);
    match server.store.get(&ns_def.group_resource(), &key) {
        None => Err(ApiError::not_found(&ns_def, namespace)),
        Some(ns) if creating && objects::is_deleting(&ns) => Err(ApiError::forbidden(format!(
            "unable to create new content in namespace {namespace} because it is being terminated"
        ))),
        Some(_) => Ok(()),
    }
}
