//! Every way ferrule-l2announcer's I/O can fail, named for the operation. User mistakes in
//! policies are not errors: the core turns them into status conditions.

use ferrule_runtime::MetricLabel;

/// Errors of the announcer's I/O (the pure core has none).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing this node's NodeL2Announcement (server-side apply) failed.
    #[error("applying NodeL2Announcement {node}")]
    ApplyAnnouncement {
        node: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// Writing a policy's status conditions failed.
    #[error("applying the status of CiliumL2AnnouncementPolicy {name}")]
    ApplyPolicyStatus {
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// A watch stream ended for good (it retries with backoff, so this means shutdown).
    #[error("the {resource} watch ended")]
    WatchEnded { resource: &'static str },

    /// The agent health URL is not a plain `http://host:port/path` URL.
    #[error("--agent-health-url {url:?}: {reason}")]
    HealthUrl { url: String, reason: String },
}

impl MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::ApplyAnnouncement { .. } => "apply_announcement",
            Error::ApplyPolicyStatus { .. } => "apply_policy_status",
            Error::WatchEnded { .. } => "watch_ended",
            Error::HealthUrl { .. } => "health_url",
        }
    }
}

impl Error {
    /// Shorthand for [`MetricLabel::metric_label`] without importing the trait.
    pub fn metric_label(&self) -> &'static str {
        MetricLabel::metric_label(self)
    }
}
