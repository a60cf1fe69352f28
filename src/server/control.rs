//! Requests from outside the loop (a program embedding the node, JSON-RPC, metrics):
//! each is a message with its own reply channel, queued on one bounded channel and answered by
//! the loop between other inputs, so nothing outside ever holds a lock on the loop's state
//! (go-ethereum `p2p.Server`'s `addPeerOps`/`peerOp` channels play the same part).

use std::any::Any;
use std::net::SocketAddr;

use async_channel::Sender;

use crate::crypto::NodeId;
use crate::enode::Enode;
use crate::time::Mono;

/// Requests queued for the loop at most; a full queue answers "busy" to the caller instead of
/// blocking anyone (the loop drains these between other inputs).
pub const CONTROL_QUEUE_MAX: usize = 64;

/// Peer notices buffered for one subscriber at most; a subscriber that falls this far behind is
/// dropped (its stream ends), never waited for.
pub const NOTICE_QUEUE_MAX: usize = 256;

/// Subscribers to peer notices at most.
pub const SUBSCRIBERS_MAX: usize = 64;

/// One request to the loop, with where its answer goes.
pub enum Control {
    /// A snapshot of the admitted peers.
    Peers(Sender<Vec<PeerInfo>>),
    /// Add a static peer (dialed and kept connected), or with `trusted` mark it trusted.
    AddPeer {
        node: Enode,
        trusted: bool,
        reply: Sender<Result<(), String>>,
    },
    /// Remove a static peer (and disconnect it), or with `trusted` stop trusting it.
    RemovePeer {
        id: NodeId,
        trusted: bool,
        reply: Sender<bool>,
    },
    /// A request for the protocol named `name` (a capability's loop half): `run` is called
    /// with the protocol's state, which it downcasts to the type it knows, and answers through a
    /// channel of its own without waiting. The loop never learns what it asked; no such
    /// protocol: `run` is dropped, closing its reply channel.
    Protocol {
        name: &'static str,
        run: ProtocolRequest,
    },
    /// Peer added / dropped notices from now on.
    Subscribe(Sender<PeerNotice>),
    /// The loop's counters now, for the metrics endpoint.
    Metrics(Sender<MetricsSnapshot>),
}

/// The loop's counters and gauges at one moment: plain integers, rendered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Admitted peers, and how many dialed us / we dialed.
    pub peers: u64,
    pub peers_inbound: u64,
    pub peers_outbound: u64,
    /// Dials started and dials that became admitted peers; the same for accepted connections.
    pub dials: u64,
    pub dials_success: u64,
    pub serves: u64,
    pub serves_success: u64,
    /// Admitted sessions ended, by reason (at most `DROP_REASONS_MAX` reasons; the rest "other").
    pub drops: Vec<(String, u64)>,
    /// Connections that ended before becoming peers, by geth's cause words (`saturated`,
    /// `known`, `self`, `useless`, `id/unexpected`, `rlpx/enc`, `rlpx/proto`, `other`).
    pub dial_errors: Vec<(&'static str, u64)>,
    pub serve_errors: Vec<(&'static str, u64)>,
    /// RLPx frame bytes read and written, all sessions.
    pub ingress: u64,
    pub egress: u64,
    /// Per capability message.
    pub messages: Vec<MessageTraffic>,
    /// Discovery datagram bytes received and sent.
    pub discover_ingress: u64,
    pub discover_egress: u64,
    /// Discovery datagrams dropped unread: over a sender's rate or the shared request budget.
    pub discover_throttled: u64,
    /// eth Status exchanges that failed, by geth's cause words (`peer`, `timeout`, `network`,
    /// `version`, `genesis`, `forkid`).
    pub eth_handshake_errors: Vec<(&'static str, u64)>,
    /// Discovery's table size and bucket sizes, when discovery runs.
    pub discover_nodes: Option<u64>,
    pub discover_buckets: Vec<u64>,
    /// The chain head, the sync target while syncing, and the pool, when eth runs.
    pub head: Option<u64>,
    pub sync_target: Option<u64>,
    pub pool: Option<u64>,
    /// The transaction counters, when eth runs.
    pub tx_received: u64,
    pub tx_duplicates: u64,
    pub tx_invalid: u64,
    pub tx_added: u64,
    pub tx_sent: u64,
    pub tx_announced: u64,
}

/// One capability message's traffic since start: `name`/`version` is the capability, `code`
/// the message's code within it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTraffic {
    pub name: String,
    pub version: u32,
    pub code: u64,
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
}

/// Distinct drop reasons counted at most; later ones count as "other".
pub const DROP_REASONS_MAX: usize = 32;

/// One pooled transaction, as the pool holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    pub sender: [u8; 20],
    pub nonce: u64,
    /// The network encoding.
    pub network_rlp: Vec<u8>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Control::Peers(_) => f.write_str("Peers"),
            Control::AddPeer { node, trusted, .. } => {
                write!(f, "AddPeer({node}, trusted: {trusted})")
            }
            Control::RemovePeer { id, trusted, .. } => {
                write!(f, "RemovePeer({id}, trusted: {trusted})")
            }
            Control::Protocol { name, .. } => write!(f, "Protocol({name})"),
            Control::Subscribe(_) => f.write_str("Subscribe"),
            Control::Metrics(_) => f.write_str("Metrics"),
        }
    }
}

/// A request run on a protocol's state in the loop, with the loop's clock; it must not block.
/// With no protocol of its name it gets `&mut ()`, which downcasts to nothing.
pub type ProtocolRequest = Box<dyn FnOnce(&mut dyn Any, Mono) + Send>;

/// One admitted peer, as a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its node id.
    pub id: NodeId,
    /// Its public key (its enode URL's id).
    pub key: crate::crypto::PublicKey,
    /// The client id from its Hello.
    pub name: String,
    /// Its address.
    pub addr: SocketAddr,
    /// Whether it dialed us.
    pub inbound: bool,
    /// Whether we trust it.
    pub trusted: bool,
    /// Whether we dialed it as a static node.
    pub is_static: bool,
    /// The shared capabilities, as `name/version`.
    pub caps: Vec<String>,
}

/// The eth view of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainInfo {
    /// Head block number and hash.
    pub head_number: u64,
    pub head_hash: [u8; 32],
    /// Transactions in the pool.
    pub pool_size: usize,
}

/// Something that happened to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerNotice {
    /// A peer passed both checkpoints.
    Added {
        id: NodeId,
        name: String,
        addr: SocketAddr,
    },
    /// An admitted peer's session ended, and why.
    Dropped { id: NodeId, reason: String },
}
