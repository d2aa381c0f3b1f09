//! Errors of the speaker API.

use std::net::IpAddr;

/// What can go wrong starting or configuring the speaker. Session failures are not errors:
/// they show in [`crate::PeerStatus::last_error`] and the session retries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listening socket could not be set up.
    #[error("listening on BGP port {port}: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A TCP MD5 key could not be installed on the listening socket.
    #[error("installing the TCP MD5 key for {peer}: {source}")]
    Md5 {
        /// The peer.
        peer: IpAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A peer is configured as passive but the speaker does not listen.
    #[error("peer {0} is passive but the speaker has no listen port")]
    PassiveWithoutListener(IpAddr),
}

impl Error {
    /// A fixed label per variant, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Listen { .. } => "listen",
            Error::Md5 { .. } => "md5",
            Error::PassiveWithoutListener(_) => "passive_without_listener",
        }
    }
}
