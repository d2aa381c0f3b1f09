//! L2 announcement failover benchmark (scripts/bench-l2-failover runs it, as root).
//!
//! In a three-node lab, a client requests the example web Service through its VIP in a tight
//! loop (`ferrule-lab http-probe` in fl-client: a new connection every ~20 ms, 300 ms timeout).
//! Each trial signals the announcer of the node holding the VIP — SIGKILL (kill -9) or SIGTERM
//! (graceful) — and measures from the signal to the first successful answer carried by
//! another node (the backend names the node by its SNAT address). Between trials the killed
//! announcer is restarted and the VIP returns to it. Prints a markdown table: p50 and max per
//! signal and Lease timings, with the targets of issue 6.
//!
//! Until the new node announces, the old node's datapath keeps carrying requests (only its
//! announcer died), so "first success via the new node" is the moment the client switched.

use anyhow::{Context as _, bail};
use clap::Parser;
use ferrule_lab::driver::announcements::Announcements;
use ferrule_lab::driver::{LabProcess, eventually};
use ferrule_lab::http_probe::{ProbeLine, unix_micros};
use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const SERVICE: &str = "default/web";
const NODES: usize = 3;
const SETTLE: Duration = Duration::from_secs(60);

#[derive(Parser, Debug)]
#[command(about = "Failover time of L2 announcements in the lab (run as root)")]
struct Args {
    /// Trials per signal and timing.
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Lease timings as duration/renew-deadline/retry-period, in seconds (repeatable).
    #[arg(long = "timings", default_values = ["15/5/2", "2/1/0.2"])]
    timings: Vec<String>,
    /// The lab's state directory.
    #[arg(long, default_value = "/run/ferrule-lab-bench")]
    state_dir: PathBuf,
}

/// Lease timings in seconds.
#[derive(Debug, Clone, Copy)]
struct Timings {
    duration: f64,
    renew_deadline: f64,
    retry_period: f64,
}

impl Timings {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let parts: Vec<f64> = text
            .split('/')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("timings {text:?}: seconds like 2/1/0.2"))?;
        let [duration, renew_deadline, retry_period] = parts[..] else {
            bail!("timings {text:?}: three values, duration/renew-deadline/retry-period");
        };
        Ok(Self {
            duration,
            renew_deadline,
            retry_period,
        })
    }

    fn flags(&self) -> Vec<String> {
        let ms = |s: f64| format!("{}ms", (s * 1000.0).round());
        vec![
            "--lease-duration".into(),
            ms(self.duration),
            "--lease-renew-deadline".into(),
            ms(self.renew_deadline),
            "--lease-retry-period".into(),
            ms(self.retry_period),
        ]
    }

    fn label(&self) -> String {
        let s = |v: f64| {
            if v >= 1.0 {
                format!("{v}s")
            } else {
                format!("{}ms", (v * 1000.0).round())
            }
        };
        format!(
            "{}/{}/{}",
            s(self.duration),
            s(self.renew_deadline),
            s(self.retry_period)
        )
    }

    /// Issue 6's targets.
    fn target(&self, signal: &str) -> f64 {
        if signal == "KILL" {
            self.duration - self.renew_deadline + 1.0
        } else {
            1.0
        }
    }
}

/// The client's request loop, as a child in fl-client.
struct Probe {
    child: Child,
    lines: Receiver<ProbeLine>,
}

impl Probe {
    fn start(lab_exe: &std::path::Path, target: SocketAddr) -> anyhow::Result<Self> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", "fl-client"])
            .arg(lab_exe)
            .args(["http-probe", "--target", &target.to_string()])
            .args(["--interval-ms", "20", "--timeout-ms", "300"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the HTTP probe in fl-client")?;
        let stdout = BufReader::new(child.stdout.take().context("piped stdout")?);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(parsed) = ProbeLine::parse(&line)
                    && tx.send(parsed).is_err()
                {
                    return;
                }
            }
        });
        Ok(Self { child, lines })
    }

    /// The first answer after `since` (µs) carried by a node for which `accept` holds.
    fn first_via(
        &self,
        since: u128,
        within: Duration,
        accept: impl Fn(IpAddr) -> bool,
    ) -> anyhow::Result<u128> {
        let deadline = Instant::now() + within;
        let mut last = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                bail!(
                    "no qualifying answer within {within:?}; the last: {}",
                    last.map_or("none".to_owned(), |l: ProbeLine| l.to_string())
                );
            };
            last = Some(line.clone());
            if line.unix_micros > since
                && let Ok((peer, _)) = line.outcome
                && accept(peer)
            {
                return Ok(line.unix_micros);
            }
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn holder(lab: &LabProcess) -> Result<String, String> {
    let found = Announcements::get(lab).map_err(|e| e.to_string())?;
    match found.holders_of(SERVICE).as_slice() {
        [node] => Ok((*node).to_owned()),
        other => Err(format!("{SERVICE} announced by {other:?}")),
    }
}

fn node_ip(lab: &LabProcess, node: &str) -> IpAddr {
    lab.plan
        .nodes
        .iter()
        .find(|n| n.name == node)
        .map(|n| IpAddr::V4(n.host.ipv4))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// One trial: signal the holder's announcer, time the switch, restart it, wait until it holds
/// the VIP again.
fn trial(lab: &LabProcess, probe: &Probe, signal: &str, t: Timings) -> anyhow::Result<f64> {
    let node = eventually("one node announcing the VIP", SETTLE, || holder(lab))?;
    let old = node_ip(lab, &node);
    probe.first_via(unix_micros(), SETTLE, |peer| peer == old)?;
    let signalled = unix_micros();
    lab.signal(&format!("ferrule-l2announcer-{node}"), signal)?;
    let limit = Duration::from_secs_f64(t.duration * 3.0 + 10.0);
    let switched = probe.first_via(signalled, limit, |peer| peer != old)?;
    lab.restart_exited(SETTLE)?;
    // The same live set assigns the VIP to the same node: it comes back.
    probe
        .first_via(unix_micros(), SETTLE, |peer| peer == old)
        .with_context(|| format!("back via {node} ({old}); announced by {:?}", holder(lab)))?;
    eventually("the VIP back on the restarted node", SETTLE, || {
        let now = holder(lab)?;
        if now == node {
            Ok(())
        } else {
            Err(format!("held by {now}"))
        }
    })?;
    Ok((switched - signalled) as f64 / 1e6)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let timings: Vec<Timings> = args
        .timings
        .iter()
        .map(|t| Timings::parse(t))
        .collect::<anyhow::Result<_>>()?;
    let lab_exe = std::env::current_exe()?.with_file_name("ferrule-lab");
    let mut rows = Vec::new();
    for t in timings {
        let extra = t.flags();
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let lab = LabProcess::start(&lab_exe, NODES, &args.state_dir, &extra, SETTLE)?;
        let vip: IpAddr = eventually("an IP for the web Service", SETTLE, || {
            ferrule_lab::driver::workload::load_balancer_ips(&lab)
                .map_err(|e| e.to_string())?
                .get(SERVICE)
                .and_then(|ips| ips.first().copied())
                .ok_or_else(|| "none yet".to_owned())
        })?;
        let probe = Probe::start(&lab_exe, SocketAddr::new(vip, 80))?;
        for signal in ["KILL", "TERM"] {
            let mut times = Vec::new();
            for i in 1..=args.trials {
                let took = trial(&lab, &probe, signal, t)
                    .with_context(|| format!("{} SIG{signal} trial {i}", t.label()))?;
                eprintln!("{} SIG{signal} trial {i}: {took:.3}s", t.label());
                times.push(took);
            }
            times.sort_by(f64::total_cmp);
            rows.push(format!(
                "| {} | {} | {:.2} s | {:.2} s | {} {:.1} s | {} |",
                if signal == "KILL" {
                    "kill -9"
                } else {
                    "SIGTERM"
                },
                t.label(),
                percentile(&times, 0.5),
                times.last().copied().unwrap_or_default(),
                if signal == "KILL" { "≤" } else { "<" },
                t.target(signal),
                times.len()
            ));
        }
    }
    println!("| announcer killed by | lease duration/renew/retry | p50 | max | target | trials |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}
