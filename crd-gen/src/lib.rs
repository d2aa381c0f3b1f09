//! ferrule-crd-gen: renders the CRD manifests from `ferrule_api::crds::all()` into `deploy/crds/`
//! (with a kustomization) and `chart/crds/`, checks committed copies for drift, and compares
//! every CRD with its upstream Cilium counterpart.

pub mod compat;
pub mod manifests;
pub mod yaml;
