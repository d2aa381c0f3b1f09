//! Creation order: who is older decides pool conflicts, double-claimed IPs and the order in
//! which new IPs are handed out, so it must be total and independent of input order.

use std::cmp::Ordering;

/// Orders by `metadata.creationTimestamp`, then by the given name parts. A timestamp that does
/// not parse (never seen from a real API server) sorts after every valid one, by its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreationOrder<'a> {
    created: Option<jiff::Timestamp>,
    raw: &'a str,
    names: (&'a str, &'a str),
}

impl<'a> CreationOrder<'a> {
    /// `first` and `second` break ties: (namespace, name) for services, ("", name) for pools.
    pub fn new(created: &'a str, first: &'a str, second: &'a str) -> Self {
        Self {
            created: created.parse().ok(),
            raw: created,
            names: (first, second),
        }
    }
}

impl<'a> CreationOrder<'a> {
    /// `None` would sort first in an Option; unparsable times go last instead, among
    /// themselves by their text. A parsed time ignores its spelling.
    fn key(&self) -> (bool, Option<jiff::Timestamp>, &'a str, (&'a str, &'a str)) {
        let raw = if self.created.is_some() { "" } else { self.raw };
        (self.created.is_none(), self.created, raw, self.names)
    }
}

impl Ord for CreationOrder<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for CreationOrder<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_first_then_names_and_garbage_last() {
        let mut keys = [
            CreationOrder::new("garbage", "", "a"),
            CreationOrder::new("2024-01-02T00:00:00Z", "", "a"),
            CreationOrder::new("2024-01-01T00:00:00Z", "", "b"),
            CreationOrder::new("2024-01-01T00:00:00Z", "", "a"),
            // Same instant written with an offset: equal time, so the name decides.
            CreationOrder::new("2024-01-01T01:00:00+01:00", "", "0"),
        ];
        keys.sort();
        let names: Vec<&str> = keys.iter().map(|k| k.names.1).collect();
        assert_eq!(names, ["0", "a", "b", "a", "a"]);
        assert!(keys[4].created.is_none());
    }
}
