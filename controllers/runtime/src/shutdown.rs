//! The process-wide shutdown signal: SIGTERM (the kubelet stopping the pod) or SIGINT (Ctrl-C).

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::error::Error;

/// A cloneable shutdown signal. Every clone observes the same trigger; awaiting
/// [`Shutdown::wait`] completes once SIGTERM/SIGINT arrived or [`Shutdown::trigger`] was called.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A signal that only fires through [`Shutdown::trigger`] (tests, embedding).
    pub fn new() -> Self {
        Self::default()
    }

    /// A signal that fires on SIGTERM or SIGINT. The handlers are installed before this returns,
    /// so a signal arriving right afterwards is not lost (and no longer kills the process).
    /// Must be called inside a Tokio runtime.
    pub fn on_signals() -> Result<Self, Error> {
        let shutdown = Self::new();
        let mut terminate = signal(SignalKind::terminate()).map_err(Error::InstallSignalHandler)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::InstallSignalHandler)?;
        let trigger = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
                _ = interrupt.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
                // Triggered by other means: stop listening, the handlers stay installed.
                () = trigger.wait() => return,
            }
            trigger.trigger();
        });
        Ok(shutdown)
    }

    /// Fires the signal for every clone.
    pub fn trigger(&self) {
        self.token.cancel();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes once the signal has fired (at once if it already has).
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// The underlying token, for APIs that take a `CancellationToken` (e.g.
    /// `run_until_cancelled`) or to derive child tokens.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn trigger_reaches_every_clone() {
        let shutdown = Shutdown::new();
        let clone = shutdown.clone();
        assert!(!clone.is_triggered());
        let waiter = tokio::spawn(async move { clone.wait().await });
        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter should finish after trigger")
            .expect("waiter task should not panic");
        assert!(shutdown.is_triggered());
    }
}
