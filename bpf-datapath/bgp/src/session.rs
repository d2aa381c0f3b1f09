//! The tokio task driving one peer's FSM: sockets, timers, collisions and route export.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::PeerConfig;
use crate::fsm::{Action, Event, Fsm, State, Timer, collision_keeps_peer_initiated};
use crate::prefix::{Family, Prefix};
use crate::rib::{self, AdjRibOut, ExportPolicy};
use crate::route::Route;
use crate::socket;
use crate::status::PeerStatus;
use crate::timers::{connect_retry_with_jitter, random_u64};
use crate::wire::notification::{cease, code};
use crate::wire::{self, Message, Notification, SessionCtx, Update};

/// A peer's route table as the owner set it.
pub(crate) type RouteTable = Arc<BTreeMap<Prefix, Route>>;

/// Commands from the [`crate::Speaker`] to a session task.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// The listener accepted a connection from this peer.
    Inbound(TcpStream),
    /// Tear the session down now (BFD) and reconnect later.
    Down(String),
    /// Send this NOTIFICATION, close and end the task.
    Stop(Notification, String),
}

/// How long a write may block before the connection is considered dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    outgoing: bool,
}

impl Conn {
    fn new(stream: TcpStream, outgoing: bool) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
            outgoing,
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(bytes))
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")))
    }
}

/// Reads the next message. Cancel-safe: bytes are only consumed once a whole message is there.
async fn next_event(conn: Option<&mut Conn>, ctx: SessionCtx) -> Event {
    let Some(conn) = conn else {
        return std::future::pending().await;
    };
    loop {
        match wire::frame_len(&conn.buf) {
            Err(e) => return Event::Malformed(e),
            Ok(Some(len)) if conn.buf.len() >= len => {
                let msg: Vec<u8> = conn.buf.drain(..len).collect();
                return match wire::decode(&msg, ctx) {
                    Ok(m) => Event::Message(m),
                    Err(e) => Event::Malformed(e),
                };
            }
            Ok(_) => {}
        }
        let mut chunk = [0u8; 16 * 1024];
        match conn.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Event::TcpFailed,
            Ok(n) => conn.buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn join_connect(h: &mut Option<JoinHandle<io::Result<TcpStream>>>) -> io::Result<TcpStream> {
    match h {
        Some(h) => h.await.unwrap_or_else(|e| Err(io::Error::other(e))),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Established-session export state.
#[derive(Debug)]
struct Export {
    policy: ExportPolicy,
    sent: AdjRibOut,
}

/// One peer's session task.
#[derive(Debug)]
pub(crate) struct Session {
    peer: PeerConfig,
    router_id: Ipv4Addr,
    local_asn: u32,
    fsm: Fsm,
    conn: Option<Conn>,
    pending: Option<Conn>,
    connecting: Option<JoinHandle<io::Result<TcpStream>>>,
    timers: BTreeMap<Timer, Instant>,
    routes: watch::Receiver<RouteTable>,
    export: Option<Export>,
    received: BTreeMap<Family, HashSet<Prefix>>,
    ctx: SessionCtx,
    status: Arc<Mutex<PeerStatus>>,
    changes: watch::Sender<()>,
    broken: bool,
}

impl Session {
    pub(crate) fn new(
        peer: PeerConfig,
        local_asn: u32,
        router_id: Ipv4Addr,
        fsm: Fsm,
        routes: watch::Receiver<RouteTable>,
        status: Arc<Mutex<PeerStatus>>,
        changes: watch::Sender<()>,
    ) -> Session {
        Session {
            peer,
            router_id,
            local_asn,
            fsm,
            conn: None,
            pending: None,
            connecting: None,
            timers: BTreeMap::new(),
            routes,
            export: None,
            received: BTreeMap::new(),
            ctx: SessionCtx::default(),
            status,
            changes,
            broken: false,
        }
    }

    fn ebgp_ttl(&self) -> Option<u8> {
        (self.peer.asn != Some(self.local_asn)).then_some(self.peer.ebgp_multihop_ttl.max(1))
    }

    /// Runs until stopped. `previous` is the task this one replaces (reconfiguration): it is
    /// awaited first so its Cease goes out before the new session connects.
    pub(crate) async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        previous: Option<JoinHandle<()>>,
    ) {
        if let Some(p) = previous {
            let _ = p.await;
        }
        self.handle(Event::Start).await;
        loop {
            let next_timer = self
                .timers
                .iter()
                .min_by_key(|(_, d)| **d)
                .map(|(t, d)| (*t, *d));
            let established = self.export.is_some();
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => {
                        let n = Notification::new(code::CEASE, cease::PEER_DECONFIGURED);
                        self.stop(n, "peer removed").await;
                        return;
                    }
                    Some(Cmd::Stop(n, reason)) => {
                        self.stop(n, &reason).await;
                        return;
                    }
                    Some(Cmd::Down(reason)) => {
                        let ev = Event::Stop { notification: None, restart: true, reason };
                        self.handle(ev).await;
                    }
                    Some(Cmd::Inbound(stream)) => self.inbound(stream).await,
                },
                res = join_connect(&mut self.connecting) => {
                    self.connecting = None;
                    match res {
                        Ok(stream) => {
                            self.conn = Some(Conn::new(stream, true));
                            self.handle(Event::TcpConnected).await;
                        }
                        Err(e) => {
                            debug!(peer = %self.peer.address, error = %e, "connect failed");
                            self.set_error(format!("connect: {e}"));
                            self.handle(Event::TcpFailed).await;
                        }
                    }
                }
                ev = next_event(self.conn.as_mut(), self.ctx) => self.handle(ev).await,
                ev = next_event(self.pending.as_mut(), self.ctx) => self.collision(ev).await,
                _ = sleep_until(next_timer.map(|(_, d)| d)) => {
                    if let Some((t, _)) = next_timer {
                        self.timers.remove(&t);
                        self.handle(Event::TimerExpired(t)).await;
                    }
                }
                changed = self.routes.changed(), if established => {
                    if changed.is_ok()
                        && let Some(ev) = self.send_routes().await
                    {
                        self.handle(ev).await;
                    }
                }
            }
        }
    }

    async fn stop(&mut self, n: Notification, reason: &str) {
        let ev = Event::Stop {
            notification: Some(n),
            restart: false,
            reason: reason.to_owned(),
        };
        self.handle(ev).await;
        if let Some(c) = &mut self.conn {
            let _ = c.stream.shutdown().await;
        }
    }

    /// Feeds an event and carries out the actions, including events they cause.
    async fn handle(&mut self, first: Event) {
        let before = self.fsm.state();
        let mut queue = VecDeque::from([first]);
        while let Some(ev) = queue.pop_front() {
            self.broken = false;
            for action in self.fsm.handle(ev) {
                if let Some(follow) = self.act(action).await {
                    queue.push_back(follow);
                }
            }
        }
        let after = self.fsm.state();
        if before != after {
            info!(peer = %self.peer.address, from = before.as_str(), to = after.as_str(), "BGP session state");
            if let Ok(mut s) = self.status.lock() {
                s.state = after;
            }
            self.changes.send_replace(());
        }
    }

    async fn act(&mut self, action: Action) -> Option<Event> {
        match action {
            Action::Connect => {
                if let Some(h) = self.connecting.take() {
                    h.abort();
                }
                let ttl = self.ebgp_ttl();
                self.connecting = Some(tokio::spawn(socket::connect(self.peer.clone(), ttl)));
            }
            Action::Disconnect => {
                if let Some(h) = self.connecting.take() {
                    h.abort();
                }
                self.conn = None;
                self.pending = None;
                self.export = None;
            }
            Action::Send(m) => {
                let bytes = wire::encode(&m, self.ctx);
                return self.write(&bytes).await;
            }
            Action::StartTimer(t, d) => {
                let d = match t {
                    Timer::ConnectRetry => connect_retry_with_jitter(d, random_u64()),
                    _ => d,
                };
                self.timers.insert(t, Instant::now() + d);
            }
            Action::StopTimer(t) => {
                self.timers.remove(&t);
            }
            Action::Established(n) => {
                self.ctx = SessionCtx {
                    four_octet_as: n.four_octet_as,
                };
                let local = self
                    .conn
                    .as_ref()
                    .and_then(|c| c.stream.local_addr().ok())
                    .map(|a| a.ip());
                let (next_hops, skipped) = rib::next_hops(&n.families, local, &self.peer);
                for (f, why) in &skipped {
                    warn!(peer = %self.peer.address, family = f.afi_name(), "{why}");
                }
                if let Ok(mut s) = self.status.lock() {
                    s.established_at = Some(SystemTime::now());
                    s.hold_time = Some(n.hold_time);
                    s.keepalive = Some(n.keepalive);
                    s.peer_asn = Some(n.peer_asn);
                    s.last_error = None;
                    for fs in &mut s.families {
                        fs.negotiated = n.families.contains(&fs.family);
                        fs.not_advertised = skipped
                            .iter()
                            .find(|(f, _)| *f == fs.family)
                            .map(|(_, w)| w.clone());
                    }
                }
                self.export = Some(Export {
                    policy: ExportPolicy {
                        local_asn: self.local_asn,
                        ibgp: n.peer_asn == self.local_asn,
                        next_hops,
                    },
                    sent: AdjRibOut::new(),
                });
                if let Some(ev) = self.send_routes().await {
                    return Some(ev);
                }
                let mut eor = Vec::new();
                for f in &n.families {
                    eor.extend(wire::encode(
                        &Message::Update(Update::end_of_rib(*f)),
                        self.ctx,
                    ));
                }
                return self.write(&eor).await;
            }
            Action::Received(u) => {
                for p in u.withdrawn_all() {
                    if let Some(set) = self.received.get_mut(&p.family()) {
                        set.remove(&p);
                    }
                }
                // RFC 4271 9.1.2: a path that already went through our AS is a loop.
                let looped = self.export.as_ref().is_some_and(|e| !e.policy.ibgp)
                    && u.attrs
                        .as_path
                        .iter()
                        .flatten()
                        .any(|seg| seg_asns(seg).contains(&self.local_asn));
                for p in u.announced() {
                    let set = self.received.entry(p.family()).or_default();
                    if looped {
                        set.remove(&p);
                    } else {
                        set.insert(p);
                    }
                }
                if let Some(e) = &u.treat_as_withdraw {
                    warn!(peer = %self.peer.address, error = %e, "UPDATE treated as withdraw (RFC 7606)");
                }
                self.publish_counts();
            }
            Action::Down(reason) => {
                info!(peer = %self.peer.address, %reason, "BGP session down");
                self.export = None;
                self.received.clear();
                self.ctx = SessionCtx::default();
                if let Ok(mut s) = self.status.lock() {
                    s.established_at = None;
                    s.hold_time = None;
                    s.keepalive = None;
                    s.last_error = Some(reason);
                    for fs in &mut s.families {
                        fs.negotiated = false;
                        fs.not_advertised = None;
                    }
                }
                self.publish_counts();
            }
        }
        None
    }

    async fn write(&mut self, bytes: &[u8]) -> Option<Event> {
        if self.broken {
            return None;
        }
        let conn = self.conn.as_mut()?;
        match conn.write(bytes).await {
            Ok(()) => None,
            Err(e) => {
                debug!(peer = %self.peer.address, error = %e, "write failed");
                self.broken = true;
                Some(Event::TcpFailed)
            }
        }
    }

    /// Sends what changed in the route table since the last send.
    async fn send_routes(&mut self) -> Option<Event> {
        let table = self.routes.borrow_and_update().clone();
        let export = self.export.as_mut()?;
        let desired = rib::export(&table, &export.policy);
        let updates = rib::updates(&export.sent, &desired, &export.policy.next_hops, self.ctx);
        export.sent = desired;
        let mut bytes = Vec::new();
        for u in updates {
            bytes.extend(wire::encode(&Message::Update(u), self.ctx));
        }
        self.publish_counts();
        if bytes.is_empty() {
            return None;
        }
        self.write(&bytes).await
    }

    fn publish_counts(&self) {
        let Ok(mut s) = self.status.lock() else {
            return;
        };
        for fs in &mut s.families {
            fs.received = self.received.get(&fs.family).map_or(0, |r| r.len() as u32);
            fs.advertised = self.export.as_ref().map_or(0, |e| {
                e.sent.keys().filter(|p| p.family() == fs.family).count() as u32
            });
        }
    }

    fn set_error(&self, e: String) {
        if let Ok(mut s) = self.status.lock() {
            s.last_error = Some(e);
        }
    }

    /// A connection the peer opened (RFC 4271 8.2.1.2 and 6.8).
    async fn inbound(&mut self, stream: TcpStream) {
        if let Some(ttl) = self.ebgp_ttl() {
            let _ = socket::set_stream_ttl(&stream, ttl);
        }
        let _ = stream.set_nodelay(true);
        match self.fsm.state() {
            State::Idle => debug!(peer = %self.peer.address, "refusing connection while idle"),
            State::Connect | State::Active => {
                if let Some(h) = self.connecting.take() {
                    h.abort();
                }
                self.conn = Some(Conn::new(stream, false));
                self.handle(Event::TcpConnected).await;
            }
            State::OpenSent | State::OpenConfirm if self.pending.is_none() => {
                self.pending = Some(Conn::new(stream, false));
            }
            _ => reject_collision(Conn::new(stream, false), self.ctx).await,
        }
    }

    /// The second connection of a collision sent something: keep one of the two.
    async fn collision(&mut self, ev: Event) {
        let Some(new) = self.pending.take() else {
            return;
        };
        let Event::Message(Message::Open(open)) = ev else {
            return;
        };
        let in_handshake = matches!(self.fsm.state(), State::OpenSent | State::OpenConfirm);
        let keep_new = in_handshake
            && match &self.conn {
                Some(c) if c.outgoing => {
                    collision_keeps_peer_initiated(self.router_id, open.bgp_id)
                }
                _ => true,
            };
        info!(peer = %self.peer.address, keep_new, "connection collision");
        if !keep_new {
            reject_collision(new, self.ctx).await;
            return;
        }
        if let Some(old) = self.conn.take() {
            reject_collision(old, self.ctx).await;
        }
        self.conn = Some(new);
        self.handle(Event::ConnectionReplaced).await;
        self.handle(Event::TcpConnected).await;
        self.handle(Event::Message(Message::Open(open))).await;
    }
}

async fn reject_collision(mut conn: Conn, ctx: SessionCtx) {
    let n = Notification::new(code::CEASE, cease::COLLISION);
    let _ = conn
        .write(&wire::encode(&Message::Notification(n), ctx))
        .await;
    let _ = conn.stream.shutdown().await;
}

fn seg_asns(seg: &wire::AsSegment) -> &[u32] {
    match seg {
        wire::AsSegment::Set(a)
        | wire::AsSegment::Sequence(a)
        | wire::AsSegment::ConfedSequence(a)
        | wire::AsSegment::ConfedSet(a) => a,
    }
}
