//! ferrule-bgp-speaker: a BGP-4 speaker (RFC 4271) for a node. See the README section below.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod community;
pub mod fsm;
pub mod prefix;
pub mod wire;

pub use community::{Community, LargeCommunity};
pub use prefix::{Family, Prefix};
