//! Every way ferrule-bgp's I/O can fail, named for the operation that failed. User mistakes
//! (conflicting selectors, missing references) are not errors: the core turns them into
//! status conditions.

use ferrule_runtime::MetricLabel;

/// Errors of the controller's I/O (the pure core has none).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Server-side apply of a `CiliumBGPNodeConfig` failed.
    #[error("applying CiliumBGPNodeConfig {name}")]
    ApplyNodeConfig {
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// Deleting a `CiliumBGPNodeConfig` no node should have failed.
    #[error("deleting CiliumBGPNodeConfig {name}")]
    DeleteNodeConfig {
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// Applying the conditions of a `CiliumBGPClusterConfig` or `CiliumBGPPeerConfig` failed.
    #[error("applying the status of {kind} {name}")]
    ApplyStatus {
        kind: &'static str,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// A watch stream ended for good (it retries with backoff, so this means shutdown).
    #[error("the {resource} watch ended")]
    WatchEnded { resource: &'static str },
}

impl Error {
    fn kube(&self) -> Option<&kube::Error> {
        match self {
            Error::ApplyNodeConfig { source, .. }
            | Error::DeleteNodeConfig { source, .. }
            | Error::ApplyStatus { source, .. } => Some(source),
            Error::WatchEnded { .. } => None,
        }
    }

    /// Whether retrying the same request later can succeed (server errors, timeouts,
    /// conflicts), as opposed to requests the API server rejects for what they are.
    pub fn is_retryable(&self) -> bool {
        match self.kube() {
            Some(kube::Error::Api(status)) => !matches!(status.code, 400 | 403 | 404 | 422),
            _ => true,
        }
    }

    /// Whether the object is gone (deleted between the observation and the write).
    pub fn is_not_found(&self) -> bool {
        matches!(self.kube(), Some(kube::Error::Api(status)) if status.code == 404)
    }

    /// Shorthand for [`MetricLabel::metric_label`] without importing the trait.
    pub fn metric_label(&self) -> &'static str {
        MetricLabel::metric_label(self)
    }
}

impl MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::ApplyNodeConfig { .. } => "apply_node_config",
            Error::DeleteNodeConfig { .. } => "delete_node_config",
            Error::ApplyStatus { .. } => "apply_status",
            Error::WatchEnded { .. } => "watch_ended",
        }
    }
}
