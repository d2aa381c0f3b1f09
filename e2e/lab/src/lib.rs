//! ferrule-lab: a small cluster out of network namespaces on one Linux machine.
//!
//! `ferrule-lab up` (as root) builds the topology of [`addresses`] with `ip`, runs
//! ferrule-testapi in-process on the LAN bridge, applies the generated CRDs and the example
//! manifests, registers one Node per node namespace, checks that every node reaches the API
//! server, starts every ferrule binary that is built ([`components`]) and keeps running until
//! Ctrl-C or SIGTERM; then it tears everything down. `up --once` tears down right after the
//! report; `down` removes what a crashed or running lab left. `kill` and `restart` signal a
//! running lab's components and start them again ([`control`]); [`driver`] runs a lab from a
//! test or a benchmark.
//!
//! Everything the lab creates is named `fl-…` and lives in namespaces it created, with
//! documentation addresses only; nothing is routed out of the lab.

pub mod addresses;
pub mod apiserver;
pub mod bgp_report;
pub mod cleanup;
pub mod command;
pub mod components;
pub mod control;
pub mod driver;
pub mod error;
pub mod frr;
pub mod http_backend;
pub mod http_probe;
pub mod lab;
pub mod lab_namespace;
pub mod manifests;
pub mod nodes;
pub mod privileges;
pub mod probe;
pub mod processes;
pub mod reachability;
pub mod services;
pub mod signals;
pub mod state;
pub mod topology;

pub use error::Error;
pub use lab::LabOptions;
