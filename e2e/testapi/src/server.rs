//! The API server's request handling, independent of the HTTP transport: resolve the target,
//! apply injected faults, dispatch to the verb.

use crate::faults::Faults;
use crate::registry::{Registry, ResourceDef};
use crate::request::{Query, Target, parse_path};
use crate::requests::RequestCounter;
use crate::status::ApiError;
use crate::store::{ObjectKey, Store};
use crate::watch::WatchStream;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other,
}

/// A request as the server sees it, after HTTP parsing.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Query,
    pub content_type: Option<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
}

/// What goes back.
#[derive(Debug)]
pub enum Reply {
    Json {
        code: u16,
        body: Value,
        warnings: Vec<String>,
        content_type: &'static str,
    },
    Watch(WatchStream),
    /// A 200 with a body that is not JSON (the protobuf OpenAPI v2 document).
    Raw {
        content_type: &'static str,
        body: Bytes,
    },
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn json(code: u16, body: Value) -> Self {
        Reply::Json {
            code,
            body,
            warnings: Vec::new(),
            content_type: "application/json",
        }
    }

    pub fn with_warnings(mut self, extra: Vec<String>) -> Self {
        if let Reply::Json { warnings, .. } = &mut self {
            warnings.extend(extra);
        }
        self
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Self {
        Reply::json(error.code, error.to_status())
    }
}

/// Namespaces every cluster starts with.
const INITIAL_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// Changes kept per collection for watch resumption before clients see 410 Gone.
pub const DEFAULT_HISTORY: usize = 100_000;

/// The in-memory API server.
#[derive(Debug)]
pub struct ApiServer {
    pub(crate) registry: RwLock<Registry>,
    pub(crate) store: Store,
    pub faults: Faults,
    /// Requests handled, by verb, resource and subresource.
    pub requests: RequestCounter,
    cel_logged: Mutex<BTreeSet<String>>,
}

impl ApiServer {
    pub fn new() -> Arc<Self> {
        Self::with_history(DEFAULT_HISTORY)
    }

    pub fn with_history(history: usize) -> Arc<Self> {
        let server = Arc::new(Self {
            registry: RwLock::new(Registry::with_builtins()),
            store: Store::new(history),
            faults: Faults::default(),
            requests: RequestCounter::default(),
            cel_logged: Mutex::new(BTreeSet::new()),
        });
        for ns in INITIAL_NAMESPACES {
            let namespace = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": { "name": ns, "labels": { "kubernetes.io/metadata.name": ns } },
                "spec": { "finalizers": ["kubernetes"] },
                "status": { "phase": "Active" },
            });
            if let Err(e) = server.create_internal("", "namespaces", namespace) {
                tracing::error!(error = %e, namespace = ns, "creating an initial namespace failed");
            }
        }
        server
    }

    pub(crate) fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Logs each CEL rule that is not enforced once per server.
    pub(crate) fn note_unenforced_cel(&self, crd: &str, rules: Vec<(String, String)>) {
        let mut logged = self
            .cel_logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (path, rule) in rules {
            if logged.insert(format!("{crd} {path} {rule}")) {
                tracing::warn!(
                    crd,
                    path,
                    rule,
                    "x-kubernetes-validations rule is not enforced by ferrule-testapi"
                );
            }
        }
    }

    /// Ends every open watch stream, as an API server restart or a load balancer would; clients
    /// re-watch from the last resourceVersion they saw.
    pub fn close_watches(&self) {
        self.store.close_watches();
    }

    /// Compacts the change history (as etcd compaction does): resuming a watch from any
    /// earlier resourceVersion, or continuing a list, now answers 410 Gone.
    pub fn compact(&self) {
        self.store.compact();
    }

    /// The store's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.store.resource_version()
    }

    /// Handles one request.
    pub async fn handle(self: &Arc<Self>, request: Request) -> Reply {
        let target = parse_path(&request.path);
        let verb = verb_of(&request, target.as_ref());
        let resource = target.as_ref().map(|t| t.resource.as_str()).unwrap_or("");
        let subresource = target
            .as_ref()
            .and_then(|t| t.subresource.as_deref())
            .unwrap_or("");
        self.requests.record(verb, resource, subresource);
        if let Some(delay) = self.faults.latency(verb, resource) {
            tokio::time::sleep(delay).await;
        }
        if let Some(code) = self.faults.take_failure(verb, resource) {
            return ApiError::injected(code).into();
        }
        match target {
            Some(target) => match self.dispatch(&request, &target, verb) {
                Ok(reply) => reply,
                Err(error) => error.into(),
            },
            None => crate::discovery::handle(self, &request),
        }
    }

    fn dispatch(
        self: &Arc<Self>,
        request: &Request,
        target: &Target,
        verb: &str,
    ) -> Result<Reply, ApiError> {
        let def = self.resolve(target)?;
        match verb {
            "get" => crate::read::get(self, &def, target, request),
            "list" => crate::read::list(self, &def, target, request),
            "watch" => crate::read::watch(self, &def, target, request).map(Reply::Watch),
            "create" => crate::write::create(self, &def, target, request),
            "update" => crate::write::update(self, &def, target, request),
            "patch" => crate::write::patch(self, &def, target, request),
            "delete" => crate::delete::delete(self, &def, target, request),
            "deletecollection" => crate::delete::delete_collection(self, &def, target, request),
            _ => Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({})",
                request.path
            ))),
        }
    }

    /// The definition a target names, checking scope and subresource.
    fn resolve(&self, target: &Target) -> Result<Arc<ResourceDef>, ApiError> {
        let def = self
            .registry()
            .get(&target.group, &target.version, &target.resource)
            .ok_or_else(|| ApiError::no_route(&target.resource))?;
        if target.namespace.is_some() && !def.namespaced {
            return Err(ApiError::no_route(&target.resource));
        }
        if target.name.is_some() && def.namespaced && target.namespace.is_none() {
            return Err(ApiError::no_route(&target.resource));
        }
        match target.subresource.as_deref() {
            None => {}
            Some("status") if def.status_subresource => {}
            Some("finalize") if def.plural == "namespaces" && def.group.is_empty() => {}
            Some(
                sub @ ("scale"
                | "eviction"
                | "log"
                | "exec"
                | "attach"
                | "portforward"
                | "proxy"
                | "binding"
                | "ephemeralcontainers"
                | "resize"
                | "token"
                | "approval"),
            ) => {
                return Err(ApiError::unsupported(format!("the {sub} subresource")));
            }
            Some(_) => return Err(ApiError::no_route(&target.resource)),
        }
        Ok(def)
    }

    /// Creates an object without HTTP (initial namespaces, lab bootstrap).
    pub(crate) fn create_internal(
        self: &Arc<Self>,
        group: &str,
        resource: &str,
        object: Value,
    ) -> Result<Value, ApiError> {
        // Internal creations only touch v1 kinds (namespaces, bootstrap objects).
        let def = self
            .registry()
            .get(group, "v1", resource)
            .ok_or_else(|| ApiError::no_route(resource))?;
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        crate::write::create_object(
            self,
            &def,
            namespace.as_deref(),
            object,
            "ferrule-testapi",
            false,
            crate::write::FieldValidation::Strict,
        )
        .map(|(_, body, _)| body)
    }

    pub(crate) fn key(def: &ResourceDef, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            namespace: if def.namespaced {
                namespace.unwrap_or("").to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }
}

/// The Kubernetes verb of a request (as in RBAC and audit logs).
pub fn verb_of(request: &Request, target: Option<&Target>) -> &'static str {
    let Some(target) = target else {
        return "get";
    };
    let named = target.name.is_some();
    match request.method {
        Method::Get if target.watch_prefix || request.query.flag("watch") => "watch",
        Method::Get if named => "get",
        Method::Get => "list",
        Method::Post if !named => "create",
        Method::Put if named => "update",
        Method::Patch if named => "patch",
        Method::Delete if named => "delete",
        Method::Delete => "deletecollection",
        _ => "unknown",
    }
}
