//! The owner's handle: peers, routes, status, BFD hook and shutdown.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::config::{GlobalConfig, PeerConfig};
use crate::error::Error;
use crate::fsm::{Fsm, FsmConfig};
use crate::md5;
use crate::prefix::Prefix;
use crate::route::Route;
use crate::session::{Cmd, RouteTable, Session};
use crate::socket;
use crate::status::PeerStatus;
use crate::wire::Notification;
use crate::wire::notification::{cease, code};
use crate::wire::open::OpenPolicy;

/// How long to wait before reconnecting after a session failure.
const IDLE_HOLD: Duration = Duration::from_secs(1);
/// How long [`Speaker::shutdown`] waits for the sessions to send their Cease.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct PeerHandle {
    config: PeerConfig,
    cmds: mpsc::UnboundedSender<Cmd>,
    status: Arc<Mutex<PeerStatus>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Inner {
    global: GlobalConfig,
    peers: Mutex<BTreeMap<IpAddr, PeerHandle>>,
    routes: Mutex<BTreeMap<IpAddr, watch::Sender<RouteTable>>>,
    listener: Option<(Arc<TcpListener>, bool)>,
    listener_task: Mutex<Option<JoinHandle<()>>>,
    changes: watch::Sender<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = lock(&self.listener_task).take() {
            t.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A BGP speaker. Cheap to clone; all clones drive the same sessions. Must be created and
/// used inside a tokio runtime (it spawns one task per peer and one for the listener).
#[derive(Clone, Debug)]
pub struct Speaker {
    inner: Arc<Inner>,
}

impl Speaker {
    /// Starts a speaker without peers; listens on `global.listen_port` when set.
    pub fn new(global: GlobalConfig) -> Result<Speaker, Error> {
        let listener = match global.listen_port {
            Some(port) => {
                let (l, v6) =
                    socket::listen(port).map_err(|source| Error::Listen { port, source })?;
                Some((Arc::new(l), v6))
            }
            None => None,
        };
        let inner = Arc::new(Inner {
            global,
            peers: Mutex::new(BTreeMap::new()),
            routes: Mutex::new(BTreeMap::new()),
            listener,
            listener_task: Mutex::new(None),
            changes: watch::Sender::new(()),
        });
        if let Some((l, _)) = &inner.listener {
            let task = tokio::spawn(accept_loop(l.clone(), Arc::downgrade(&inner)));
            *lock(&inner.listener_task) = Some(task);
        }
        Ok(Speaker { inner })
    }

    /// The global configuration.
    pub fn global(&self) -> &GlobalConfig {
        &self.inner.global
    }

    /// Makes the peer set exactly `peers` (by address): new peers start, missing ones get a
    /// Cease (peer de-configured), changed ones restart with a Cease (other configuration
    /// change); unchanged ones are left alone. Returns the problems of individual peers
    /// (those peers are still configured, without the failing part).
    pub fn apply_peers(&self, peers: Vec<PeerConfig>) -> Vec<Error> {
        let mut errors = Vec::new();
        let desired: BTreeMap<IpAddr, PeerConfig> = peers
            .into_iter()
            .map(|p| (p.address.to_canonical(), p))
            .collect();
        let mut current = lock(&self.inner.peers);
        let gone: Vec<IpAddr> = current
            .keys()
            .filter(|a| !desired.contains_key(a))
            .copied()
            .collect();
        for addr in gone {
            if let Some(h) = current.remove(&addr) {
                let _ = self.set_listener_key(addr, None);
                let n = Notification::new(code::CEASE, cease::PEER_DECONFIGURED);
                let _ = h.cmds.send(Cmd::Stop(n, "peer removed".to_owned()));
            }
        }
        for (addr, config) in desired {
            let previous = match current.remove(&addr) {
                Some(h) if h.config == config => {
                    current.insert(addr, h);
                    continue;
                }
                Some(h) => {
                    let n = Notification::new(code::CEASE, cease::OTHER_CONFIG_CHANGE);
                    let _ = h.cmds.send(Cmd::Stop(n, "peer reconfigured".to_owned()));
                    Some(h.task)
                }
                None => None,
            };
            if config.passive && self.inner.listener.is_none() {
                errors.push(Error::PassiveWithoutListener(addr));
            }
            if let Err(e) = self.set_listener_key(addr, config.md5_key()) {
                errors.push(e);
            }
            let handle = self.spawn_peer(addr, config, previous);
            current.insert(addr, handle);
        }
        self.inner.changes.send_replace(());
        errors
    }

    fn set_listener_key(&self, addr: IpAddr, key: Option<&[u8]>) -> Result<(), Error> {
        let Some((l, v6)) = &self.inner.listener else {
            return Ok(());
        };
        match key {
            Some(key) => md5::set_key(l.as_fd(), *v6, addr, key)
                .map_err(|source| Error::Md5 { peer: addr, source }),
            None => {
                // Removing a key that was never set fails harmlessly.
                let _ = md5::set_key(l.as_fd(), *v6, addr, b"");
                Ok(())
            }
        }
    }

    fn spawn_peer(
        &self,
        addr: IpAddr,
        config: PeerConfig,
        previous: Option<JoinHandle<()>>,
    ) -> PeerHandle {
        let g = &self.inner.global;
        let families = config.effective_families();
        let fsm = Fsm::new(FsmConfig {
            policy: OpenPolicy {
                local_asn: g.asn,
                peer_asn: config.asn,
                router_id: g.router_id,
                hold_time: config.hold_time,
                keepalive: config.keepalive,
                families: families.clone(),
            },
            passive: config.passive,
            connect_retry: config.connect_retry,
            idle_hold: IDLE_HOLD,
            graceful_restart: config.graceful_restart.map(|gr| gr.restart_time),
            // A new session task means a (re)started speaker for this peer.
            restarted: true,
        });
        let status = Arc::new(Mutex::new(PeerStatus::idle(
            config.name.clone(),
            addr,
            config.asn,
            g.asn,
            &families,
        )));
        let routes = lock(&self.inner.routes)
            .entry(addr)
            .or_insert_with(|| watch::Sender::new(Arc::new(BTreeMap::new())))
            .subscribe();
        let (tx, rx) = mpsc::unbounded_channel();
        let session = Session::new(
            config.clone(),
            g.asn,
            g.router_id,
            fsm,
            routes,
            status.clone(),
            self.inner.changes.clone(),
        );
        let task = tokio::spawn(session.run(rx, previous));
        PeerHandle {
            config,
            cmds: tx,
            status,
            task,
        }
    }

    /// Sets the routes advertised to the peer at `peer` (replacing the previous set; only the
    /// difference is sent). May be called before the peer is configured. Later entries win
    /// for duplicate prefixes.
    pub fn set_routes(&self, peer: IpAddr, routes: Vec<Route>) {
        let table: BTreeMap<Prefix, Route> = routes.into_iter().map(|r| (r.prefix, r)).collect();
        self.set_route_table(peer, Arc::new(table));
    }

    /// [`Self::set_routes`] with a table that may be shared: peers handed the same `Arc` hold
    /// one copy between them (an equal table already held is swapped for it silently).
    pub fn set_route_table(&self, peer: IpAddr, table: Arc<BTreeMap<Prefix, Route>>) {
        let mut all = lock(&self.inner.routes);
        let tx = all
            .entry(peer.to_canonical())
            .or_insert_with(|| watch::Sender::new(Arc::new(BTreeMap::new())));
        tx.send_if_modified(|current| {
            let changed = !Arc::ptr_eq(current, &table) && **current != *table;
            *current = table;
            changed
        });
    }

    /// The state of every configured peer, by address.
    pub fn status(&self) -> Vec<PeerStatus> {
        let now = SystemTime::now();
        lock(&self.inner.peers)
            .values()
            .map(|h| {
                let mut s = lock(&h.status).clone();
                s.uptime = s
                    .established_at
                    .map(|t| now.duration_since(t).unwrap_or_default());
                s
            })
            .collect()
    }

    /// A receiver that is marked changed whenever a session changes state or the peer set
    /// changes, so the owner can refresh its status without polling.
    pub fn changes(&self) -> watch::Receiver<()> {
        self.inner.changes.subscribe()
    }

    /// Tears the session with `peer` down at once (BFD reported Down) without a
    /// NOTIFICATION; it reconnects as usual. Returns whether the peer is configured.
    pub fn peer_down(&self, peer: IpAddr, reason: &str) -> bool {
        match lock(&self.inner.peers).get(&peer.to_canonical()) {
            Some(h) => h.cmds.send(Cmd::Down(reason.to_owned())).is_ok(),
            None => false,
        }
    }

    /// Sends the peers at `peers` a Cease (administrative shutdown) and removes them, waiting
    /// up to five seconds for the notifications to go out; other peers keep running. For an
    /// owner that exits and wants routers to keep the routes of graceful-restart peers: it
    /// stops the others cleanly, then exits without telling the graceful-restart ones.
    pub async fn stop_peers(&self, peers: &[IpAddr]) {
        let mut tasks = Vec::new();
        {
            let mut current = lock(&self.inner.peers);
            for addr in peers {
                let addr = addr.to_canonical();
                if let Some(h) = current.remove(&addr) {
                    let _ = self.set_listener_key(addr, None);
                    let n = Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN);
                    let _ = h.cmds.send(Cmd::Stop(n, "peer stopped".to_owned()));
                    tasks.push(h.task);
                }
            }
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, futures_join(tasks))
            .await
            .is_err()
        {
            warn!("BGP sessions did not close within the shutdown grace period");
        }
        self.inner.changes.send_replace(());
    }

    /// Sends every peer a Cease (administrative shutdown), closes the sessions and stops
    /// listening. Waits up to five seconds for the notifications to go out.
    pub async fn shutdown(&self) {
        if let Some(t) = lock(&self.inner.listener_task).take() {
            t.abort();
        }
        let peers: Vec<PeerHandle> = std::mem::take(&mut *lock(&self.inner.peers))
            .into_values()
            .collect();
        let mut tasks = Vec::new();
        for h in peers {
            let n = Notification::new(code::CEASE, cease::ADMIN_SHUTDOWN);
            let _ = h
                .cmds
                .send(Cmd::Stop(n, "speaker shutting down".to_owned()));
            tasks.push(h.task);
        }
        let all = futures_join(tasks);
        if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
            warn!("BGP sessions did not close within the shutdown grace period");
        }
        self.inner.changes.send_replace(());
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

async fn accept_loop(listener: Arc<TcpListener>, inner: std::sync::Weak<Inner>) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "accepting a BGP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(inner) = inner.upgrade() else { return };
        let addr = from.ip().to_canonical();
        match lock(&inner.peers).get(&addr) {
            Some(h) => {
                let _ = h.cmds.send(Cmd::Inbound(stream));
            }
            None => debug!(%addr, "refusing a BGP connection from an unconfigured address"),
        }
    }
}
