//! Running a lab from a test or a benchmark: start `ferrule-lab up` as a child and wait until
//! it runs ([`lab_process`]), run kubectl inside it, read who announces what
//! ([`announcements`]), create LoadBalancer Services with endpoints ([`workload`]), and look
//! at it the way a client on the LAN does: ARP / NDP ([`neighbors`]) and HTTP ([`client`]),
//! or the way the external router does: BGP ([`router`]).
//!
//! Everything here runs in the caller's namespace and reaches into the lab with
//! `ip netns exec`, so the caller needs root, as `ferrule-lab up` does.

pub mod announcements;
pub mod client;
pub mod lab_process;
pub mod neighbors;
pub mod router;
pub mod workload;

use crate::error::Error;
use std::time::{Duration, Instant};

pub use lab_process::LabProcess;

/// Between two looks at something that is expected to change.
pub const POLL: Duration = Duration::from_millis(200);

/// Calls `check` until it returns `Ok`, at most `within`; the error names `what` and the last
/// reason `check` gave, which is what a failed test should show.
pub fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, Error> {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(reason) if Instant::now() >= deadline => {
                return Err(Error::Unexpected {
                    what: format!("{what}: not within {within:?}; last: {reason}"),
                });
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}
