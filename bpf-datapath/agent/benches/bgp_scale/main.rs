//! BGP control plane at scale (needs root; `cargo bench -p ferrule-agent --bench bgp_scale`):
//! the release `ferrule-agent --enable-bgp-control-plane` in a node namespace, 10,000
//! LoadBalancer Services in an in-process ferrule-testapi, and FRR bgpd routers on a bridge.
//! Prints markdown tables:
//! - how long until FRR holds all 10,000 routes once the Services' LB IPs are written (from
//!   the first and from the last status write), and until it holds none once they are cleared;
//! - the agent's memory idle and with the routes (the agent includes the datapath, so its
//!   figures bound the speaker's);
//! - the agent's CPU with 10 established peers holding the routes, without and with BFD;
//! - the same peers and routes from a bare speaker process (no Kubernetes, no datapath).
//!
//! The LB IPs are IPv6 /128s from 2001:db8:1::/64 (no IPv4 documentation range holds 10,000
//! addresses), advertised over IPv4 sessions with the node's IPv6 address as next hop.

#[allow(dead_code)]
#[path = "../../tests/support/agent.rs"]
mod agent;
#[path = "../../tests/support/lan.rs"]
mod lan;
#[allow(dead_code)]
#[path = "../../tests/support/routers.rs"]
mod routers;

mod frr;
mod objects;
mod speaker_only;
mod usage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Agent, in_node_netns};
use frr::{Poll, bfdd_conf, bgpd_conf};
use lan::Lan;
use objects::Objects;
use routers::{Frr, Link, ROUTER_V4, require_root};
use speaker_only::SpeakerOnly;
use usage::{Table, process_usage};

const SERVICES: usize = 10_000;
const EXTRA_ROUTERS: usize = 9;
const NODE: &str = "node-scale";
const METRICS: &str = "127.0.0.1:9962";
/// How long the CPU is sampled in steady state.
const CPU_WINDOW: Duration = Duration::from_secs(30);
/// Time for the status writes, watches and timers to quiet down before sampling.
const SETTLE: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == speaker_only::CHILD_FLAG) {
        speaker_only::child_main(&args[at + 1..]);
        return;
    }
    if !require_root() {
        return;
    }
    let link = routers::link("s");
    let lan = Lan::new(&link, "s", EXTRA_ROUTERS);
    let mut routers = vec![(&link.far, ROUTER_V4.to_owned())];
    routers.extend((0..EXTRA_ROUTERS).map(|k| (lan.namespace(k), Lan::address(k))));
    let frrs: Arc<Vec<(String, Frr)>> = Arc::new(
        routers
            .iter()
            .map(|(ns, addr)| {
                (
                    addr.clone(),
                    routers::frr(ns, &bgpd_conf(addr), &bfdd_conf(addr)),
                )
            })
            .collect(),
    );
    let tables = in_node_netns(&link, run(&link, frrs.clone()));
    println!("{tables}");
}

async fn run(link: &Link, frrs: Arc<Vec<(String, Frr)>>) -> String {
    let api = ferrule_testapi::TestApi::start()
        .await
        .expect("ferrule-testapi starts");
    let client = api.client().await.expect("client");
    ferrule_testapi::test_helpers::install_crds(
        &client,
        ferrule_api::crds::all(),
        Duration::from_secs(10),
    )
    .await;
    let addrs: Vec<String> = frrs.iter().map(|(addr, _)| addr.clone()).collect();
    let objects = Objects::new(client, NODE, SERVICES);
    objects.create_base(&addrs[..1]).await;
    // Default route poll interval (30 s): the steady state a node would see.
    let agent = Agent::start_with(link, NODE, api.kubeconfig_path(), METRICS, &[]);
    let pid = agent.pid();
    let poll = Poll::new(frrs.clone());
    poll.until(&[0], 0, Duration::from_secs(30), || agent.log())
        .await;
    tokio::time::sleep(SETTLE).await;
    let idle = process_usage(pid);

    let mut scale = Table::new(&["step", "time", "note"]);
    let mut memory = Table::new(&["agent state", "VmRSS", "VmHWM"]);
    memory.row(&["BGP up, 1 peer, no Services".into(), idle.rss(), idle.hwm()]);

    let took = objects.create_services().await;
    scale.row(&[
        format!("create {SERVICES} Services (no LB IP)"),
        format!("{took:.2?}"),
        "API writes, 64 at a time".into(),
    ]);
    tokio::time::sleep(SETTLE).await;
    let with_services = process_usage(pid);
    memory.row(&[
        format!("{SERVICES} Services without LB IPs"),
        with_services.rss(),
        with_services.hwm(),
    ]);

    for round in ["first", "again"] {
        let before = process_usage(pid);
        let waiting = poll.until_later(&[0], SERVICES, Duration::from_secs(120));
        let (first, last) = objects.set_ingress(true).await;
        let done = waiting
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", agent.log()));
        let after = process_usage(pid);
        scale.row(&[
            format!("advertise {SERVICES} ({round}): status writes"),
            format!("{:.2?}", last - first),
            "first to last LB IP written".into(),
        ]);
        scale.row(&[
            format!("advertise {SERVICES} ({round}): in FRR"),
            format!(
                "{:.2?} / {:.2?}",
                done - first,
                done.saturating_duration_since(last)
            ),
            format!(
                "from first / last write; agent CPU {:.2} s",
                after.cpu_secs() - before.cpu_secs()
            ),
        ]);
        if round == "first" {
            tokio::time::sleep(SETTLE).await;
            let routes = process_usage(pid);
            memory.row(&[
                format!("{SERVICES} routes to 1 peer"),
                routes.rss(),
                routes.hwm(),
            ]);
            let waiting = poll.until_later(&[0], 0, Duration::from_secs(120));
            let (first, last) = objects.set_ingress(false).await;
            let done = waiting
                .await
                .unwrap_or_else(|e| panic!("{e}\n{}", agent.log()));
            scale.row(&[
                format!("withdraw {SERVICES}: status writes"),
                format!("{:.2?}", last - first),
                "LB IPs cleared".into(),
            ]);
            scale.row(&[
                format!("withdraw {SERVICES}: gone from FRR"),
                format!(
                    "{:.2?} / {:.2?}",
                    done - first,
                    done.saturating_duration_since(last)
                ),
                "from first / last write".into(),
            ]);
        }
    }

    let all: Vec<usize> = (0..frrs.len()).collect();
    let mut cpu = Table::new(&[
        "process",
        "peers",
        "BFD",
        "CPU (% of a core)",
        "CPU ms/s",
        "VmRSS",
        "VmHWM",
    ]);
    let started = Instant::now();
    objects.set_peers(&addrs, false).await;
    let done = poll
        .until_later(&all, SERVICES, Duration::from_secs(180))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", agent.log()));
    scale.row(&[
        format!("{} more peers: all hold {SERVICES}", frrs.len() - 1),
        format!("{:.2?}", done - started),
        "from the CiliumBGPNodeConfig write".into(),
    ]);
    for bfd in [false, true] {
        if bfd {
            objects.set_peers(&addrs, true).await;
            poll.until_bfd_up(Duration::from_secs(120)).await;
            poll.until(&all, SERVICES, Duration::from_secs(180), || agent.log())
                .await;
        }
        tokio::time::sleep(SETTLE * 2).await;
        let before = process_usage(pid);
        let start = Instant::now();
        tokio::time::sleep(CPU_WINDOW).await;
        let after = process_usage(pid);
        poll.until(&all, SERVICES, Duration::from_secs(5), || agent.log())
            .await;
        let per_sec = (after.cpu_secs() - before.cpu_secs()) / start.elapsed().as_secs_f64();
        cpu.row(&[
            "agent".into(),
            frrs.len().to_string(),
            if bfd { "100 ms x 3" } else { "off" }.into(),
            format!("{:.2} %", per_sec * 100.0),
            format!("{:.1}", per_sec * 1000.0),
            after.rss(),
            after.hwm(),
        ]);
    }
    drop(agent);

    // The same routes and peers from a bare speaker, once the routers saw the agent go.
    tokio::time::sleep(SETTLE).await;
    let speaker = SpeakerOnly::start(link, SERVICES, &addrs);
    let started = Instant::now();
    poll.until(&all, SERVICES, Duration::from_secs(180), String::new)
        .await;
    scale.row(&[
        format!("speaker only: all {} peers hold {SERVICES}", frrs.len()),
        format!("{:.2?}", started.elapsed()),
        "from the process start".into(),
    ]);
    tokio::time::sleep(SETTLE * 2).await;
    let before = process_usage(speaker.pid());
    let start = Instant::now();
    tokio::time::sleep(CPU_WINDOW).await;
    let after = process_usage(speaker.pid());
    let per_sec = (after.cpu_secs() - before.cpu_secs()) / start.elapsed().as_secs_f64();
    memory.row(&[
        format!("speaker only: {SERVICES} routes to {} peers", frrs.len()),
        after.rss(),
        after.hwm(),
    ]);
    cpu.row(&[
        "speaker only".into(),
        frrs.len().to_string(),
        "off".into(),
        format!("{:.2} %", per_sec * 100.0),
        format!("{:.1}", per_sec * 1000.0),
        after.rss(),
        after.hwm(),
    ]);
    drop(speaker);
    format!(
        "### Advertising {SERVICES} LB IPs (IPv6 /128) to FRR\n\n{scale}\n\
         ### Memory (the agent; last row a bare speaker)\n\n{memory}\n\
         ### CPU in steady state ({} s, {SERVICES} routes to each peer, \
         keepalive 30 s / hold 90 s)\n\n{cpu}",
        CPU_WINDOW.as_secs()
    )
}
