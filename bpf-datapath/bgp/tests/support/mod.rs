//! Helpers for the interop tests: the router and speaker namespaces ([`netns`]) and our
//! speaker as a child process ([`child`]), each cleaned up by a Drop guard. Namespaces, FRR
//! and BIRD come from ferrule-netns-testkit.
#![allow(dead_code)]

pub mod child;
pub mod netns;

pub use ferrule_netns_testkit::{eventually, never};
