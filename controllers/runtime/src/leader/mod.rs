//! Lease-based leader election (`coordination.k8s.io/v1` Lease in `--namespace`).
//!
//! [`decision`] holds the rules as a pure function; [`elector`] runs them against the API.

pub mod decision;
pub mod elector;

use std::hash::{BuildHasher, RandomState};

pub use decision::{ElectionTiming, LeaderAction, Observation, RecordClock, decide};
pub use elector::{ElectionConfig, LeaderElector};

/// This candidate's identity: the pod name when known (unique per pod, stable across restarts
/// of its containers), else the hostname plus a random suffix so two processes on one host
/// never share an identity.
pub fn candidate_identity(pod_name: Option<&str>) -> String {
    if let Some(pod) = pod_name.map(str::trim).filter(|pod| !pod.is_empty()) {
        return pod.to_owned();
    }
    // std's per-process random hash keys are randomness enough for a uniqueness suffix.
    let suffix = RandomState::new().hash_one(std::process::id()) & 0xff_ffff;
    format!("{}-{suffix:06x}", hostname())
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "ferrule".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_name_is_the_identity() {
        assert_eq!(
            candidate_identity(Some("lbipam-6f7c9-x2x4z")),
            "lbipam-6f7c9-x2x4z"
        );
    }

    #[test]
    fn without_pod_name_identities_are_unique() {
        let first = candidate_identity(None);
        let second = candidate_identity(Some("  "));
        assert_ne!(first, second, "two candidates on one host must differ");
        assert!(first.starts_with(&hostname()), "{first}");
    }
}
