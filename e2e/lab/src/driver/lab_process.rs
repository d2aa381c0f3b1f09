//! A running `ferrule-lab up` as a child process: started, waited for, driven, torn down.

use crate::addresses::{AddressPlan, LAB_NAMESPACE};
use crate::control;
use crate::error::Error;
use crate::state::StateDir;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The line `up` prints once everything runs.
const RUNNING: &str = "running;";
/// How long `up` gets to stop after SIGTERM before `down` removes what is left.
const STOP_GRACE: Duration = Duration::from_secs(30);
const KUBECTL_TIMEOUT: &str = "--request-timeout=10s";

/// A lab started by [`LabProcess::start`]; dropping it tears the lab down.
#[derive(Debug)]
pub struct LabProcess {
    exe: PathBuf,
    state: StateDir,
    child: Option<Child>,
    stdout: Arc<Mutex<Vec<String>>>,
    pub plan: AddressPlan,
    kubectl: PathBuf,
}

impl LabProcess {
    /// Runs `exe up --nodes N --state-dir D extra…` and returns once it reports running (or
    /// fails with everything it printed).
    pub fn start(
        exe: &Path,
        nodes: usize,
        state_dir: &Path,
        extra: &[&str],
        within: Duration,
    ) -> Result<Self, Error> {
        let plan = AddressPlan::new(nodes)?;
        let mut child = Command::new(exe)
            .args(["up", "--nodes", &nodes.to_string(), "--state-dir"])
            .arg(state_dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                command: format!("{} up", exe.display()),
                source,
            })?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (running_tx, running) = mpsc::channel();
        let pipe = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let lines = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in pipe.lines().map_while(Result::ok) {
                if line.starts_with(RUNNING) {
                    let _ = running_tx.send(());
                }
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr =
            std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let mut lab = Self {
            exe: exe.to_owned(),
            state: StateDir::new(state_dir),
            child: Some(child),
            stdout,
            plan,
            kubectl: kubectl_binary(),
        };
        let deadline = Instant::now() + within;
        loop {
            if running.recv_timeout(Duration::from_millis(100)).is_ok() {
                return Ok(lab);
            }
            let exited = lab.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                lab.stop();
                return Err(Error::Unexpected {
                    what: format!(
                        "ferrule-lab up did not report running ({}):\n{}\nstderr:\n{}",
                        exited.map_or("timed out".to_owned(), |s| s.to_string()),
                        lab.output(),
                        stderr.join().unwrap_or_default()
                    ),
                });
            }
        }
    }

    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// Everything the lab printed on stdout so far.
    pub fn output(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }

    /// `kubectl args…` inside `fl-lab` with the lab's kubeconfig; stdout.
    pub fn kubectl(&self, args: &[&str]) -> Result<String, Error> {
        self.kubectl_with_input(args, None)
    }

    /// `kubectl apply --server-side -f -` of `manifests` (YAML or JSON documents).
    pub fn apply(&self, manifests: &str) -> Result<String, Error> {
        self.kubectl_with_input(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(manifests),
        )
    }

    fn kubectl_with_input(&self, args: &[&str], input: Option<&str>) -> Result<String, Error> {
        let kubeconfig = self.state.kubeconfig();
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", LAB_NAMESPACE])
            .arg(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg(KUBECTL_TIMEOUT)
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = format!("kubectl {}", args.join(" "));
        let mut child = command.spawn().map_err(|source| Error::Spawn {
            command: shown.clone(),
            source,
        })?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(text.as_bytes())
                .map_err(|source| Error::Spawn {
                    command: shown.clone(),
                    source,
                })?;
        }
        let output = child.wait_with_output().map_err(|source| Error::Spawn {
            command: shown.clone(),
            source,
        })?;
        if !output.status.success() {
            return Err(Error::Command {
                command: shown,
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `kubectl get args… -o json`, parsed.
    pub fn get_json(&self, args: &[&str]) -> Result<serde_json::Value, Error> {
        let mut full = vec!["get"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["-o", "json"]);
        let text = self.kubectl(&full)?;
        serde_json::from_str(&text).map_err(|e| Error::Unexpected {
            what: format!("kubectl {} printed no JSON: {e}", full.join(" ")),
        })
    }

    /// Signals a component by pod name; see [`control::signal_component`].
    pub fn signal(&self, pod: &str, signal: &str) -> Result<u32, Error> {
        control::signal_component(&self.state, pod, signal)
    }

    /// Starts again what exited; see [`control::restart_exited`].
    pub fn restart_exited(&self, within: Duration) -> Result<(), Error> {
        control::restart_exited(&self.state, within)
    }

    /// A component's log so far (`ferrule-l2announcer-node1`), for failure messages.
    pub fn log(&self, pod: &str) -> String {
        std::fs::read_to_string(self.state.logs().join(format!("{pod}.log")))
            .unwrap_or_else(|e| format!("(no log: {e})"))
    }

    /// SIGTERM to the lab, which tears everything down; `down` if it does not finish.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        crate::processes::signal(child.id(), "TERM");
        let deadline = Instant::now() + STOP_GRACE;
        while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new(&self.exe)
            .arg("down")
            .arg("--state-dir")
            .arg(self.state.root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The kubectl scripts/install-tools.sh installed (what scripts/env.sh puts first on PATH),
/// else whatever `kubectl` PATH finds.
fn kubectl_binary() -> PathBuf {
    let tools = std::env::var_os("FERRULE_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/ferrule-tools")));
    tools
        .map(|dir| dir.join("bin/kubectl"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("kubectl"))
}
