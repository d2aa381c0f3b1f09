//! ferrule-api: the Rust types of every CRD ferrule serves or consumes, the well-known
//! annotations, labels and classes of Cilium's API, and label-selector evaluation.
//!
//! No I/O lives here: controllers, crd-gen and tests all build on these types.

pub mod bgp;
pub mod crds;
pub mod egress_gateway;
pub mod gateway_class_config;
pub mod l2announcement;
pub mod lbipam;
pub mod meta;
pub mod names;
pub mod node_l2announcements;
pub mod pod_ip_pool;
pub mod selector;

/// Gateway API types (standard and experimental channels), re-exported so every crate uses
/// the same bindings.
pub use gateway_api;
