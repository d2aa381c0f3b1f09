//! Our speaker as a separate process inside the speaker namespace, so a test can SIGSTOP or
//! kill it. The child is this test binary re-run with `--child` (see `child_main`), driven by
//! lines on stdin:
//! - `routes PEER PREFIX[,c=COMM+COMM][,l=LARGE+LARGE][,lp=N] ...` sets a peer's routes;
//! - `status` prints `peer ADDR STATE key=value...` per peer, then `end`;
//! - `shutdown` sends Cease to every peer and exits.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ferrule_netns_testkit::Netns;

#[derive(Debug)]
pub struct SpeakerProc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl SpeakerProc {
    /// Starts `--child ARGS...` in `ns`. ARGS: `asn=N id=A [listen=PORT]
    /// peer=ADDR,asn=N[,port=N][,hold=N][,retry=N][,passive][,md5=PW][,gr=SECS][,local=A][,fam=4|6|46][,nh6=A]...`
    pub fn start(ns: &Netns, args: &[&str]) -> SpeakerProc {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = ns
            .command(exe.to_str().expect("utf-8 path"))
            .arg("--child")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start speaker child");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        SpeakerProc {
            child,
            stdin,
            lines,
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to speaker");
        self.stdin.flush().expect("flush");
    }

    /// The status line of the peer at `addr`.
    pub fn status(&mut self, addr: &str) -> String {
        while self.lines.try_recv().is_ok() {}
        self.send("status");
        let mut found = String::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(5))
                .expect("status reply");
            if line == "end" {
                return found;
            }
            if line.starts_with(&format!("peer {addr} ")) {
                found = line;
            }
        }
    }

    pub fn signal(&self, sig: &str) {
        let _ = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .output();
    }

    /// SIGKILL and reap: the kernel closes the sessions without a NOTIFICATION.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SpeakerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `key=value` lookup in a status line.
pub fn field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}
