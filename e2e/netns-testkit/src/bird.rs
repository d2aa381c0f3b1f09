use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::netns::Netns;
use crate::tempdir::TempDir;
use crate::wait::poll_every;

/// BIRD 2 in the foreground inside a namespace, its config, pid file and control socket in a
/// temp dir; killed on drop. Queried with `birdc`.
#[derive(Debug)]
pub struct Bird {
    child: Child,
    dir: TempDir,
}

impl Bird {
    /// Starts `bird` with `config` in `ns` and waits (up to 10 s) for its control socket.
    ///
    /// # Panics
    /// When bird cannot be started or never opens its control socket.
    pub fn start(ns: &Netns, config: &str) -> Self {
        let dir = TempDir::new("bird");
        std::fs::write(dir.path().join("bird.conf"), config)
            .unwrap_or_else(|e| panic!("writing bird.conf: {e}"));
        let child = ns
            .command("/usr/sbin/bird")
            .args([
                "-f",
                "-c",
                &dir.file("bird.conf"),
                "-s",
                &dir.file("bird.ctl"),
            ])
            .args(["-P", &dir.file("bird.pid")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting bird: {e}"));
        let bird = Self { child, dir };
        poll_every(
            Duration::from_millis(50),
            "bird's control socket",
            Duration::from_secs(10),
            || bird.dir.path().join("bird.ctl").exists().then_some(()),
        );
        bird
    }

    /// `birdc command...`'s output (the command split on white space).
    ///
    /// # Panics
    /// When birdc cannot be started.
    pub fn birdc(&self, command: &str) -> String {
        let out = Command::new("birdc")
            .args(["-s", &self.dir.file("bird.ctl")])
            .args(command.split_whitespace())
            .output()
            .unwrap_or_else(|e| panic!("running birdc: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
