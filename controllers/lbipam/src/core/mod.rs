//! LB-IPAM's pure core: observed pools and services in, desired statuses and events out.
//!
//! No kube client, no clock, no randomness: [`plan`] is a function of its [`model::Input`].

pub mod allocator;
mod claims;
pub mod conditions;
pub mod model;
mod order;
mod plan;
mod pool;
mod pool_status;
pub mod ranges;
mod release;
mod request;
mod service_status;
mod sharing;
pub mod testing;

#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod proptests;

pub use plan::plan;
