//! The lab's API server: ferrule-testapi, in-process, on the LAN bridge address.
//!
//! The lab process runs inside `fl-lab` (see [`crate::lab_namespace`]), so binding
//! 192.0.2.1:6443 puts the server on the bridge every node namespace is plugged into, and the
//! kubeconfig it writes (HTTPS, with the CA) works unchanged from each of them.

use crate::addresses::{API_SERVER_PORT, API_SERVER_V4};
use crate::error::Error;
use ferrule_testapi::{Options, TestApi};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running API server and a client of it.
pub struct ApiServer {
    /// Dropping it stops the server.
    pub server: TestApi,
    pub client: kube::Client,
    /// What `/version` answered.
    pub version: String,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("server", &self.server)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl ApiServer {
    pub fn url(&self) -> String {
        format!("https://{}", self.server.addr())
    }
}

/// Starts the server, writes `kubeconfig`, and waits until it answers `/version` through it.
pub async fn start(kubeconfig: &Path) -> Result<ApiServer, Error> {
    let server = TestApi::start_with(Options {
        listen: SocketAddr::from((API_SERVER_V4, API_SERVER_PORT)),
        tls: true,
        kubeconfig_out: Some(kubeconfig.to_owned()),
        ..Options::default()
    })
    .await
    .map_err(|e| Error::ApiServer(Box::new(e)))?;
    let client = server
        .client()
        .await
        .map_err(|e| Error::ApiServer(Box::new(e)))?;
    let version = wait_until_answers(&client).await?;
    Ok(ApiServer {
        server,
        client,
        version,
    })
}

/// Polls `/version`: the first request proves the listener, TLS and the kubeconfig together.
async fn wait_until_answers(client: &kube::Client) -> Result<String, Error> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match client.apiserver_version().await {
            Ok(info) => return Ok(info.git_version),
            Err(e) if Instant::now() >= deadline => {
                return Err(Error::kube("waiting for the API server to answer", e));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
