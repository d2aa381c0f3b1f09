//! Errors of the BFD runtime.

use crate::runtime::PeerKey;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid BFD peer {peer}: {reason}")]
    InvalidPeer { peer: PeerKey, reason: &'static str },
    #[error("BFD peer {peer}: failed to {what}")]
    Socket {
        peer: PeerKey,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A fixed label per variant, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidPeer { .. } => "invalid_peer",
            Self::Socket { .. } => "socket",
        }
    }
}
