//! A stand-in for the Kubernetes API holding Leases in memory, served over real HTTP so the
//! elector runs through a real `kube::Client` (with the runtime's rate limit). It implements
//! exactly what leader election uses — GET, POST and PUT of a namespaced Lease with
//! resourceVersion checks — until ferrule-testapi can replace it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Json, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::serde_json::json;
use tokio::net::TcpListener;

#[derive(Clone, Default)]
pub struct FakeApi {
    leases: Arc<Mutex<BTreeMap<(String, String), Lease>>>,
    next_version: Arc<Mutex<u64>>,
    unavailable: Arc<AtomicBool>,
}

impl FakeApi {
    /// Serves on an ephemeral loopback port; returns the base URL.
    pub async fn serve(&self) -> String {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the fake API should bind a loopback port");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let app = Router::new()
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
                post(create),
            )
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
                get(read).put(replace),
            )
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    /// The stored Lease, if any.
    pub fn lease(&self, namespace: &str, name: &str) -> Option<Lease> {
        self.leases()
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// While set, every request fails with 500 (an API server outage).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Lease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) -> String {
        let mut version = self
            .next_version
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *version += 1;
        version.to_string()
    }

    fn outage(&self) -> Option<Response> {
        self.unavailable
            .load(Ordering::SeqCst)
            .then(|| status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "outage"))
    }
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    (code, Json(body)).into_response()
}

async fn read(
    State(api): State<FakeApi>,
    Path((namespace, name)): Path<(String, String)>,
) -> Response {
    if let Some(outage) = api.outage() {
        return outage;
    }
    match api.lease(&namespace, &name) {
        Some(lease) => Json(lease).into_response(),
        None => status(StatusCode::NOT_FOUND, "NotFound", "lease not found"),
    }
}

async fn create(
    State(api): State<FakeApi>,
    Path(namespace): Path<String>,
    Json(mut lease): Json<Lease>,
) -> Response {
    if let Some(outage) = api.outage() {
        return outage;
    }
    let name = lease.metadata.name.clone().unwrap_or_default();
    let mut leases = api.leases();
    let key = (namespace.clone(), name);
    if leases.contains_key(&key) {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            "lease already exists",
        );
    }
    lease.metadata.namespace = Some(namespace);
    lease.metadata.resource_version = Some(api.bump());
    leases.insert(key, lease.clone());
    (StatusCode::CREATED, Json(lease)).into_response()
}

async fn replace(
    State(api): State<FakeApi>,
    Path((namespace, name)): Path<(String, String)>,
    Json(mut lease): Json<Lease>,
) -> Response {
    if let Some(outage) = api.outage() {
        return outage;
    }
    let mut leases = api.leases();
    let key = (namespace, name);
    let Some(current) = leases.get(&key) else {
        return status(StatusCode::NOT_FOUND, "NotFound", "lease not found");
    };
    // Optimistic concurrency, as the real API server does for updates.
    if lease.metadata.resource_version != current.metadata.resource_version {
        return status(
            StatusCode::CONFLICT,
            "Conflict",
            "the object has been modified",
        );
    }
    lease.metadata.resource_version = Some(api.bump());
    leases.insert(key, lease.clone());
    Json(lease).into_response()
}
