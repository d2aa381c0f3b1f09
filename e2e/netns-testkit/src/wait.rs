use std::time::{Duration, Instant};

/// Polls `f` every 200 ms until it returns `Some`, and returns that.
///
/// # Panics
/// After `timeout`, naming `what`.
pub fn eventually<T>(what: &str, timeout: Duration, f: impl FnMut() -> Option<T>) -> T {
    poll_every(Duration::from_millis(200), what, timeout, f)
}

/// Asserts `f` stays false for the whole `period` (polled every 200 ms).
///
/// # Panics
/// As soon as `f` holds, naming `what`.
pub fn never(what: &str, period: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < period {
        assert!(!f(), "unexpectedly {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub(crate) fn poll_every<T>(
    every: Duration,
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}
