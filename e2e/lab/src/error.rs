//! Everything that can stop the lab, named for the operation that failed.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "ferrule-lab needs root (it creates network namespaces and links); this process runs \
         with effective uid {euid}: run it with sudo"
    )]
    NotRoot { euid: u32 },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting `{command}` (is it installed? scripts/install-tools.sh installs it)")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("`{command}` did not finish within {seconds}s")]
    CommandTimeout { command: String, seconds: u64 },
    #[error(
        "a lab is already running (pid {pid}): stop it with Ctrl-C in its terminal or \
         `ferrule-lab down`"
    )]
    AlreadyRunning { pid: u32 },
    #[error(
        "this internal mode must run inside the {expected} network namespace, not {found:?}; \
         start the lab with `ferrule-lab up`"
    )]
    NotInLabNamespace {
        expected: &'static str,
        found: String,
    },
    #[error("entering the lab namespace with nsenter")]
    EnterLabNamespace(#[source] std::io::Error),
    #[error("the lab supports 1 to {max} nodes, not {count}")]
    NodeCount { count: usize, max: usize },
    #[error("starting the API server")]
    ApiServer(#[source] Box<ferrule_testapi::StartError>),
    #[error("{operation}")]
    Kube {
        operation: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("{operation}")]
    Wait {
        operation: String,
        #[source]
        source: Box<kube::runtime::wait::Error>,
    },
    #[error("reading the kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{operation} did not finish within {seconds}s")]
    Timeout { operation: String, seconds: u64 },
    #[error("parsing {path}")]
    ParseManifest {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("{path}: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    #[error("reachability check failed: {}", failures.join("; "))]
    Unreachable { failures: Vec<String> },
    #[error("teardown left things behind: {}", failures.join("; "))]
    Teardown { failures: Vec<String> },
    #[error(
        "{label} exited right after it started ({status}); log {}, last lines:\n{tail}",
        log.display()
    )]
    ComponentExited {
        label: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("installing the signal handlers")]
    Signals(#[source] std::io::Error),
    #[error("listening on {addr}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no component {pod} in the lab of {state_dir} (known: {known}); pods are named like \
         ferrule-l2announcer-node1"
    )]
    NoSuchComponent {
        pod: String,
        state_dir: PathBuf,
        known: String,
    },
    #[error("no lab is running from {state_dir}")]
    NotRunning { state_dir: PathBuf },
    #[error("{what}")]
    Unexpected { what: String },
}

impl Error {
    pub(crate) fn kube(operation: impl Into<String>, source: kube::Error) -> Self {
        Self::Kube {
            operation: operation.into(),
            source: Box::new(source),
        }
    }
}
