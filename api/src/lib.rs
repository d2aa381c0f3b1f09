//! ferrule-api: the Rust types of every CRD ferrule serves or consumes, the well-known
//! annotations, labels and classes of Cilium's API, and label-selector evaluation.
//!
//! No I/O lives here: controllers, crd-gen and tests all build on these types.

pub mod lbipam;
pub mod meta;
pub mod crds;
