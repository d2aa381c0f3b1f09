//! What the kube-rs tests against ferrule-testapi share: a started server with a client, small
//! object builders and polling helpers.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::time::Duration;

use ferrule_testapi::TestApi;
#[allow(unused_imports, reason = "not every test binary polls")]
pub use ferrule_testapi::test_helpers::eventually;
use ferrule_testapi::test_helpers::install_crds;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A fresh server (HTTPS, as a real cluster) and a client built from its kubeconfig.
pub async fn start() -> (TestApi, kube::Client) {
    let api = TestApi::start().await.expect("ferrule-testapi starts");
    let client = api
        .client()
        .await
        .expect("a client builds from the kubeconfig");
    (api, client)
}

/// A ConfigMap with one data entry and the given labels.
pub fn config_map(name: &str, value: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: (!labels.is_empty()).then(|| {
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("value".to_owned(), value.to_owned())])),
        ..ConfigMap::default()
    }
}

/// The `value` entry of a ConfigMap.
pub fn value_of(cm: &ConfigMap) -> Option<&str> {
    cm.data.as_ref()?.get("value").map(String::as_str)
}

/// The `kube::Error::Api` status of a failed call.
pub fn api_error<T: std::fmt::Debug>(result: kube::Result<T>, what: &str) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("{what}: expected an API error, got {other:?}"),
    }
}

/// Installs ferrule's CiliumLoadBalancerIPPool CRD (as crd-gen generates it) and waits until
/// the server reports it Established.
pub async fn install_pool_crd(client: &kube::Client) {
    let crd = ferrule_api::crds::all()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some("ciliumloadbalancerippools.cilium.io"))
        .expect("ferrule-api generates the CiliumLoadBalancerIPPool CRD");
    install_crds(client, [crd], Duration::from_secs(5)).await;
}
