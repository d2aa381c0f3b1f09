//! Support of the netns end-to-end scenarios: namespaces and veths ([`topo`]), re-executing
//! this binary inside a namespace ([`roles`]), the processes that run there ([`echo`],
//! [`client`]), the node side's API server and agent ([`node`]), and one file per scenario's
//! node-side steps.

pub mod client;
pub mod echo;
pub mod node;
pub mod roles;
pub mod topo;

pub mod scenario_etp;
pub mod scenario_families;
pub mod scenario_l2;
pub mod scenario_l2_rescan;
pub mod scenario_rebalance;
pub mod scenario_restart;
