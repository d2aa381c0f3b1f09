//! What a candidate does with the leader-election Lease, as a pure function of what it observed.
//! Same semantics as client-go's leaderelection package, on `coordination.k8s.io/v1` Leases.
//!
//! Expiry is judged from the Lease's own `renewTime` and `leaseDurationSeconds`, which assumes
//! the candidates' clocks are roughly in sync (NTP), as they are on cluster nodes; the gap
//! between renew deadline and lease duration absorbs small skews.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Leader-election timings (see the `--leader-election-*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElectionTiming {
    /// A standby takes over this long after the holder's last renewal.
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

/// What the candidate knows when it decides.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    /// The Lease's spec; `None` when no Lease object exists.
    pub lease: Option<&'a LeaseSpec>,
    /// The current time.
    pub now: Timestamp,
    /// When this candidate last acquired or renewed the Lease successfully while leading;
    /// `None` when it is not leading.
    pub last_renewed: Option<Timestamp>,
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
        && now.duration_since(renewed) >= signed(timing.renew_deadline)
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
        Some(other) if !expired(lease, now, timing) => LeaderAction::Wait {
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

/// Whether `lease` no longer protects its holder at `now`. A Lease that was never renewed
/// counts from its acquisition; one with neither time is expired.
pub fn expired(lease: &LeaseSpec, now: Timestamp, timing: &ElectionTiming) -> bool {
    let Some(MicroTime(renewed)) = lease.renew_time.as_ref().or(lease.acquire_time.as_ref()) else {
        return true;
    };
    let duration = match lease.lease_duration_seconds {
        Some(seconds) if seconds > 0 => SignedDuration::from_secs(i64::from(seconds)),
        _ => signed(timing.lease_duration),
    };
    now.duration_since(*renewed) >= duration
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

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "lbipam-7d9f-abcde";
    const OTHER: &str = "lbipam-7d9f-zyxwv";

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).expect("test timestamps are in range")
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

    fn observe(lease: Option<&LeaseSpec>, now: i64, last_renewed: Option<i64>) -> LeaderAction {
        let observation = Observation {
            lease,
            now: t(now),
            last_renewed: last_renewed.map(t),
            shutting_down: false,
        };
        decide(&observation, ME, &ElectionTiming::default())
    }

    fn shutting_down(lease: Option<&LeaseSpec>, now: i64) -> LeaderAction {
        let observation = Observation {
            lease,
            now: t(now),
            last_renewed: Some(t(now)),
            shutting_down: true,
        };
        decide(&observation, ME, &ElectionTiming::default())
    }

    #[test]
    fn missing_lease_is_created_naming_us() {
        let action = observe(None, 100, None);
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
        let wait = LeaderAction::Wait {
            holder: OTHER.to_owned(),
        };
        assert_eq!(observe(Some(&held), 100, None), wait);
        assert_eq!(
            observe(Some(&held), 114, None),
            wait,
            "14s after renewal it is still valid"
        );
    }

    #[test]
    fn expired_lease_is_taken_over_with_one_more_transition() {
        let stale = lease(Some(OTHER), 100, 3);
        let LeaderAction::TakeOver(spec) = observe(Some(&stale), 115, None) else {
            panic!("a lease 15s past its renewal should be taken over");
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
            observe(Some(&short), 105, None),
            LeaderAction::TakeOver(_)
        ));
        let mut long = lease(Some(OTHER), 100, 0);
        long.lease_duration_seconds = Some(60);
        assert!(matches!(
            observe(Some(&long), 130, None),
            LeaderAction::Wait { .. }
        ));
    }

    #[test]
    fn lease_without_times_counts_as_expired() {
        let mut timeless = lease(Some(OTHER), 0, 1);
        timeless.renew_time = None;
        timeless.acquire_time = None;
        assert!(matches!(
            observe(Some(&timeless), 1, None),
            LeaderAction::TakeOver(_)
        ));
    }

    #[test]
    fn released_lease_is_taken_over_at_once() {
        for holder in [None, Some("")] {
            let mut free = lease(holder, 100, 2);
            free.lease_duration_seconds = Some(1);
            let LeaderAction::TakeOver(spec) = observe(Some(&free), 100, None) else {
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
        let LeaderAction::TakeOver(spec) = observe(Some(&stale), 100, None) else {
            panic!("stale lease should be taken over");
        };
        assert_eq!(spec.lease_transitions, Some(1));
    }

    #[test]
    fn own_lease_is_renewed_keeping_acquisition_and_transitions() {
        let mine = lease(Some(ME), 100, 7);
        let action = observe(Some(&mine), 102, Some(100));
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
        let LeaderAction::Renew(spec) = observe(Some(&mine), 103, None) else {
            panic!("a lease naming us should be renewed");
        };
        assert_eq!(spec.lease_transitions, Some(7));
    }

    #[test]
    fn missed_renew_deadline_loses_leadership() {
        let mine = lease(Some(ME), 100, 1);
        assert_eq!(observe(Some(&mine), 110, Some(100)), LeaderAction::StepDown);
        assert_eq!(
            observe(None, 111, Some(100)),
            LeaderAction::StepDown,
            "the deadline wins even when the Lease looks missing"
        );
        assert!(
            matches!(observe(Some(&mine), 109, Some(100)), LeaderAction::Renew(_)),
            "9s without renewal is still within the 10s deadline"
        );
    }

    #[test]
    fn lease_taken_by_another_while_we_led_makes_us_follow() {
        let theirs = lease(Some(OTHER), 104, 2);
        assert_eq!(
            observe(Some(&theirs), 105, Some(103)),
            LeaderAction::Wait {
                holder: OTHER.to_owned()
            }
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
