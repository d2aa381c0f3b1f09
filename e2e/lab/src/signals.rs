//! The signals that end a lab, and the one that restarts its exited components. Installed
//! before anything is created: once a handler exists the signal no longer kills the process
//! outright, so teardown always gets to run.

use crate::error::Error;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The signal `ferrule-lab restart` sends a running lab.
pub const RESTART_SIGNAL: &str = "USR1";

#[derive(Debug)]
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
    /// The terminal running the lab went away.
    hangup: Signal,
}

impl Shutdown {
    pub fn install() -> Result<Self, Error> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(Error::Signals)?,
            terminate: signal(SignalKind::terminate()).map_err(Error::Signals)?,
            hangup: signal(SignalKind::hangup()).map_err(Error::Signals)?,
        })
    }

    /// Waits for the next signal and names it.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

/// SIGUSR1: start again every component that exited (a test killed it, to see the others
/// take over, and wants it back for the next trial). Without a handler SIGUSR1 would end the
/// lab, so it is installed with [`Shutdown`].
#[derive(Debug)]
pub struct RestartRequests(Signal);

impl RestartRequests {
    pub fn install() -> Result<Self, Error> {
        signal(SignalKind::user_defined1())
            .map(Self)
            .map_err(Error::Signals)
    }

    pub async fn recv(&mut self) {
        self.0.recv().await;
    }
}
