//! Fixtures for tests that need root and a real kernel: network namespaces joined by veth
//! links, with FRR (bgpd, bfdd) or BIRD routers running inside them.
//!
//! Everything a test creates is owned by a guard that undoes it on drop, also when the test
//! panics: [`Netns`] deletes its namespace (and with it the links inside), [`Frr`] and
//! [`Bird`] kill their daemons, [`TempDir`] removes their files. Names carry the process id
//! and a per-process counter, so parallel tests and concurrent runs never collide.
//!
//! Helpers panic on failure, with a message naming the command and its stderr: they are
//! meant for tests, where a failed setup step is a failed test. Tests start with
//! [`require_root`], which skips without root, except under `CI=true`, where it fails.
//!
//! ```no_run
//! use ferrule_netns_testkit::{Frr, Link, require_root};
//!
//! if require_root() {
//!     let link = Link::new("doc", &["192.0.2.2/24"], &["192.0.2.1/24"]);
//!     let frr = Frr::bgpd(&link.far, "router bgp 65001\n");
//!     assert!(frr.neighbor("192.0.2.2").is_null());
//! }
//! ```

mod bird;
mod command;
mod frr;
mod link;
mod netns;
mod root;
mod tempdir;
mod wait;

pub use bird::Bird;
pub use command::run;
pub use frr::{Daemon, Frr};
pub use link::{Link, veth};
pub use netns::Netns;
pub use root::{is_root, require_root};
pub use tempdir::TempDir;
pub use wait::{eventually, never};

/// A name part unique within this process and across concurrent processes: the process id
/// and a counter.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}
