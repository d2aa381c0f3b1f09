//! Watches through kube-rs: raw `Api::watch`, `kube::runtime::watcher` (re-watching after the
//! server closes streams, relisting after 410), reflectors, bookmarks and streaming lists.

use crate::support::{config_map, eventually, start, value_of};
use ferrule_testapi::Matcher;
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::Event;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Events = Pin<Box<dyn Stream<Item = Result<Event<ConfigMap>, watcher::Error>> + Send>>;

fn watch_all(cms: &Api<ConfigMap>, config: watcher::Config) -> Events {
    watcher(cms.clone(), config).boxed()
}

async fn next_event(events: &mut Events) -> Event<ConfigMap> {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a watch event within 5s")
        .expect("the watcher stream does not end")
        .expect("no watch error")
}

/// name → (resourceVersion, value): what a client knows of the collection.
type View = BTreeMap<String, (String, String)>;

fn entry(cm: &ConfigMap) -> (String, (String, String)) {
    (
        cm.metadata.name.clone().expect("name"),
        (
            cm.metadata.resource_version.clone().expect("rv"),
            value_of(cm).unwrap_or_default().to_owned(),
        ),
    )
}

async fn server_view(cms: &Api<ConfigMap>) -> View {
    cms.list(&ListParams::default())
        .await
        .expect("list")
        .items
        .iter()
        .map(entry)
        .collect()
}

/// A watcher's view of the collection, kept the way a reflector keeps it, plus the errors the
/// watcher reported.
#[derive(Default)]
struct Mirror {
    view: View,
    relisting: Option<View>,
    errors: Vec<u16>,
    initialized: usize,
}

fn mirror(events: Events) -> Arc<Mutex<Mirror>> {
    let state = Arc::new(Mutex::new(Mirror::default()));
    let shared = state.clone();
    tokio::spawn(events.for_each(move |event| {
        let mut m = shared.lock().expect("mirror lock");
        match event {
            Ok(Event::Init) => m.relisting = Some(View::new()),
            Ok(Event::InitApply(cm)) => {
                let (name, value) = entry(&cm);
                if let Some(relisting) = m.relisting.as_mut() {
                    relisting.insert(name, value);
                }
            }
            Ok(Event::InitDone) => {
                m.view = m.relisting.take().unwrap_or_default();
                m.initialized += 1;
            }
            Ok(Event::Apply(cm)) => {
                let (name, value) = entry(&cm);
                m.view.insert(name, value);
            }
            Ok(Event::Delete(cm)) => {
                m.view.remove(&entry(&cm).0);
            }
            Err(watcher::Error::WatchError(status)) => m.errors.push(status.code),
            Err(_) => m.errors.push(0),
        }
        futures::future::ready(())
    }));
    state
}

async fn converges(what: &str, cms: &Api<ConfigMap>, mirror: &Arc<Mutex<Mirror>>) {
    eventually(what, Duration::from_secs(10), || async {
        let server = server_view(cms).await;
        let known = mirror.lock().expect("mirror lock").view.clone();
        (known == server).then_some(())
    })
    .await;
}

async fn initialized(mirror: &Arc<Mutex<Mirror>>, times: usize) {
    eventually(
        "the watcher finished its initial list",
        Duration::from_secs(5),
        || async { (mirror.lock().expect("mirror lock").initialized >= times).then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn watcher_observes_create_modify_delete() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut events = watch_all(&cms, watcher::Config::default());
    assert!(matches!(next_event(&mut events).await, Event::Init));
    assert!(matches!(next_event(&mut events).await, Event::InitDone));

    cms.create(&PostParams::default(), &config_map("w", "1", &[]))
        .await
        .expect("create");
    let Event::Apply(added) = next_event(&mut events).await else {
        panic!("a create is seen as Apply");
    };
    assert_eq!(value_of(&added), Some("1"));
    cms.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "value": "2" } })),
    )
    .await
    .expect("patch");
    let Event::Apply(modified) = next_event(&mut events).await else {
        panic!("a change is seen as Apply");
    };
    assert_eq!(value_of(&modified), Some("2"));
    cms.delete("w", &DeleteParams::default())
        .await
        .expect("delete");
    let Event::Delete(deleted) = next_event(&mut events).await else {
        panic!("a delete is seen as Delete");
    };
    assert_eq!(deleted.metadata.name.as_deref(), Some("w"));
    assert_ne!(
        deleted.metadata.resource_version, modified.metadata.resource_version,
        "the DELETED event carries the deletion's resourceVersion"
    );
}

#[tokio::test]
async fn watcher_rewatches_after_the_server_closes_watches() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let view = mirror(watch_all(&cms, watcher::Config::default()));
    initialized(&view, 1).await;
    cms.create(&PostParams::default(), &config_map("a", "1", &[]))
        .await
        .expect("create a");
    converges("the watcher sees a", &cms, &view).await;

    // A raw watch alongside shows that the streams really end.
    let mut raw = cms
        .watch(&WatchParams::default(), "0")
        .await
        .expect("raw watch")
        .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), raw.next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(WatchEvent::Added(_))))),
        "{first:?}"
    );

    server.server().close_watches();
    let end = tokio::time::timeout(Duration::from_secs(5), raw.next())
        .await
        .expect("the closed stream ends promptly");
    assert!(end.is_none(), "no more events after close: {end:?}");

    cms.create(&PostParams::default(), &config_map("b", "1", &[]))
        .await
        .expect("create b");
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "value": "2" } })),
    )
    .await
    .expect("patch a");
    converges("the watcher re-watched and sees later changes", &cms, &view).await;
    let mirror = view.lock().expect("mirror lock");
    assert!(
        mirror.errors.is_empty(),
        "a clean close is no error: {:?}",
        mirror.errors
    );
    assert_eq!(mirror.initialized, 1, "resuming needs no relist");
}

#[tokio::test]
async fn watcher_relists_after_compaction_without_losing_changes() {
    let (server, client) = start().await;
    let api = server.server().clone();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for name in ["keep", "change", "drop"] {
        cms.create(&PostParams::default(), &config_map(name, "1", &[]))
            .await
            .expect("create");
    }
    let view = mirror(watch_all(&cms, watcher::Config::default()));
    initialized(&view, 1).await;
    converges("the watcher has the initial state", &cms, &view).await;

    // Hold the watcher's re-watch in the server long enough to change the collection and
    // compact the history underneath it: it then resumes from a compacted version.
    let watches = Matcher {
        verb: Some("watch".to_owned()),
        resource: Some("configmaps".to_owned()),
    };
    api.faults.add_latency(watches, Duration::from_millis(800));
    api.close_watches();
    cms.patch(
        "change",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "value": "2" } })),
    )
    .await
    .expect("patch");
    cms.delete("drop", &DeleteParams::default())
        .await
        .expect("delete");
    cms.create(&PostParams::default(), &config_map("new", "1", &[]))
        .await
        .expect("create");
    api.compact();

    eventually(
        "the resumed watch is answered 410 Gone",
        Duration::from_secs(5),
        || async {
            view.lock()
                .expect("mirror lock")
                .errors
                .contains(&410)
                .then_some(())
        },
    )
    .await;
    api.faults.clear();
    initialized(&view, 2).await;
    converges(
        "after the relist the watcher knows the server's state",
        &cms,
        &view,
    )
    .await;

    // And it keeps watching.
    cms.patch(
        "keep",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": { "value": "3" } })),
    )
    .await
    .expect("patch after relist");
    converges("changes after the relist arrive", &cms, &view).await;
}

#[tokio::test]
async fn reflector_store_matches_the_server() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let (store, writer) = reflector::store::<ConfigMap>();
    let stream = reflector::reflector(writer, watcher(cms.clone(), watcher::Config::default()))
        .applied_objects()
        .for_each(|_| futures::future::ready(()));
    tokio::spawn(stream);
    store
        .wait_until_ready()
        .await
        .expect("the reflector becomes ready");

    for i in 0..10 {
        cms.create(
            &PostParams::default(),
            &config_map(&format!("r{i}"), "1", &[]),
        )
        .await
        .expect("create");
    }
    server.server().close_watches();
    for i in 0..5 {
        cms.patch(
            &format!("r{i}"),
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "value": "2" } })),
        )
        .await
        .expect("patch");
    }
    for i in 5..8 {
        cms.delete(&format!("r{i}"), &DeleteParams::default())
            .await
            .expect("delete");
    }
    let reflected =
        |store: &Store<ConfigMap>| -> View { store.state().iter().map(|cm| entry(cm)).collect() };
    eventually(
        "the reflector store equals the server's list",
        Duration::from_secs(10),
        || async { (reflected(&store) == server_view(&cms).await).then_some(()) },
    )
    .await;
    assert_eq!(reflected(&store).len(), 7);
}

#[tokio::test]
async fn idle_watches_receive_bookmarks() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = cms
        .create(&PostParams::default(), &config_map("b", "1", &[]))
        .await
        .expect("create");
    let rv = created.metadata.resource_version.expect("rv");
    let mut events = cms
        .watch(&WatchParams::default(), &rv)
        .await
        .expect("watch with allowWatchBookmarks")
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(8), events.next())
        .await
        .expect("an idle watch gets a bookmark within the bookmark interval")
        .expect("the stream is open")
        .expect("a valid event");
    let WatchEvent::Bookmark(bookmark) = event else {
        panic!("expected a BOOKMARK, got {event:?}");
    };
    let marked: u64 = bookmark
        .metadata
        .resource_version
        .parse()
        .expect("numeric rv");
    assert!(
        marked >= rv.parse::<u64>().expect("numeric rv"),
        "{marked} < {rv}"
    );

    // Without allowWatchBookmarks nothing arrives on an idle watch.
    let mut quiet = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    assert!(
        tokio::time::timeout(Duration::from_secs(6), quiet.next())
            .await
            .is_err(),
        "no bookmark was asked for"
    );
}

#[tokio::test]
async fn streaming_lists_send_initial_events_then_a_marked_bookmark() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for name in ["s1", "s2"] {
        cms.create(&PostParams::default(), &config_map(name, "1", &[]))
            .await
            .expect("create");
    }

    let mut raw = cms
        .watch(&WatchParams::streaming_lists(), "0")
        .await
        .expect("a streaming list")
        .boxed();
    let mut initial = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), raw.next())
            .await
            .expect("an event")
            .expect("open stream")
            .expect("valid event");
        match event {
            WatchEvent::Added(cm) => initial.push(cm.metadata.name.expect("name")),
            WatchEvent::Bookmark(bookmark) => {
                assert_eq!(
                    bookmark
                        .metadata
                        .annotations
                        .get("k8s.io/initial-events-end")
                        .map(String::as_str),
                    Some("true")
                );
                break;
            }
            other => panic!("unexpected event in the initial list: {other:?}"),
        }
    }
    initial.sort();
    assert_eq!(initial, ["s1", "s2"]);

    // kube's watcher in streaming-list mode (kube 4.2 emits no Init before the initial events).
    let mut events = watch_all(&cms, watcher::Config::default().streaming_lists());
    let mut listed = Vec::new();
    loop {
        match next_event(&mut events).await {
            Event::Init => {}
            Event::InitApply(cm) => listed.push(cm.metadata.name.expect("name")),
            Event::InitDone => break,
            other => panic!("unexpected event: {other:?}"),
        }
    }
    listed.sort();
    assert_eq!(listed, ["s1", "s2"]);
    cms.create(&PostParams::default(), &config_map("s3", "1", &[]))
        .await
        .expect("create");
    let Event::Apply(added) = next_event(&mut events).await else {
        panic!("a later create is an Apply");
    };
    assert_eq!(added.metadata.name.as_deref(), Some("s3"));
}

#[tokio::test]
async fn label_filtered_watch_sees_objects_enter_and_leave_the_selection() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let view = mirror(watch_all(
        &cms,
        watcher::Config::default().labels("app=web"),
    ));
    initialized(&view, 1).await;
    cms.create(
        &PostParams::default(),
        &config_map("x", "1", &[("app", "web")]),
    )
    .await
    .expect("create");
    let selected = |names: &'static [&'static str]| {
        let view = view.clone();
        async move {
            eventually("the filtered view", Duration::from_secs(5), || async {
                let known: Vec<String> = view
                    .lock()
                    .expect("mirror lock")
                    .view
                    .keys()
                    .cloned()
                    .collect();
                (known == names).then_some(())
            })
            .await;
        }
    };
    selected(&["x"]).await;
    // Relabelled out of the selection: a filtered watch reports it DELETED...
    cms.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "db" } } })),
    )
    .await
    .expect("relabel out");
    selected(&[]).await;
    // ...and ADDED when it comes back.
    cms.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "labels": { "app": "web" } } })),
    )
    .await
    .expect("relabel in");
    selected(&["x"]).await;
}
