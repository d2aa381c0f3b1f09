//! `ferrule-lab probe`: fetches `/version` through a kubeconfig, run inside a node namespace
//! by the reachability check. It builds its client exactly as a ferrule binary on that node
//! will (kubeconfig, CA, HTTPS), so success means components there can reach the API.

use crate::error::Error;
use std::path::Path;
use std::time::Duration;

/// The server's `gitVersion`, fetched through `kubeconfig`.
pub async fn server_version(kubeconfig: &Path, timeout: Duration) -> Result<String, Error> {
    let config_error = |source: Box<dyn std::error::Error + Send + Sync>| Error::Kubeconfig {
        path: kubeconfig.to_owned(),
        source,
    };
    let file =
        kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| config_error(Box::new(e)))?;
    let config =
        kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
            .await
            .map_err(|e| config_error(Box::new(e)))?;
    let client = kube::Client::try_from(config)
        .map_err(|e| Error::kube("building a client from the kubeconfig", e))?;
    let info = tokio::time::timeout(timeout, client.apiserver_version())
        .await
        .map_err(|_| Error::Timeout {
            operation: "GET /version".to_owned(),
            seconds: timeout.as_secs(),
        })?
        .map_err(|e| Error::kube("GET /version", e))?;
    Ok(info.git_version)
}
