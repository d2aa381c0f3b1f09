//! Running the system tools the lab drives (`ip`, `ping`, `sysctl`, `kill`).
//!
//! Plain commands instead of a netlink library: the lab needs a few dozen well-known
//! operations, `ip` is what a reader would type to reproduce or inspect them, and its error
//! messages are the ones people search for.

use crate::error::Error;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs `program args…` to completion and returns its stdout; a non-zero exit is an error
/// carrying stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, Error> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: display(program, args),
            source,
        })?;
    check(program, args, output)
}

/// `ip args…` in the caller's network namespace.
pub fn ip(args: &[&str]) -> Result<String, Error> {
    run("ip", args)
}

/// `ip -n namespace args…`: the same command inside a named network namespace.
pub fn ip_in(namespace: &str, args: &[&str]) -> Result<String, Error> {
    let mut full = vec!["-n", namespace];
    full.extend_from_slice(args);
    run("ip", &full)
}

/// Like [`run`], without blocking the async runtime (the in-process API server must keep
/// answering while a probe waits for it), and bounded by `timeout`.
pub async fn run_async(program: &str, args: &[&str], timeout: Duration) -> Result<String, Error> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(timeout, child)
        .await
        .map_err(|_| Error::CommandTimeout {
            command: display(program, args),
            seconds: timeout.as_secs(),
        })?
        .map_err(|source| Error::Spawn {
            command: display(program, args),
            source,
        })?;
    check(program, args, output)
}

fn check(program: &str, args: &[&str], output: Output) -> Result<String, Error> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: display(program, args),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

pub fn display(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}
