//! What a candidate does with the leader-election Lease, as a pure function of what it observed.
//! Same semantics as client-go's leaderelection package, on `coordination.k8s.io/v1` Leases.
//!
//! Expiry never compares the Lease's `renewTime` with this node's wall clock: the holder wrote
//! that time with its own clock, which may be skewed by minutes. Like client-go, a candidate
//! notes on its own monotonic clock when it last saw the Lease record change
//! ([`RecordClock`]); a holder that keeps renewing keeps changing the record, and the Lease
//! counts as expired only after it stayed unchanged for `leaseDurationSeconds` of local time.
//! The wall-clock times written into the Lease are for people and other tools.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;

/// Leader-election timings (see the `--leader-election-*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionTiming {
    /// A standby takes over when the Lease has not changed for this long.
    pub lease_duration: Duration,
    /// The leader stops leading when it has not renewed for this long.
    pub renew_deadline: Duration,
    /// Interval between acquire / renew attempts.
    pub retry_period: Duration,
}

impl Default for ElectionTiming {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// When this candidate last saw the Lease record change, on its own monotonic clock.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordClock {
    record: Option<LeaseSpec>,
    changed_at: Option<Instant>,
}

impl RecordClock {
    /// Takes in the record as read (or written) at `at`: the time moves only when the record
    /// differs from the one seen before, whatever times it carries.
    pub fn observe(&mut self, record: Option<&LeaseSpec>, at: Instant) {
        if self.changed_at.is_none() || self.record.as_ref() != record {
            self.record = record.cloned();
            self.changed_at = Some(at);
        }
    }

    /// When the current record was first seen; `None` before any observation.
    pub fn changed_at(&self) -> Option<Instant> {
        self.changed_at
    }
}

/// What the candidate knows when it decides.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The Lease's spec; `None` when no Lease object exists.
    pub lease: Option<&'a LeaseSpec>,
    /// The wall-clock time, written into the Lease as acquire and renew time.
    pub now: Timestamp,
    /// This candidate's monotonic clock now.
    pub local_now: Instant,
    /// When (local monotonic clock) the Lease record was last seen to change; `None` counts as
    /// "just now", so a candidate always watches a held Lease for a full duration first.
    pub record_changed_at: Option<Instant>,
    /// When (local monotonic clock) this candidate last acquired or renewed the Lease
    /// successfully while leading; `None` when it is not leading.
    pub last_renewed: Option<Instant>,
    /// The process is stopping: give the Lease back instead of holding it.
    pub shutting_down: bool,
}

/// What to do next. Variants carrying a [`LeaseSpec`] are writes of that exact spec, done with
/// optimistic concurrency (the resourceVersion that was read).
#[derive(Clone, Debug, PartialEq)]
pub enum LeaderAction {
    /// No Lease exists: create one naming us.
    Create(LeaseSpec),
    /// We hold the Lease: extend it.
    Renew(LeaseSpec),
    /// The Lease is expired or released: acquire it (one more leader transition).
    TakeOver(LeaseSpec),
    /// Another candidate holds a valid Lease: stay a follower and look again later.
    Wait {
        /// The current holder.
        holder: String,
    },
    /// Shutting down while holding the Lease: clear the holder and shorten the lease to one
    /// second so a standby takes over at once (client-go's ReleaseOnCancel).
    Release(LeaseSpec),
    /// The renew deadline passed without a successful renewal: stop leading now, write nothing.
    StepDown,
    /// Shutting down without holding the Lease: nothing to write.
    Exit,
}

/// Decides the next action of candidate `identity`.
pub fn decide(observed: &Observation<'_>, identity: &str, timing: &ElectionTiming) -> LeaderAction {
    let now = observed.now;
    let holder = observed
        .lease
        .and_then(|lease| lease.holder_identity.as_deref())
        .filter(|holder| !holder.is_empty());
    let ours = holder == Some(identity);

    if observed.shutting_down {
        return match observed.lease {
            Some(lease) if ours => LeaderAction::Release(released(lease, now)),
            _ => LeaderAction::Exit,
        };
    }
    // Checked before anything read from the API: the observation may be stale precisely
    // because the API is unreachable, and another candidate may take over soon.
    if let Some(renewed) = observed.last_renewed
        && observed.local_now.saturating_duration_since(renewed) >= timing.renew_deadline
    {
        return LeaderAction::StepDown;
    }
    let Some(lease) = observed.lease else {
        return LeaderAction::Create(LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            lease_duration_seconds: Some(lease_seconds(timing)),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(0),
            ..LeaseSpec::default()
        });
    };
    match holder {
        Some(_) if ours => LeaderAction::Renew(LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            lease_duration_seconds: Some(lease_seconds(timing)),
            renew_time: Some(MicroTime(now)),
            ..lease.clone()
        }),
        Some(other) if !expired(lease, observed, timing) => LeaderAction::Wait {
            holder: other.to_owned(),
        },
        // Expired, or released (no holder).
        _ => LeaderAction::TakeOver(LeaseSpec {
            holder_identity: Some(identity.to_owned()),
            lease_duration_seconds: Some(lease_seconds(timing)),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(lease.lease_transitions.unwrap_or(0).saturating_add(1)),
            ..lease.clone()
        }),
    }
}

/// Whether `lease` no longer protects its holder: its record has not changed for its
/// `leaseDurationSeconds` (the configured duration when unset) of this candidate's clock.
pub fn expired(lease: &LeaseSpec, observed: &Observation<'_>, timing: &ElectionTiming) -> bool {
    let Some(changed_at) = observed.record_changed_at else {
        return false;
    };
    let duration = match lease.lease_duration_seconds {
        Some(seconds) if seconds > 0 => Duration::from_secs(u64::from(seconds.unsigned_abs())),
        _ => timing.lease_duration,
    };
    observed.local_now.saturating_duration_since(changed_at) >= duration
}

fn released(lease: &LeaseSpec, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        ..lease.clone()
    }
}

fn lease_seconds(timing: &ElectionTiming) -> i32 {
    // Validated to whole seconds in CommonArgs; round up anything else so we never hold a
    // shorter lease than configured.
    let seconds =
        timing.lease_duration.as_secs() + u64::from(timing.lease_duration.subsec_nanos() > 0);
    i32::try_from(seconds.max(1)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::SignedDuration;
    use std::sync::LazyLock;

    const ME: &str = "lbipam-7d9f-abcde";
    const OTHER: &str = "lbipam-7d9f-zyxwv";

    /// Wall-clock time `seconds` into the test (what gets written into Leases).
    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).expect("test timestamps are in range")
    }

    /// This candidate's monotonic clock, `seconds` into the test.
    fn at(seconds: u64) -> Instant {
        static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);
        *BASE + Duration::from_secs(seconds)
    }

    fn lease(holder: Option<&str>, renewed_at: i64, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(t(0))),
            renew_time: Some(MicroTime(t(renewed_at))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Decides at second `now`, the Lease record last seen changing at `changed`.
    fn observe(
        lease: Option<&LeaseSpec>,
        now: u64,
        changed: Option<u64>,
        last_renewed: Option<u64>,
    ) -> LeaderAction {
        let observation = Observation {
            lease,
            now: t(now.try_into().expect("small")),
            local_now: at(now),
            record_changed_at: changed.map(at),
            last_renewed: last_renewed.map(at),
            shutting_down: false,
        };
        decide(&observation, ME, &ElectionTiming::default())
    }

    fn shutting_down(lease: Option<&LeaseSpec>, now: u64) -> LeaderAction {
        let observation = Observation {
            lease,
            now: t(now.try_into().expect("small")),
            local_now: at(now),
            record_changed_at: Some(at(now)),
            last_renewed: Some(at(now)),
            shutting_down: true,
        };
        decide(&observation, ME, &ElectionTiming::default())
    }

    fn wait_for_other() -> LeaderAction {
        LeaderAction::Wait {
            holder: OTHER.to_owned(),
        }
    }

    #[test]
    fn missing_lease_is_created_naming_us() {
        let action = observe(None, 100, None, None);
        assert_eq!(
            action,
            LeaderAction::Create(LeaseSpec {
                holder_identity: Some(ME.to_owned()),
                lease_duration_seconds: Some(15),
                acquire_time: Some(MicroTime(t(100))),
                renew_time: Some(MicroTime(t(100))),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            })
        );
    }

    #[test]
    fn held_lease_is_respected_until_it_expires() {
        let held = lease(Some(OTHER), 100, 3);
        assert_eq!(observe(Some(&held), 100, Some(100), None), wait_for_other());
        assert_eq!(
            observe(Some(&held), 114, Some(100), None),
            wait_for_other(),
            "14s after the record last changed it is still valid"
        );
    }

    #[test]
    fn expired_lease_is_taken_over_with_one_more_transition() {
        let stale = lease(Some(OTHER), 100, 3);
        let LeaderAction::TakeOver(spec) = observe(Some(&stale), 115, Some(100), None) else {
            panic!("a lease unchanged for 15s should be taken over");
        };
        assert_eq!(spec.holder_identity.as_deref(), Some(ME));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.acquire_time, Some(MicroTime(t(115))));
        assert_eq!(spec.renew_time, Some(MicroTime(t(115))));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }

    #[test]
    fn expiry_uses_the_duration_written_on_the_lease() {
        let mut short = lease(Some(OTHER), 100, 0);
        short.lease_duration_seconds = Some(5);
        assert!(matches!(
            observe(Some(&short), 105, Some(100), None),
            LeaderAction::TakeOver(_)
        ));
        let mut long = lease(Some(OTHER), 100, 0);
        long.lease_duration_seconds = Some(60);
        assert!(matches!(
            observe(Some(&long), 130, Some(100), None),
            LeaderAction::Wait { .. }
        ));
    }

    #[test]
    fn lease_times_are_never_compared_with_the_local_clock() {
        // renewTime an hour old by our wall clock, or absent: what counts is that the record
        // changed a second ago.
        let old = lease(Some(OTHER), -3600, 1);
        assert_eq!(observe(Some(&old), 100, Some(99), None), wait_for_other());
        let mut timeless = lease(Some(OTHER), 0, 1);
        timeless.renew_time = None;
        timeless.acquire_time = None;
        assert_eq!(
            observe(Some(&timeless), 100, Some(99), None),
            wait_for_other()
        );
        assert!(matches!(
            observe(Some(&timeless), 115, Some(100), None),
            LeaderAction::TakeOver(_)
        ));
    }

    #[test]
    fn a_lease_never_seen_before_is_watched_for_a_full_duration() {
        let ancient = lease(Some(OTHER), -100_000, 1);
        assert_eq!(
            observe(Some(&ancient), 100, None, None),
            wait_for_other(),
            "a candidate that just started cannot know how long the record stood still"
        );
    }

    #[test]
    fn skewed_holder_clock_that_keeps_renewing_is_not_taken_over() {
        for skew in [-3600_i64, 3600] {
            let mut clock = RecordClock::default();
            let mut record = lease(Some(OTHER), skew, 2);
            // The holder renews every 2s with its own (skewed) clock; we look every second.
            for second in 0..60_u64 {
                if second % 2 == 0 {
                    let renewed =
                        t(skew) + SignedDuration::from_secs(second.try_into().expect("small"));
                    record.renew_time = Some(MicroTime(renewed));
                }
                clock.observe(Some(&record), at(second));
                let observation = Observation {
                    lease: Some(&record),
                    now: t(second.try_into().expect("small")),
                    local_now: at(second),
                    record_changed_at: clock.changed_at(),
                    last_renewed: None,
                    shutting_down: false,
                };
                assert_eq!(
                    decide(&observation, ME, &ElectionTiming::default()),
                    wait_for_other(),
                    "holder clock skewed by {skew}s, second {second}"
                );
            }
            // The holder stops renewing (last change at second 58): 15s later it is expired,
            // although its renewTime may lie in our future.
            for (second, expired) in [(72, false), (73, true)] {
                clock.observe(Some(&record), at(second));
                let observation = Observation {
                    lease: Some(&record),
                    now: t(second.try_into().expect("small")),
                    local_now: at(second),
                    record_changed_at: clock.changed_at(),
                    last_renewed: None,
                    shutting_down: false,
                };
                let action = decide(&observation, ME, &ElectionTiming::default());
                assert_eq!(
                    matches!(action, LeaderAction::TakeOver(_)),
                    expired,
                    "skew {skew}s, second {second}: {action:?}"
                );
            }
        }
    }

    #[test]
    fn record_clock_moves_only_when_the_record_changes() {
        let mut clock = RecordClock::default();
        assert_eq!(clock.changed_at(), None);
        let held = lease(Some(OTHER), 100, 0);
        clock.observe(Some(&held), at(1));
        clock.observe(Some(&held), at(5));
        assert_eq!(
            clock.changed_at(),
            Some(at(1)),
            "an equal record keeps the time"
        );
        let renewed = lease(Some(OTHER), 101, 0);
        clock.observe(Some(&renewed), at(6));
        assert_eq!(clock.changed_at(), Some(at(6)));
        clock.observe(None, at(7));
        assert_eq!(
            clock.changed_at(),
            Some(at(7)),
            "a deleted Lease is a change"
        );
        clock.observe(None, at(8));
        assert_eq!(clock.changed_at(), Some(at(7)));
    }

    #[test]
    fn released_lease_is_taken_over_at_once() {
        for holder in [None, Some("")] {
            let mut free = lease(holder, 100, 2);
            free.lease_duration_seconds = Some(1);
            let LeaderAction::TakeOver(spec) = observe(Some(&free), 100, Some(100), None) else {
                panic!("a lease without holder ({holder:?}) should be taken over");
            };
            assert_eq!(spec.holder_identity.as_deref(), Some(ME));
            assert_eq!(spec.lease_transitions, Some(3));
            assert_eq!(spec.lease_duration_seconds, Some(15));
        }
    }

    #[test]
    fn missing_transitions_count_from_zero() {
        let mut stale = lease(Some(OTHER), 0, 0);
        stale.lease_transitions = None;
        let LeaderAction::TakeOver(spec) = observe(Some(&stale), 100, Some(0), None) else {
            panic!("stale lease should be taken over");
        };
        assert_eq!(spec.lease_transitions, Some(1));
    }

    #[test]
    fn own_lease_is_renewed_keeping_acquisition_and_transitions() {
        let mine = lease(Some(ME), 100, 7);
        let action = observe(Some(&mine), 102, Some(100), Some(100));
        assert_eq!(
            action,
            LeaderAction::Renew(LeaseSpec {
                renew_time: Some(MicroTime(t(102))),
                ..mine.clone()
            })
        );
    }

    #[test]
    fn own_lease_found_after_a_restart_is_renewed_not_taken_over() {
        let mine = lease(Some(ME), 100, 7);
        let LeaderAction::Renew(spec) = observe(Some(&mine), 103, Some(103), None) else {
            panic!("a lease naming us should be renewed");
        };
        assert_eq!(spec.lease_transitions, Some(7));
    }

    #[test]
    fn missed_renew_deadline_loses_leadership() {
        let mine = lease(Some(ME), 100, 1);
        assert_eq!(
            observe(Some(&mine), 110, Some(100), Some(100)),
            LeaderAction::StepDown
        );
        assert_eq!(
            observe(None, 111, Some(100), Some(100)),
            LeaderAction::StepDown,
            "the deadline wins even when the Lease looks missing"
        );
        assert!(
            matches!(
                observe(Some(&mine), 109, Some(100), Some(100)),
                LeaderAction::Renew(_)
            ),
            "9s without renewal is still within the 10s deadline"
        );
    }

    #[test]
    fn lease_taken_by_another_while_we_led_makes_us_follow() {
        let theirs = lease(Some(OTHER), 104, 2);
        assert_eq!(
            observe(Some(&theirs), 105, Some(104), Some(103)),
            wait_for_other()
        );
    }

    #[test]
    fn shutdown_releases_our_lease_for_an_immediate_takeover() {
        let mine = lease(Some(ME), 100, 5);
        assert_eq!(
            shutting_down(Some(&mine), 101),
            LeaderAction::Release(LeaseSpec {
                holder_identity: None,
                lease_duration_seconds: Some(1),
                acquire_time: Some(MicroTime(t(101))),
                renew_time: Some(MicroTime(t(101))),
                lease_transitions: Some(5),
                ..LeaseSpec::default()
            })
        );
        // A standby seeing the released lease takes it over immediately.
        let LeaderAction::Release(released) = shutting_down(Some(&mine), 101) else {
            panic!("expected a release");
        };
        let standby = Observation {
            lease: Some(&released),
            now: t(101),
            local_now: at(101),
            record_changed_at: Some(at(101)),
            last_renewed: None,
            shutting_down: false,
        };
        assert!(matches!(
            decide(&standby, OTHER, &ElectionTiming::default()),
            LeaderAction::TakeOver(_)
        ));
    }

    #[test]
    fn shutdown_leaves_other_leases_alone() {
        let theirs = lease(Some(OTHER), 100, 5);
        assert_eq!(shutting_down(Some(&theirs), 101), LeaderAction::Exit);
        assert_eq!(shutting_down(None, 101), LeaderAction::Exit);
        let free = lease(None, 100, 5);
        assert_eq!(shutting_down(Some(&free), 101), LeaderAction::Exit);
    }

    #[test]
    fn fractional_lease_duration_rounds_up() {
        let timing = ElectionTiming {
            lease_duration: Duration::from_millis(15_500),
            ..ElectionTiming::default()
        };
        assert_eq!(lease_seconds(&timing), 16);
    }
}
