//! BIRD 2 run in the foreground inside a namespace, queried with birdc.

use std::process::{Child, Stdio};

use super::TempDir;
use super::netns::Netns;

#[derive(Debug)]
pub struct Bird {
    ns: String,
    dir: TempDir,
    child: Child,
}

impl Bird {
    pub fn start(ns: &Netns, tag: &str, config: &str) -> Bird {
        let dir = TempDir::new(&format!("bird-{tag}"));
        let p = dir.path();
        std::fs::write(p.join("bird.conf"), config).expect("write bird.conf");
        let s = |f: &str| p.join(f).display().to_string();
        let child = ns
            .command("/usr/sbin/bird")
            .args([
                "-f",
                "-c",
                &s("bird.conf"),
                "-s",
                &s("bird.ctl"),
                "-P",
                &s("bird.pid"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bird");
        let bird = Bird {
            ns: ns.name.clone(),
            dir,
            child,
        };
        super::eventually(
            "bird control socket",
            std::time::Duration::from_secs(10),
            || bird.dir.path().join("bird.ctl").exists().then_some(()),
        );
        bird
    }

    pub fn birdc(&self, cmd: &str) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns, "birdc", "-s"])
            .arg(self.dir.path().join("bird.ctl"))
            .args(cmd.split_whitespace())
            .output()
            .expect("run birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
