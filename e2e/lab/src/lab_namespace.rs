//! Getting the lab process into the `fl-lab` network namespace.
//!
//! The API server must listen on the LAN bridge, which lives in `fl-lab`, and the lab wants
//! to run it in-process (one process to supervise, no second binary to find or build). Moving
//! a running process into a namespace needs `setns(2)`, i.e. `unsafe` or a syscall crate; so
//! instead the lab creates `fl-lab` and re-executes itself inside it with
//! `nsenter --net=…`, keeping its pid, terminal and arguments.
//!
//! `nsenter`, not `ip netns exec`: the latter also gives the process a private mount
//! namespace whose new mounts never propagate back, so the namespaces the lab creates from
//! inside would be invisible to the rest of the machine (and to cleanup).

use crate::addresses::LAB_NAMESPACE;
use crate::command;
use crate::error::Error;
use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

/// Where `ip netns` keeps its named namespaces (iproute2's `NETNS_RUN_DIR`).
const NETNS_RUN_DIR: &str = "/var/run/netns";

/// Owns a freshly created `fl-lab` until the process image is replaced; deletes it when
/// dropped, i.e. when re-executing failed.
#[derive(Debug)]
pub struct LabNamespace(());

impl LabNamespace {
    pub fn create() -> Result<Self, Error> {
        command::ip(&["netns", "add", LAB_NAMESPACE])?;
        Ok(Self(()))
    }

    /// Replaces this process with `exe args…` running inside the namespace. Returns only on
    /// failure; the namespace is deleted then.
    pub fn enter(self, exe: &Path, args: &[OsString]) -> Error {
        let error = Command::new("nsenter")
            .arg(format!("--net={NETNS_RUN_DIR}/{LAB_NAMESPACE}"))
            .arg("--")
            .arg(exe)
            .args(args)
            .exec();
        Error::EnterLabNamespace(error)
    }
}

impl Drop for LabNamespace {
    fn drop(&mut self) {
        if let Err(e) = command::ip(&["netns", "del", LAB_NAMESPACE]) {
            eprintln!("ferrule-lab: deleting {LAB_NAMESPACE}: {e}");
        }
    }
}

/// Fails unless this process runs in `fl-lab`: the internal mode would otherwise build the
/// topology around a namespace it is not in and listen on an address that does not exist.
pub fn require_inside() -> Result<(), Error> {
    let found = command::ip(&["netns", "identify"])?;
    let found = found.trim();
    if found == LAB_NAMESPACE {
        Ok(())
    } else {
        Err(Error::NotInLabNamespace {
            expected: LAB_NAMESPACE,
            found: found.to_owned(),
        })
    }
}
