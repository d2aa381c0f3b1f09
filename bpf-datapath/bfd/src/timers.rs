//! Interval arithmetic of RFC 5880 sections 6.8.2-6.8.4 and the transmit jitter of 6.8.7.

use std::time::Duration;

/// While a session is not Up, bfd.DesiredMinTxInterval must be at least one second
/// (RFC 5880 section 6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// Converts a wire interval (microseconds) to a duration.
pub fn from_wire(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

/// Converts a duration to a wire interval, saturating at the field's maximum.
pub fn to_wire(interval: Duration) -> u32 {
    u32::try_from(interval.as_micros()).unwrap_or(u32::MAX)
}

/// Section 6.8.2/6.8.7: the interval between periodic transmissions is the larger of our
/// desired minimum and the slowest rate the remote system is willing to receive.
pub fn negotiated_tx(local_desired_min_tx: Duration, remote_min_rx: Duration) -> Duration {
    local_desired_min_tx.max(remote_min_rx)
}

/// Section 6.8.4 (asynchronous mode): the remote's Detect Mult times the agreed transmit
/// interval of the remote system.
pub fn detection_time(
    remote_detect_mult: u8,
    local_required_min_rx: Duration,
    remote_desired_min_tx: Duration,
) -> Duration {
    local_required_min_rx.max(remote_desired_min_tx) * u32::from(remote_detect_mult)
}

/// Section 6.8.7: each interval is reduced by a random 0-25%, or 10-25% when the local
/// Detect Mult is 1 so that a single late packet cannot look like a failure.
/// `random` is a uniformly distributed 64-bit value.
pub fn jittered(interval: Duration, local_detect_mult: u8, random: u64) -> Duration {
    let (low, high) = if local_detect_mult == 1 {
        (75, 90)
    } else {
        (75, 100)
    };
    // Thousandths of the interval, uniformly in [low%, high%].
    let span = (high - low) * 10 + 1;
    let permille = low * 10 + (random % span);
    interval * u32::try_from(permille).unwrap_or(1000) / 1000
}

/// A small xorshift generator: jitter needs spread, not cryptographic quality, and a seed
/// makes the state machine deterministic under test.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn sample(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn tx_interval_is_the_larger_of_ours_and_the_remote_rx() {
        assert_eq!(negotiated_tx(100 * MS, 300 * MS), 300 * MS);
        assert_eq!(negotiated_tx(300 * MS, 100 * MS), 300 * MS);
    }

    #[test]
    fn detection_time_uses_remote_mult_and_agreed_remote_interval() {
        assert_eq!(detection_time(3, 100 * MS, 50 * MS), 300 * MS);
        assert_eq!(detection_time(5, 100 * MS, 200 * MS), 1000 * MS);
    }

    #[test]
    fn jitter_stays_within_75_to_100_percent() {
        let mut rng = Jitter::new(7);
        let samples: Vec<Duration> = (0..10_000)
            .map(|_| jittered(100 * MS, 3, rng.sample()))
            .collect();
        assert!(samples.iter().all(|d| *d >= 75 * MS && *d <= 100 * MS));
        assert!(samples.iter().any(|d| *d < 80 * MS), "low end is reached");
        assert!(samples.iter().any(|d| *d > 95 * MS), "high end is reached");
    }

    #[test]
    fn jitter_with_detect_mult_one_stays_at_or_below_90_percent() {
        let mut rng = Jitter::new(11);
        assert!((0..10_000).all(|_| {
            let d = jittered(100 * MS, 1, rng.sample());
            d >= 75 * MS && d <= 90 * MS
        }));
    }

    #[test]
    fn wire_conversion_saturates() {
        assert_eq!(to_wire(Duration::from_secs(10_000)), u32::MAX);
        assert_eq!(from_wire(to_wire(300 * MS)), 300 * MS);
    }
}
