//! ferrule-lbipam: assigns LoadBalancer IPs to Services from CiliumLoadBalancerIPPools, with
//! Cilium's API (annotations, classes, condition types).
//!
//! Three stages: [`watch`] observes Services and pools into the [`index`]; the pure [`core`]
//! plans every Service's and pool's status from that; [`reconcile`] runs the passes and
//! [`apply`] writes only what differs ([`status`] decides what that is).

#![forbid(unsafe_code)]

pub mod apply;
pub mod core;
pub mod error;
pub mod index;
pub mod metrics;
pub mod observed;
pub mod reconcile;
pub mod status;
pub mod watch;

pub use error::Error;

/// The field manager of every write, so `kubectl get --show-managed-fields` shows what
/// LB-IPAM owns.
pub const FIELD_MANAGER: &str = "ferrule-lbipam";
