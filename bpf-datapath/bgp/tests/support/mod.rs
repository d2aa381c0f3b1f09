//! Helpers for the interop tests: network namespaces, router daemons and our speaker as a
//! child process, each cleaned up by a Drop guard.
#![allow(dead_code)]

pub mod bird;
pub mod child;
pub mod frr;
pub mod netns;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A directory for one test's config, pid and socket files, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("fbgp-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Asserts `f` stays false for `period`.
pub fn never(what: &str, period: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < period {
        assert!(!f(), "unexpectedly {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
