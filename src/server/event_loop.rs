//! The event loop: our `srv.run` (go-ethereum `p2p/server.go`). One task owns the [`Node`] and
//! every peer's send queue; nothing else touches them, so there are no locks.
//!
//! Inputs, in priority order (a biased select): shutdown signals; events from the peer tasks
//! (checkpoints, messages, closes) over one shared bounded channel; discovery datagrams from the
//! UDP reader task; accepted sockets; the timer. Peer events and datagrams each have a budget
//! per turn ([`PEER_EVENTS_BUDGET`], [`DATAGRAMS_BUDGET`]): a source that used its budget goes
//! last for one turn, so a flood from one source cannot starve the others. After every input the node's actions are drained into I/O: dial tasks are
//! spawned, messages are `try_send`-ed into a peer's bounded queue. The loop never awaits a peer:
//! a full queue means that peer is too slow, and its queue is closed, which ends its session.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender, TrySendError};
use async_executor::LocalExecutor;
use async_io::Timer;
use async_net::{TcpListener, TcpStream};
use futures_lite::future;

use async_net::UdpSocket;

use crate::crypto::{NodeId, SecretKey};
use crate::dial::inbound::{InboundPermit, InboundThrottle};
use crate::discv4::discovery::{Discovery, StoreOp};
use crate::discv5::discovery::Discovery as Discv5;
use crate::log;
use crate::node::{Action, Node};
use crate::p2p::{Fault, Hello};
use crate::server::clock::unix_now;
use crate::server::connection::{self, Admission, ConnId, Outgoing, PeerEvent, Role, TaskContext};
use crate::server::control::{Control, PeerNotice};
use crate::server::protocol::{CapLink, PeerMeta, Protocol};
use crate::server::udp::{self, Datagram};
use crate::time::{Mono, UnixMs};

mod control;
mod discovery;
mod status;

/// Capacity of the shared channel from peer tasks to the loop. Tasks wait when it is full, which
/// slows readers down instead of growing memory.
pub const PEER_EVENTS_QUEUE_MAX: usize = 1024;
/// How many peer events the loop handles before it lets the other inputs in.
pub const PEER_EVENTS_BUDGET: usize = 64;
/// Capacity of each peer's send queue; full means the peer is too slow and is dropped.
pub const PEER_QUEUE_MAX: usize = 256;
/// How many datagrams the loop handles before it lets the other inputs in.
pub const DATAGRAMS_BUDGET: usize = 64;
pub use discovery::{LOOKUP_INTERVAL_BUSY, LOOKUP_INTERVAL_IDLE};
/// How long the loop leaves the listener alone after a failed accept: 200 ms (go-ethereum's
/// listen loop pauses as long on a temporary error). Out of file descriptors, accept fails at
/// once for as long as the shortage lasts; the pause keeps that from spinning the loop, which
/// meanwhile serves its peers, datagrams and timers as usual.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(200);
/// At most one warn line per this long about failed accepts; the rest go to debug.
const ACCEPT_WARN_INTERVAL: Duration = Duration::from_secs(60);
/// Longest the loop sleeps without a timer of its own, to run housekeeping.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Stores a node that answered over discovery v5: its record and when (unix ms).
pub type V5Store = Box<dyn FnMut(&crate::enr::Record, UnixMs)>;

/// What the loop needs to start.
pub struct ServerConfig {
    /// Our node key.
    pub key: SecretKey,
    /// The Hello we send.
    pub hello: Hello,
    /// The TCP listener, already bound (the caller logs its address).
    pub listener: Option<TcpListener>,
    /// Handshakes in progress at most (`--maxpendpeers`) and the per-IP throttle.
    pub inbound: InboundThrottle,
    /// Discovery v4 and its UDP socket, unless `--nodiscover`.
    pub discovery: Option<(Discovery, UdpSocket)>,
    /// Discovery v5 on the same socket (the loop hands it what v4 cannot read).
    pub discv5: Option<udp::V5Setup>,
    /// Where discovery's node records go (the storage thread), if any.
    pub store: Option<Box<dyn FnMut(StoreOp)>>,
    /// Where discovery v5's answering nodes go (the same node database), if anywhere.
    pub store_v5: Option<V5Store>,
    /// The loop halves of the capabilities the services bring.
    pub protocols: Vec<Box<dyn Protocol>>,
    /// Requests from outside the loop (the node handle), if anyone can send them.
    pub control: Option<Receiver<Control>>,
}

/// One input to the loop, the closed set of things that can happen.
enum Input {
    Shutdown,
    Peer(PeerEvent),
    Datagram(Datagram),
    Accept(std::io::Result<(TcpStream, SocketAddr)>),
    Tick,
    /// A request from outside the loop.
    Control(Control),
    /// An event from a protocol's own task (not budgeted: they are few).
    Internal(PeerEvent),
}

/// State that only the loop touches.
struct Server {
    node: Node,
    ctx: Rc<TaskContext>,
    /// Each admitted peer's send queue (loop-owned).
    queues: BTreeMap<ConnId, Sender<Outgoing>>,
    /// The inbound handshake slot each accepted connection holds until checkpoint 2 or close.
    permits: BTreeMap<ConnId, InboundPermit>,
    inbound: InboundThrottle,
    next_conn: ConnId,
    start: Instant,
    /// Discovery v4 and v5, their shared outgoing datagram queue, and when the next lookup of
    /// each may start (unix ms).
    disc: Option<Discovery>,
    v5: Option<Discv5>,
    udp_out: Option<Sender<Datagram>>,
    next_lookup: UnixMs,
    next_lookup_v5: UnixMs,
    store: Option<Box<dyn FnMut(StoreOp)>>,
    store_v5: Option<V5Store>,
    /// The capabilities' loop halves; a session's events name theirs by index.
    protocols: Vec<Box<dyn Protocol>>,
    /// Nodes whose record's fork id our chain rejects: not dial candidates (bounded).
    incompatible: BTreeSet<NodeId>,
    /// The periodic status lines' counters and schedule.
    status: status::StatusState,
    /// Who hears of peers added and dropped (bounded; a full one is dropped).
    subscribers: Vec<Sender<PeerNotice>>,
}

/// Runs the node until `shutdown` resolves; then every peer gets Disconnect (client quitting).
pub async fn run(
    ex: &LocalExecutor<'_>,
    node: Node,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let (events_tx, events_rx) = async_channel::bounded(PEER_EVENTS_QUEUE_MAX);
    let (internal_tx, internal_rx) = async_channel::bounded(PEER_EVENTS_QUEUE_MAX);
    let mut protocols = config.protocols;
    for (i, p) in protocols.iter_mut().enumerate() {
        p.start(ex, CapLink::new(i, None, internal_tx.clone()));
    }
    let ctx = Rc::new(TaskContext {
        key: config.key,
        hello: config.hello,
        events: events_tx,
    });
    // One socket for both: v4's when it runs, else v5's own.
    let (disc, v4_socket) = config
        .discovery
        .map_or((None, None), |(d, s)| (Some(d), Some(s)));
    let (v5, v5_socket) = config
        .discv5
        .map_or((None, None), |v| (Some(v.discovery), v.socket));
    let udp = v4_socket.or(v5_socket).map(|s| udp::spawn(ex, s));
    let (datagrams, udp_out) = match udp {
        Some((rx, tx)) => (Some(rx), Some(tx)),
        None => (None, None),
    };
    let mut srv = Server {
        node,
        ctx,
        queues: BTreeMap::new(),
        permits: BTreeMap::new(),
        inbound: config.inbound,
        next_conn: ConnId(1),
        start: Instant::now(),
        disc,
        v5,
        udp_out,
        next_lookup: UnixMs(0),
        next_lookup_v5: UnixMs(0),
        store: config.store,
        store_v5: config.store_v5,
        protocols,
        incompatible: BTreeSet::new(),
        status: status::StatusState::new(Instant::now()),
        subscribers: Vec::new(),
    };
    let control = config.control;
    srv.start_discovery();
    let listener = config.listener;
    // Fused by hand: once the signal has fired the loop breaks, so it is never polled again.
    let shutdown_fut = shutdown;
    futures_lite::pin!(shutdown_fut);
    let mut budgets = Budgets::default();
    // Set after a failed accept: the listener is left alone until then.
    let mut accept_paused: Option<Instant> = None;
    srv.drain_discovery();
    srv.drain_actions(ex);
    loop {
        let mut deadline = srv.next_deadline();
        if let Some(until) = accept_paused {
            if Instant::now() >= until {
                accept_paused = None;
            } else {
                deadline = deadline.min(until);
            }
        }
        let sources = Sources {
            internal: &internal_rx,
            events: &events_rx,
            datagrams: datagrams.as_ref(),
            listener: listener.as_ref().filter(|_| accept_paused.is_none()),
            control: control.as_ref(),
        };
        let input = next_input(&mut shutdown_fut, sources, deadline, &mut budgets).await;
        match input {
            // A signal: stop taking work and let peers go politely.
            Input::Shutdown => break,
            // A peer task reached a checkpoint, delivered a message, or ended.
            Input::Peer(ev) | Input::Internal(ev) => srv.handle_peer_event(ev),
            // A discovery packet: the state machine answers, learns, and reports.
            // More that are already waiting are taken too, within the turn's budget, without
            // another round of the select (a flood arrives tens of thousands a second).
            Input::Datagram((from, bytes)) => {
                let queue = datagrams.as_ref().map_or(0, |rx| rx.len());
                srv.handle_datagram(from, &bytes, queue);
                while budgets.datagrams > 0
                    && let Some(Ok((from, bytes))) = datagrams.as_ref().map(|rx| rx.try_recv())
                {
                    budgets.datagrams -= 1;
                    let queue = datagrams.as_ref().map_or(0, |rx| rx.len());
                    srv.handle_datagram(from, &bytes, queue);
                }
            }
            // A new inbound connection: throttle, then hand it to its own task.
            Input::Accept(Ok((stream, addr))) => srv.handle_accept(ex, stream, addr),
            // Accept errors (out of file descriptors, mostly) are transient: stop accepting for
            // a moment, while everything else goes on (the loop never sleeps on it).
            Input::Accept(Err(e)) => {
                srv.handle_accept_error(&e);
                accept_paused = Some(Instant::now() + ACCEPT_ERROR_PAUSE);
            }
            // The timers: dial scheduling, throttle expiry, discovery requests and lookups.
            Input::Tick => {
                let now = srv.now();
                srv.node.handle_timeout(now);
                srv.inbound.handle_timeout(now);
                for p in srv.protocols.iter_mut() {
                    p.handle_tick(now);
                }
                srv.discovery_tick();
                srv.status_tick(Instant::now());
            }
            // A request from outside: answered at once into its own reply channel.
            Input::Control(c) => srv.handle_control(c),
        }
        srv.drain_discovery();
        srv.drain_protocols();
        srv.drain_actions(ex);
    }
    for p in srv.protocols.iter_mut() {
        p.stop();
    }
    srv.shutdown(events_rx).await;
}

/// What is left of each budgeted source's allowance this turn.
struct Budgets {
    peers: usize,
    datagrams: usize,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            peers: PEER_EVENTS_BUDGET,
            datagrams: DATAGRAMS_BUDGET,
        }
    }
}

/// Waits for the next input in priority order; a budgeted source that has used its allowance
/// goes after the listener and the timer until some other input is handled.
/// Where the loop's inputs come from.
struct Sources<'a> {
    /// Events from the protocols' own tasks (eth: the block writer's confirmations).
    internal: &'a Receiver<PeerEvent>,
    events: &'a Receiver<PeerEvent>,
    datagrams: Option<&'a Receiver<Datagram>>,
    listener: Option<&'a TcpListener>,
    control: Option<&'a Receiver<Control>>,
}

async fn next_input(
    shutdown: &mut (impl Future<Output = ()> + Unpin),
    sources: Sources<'_>,
    deadline: Instant,
    budgets: &mut Budgets,
) -> Input {
    let Sources {
        internal,
        events,
        datagrams,
        listener,
        control,
    } = sources;
    // Requests from outside are rare and cheap, and a caller waits for each answer.
    let control = async {
        match control {
            Some(rx) => match rx.recv().await {
                Ok(c) => Input::Control(c),
                Err(_) => future::pending().await,
            },
            None => future::pending().await,
        }
    };
    // Shutdown first, then the protocols' own tasks: both are rare and cheap, and a block
    // writer's confirmation unblocks the syncer.
    let shut = future::or(
        async {
            shutdown.await;
            Input::Shutdown
        },
        future::or(
            async {
                match internal.recv().await {
                    Ok(ev) => Input::Internal(ev),
                    // Unreachable while the loop holds a sender.
                    Err(_) => future::pending().await,
                }
            },
            control,
        ),
    );
    let peer = async {
        match events.recv().await {
            Ok(ev) => Input::Peer(ev),
            // Unreachable while the loop holds a sender in its context.
            Err(_) => future::pending().await,
        }
    };
    let datagram = async {
        match datagrams {
            Some(rx) => match rx.recv().await {
                Ok(d) => Input::Datagram(d),
                Err(_) => future::pending().await,
            },
            None => future::pending().await,
        }
    };
    let accept = async {
        match listener {
            Some(l) => Input::Accept(l.accept().await),
            None => future::pending().await,
        }
    };
    let tick = async {
        Timer::at(deadline).await;
        Input::Tick
    };
    let input = match (budgets.peers > 0, budgets.datagrams > 0) {
        (true, true) => {
            future::or(
                shut,
                future::or(peer, future::or(datagram, future::or(accept, tick))),
            )
            .await
        }
        (true, false) => {
            future::or(
                shut,
                future::or(peer, future::or(accept, future::or(tick, datagram))),
            )
            .await
        }
        (false, true) => {
            future::or(
                shut,
                future::or(datagram, future::or(accept, future::or(tick, peer))),
            )
            .await
        }
        (false, false) => {
            future::or(
                shut,
                future::or(accept, future::or(tick, future::or(peer, datagram))),
            )
            .await
        }
    };
    match input {
        Input::Peer(_) => budgets.peers = budgets.peers.saturating_sub(1),
        Input::Datagram(_) => budgets.datagrams = budgets.datagrams.saturating_sub(1),
        _ => *budgets = Budgets::default(),
    }
    input
}

impl Server {
    fn now(&self) -> Mono {
        Mono(self.start.elapsed().as_millis() as u64)
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let mut at = (now + IDLE_TICK).min(self.status.deadline());
        if let Some(t) = self.node.poll_timeout() {
            at = at.min(self.start + Duration::from_millis(t.0));
        }
        let v4 = self.disc.as_ref().and_then(Discovery::poll_timeout);
        let v5 = self.v5.as_ref().and_then(Discv5::poll_timeout);
        if let Some(t) = v4.into_iter().chain(v5).min() {
            let wait = t.since(unix_now());
            at = at.min(now + Duration::from_millis(wait));
        }
        for t in self.protocols.iter().filter_map(|p| p.poll_timeout()) {
            at = at.min(self.start + Duration::from_millis(t.0));
        }
        at
    }

    fn alloc_conn(&mut self) -> ConnId {
        let c = self.next_conn;
        self.next_conn = ConnId(self.next_conn.0 + 1);
        c
    }

    fn handle_accept(&mut self, ex: &LocalExecutor<'_>, stream: TcpStream, addr: SocketAddr) {
        self.status.serves_total += 1;
        let now = self.now();
        let permit = match self.inbound.handle_inbound(now, addr.ip()) {
            Ok(p) => p,
            Err(why) => {
                *self.status.serve_errors.entry("throttled").or_default() += 1;
                log::debug(
                    "Inbound connection refused",
                    &[("addr", &addr), ("why", &why)],
                );
                return;
            }
        };
        let conn = self.alloc_conn();
        self.permits.insert(conn, permit);
        self.node.handle_conn_started(now, conn, None, addr);
        log::trace("Accepted connection", &[("addr", &addr), ("conn", &conn)]);
        ex.spawn(connection::run(
            conn,
            Role::Accept(stream),
            self.ctx.clone(),
        ))
        .detach();
    }

    /// A failed accept: counted, and logged at warn the first time of each minute (a node out of
    /// file descriptors would otherwise write a line every [`ACCEPT_ERROR_PAUSE`]).
    fn handle_accept_error(&mut self, e: &std::io::Error) {
        let errors = self.status.serve_errors.entry("accept").or_default();
        *errors += 1;
        let now = Instant::now();
        if self
            .status
            .accept_warned
            .is_none_or(|t| now >= t + ACCEPT_WARN_INTERVAL)
        {
            self.status.accept_warned = Some(now);
            log::warn(
                "Accept failed; not accepting for a moment",
                &[("err", e as &dyn std::fmt::Display), ("errors", &*errors)],
            );
        } else {
            log::debug("Accept failed", &[("err", e)]);
        }
    }

    fn handle_peer_event(&mut self, ev: PeerEvent) {
        let now = self.now();
        match ev {
            PeerEvent::Encrypted {
                conn,
                remote,
                verdict,
            } => {
                let v = self.node.handle_encrypted(now, conn, remote);
                if let Err(r) = &v {
                    log::debug(
                        "Peer refused after handshake",
                        &[("conn", &conn), ("reason", r)],
                    );
                }
                // The task waits for exactly this answer; if it is gone, its Closed follows.
                let _ = verdict.try_send(v);
            }
            PeerEvent::Hello {
                conn,
                hello,
                verdict,
            } => {
                self.release_permit(conn);
                let answer = match self.node.handle_hello(now, conn, &hello) {
                    Ok(caps) => {
                        let (tx, rx) = async_channel::bounded(PEER_QUEUE_MAX);
                        self.queues.insert(conn, tx);
                        let addr = self.node.conn(conn).map(|c| c.addr);
                        log::debug(
                            "Adding p2p peer",
                            &[
                                ("id", &hello.id.node_id()),
                                ("addr", &DisplayOpt(addr)),
                                ("name", &hello.client_id),
                                ("caps", &caps.len()),
                                ("peers", &self.node.peer_count()),
                            ],
                        );
                        if let Some(addr) = addr {
                            self.notify(PeerNotice::Added {
                                id: hello.id.node_id(),
                                name: hello.client_id.clone(),
                                addr,
                            });
                        }
                        let sessions = self.admit_capabilities(now, conn, &hello, &caps);
                        let caps = self.node.cap_ranges(&caps);
                        Admission::Admit {
                            queue: rx,
                            caps,
                            sessions,
                        }
                    }
                    Err(r) => {
                        log::debug(
                            "Peer refused after hello",
                            &[("conn", &conn), ("reason", &r)],
                        );
                        Admission::Refuse(r)
                    }
                };
                let _ = verdict.try_send(answer);
            }
            PeerEvent::Capability {
                protocol,
                conn,
                event,
            } => {
                if let Some(p) = self.protocols.get_mut(protocol) {
                    p.handle_event(now, conn, event);
                }
            }
            PeerEvent::Traffic { conn, traffic } => self.count_traffic(conn, &traffic),
            PeerEvent::Closed { conn, reason } => {
                self.release_permit(conn);
                self.count_handshake_error(conn, &reason);
                for p in self.protocols.iter_mut() {
                    p.handle_closed(now, conn);
                }
                if let Some(q) = self.queues.remove(&conn) {
                    q.close();
                    let id = self
                        .node
                        .conn(conn)
                        .and_then(|c| c.remote.map(|k| k.node_id()));
                    let shown = id.map_or_else(String::new, |i| i.to_string());
                    log::debug(
                        "Removing p2p peer",
                        &[("conn", &conn), ("id", &shown), ("reason", &reason)],
                    );
                    if let Some(id) = id {
                        self.notify(PeerNotice::Dropped {
                            id,
                            reason: reason.to_string(),
                        });
                    }
                } else {
                    log::debug("Connection closed", &[("conn", &conn), ("reason", &reason)]);
                }
                self.node.handle_closed(now, conn);
            }
        }
    }

    fn release_permit(&mut self, conn: ConnId) {
        if let Some(p) = self.permits.remove(&conn) {
            self.inbound.release(p);
        }
    }

    fn drain_actions(&mut self, ex: &LocalExecutor<'_>) {
        let now = self.now();
        while let Some(action) = self.node.poll_action(now) {
            match action {
                Action::Dial(task) => {
                    let conn = self.alloc_conn();
                    let addr = task.node.addr();
                    self.node.handle_conn_started(now, conn, Some(&task), addr);
                    log::trace("Dialing", &[("addr", &addr), ("id", &task.node.id())]);
                    self.status.dials += 1;
                    self.status.dials_total += 1;
                    let role = Role::Dial {
                        addr,
                        remote: *task.node.key(),
                    };
                    ex.spawn(connection::run(conn, role, self.ctx.clone()))
                        .detach();
                }
                Action::Disconnect { conn, reason } => {
                    self.send(conn, Outgoing::Disconnect(reason))
                }
            }
        }
    }

    /// Asks each protocol to take the shared capability of its name: the session halves, one
    /// slot per shared capability (in the order of their ranges).
    fn admit_capabilities(
        &mut self,
        now: Mono,
        conn: ConnId,
        hello: &Hello,
        caps: &[crate::p2p::SharedCapability],
    ) -> Vec<Option<Box<dyn crate::server::capability::CapSession>>> {
        let peer = PeerMeta {
            conn,
            id: hello.id.node_id(),
            named: self.node.is_named(conn),
        };
        let events = self.ctx.events.clone();
        caps.iter()
            .map(|cap| {
                let (i, p) = self
                    .protocols
                    .iter_mut()
                    .enumerate()
                    .find(|(_, p)| p.name() == cap.capability.name)?;
                p.admit(now, peer, cap, CapLink::new(i, Some(conn), events.clone()))
            })
            .collect()
    }

    /// Sends what the protocols decided: messages and disconnects for their peers.
    fn drain_protocols(&mut self) {
        let mut out = Vec::new();
        for p in self.protocols.iter_mut() {
            while let Some(o) = p.poll_output() {
                out.push(o);
            }
        }
        for (conn, msg) in out {
            self.send(conn, msg);
        }
    }

    /// Queues a message for a peer without waiting; a full queue drops the peer.
    fn send(&mut self, conn: ConnId, msg: Outgoing) {
        let Some(q) = self.queues.get(&conn) else {
            return;
        };
        match q.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                log::debug("Peer too slow, dropping", &[("conn", &conn)]);
                // Closing the queue ends the writer, which ends the session; Closed follows.
                q.close();
            }
            Err(TrySendError::Closed(_)) => {}
        }
    }

    /// Disconnects every peer and waits (bounded) for their tasks to report closed.
    async fn shutdown(mut self, events: Receiver<PeerEvent>) {
        self.node.disconnect_all(Fault::Quitting);
        let now = self.now();
        while let Some(a) = self.node.poll_action(now) {
            if let Action::Disconnect { conn, reason } = a {
                self.send(conn, Outgoing::Disconnect(reason));
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.queues.is_empty() {
            let ev = future::or(async { events.recv().await.ok() }, async {
                Timer::at(deadline).await;
                None
            })
            .await;
            match ev {
                Some(PeerEvent::Closed { conn, .. }) => {
                    self.queues.remove(&conn);
                }
                Some(PeerEvent::Encrypted { verdict, .. }) => {
                    let _ = verdict.try_send(Err(Fault::Quitting));
                }
                Some(PeerEvent::Hello { verdict, .. }) => {
                    let _ = verdict.try_send(Admission::Refuse(Fault::Quitting));
                }
                // Dropping a capability's event drops any reply channel in it: its session
                // half reads that as the node quitting.
                Some(PeerEvent::Capability { .. }) | Some(PeerEvent::Traffic { .. }) => {}
                None => break,
            }
        }
    }
}

struct DisplayOpt<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for DisplayOpt<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("-"),
        }
    }
}
