//! Lease timings of the per-node liveness Lease, validated as Cilium validates its
//! `l2announcements` options (`--l2-announcements-lease-duration`, `-renew-deadline`,
//! `-retry-period`): a bad combination is corrected with a warning, never refused, so that a
//! typo in a Helm value cannot keep the announcer from starting.

use std::time::Duration;

/// Flag names, quoted in warnings so that a user knows what to change.
pub const FLAG_LEASE_DURATION: &str = "--lease-duration";
pub const FLAG_RENEW_DEADLINE: &str = "--lease-renew-deadline";
pub const FLAG_RETRY_PERIOD: &str = "--lease-retry-period";

/// client-go's `leaderelection.JitterFactor`: the renew deadline must exceed the retry period
/// times this, so that a jittered retry still lands before the deadline.
const JITTER_NUM: u128 = 6;
const JITTER_DEN: u128 = 5;

/// How long a Lease stays valid, how long its holder keeps trying to renew it, and how long it
/// waits between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTimings {
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Default for LeaseTimings {
    /// Cilium's defaults: failover between 10 s and 20 s.
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(5),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl LeaseTimings {
    /// How long other nodes wait, after a node's Lease record last changed, before they
    /// declare the node dead: `max(L − R, R)` (see `crate::liveness` for why).
    pub fn failover_after(&self) -> Duration {
        self.lease_duration
            .saturating_sub(self.renew_deadline)
            .max(self.renew_deadline)
    }
}

/// Timings after validation, and one warning per correction that was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub timings: LeaseTimings,
    pub warnings: Vec<String>,
}

impl LeaseTimings {
    /// Applies Cilium's checks in Cilium's order; later checks see the corrected values of
    /// earlier ones.
    ///
    /// A `Duration` cannot be negative, so "below 1ns" means zero here. As in Cilium, a
    /// renew deadline of 1ns yields a retry period of zero: the renew loop must treat that
    /// as "retry at once" rather than hand it to a timer that rejects zero.
    pub fn validate(self) -> Validated {
        let mut t = self;
        let mut warnings = Vec::new();
        if t.lease_duration <= Duration::from_secs(1) {
            t.lease_duration = Duration::from_secs(1);
            warnings.push(format!(
                "{FLAG_LEASE_DURATION} must be greater than 1s; using 1s"
            ));
        }
        if t.renew_deadline < Duration::from_nanos(1) {
            t.renew_deadline = Duration::from_secs(1);
            warnings.push(format!(
                "{FLAG_RENEW_DEADLINE} must be at least 1ns; using 1s"
            ));
        }
        if t.retry_period < Duration::from_nanos(1) {
            t.retry_period = Duration::from_millis(200);
            warnings.push(format!(
                "{FLAG_RETRY_PERIOD} must be at least 1ns; using 200ms"
            ));
        }
        if t.lease_duration <= t.renew_deadline {
            t.renew_deadline = t.lease_duration / 2;
            warnings.push(format!(
                "{FLAG_LEASE_DURATION} ({:?}) must be greater than {FLAG_RENEW_DEADLINE}; \
                 using half the lease duration ({:?}) as the renew deadline",
                t.lease_duration, t.renew_deadline
            ));
        }
        if t.renew_deadline.as_nanos() <= t.retry_period.as_nanos() * JITTER_NUM / JITTER_DEN {
            let old = t.retry_period;
            t.retry_period = t.renew_deadline / 2;
            warnings.push(format!(
                "{FLAG_RENEW_DEADLINE} ({:?}) must be greater than 1.2 x {FLAG_RETRY_PERIOD} \
                 ({old:?}); using half the renew deadline ({:?}) as the retry period",
                t.renew_deadline, t.retry_period
            ));
        }
        Validated {
            timings: t,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn timings(lease: Duration, renew: Duration, retry: Duration) -> LeaseTimings {
        LeaseTimings {
            lease_duration: lease,
            renew_deadline: renew,
            retry_period: retry,
        }
    }

    #[test]
    fn defaults_are_ciliums_and_pass_unchanged() {
        let defaults = LeaseTimings::default();
        assert_eq!(defaults, timings(ms(15_000), ms(5_000), ms(2_000)));
        let v = defaults.validate();
        assert_eq!(v.timings, defaults);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    }

    #[test]
    fn the_documented_fast_settings_pass_unchanged() {
        let fast = timings(ms(3_000), ms(1_000), ms(500));
        assert_eq!(fast.validate().timings, fast);
        let faster = timings(ms(2_000), ms(1_000), ms(200));
        assert_eq!(faster.validate().timings, faster);
    }

    #[test]
    fn failover_waits_the_lease_duration_less_the_renew_deadline_but_never_less_than_the_deadline()
    {
        assert_eq!(LeaseTimings::default().failover_after(), ms(10_000));
        assert_eq!(
            timings(ms(3_000), ms(1_000), ms(500)).failover_after(),
            ms(2_000)
        );
        // L < 2R: waiting only L − R would let the others take over while the silent holder
        // may still announce (it steps down only after R).
        assert_eq!(
            timings(ms(2_000), ms(1_000), ms(200)).failover_after(),
            ms(1_000)
        );
        assert_eq!(
            timings(ms(1_500), ms(1_000), ms(200)).failover_after(),
            ms(1_000)
        );
        let corrected = timings(ms(500), ms(5_000), ms(2_000)).validate().timings;
        assert_eq!(corrected.failover_after(), ms(500));
    }

    #[test]
    fn lease_duration_of_at_most_one_second_becomes_one_second() {
        for lease in [ms(0), ms(500), ms(1_000)] {
            let v = timings(lease, ms(400), ms(100)).validate();
            assert_eq!(v.timings, timings(ms(1_000), ms(400), ms(100)));
            assert_eq!(v.warnings.len(), 1, "{:?}", v.warnings);
            assert!(v.warnings[0].contains(FLAG_LEASE_DURATION));
        }
        let ok = timings(ms(1_001), ms(400), ms(100));
        assert_eq!(ok.validate().timings, ok);
    }

    #[test]
    fn zero_renew_deadline_becomes_one_second() {
        let v = timings(ms(15_000), Duration::ZERO, ms(100)).validate();
        assert_eq!(v.timings, timings(ms(15_000), ms(1_000), ms(100)));
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].contains(FLAG_RENEW_DEADLINE));
    }

    #[test]
    fn zero_retry_period_becomes_200ms() {
        let v = timings(ms(15_000), ms(5_000), Duration::ZERO).validate();
        assert_eq!(v.timings, timings(ms(15_000), ms(5_000), ms(200)));
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].contains(FLAG_RETRY_PERIOD));
    }

    #[test]
    fn renew_deadline_not_below_lease_duration_becomes_half_of_it() {
        for renew in [ms(10_000), ms(12_000)] {
            let v = timings(ms(10_000), renew, ms(1_000)).validate();
            assert_eq!(v.timings, timings(ms(10_000), ms(5_000), ms(1_000)));
            assert_eq!(v.warnings.len(), 1);
            assert!(v.warnings[0].contains(FLAG_LEASE_DURATION));
            assert!(v.warnings[0].contains(FLAG_RENEW_DEADLINE));
        }
    }

    #[test]
    fn renew_deadline_must_exceed_retry_period_by_the_jitter_factor() {
        // 1.2 × 1s = 1.2s: a deadline of exactly 1.2s is not enough, 1.2s + 1ns is.
        let v = timings(ms(15_000), ms(1_200), ms(1_000)).validate();
        assert_eq!(v.timings, timings(ms(15_000), ms(1_200), ms(600)));
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].contains(FLAG_RETRY_PERIOD));
        let ok = timings(ms(15_000), ms(1_200) + Duration::from_nanos(1), ms(1_000));
        assert_eq!(ok.validate().timings, ok);
    }

    #[test]
    fn checks_run_in_order_and_each_sees_earlier_corrections() {
        // Lease 1s (raised from 0.5s) is not above renew 5s → renew 0.5s, which is not above
        // 1.2 × retry 2s → retry 0.25s.
        let v = timings(ms(500), ms(5_000), ms(2_000)).validate();
        assert_eq!(v.timings, timings(ms(1_000), ms(500), ms(250)));
        assert_eq!(v.warnings.len(), 3, "{:?}", v.warnings);
        assert!(v.warnings[0].contains("greater than 1s"));
        assert!(v.warnings[1].contains("half the lease duration"));
        assert!(v.warnings[2].contains("half the renew deadline"));

        // All zero: the three floors fire, then lease 1s is not above renew 1s; the halved
        // renew 0.5s is above 1.2 × 200ms, so the last rule stays quiet.
        let v = timings(Duration::ZERO, Duration::ZERO, Duration::ZERO).validate();
        assert_eq!(v.timings, timings(ms(1_000), ms(500), ms(200)));
        assert_eq!(v.warnings.len(), 4, "{:?}", v.warnings);
    }
}
