//! Watch streams: replayed and live changes, filtered, encoded as the API's JSON lines, with
//! bookmarks and a server-side timeout.

use crate::objects::present;
use crate::registry::ResourceDef;
use crate::selectors::{FieldQuery, LabelQuery};
use crate::store::{Change, Subscription};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often an idle watch with `allowWatchBookmarks` gets a BOOKMARK.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);

/// Which events a watch delivers and how.
#[derive(Debug)]
pub struct WatchFilter {
    pub namespace: Option<String>,
    pub labels: LabelQuery,
    pub fields: FieldQuery,
    pub bookmarks: bool,
    /// `sendInitialEvents=true`: a bookmark annotated `k8s.io/initial-events-end` follows the
    /// replayed state.
    pub initial_events_end: bool,
    pub timeout: Option<Duration>,
}

/// An open watch: call [`WatchStream::next_line`] until it returns `None`.
#[derive(Debug)]
pub struct WatchStream {
    def: Arc<ResourceDef>,
    filter: WatchFilter,
    replay: VecDeque<Change>,
    subscription: Subscription,
    deadline: Option<Instant>,
    last_rv: u64,
    initial_end_pending: bool,
    /// A watch that could not start: one ERROR event, then the end.
    failed: Option<String>,
}

impl WatchStream {
    pub fn new(
        def: Arc<ResourceDef>,
        filter: WatchFilter,
        subscription: Subscription,
        start_rv: u64,
    ) -> Self {
        let deadline = filter.timeout.map(|t| Instant::now() + t);
        let initial_end_pending = filter.initial_events_end;
        Self {
            def,
            replay: subscription.replay.iter().cloned().collect(),
            subscription: Subscription {
                replay: Vec::new(),
                live: subscription.live,
            },
            filter,
            deadline,
            last_rv: start_rv,
            initial_end_pending,
            failed: None,
        }
    }

    /// A watch that answers with a single ERROR event carrying `status` (how kube-apiserver
    /// reports 410 Expired to a watch), then ends.
    pub fn failed(def: Arc<ResourceDef>, status: &Value) -> Self {
        let (_, live) = tokio::sync::mpsc::unbounded_channel();
        let mut stream = Self::new(
            def,
            WatchFilter {
                namespace: None,
                labels: LabelQuery::default(),
                fields: FieldQuery::default(),
                bookmarks: false,
                initial_events_end: false,
                timeout: None,
            },
            Subscription {
                replay: Vec::new(),
                live,
            },
            0,
        );
        stream.failed = Some(error_line(status));
        stream
    }

    /// The next event as one JSON line (with trailing newline); `None` when the watch ends
    /// (timeout or the server closed it).
    pub async fn next_line(&mut self) -> Option<String> {
        if let Some(error) = self.failed.take() {
            // Delivered once; the next call finds the (already closed) channel and ends.
            return Some(error);
        }
        loop {
            if let Some(change) = self.replay.pop_front() {
                if let Some(line) = self.encode(&change) {
                    return Some(line);
                }
                continue;
            }
            if self.initial_end_pending {
                self.initial_end_pending = false;
                return Some(self.bookmark(true));
            }
            let sleep_until = match (self.deadline, self.filter.bookmarks) {
                (Some(deadline), true) => deadline.min(Instant::now() + BOOKMARK_INTERVAL),
                (Some(deadline), false) => deadline,
                (None, true) => Instant::now() + BOOKMARK_INTERVAL,
                (None, false) => Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                change = self.subscription.live.recv() => {
                    let change = change?;
                    if let Some(line) = self.encode(&change) {
                        return Some(line);
                    }
                }
                () = tokio::time::sleep_until(sleep_until) => {
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    if self.filter.bookmarks {
                        return Some(self.bookmark(false));
                    }
                }
            }
        }
    }

    fn encode(&mut self, change: &Change) -> Option<String> {
        self.last_rv = self.last_rv.max(change.rv);
        let object = &change.object;
        if let Some(ns) = &self.filter.namespace
            && object["metadata"]["namespace"].as_str() != Some(ns.as_str())
        {
            return None;
        }
        if !self.filter.labels.matches(object) || !self.filter.fields.matches(object) {
            return None;
        }
        let event = json!({ "type": change.kind.as_str(), "object": present(&self.def, object) });
        Some(line(&event))
    }

    fn bookmark(&self, initial_end: bool) -> String {
        let mut metadata = json!({ "resourceVersion": self.last_rv.to_string() });
        if initial_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let event = json!({
            "type": "BOOKMARK",
            "object": { "kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata },
        });
        line(&event)
    }
}

fn line(event: &Value) -> String {
    let mut text = event.to_string();
    text.push('\n');
    text
}

/// A watch error event (e.g. 410 Gone delivered inside the stream).
pub fn error_line(status: &Value) -> String {
    line(&json!({ "type": "ERROR", "object": status }))
}
