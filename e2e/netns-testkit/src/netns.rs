use std::process::Command;

use crate::command::run;

/// A network namespace with its loopback up, deleted on drop (with every link inside it),
/// also when the test panics.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `PREFIX<pid>-<n>`. The name is not an interface name, so its length is free.
    ///
    /// # Panics
    /// When `ip netns add` fails (for instance without root).
    pub fn new(prefix: &str) -> Self {
        let name = format!("{prefix}{}", crate::unique_suffix());
        // A namespace left by an earlier process with the same pid.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run("ip", &["netns", "add", &name]);
        let ns = Self { name };
        ns.up("lo");
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME args...`, returning its stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `program args...` run to completion inside the namespace, returning its stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", self.name.as_str(), program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// `program` inside the namespace, to add arguments to and spawn (`ip netns exec` execs
    /// it in place, so the child's pid is the program's).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// `sysctl -qw setting` inside the namespace (`key=value`).
    pub fn sysctl(&self, setting: &str) {
        self.exec("sysctl", &["-qw", setting]);
    }

    /// Adds `cidr` to `dev`; an IPv6 address is usable at once (`nodad`).
    pub fn addr(&self, dev: &str, cidr: &str) {
        let mut args = vec!["addr", "add", cidr, "dev", dev];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(&args);
    }

    pub fn up(&self, dev: &str) {
        self.ip(&["link", "set", dev, "up"]);
    }

    pub fn down(&self, dev: &str) {
        self.ip(&["link", "set", dev, "down"]);
    }

    /// Moves the calling thread into the namespace: sockets it opens afterwards live there.
    /// Use a thread of the test's own, never one the test harness or a runtime reuses.
    ///
    /// # Panics
    /// When the namespace is gone or `setns` fails.
    pub fn enter(&self) {
        let path = format!("/var/run/netns/{}", self.name);
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("opening {path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns into {}: {e}", self.name));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
