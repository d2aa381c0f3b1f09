//! The signals that end a lab. Installed before anything is created: once a handler exists
//! the signal no longer kills the process outright, so teardown always gets to run.

use crate::error::Error;
use tokio::signal::unix::{Signal, SignalKind, signal};

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
