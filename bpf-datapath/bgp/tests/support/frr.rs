//! FRR's bgpd run directly inside a namespace (no zebra), queried with vtysh.

use std::process::{Child, Stdio};

use serde_json::Value;

use super::TempDir;
use super::netns::Netns;

#[derive(Debug)]
pub struct Frr {
    ns: String,
    dir: TempDir,
    child: Child,
}

impl Frr {
    /// Starts bgpd with `config` and waits for its vty socket.
    pub fn start(ns: &Netns, tag: &str, config: &str) -> Frr {
        let dir = TempDir::new(&format!("frr-{tag}"));
        let p = dir.path();
        std::fs::write(p.join("bgpd.conf"), config).expect("write bgpd.conf");
        let s = |f: &str| p.join(f).display().to_string();
        let child = ns
            .command("/usr/lib/frr/bgpd")
            .args([
                "-f",
                &s("bgpd.conf"),
                "-i",
                &s("bgpd.pid"),
                "-z",
                &s("zserv.api"),
            ])
            .args([
                "--vty_socket",
                &s(""),
                "-S",
                "-Z",
                "-P",
                "0",
                "--log",
                &format!("file:{}", s("bgpd.log")),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bgpd");
        let frr = Frr {
            ns: ns.name.clone(),
            dir,
            child,
        };
        super::eventually("bgpd vty", std::time::Duration::from_secs(10), || {
            frr.dir.path().join("bgpd.vty").exists().then_some(())
        });
        frr
    }

    /// Runs a vtysh command and returns its output.
    pub fn vtysh(&self, cmd: &str) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "vtysh", "--vty_socket"])
            .arg(self.dir.path())
            .args(["-c", cmd])
            .output()
            .expect("run vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a `... json` show command.
    pub fn json(&self, cmd: &str) -> Value {
        serde_json::from_str(&self.vtysh(cmd)).unwrap_or(Value::Null)
    }

    /// The neighbor's `bgpState`.
    pub fn neighbor_state(&self, addr: &str) -> String {
        let v = self.json(&format!("show bgp neighbors {addr} json"));
        v[addr]["bgpState"].as_str().unwrap_or("").to_owned()
    }

    /// The paths FRR has for `prefix` in `afi` ("ipv4"/"ipv6"); empty when it has none.
    pub fn paths(&self, afi: &str, prefix: &str) -> Vec<Value> {
        let v = self.json(&format!("show bgp {afi} unicast {prefix} json"));
        v["paths"].as_array().cloned().unwrap_or_default()
    }

    /// The log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bgpd.log")).unwrap_or_default()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
