use serde_json::json;

use super::*;

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"externalIPs": ["192.0.2.1"], "ports": [{"port": 80}]}
    }))
    .expect("a valid Service")
}

fn names(index: &Index) -> Vec<String> {
    index
        .services()
        .iter()
        .map(|s| s.key.name.clone())
        .collect()
}

#[test]
fn a_relist_replaces_the_index_only_when_complete() {
    let mut feeder = Feeder::default();
    let mut index = Index::default();
    assert!(feeder.apply(
        &mut index,
        Change::Services(Box::new(Event::Apply(service("old"))))
    ));
    assert!(!feeder.apply(&mut index, Change::Services(Box::new(Event::Init))));
    assert!(!feeder.apply(
        &mut index,
        Change::Services(Box::new(Event::InitApply(service("a"))))
    ));
    // Mid-relist the index still holds the previous world.
    assert_eq!(names(&index), ["old"]);
    assert!(feeder.apply(&mut index, Change::Services(Box::new(Event::InitDone))));
    assert_eq!(names(&index), ["a"]);
    assert!(feeder.apply(
        &mut index,
        Change::Services(Box::new(Event::Delete(service("a"))))
    ));
    assert!(names(&index).is_empty());
}

#[test]
fn listed_only_after_both_watches_finished_their_first_list() {
    let mut feeder = Feeder::default();
    let mut index = Index::default();
    feeder.apply(&mut index, Change::Services(Box::new(Event::Init)));
    feeder.apply(&mut index, Change::Services(Box::new(Event::InitDone)));
    assert!(!feeder.initially_listed());
    feeder.apply(&mut index, Change::Slices(Box::new(Event::Init)));
    assert!(!feeder.initially_listed());
    // An empty relist is still a complete list.
    assert!(!feeder.apply(&mut index, Change::Slices(Box::new(Event::InitDone))));
    assert!(feeder.initially_listed());
}
