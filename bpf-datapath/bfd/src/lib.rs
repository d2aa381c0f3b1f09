//! ferrule-bfd: Bidirectional Forwarding Detection for the node BGP speaker.
//!
//! Single-hop BFD (RFC 5881) in asynchronous mode (RFC 5880), IPv4 and IPv6, without
//! authentication and without Demand mode or the Echo function. The crate knows nothing of
//! Kubernetes or BGP: the speaker starts one session per BFD-enabled peer and tears its BGP
//! session down as soon as the BFD session leaves Up.
//!
//! # Layers
//! - [`packet`]: the Control packet codec with the packet-only checks of RFC 5880 section
//!   6.8.6. Packets with the A (authentication) bit are discarded, as the RFC requires of a
//!   system without authentication configured.
//! - [`session`]: one session as a pure state machine (AdminDown/Down/Init/Up, timers, Poll
//!   and Final) with explicit time; [`timers`] holds the interval arithmetic and jitter.
//! - [`runtime`]: the Tokio runtime: sockets, per-session tasks, the peer table.
//!
//! # Using the runtime
//! ```no_run
//! # async fn example() -> Result<(), ferrule_bfd::Error> {
//! use std::time::Duration;
//! use ferrule_bfd::{Bfd, PeerSpec, SessionState};
//!
//! let bfd = Bfd::new();
//! let mut events = bfd.subscribe();
//! let spec = PeerSpec::new("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
//!     .timers(Duration::from_millis(100), 3);
//! let mut status = bfd.add_peer(spec.clone())?;
//! status.wait_for(|s| s.state == SessionState::Up).await.ok();
//! // Each change, in order, with the reason (e.g. ControlDetectionTimeExpired):
//! while let Ok(change) = events.recv().await {
//!     if change.peer == spec.key() && change.from == SessionState::Up {
//!         // tear the BGP session down here
//!     }
//! }
//! bfd.remove_peer(&spec.key());
//! # Ok(()) }
//! ```
//! - [`Bfd::add_peer`] binds the sockets at once (errors are returned, not logged) and
//!   returns a `watch` of the session's [`PeerStatus`]; called again for the same
//!   [`PeerKey`] it changes the timers of the running session through a Poll Sequence.
//!   [`PeerStatus::down_count`] lets a watcher notice a Down it did not observe.
//! - [`Bfd::subscribe`] yields every [`StateChange`] with its diagnostic, in order.
//! - [`Bfd::remove_peer`] sends AdminDown to the peer (so it does not report a failure) and
//!   stops the session; [`Bfd::status`] lists every session.
//! - Calls must come from within a Tokio runtime; sockets belong to the network namespace of
//!   the calling thread.
//!
//! # Wire behaviour (RFC 5881)
//! Packets go to UDP port 3784 from a per-session source port in 49152-65535, with TTL / hop
//! limit 255; received packets whose TTL / hop limit is not 255 are dropped (GTSM). One
//! socket per local address (and interface) listens on port 3784 and hands packets to
//! sessions by Your Discriminator, or by addresses while that is still zero. While a session
//! is not Up it transmits at most once per second (RFC 5880 section 6.8.3); once Up it moves
//! to the configured intervals with a Poll Sequence. Port 3784 is not privileged; an
//! interface binding (SO_BINDTODEVICE) needs CAP_NET_RAW on kernels before 5.7.
#![forbid(unsafe_code)]

pub mod error;
pub mod packet;
pub mod runtime;
pub mod session;
pub mod timers;

pub use error::Error;
pub use packet::{ControlPacket, DecodeError, Diagnostic, SessionState};
pub use runtime::{Bfd, PeerKey, PeerSpec, PeerStatus, StateChange};
pub use session::{Session, SessionConfig, Transition};
