//! What the integration tests share: a ferrule-testapi with ferrule's CRDs and a client.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use ferrule_testapi::TestApi;
use ferrule_testapi::test_helpers::install_crds;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;
use std::time::Duration;

/// Generous: a 2-core machine may be compiling something else at the same time.
pub const WITHIN: Duration = Duration::from_secs(20);
pub const MANAGER: &str = "bgp-control-test";
pub const NODE: &str = "node-1";

pub struct Cluster {
    pub api: TestApi,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Self {
        let api = TestApi::start().await.expect("ferrule-testapi starts");
        let client = api.client().await.expect("a client from the kubeconfig");
        install_crds(&client, ferrule_api::crds::all(), WITHIN).await;
        Self { api, client }
    }

    /// Server-side applies a cluster-scoped object.
    pub async fn apply<K>(&self, body: Value) -> K
    where
        K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + serde::Serialize,
    {
        apply_with(Api::all(self.client.clone()), body).await
    }

    /// Server-side applies an object in `namespace`.
    pub async fn apply_in<K>(&self, namespace: &str, body: Value) -> K
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Debug
            + DeserializeOwned
            + serde::Serialize,
    {
        apply_with(Api::namespaced(self.client.clone(), namespace), body).await
    }

    /// Merge-patches the status of a namespaced object.
    pub async fn patch_status<K>(&self, namespace: &str, name: &str, status: Value)
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        Api::<K>::namespaced(self.client.clone(), namespace)
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&serde_json::json!({"status": status})),
            )
            .await
            .unwrap_or_else(|e| panic!("patching the status of {name}: {e}"));
    }
}

async fn apply_with<K>(api: Api<K>, body: Value) -> K
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + serde::Serialize,
{
    let name = body["metadata"]["name"]
        .as_str()
        .expect("a named object")
        .to_owned();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {name}: {e}"))
}
