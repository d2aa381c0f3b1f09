//! Fault injection for reliability tests: failing requests, added latency. (Closing watches
//! and compacting history act on the store.)

use std::sync::Mutex;
use std::time::Duration;

/// Which requests a rule applies to; `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Matcher {
    #[serde(default)]
    pub verb: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
}

impl Matcher {
    fn matches(&self, verb: &str, resource: &str) -> bool {
        self.verb.as_deref().is_none_or(|v| v == verb)
            && self.resource.as_deref().is_none_or(|r| r == resource)
    }
}

#[derive(Debug, Clone)]
struct Failure {
    matcher: Matcher,
    code: u16,
    remaining: u32,
}

#[derive(Debug, Clone)]
struct Latency {
    matcher: Matcher,
    delay: Duration,
}

#[derive(Debug, Default)]
pub struct Faults {
    failures: Mutex<Vec<Failure>>,
    latencies: Mutex<Vec<Latency>>,
}

impl Faults {
    /// The next `count` requests matching `matcher` fail with HTTP `code`.
    pub fn fail_next(&self, matcher: Matcher, code: u16, count: u32) {
        lock(&self.failures).push(Failure {
            matcher,
            code,
            remaining: count,
        });
    }

    /// Every request matching `matcher` is delayed by `delay` (until cleared).
    pub fn add_latency(&self, matcher: Matcher, delay: Duration) {
        lock(&self.latencies).push(Latency { matcher, delay });
    }

    /// Removes every failure and latency rule.
    pub fn clear(&self) {
        lock(&self.failures).clear();
        lock(&self.latencies).clear();
    }

    pub(crate) fn take_failure(&self, verb: &str, resource: &str) -> Option<u16> {
        let mut failures = lock(&self.failures);
        let index = failures
            .iter()
            .position(|f| f.remaining > 0 && f.matcher.matches(verb, resource))?;
        let failure = &mut failures[index];
        failure.remaining -= 1;
        let code = failure.code;
        if failure.remaining == 0 {
            failures.remove(index);
        }
        Some(code)
    }

    pub(crate) fn latency(&self, verb: &str, resource: &str) -> Option<Duration> {
        lock(&self.latencies)
            .iter()
            .filter(|l| l.matcher.matches(verb, resource))
            .map(|l| l.delay)
            .max()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_and_matched() {
        let faults = Faults::default();
        let leases = Matcher {
            verb: Some("update".into()),
            resource: Some("leases".into()),
        };
        faults.fail_next(leases, 500, 2);
        assert_eq!(faults.take_failure("get", "leases"), None);
        assert_eq!(faults.take_failure("update", "leases"), Some(500));
        assert_eq!(faults.take_failure("update", "leases"), Some(500));
        assert_eq!(
            faults.take_failure("update", "leases"),
            None,
            "only the next two"
        );
    }

    #[test]
    fn latency_applies_until_cleared() {
        let faults = Faults::default();
        faults.add_latency(Matcher::default(), Duration::from_millis(50));
        assert_eq!(
            faults.latency("list", "pods"),
            Some(Duration::from_millis(50))
        );
        faults.clear();
        assert_eq!(faults.latency("list", "pods"), None);
    }
}
