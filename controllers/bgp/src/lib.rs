//! ferrule-bgp: derives one `CiliumBGPNodeConfig` per selected node from the
//! `CiliumBGPClusterConfig`s and `CiliumBGPNodeConfigOverride`s, allocates router IDs, and
//! reports configuration problems as Cilium's status conditions.
//!
//! Three stages: [`watch`] observes the cluster into the [`index`]; the pure [`core`] plans
//! every node config and condition from that; [`reconcile`] runs the passes and [`apply`]
//! writes only what [`diff`] says differs.

#![forbid(unsafe_code)]

pub mod apply;
pub mod core;
pub mod diff;
pub mod error;
pub mod index;
pub mod metrics;
pub mod observed;
pub mod reconcile;
pub mod watch;

pub use error::Error;

/// The field manager of every write, so `kubectl get --show-managed-fields` shows what
/// ferrule-bgp owns.
pub const FIELD_MANAGER: &str = "ferrule-bgp";
