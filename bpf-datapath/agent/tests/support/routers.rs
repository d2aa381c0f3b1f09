//! A router for BGP tests: two network namespaces joined by a veth (the node's and the
//! router's), and FRR's bgpd and bfdd running standalone (no zebra) in the router's, with
//! their config, pid and socket files in a temp dir. Everything is removed on drop, also
//! when the test panics.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Whether the test can run: it fails under CI without root, and skips elsewhere.
pub fn require_root() -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    if uid.trim_ascii() == b"0" {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "this test needs root (network namespaces) and CI=true"
    );
    eprintln!("skipping: needs root");
    false
}

pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("running {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The node namespace and the router namespace, joined by `node_if` / `router_if`:
/// node 192.0.2.2/24 and 2001:db8::2/64, router 192.0.2.1/24 and 2001:db8::1/64.
#[derive(Debug)]
pub struct Link {
    pub node_ns: String,
    pub router_ns: String,
    pub node_if: String,
    pub router_if: String,
}

pub const NODE_V4: &str = "192.0.2.2";
pub const ROUTER_V4: &str = "192.0.2.1";

impl Link {
    pub fn new(tag: &str) -> Self {
        let id = std::process::id();
        let link = Self {
            node_ns: format!("fg{tag}n{id}"),
            router_ns: format!("fg{tag}r{id}"),
            node_if: format!("fg{tag}a{id}"),
            router_if: format!("fg{tag}b{id}"),
        };
        assert!(link.node_if.len() <= 15, "interface name too long");
        run(&["ip", "netns", "add", &link.node_ns]);
        // From here on, Drop removes whatever was created.
        run(&["ip", "netns", "add", &link.router_ns]);
        run(&[
            "ip",
            "-n",
            &link.node_ns,
            "link",
            "add",
            &link.node_if,
            "type",
            "veth",
            "peer",
            "name",
            &link.router_if,
            "netns",
            &link.router_ns,
        ]);
        for (ns, dev, v4, v6) in [
            (&link.node_ns, &link.node_if, NODE_V4, "2001:db8::2"),
            (&link.router_ns, &link.router_if, ROUTER_V4, "2001:db8::1"),
        ] {
            // IPv6 addresses would otherwise vanish when the link is cut.
            let keep = format!("net.ipv6.conf.{dev}.keep_addr_on_down=1");
            run(&["ip", "netns", "exec", ns, "sysctl", "-qw", &keep]);
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

    /// Takes the router's end down: nothing passes either way, and the node's side stays up
    /// (so only BFD or the hold timer can notice).
    pub fn cut(&self) {
        run(&[
            "ip",
            "-n",
            &self.router_ns,
            "link",
            "set",
            &self.router_if,
            "down",
        ]);
    }

    pub fn restore(&self) {
        let dev = &self.router_if;
        run(&["ip", "-n", &self.router_ns, "link", "set", dev, "up"]);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in [&self.node_ns, &self.router_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// FRR's bgpd and bfdd in a namespace.
#[derive(Debug)]
pub struct Frr {
    ns: String,
    dir: PathBuf,
    daemons: Vec<Child>,
}

impl Frr {
    /// Starts bgpd with `bgpd_conf` and bfdd with `bfdd_conf`, and waits for their vty
    /// sockets.
    pub fn start(ns: &str, bgpd_conf: &str, bfdd_conf: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ferrule-frr-{ns}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut frr = Self {
            ns: ns.to_owned(),
            dir,
            daemons: Vec::new(),
        };
        // bfdd drops privileges to the frr user and must still write its sockets here.
        run(&["chmod", "777", &frr.path("")]);
        std::fs::write(frr.dir.join("bgpd.conf"), bgpd_conf).expect("write bgpd.conf");
        std::fs::write(frr.dir.join("bfdd.conf"), bfdd_conf).expect("write bfdd.conf");
        let bgpd = frr
            .daemon("bgpd")
            // No zebra; no privilege drop; no TCP vty.
            .args(["-Z", "-S", "-P", "0"])
            .spawn()
            .expect("start bgpd");
        frr.daemons.push(bgpd);
        let bfdd = frr
            .daemon("bfdd")
            .args(["-u", "frr", "-g", "frr", "--bfdctl", &frr.path("bfdd.sock")])
            .spawn()
            .expect("start bfdd");
        frr.daemons.push(bfdd);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(frr.dir.join("bgpd.vty").exists() && frr.dir.join("bfdd.vty").exists()) {
            assert!(
                Instant::now() < deadline,
                "FRR did not open its vty sockets"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        frr
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    fn daemon(&self, name: &str) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.ns, &format!("/usr/lib/frr/{name}")])
            .args(["-f", &self.path(&format!("{name}.conf"))])
            .args(["-i", &self.path(&format!("{name}.pid"))])
            .args([
                "-z",
                &self.path("zserv.api"),
                "--vty_socket",
                &self.path(""),
            ])
            .args([
                "--log",
                &format!("file:{}", self.path(&format!("{name}.log"))),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// A `show ... json` command's answer (`Null` when it printed no JSON).
    pub fn json(&self, command: &str) -> Value {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", command])
            .output()
            .expect("run vtysh");
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// The paths bgpd has for `prefix` (IPv4 unicast); empty when it has none.
    pub fn paths(&self, prefix: &str) -> Vec<Value> {
        let answer = self.json(&format!("show bgp ipv4 unicast {prefix} json"));
        answer["paths"].as_array().cloned().unwrap_or_default()
    }

    /// bgpd's view of its neighbor `peer` (`bgpState`, last reset and notification...).
    pub fn neighbor(&self, peer: &str) -> Value {
        self.json(&format!("show bgp neighbors {peer} json"))[peer].clone()
    }

    /// bfdd's view of its session with `peer`.
    pub fn bfd_peer(&self, peer: &str) -> Value {
        let peers = self.json("show bfd peers json");
        let found = peers
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["peer"] == peer);
        found.cloned().unwrap_or(Value::Null)
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["bgpd.log", "bfdd.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
