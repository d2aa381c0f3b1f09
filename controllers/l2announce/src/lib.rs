//! ferrule-l2announcer: decides which node answers ARP / NDP for which Service IP, with
//! Cilium's `CiliumL2AnnouncementPolicy` API.
//!
//! The election design and why it looks the way it does is explained in [`core`]. Around the
//! pure core: [`lease`] renews this node's liveness Lease while its agent is [`health`]y;
//! [`watch`] observes policies, Services, EndpointSlices, Nodes and the Leases into the
//! [`index`] ([`liveness`] judges which nodes are live); [`plan`] turns a snapshot into this
//! node's announcements and the policy statuses; [`reconcile`] runs the loop and [`apply`]
//! writes only what differs.

#![forbid(unsafe_code)]

pub mod apply;
pub mod core;
pub mod error;
pub mod health;
pub mod index;
pub mod lease;
pub mod liveness;
pub mod metrics;
pub mod observed;
pub mod plan;
pub mod reconcile;
pub mod watch;

pub use error::Error;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "ferrule-l2announcer";
