//! ferrule-bgp-control: the node side of the BGP control plane that turns Kubernetes objects
//! into what the node's BGP speaker should do, and reports the sessions back.
//!
//! - [`desired_bgp`] (pure): this node's `CiliumBGPNodeConfig`, the peer configs,
//!   advertisements, Node, Services, EndpointSlices, pod IP pools, secrets and default
//!   gateways ([`Inputs`]) → per BGP instance its peers and per peer and family the routes
//!   with their attributes ([`DesiredBgp`]), plus the [`Problem`]s found.
//! - [`gateway`]: default-gateway discovery (pure pick + a Linux reader that follows changes).
//! - [`driver`]: watches the API and publishes a fresh [`DesiredBgp`] whenever inputs change.
//! - [`status`]: writes session state into the `CiliumBGPNodeConfig` status, only on change.
//! - [`views`]: Services and EndpointSlices reduced to what advertisements read (what the
//!   driver stores).
//!
//! Memory at scale: peers announced the same routes share one route table (`Arc`), and a
//! recomputation keeps the tables that did not change, so consumers can tell "unchanged" by
//! pointer and hand one table to every such peer.

pub mod core;
pub mod desired;
pub mod driver;
pub mod error;
pub mod family;
pub mod gateway;
pub mod inputs;
pub mod problems;
pub mod status;
pub mod views;

pub use crate::core::desired_bgp;
pub use desired::{
    BfdSpec, DesiredBgp, DesiredInstance, DesiredPeer, FamilyAdvertisement, GracefulRestart,
    Password, RouteAttributes, RouteTable, Timers,
};
pub use error::Error;
pub use family::{ApiFamily, Family};
pub use ferrule_bgp_speaker::prefix::PrefixError;
pub use ferrule_bgp_speaker::{LargeCommunity, Prefix};
pub use gateway::{DefaultGateways, Route, default_gateways};
pub use inputs::{AuthSecret, Inputs, router_id_from_mac};
pub use problems::Problem;
pub use views::{EndpointSliceView, ServiceView};
