//! Which nodes are live: their liveness Lease changed within its `leaseDurationSeconds`, as
//! judged on *this* process's monotonic clock from when it last saw the Lease record change.
//!
//! This is client-go's rule (and ferrule-runtime's leader election, whose [`RecordClock`] it
//! reuses): a Lease's `renewTime` was written with its holder's clock, which may be skewed by
//! minutes, so it is never compared with ours. A holder that keeps renewing keeps changing the
//! record; one that stopped leaves it unchanged, and after the duration it counts as gone. A
//! Lease first seen by a process that just started counts as changed "now", so a restarted
//! announcer never declares a node dead before watching it for a full duration.
//!
//! A Lease with an empty holder was released on purpose (graceful shutdown) and is not live
//! at once; a deleted Lease is not live either.

use ferrule_runtime::leader::RecordClock;
use k8s_openapi::api::coordination::v1::LeaseSpec;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Lease names are this prefix followed by the node name.
pub const LEASE_PREFIX: &str = "ferrule-l2announce-";

/// The liveness Lease name of `node`.
pub fn lease_name(node: &str) -> String {
    format!("{LEASE_PREFIX}{node}")
}

/// The node a liveness Lease belongs to, or `None` for other Leases.
pub fn node_of(lease_name: &str) -> Option<&str> {
    lease_name
        .strip_prefix(LEASE_PREFIX)
        .filter(|node| !node.is_empty())
}

/// One node's Lease as observed, with when its record last changed.
#[derive(Debug, Clone, Default)]
pub struct ObservedLease {
    pub spec: LeaseSpec,
    clock: RecordClock,
}

impl ObservedLease {
    /// Takes in the Lease as read at `at` (the clock moves only when the record differs).
    pub fn observe(&mut self, spec: LeaseSpec, at: Instant) {
        self.clock.observe(Some(&spec), at);
        self.spec = spec;
    }

    /// A Lease first seen at `at`.
    pub fn new(spec: LeaseSpec, at: Instant) -> Self {
        let mut lease = Self::default();
        lease.observe(spec, at);
        lease
    }

    /// Until when (local clock) the node counts as live; `None` when released.
    pub fn live_until(&self, default_duration: Duration) -> Option<Instant> {
        let held = self
            .spec
            .holder_identity
            .as_deref()
            .is_some_and(|holder| !holder.is_empty());
        if !held {
            return None;
        }
        let duration = match self.spec.lease_duration_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(u64::from(seconds.unsigned_abs())),
            _ => default_duration,
        };
        Some(self.clock.changed_at()? + duration)
    }

    /// Whether the node is live at `now`.
    pub fn is_live(&self, now: Instant, default_duration: Duration) -> bool {
        self.live_until(default_duration)
            .is_some_and(|until| now < until)
    }
}

/// The live nodes at `now`, and the next instant at which one of them expires (when the set
/// must be looked at again even if nothing is observed).
pub fn live_nodes<'a>(
    leases: impl IntoIterator<Item = (&'a str, &'a ObservedLease)>,
    now: Instant,
    default_duration: Duration,
) -> (BTreeSet<String>, Option<Instant>) {
    let mut live = BTreeSet::new();
    let mut next_expiry: Option<Instant> = None;
    for (node, lease) in leases {
        if let Some(until) = lease.live_until(default_duration)
            && now < until
        {
            live.insert(node.to_owned());
            next_expiry = Some(next_expiry.map_or(until, |e| e.min(until)));
        }
    }
    (live, next_expiry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use k8s_openapi::jiff::Timestamp;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn spec(holder: Option<&str>, renewed_second: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(2),
            renew_time: Some(MicroTime(
                Timestamp::from_second(renewed_second).expect("in range"),
            )),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn lease_names_carry_the_node() {
        assert_eq!(lease_name("node1"), "ferrule-l2announce-node1");
        assert_eq!(node_of("ferrule-l2announce-node1"), Some("node1"));
        assert_eq!(node_of("ferrule-l2announce-"), None);
        assert_eq!(node_of("ferrule-lbipam"), None);
    }

    #[test]
    fn a_renewing_node_stays_live_and_a_silent_one_expires_by_our_clock() {
        let base = Instant::now();
        let default = Duration::from_secs(15);
        // renewTime far in the past by any wall clock: irrelevant, only changes count.
        let mut lease = ObservedLease::new(spec(Some("n1"), 1_000), base);
        for step in 1..10u64 {
            lease.observe(
                spec(Some("n1"), 1_000 + i64::try_from(step).expect("small")),
                at(base, step * 500),
            );
            assert!(lease.is_live(at(base, step * 500 + 1_999), default));
        }
        // Last change at 4500ms; an unchanged record re-read later does not move the clock.
        lease.observe(spec(Some("n1"), 1_009), at(base, 6_000));
        assert!(lease.is_live(at(base, 6_499), default));
        assert!(!lease.is_live(at(base, 6_500), default));
    }

    #[test]
    fn a_released_lease_is_not_live_at_once() {
        let base = Instant::now();
        for holder in [None, Some("")] {
            let lease = ObservedLease::new(spec(holder, 1), base);
            assert!(!lease.is_live(base, Duration::from_secs(15)));
        }
    }

    #[test]
    fn live_set_and_next_expiry() {
        let base = Instant::now();
        let a = ObservedLease::new(spec(Some("a"), 1), base);
        let b = ObservedLease::new(spec(Some("b"), 1), at(base, 1_000));
        let gone = ObservedLease::new(spec(None, 1), base);
        let leases = [("a", &a), ("b", &b), ("gone", &gone)];
        let (live, next) = live_nodes(leases, at(base, 500), Duration::from_secs(15));
        assert_eq!(live.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(next, Some(at(base, 2_000)));
        let (live, next) = live_nodes(leases, at(base, 2_500), Duration::from_secs(15));
        assert_eq!(live.into_iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(next, Some(at(base, 3_000)));
    }
}
