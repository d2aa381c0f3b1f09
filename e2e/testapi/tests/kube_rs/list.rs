//! Lists: label and field selectors, and limit/continue paging over a consistent snapshot.

use crate::support::{api_error, config_map, start, value_of};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

async fn names(cms: &Api<ConfigMap>, params: &ListParams) -> Vec<String> {
    cms.list(params)
        .await
        .unwrap_or_else(|e| panic!("list with {params:?}: {e}"))
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect()
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, labels) in [
        ("web-1", &[("app", "web"), ("tier", "front")][..]),
        ("web-2", &[("app", "web"), ("tier", "back")][..]),
        ("db-1", &[("app", "db"), ("tier", "back")][..]),
        ("plain", &[][..]),
    ] {
        cms.create(&PostParams::default(), &config_map(name, name, labels))
            .await
            .expect("create");
    }
    let by_labels = |selector: &str| ListParams::default().labels(selector);
    assert_eq!(names(&cms, &by_labels("app=web")).await, ["web-1", "web-2"]);
    assert_eq!(names(&cms, &by_labels("app!=web")).await, ["db-1", "plain"]);
    assert_eq!(
        names(&cms, &by_labels("app=web,tier=back")).await,
        ["web-2"]
    );
    assert_eq!(
        names(&cms, &by_labels("tier in (front,back),app notin (db)")).await,
        ["web-1", "web-2"]
    );
    assert_eq!(names(&cms, &by_labels("!app")).await, ["plain"]);
    assert_eq!(
        names(&cms, &by_labels("tier")).await,
        ["db-1", "web-1", "web-2"]
    );

    let by_fields = |selector: &str| ListParams::default().fields(selector);
    assert_eq!(
        names(&cms, &by_fields("metadata.name=db-1")).await,
        ["db-1"]
    );
    assert_eq!(
        names(&cms, &by_fields("metadata.name!=db-1,metadata.name!=plain")).await,
        ["web-1", "web-2"]
    );
    assert_eq!(
        names(&cms, &by_fields("metadata.name=web-1").labels("app=db")).await,
        Vec::<String>::new(),
        "both selectors must match"
    );

    // Across namespaces, by namespace field.
    let everywhere: Api<ConfigMap> = Api::all(client);
    assert_eq!(
        names(
            &everywhere,
            &by_fields("metadata.namespace=default").labels("app=db")
        )
        .await,
        ["db-1"]
    );
    let status = api_error(
        cms.list(&by_fields("data.value=x")).await,
        "an unsupported field selector",
    );
    assert_eq!(status.code, 400);
    assert!(
        status.message.contains("field label not supported"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn paging_walks_one_consistent_snapshot() {
    let (_server, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..25 {
        cms.create(
            &PostParams::default(),
            &config_map(&format!("cm-{i:02}"), "original", &[]),
        )
        .await
        .expect("create");
    }

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut page_sizes = Vec::new();
    let mut list_rv = None;
    loop {
        let mut params = ListParams::default().limit(10);
        if let Some(token) = &token {
            params = params.continue_token(token);
        }
        let page = cms.list(&params).await.expect("list page");
        page_sizes.push(page.items.len());
        let rv = page.metadata.resource_version.clone();
        match &list_rv {
            None => list_rv = rv,
            Some(first) => assert_eq!(rv.as_ref(), Some(first), "every page is at one version"),
        }
        let remaining = page.metadata.remaining_item_count;
        seen.extend(page.items.iter().map(|cm| {
            (
                cm.metadata.name.clone().expect("name"),
                value_of(cm).expect("value").to_owned(),
            )
        }));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        match &token {
            Some(_) => assert_eq!(remaining, Some(25 - seen.len() as i64)),
            None => break,
        }
        // Change the collection between pages: the pages already promised must not move.
        let round = page_sizes.len();
        cms.patch(
            "cm-24",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "value": format!("changed-{round}") } })),
        )
        .await
        .expect("modify between pages");
        cms.delete(&format!("cm-{:02}", 20 + round), &DeleteParams::default())
            .await
            .expect("delete between pages");
        cms.create(
            &PostParams::default(),
            &config_map(&format!("cm-{round}-new"), "new", &[]),
        )
        .await
        .expect("create between pages");
    }
    assert_eq!(page_sizes, [10, 10, 5]);
    let expected: Vec<_> = (0..25)
        .map(|i| (format!("cm-{i:02}"), "original".to_owned()))
        .collect();
    assert_eq!(
        seen, expected,
        "the pages add up to the collection as first listed"
    );

    // A fresh list sees the changes.
    let now = cms.list(&ListParams::default()).await.expect("list");
    assert_eq!(now.items.len(), 25 - 2 + 2);
    let last = now
        .items
        .iter()
        .find(|cm| cm.metadata.name.as_deref() == Some("cm-24"))
        .expect("cm-24");
    assert_eq!(value_of(last), Some("changed-2"));
}
