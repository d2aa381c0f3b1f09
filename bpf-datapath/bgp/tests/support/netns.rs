//! Network namespaces joined by a veth pair, torn down on drop.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace named with the test's pid, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!("fb{}{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME args...`
    pub fn ip(&self, args: &[&str]) -> Output {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend_from_slice(args);
        run(&all)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The router namespace and ours, linked by `v0` on both sides:
/// router 192.0.2.1/24 and 2001:db8::1/64; speaker 192.0.2.2 and 192.0.2.3/24, 2001:db8::2/64.
#[derive(Debug)]
pub struct Lab {
    pub router: Netns,
    pub speaker: Netns,
}

impl Lab {
    pub fn new(tag: &str) -> Lab {
        let router = Netns::new(&format!("{tag}r"));
        let speaker = Netns::new(&format!("{tag}s"));
        router.ip(&[
            "link",
            "add",
            "v0",
            "type",
            "veth",
            "peer",
            "name",
            "v0",
            "netns",
            &speaker.name,
        ]);
        for (ns, v4, v6) in [
            (&router, vec!["192.0.2.1/24"], "2001:db8::1/64"),
            (
                &speaker,
                vec!["192.0.2.2/24", "192.0.2.3/24"],
                "2001:db8::2/64",
            ),
        ] {
            for a in v4 {
                ns.ip(&["addr", "add", a, "dev", "v0"]);
            }
            ns.ip(&["addr", "add", v6, "dev", "v0", "nodad"]);
            ns.ip(&["link", "set", "v0", "up"]);
        }
        Lab { router, speaker }
    }
}
