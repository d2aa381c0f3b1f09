//! API load of L2 announcements per node, against the number of announced Services.
//!
//! Three real `ferrule-l2announcer` processes (one per node, default lease timings unless
//! `--lease-duration/--lease-renew-deadline/--lease-retry-period` are given) share N
//! LoadBalancer Services through one policy. Once every Service is announced exactly once, the
//! API server's request counter is reset and read again after a window: what is left is the
//! steady-state cost of the election, which is what a cluster pays forever. The table puts it
//! next to Cilium's documented worst case of one Lease per Service renewed every renew deadline
//! (services ÷ renewDeadline requests per second on the busiest node).
//!
//! `cargo bench -p ferrule-l2announce --bench api_load [-- --window 30 --counts 10,100,1000]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::{AgentStub, Announcer, Cluster, NODES, eventually, owners};

struct Options {
    window: Duration,
    counts: Vec<usize>,
    timings: Vec<String>,
}

impl Options {
    fn parse() -> Self {
        let mut options = Self {
            window: Duration::from_secs(30),
            counts: vec![10, 100, 1000],
            timings: Vec::new(),
        };
        // `cargo bench` passes `--bench`; anything unknown is ignored like libtest does.
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--window" => {
                    let secs = args
                        .next()
                        .and_then(|s| s.parse().ok())
                        .expect("--window SECS");
                    options.window = Duration::from_secs(secs);
                }
                "--counts" => {
                    let list = args.next().expect("--counts N,N,...");
                    options.counts = list
                        .split(',')
                        .map(|n| n.parse().expect("a service count"))
                        .collect();
                }
                "--lease-duration" | "--lease-renew-deadline" | "--lease-retry-period" => {
                    let value = args.next().expect("a duration");
                    options.timings.extend([arg, value]);
                }
                _ => {}
            }
        }
        options
    }

    /// The renew deadline in seconds, for Cilium's model.
    fn renew_deadline_secs(&self) -> f64 {
        self.timings
            .chunks(2)
            .find(|pair| pair[0] == "--lease-renew-deadline")
            .map_or(5.0, |pair| parse_secs(&pair[1]))
    }
}

fn parse_secs(value: &str) -> f64 {
    if let Some(ms) = value.strip_suffix("ms") {
        ms.parse::<f64>().expect("milliseconds") / 1000.0
    } else {
        value
            .trim_end_matches('s')
            .parse()
            .expect("seconds like 5s or 200ms")
    }
}

/// One row of the table.
struct Measured {
    services: usize,
    settle: Duration,
    per_node: f64,
    writes_per_node: f64,
    by_kind: BTreeMap<String, u64>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    let mut rows = Vec::new();
    for &services in &options.counts {
        rows.push(measure(services, &options).await);
    }
    print_table(&rows, &options);
}

async fn measure(services: usize, options: &Options) -> Measured {
    let cluster = Cluster::start().await;
    for node in NODES {
        cluster.node(node).await;
    }
    cluster.policy("all", &[]).await;
    for i in 0..services {
        // 2001:db8::/32 has room for any count; the addresses never reach a network.
        let ip = format!("2001:db8:ff::{:x}", i + 1);
        cluster.service(&format!("svc-{i:04}"), &ip, false).await;
    }
    let mut agents = Vec::new();
    for _ in NODES {
        agents.push(AgentStub::start().await);
    }
    let timings: Vec<&str> = options.timings.iter().map(String::as_str).collect();
    let started = Instant::now();
    let announcers: Vec<Announcer> = NODES
        .iter()
        .zip(&agents)
        .map(|(node, agent)| Announcer::start_with(&cluster, node, agent, &timings))
        .collect();
    eventually(
        "every Service is announced by exactly one node",
        Duration::from_secs(120),
        || async {
            let by_service = owners(&cluster.announcements().await);
            (by_service.len() == services && by_service.values().all(|n| n.len() == 1))
                .then_some(())
        },
    )
    .await;
    let settle = started.elapsed();

    let requests = &cluster.api.server().requests;
    requests.reset();
    tokio::time::sleep(options.window).await;
    let snapshot = requests.snapshot();
    drop(announcers);

    let window = options.window.as_secs_f64();
    let nodes = NODES.len() as f64;
    let total: u64 = snapshot.values().sum();
    let writes: u64 = snapshot
        .iter()
        .filter(|(k, _)| matches!(k.verb.as_str(), "create" | "update" | "patch" | "delete"))
        .map(|(_, n)| n)
        .sum();
    let by_kind = snapshot
        .into_iter()
        .map(|(k, n)| {
            let sub = if k.subresource.is_empty() {
                String::new()
            } else {
                format!("/{}", k.subresource)
            };
            (format!("{} {}{sub}", k.verb, k.resource), n)
        })
        .collect();
    Measured {
        services,
        settle,
        per_node: total as f64 / window / nodes,
        writes_per_node: writes as f64 / window / nodes,
        by_kind,
    }
}

fn print_table(rows: &[Measured], options: &Options) {
    let renew = options.renew_deadline_secs();
    let timings = if options.timings.is_empty() {
        "defaults 15s/5s/2s".to_owned()
    } else {
        options.timings.join(" ")
    };
    println!(
        "\nL2 announcements API load: 3 nodes, one policy, steady state over {}s ({timings})\n",
        options.window.as_secs()
    );
    println!(
        "| services | settle s | ferrule requests/s per node | of which writes/s | Cilium model (services ÷ renewDeadline) req/s |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.0} |",
            row.services,
            row.settle.as_secs_f64(),
            row.per_node,
            row.writes_per_node,
            row.services as f64 / renew
        );
    }
    println!("\nRequests in the window, all nodes, by kind:");
    for row in rows {
        let kinds: Vec<String> = row
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect();
        println!("  {} services: {}", row.services, kinds.join(", "));
    }
}
