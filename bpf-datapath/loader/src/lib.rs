//! Loading, pinning and attaching the datapath ([`datapath`], [`attach`], [`bpffs`],
//! [`netif`]), and typed access to its BPF maps.
//!
//! The map contents are modelled in domain terms ([`model`]); [`abi`] converts them to and from
//! the `#[repr(C)]` types of `ferrule-bpf-common` (abi.h). Two implementations of
//! [`DatapathMaps`]: [`kernel::KernelMaps`] over the real BPF maps (aya; pinned maps reopen with
//! [`kernel::KernelMaps::open_pinned`]), and [`InMemoryMaps`], which lets the agent's reconciler
//! be tested without a kernel and records every operation so tests can assert "diff, never
//! flush-and-refill".

pub mod abi;
pub mod attach;
pub mod bpffs;
pub mod contents;
pub mod datapath;
pub mod error;
pub mod kernel;
pub mod maps;
pub mod memory;
pub mod model;
pub mod netif;
pub mod pin_compat;

pub use contents::{MapContents, MapOp};
pub use error::{LoadError, MapError};
pub use maps::DatapathMaps;
pub use memory::InMemoryMaps;
