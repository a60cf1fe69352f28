//! The node's peer state and its admission rules: the sans-IO heart of the p2p server
//! (go-ethereum `p2p.Server`'s loop-owned fields, `postHandshakeChecks` and `addPeerChecks`).
//!
//! The event loop owns one [`Node`]. Connections pass two checkpoints: after the ECIES handshake
//! ([`Node::handle_encrypted`]: self, already connected, too many peers) and after Hello
//! ([`Node::handle_hello`]: no shared capability, and the limits again). Admitted peers are kept
//! until their task reports them closed. The dial scheduler and the inbound throttle are fed from
//! here, and every decision is an output drained with [`Node::poll_action`]. No clock, no sockets:
//! `now` comes in as milliseconds, and iteration is over `BTreeMap`s so a simulation replays.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;

use crate::crypto::{NodeId, PublicKey};
use crate::dial::{
    ConnKind, DialCandidate, DialConfig, DialId, DialOutcome, DialRefusal, DialScheduler, DialTask,
    Mono, PeerRefusal,
};
use crate::enode::Enode;
use crate::netutil::Netlist;
use crate::p2p::session::CapRange;
use crate::p2p::{Fault, Hello, LocalCapability, SharedCapability, match_capabilities};

pub use crate::p2p::ConnId;

/// The node's limits and lists, from flags and the datadir.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Most peers at once, inbound and outbound (geth `--maxpeers`, default 50). Trusted and
    /// static peers may exceed it.
    pub max_peers: usize,
    /// A third of `max_peers` is dialed, the rest is left for inbound (geth `--dialratio` 3).
    pub dial_ratio: usize,
    /// Capabilities our services offer, with their message-id space length.
    pub protocols: Vec<LocalCapability>,
    /// Nodes always admitted, even over the limits (geth `--trustednodes`).
    pub trusted: BTreeSet<NodeId>,
    /// Nodes we keep connected to (geth `--staticnodes`).
    pub static_nodes: Vec<Enode>,
    /// Only nodes in these networks are dialed or admitted (`--netrestrict`).
    pub netrestrict: Option<Netlist>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            max_peers: 50,
            dial_ratio: 3,
            protocols: Vec::new(),
            trusted: BTreeSet::new(),
            static_nodes: Vec::new(),
            netrestrict: None,
        }
    }
}

/// One connection past the accept or dial stage.
#[derive(Debug, Clone)]
pub struct Conn {
    /// How it started.
    pub kind: ConnKind,
    /// The dial that made it, for outbound connections.
    pub dial: Option<DialId>,
    /// The remote address.
    pub addr: SocketAddr,
    /// Set at checkpoint 1: the remote's key, proven by the handshake.
    pub remote: Option<PublicKey>,
    /// Set at checkpoint 2: the shared capabilities with their offsets.
    pub caps: Option<Vec<SharedCapability>>,
    /// Set at checkpoint 2: the remote's client id.
    pub client_id: String,
    /// When the connection started, for the peer list.
    pub since: Mono,
}

impl Conn {
    fn id(&self) -> Option<NodeId> {
        self.remote.map(|k| k.node_id())
    }
    fn is_peer(&self) -> bool {
        self.caps.is_some()
    }
}

/// What the loop must do, drained after every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start a dial task.
    Dial(DialTask),
    /// Tell a running peer to disconnect for this fault.
    Disconnect { conn: ConnId, reason: Fault },
}

/// The node's peer state. Owned by the event loop; never shared, never locked.
#[derive(Debug)]
pub struct Node {
    self_id: NodeId,
    config: NodeConfig,
    /// Every connection the loop has a task for, by the loop's connection id.
    conns: BTreeMap<ConnId, Conn>,
    /// Node id → connection, for connections past checkpoint 1.
    by_id: BTreeMap<NodeId, ConnId>,
    dial: DialScheduler,
    actions: VecDeque<Action>,
    /// Static nodes refused at start (see [`Node::static_refusals`]).
    static_refusals: Vec<(NodeId, SocketAddr, DialRefusal)>,
}

impl Node {
    /// A node with no connections; static nodes are handed to the dial scheduler. Bootnodes are
    /// not: as in geth they seed discovery only, and dynamic candidates come from discovery
    /// ([`Node::handle_candidates`]), so a node without discovery dials static and trusted nodes
    /// and nothing else.
    pub fn new(self_id: NodeId, config: NodeConfig, now: Mono, seed: u64) -> Node {
        let dial_config = DialConfig {
            max_peers: config.max_peers,
            dial_ratio: config.dial_ratio,
            max_active_dials: 0,
            netrestrict: config.netrestrict.clone(),
        };
        let mut dial = DialScheduler::new(dial_config, self_id, seed);
        // A refused node (self, no address, outside netrestrict) is not dialed; the refusal is
        // kept for the shell to log (`static_refusals`). The CLI has already reported enode URLs
        // it could not parse.
        let mut static_refusals = Vec::new();
        for c in config.static_nodes.iter().filter_map(candidate) {
            let (id, addr) = (c.id(), c.addr());
            if let Err(why) = dial.add_static(now, c) {
                static_refusals.push((id, addr, why));
            }
        }
        Node {
            self_id,
            config,
            conns: BTreeMap::new(),
            by_id: BTreeMap::new(),
            dial,
            actions: VecDeque::new(),
            static_refusals,
        }
    }

    /// The static nodes the dial scheduler refused at start, and why.
    pub fn static_refusals(&self) -> &[(NodeId, SocketAddr, DialRefusal)] {
        &self.static_refusals
    }

    /// Our node id.
    pub fn self_id(&self) -> NodeId {
        self.self_id
    }

    /// The loop accepted a socket (`dial` is `None`) or started a dial task under `conn`.
    pub fn handle_conn_started(
        &mut self,
        now: Mono,
        conn: ConnId,
        dial: Option<&DialTask>,
        addr: SocketAddr,
    ) {
        let kind = dial.map_or(ConnKind::Inbound, |d| ConnKind::of_dial(d.kind));
        self.conns.insert(
            conn,
            Conn {
                kind,
                dial: dial.map(|d| d.dial),
                addr,
                remote: None,
                caps: None,
                client_id: String::new(),
                since: now,
            },
        );
    }

    /// Checkpoint 1, after the ECIES handshake: may this node stay?
    pub fn handle_encrypted(
        &mut self,
        now: Mono,
        conn: ConnId,
        remote: PublicKey,
    ) -> Result<(), Fault> {
        let Some(c) = self.conns.get(&conn) else {
            return Err(Fault::NotExpected);
        };
        let id = remote.node_id();
        let kind = c.kind;
        self.limits_allow(conn, id, kind)?;
        let c = self.conns.get_mut(&conn).expect("checked above");
        c.remote = Some(remote);
        c.since = now;
        self.by_id.insert(id, conn);
        Ok(())
    }

    /// Checkpoint 2, after Hello: which capabilities run, or why not.
    pub fn handle_hello(
        &mut self,
        now: Mono,
        conn: ConnId,
        hello: &Hello,
    ) -> Result<Vec<SharedCapability>, Fault> {
        let Some(c) = self.conns.get(&conn) else {
            return Err(Fault::NotExpected);
        };
        let Some(id) = c.id() else {
            return Err(Fault::NoIdentity);
        };
        let kind = c.kind;
        let trusted = self.is_trusted(&id);
        let shared = match_capabilities(&self.config.protocols, &hello.capabilities);
        // A node that runs no protocol at all keeps every peer (useful for bootnodes and tests);
        // otherwise a peer with nothing in common is useless unless we asked for it by name.
        if !self.config.protocols.is_empty()
            && shared.is_empty()
            && !trusted
            && kind != ConnKind::StaticDialed
        {
            return Err(Fault::NothingShared);
        }
        self.limits_allow(conn, id, kind)?;
        let c = self.conns.get_mut(&conn).expect("checked above");
        c.caps = Some(shared.clone());
        c.client_id = hello.client_id.clone();
        let dial = c.dial;
        self.dial.handle_peer_added(now, id, kind, trusted);
        if let Some(d) = dial {
            // A dial the scheduler already timed out is stale, but the peer it produced is good.
            let _ = self.dial.handle_dial_done(now, d, DialOutcome::Connected);
        }
        Ok(shared)
    }

    /// A task ended; forget its connection.
    pub fn handle_closed(&mut self, now: Mono, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if let Some(id) = c.id() {
            if self.by_id.get(&id) == Some(&conn) {
                self.by_id.remove(&id);
            }
            if c.is_peer() {
                self.dial.handle_peer_removed(now, &id);
            }
        }
        if let Some(d) = c.dial
            && !c.is_peer()
        {
            let _ = self.dial.handle_dial_done(now, d, DialOutcome::Failed);
        }
    }

    /// Time passed; the dial scheduler may start dials.
    pub fn handle_timeout(&mut self, now: Mono) {
        self.dial.handle_timeout(now);
    }

    /// New dial candidates (discovery results).
    pub fn handle_candidates(&mut self, now: Mono, nodes: impl IntoIterator<Item = Enode>) {
        for c in nodes.into_iter().filter_map(|n| candidate(&n)) {
            let _ = self.dial.add_candidate(now, c);
        }
    }

    /// Whether the dial scheduler has free dynamic slots and no candidates (time to look up).
    pub fn wants_candidates(&self) -> bool {
        self.dial.wants_candidates()
    }

    /// The next thing for the loop to do.
    pub fn poll_action(&mut self, now: Mono) -> Option<Action> {
        if let Some(a) = self.actions.pop_front() {
            return Some(a);
        }
        self.dial.poll_dial(now).map(Action::Dial)
    }

    /// When [`Node::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Mono> {
        self.dial.poll_timeout()
    }

    /// Adds a static node at run time (geth `admin_addPeer`): it is dialed and kept connected.
    pub fn add_static(&mut self, now: Mono, node: &Enode) -> Result<(), String> {
        let c = candidate(node).ok_or("the enode URL has no IP address and TCP port")?;
        self.dial.add_static(now, c).map_err(|e| e.to_string())?;
        if !self.config.static_nodes.iter().any(|n| n.id == node.id) {
            self.config.static_nodes.push(node.clone());
        }
        Ok(())
    }

    /// Removes a static node (geth `admin_removePeer`) and asks it to leave if it is connected.
    /// Returns whether it was static or connected.
    pub fn remove_static(&mut self, now: Mono, id: &NodeId) -> bool {
        let was_static = self.dial.remove_static(now, id);
        self.config.static_nodes.retain(|n| &n.node_id() != id);
        let conn = self.by_id.get(id).copied();
        if let Some(conn) = conn.filter(|c| self.conns.get(c).is_some_and(Conn::is_peer)) {
            self.actions.push_back(Action::Disconnect {
                conn,
                reason: Fault::Requested,
            });
        }
        was_static || conn.is_some()
    }

    /// Trusts a node from now on (geth `admin_addTrustedPeer`): admitted over the limits.
    pub fn add_trusted(&mut self, id: NodeId) {
        self.config.trusted.insert(id);
    }

    /// Stops trusting a node (geth `admin_removeTrustedPeer`); a connected peer stays.
    pub fn remove_trusted(&mut self, id: &NodeId) -> bool {
        self.config.trusted.remove(id)
    }

    /// Whether `id` is trusted.
    pub fn trusts(&self, id: &NodeId) -> bool {
        self.is_trusted(id)
    }

    /// Asks every peer to leave with `reason` (shutdown).
    pub fn disconnect_all(&mut self, reason: Fault) {
        for (&conn, c) in &self.conns {
            if c.is_peer() {
                self.actions.push_back(Action::Disconnect { conn, reason });
            }
        }
    }

    /// Admitted peers, by connection id.
    pub fn peers(&self) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.conns
            .iter()
            .filter(|(_, c)| c.is_peer())
            .map(|(k, c)| (*k, c))
    }

    /// Number of admitted peers.
    pub fn peer_count(&self) -> usize {
        self.conns.values().filter(|c| c.is_peer()).count()
    }

    /// Whether the peer on `conn` is one the user named: dialed as a static node, or trusted.
    pub fn is_named(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| {
            c.kind == ConnKind::StaticDialed || c.id().is_some_and(|id| self.is_trusted(&id))
        })
    }

    /// The session's id ranges and size limits for `shared`, from our capabilities' own.
    pub fn cap_ranges(&self, shared: &[SharedCapability]) -> Vec<CapRange> {
        shared
            .iter()
            .map(|c| CapRange {
                offset: c.offset,
                length: c.length,
                size_max: self
                    .config
                    .protocols
                    .iter()
                    .find(|l| l.capability == c.capability)
                    .map_or(crate::p2p::session::MESSAGE_SIZE_MAX, |l| {
                        l.message_size_max
                    }),
            })
            .collect()
    }

    /// Static nodes the dial scheduler keeps.
    pub fn static_count(&self) -> usize {
        self.dial.static_count()
    }

    /// The peer limit (`--maxpeers`).
    pub fn max_peers(&self) -> usize {
        self.config.max_peers
    }

    /// The connection record for `conn`.
    pub fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(&conn)
    }

    fn is_trusted(&self, id: &NodeId) -> bool {
        self.config.trusted.contains(id)
    }

    /// The checks both checkpoints run (geth `postHandshakeChecks`): the scheduler knows the
    /// admitted peers and the limits; connections between the checkpoints are checked here.
    fn limits_allow(&self, conn: ConnId, id: NodeId, kind: ConnKind) -> Result<(), Fault> {
        if let Some(&other) = self.by_id.get(&id)
            && other != conn
        {
            return Err(Fault::AlreadyConnected);
        }
        let already_admitted = self.conns.get(&conn).is_some_and(Conn::is_peer);
        if already_admitted {
            return Ok(());
        }
        self.dial
            .check_add_peer(&id, kind, self.is_trusted(&id))
            .map_err(|r| match r {
                PeerRefusal::IsSelf => Fault::IsSelf,
                PeerRefusal::AlreadyConnected => Fault::AlreadyConnected,
                PeerRefusal::TooManyPeers => Fault::TooManyPeers,
            })
    }
}

/// A dial candidate from an enode URL; `None` when it names no IP address and TCP port.
fn candidate(n: &Enode) -> Option<DialCandidate> {
    n.tcp_addr().map(|addr| DialCandidate::new(n.id, addr))
}
