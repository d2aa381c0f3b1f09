//! ferrule-agent: turns observed Services, EndpointSlices and Nodes into the datapath's desired
//! map contents and programs them by diff (never flush-and-refill).
//!
//! Stages (STYLE.md): [`observed`] reduces Kubernetes objects to what the datapath needs;
//! [`desired`] computes the map contents purely (ids from [`ids`], tables from [`maglev`]);
//! [`diff`] and [`reconcile`] write only what differs; [`responder`] is the L2 responder's
//! internal interface; [`state_cmd`] renders `ferrule-agent state`.

pub mod agent;
pub mod announce;
pub mod bgp;
pub mod bring_up;
pub mod desired;
pub mod diff;
pub mod error;
pub mod feed;
pub mod ids;
pub mod index;
pub mod l2_answering;
pub mod l2_entries;
pub mod l2_fence;
pub mod maglev;
pub mod metrics;
pub mod node_addrs;
pub mod observed;
pub mod problems;
pub mod reconcile;
pub mod responder;
pub mod run;
pub mod state_cmd;

pub use error::Error;

#[cfg(test)]
mod testing;
