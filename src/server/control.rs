//! Requests from outside the loop (a program embedding the node, later JSON-RPC and metrics):
//! each is a message with its own reply channel, queued on one bounded channel and answered by
//! the loop between other inputs, so nothing outside ever holds a lock on the loop's state
//! (go-ethereum `p2p.Server`'s `addPeerOps`/`peerOp` channels play the same part).

use std::any::Any;
use std::net::SocketAddr;

use async_channel::Sender;

use crate::crypto::NodeId;
use crate::enode::Enode;

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
}

/// One admitted peer, as a snapshot.
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
        }
    }
}

/// A request run on a protocol's state in the loop; it must not block.
pub type ProtocolRequest = Box<dyn FnOnce(&mut dyn Any) + Send>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its node id.
    pub id: NodeId,
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
