//! ferrule-bgp-speaker: a BGP-4 speaker (RFC 4271) for a node. It knows nothing of Kubernetes:
//! its owner (the agent) turns objects into [`PeerConfig`]s and [`Route`]s.
//!
//! # What it does
//! - Sessions: active connect (or passive accept on [`GlobalConfig::listen_port`], only from
//!   configured peers, with RFC 4271 6.8 collision resolution), ConnectRetry with jitter in
//!   [t, 2t), negotiated hold time (the smaller one) and keepalive (configured, at most a
//!   third of the hold time), eBGP TTL, peer port, source address, 4-byte ASNs (AS_TRANS in
//!   the OPEN), IPv4 and IPv6 unicast (both when none are configured), graceful restart as
//!   restarting speaker (RFC 4724: capability with restart time, the R bit on the first
//!   session of a new speaker, F bits set, End-of-RIB after the initial table), and TCP MD5
//!   (RFC 2385).
//! - Routes: each peer gets the table set with [`Speaker::set_routes`]: ORIGIN IGP, AS_PATH
//!   `[local AS]` on eBGP and empty on iBGP, NEXT_HOP the session's local address of the
//!   route's family (or the peer's next-hop hint; otherwise the family is not advertised and
//!   [`FamilyStatus::not_advertised`] says why), communities, large communities and
//!   LOCAL_PREF (iBGP only). Replacing a table sends only the difference.
//! - Received routes are only counted, per family.
//! - Malformed messages get the RFC 4271 section 6 NOTIFICATION; attribute errors that RFC
//!   7606 forgives withdraw the UPDATE's routes instead. The decoder never panics.
//!
//! # Use
//! ```no_run
//! # async fn run() -> Result<(), ferrule_bgp_speaker::Error> {
//! use ferrule_bgp_speaker::*;
//! let speaker = Speaker::new(GlobalConfig {
//!     asn: 65000,
//!     router_id: "192.0.2.10".parse().unwrap(),
//!     listen_port: None,
//! })?;
//! let peer: std::net::IpAddr = "192.0.2.1".parse().unwrap();
//! let errors = speaker.apply_peers(vec![PeerConfig::new("tor", peer, Some(65001))]);
//! assert!(errors.is_empty());
//! speaker.set_routes(peer, vec![Route {
//!     prefix: "203.0.113.0/24".parse().unwrap(),
//!     attrs: RouteAttrs { communities: vec![Community::NO_EXPORT], ..Default::default() },
//! }]);
//! for s in speaker.status() {
//!     println!("{} {} uptime {:?}", s.name, s.state.as_str(), s.uptime);
//! }
//! speaker.peer_down(peer, "BFD session down"); // from the BFD crate
//! speaker.shutdown().await; // Cease / administrative shutdown to every peer
//! # Ok(()) }
//! ```
//!
//! After a restart with graceful restart enabled, call [`Speaker::set_routes`] before
//! [`Speaker::apply_peers`]: the first session sends the table it has and then End-of-RIB,
//! and the peer drops whatever stale routes that table does not contain.
//!
//! Status maps onto `CiliumBGPNodeConfig` status: `peeringState` = [`State::as_str`],
//! `establishedTime` = [`PeerStatus::established_at`], `timers` = [`PeerStatus::hold_time`] /
//! [`PeerStatus::keepalive`], `routeCount` = [`PeerStatus::families`] (afi/safi from
//! [`Family::afi_name`] / [`Family::safi_name`]). [`Speaker::changes`] wakes the owner when
//! any of it changes state.
//!
//! Layout: `wire/` is the codec, [`fsm`] the pure session state machine, [`rib`] the pure
//! export and diff, `session` the per-peer tokio task, `speaker` the API, `md5` the one
//! unsafe `setsockopt`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod community;
pub mod config;
mod error;
pub mod fsm;
mod md5;
pub mod prefix;
pub mod rib;
pub mod route;
mod session;
mod socket;
mod speaker;
pub mod status;
pub mod timers;
pub mod wire;

pub use community::{Community, LargeCommunity};
pub use config::{BGP_PORT, GlobalConfig, GracefulRestart, PeerConfig};
pub use error::Error;
pub use fsm::State;
pub use prefix::{Family, Prefix};
pub use route::{Route, RouteAttrs};
pub use speaker::Speaker;
pub use status::{FamilyStatus, PeerStatus};
