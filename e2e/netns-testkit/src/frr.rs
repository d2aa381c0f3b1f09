use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::netns::Netns;
use crate::tempdir::TempDir;
use crate::wait::poll_every;

/// An FRR daemon [`Frr`] can run standalone, without zebra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Bgpd,
    Bfdd,
}

impl Daemon {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bgpd => "bgpd",
            Self::Bfdd => "bfdd",
        }
    }
}

/// FRR daemons in a namespace, each with its config, pid file, vty socket and log in one
/// temp dir; killed on drop (the dir goes with them). Queried with `vtysh` over the vty
/// sockets of that dir.
#[derive(Debug)]
pub struct Frr {
    daemons: Vec<(Daemon, Child)>,
    dir: TempDir,
}

impl Frr {
    /// Starts each daemon with its config in `ns` and waits (up to 10 s) for their vty
    /// sockets. bgpd runs as root with no TCP vty; bfdd drops to the `frr` user, which is why
    /// the dir is world-writable.
    ///
    /// # Panics
    /// When a daemon cannot be started or never opens its vty socket (the logs are shown).
    pub fn start(ns: &Netns, daemons: &[(Daemon, &str)]) -> Self {
        let dir = TempDir::new("frr");
        crate::run("chmod", &["777", &dir.file("")]);
        let mut frr = Self {
            daemons: Vec::new(),
            dir,
        };
        for &(daemon, config) in daemons {
            let name = daemon.name();
            std::fs::write(frr.dir.path().join(format!("{name}.conf")), config)
                .unwrap_or_else(|e| panic!("writing {name}.conf: {e}"));
            let child = frr
                .command(ns, daemon)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {name}: {e}"));
            frr.daemons.push((daemon, child));
        }
        poll_every(
            Duration::from_millis(50),
            "FRR's vty sockets",
            Duration::from_secs(10),
            || {
                let all = daemons.iter().all(|(daemon, _)| {
                    let vty = format!("{}.vty", daemon.name());
                    frr.dir.path().join(vty).exists()
                });
                all.then_some(())
            },
        );
        frr
    }

    /// bgpd alone.
    pub fn bgpd(ns: &Netns, config: &str) -> Self {
        Self::start(ns, &[(Daemon::Bgpd, config)])
    }

    /// bfdd alone.
    pub fn bfdd(ns: &Netns, config: &str) -> Self {
        Self::start(ns, &[(Daemon::Bfdd, config)])
    }

    fn command(&self, ns: &Netns, daemon: Daemon) -> Command {
        let name = daemon.name();
        let file = |suffix: &str| self.dir.file(&format!("{name}.{suffix}"));
        let mut command = ns.command(&format!("/usr/lib/frr/{name}"));
        command
            .args(["-f", &file("conf"), "-i", &file("pid")])
            .args(["-z", &self.dir.file("zserv.api")])
            .args(["--vty_socket", &self.dir.file("")])
            .args(["--log", &format!("file:{}", file("log"))]);
        match daemon {
            // No zebra, no privilege drop, no TCP vty.
            Daemon::Bgpd => command.args(["-Z", "-S", "-P", "0"]),
            Daemon::Bfdd => command.args(["-u", "frr", "-g", "frr", "--bfdctl", &file("sock")]),
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// The dir holding the daemons' files.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// `vtysh -c command`'s output.
    ///
    /// # Panics
    /// When vtysh cannot be started.
    pub fn vtysh(&self, command: &str) -> String {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(self.dir.path())
            .args(["-c", command])
            .output()
            .unwrap_or_else(|e| panic!("running vtysh: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A `show ... json` command's answer; `Null` when it printed no JSON.
    pub fn json(&self, command: &str) -> Value {
        serde_json::from_str(&self.vtysh(command)).unwrap_or(Value::Null)
    }

    /// bgpd's view of neighbor `peer` (`bgpState`, last reset, notifications...); `Null`
    /// when it has no such neighbor.
    pub fn neighbor(&self, peer: &str) -> Value {
        self.json(&format!("show bgp neighbors {peer} json"))[peer].clone()
    }

    /// The paths bgpd has for `prefix` in `afi` (`ipv4`, `ipv6`) unicast; empty when none.
    pub fn paths(&self, afi: &str, prefix: &str) -> Vec<Value> {
        let answer = self.json(&format!("show bgp {afi} unicast {prefix} json"));
        answer["paths"].as_array().cloned().unwrap_or_default()
    }

    /// bfdd's view of its session with `peer`; `Null` when it has none.
    pub fn bfd_peer(&self, peer: &str) -> Value {
        let peers = self.json("show bfd peers json");
        let found = peers
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["peer"] == peer);
        found.cloned().unwrap_or(Value::Null)
    }

    /// One daemon's log ("" before it wrote one).
    pub fn log(&self, daemon: Daemon) -> String {
        let file = format!("{}.log", daemon.name());
        std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    /// Every daemon's log, for failure messages.
    pub fn logs(&self) -> String {
        let logs: Vec<String> = self.daemons.iter().map(|(d, _)| self.log(*d)).collect();
        logs.join("\n")
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for (_, child) in &mut self.daemons {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
