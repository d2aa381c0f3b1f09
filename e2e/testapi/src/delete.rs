//! delete and deletecollection: finalizers, deletionTimestamp, propagation policies over
//! ownerReferences (Background, Foreground, Orphan) and namespace termination.

use crate::objects::{self, present};
use crate::registry::{GroupResource, ResourceDef};
use crate::request::Target;
use crate::selectors::{FieldQuery, LabelQuery};
use crate::server::{ApiServer, Reply, Request};
use crate::status::{self, ApiError};
use crate::store::{Committed, ObjectKey, Write};
use serde_json::{Value, json};
use std::sync::Arc;

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Default)]
struct Options {
    propagation: Option<Propagation>,
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
    /// `orphanDependents: false` was sent: the only case in which kube-apiserver answers a
    /// delete that did not remove the object with 202 instead of 200.
    accepted: bool,
}

fn options(request: &Request) -> Result<Options, ApiError> {
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .or_else(|| request.query.get("propagationPolicy"))
        .map(|p| match p {
            "Background" => Ok(Propagation::Background),
            "Foreground" => Ok(Propagation::Foreground),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        })
        .transpose()?;
    let orphan_dependents = body["orphanDependents"].as_bool();
    let dry_run = match body["dryRun"].as_array() {
        Some(values) => values.iter().any(|v| v == "All"),
        None => request.query.dry_run()?,
    };
    Ok(Options {
        propagation: policy.or(orphan_dependents.map(|o| {
            if o {
                Propagation::Orphan
            } else {
                Propagation::Background
            }
        })),
        uid: body["preconditions"]["uid"].as_str().map(str::to_owned),
        resource_version: body["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_owned),
        dry_run,
        accepted: orphan_dependents == Some(false),
    })
}

pub fn delete(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    if target.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "delete is not allowed on subresources",
        ));
    }
    let options = options(request)?;
    let name = target.name.clone().unwrap_or_default();
    let key = ApiServer::key(def, target.namespace.as_deref(), &name);
    let (committed, _) = delete_object(server, def, &key, &options)?;
    Ok(match committed {
        Committed::Deleted(object) => {
            let uid = objects::uid(&object).map(str::to_owned);
            Reply::ok(status::success(def, &name, uid.as_deref()))
        }
        Committed::Stored(object) | Committed::Unchanged(object) => Reply::json(
            if options.accepted { 202 } else { 200 },
            present(def, &object),
        ),
        Committed::Absent => return Err(ApiError::not_found(def, &name)),
    })
}

/// Deletes one object: marks it terminating when finalizers (or the policy's finalizer)
/// hold it, removes it otherwise, and runs garbage collection for what changed.
fn delete_object(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    key: &ObjectKey,
    options: &Options,
) -> Result<(Committed, Option<Value>), ApiError> {
    let is_namespace = def.group.is_empty() && def.plural == "namespaces";
    let mut dry_run_view = None;
    let committed = server.store.write(&def.group_resource(), key, |current, _| {
        let Some(current) = current else {
            return Err(ApiError::not_found(def, &key.name));
        };
        if let Some(uid) = &options.uid
            && Some(uid.as_str()) != objects::uid(current)
        {
            return Err(ApiError::conflict_with(
                def,
                &key.name,
                format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    objects::uid(current).unwrap_or("")
                ),
                &[],
            ));
        }
        if let Some(rv) = &options.resource_version
            && Some(rv.as_str()) != current["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict_with(
                def,
                &key.name,
                format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    current["metadata"]["resourceVersion"].as_str().unwrap_or("")
                ),
                &[],
            ));
        }
        let mut next = current.clone();
        let mut finalizers = objects::finalizers(current);
        match options.propagation {
            Some(Propagation::Foreground) if !finalizers.iter().any(|f| f == FOREGROUND) => {
                finalizers.push(FOREGROUND.into());
            }
            Some(Propagation::Orphan) if !finalizers.iter().any(|f| f == ORPHAN) => finalizers.push(ORPHAN.into()),
            _ => {}
        }
        let held = !finalizers.is_empty()
            || (is_namespace && next["spec"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()));
        if !held {
            if options.dry_run {
                dry_run_view = Some(current.clone());
                return Ok(Write::Unchanged);
            }
            return Ok(Write::Delete);
        }
        if objects::is_deleting(current) && finalizers == objects::finalizers(current) {
            return Ok(Write::Unchanged);
        }
        let starting = !objects::is_deleting(current);
        let metadata = objects::metadata_mut(&mut next);
        metadata.insert("finalizers".into(), json!(finalizers));
        // The registry's markAsDeleting: generation moves when deletion starts, so that
        // controllers watching observedGeneration see the deletion as a spec change.
        let generation = metadata.get("generation").and_then(Value::as_i64);
        if starting && let Some(generation) = generation.filter(|g| *g > 0) {
            metadata.insert("generation".into(), json!(generation + 1));
        }
        metadata
            .entry("deletionTimestamp")
            .or_insert_with(|| json!(objects::now()));
        metadata.entry("deletionGracePeriodSeconds").or_insert(json!(0));
        if is_namespace {
            next["status"]["phase"] = json!("Terminating");
        }
        if options.dry_run {
            dry_run_view = Some(next);
            return Ok(Write::Unchanged);
        }
        Ok(Write::Put(next))
    })?;
    if options.dry_run {
        return Ok((committed, dry_run_view));
    }
    match &committed {
        Committed::Deleted(object) => after_delete(server, def, object),
        Committed::Stored(object) => after_termination_started(server, def, object),
        _ => {}
    }
    Ok((committed, None))
}

pub fn delete_collection(
    server: &Arc<ApiServer>,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let options = options(request)?;
    let labels = LabelQuery::parse(request.query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldQuery::parse(
        request.query.get("fieldSelector").unwrap_or(""),
        &def.kind,
        &[],
    )?;
    let (items, _) = server
        .store
        .list(&def.group_resource(), target.namespace.as_deref());
    let mut deleted = Vec::new();
    for object in items
        .iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
    {
        let key = ApiServer::key(
            def,
            object["metadata"]["namespace"].as_str(),
            objects::name(object).unwrap_or(""),
        );
        match delete_object(server, def, &key, &options) {
            Ok((Committed::Deleted(o) | Committed::Stored(o) | Committed::Unchanged(o), _)) => {
                deleted.push(present(def, &o))
            }
            Ok(_) => {}
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Reply::ok(json!({
        "kind": def.list_kind,
        "apiVersion": def.api_version(),
        "metadata": {},
        "items": deleted,
    })))
}

fn def_for(server: &ApiServer, gr: &GroupResource) -> Option<Arc<ResourceDef>> {
    server
        .registry()
        .all()
        .find(|d| d.group == gr.group && d.plural == gr.resource)
        .cloned()
}

fn owner_uids(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Objects that name `uid` as an owner.
fn dependents(server: &ApiServer, uid: &str) -> Vec<(GroupResource, ObjectKey, Arc<Value>)> {
    server
        .store
        .all_objects()
        .into_iter()
        .filter(|(_, _, o)| owner_uids(o).iter().any(|u| u == uid))
        .collect()
}

/// Garbage collection after an object is gone: dependents are deleted (or lose the dangling
/// owner reference when they have other owners), owners waiting in foreground deletion are
/// released, and a terminating namespace finishes when empty.
pub fn after_delete(server: &Arc<ApiServer>, def: &ResourceDef, object: &Value) {
    if def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions" {
        crate::crd::removed(server, object);
    }
    if let Some(uid) = objects::uid(object) {
        for (gr, key, dependent) in dependents(server, uid) {
            let Some(dep_def) = def_for(server, &gr) else {
                continue;
            };
            if owner_uids(&dependent).len() > 1 {
                remove_owner_reference(server, &dep_def, &key, uid);
            } else {
                let options = Options {
                    propagation: Some(Propagation::Background),
                    ..Options::default()
                };
                if let Err(e) = delete_object(server, &dep_def, &key, &options)
                    && e.code != 404
                {
                    tracing::warn!(error = %e, "garbage collecting a dependent failed");
                }
            }
        }
    }
    for owner_uid in owner_uids(object) {
        release_foreground_owner(server, &owner_uid);
    }
    if def.namespaced
        && let Some(ns) = object["metadata"]["namespace"].as_str()
    {
        finish_namespace(server, ns);
    }
}

/// An object just became terminating: act on the policy finalizers it carries.
fn after_termination_started(server: &Arc<ApiServer>, def: &ResourceDef, object: &Value) {
    let finalizers = objects::finalizers(object);
    let uid = objects::uid(object).unwrap_or("").to_owned();
    if finalizers.iter().any(|f| f == ORPHAN) {
        for (gr, key, _) in dependents(server, &uid) {
            if let Some(dep_def) = def_for(server, &gr) {
                remove_owner_reference(server, &dep_def, &key, &uid);
            }
        }
        remove_finalizer(server, def, object, ORPHAN);
    }
    if finalizers.iter().any(|f| f == FOREGROUND) {
        for (gr, key, _) in dependents(server, &uid) {
            if let Some(dep_def) = def_for(server, &gr) {
                let options = Options {
                    propagation: Some(Propagation::Foreground),
                    ..Options::default()
                };
                let _ = delete_object(server, &dep_def, &key, &options);
            }
        }
        release_foreground_owner(server, &uid);
    }
    if def.group.is_empty() && def.plural == "namespaces" {
        terminate_namespace(server, objects::name(object).unwrap_or(""));
    }
}

fn remove_owner_reference(server: &ApiServer, def: &ResourceDef, key: &ObjectKey, uid: &str) {
    let _ = server
        .store
        .write::<ApiError>(&def.group_resource(), key, |current, _| {
            let Some(current) = current else {
                return Ok(Write::Unchanged);
            };
            let mut next = current.clone();
            if let Some(refs) = next["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"].as_str() != Some(uid));
                if refs.is_empty()
                    && let Some(metadata) = next["metadata"].as_object_mut()
                {
                    metadata.remove("ownerReferences");
                }
            }
            Ok(Write::Put(next))
        });
}

fn remove_finalizer(server: &Arc<ApiServer>, def: &ResourceDef, object: &Value, finalizer: &str) {
    let key = ApiServer::key(
        def,
        object["metadata"]["namespace"].as_str(),
        objects::name(object).unwrap_or(""),
    );
    let committed = server
        .store
        .write::<ApiError>(&def.group_resource(), &key, |current, _| {
            let Some(current) = current else {
                return Ok(Write::Unchanged);
            };
            let mut next = current.clone();
            let remaining: Vec<String> = objects::finalizers(current)
                .into_iter()
                .filter(|f| f != finalizer)
                .collect();
            if remaining.is_empty() && objects::is_deleting(current) {
                return Ok(Write::Delete);
            }
            next["metadata"]["finalizers"] = json!(remaining);
            Ok(Write::Put(next))
        });
    if let Ok(Committed::Deleted(object)) = committed {
        after_delete(server, def, &object);
    }
}

/// Removes `foregroundDeletion` from the owner with `uid` once no dependent that blocks it is
/// left. As in the garbage collector, only an ownerReference with `blockOwnerDeletion: true`
/// holds the owner; other dependents are deleted too, but the owner does not wait for them.
fn release_foreground_owner(server: &Arc<ApiServer>, uid: &str) {
    let blocking = dependents(server, uid)
        .into_iter()
        .any(|(_, _, dependent)| {
            dependent["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["uid"].as_str() == Some(uid) && r["blockOwnerDeletion"] == json!(true))
        });
    if blocking {
        return;
    }
    let owner = server.store.all_objects().into_iter().find(|(_, _, o)| {
        objects::uid(o) == Some(uid) && objects::finalizers(o).iter().any(|f| f == FOREGROUND)
    });
    if let Some((gr, _, object)) = owner
        && let Some(def) = def_for(server, &gr)
    {
        remove_finalizer(server, &def, &object, FOREGROUND);
    }
}

/// Deletes every namespaced object in a terminating namespace.
fn terminate_namespace(server: &Arc<ApiServer>, namespace: &str) {
    for (gr, key, _) in server.store.all_objects() {
        if key.namespace != namespace {
            continue;
        }
        if let Some(def) = def_for(server, &gr)
            && def.namespaced
        {
            let options = Options {
                propagation: Some(Propagation::Background),
                ..Options::default()
            };
            let _ = delete_object(server, &def, &key, &options);
        }
    }
    finish_namespace(server, namespace);
}

/// A terminating namespace with nothing left in it is removed.
fn finish_namespace(server: &Arc<ApiServer>, namespace: &str) {
    let Some(ns_def) = server.registry().get("", "v1", "namespaces") else {
        return;
    };
    let key = ApiServer::key(&ns_def, None, namespace);
    let Some(ns) = server.store.get(&ns_def.group_resource(), &key) else {
        return;
    };
    if !objects::is_deleting(&ns)
        || server
            .store
            .all_objects()
            .iter()
            .any(|(_, k, _)| k.namespace == namespace)
    {
        return;
    }
    let committed = server
        .store
        .write::<ApiError>(&ns_def.group_resource(), &key, |current, _| {
            Ok(match current {
                Some(current) if objects::finalizers(current).is_empty() => Write::Delete,
                Some(current) => {
                    let mut next = current.clone();
                    next["spec"]["finalizers"] = json!([]);
                    Write::Put(next)
                }
                None => Write::Unchanged,
            })
        });
    if let Ok(Committed::Deleted(object)) = committed {
        after_delete(server, &ns_def, &object);
    }
}
