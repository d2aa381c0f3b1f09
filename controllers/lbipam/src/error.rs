//! Every way ferrule-lbipam's I/O can fail, named for the operation that failed. User mistakes
//! (bad CIDRs, unknown requested IPs, ...) are not errors: the core turns them into status
//! conditions.

use ferrule_runtime::MetricLabel;

/// Errors of the controller's I/O (the pure core has none).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Applying a Service's status (server-side apply on `services/status`) failed.
    #[error("applying the status of Service {key}")]
    ApplyServiceStatus {
        key: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// Applying a pool's status (server-side apply on `ciliumloadbalancerippools/status`)
    /// failed.
    #[error("applying the status of CiliumLoadBalancerIPPool {name}")]
    ApplyPoolStatus {
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// The response of a status apply could not be read back into the index.
    #[error("reading the object the API server returned for {key}")]
    DecodeResponse {
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A watch stream ended for good (it retries with backoff, so this means shutdown).
    #[error("the {resource} watch ended")]
    WatchEnded { resource: &'static str },

    /// The planning task was cancelled (the runtime is shutting down).
    #[error("running the plan")]
    Plan(#[source] tokio::task::JoinError),

    /// The core panicked: a bug. The pass is abandoned; the index is intact.
    #[error("the planner panicked")]
    PlanPanicked,
}

impl Error {
    /// Whether retrying the same request later can succeed (server errors, timeouts,
    /// conflicts), as opposed to requests the API server rejects for what they are.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::ApplyServiceStatus { source, .. } | Error::ApplyPoolStatus { source, .. } => {
                match source.as_ref() {
                    kube::Error::Api(status) => !matches!(status.code, 400 | 403 | 404 | 422),
                    _ => true,
                }
            }
            Error::DecodeResponse { .. } => false,
            Error::WatchEnded { .. } | Error::Plan(_) | Error::PlanPanicked => true,
        }
    }

    /// Whether the object is gone (deleted between the observation and the write): nothing to
    /// retry, the watch will remove it from the index.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::ApplyServiceStatus { source, .. } | Error::ApplyPoolStatus { source, .. } => {
                matches!(source.as_ref(), kube::Error::Api(status) if status.code == 404)
            }
            _ => false,
        }
    }
}

impl MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::ApplyServiceStatus { .. } => "apply_service_status",
            Error::ApplyPoolStatus { .. } => "apply_pool_status",
            Error::DecodeResponse { .. } => "decode_response",
            Error::WatchEnded { .. } => "watch_ended",
            Error::Plan(_) => "plan",
            Error::PlanPanicked => "plan_panicked",
        }
    }
}

impl Error {
    /// Shorthand for [`MetricLabel::metric_label`] without importing the trait.
    pub fn metric_label(&self) -> &'static str {
        MetricLabel::metric_label(self)
    }
}
