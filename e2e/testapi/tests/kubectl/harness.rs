//! Running the real kubectl against a ferrule-testapi started in-process: locating the pinned
//! kubectl, a scratch directory per server, commands with a deadline, background commands
//! (watches) and normalising what changes from run to run (ages, times, uids, versions).

#![allow(dead_code, reason = "each scenario uses a different subset")]

use ferrule_testapi::{Options, TestApi};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long one kubectl command may take before the test fails (each normally takes well
/// under a second; this only turns a hang into a failure).
const COMMAND_DEADLINE: Duration = Duration::from_secs(30);

/// The kubectl that `scripts/install-tools.sh` installs (1.35), never whatever is on PATH.
pub fn kubectl_path() -> &'static Path {
    static PATH: LazyLock<PathBuf> = LazyLock::new(locate_kubectl);
    &PATH
}

fn locate_kubectl() -> PathBuf {
    let tools = std::env::var_os("FERRULE_TOOLS_DIR").map_or_else(
        || {
            let home =
                std::env::var_os("HOME").expect("HOME is set to find ~/.cache/ferrule-tools");
            PathBuf::from(home).join(".cache/ferrule-tools")
        },
        PathBuf::from,
    );
    let kubectl = tools.join("bin/kubectl");
    if !kubectl.is_file() {
        // Never skipped: the kubectl fidelity suite is the point of this test binary.
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        panic!(
            "kubectl not found at {}: {}run scripts/install-tools.sh (or set FERRULE_TOOLS_DIR)",
            kubectl.display(),
            if ci { "CI must " } else { "" }
        );
    }
    let version = Command::new(&kubectl)
        .args(["version", "--client", "-o", "json"])
        .output()
        .expect("kubectl runs");
    let version: serde_json::Value =
        serde_json::from_slice(&version.stdout).expect("kubectl version prints JSON");
    assert_eq!(
        version["clientVersion"]["minor"],
        "35",
        "{} must be kubectl 1.35 (run scripts/install-tools.sh)",
        kubectl.display()
    );
    kubectl
}

/// Where the upstream CRDs are (`FERRULE_REFERENCE_DIR`, else the shared checkout).
pub fn reference_dir() -> PathBuf {
    std::env::var_os("FERRULE_REFERENCE_DIR").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/reference"
            ))
        },
        PathBuf::from,
    )
}

/// What a finished kubectl printed.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "kubectl failed: {self:?}");
        &self.stdout
    }

    /// Asserts exit code 1 and returns stderr.
    #[track_caller]
    pub fn failed(&self) -> &str {
        assert_eq!(
            self.code, 1,
            "kubectl should fail with exit code 1: {self:?}"
        );
        &self.stderr
    }
}

/// A server and a scratch directory (manifests, kubectl's discovery cache, HOME).
pub struct Cluster {
    api: Option<TestApi>,
    runtime: tokio::runtime::Runtime,
    dir: PathBuf,
}

impl Cluster {
    /// HTTPS on a random port, as a real cluster.
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Self {
        kubectl_path();
        // The server runs on its own runtime so the test thread can block on kubectl.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let api = runtime
            .block_on(TestApi::start_with(options))
            .expect("ferrule-testapi starts");
        let dir = scratch_dir();
        Self {
            api: Some(api),
            runtime,
            dir,
        }
    }

    pub fn api(&self) -> &TestApi {
        self.api
            .as_ref()
            .expect("the server runs until the cluster is dropped")
    }

    /// A file in the scratch directory.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).expect("the scratch directory is writable");
        path
    }

    /// `kubectl --kubeconfig <server> ARGS`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(kubectl_path());
        command
            .arg("--kubeconfig")
            .arg(self.api().kubeconfig_path())
            .args(args)
            .env_remove("KUBECONFIG")
            // Servers reuse ports: a discovery cache shared between them would map kinds to
            // resources an earlier server had.
            .env("KUBECACHEDIR", self.dir.join("cache"))
            .env("HOME", &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs kubectl to completion.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_env(args, &[])
    }

    /// Runs kubectl with extra environment variables.
    pub fn kubectl_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("kubectl starts");
        let (stdout, stdout_done) = drain(child.stdout.take());
        let (stderr, stderr_done) = drain(child.stderr.take());
        let deadline = Instant::now() + COMMAND_DEADLINE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for kubectl") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("kubectl {args:?} did not finish within {COMMAND_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // The pipes may still hold output after the process is gone.
        for done in [stdout_done, stderr_done] {
            let _ = done.join();
        }
        Output {
            code: status.code().unwrap_or(-1),
            stdout: text(&stdout),
            stderr: text(&stderr),
        }
    }

    /// Starts kubectl in the background (a watch); it is killed when dropped.
    pub fn spawn(&self, args: &[&str]) -> Background {
        let mut child = self.command(args).spawn().expect("kubectl starts");
        let (stdout, _) = drain(child.stdout.take());
        let (stderr, _) = drain(child.stderr.take());
        Background {
            child,
            stdout,
            stderr,
        }
    }

    /// Applies manifests server-side and returns stdout.
    #[track_caller]
    pub fn apply(&self, path: &Path) -> String {
        let path = path.to_str().expect("UTF-8 path");
        self.kubectl(&["apply", "--server-side", "-f", path])
            .ok()
            .to_owned()
    }

    /// Installs upstream Cilium CRDs by file name and waits until they are Established.
    pub fn install_cilium_crds(&self, files: &[&str]) {
        let dir = reference_dir().join("cilium-crds");
        let mut names = Vec::new();
        for file in files {
            let out = self.apply(&dir.join(file));
            names.push(
                out.trim()
                    .strip_prefix("customresourcedefinition.apiextensions.k8s.io/")
                    .and_then(|rest| rest.strip_suffix(" serverside-applied"))
                    .expect("one CRD applied")
                    .to_owned(),
            );
        }
        let targets: Vec<String> = names.iter().map(|n| format!("crd/{n}")).collect();
        let mut args = vec!["wait", "--for=condition=Established", "--timeout=10s"];
        args.extend(targets.iter().map(String::as_str));
        self.kubectl(&args).ok();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The server's task lives on the runtime: stop it before the runtime goes.
        drop(self.api.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A kubectl running in the background.
pub struct Background {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Background {
    pub fn stdout(&self) -> String {
        text(&self.stdout)
    }

    pub fn stderr(&self) -> String {
        text(&self.stderr)
    }

    /// Waits until kubectl (run with `-v=6`) logs that its watch request was answered: from
    /// then on every change reaches it.
    #[track_caller]
    pub fn wait_for_watch(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self
            .stderr()
            .lines()
            .any(|l| l.contains("watch=true") && l.contains("200 OK"))
        {
            assert!(
                Instant::now() < deadline,
                "kubectl did not start watching; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until stdout satisfies `done`, failing after `within`.
    #[track_caller]
    pub fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let out = self.stdout();
            if done(&out) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen within {within:?}; stdout so far:\n{out}\nstderr:\n{}",
                text(&self.stderr)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a pipe to its end on a thread, so a chatty child never blocks on a full pipe; the
/// handle finishes at the end of the output.
fn drain(
    pipe: Option<impl std::io::Read + Send + 'static>,
) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = buffer.clone();
    let done = std::thread::spawn(move || {
        if let Some(mut pipe) = pipe {
            let mut chunk = [0_u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]);
            }
        }
    });
    (buffer, done)
}

fn text(buffer: &Mutex<Vec<u8>>) -> String {
    let bytes = buffer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    String::from_utf8(bytes).expect("kubectl prints UTF-8")
}

fn scratch_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferrule-kubectl-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Replaces what differs between runs: RFC 3339 times by `<time>`, uids by `<uid>`,
/// resourceVersions by `<rv>`, and an age ending a table row (`5s`, `2m30s`) by `<age>`.
pub fn normalize(text: &str) -> String {
    static TIME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").expect("regex"));
    static UID: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").expect("regex")
    });
    static RV: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"resourceVersion: "\d+""#).expect("regex"));
    static AGE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)(\s)\d+[smhdy](\d+[smh])?$").expect("regex"));
    let text = TIME.replace_all(text, "<time>");
    let text = UID.replace_all(&text, "<uid>");
    let text = RV.replace_all(&text, r#"resourceVersion: "<rv>""#);
    AGE.replace_all(&text, "$1<age>").into_owned()
}

/// Lines given as an indented block (`indoc` without the crate): the first newline, the
/// indentation of the closing quote and the common leading whitespace are dropped.
pub fn lines(block: &str) -> String {
    let block = block
        .strip_prefix('\n')
        .unwrap_or(block)
        .trim_end_matches(' ');
    let indent = block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in block.lines() {
        out.push_str(line.get(indent..).unwrap_or(""));
        out.push('\n');
    }
    if !block.ends_with('\n') {
        out.pop();
    }
    out
}
