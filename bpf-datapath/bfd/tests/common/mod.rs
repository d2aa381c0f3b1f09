//! Fixtures for root tests: a pair of network namespaces joined by a veth link, and FRR's
//! bfdd running in one of them. Everything is torn down by Drop, also on panic.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Whether the test can run: root tests fail under CI without root, and skip elsewhere.
pub fn require_root() -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid == "0" {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this test needs root (network namespaces) and CI=true"
    );
    eprintln!("skipping: needs root");
    false
}

fn run(args: &[&str]) {
    let status = Command::new(args[0])
        .args(&args[1..])
        .status()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(status.success(), "{args:?} failed: {status}");
}

/// Our side and the router's side of one link. Addresses: ours .1 / ::1, theirs .2 / ::2.
#[derive(Debug)]
pub struct Link {
    pub ours: String,
    pub theirs: String,
    pub our_if: String,
    pub their_if: String,
}

pub const OUR_V4: &str = "192.0.2.1";
pub const THEIR_V4: &str = "192.0.2.2";
pub const OUR_V6: &str = "2001:db8::1";
pub const THEIR_V6: &str = "2001:db8::2";

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("a valid address constant")
}

impl Link {
    pub fn new(prefix: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let id = format!(
            "{}{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let link = Self {
            ours: format!("{prefix}o{id}"),
            theirs: format!("{prefix}t{id}"),
            our_if: format!("{prefix}a{id}"),
            their_if: format!("{prefix}b{id}"),
        };
        assert!(link.our_if.len() <= 15, "interface name too long");
        run(&["ip", "netns", "add", &link.ours]);
        // From here on, Drop removes whatever was created.
        run(&["ip", "netns", "add", &link.theirs]);
        run(&[
            "ip",
            "-n",
            &link.ours,
            "link",
            "add",
            &link.our_if,
            "type",
            "veth",
            "peer",
            "name",
            &link.their_if,
            "netns",
            &link.theirs,
        ]);
        for (ns, dev, v4, v6) in [
            (&link.ours, &link.our_if, OUR_V4, OUR_V6),
            (&link.theirs, &link.their_if, THEIR_V4, THEIR_V6),
        ] {
            // IPv6 addresses would vanish when the link is cut and come back only after DAD.
            run(&[
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.keep_addr_on_down=1",
            ]);
            let sysctl = format!("net.ipv6.conf.{dev}.keep_addr_on_down=1");
            run(&["ip", "netns", "exec", ns, "sysctl", "-qw", &sysctl]);
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                dev,
            ]);
            run(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        link
    }

    /// Takes the router's end of the link down: nothing passes either way.
    pub fn cut(&self) {
        run(&[
            "ip",
            "-n",
            &self.theirs,
            "link",
            "set",
            &self.their_if,
            "down",
        ]);
    }

    pub fn restore(&self) {
        run(&[
            "ip",
            "-n",
            &self.theirs,
            "link",
            "set",
            &self.their_if,
            "up",
        ]);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in [&self.ours, &self.theirs] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Moves the calling thread into network namespace `name`; sockets it creates afterwards
/// live there.
pub fn enter_netns(name: &str) {
    let file = std::fs::File::open(format!("/var/run/netns/{name}")).expect("netns exists");
    nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// Runs `body` on a fresh thread (so namespace switches never leak into the test harness's
/// threads) inside a current-thread Tokio runtime.
pub fn on_own_thread<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                // `body` itself may create sockets, which need the runtime.
                let _context = runtime.enter();
                let future = body();
                runtime.block_on(future);
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// Runs `body` on a fresh thread that first moves into network namespace `netns`.
pub fn enter_netns_then<F, Fut>(netns: &str, body: F)
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = ()>,
{
    on_own_thread(|| {
        enter_netns(netns);
        body()
    });
}

/// FRR's bfdd, standalone (no zebra), in namespace `netns`, with its files in a temp dir.
#[derive(Debug)]
pub struct Bfdd {
    child: Child,
    dir: PathBuf,
}

impl Bfdd {
    /// `peers` are (peer address, local address) pairs, all with `interval_ms` x `mult`.
    pub fn start(netns: &str, peers: &[(&str, &str)], interval_ms: u32, mult: u8) -> Self {
        let dir = std::env::temp_dir().join(format!("ferrule-bfdd-{netns}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        // bfdd drops privileges to the frr user and must still write its sockets there.
        run(&["chmod", "777", dir.to_str().expect("utf-8 path")]);
        let mut config = String::from("bfd\n");
        for (peer, local) in peers {
            config.push_str(&format!(
                " peer {peer} local-address {local}\n  receive-interval {interval_ms}\n  \
                 transmit-interval {interval_ms}\n  detect-multiplier {mult}\n !\n"
            ));
        }
        config.push_str("!\n");
        std::fs::write(dir.join("bfdd.conf"), config).expect("write bfdd.conf");
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                netns,
                "/usr/lib/frr/bfdd",
                "-u",
                "frr",
                "-g",
                "frr",
            ])
            .args(["-f", &path("bfdd.conf"), "-i", &path("bfdd.pid")])
            .args(["--vty_socket", &path(""), "-z", &path("zserv.api")])
            .args([
                "--bfdctl",
                &path("bfdd.sock"),
                "--log",
                &format!("file:{}", path("bfdd.log")),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bfdd");
        let bfdd = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !bfdd.dir.join("bfdd.vty").exists() {
            assert!(
                Instant::now() < deadline,
                "bfdd did not open its vty socket"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bfdd
    }

    /// `show bfd peers json`, as FRR reports it.
    pub fn peers(&self) -> serde_json::Value {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "show bfd peers json"])
            .output()
            .expect("run vtysh");
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// FRR's view of the session with `peer`.
    pub fn peer(&self, peer: &str) -> Option<serde_json::Value> {
        self.peers()
            .as_array()?
            .iter()
            .find(|p| p["peer"] == peer)
            .cloned()
    }

    /// Polls FRR's view of `peer` until `check` holds, or panics with the last view.
    pub async fn wait_for_peer(
        &self,
        peer: &str,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let view = self.peer(peer).unwrap_or_default();
            if check(&view) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "FRR never showed {what}; last: {view:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Bfdd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
