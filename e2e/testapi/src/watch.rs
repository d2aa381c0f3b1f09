//! Watch streams: replayed and live changes, filtered, encoded as the API's JSON lines, with
//! bookmarks and a server-side timeout.

use crate::objects::present;
use crate::registry::ResourceDef;
use crate::selectors::{FieldQuery, LabelQuery};
use crate::store::{Change, ChangeKind, Subscription};
use crate::table::{Include, table};
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
    /// Events carry Tables (`Accept: ...;as=Table`) with this `includeObject`.
    table: Option<Include>,
    /// Whether the column definitions went out already: kube-apiserver sends them with the
    /// first event only (NoHeaders afterwards), and kubectl reuses them for later rows.
    headers_sent: bool,
    next_bookmark: Instant,
}

impl WatchStream {
    pub fn new(def: Arc<ResourceDef>, filter: WatchFilter, subscription: Subscription) -> Self {
        let deadline = filter.timeout.map(|t| Instant::now() + t);
        let start_rv = subscription.rv;
        let initial_end_pending = filter.initial_events_end;
        Self {
            def,
            replay: subscription.replay.iter().cloned().collect(),
            subscription: Subscription {
                replay: Vec::new(),
                live: subscription.live,
                rv: start_rv,
            },
            next_bookmark: Instant::now() + BOOKMARK_INTERVAL,
            filter,
            deadline,
            last_rv: start_rv,
            initial_end_pending,
            failed: None,
            table: None,
            headers_sent: false,
        }
    }

    /// Converts every event's object to a Table, as for `kubectl get -w`.
    pub fn with_table(mut self, include: Include) -> Self {
        self.table = Some(include);
        self
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
                rv: 0,
            },
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
            // The bookmark timer runs from the last line sent, not the last change seen: a
            // filtered watch on a busy collection still gets its bookmarks.
            let sleep_until = match (self.deadline, self.filter.bookmarks) {
                (Some(deadline), true) => deadline.min(self.next_bookmark),
                (Some(deadline), false) => deadline,
                (None, true) => self.next_bookmark,
                (None, false) => Instant::now() + Duration::from_secs(3600),
            };
            tokio::select! {
                change = self.subscription.live.recv() => {
                    let change = change?;
                    if let Some(line) = self.encode(&change) {
                        self.next_bookmark = Instant::now() + BOOKMARK_INTERVAL;
                        return Some(line);
                    }
                }
                () = tokio::time::sleep_until(sleep_until) => {
                    if self.deadline.is_some_and(|d| Instant::now() >= d) {
                        return None;
                    }
                    if self.filter.bookmarks {
                        self.next_bookmark = Instant::now() + BOOKMARK_INTERVAL;
                        return Some(self.bookmark(false));
                    }
                }
            }
        }
    }

    fn encode(&mut self, change: &Change) -> Option<String> {
        self.last_rv = self.last_rv.max(change.rv);
        let filter = &self.filter;
        let passes = |object: &Value| {
            filter
                .namespace
                .as_ref()
                .is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns.as_str()))
                && filter.labels.matches(object)
                && filter.fields.matches(object)
        };
        // As the API server's watch cache: an object entering the selection is ADDED, one
        // leaving it is DELETED (with its previous content at the new resourceVersion).
        let (kind, object) = match change.kind {
            ChangeKind::Deleted if passes(&change.object) => {
                (ChangeKind::Deleted, (*change.object).clone())
            }
            ChangeKind::Deleted => return None,
            _ => match (
                passes(&change.object),
                change.previous.as_deref().filter(|p| passes(p)),
            ) {
                (true, None) => (ChangeKind::Added, (*change.object).clone()),
                (true, Some(_)) => (ChangeKind::Modified, (*change.object).clone()),
                (false, Some(previous)) => {
                    let mut left = previous.clone();
                    left["metadata"]["resourceVersion"] = json!(change.rv.to_string());
                    (ChangeKind::Deleted, left)
                }
                (false, None) => return None,
            },
        };
        let object = self.tabulate(present(&self.def, &object));
        let event = json!({ "type": kind.as_str(), "object": object });
        Some(line(&event))
    }

    /// The object as the event carries it: itself, or a one-row Table (bookmarks included, as
    /// kube-apiserver's watch encoder converts every non-Status object).
    fn tabulate(&mut self, object: Value) -> Value {
        let Some(include) = self.table else {
            return object;
        };
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let with_columns = !std::mem::replace(&mut self.headers_sent, true);
        table(&self.def, &[&object], &rv, with_columns, include)
    }

    fn bookmark(&mut self, initial_end: bool) -> String {
        let mut metadata = json!({ "resourceVersion": self.last_rv.to_string() });
        if initial_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        let object = json!({ "kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata });
        let event = json!({ "type": "BOOKMARK", "object": self.tabulate(object) });
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

#[cfg(test)]
mod tests {
    use crate::request::{Query, parse_path};
    use crate::server::{ApiServer, Method, Request};
    use serde_json::{Value, json};

    fn config_map(name: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": name, "namespace": "default" },
            "data": { "k": "v" },
        })
    }

    #[tokio::test]
    async fn table_watches_send_column_definitions_with_the_first_event_only() {
        let server = ApiServer::new();
        for name in ["a", "b"] {
            server
                .create_internal("", "configmaps", config_map(name))
                .expect("a ConfigMap is created");
        }
        let path = "/api/v1/namespaces/default/configmaps";
        let request = Request {
            method: Method::Get,
            path: path.into(),
            query: Query::parse(Some("watch=true&includeObject=None")),
            content_type: None,
            accept: Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json".into()),
            user_agent: None,
            body: bytes::Bytes::new(),
        };
        let target = parse_path(path).expect("a resource path");
        let def = server
            .registry()
            .get("", "v1", "configmaps")
            .expect("configmaps are served");
        let mut stream =
            crate::read::watch(&server, &def, &target, &request).expect("the watch starts");
        let mut next = async || -> Value {
            let line = stream.next_line().await.expect("an event");
            serde_json::from_str(&line).expect("an event is JSON")
        };
        let first = next().await;
        assert_eq!(first["type"], "ADDED");
        assert_eq!(first["object"]["kind"], "Table");
        let names: Vec<&Value> = first["object"]["columnDefinitions"]
            .as_array()
            .expect("the first event defines the columns")
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(names, ["Name", "Data", "Age"]);
        assert_eq!(first["object"]["rows"][0]["cells"][0], "a");
        assert_eq!(first["object"]["rows"][0]["cells"][1], 1);
        assert_eq!(first["object"]["rows"][0]["object"], Value::Null);
        let second = next().await;
        assert_eq!(second["object"]["columnDefinitions"], Value::Null);
        assert_eq!(second["object"]["rows"][0]["cells"][0], "b");
        assert_eq!(
            second["object"]["metadata"]["resourceVersion"],
            json!(server.resource_version().to_string())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_filtered_watch_on_a_busy_collection_still_gets_bookmarks() {
        let server = ApiServer::new();
        let path = "/api/v1/namespaces/default/configmaps";
        let request = Request {
            method: Method::Get,
            path: path.into(),
            query: Query::parse(Some(
                "watch=true&allowWatchBookmarks=true&labelSelector=app%3Dweb",
            )),
            content_type: None,
            accept: None,
            user_agent: None,
            body: bytes::Bytes::new(),
        };
        let target = parse_path(path).expect("a resource path");
        let def = server
            .registry()
            .get("", "v1", "configmaps")
            .expect("configmaps are served");
        let mut stream =
            crate::read::watch(&server, &def, &target, &request).expect("the watch starts");
        // Unrelated objects change every second, more often than the bookmark interval.
        let writer = server.clone();
        tokio::spawn(async move {
            for i in 0..30 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let _ = writer.create_internal("", "configmaps", config_map(&format!("noise-{i}")));
            }
        });
        let started = tokio::time::Instant::now();
        let line = stream.next_line().await.expect("the watch stays open");
        let event: Value = serde_json::from_str(&line).expect("an event is JSON");
        assert_eq!(event["type"], "BOOKMARK");
        assert!(
            started.elapsed() <= super::BOOKMARK_INTERVAL + std::time::Duration::from_millis(10)
        );
        let rv: u64 = event["object"]["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|rv| rv.parse().ok())
            .expect("a bookmark carries a resourceVersion");
        assert!(
            rv >= 4,
            "the bookmark names the version of the noise seen so far: {rv}"
        );
    }
}
