//! Every way the node side of the BGP control plane can fail, named for the operation.
//! Configuration mistakes are not errors: the core reports them as [`crate::Problem`]s.

/// Errors of the driver, the status writer and the routing-table reader.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `ip` could not be started.
    #[error("running ip")]
    RunIp {
        #[source]
        source: std::io::Error,
    },
    /// `ip` exited with an error.
    #[error("ip failed ({status}): {stderr}")]
    IpFailed { status: String, stderr: String },
    /// `ip -j route` or `ip -j addr` printed something that is not their JSON.
    #[error("parsing ip -j output")]
    ParseRoutes {
        #[source]
        source: serde_json::Error,
    },
    /// Reading the node's CiliumBGPNodeConfig (for its status) failed.
    #[error("reading CiliumBGPNodeConfig {node}")]
    ReadNodeConfig {
        node: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Writing the node's CiliumBGPNodeConfig status failed.
    #[error("applying the status of CiliumBGPNodeConfig {node}")]
    ApplyStatus {
        node: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl Error {
    /// A fixed label per variant, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::RunIp { .. } => "run_ip",
            Error::IpFailed { .. } => "ip_failed",
            Error::ParseRoutes { .. } => "parse_routes",
            Error::ReadNodeConfig { .. } => "read_node_config",
            Error::ApplyStatus { .. } => "apply_status",
        }
    }
}
