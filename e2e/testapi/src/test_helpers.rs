//! What tests of ferrule's components do against a [`crate::TestApi`] over and over: wait for a
//! condition, and install CRDs the way a cluster has them (created, then Established). They
//! panic with a message on failure, as test helpers should.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

/// Polls `check` until it returns `Some`, panicking with `what` after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} (waited {within:?})");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates each CRD and waits (up to `within` each) until the server reports it Established,
/// so the caller can use its resources at once.
pub async fn install_crds(
    client: &kube::Client,
    crds: impl IntoIterator<Item = CustomResourceDefinition>,
    within: Duration,
) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        let name = crd.metadata.name.clone().expect("CRDs are named");
        api.create(&PostParams::default(), &crd)
            .await
            .unwrap_or_else(|e| panic!("CRD {name} is accepted: {e}"));
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(within, established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} is Established within {within:?}"))
            .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }
}
