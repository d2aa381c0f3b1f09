//! Timer durations the driver derives from what the FSM asks for.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The ConnectRetry timer with jitter: uniformly in [base, 2 * base), as the Cilium docs
/// describe, so that speakers restarted together do not retry in lockstep. `random` is any
/// random 64-bit value.
pub fn connect_retry_with_jitter(base: Duration, random: u64) -> Duration {
    let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return base;
    }
    base + Duration::from_nanos(random % nanos)
}

/// A random value from the standard library's per-process random hash keys.
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .elapsed()
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_base_and_twice_base() {
        let base = Duration::from_secs(5);
        assert_eq!(connect_retry_with_jitter(base, 0), base);
        let top = connect_retry_with_jitter(base, u64::MAX);
        assert!(top >= base && top < base * 2);
        for _ in 0..100 {
            let d = connect_retry_with_jitter(base, random_u64());
            assert!(d >= base && d < base * 2, "{d:?}");
        }
        assert_eq!(connect_retry_with_jitter(Duration::ZERO, 7), Duration::ZERO);
    }
}
