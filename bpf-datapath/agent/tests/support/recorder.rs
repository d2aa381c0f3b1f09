//! An [`Announcer`] double for run-loop tests: records what the agent asked it to do
//! (gratuitous ARP / NA for added entries, withdrawal of removed ones) and the last whole
//! responder table it was told to hold (`retain`, called after every sync).

// Each test binary uses its own subset.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrule_agent::responder::Announcer;
use ferrule_bpf_loader::model::ResponderKey;

#[derive(Clone, Default)]
pub struct Recorder {
    lines: Arc<Mutex<Vec<String>>>,
    table: Arc<Mutex<Option<BTreeSet<ResponderKey>>>>,
}

impl Recorder {
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lock").clone()
    }

    pub fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }

    /// The responder table of the last sync; `None` before the first.
    pub fn table(&self) -> Option<BTreeSet<ResponderKey>> {
        self.table.lock().expect("lock").clone()
    }

    /// Waits until `line` was recorded `times` times, at most `within`.
    pub async fn wait_for_n(&self, line: &str, times: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.count(line) < times {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never saw {line:?} {times} times; saw {:?}",
                self.lines()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_for(&self, line: &str) {
        self.wait_for_n(line, 1, Duration::from_secs(10)).await;
    }
}

impl Announcer for Recorder {
    fn announce(&mut self, key: ResponderKey) -> Result<(), ferrule_agent::Error> {
        self.lines
            .lock()
            .expect("lock")
            .push(format!("announce {} on {}", key.addr, key.ifindex));
        Ok(())
    }

    fn withdraw(&mut self, key: ResponderKey) -> Result<(), ferrule_agent::Error> {
        self.lines
            .lock()
            .expect("lock")
            .push(format!("withdraw {} on {}", key.addr, key.ifindex));
        Ok(())
    }

    fn retain(&mut self, entries: &BTreeSet<ResponderKey>) -> Vec<ferrule_agent::Error> {
        *self.table.lock().expect("lock") = Some(entries.clone());
        Vec::new()
    }
}
