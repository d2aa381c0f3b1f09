//! ferrule-testapi: an in-memory Kubernetes API server for tests and the lab.
//!
//! It speaks the real REST protocol (discovery, CRUD, list/watch with resourceVersions, patches
//! including server-side apply, status subresources, CRDs with structural-schema validation),
//! so controllers reach it through a kubeconfig exactly as they reach a real cluster. Whatever
//! it does not support, it refuses with a clear error instead of pretending.

mod admin;
pub mod builtin_types;
mod conversion;
mod crd;
mod delete;
mod discovery;
pub mod faults;
mod gofmt;
mod handle;
mod http;
mod jsonpath;
mod objects;
mod openapi;
pub mod patch;
mod read;
pub mod registry;
pub mod request;
pub mod requests;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod ssa;
pub mod status;
pub mod store;
mod table;
pub mod test_helpers;
pub mod tls;
pub mod typeinfo;
mod validation;
mod watch;
mod write;

pub use faults::Matcher;
pub use handle::{Options, StartError, TestApi};
pub use requests::{RequestCounter, RequestKind};
pub use server::ApiServer;
