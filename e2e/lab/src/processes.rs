//! Signalling processes by pid, for what the lab cannot hold a `Child` of: leftovers of a
//! crashed run and a lab started from another terminal.

use crate::command;
use std::path::Path;
use std::time::{Duration, Instant};

/// The command name the kernel reports for a running lab (`/proc/PID/comm`).
pub const LAB_COMM: &str = "ferrule-lab";

/// Whether `pid` is alive. A zombie counts as gone: it runs nothing and only waits for its
/// parent to reap it.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => process_state(&stat).is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Whether `pid` is a running `ferrule-lab` (not a recycled pid of something else).
pub fn is_lab(pid: u32) -> bool {
    let comm = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("comm"));
    is_alive(pid) && comm.is_ok_and(|c| c.trim() == LAB_COMM)
}

/// Sends `signal` (`TERM`, `KILL`) to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, signal: &str) {
    // std has no safe kill(2) for processes we did not spawn; the `kill` tool is that call.
    let _ = command::run("kill", &[&format!("-{signal}"), &pid.to_string()]);
}

/// SIGTERM to every pid, then SIGKILL to whatever still runs after `grace`.
pub fn terminate(pids: &[u32], grace: Duration) {
    for &pid in pids {
        signal(pid, "TERM");
    }
    if !wait_gone(pids, grace) {
        for &pid in pids.iter().filter(|&&p| is_alive(p)) {
            signal(pid, "KILL");
        }
        wait_gone(pids, Duration::from_secs(2));
    }
}

/// Polls until none of `pids` is alive; false when `limit` passed first.
pub fn wait_gone(pids: &[u32], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !pids.iter().any(|&p| is_alive(p)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The state letter of `/proc/PID/stat`: the field after the parenthesised command name,
/// which may itself contain spaces and parentheses.
fn process_state(stat: &str) -> Option<char> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    after_comm.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_last_parenthesis() {
        assert_eq!(process_state("42 (ferrule-lab) S 1 42"), Some('S'));
        assert_eq!(process_state("42 (a) b) (c) Z 1 42"), Some('Z'));
        assert_eq!(process_state("garbage"), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(is_alive(std::process::id()));
    }
}
