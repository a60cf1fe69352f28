//! The vocabulary between the event loop and the connection tasks (geth `p2p/server.go`'s
//! `conn` checkpoints and `peer.go`'s write queue): what a task posts to the loop, what the loop
//! answers at each checkpoint, and what it writes through a peer's queue. Both sides import
//! this file; neither imports the other for these types.

use std::net::SocketAddr;

use async_channel::{Receiver, Sender};
use async_net::TcpStream;

use crate::crypto::PublicKey;
use crate::eth::{EthMessage, EthVersion, Status};
use crate::node::ConnId;
use crate::p2p::session::CapRange;
use crate::p2p::{DisconnectReason, Hello};

/// A message the loop writes to a peer through its bounded queue.
#[derive(Debug)]
pub enum Outgoing {
    /// A capability message: absolute message id (offset already applied) and RLP payload.
    Message { code: u64, payload: Vec<u8> },
    /// Write Disconnect with this reason, then close.
    Disconnect(DisconnectReason),
}

/// Why a session ended, as the task reports it to the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// We sent Disconnect with this reason (a refusal, a protocol breach, or the loop's order).
    Local(DisconnectReason),
    /// The remote sent Disconnect with this reason.
    Remote(DisconnectReason),
    /// The connection failed before or without a Disconnect (I/O error, timeout, bad frame).
    Failed(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Local(r) => write!(f, "disconnected by us: {r}"),
            CloseReason::Remote(r) => write!(f, "disconnected by remote: {r}"),
            CloseReason::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// What a task posts to the loop.
#[derive(Debug)]
pub enum PeerEvent {
    /// Checkpoint 1: the ECIES handshake is done; may this node stay? (self, duplicate, limits)
    Encrypted {
        conn: ConnId,
        remote: PublicKey,
        verdict: Sender<Result<(), DisconnectReason>>,
    },
    /// Checkpoint 2: Hello arrived; which capabilities run? (useless peer, limits again)
    Hello {
        conn: ConnId,
        hello: Box<Hello>,
        verdict: Sender<Admission>,
    },
    /// A capability message (id ≥ 0x10, decompressed) from an admitted peer, of a capability
    /// the task does not decode itself.
    Message {
        conn: ConnId,
        code: u64,
        payload: Vec<u8>,
    },
    /// Checkpoint 3: the remote eth Status; may the peer run eth? (`Err` says why not.)
    EthStatus {
        conn: ConnId,
        status: Box<Status>,
        verdict: Sender<Result<(), String>>,
    },
    /// A decoded eth message (past Status) that is not a chain request the task serves.
    Eth { conn: ConnId, msg: Box<EthMessage> },
    /// The session is over; the loop forgets `conn`.
    Closed { conn: ConnId, reason: CloseReason },
}

/// The loop's answer at the Hello checkpoint.
#[derive(Debug)]
pub enum Admission {
    /// Run the session; the loop writes through `queue`; `eth` when the session runs eth.
    /// `caps` are the shared capabilities' id ranges and size limits: an id in none of them
    /// ends the session.
    Admit {
        queue: Receiver<Outgoing>,
        eth: Option<EthSession>,
        caps: Vec<CapRange>,
    },
    /// Send Disconnect with this reason and close.
    Refuse(DisconnectReason),
}

/// Which side of the handshake this task takes.
#[derive(Debug, Clone)]
pub enum Role {
    /// We dial `addr` and expect to meet `remote` there.
    Dial { addr: SocketAddr, remote: PublicKey },
    /// We accepted this socket.
    Accept(TcpStream),
}

/// What the loop tells a task at admission when the session runs eth.
#[derive(Debug, Clone)]
pub struct EthSession {
    /// The first wire message id of the eth range.
    pub offset: u64,
    /// The negotiated version.
    pub version: EthVersion,
    /// Our Status, sent first.
    pub status: Status,
}
