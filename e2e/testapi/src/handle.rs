//! Starting a server: the library API tests use, and what the binary runs.

use crate::server::ApiServer;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("binding {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("preparing TLS")]
    Tls(#[from] crate::tls::TlsError),
    #[error("writing the kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("building a client from the kubeconfig")]
    Client(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Serve HTTPS with a fresh CA (the kubeconfig carries it); plain HTTP otherwise.
    pub tls: bool,
    /// Where to write the kubeconfig; a fresh temporary file when `None`.
    pub kubeconfig_out: Option<PathBuf>,
    /// Changes kept per resource for watch resumption.
    pub history: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            kubeconfig_out: None,
            history: crate::server::DEFAULT_HISTORY,
        }
    }
}

/// A running server. Dropping it stops the server and removes a temporary kubeconfig.
#[derive(Debug)]
pub struct TestApi {
    server: Arc<ApiServer>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    temporary_kubeconfig: bool,
    task: JoinHandle<()>,
}

impl TestApi {
    /// HTTPS on a random loopback port, kubeconfig in a temporary file.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: options.listen,
            source,
        })?;
        let (tls, url) = if options.tls {
            let cert = crate::tls::serving_cert(addr)?;
            (Some(cert), format!("https://{addr}"))
        } else {
            (None, format!("http://{addr}"))
        };
        let temporary_kubeconfig = options.kubeconfig_out.is_none();
        let kubeconfig = options.kubeconfig_out.unwrap_or_else(|| {
            std::env::temp_dir().join(format!(
                "ferrule-testapi-{}-{}.kubeconfig",
                std::process::id(),
                addr.port()
            ))
        });
        let text = crate::tls::kubeconfig(&url, tls.as_ref().map(|t| t.ca_pem.as_str()));
        std::fs::write(&kubeconfig, text).map_err(|source| StartError::Kubeconfig {
            path: kubeconfig.clone(),
            source,
        })?;
        let server = ApiServer::with_history(options.history);
        let task = tokio::spawn(crate::http::serve(
            server.clone(),
            listener,
            tls.map(|t| t.config),
        ));
        Ok(Self {
            server,
            addr,
            kubeconfig,
            temporary_kubeconfig,
            task,
        })
    }

    /// A kube client configured from the kubeconfig, exactly as a controller would build one.
    pub async fn client(&self) -> Result<kube::Client, StartError> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| StartError::Client(Box::new(e)))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| StartError::Client(Box::new(e)))?;
        kube::Client::try_from(config).map_err(|e| StartError::Client(Box::new(e)))
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server itself: fault injection, watch closing, history compaction, request counts
    /// (`server().requests`).
    pub fn server(&self) -> &Arc<ApiServer> {
        &self.server
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        self.task.abort();
        if self.temporary_kubeconfig {
            let _ = std::fs::remove_file(&self.kubeconfig);
        }
    }
}
