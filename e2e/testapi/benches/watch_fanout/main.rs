//! Watch fan-out benchmark: 10 kube-rs watchers on one namespace while 10,000 ConfigMaps are
//! created through kube-rs over HTTPS (32 in flight). Prints create throughput, per-delivery
//! latency (send timestamp in an annotation, measured at each watcher) and process memory.
//!
//! `cargo bench -p ferrule-testapi --bench watch_fanout`; `FERRULE_BENCH_OBJECTS=500` for a
//! quick run. A plain main (no libtest harness): the numbers are a report, not an assertion.

mod fanout;

use std::time::Duration;

use anyhow::Context as _;
use fanout::{Setup, run};

fn main() -> anyhow::Result<()> {
    let objects = match std::env::var("FERRULE_BENCH_OBJECTS") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("FERRULE_BENCH_OBJECTS={text:?} is not a count"))?,
        Err(_) => 10_000,
    };
    let setup = Setup {
        objects,
        watchers: 10,
        in_flight: 32,
        deadline: Duration::from_secs(300),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the Tokio runtime")?;
    let report = runtime.block_on(run(setup))?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("ferrule-testapi watch fan-out (HTTPS, kube-rs clients, {cores} cores)");
    print!("{}", report.table());
    let duplicates = report
        .watchers
        .iter()
        .flat_map(|w| w.deliveries.values())
        .filter(|n| **n != 1)
        .count();
    let relists: usize = report
        .watchers
        .iter()
        .map(|w| w.relists.saturating_sub(1))
        .sum();
    if duplicates > 0 || relists > 0 {
        println!("anomalies: {duplicates} objects delivered more than once, {relists} relists");
    }
    Ok(())
}
