//! Driving a running lab's components from outside: signal one by its pod name
//! (`ferrule-lab kill`), and have the lab start again the ones that exited
//! (`ferrule-lab restart`) — what failover tests and benchmarks repeat trial after trial.

use crate::error::Error;
use crate::processes;
use crate::signals::RESTART_SIGNAL;
use crate::state::StateDir;
use std::time::{Duration, Instant};

/// How often a restart request is repeated while waiting: a component killed just before the
/// first request may not have been reaped when the lab handled it.
const RESEND: Duration = Duration::from_secs(1);

/// Sends `signal` (`KILL`, `TERM`, …) to the component `pod` (`ferrule-l2announcer-node1`)
/// of the lab running from `state`; returns the pid signalled.
pub fn signal_component(state: &StateDir, pod: &str, signal: &str) -> Result<u32, Error> {
    let pid = state
        .component_pid(pod)
        .ok_or_else(|| Error::NoSuchComponent {
            pod: pod.to_owned(),
            state_dir: state.root().to_owned(),
            known: state.component_pods().join(" "),
        })?;
    if !processes::is_alive(pid) {
        return Err(Error::Unexpected {
            what: format!(
                "{pod} (pid {pid}) is not running; `ferrule-lab restart` starts it again"
            ),
        });
    }
    processes::signal(pid, signal);
    Ok(pid)
}

/// Asks the lab running from `state` to start every exited component again, and waits
/// (at most `within`) until every component's recorded pid is a live process.
pub fn restart_exited(state: &StateDir, within: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + within;
    loop {
        let lab = state.running_lab().ok_or_else(|| Error::NotRunning {
            state_dir: state.root().to_owned(),
        })?;
        processes::signal(lab, RESTART_SIGNAL);
        let resend = Instant::now() + RESEND;
        while Instant::now() < resend.min(deadline) {
            let dead = dead_components(state);
            if dead.is_empty() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                operation: format!(
                    "restarting {} in the lab of {}",
                    dead_components(state).join(" "),
                    state.root().display()
                ),
                seconds: within.as_secs(),
            });
        }
    }
}

fn dead_components(state: &StateDir) -> Vec<String> {
    state
        .component_pods()
        .into_iter()
        .filter(|pod| !state.component_pid(pod).is_some_and(processes::is_alive))
        .collect()
}
