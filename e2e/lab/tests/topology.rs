//! The lab end to end, as root: bring-up, report, teardown, and cleanup of leftovers.
//!
//! These tests create network namespaces, so they need root. They fail (never skip) without
//! it: CI runs as root, and a skipped lab test would hide a broken main job.
//!
//! Only namespaces named `fl-…` are created (by the lab and by the stale-topology test), only
//! documentation addresses are used, and every test removes what it created, also when it
//! fails (see [`Cleanup`]).

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{LAB, require_root};
/// Generous for a 2-core machine that may be compiling something else at the same time.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Namespace names are global: labs must not overlap, so the tests of this file take turns.
static ONE_LAB_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A state directory of the test's own, and `ferrule-lab down` when the test ends (passed
/// or failed), so no namespace outlives a test.
struct Cleanup {
    state_dir: PathBuf,
    extra: Vec<Child>,
}

impl Cleanup {
    fn new(name: &str) -> Self {
        let state_dir = support::state_dir(name);
        Self {
            state_dir,
            extra: Vec::new(),
        }
    }

    fn state_dir(&self) -> &str {
        self.state_dir.to_str().expect("the target dir is UTF-8")
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new(LAB)
            .args(["down", "--state-dir", self.state_dir()])
            .stdout(Stdio::null())
            .status();
        for child in &mut self.extra {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What a finished lab run printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Run {
    fn assert_success(&self) {
        assert!(
            self.status.success(),
            "ferrule-lab exited with {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }

    fn assert_prints(&self, line: &str) {
        assert!(
            self.stdout.lines().any(|l| l.trim() == line),
            "expected the line {line:?} in the lab's output:\n{}",
            self.stdout
        );
    }
}

fn up_once(cleanup: &Cleanup) -> Run {
    up_once_with(cleanup, &[])
}

fn up_once_with(cleanup: &Cleanup, extra: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(LAB)
        .args(["up", "--once", "--state-dir", cleanup.state_dir()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferrule-lab starts");
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let status = wait_with_timeout(&mut child, RUN_TIMEOUT);
    let run = Run {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        took: started.elapsed(),
    };
    eprintln!("ferrule-lab up --once took {:.2}s", run.took.as_secs_f64());
    run
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for ferrule-lab") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ferrule-lab did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ip(args: &[&str]) -> String {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2) is installed");
    assert!(
        output.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The IP the report shows for `service` (`  default/web: 203.0.113.1 (True satisfied)`).
fn load_balancer_ip(stdout: &str, service: &str) -> Option<std::net::Ipv4Addr> {
    let prefix = format!("{service}: ");
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix))
        .and_then(|rest| rest.split([' ', ',']).next())
        .and_then(|ip| ip.parse().ok())
}

fn assert_nothing_left() {
    let namespaces: Vec<_> = ip(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("fl-"))
        .map(str::to_owned)
        .collect();
    assert!(
        namespaces.is_empty(),
        "namespaces left behind: {namespaces:?}"
    );
    let links: Vec<_> = ip(&["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .filter(|n| n.starts_with("fl-"))
        .map(str::to_owned)
        .collect();
    assert!(links.is_empty(), "links left behind: {links:?}");
}

#[test]
fn up_once_twice_in_a_row_reports_and_leaves_nothing() {
    require_root();
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    support::require_built(&["ferrule-lbipam"]);
    let cleanup = Cleanup::new("twice");
    for attempt in 1..=2 {
        let run = up_once(&cleanup);
        run.assert_success();
        let has = |prefix: &str| run.stdout.lines().any(|l| l.starts_with(prefix));
        // Every CRD ferrule ships (deploy/crds holds one file per CRD plus the kustomization).
        let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/crds"))
            .expect("deploy/crds")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy() != "kustomization.yaml")
            })
            .count();
        assert!(
            has(&format!("CRDs established: {shipped} ")),
            "run {attempt}: all {shipped} CRDs established:\n{}",
            run.stdout
        );
        assert!(
            has("example objects created: 7 "),
            "run {attempt}: pool, L2 policy, Service, its EndpointSlice and the three BGP objects applied:\n{}",
            run.stdout
        );
        assert!(
            has("nodes registered: 2 "),
            "run {attempt}: one Node per node namespace:\n{}",
            run.stdout
        );
        run.assert_prints("nodes reachable: 2/2");
        run.assert_prints("load balancers: 1/1 with an IP");
        let ip = load_balancer_ip(&run.stdout, "default/web").unwrap_or_else(|| {
            panic!(
                "run {attempt}: the example Service got an IP:\n{}",
                run.stdout
            )
        });
        assert_eq!(
            ip.octets()[..3],
            [203, 0, 113],
            "run {attempt}: {ip} is from the example pool 203.0.113.0/24"
        );
        run.assert_prints(&format!(
            "export KUBECONFIG={}/kubeconfig",
            cleanup.state_dir()
        ));
        assert!(
            has("torn down in "),
            "run {attempt}: teardown reported:\n{}",
            run.stdout
        );
        assert!(
            !has("cleanup: removed leftovers"),
            "run {attempt}: the previous run left something behind:\n{}",
            run.stdout
        );
        assert_nothing_left();
        assert!(
            !cleanup.state_dir.exists(),
            "run {attempt}: the state dir is removed on teardown"
        );
    }
}

#[test]
fn leftovers_of_a_crashed_run_are_removed_on_start() {
    require_root();
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cleanup = Cleanup::new("stale");
    // What a crashed lab leaves: a node namespace with a process in it, a link, a state dir.
    ip(&["netns", "add", "fl-node1"]);
    ip(&["link", "add", "fl-stale0", "type", "bridge"]);
    std::fs::create_dir_all(cleanup.state_dir.join("logs")).expect("creating a stale state dir");
    std::fs::write(cleanup.state_dir.join("lab.pid"), "999999999\n").expect("a stale pid file");
    let orphan = Command::new("ip")
        .args(["netns", "exec", "fl-node1", "sleep", "300"])
        .spawn()
        .expect("a process inside the stale namespace");
    let orphan_pid = orphan.id();
    cleanup.extra.push(orphan);

    let run = up_once(&cleanup);
    run.assert_success();
    let removed = run
        .stdout
        .lines()
        .find(|l| l.starts_with("cleanup: removed leftovers of an earlier run: "))
        .unwrap_or_else(|| panic!("the cleanup is reported:\n{}", run.stdout));
    for expected in [
        format!("processes {orphan_pid}"),
        "namespaces fl-node1".to_owned(),
        "links fl-stale0".to_owned(),
        format!("state dir {}", cleanup.state_dir()),
    ] {
        assert!(removed.contains(&expected), "{expected:?} in {removed:?}");
    }
    run.assert_prints("nodes reachable: 2/2");
    let orphan = cleanup.extra.first_mut().expect("the orphan is tracked");
    let exited = wait_with_timeout(orphan, Duration::from_secs(5));
    assert!(
        !exited.success(),
        "the orphan was killed, not left to finish"
    );
    assert_nothing_left();
}

#[test]
fn a_failed_bring_up_tears_down_what_it_built() {
    require_root();
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cleanup = Cleanup::new("failing");
    let missing = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no-such-crds-dir");
    let missing = missing.to_str().expect("the target dir is UTF-8");
    // Fails after the topology and the API server are up, when reading the CRDs.
    let run = up_once_with(&cleanup, &["--crds", missing]);
    assert!(
        !run.status.success(),
        "a missing CRD directory fails the bring-up:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with("api server: ")),
        "the failure came after the API server started:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains(missing),
        "the error names the directory:\n{}",
        run.stderr
    );
    assert_nothing_left();
}

#[test]
fn a_running_lab_stops_on_down_and_refuses_a_second_up() {
    require_root();
    let _turn = ONE_LAB_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let cleanup = Cleanup::new("running");
    let mut lab = Command::new(LAB)
        .args(["up", "--state-dir", cleanup.state_dir()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ferrule-lab starts");
    let stderr = drain(lab.stderr.take().expect("stderr is piped"));
    let (lines_tx, lines) = mpsc::channel();
    let stdout = BufReader::new(lab.stdout.take().expect("stdout is piped"));
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !seen.iter().any(|l: &String| l.starts_with("running;")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "the lab never reported running:\n{}\nstderr:\n{}",
                seen.join("\n"),
                stderr.join().unwrap_or_default()
            ),
        }
    }

    // A second lab (even with another state dir) must not wipe the running one.
    let second_state = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-second");
    let second = Command::new(LAB)
        .args(["up", "--once", "--state-dir"])
        .arg(&second_state)
        .output()
        .expect("a second ferrule-lab starts");
    assert!(!second.status.success(), "a second lab was refused");
    let refusal = String::from_utf8_lossy(&second.stderr);
    assert!(
        refusal.contains("a lab is already running"),
        "the refusal says why: {refusal}"
    );
    assert!(!second_state.exists(), "the refused lab created nothing");

    let down = Command::new(LAB)
        .args(["down", "--state-dir", cleanup.state_dir()])
        .output()
        .expect("ferrule-lab down runs");
    assert!(
        down.status.success(),
        "down succeeds: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    let status = wait_with_timeout(&mut lab, Duration::from_secs(30));
    reader.join().expect("stdout reader");
    seen.extend(lines.try_iter());
    assert!(
        status.success(),
        "the lab exits cleanly on SIGTERM:\n{}",
        seen.join("\n")
    );
    assert!(
        seen.iter().any(|l| l == "SIGTERM: tearing down"),
        "the lab saw the signal:\n{}",
        seen.join("\n")
    );
    assert_nothing_left();
}
