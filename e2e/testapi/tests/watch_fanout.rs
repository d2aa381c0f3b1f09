//! The watch fan-out benchmark's workload at smoke-test size: every watcher sees every object
//! exactly once. No timing is asserted; the benchmark reports that.

#[path = "../benches/watch_fanout/fanout.rs"]
#[allow(dead_code, reason = "the report's printing is for the benchmark")]
mod fanout;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_watcher_sees_every_object_exactly_once() {
    let setup = fanout::Setup {
        objects: 200,
        watchers: 10,
        in_flight: 32,
        deadline: Duration::from_secs(60),
    };
    let report = fanout::run(setup)
        .await
        .expect("the fan-out workload completes");
    assert_eq!(report.watchers.len(), 10);
    let expected: Vec<String> = (0..200).map(|i| format!("cm-{i:06}")).collect();
    for (index, watcher) in report.watchers.iter().enumerate() {
        let names: Vec<&String> = watcher.deliveries.keys().collect();
        assert_eq!(
            names,
            expected.iter().collect::<Vec<_>>(),
            "watcher {index} saw every object"
        );
        let repeated: Vec<_> = watcher
            .deliveries
            .iter()
            .filter(|(_, n)| **n != 1)
            .collect();
        assert!(
            repeated.is_empty(),
            "watcher {index} saw duplicates: {repeated:?}"
        );
        assert_eq!(
            watcher.relists, 1,
            "watcher {index} listed once and never relisted"
        );
        assert_eq!(
            watcher.latencies_us.len(),
            200,
            "every delivery carried its send time"
        );
    }
    assert_eq!(report.deliveries(), 2000);
}
