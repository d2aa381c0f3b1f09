//! ferrule-l2announcer: decides which node answers ARP / NDP for which Service IP, with
//! Cilium's `CiliumL2AnnouncementPolicy` API.
//!
//! For now this crate holds only the pure [`core`]: compiled policies and their status
//! conditions, the eligible services and IPs, lease timings, and the per-node assignment.
//! The election design and why it looks the way it does is explained in [`core`].

#![forbid(unsafe_code)]

pub mod core;
