//! SIGTERM ends a binary cleanly: the test re-executes this test binary as a child that runs the
//! real [`Harness`] (telemetry, signal handlers, HTTP server) waiting for shutdown, sends it
//! SIGTERM, and checks it exits 0 and closes its port.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use ferrule_runtime::{CommonArgs, Harness};

/// Set in the child's environment: only then does the child test do anything.
const CHILD_ROLE: &str = "FERRULE_SIGTERM_CHILD";
const CHILD_TEST: &str = "child_serves_until_sigterm";
const READY_PREFIX: &str = "FERRULE_CHILD_READY addr=";
const STOPPED_LINE: &str = "FERRULE_CHILD_STOPPED cleanly";

#[derive(Parser)]
struct ChildArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// The child: a binary's main loop, without a cluster. A no-op unless started by the parent.
#[tokio::test(flavor = "multi_thread")]
async fn child_serves_until_sigterm() {
    if std::env::var_os(CHILD_ROLE).is_none() {
        return;
    }
    let args = ChildArgs::try_parse_from([
        "ferrule-sigterm-child",
        "--metrics-addr=127.0.0.1:0",
        "--log-level=info",
        "--namespace=default",
        "--kube-api-qps=20",
        "--kube-api-burst=40",
        "--leader-election-lease-duration=15s",
        "--leader-election-renew-deadline=10s",
        "--leader-election-retry-period=2s",
    ])
    .expect("child flags should parse");
    let harness = Harness::start("ferrule-sigterm-child", &args.common)
        .await
        .expect("the harness should start without a cluster");
    harness.set_ready();
    // Signal handlers are installed by now, so the parent may send SIGTERM once it reads this.
    println!("{READY_PREFIX}{}", harness.http_addr());
    let outcome = harness
        .run(std::future::pending::<()>())
        .await
        .expect("the harness should stop without error");
    assert!(
        outcome.is_none(),
        "the work never finishes; only shutdown ends the run"
    );
    println!("{STOPPED_LINE}");
}

#[test]
fn sigterm_stops_the_process_cleanly() {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let mut command = Command::new(exe);
    command
        .args(["--exact", CHILD_TEST, "--nocapture"])
        .env(CHILD_ROLE, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // The child must not export traces or pick up a developer's settings.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .spawn()
        .expect("the child test process should start");
    let _reaper = KillOnDrop(child.id());

    let lines = read_lines(&mut child);
    let addr = wait_for_ready(&lines);
    wait_for_healthz(addr);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill should run");
    assert!(status.success(), "kill -TERM failed: {status}");

    let exit = wait_with_timeout(&mut child, Duration::from_secs(10))
        .expect("the child should exit within 10s of SIGTERM");
    assert!(
        exit.success(),
        "the child should exit with status 0, got {exit}"
    );

    let rest: Vec<String> = lines.try_iter().collect();
    assert!(
        rest.iter().any(|line| line == STOPPED_LINE),
        "the child should return from run() before exiting; it printed: {rest:?}"
    );
    assert!(
        support::get(addr, "/healthz").is_err(),
        "the HTTP port {addr} must be closed after exit"
    );
}

/// Streams the child's stdout lines; the channel closes when the child closes stdout.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

fn wait_for_ready(lines: &mpsc::Receiver<String>) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("the child should print its ready line within 30s");
        if let Some(addr) = line.strip_prefix(READY_PREFIX) {
            return addr
                .parse()
                .expect("the ready line carries a socket address");
        }
    }
}

fn wait_for_healthz(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match support::get(addr, "/healthz") {
            Ok(response) if response.status == 200 => return,
            other => assert!(
                Instant::now() < deadline,
                "the child's /healthz should answer 200 within 10s, last: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("waiting on the child should work") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Kills the child if the test fails before it exited, so no process outlives the test.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}
