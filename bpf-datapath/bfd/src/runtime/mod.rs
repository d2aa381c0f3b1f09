//! The Tokio runtime around [`crate::Session`]: sockets, timers, and the peer table.

mod demux;
pub mod socket;
mod task;

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::packet::{Diagnostic, SessionState};
use crate::session::{Session, SessionConfig};
use socket::LocalEndpoint;

/// One BFD peer to run a session with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// Our address on the shared link; packets are sent from and received on it.
    pub local: IpAddr,
    /// The peer's address (same family as `local`).
    pub remote: IpAddr,
    /// Pins the session to one interface (SO_BINDTODEVICE); required for IPv6 link-local
    /// addresses.
    pub interface: Option<String>,
    /// bfd.DesiredMinTxInterval once Up (while not Up, packets go at most once a second).
    pub desired_min_tx: Duration,
    /// bfd.RequiredMinRxInterval.
    pub required_min_rx: Duration,
    /// bfd.DetectMult.
    pub detect_mult: u8,
}

impl PeerSpec {
    /// A peer with FRR's default timers: 300 ms both ways, multiplier 3.
    pub fn new(local: IpAddr, remote: IpAddr) -> Self {
        Self {
            local,
            remote,
            interface: None,
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
        }
    }

    /// Sets transmit and receive interval to `interval`, and the multiplier.
    pub fn timers(mut self, interval: Duration, detect_mult: u8) -> Self {
        self.desired_min_tx = interval;
        self.required_min_rx = interval;
        self.detect_mult = detect_mult;
        self
    }

    pub fn interface(mut self, name: impl Into<String>) -> Self {
        self.interface = Some(name.into());
        self
    }

    pub fn key(&self) -> PeerKey {
        PeerKey {
            local: self.local,
            remote: self.remote,
            interface: self.interface.clone(),
        }
    }

    fn config(&self) -> SessionConfig {
        SessionConfig {
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            detect_mult: self.detect_mult,
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let reason = if self.local.is_ipv4() != self.remote.is_ipv4() {
            "local and remote address families differ"
        } else if self.detect_mult == 0 {
            "detect multiplier must be at least 1"
        } else if self.desired_min_tx.is_zero() {
            "desired minimum transmit interval must be positive"
        } else {
            return Ok(());
        };
        Err(Error::InvalidPeer {
            peer: self.key(),
            reason,
        })
    }
}

/// What identifies a session: RFC 5881 single-hop sessions are per (interface, addresses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerKey {
    pub local: IpAddr,
    pub remote: IpAddr,
    pub interface: Option<String>,
}

impl std::fmt::Display for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{}", self.local, self.remote)?;
        match &self.interface {
            Some(name) => write!(f, "%{name}"),
            None => Ok(()),
        }
    }
}

/// A session's current state, as published on its watch channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer: PeerKey,
    pub state: SessionState,
    pub remote_state: SessionState,
    /// Why the session last changed state (bfd.LocalDiag).
    pub diagnostic: Diagnostic,
    pub local_discriminator: u32,
    pub remote_discriminator: u32,
    /// The negotiated interval between our packets, before jitter.
    pub tx_interval: Duration,
    /// How long without a packet before the session goes Down; `None` until the peer is heard.
    pub detection_time: Option<Duration>,
    /// How many times the session has left Up. A watcher that only sees the latest value can
    /// compare counts to notice a Down that was followed by Up before it looked.
    pub down_count: u64,
}

impl PeerStatus {
    fn of(peer: PeerKey, session: &Session, down_count: u64) -> Self {
        Self {
            peer,
            state: session.state(),
            remote_state: session.remote_state(),
            diagnostic: session.diagnostic(),
            local_discriminator: session.local_discriminator().get(),
            remote_discriminator: session.remote_discriminator(),
            tx_interval: session.tx_interval(),
            detection_time: session.detection_time(),
            down_count,
        }
    }
}

/// One state change of one session, as sent to [`Bfd::subscribe`]rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub peer: PeerKey,
    pub from: SessionState,
    pub to: SessionState,
    pub diagnostic: Diagnostic,
    /// When the state machine made the change.
    pub at: tokio::time::Instant,
}

enum Command {
    Reconfigure(SessionConfig),
}

struct PeerEntry {
    discriminator: NonZeroU32,
    endpoint: LocalEndpoint,
    inbox: mpsc::Sender<crate::packet::ControlPacket>,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<PeerStatus>,
    task: JoinHandle<()>,
}

struct ReceiverEntry {
    sessions: usize,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Table {
    peers: HashMap<PeerKey, PeerEntry>,
    by_discriminator: HashMap<NonZeroU32, PeerKey>,
    receivers: HashMap<LocalEndpoint, ReceiverEntry>,
}

/// Runs BFD sessions. Every method must be called from within a Tokio runtime; sockets are
/// created in the calling thread's network namespace. Dropping the handle stops all sessions
/// at once (without telling peers; use [`Bfd::remove_peer`] for a graceful AdminDown).
#[derive(Debug)]
pub struct Bfd {
    table: Arc<Mutex<Table>>,
    events: broadcast::Sender<StateChange>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("peers", &self.peers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Bfd {
    fn default() -> Self {
        Self::new()
    }
}

impl Bfd {
    pub fn new() -> Self {
        Self {
            table: Arc::default(),
            events: broadcast::channel(1024).0,
        }
    }

    /// Every state change of every session, with its diagnostic, in order. A receiver that
    /// lags loses the oldest events (see [`broadcast::error::RecvError::Lagged`]).
    pub fn subscribe(&self) -> broadcast::Receiver<StateChange> {
        self.events.subscribe()
    }

    /// Starts a session with `spec`, or, when one with the same [`PeerKey`] runs already,
    /// changes its timers (by a Poll Sequence) and returns its existing status channel.
    pub fn add_peer(&self, spec: PeerSpec) -> Result<watch::Receiver<PeerStatus>, Error> {
        spec.validate()?;
        let key = spec.key();
        let mut table = self.lock();
        if let Some(existing) = table.peers.get(&key) {
            // A full command queue means reconfigurations are already pending; the latest
            // spec is what matters, so dropping this one only loses an intermediate value.
            let _ = existing
                .commands
                .try_send(Command::Reconfigure(spec.config()));
            return Ok(existing.status.clone());
        }
        let endpoint = LocalEndpoint {
            address: spec.local,
            interface: spec.interface.clone(),
        };
        let destination =
            task::destination(&endpoint, spec.remote).map_err(|source| Error::Socket {
                peer: key.clone(),
                what: "resolve the interface",
                source,
            })?;
        let discriminator = unused_discriminator(&table);
        let source_port_hint = u16::try_from(random() % 16384).unwrap_or(0);
        let sender =
            socket::sender(&endpoint, source_port_hint).map_err(|source| Error::Socket {
                peer: key.clone(),
                what: "bind a source port",
                source,
            })?;
        if !table.receivers.contains_key(&endpoint) {
            let receiver = socket::receiver(&endpoint).map_err(|source| Error::Socket {
                peer: key.clone(),
                what: "bind the control port",
                source,
            })?;
            let task = tokio::spawn(demux::run(
                receiver,
                endpoint.clone(),
                Arc::downgrade(&self.table),
            ));
            table
                .receivers
                .insert(endpoint.clone(), ReceiverEntry { sessions: 0, task });
        }
        if let Some(receiver) = table.receivers.get_mut(&endpoint) {
            receiver.sessions += 1;
        }
        let session = Session::new(
            spec.config(),
            discriminator,
            random(),
            tokio::time::Instant::now().into_std(),
        );
        let (status_tx, status_rx) = watch::channel(PeerStatus::of(key.clone(), &session, 0));
        let (inbox_tx, inbox_rx) = mpsc::channel(64);
        let (commands_tx, commands_rx) = mpsc::channel(8);
        let task = tokio::spawn(task::run(task::SessionTask {
            key: key.clone(),
            session,
            sender,
            destination,
            inbox: inbox_rx,
            commands: commands_rx,
            status: status_tx,
            events: self.events.clone(),
        }));
        table.by_discriminator.insert(discriminator, key.clone());
        table.peers.insert(
            key,
            PeerEntry {
                discriminator,
                endpoint,
                inbox: inbox_tx,
                commands: commands_tx,
                status: status_rx.clone(),
                task,
            },
        );
        Ok(status_rx)
    }

    /// Stops the session with `key`: it goes AdminDown, tells the peer so with a few packets
    /// (RFC 5880 section 6.8.16, so the peer does not report a failure), then ends. Returns
    /// whether such a session existed.
    pub fn remove_peer(&self, key: &PeerKey) -> bool {
        let mut table = self.lock();
        let Some(entry) = table.peers.remove(key) else {
            return false;
        };
        table.by_discriminator.remove(&entry.discriminator);
        if let Entry::Occupied(mut receiver) = table.receivers.entry(entry.endpoint) {
            receiver.get_mut().sessions -= 1;
            if receiver.get().sessions == 0 {
                receiver.remove().task.abort();
            }
        }
        // Dropping the command sender is the session task's signal to say goodbye and stop.
        drop(entry.commands);
        true
    }

    /// The status of every session, sorted by peer.
    pub fn status(&self) -> Vec<PeerStatus> {
        let table = self.lock();
        let mut all: Vec<PeerStatus> = table
            .peers
            .values()
            .map(|entry| entry.status.borrow().clone())
            .collect();
        all.sort_by(|a, b| {
            (a.peer.local, a.peer.remote, &a.peer.interface).cmp(&(
                b.peer.local,
                b.peer.remote,
                &b.peer.interface,
            ))
        });
        all
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table holds no invariant a panicking holder could break half-way.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Bfd {
    fn drop(&mut self) {
        let table = self.lock();
        for entry in table.peers.values() {
            entry.task.abort();
        }
        for receiver in table.receivers.values() {
            receiver.task.abort();
        }
    }
}

fn random() -> u64 {
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// RFC 5880 section 6.8.1: unique, non-zero, and random so that a restarted speaker is not
/// mistaken for its predecessor.
fn unused_discriminator(table: &Table) -> NonZeroU32 {
    loop {
        let candidate = NonZeroU32::new(u32::try_from(random() >> 32).unwrap_or(0));
        if let Some(discriminator) = candidate
            && !table.by_discriminator.contains_key(&discriminator)
        {
            return discriminator;
        }
    }
}
