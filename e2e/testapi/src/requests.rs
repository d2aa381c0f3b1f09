//! Counting the requests the server handled, by verb, resource and subresource, so tests and
//! benchmarks can assert how many writes a controller issued (e.g. none once settled).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a request did: `("patch", "services", "status")`; subresource empty for the main
/// resource, resource empty for discovery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestKind {
    pub verb: String,
    pub resource: String,
    pub subresource: String,
}

/// Per-kind request counts since the server started (or the last [`RequestCounter::reset`]).
/// Injected failures count too: the client did issue the request.
#[derive(Debug, Default)]
pub struct RequestCounter {
    counts: Mutex<BTreeMap<RequestKind, u64>>,
}

impl RequestCounter {
    pub(crate) fn record(&self, verb: &str, resource: &str, subresource: &str) {
        let kind = RequestKind {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            subresource: subresource.to_owned(),
        };
        *self.lock().entry(kind).or_default() += 1;
    }

    /// Requests with this verb on this resource and subresource (`""` = the main resource).
    pub fn count(&self, verb: &str, resource: &str, subresource: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|(k, _)| {
                k.verb == verb && k.resource == resource && k.subresource == subresource
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Writes (create, update, patch, delete, deletecollection) on `resource`, any subresource.
    pub fn writes(&self, resource: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|(k, _)| k.resource == resource && is_write(&k.verb))
            .map(|(_, n)| n)
            .sum()
    }

    /// Every count.
    pub fn snapshot(&self) -> BTreeMap<RequestKind, u64> {
        self.lock().clone()
    }

    /// Starts counting from zero.
    pub fn reset(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<RequestKind, u64>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_kind() {
        let counter = RequestCounter::default();
        counter.record("patch", "services", "status");
        counter.record("patch", "services", "status");
        counter.record("get", "services", "");
        counter.record("create", "events", "");
        assert_eq!(counter.count("patch", "services", "status"), 2);
        assert_eq!(counter.count("patch", "services", ""), 0);
        assert_eq!(counter.writes("services"), 2);
        assert_eq!(counter.writes("events"), 1);
        counter.reset();
        assert!(counter.snapshot().is_empty());
    }
}
