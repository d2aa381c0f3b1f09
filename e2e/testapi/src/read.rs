//! get, list and watch.

use crate::objects::present;
use crate::registry::ResourceDef;
use crate::request::Target;
use crate::selectors::{FieldQuery, LabelQuery};
use crate::server::{ApiServer, Reply, Request};
use crate::status::ApiError;
use crate::store::Snapshot;
use crate::table::{Include, table, wants_table};
use crate::watch::{WatchFilter, WatchStream};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub fn get(
    server: &ApiServer,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let name = target.name.as_deref().unwrap_or("");
    let key = ApiServer::key(def, target.namespace.as_deref(), name);
    let object = server
        .store
        .get(&def.group_resource(), &key)
        .ok_or_else(|| ApiError::not_found(def, name))?;
    if wants_table(request.accept.as_deref()) {
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let include = Include::from_query(&request.query)?;
        return Ok(Reply::ok(table(def, &[&object], &rv, true, include)));
    }
    Ok(Reply::ok(present(def, &object)))
}

fn selectors(def: &ResourceDef, request: &Request) -> Result<(LabelQuery, FieldQuery), ApiError> {
    let labels = LabelQuery::parse(request.query.get("labelSelector").unwrap_or(""))?;
    let fields = FieldQuery::parse(
        request.query.get("fieldSelector").unwrap_or(""),
        &def.kind,
        extra_fields(def),
    )?;
    Ok((labels, fields))
}

/// Field selectors some built-in kinds support beyond metadata.
fn extra_fields(def: &ResourceDef) -> &'static [&'static str] {
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "pods") => &["spec.nodeName", "status.phase"],
        ("", "events") => &[
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.kind",
            "involvedObject.uid",
            "reason",
            "type",
        ],
        ("", "secrets") => &["type"],
        _ => &[],
    }
}

/// The opaque `continue` token of a saved snapshot and offset.
fn continue_token(snapshot: u64, offset: usize) -> String {
    format!("ferrule-{snapshot}-{offset}")
}

fn parse_continue(token: &str) -> Option<(u64, usize)> {
    let rest = token.strip_prefix("ferrule-")?;
    let (snapshot, offset) = rest.split_once('-')?;
    Some((snapshot.parse().ok()?, offset.parse().ok()?))
}

pub fn list(
    server: &ApiServer,
    def: &ResourceDef,
    target: &Target,
    request: &Request,
) -> Result<Reply, ApiError> {
    let limit = request
        .query
        .u64("limit")?
        .filter(|l| *l > 0)
        .map(|l| l as usize);
    let (snapshot, offset) = match request.query.get("continue") {
        Some(token) => {
            let (id, offset) = parse_continue(token).ok_or_else(|| {
                ApiError::bad_request(format!("continue key is not valid: {token:?}"))
            })?;
            let snapshot = server
                .store
                .snapshot(id)
                .ok_or_else(ApiError::gone_continue)?;
            (snapshot, offset)
        }
        None => {
            let (labels, fields) = selectors(def, request)?;
            let (items, rv) = server
                .store
                .list(&def.group_resource(), target.namespace.as_deref());
            let items: Vec<_> = items
                .into_iter()
                .filter(|o| labels.matches(o) && fields.matches(o))
                .collect();
            (
                Snapshot {
                    rv,
                    items: Arc::new(items),
                },
                0,
            )
        }
    };
    let end = limit.map_or(snapshot.items.len(), |l| {
        (offset + l).min(snapshot.items.len())
    });
    let page = &snapshot.items[offset.min(end)..end];
    let mut metadata = json!({ "resourceVersion": snapshot.rv.to_string() });
    if end < snapshot.items.len() {
        let id = server.store.save_snapshot(snapshot.clone());
        metadata["continue"] = json!(continue_token(id, end));
        metadata["remainingItemCount"] = json!(snapshot.items.len() - end);
    }
    if wants_table(request.accept.as_deref()) {
        let objects: Vec<&Value> = page.iter().map(|o| o.as_ref()).collect();
        let include = Include::from_query(&request.query)?;
        let mut body = table(def, &objects, &snapshot.rv.to_string(), true, include);
        body["metadata"] = metadata;
        return Ok(Reply::ok(body));
    }
    Ok(Reply::ok(json!({
        "kind": def.list_kind,
        "apiVersion": def.api_version(),
        "metadata": metadata,
        "items": page.iter().map(|o| present(def, o)).collect::<Vec<_>>(),
    })))
}

pub fn watch(
    server: &ApiServer,
    def: &Arc<ResourceDef>,
    target: &Target,
    request: &Request,
) -> Result<WatchStream, ApiError> {
    let query = &request.query;
    let (labels, mut fields) = selectors(def, request)?;
    if let Some(name) = &target.name {
        // A watch on one object (`/watch/.../name`) is a field selector on its name.
        fields = FieldQuery::parse(&format!("metadata.name={name}"), &def.kind, &[])?;
    }
    let send_initial = query.flag("sendInitialEvents");
    let from = match query.get("resourceVersion") {
        None | Some("0") => None,
        Some(_) if send_initial => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion: {rv:?}")))?,
        ),
    };
    let timeout = query.u64("timeoutSeconds")?.map(Duration::from_secs);
    // `kubectl get -w` asks for Tables: every event's object is then converted.
    let as_table = wants_table(request.accept.as_deref())
        .then(|| Include::from_query(query))
        .transpose()?;
    let filter = WatchFilter {
        namespace: target.namespace.clone(),
        labels,
        fields,
        bookmarks: query.flag("allowWatchBookmarks"),
        initial_events_end: send_initial,
        timeout,
    };
    match server.store.watch(&def.group_resource(), from) {
        Ok(subscription) => {
            let stream = WatchStream::new(def.clone(), filter, subscription);
            Ok(match as_table {
                Some(include) => stream.with_table(include),
                None => stream,
            })
        }
        Err(expired) => Ok(WatchStream::failed(
            def.clone(),
            &ApiError::gone(expired.requested, expired.oldest).to_status(),
        )),
    }
}

impl ApiError {
    fn gone_continue() -> Self {
        let mut error = ApiError::gone(0, 0);
        error.message = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".into();
        error
    }
}
