//! Fault injection, through the admin HTTP API and the library API: failing requests with a
//! chosen code, added latency, closing watch streams, compacting history.

#[path = "support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ferrule_testapi::{Matcher, Options, TestApi};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use support::{api_error, config_map, start};

fn matcher(verb: &str, resource: &str) -> Matcher {
    Matcher {
        verb: Some(verb.to_owned()),
        resource: Some(resource.to_owned()),
    }
}

/// POSTs to the admin API through the kube client (HTTPS, the kubeconfig's CA).
async fn admin(client: &kube::Client, path: &str, body: serde_json::Value) -> String {
    let request = hyper::Request::post(format!("/ferrule-testapi{path}"))
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .expect("a valid request");
    client
        .request_text(request)
        .await
        .unwrap_or_else(|e| panic!("admin {path}: {e}"))
}

/// A plain HTTP/1.1 POST over a TCP socket: the admin API needs no Kubernetes client.
fn raw_post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read response");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn admin_api_fails_the_next_matching_requests() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &config_map("f", "1", &[]))
        .await
        .expect("create");
    let answer = admin(
        &client,
        "/faults/fail",
        serde_json::json!({ "verb": "get", "resource": "configmaps", "code": 500, "count": 2 }),
    )
    .await;
    assert!(answer.contains("\"ok\":true"), "{answer}");

    cms.list(&ListParams::default())
        .await
        .expect("a list is not a get: unaffected");
    for attempt in 1..=2 {
        let status = api_error(cms.get("f").await, "an injected failure");
        assert_eq!(
            (status.code, status.reason.as_str()),
            (500, "InternalError"),
            "attempt {attempt}"
        );
        assert_eq!(status.message, "injected failure (500)");
    }
    cms.get("f").await.expect("only the next two gets fail");

    // kube's default client retries 429/503/504 by itself: two injected 503s are absorbed
    // (and used up) by one `get`. Inject 500 when the caller must see the failure.
    admin(
        &client,
        "/faults/fail",
        serde_json::json!({ "verb": "get", "resource": "configmaps", "code": 503, "count": 2 }),
    )
    .await;
    cms.get("f").await.expect("kube retried past the 503s");
    server
        .server()
        .faults
        .fail_next(matcher("get", "configmaps"), 500, 1);
    let status = api_error(
        cms.get("f").await,
        "the 503 rule is used up, the 500 rule is next",
    );
    assert_eq!(status.code, 500);
}

#[tokio::test]
async fn admin_api_over_plain_http_adds_latency_until_cleared() {
    let server = TestApi::start_with(Options {
        tls: false,
        ..Options::default()
    })
    .await
    .expect("plain HTTP server");
    let client = server.client().await.expect("client");
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let addr = server.addr();

    let (code, body) = tokio::task::spawn_blocking(move || {
        raw_post(
            addr,
            "/ferrule-testapi/faults/latency",
            r#"{"verb":"list","resource":"configmaps","millis":400}"#,
        )
    })
    .await
    .expect("blocking task");
    assert_eq!(code, 200, "{body}");

    let started = Instant::now();
    cms.list(&ListParams::default()).await.expect("list");
    let slow = started.elapsed();
    assert!(slow >= Duration::from_millis(400), "list took {slow:?}");
    let started = Instant::now();
    let _ = cms.get_opt("x").await.expect("get");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "a get does not match the rule"
    );

    let (code, _) =
        tokio::task::spawn_blocking(move || raw_post(addr, "/ferrule-testapi/faults/clear", ""))
            .await
            .expect("blocking task");
    assert_eq!(code, 200);
    let started = Instant::now();
    cms.list(&ListParams::default()).await.expect("list");
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "latency cleared"
    );

    // Mistakes in admin requests are refused, not ignored.
    let (bad_code, bad_path, bad_field) = tokio::task::spawn_blocking(move || {
        (
            raw_post(addr, "/ferrule-testapi/faults/fail", r#"{"code":200}"#).0,
            raw_post(addr, "/ferrule-testapi/nonsense", "").0,
            raw_post(addr, "/ferrule-testapi/faults/fail", r#"{"verb":"get"}"#).0,
        )
    })
    .await
    .expect("blocking task");
    assert_eq!((bad_code, bad_path, bad_field), (400, 404, 400));
}

#[tokio::test]
async fn library_api_injects_failures_that_kube_sees_as_status() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    server
        .server()
        .faults
        .fail_next(matcher("create", "configmaps"), 500, 1);
    let status = api_error(
        cms.create(&PostParams::default(), &config_map("x", "1", &[]))
            .await,
        "an injected 500",
    );
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert_eq!(
        cms.get_opt("x").await.expect("get"),
        None,
        "nothing was created"
    );
    cms.create(&PostParams::default(), &config_map("x", "1", &[]))
        .await
        .expect("the rule was used up");

    server
        .server()
        .faults
        .fail_next(matcher("update", "configmaps"), 409, 1);
    let current = cms.get("x").await.expect("get");
    let status = api_error(
        cms.replace("x", &PostParams::default(), &current).await,
        "an injected conflict",
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    server.server().faults.add_latency(
        Matcher {
            verb: None,
            resource: Some("configmaps".to_owned()),
        },
        Duration::from_millis(300),
    );
    let started = Instant::now();
    cms.get("x").await.expect("get");
    assert!(started.elapsed() >= Duration::from_millis(300));
    server.server().faults.clear();
    let started = Instant::now();
    cms.get("x").await.expect("get");
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn closing_watches_ends_open_streams() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let rv = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut library = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut admin_closed = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();

    cms.create(&PostParams::default(), &config_map("w", "1", &[]))
        .await
        .expect("create");
    for stream in [&mut library, &mut admin_closed] {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
        assert!(
            matches!(event, Ok(Some(Ok(WatchEvent::Added(_))))),
            "{event:?}"
        );
    }

    admin(&client, "/watches/close", serde_json::json!({})).await;
    for stream in [&mut library, &mut admin_closed] {
        let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the stream ends promptly");
        assert!(end.is_none(), "{end:?}");
    }

    // The library API closes the next generation of streams too.
    let mut again = cms
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    let replayed = tokio::time::timeout(Duration::from_secs(5), again.next()).await;
    assert!(
        matches!(replayed, Ok(Some(Ok(WatchEvent::Added(_))))),
        "{replayed:?}"
    );
    server.server().close_watches();
    let end = tokio::time::timeout(Duration::from_secs(5), again.next())
        .await
        .expect("the stream ends promptly");
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn compaction_answers_resumption_with_410() {
    let (server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let before = cms
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    for i in 0..3 {
        cms.create(
            &PostParams::default(),
            &config_map(&format!("c{i}"), "1", &[]),
        )
        .await
        .expect("create");
    }
    let page = cms
        .list(&ListParams::default().limit(1))
        .await
        .expect("first page");
    let token = page.metadata.continue_.expect("more pages");

    // Before compaction the history still covers `before`.
    let mut resumed = cms
        .watch(&WatchParams::default(), &before)
        .await
        .expect("watch")
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), resumed.next()).await;
    assert!(
        matches!(event, Ok(Some(Ok(WatchEvent::Added(_))))),
        "{event:?}"
    );

    admin(&client, "/history/compact", serde_json::json!({})).await;
    let mut expired = cms
        .watch(&WatchParams::default(), &before)
        .await
        .expect("the watch request itself succeeds")
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), expired.next())
        .await
        .expect("an event")
        .expect("open stream")
        .expect("a decodable event");
    let WatchEvent::Error(status) = event else {
        panic!("expected an ERROR event, got {event:?}");
    };
    assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
    assert!(
        status.message.starts_with("too old resource version"),
        "{}",
        status.message
    );

    let status = api_error(
        cms.list(&ListParams::default().limit(1).continue_token(&token))
            .await,
        "continuing a list after compaction",
    );
    assert_eq!(status.code, 410);

    // The library API does the same; a watch from the current version is fine.
    let current = server.server().resource_version().to_string();
    server.server().compact();
    let mut fresh = cms
        .watch(&WatchParams::default().disable_bookmarks(), &current)
        .await
        .expect("watch")
        .boxed();
    cms.create(&PostParams::default(), &config_map("after", "1", &[]))
        .await
        .expect("create");
    let event = tokio::time::timeout(Duration::from_secs(5), fresh.next()).await;
    assert!(
        matches!(event, Ok(Some(Ok(WatchEvent::Added(_))))),
        "{event:?}"
    );
}
