//! Which nodes are live: their liveness Lease changed within its *failover delay* F, as judged
//! on *this* process's monotonic clock from when it last saw the Lease record change.
//!
//! # Judged on our clock
//!
//! This is client-go's rule (and ferrule-runtime's leader election, whose [`RecordClock`] it
//! reuses): a Lease's `renewTime` was written with its holder's clock, which may be skewed by
//! minutes, so it is never compared with ours. A holder that keeps renewing keeps changing the
//! record; one that stopped leaves it unchanged, and after F it counts as gone. A Lease first
//! seen by a process that just started counts as changed "now", so a restarted announcer never
//! declares a node dead before watching it for a full F.
//!
//! A Lease with an empty holder was released on purpose (graceful shutdown) and is not live
//! at once; a deleted Lease is not live either.
//!
//! # Why F = max(L − R, R), not the lease duration L
//!
//! client-go waits the whole `leaseDurationSeconds` L before another candidate takes a Lease
//! over, because a client-go holder may keep acting as leader until its renew deadline R has
//! passed *and* nothing fences it after that. Here the silent holder fences itself twice:
//!
//! - its announcer stops announcing once no renewal succeeded for R (`crate::lease`: it
//!   publishes "live until last renewal attempt + R");
//! - its ferrule-agent withdraws the ARP/NDP answers once it has not seen the node's Lease
//!   change for F (less a small margin, see below) — which also covers the partition in which
//!   the announcer's withdrawal cannot reach the API server, and a killed announcer.
//!
//! So the others may take over once both fences have fired: after F = max(L − R, R) of an
//! unchanged record. F ≥ R keeps "the holder stopped before the others start" when L < 2R (at
//! 2s/1.5s, L − R = 0.5s, but the holder may still announce until 1.5s, so F = 1.5s; at 2s/1s
//! both give 1s). Otherwise F = L − R: the *shortest* failover Cilium's documentation promises
//! ("between leaseDuration − leaseRenewDeadline and leaseDuration + leaseRenewDeadline") is
//! now also the longest. L stays on the Lease as `leaseDurationSeconds`, for display and for
//! readers that know nothing of F.
//!
//! The holder publishes its F on the Lease as the annotation
//! [`ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER`]; every announcer judges each
//! Lease by the F written on it (so nodes with different flags still agree on each node), and
//! falls back to `leaseDurationSeconds` for a Lease without it (an older announcer). An
//! annotation longer than `leaseDurationSeconds` is capped at it, so a bad value can only
//! make failover faster, never slower than before.
//!
//! The agent judges its own node's Lease by the same F, minus a margin of F/10 (it cannot
//! know the holder's retry period; F/10 is at most the retry period for the defaults and for
//! 2s/1s/200ms), so in a partition the cut-off node stops answering before the others'
//! watches have seen F elapse and their agents send gratuitous ARPs. What remains is a race
//! of one watch latency per side, as in the election design (`crate::core`).
//!
//! # Trade-off: API outages
//!
//! Every agent fences when it sees no renewal for F less its margin, and from inside a node an
//! API outage looks like a partition. So an outage of the API server longer than that (9 s at
//! the defaults, 0.9 s at 2s/1s/200ms) silences L2 announcements on every node until it is
//! back; with client-go's rule that happened after L (15 s). Cilium has the same class of
//! limit at L: its agents stop announcing when they cannot renew their per-service Leases.
//! Riding out longer outages takes longer timings (`--lease-duration`), at the cost of slower
//! failover.

use ferrule_api::names::ferrule_annotation::L2_FAILOVER_AFTER;
use ferrule_runtime::config::parse_duration;
use ferrule_runtime::leader::RecordClock;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use std::collections::{BTreeMap, BTreeSet};
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

/// The annotation value for a failover delay: a Go duration, whole seconds when exact.
pub fn format_failover_after(delay: Duration) -> String {
    let ms = delay.as_millis();
    if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

/// The failover delay a Lease's annotations announce; `None` when absent, invalid or zero.
pub fn announced_failover_after(
    annotations: Option<&BTreeMap<String, String>>,
) -> Option<Duration> {
    let text = annotations?.get(L2_FAILOVER_AFTER)?;
    parse_duration(text).ok().filter(|d| !d.is_zero())
}

/// What liveness is judged on: the Lease's spec and the failover delay its holder announced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeaseRecord {
    pub spec: LeaseSpec,
    pub failover_after: Option<Duration>,
}

impl LeaseRecord {
    pub fn of(lease: &Lease) -> Self {
        Self {
            spec: lease.spec.clone().unwrap_or_default(),
            failover_after: announced_failover_after(lease.metadata.annotations.as_ref()),
        }
    }

    /// How long the record may stay unchanged before the node counts as gone: the announced
    /// delay capped at `leaseDurationSeconds`, else `leaseDurationSeconds`, else `default`.
    pub fn failover_after(&self, default_duration: Duration) -> Duration {
        let duration = match self.spec.lease_duration_seconds {
            Some(seconds) if seconds > 0 => Duration::from_secs(u64::from(seconds.unsigned_abs())),
            _ => default_duration,
        };
        self.failover_after.map_or(duration, |f| f.min(duration))
    }
}

impl From<LeaseSpec> for LeaseRecord {
    fn from(spec: LeaseSpec) -> Self {
        Self {
            spec,
            failover_after: None,
        }
    }
}

/// One node's Lease as observed, with when its record last changed.
#[derive(Debug, Clone, Default)]
pub struct ObservedLease {
    pub record: LeaseRecord,
    clock: RecordClock,
}

impl ObservedLease {
    /// Takes in the Lease as read at `at` (the clock moves only when the spec differs: the
    /// annotation is not renewed).
    pub fn observe(&mut self, record: LeaseRecord, at: Instant) {
        self.clock.observe(Some(&record.spec), at);
        self.record = record;
    }

    /// A Lease first seen at `at`.
    pub fn new(record: LeaseRecord, at: Instant) -> Self {
        let mut lease = Self::default();
        lease.observe(record, at);
        lease
    }

    /// Until when (local clock) the node counts as live; `None` when released.
    pub fn live_until(&self, default_duration: Duration) -> Option<Instant> {
        let held = self
            .record
            .spec
            .holder_identity
            .as_deref()
            .is_some_and(|holder| !holder.is_empty());
        if !held {
            return None;
        }
        Some(self.clock.changed_at()? + self.record.failover_after(default_duration))
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
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
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
        let mut lease = ObservedLease::new(spec(Some("n1"), 1_000).into(), base);
        for step in 1..10u64 {
            lease.observe(
                spec(Some("n1"), 1_000 + i64::try_from(step).expect("small")).into(),
                at(base, step * 500),
            );
            assert!(lease.is_live(at(base, step * 500 + 1_999), default));
        }
        // Last change at 4500ms; an unchanged record re-read later does not move the clock.
        lease.observe(spec(Some("n1"), 1_009).into(), at(base, 6_000));
        assert!(lease.is_live(at(base, 6_499), default));
        assert!(!lease.is_live(at(base, 6_500), default));
    }

    fn announcing(failover_after: &str) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(lease_name("n1")),
                annotations: Some(BTreeMap::from([(
                    L2_FAILOVER_AFTER.to_owned(),
                    failover_after.to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            spec: Some(spec(Some("n1"), 1)),
        }
    }

    #[test]
    fn a_silent_node_is_dead_after_the_failover_delay_on_its_lease() {
        let base = Instant::now();
        let default = Duration::from_secs(15);
        let lease = ObservedLease::new(LeaseRecord::of(&announcing("1s")), base);
        assert!(lease.is_live(at(base, 999), default));
        assert!(!lease.is_live(at(base, 1_000), default));
        let lease = ObservedLease::new(LeaseRecord::of(&announcing("1500ms")), base);
        assert_eq!(lease.live_until(default), Some(at(base, 1_500)));
    }

    #[test]
    fn a_lease_without_a_usable_delay_counts_its_full_duration() {
        let base = Instant::now();
        let default = Duration::from_secs(15);
        // Older announcers write no annotation; a garbled or zero one is ignored; one longer
        // than leaseDurationSeconds (2 s) cannot make failover slower.
        for value in [None, Some("soon"), Some("0s"), Some("1m")] {
            let lease = value.map_or_else(
                || Lease {
                    spec: Some(spec(Some("n1"), 1)),
                    ..Lease::default()
                },
                announcing,
            );
            let observed = ObservedLease::new(LeaseRecord::of(&lease), base);
            assert_eq!(
                observed.live_until(default),
                Some(at(base, 2_000)),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_restarted_announcer_watches_a_held_lease_for_the_failover_delay() {
        // First seen = changed now, whatever renewTime says: a 1 s delay runs from here.
        let base = Instant::now();
        let seen = at(base, 30_000);
        let lease = ObservedLease::new(LeaseRecord::of(&announcing("1s")), seen);
        assert!(lease.is_live(at(base, 30_999), Duration::from_secs(15)));
        assert!(!lease.is_live(at(base, 31_000), Duration::from_secs(15)));
    }

    #[test]
    fn the_annotation_is_a_go_duration_that_reads_back() {
        for ms in [1_000, 10_000, 1_500, 250] {
            let d = Duration::from_millis(ms);
            let text = format_failover_after(d);
            assert_eq!(parse_duration(&text), Ok(d), "{text}");
        }
        assert_eq!(format_failover_after(Duration::from_secs(10)), "10s");
        assert_eq!(
            format_failover_after(Duration::from_millis(1_500)),
            "1500ms"
        );
    }

    #[test]
    fn a_released_lease_is_not_live_at_once() {
        let base = Instant::now();
        for holder in [None, Some("")] {
            let lease = ObservedLease::new(spec(holder, 1).into(), base);
            assert!(!lease.is_live(base, Duration::from_secs(15)));
        }
    }

    #[test]
    fn live_set_and_next_expiry() {
        let base = Instant::now();
        let a = ObservedLease::new(spec(Some("a"), 1).into(), base);
        let b = ObservedLease::new(spec(Some("b"), 1).into(), at(base, 1_000));
        let gone = ObservedLease::new(spec(None, 1).into(), base);
        let leases = [("a", &a), ("b", &b), ("gone", &gone)];
        let (live, next) = live_nodes(leases, at(base, 500), Duration::from_secs(15));
        assert_eq!(live.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(next, Some(at(base, 2_000)));
        let (live, next) = live_nodes(leases, at(base, 2_500), Duration::from_secs(15));
        assert_eq!(live.into_iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(next, Some(at(base, 3_000)));
    }
}
