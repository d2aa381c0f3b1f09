//! The lab's state directory: the kubeconfig, component logs and the pid of the running lab.

use crate::error::Error;
use crate::processes;
use std::path::{Path, PathBuf};

/// tmpfs, root-owned, and emptied by a reboot: the same lifetime as the namespaces.
pub const DEFAULT_STATE_DIR: &str = "/run/ferrule-lab";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("kubeconfig")
    }

    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The router's FRR files: bgpd.conf, its pid file, vty socket and log.
    pub fn router(&self) -> PathBuf {
        self.root.join("router")
    }

    fn pid_file(&self) -> PathBuf {
        self.root.join("lab.pid")
    }

    fn component_pid_file(&self, pod: &str) -> PathBuf {
        self.root.join("pids").join(pod)
    }

    /// Records the pid of a component the lab (re)started, by its pod name.
    pub fn write_component_pid(&self, pod: &str, pid: u32) -> Result<(), Error> {
        let path = self.component_pid_file(pod);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_owned(),
                source,
            })?;
        }
        std::fs::write(&path, format!("{pid}\n")).map_err(|source| Error::Write { path, source })
    }

    /// The pid of the component process last started under `pod`
    /// (`ferrule-l2announcer-node1`), alive or not; None when the lab never started one.
    pub fn component_pid(&self, pod: &str) -> Option<u32> {
        std::fs::read_to_string(self.component_pid_file(pod))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The pod names of every component the lab started.
    pub fn component_pods(&self) -> Vec<String> {
        let mut pods: Vec<String> = std::fs::read_dir(self.root.join("pids"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        pods.sort();
        pods
    }

    pub fn create(&self) -> Result<(), Error> {
        let logs = self.logs();
        std::fs::create_dir_all(&logs).map_err(|source| Error::Write { path: logs, source })
    }

    /// Records the running lab, so `down` and a second `up` can find it.
    pub fn write_pid(&self, pid: u32) -> Result<(), Error> {
        let path = self.pid_file();
        std::fs::write(&path, format!("{pid}\n")).map_err(|source| Error::Write { path, source })
    }

    /// The pid of a lab that is still running from this state directory, if any (never this
    /// process: the lab re-executes itself and keeps its pid).
    pub fn running_lab(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.pid_file()).ok()?;
        let pid: u32 = text.trim().parse().ok()?;
        (pid != std::process::id() && processes::is_lab(pid)).then_some(pid)
    }

    /// Removes the directory and everything in it; true when there was something to remove.
    pub fn remove(&self) -> Result<bool, Error> {
        match std::fs::remove_dir_all(&self.root) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::Write {
                path: self.root.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_of_a_dead_or_foreign_process_is_not_a_running_lab() {
        let dir = std::env::temp_dir().join(format!("ferrule-lab-state-{}", std::process::id()));
        let state = StateDir::new(&dir);
        state.create().expect("the temp dir is writable");
        // Our own pid: a test binary, not a lab (and the lab never counts itself).
        state
            .write_pid(std::process::id())
            .expect("the pid file is writable");
        assert_eq!(state.running_lab(), None);
        state.write_pid(u32::MAX).expect("the pid file is writable");
        assert_eq!(state.running_lab(), None);
        assert!(state.remove().expect("removing the state dir"));
        assert!(!state.remove().expect("removing it again is fine"));
    }
}
