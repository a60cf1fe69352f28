//! The vocabulary between the event loop and the connection tasks (geth `p2p/server.go`'s
//! `conn` checkpoints and `peer.go`'s write queue): what a task posts to the loop, what the loop
//! answers at each checkpoint, and what it writes through a peer's queue. Both sides import
//! this file; neither imports the other for these types.

use std::net::SocketAddr;

use async_channel::{Receiver, Sender};
use async_net::TcpStream;

use crate::crypto::PublicKey;
use crate::node::ConnId;
use crate::p2p::session::CapRange;
use crate::p2p::{DisconnectReason, Fault, Hello};
use crate::server::capability::{CapEvent, CapSession, WireMessage};

/// A message the loop writes to a peer through its bounded queue.
#[derive(Debug)]
pub enum Outgoing {
    /// A capability message, encoded by the connection task as it writes it.
    Message(Box<dyn WireMessage>),
    /// Write Disconnect with this fault's reason, then close.
    Disconnect(Fault),
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
        verdict: Sender<Result<(), Fault>>,
    },
    /// Checkpoint 2: Hello arrived; which capabilities run? (useless peer, limits again)
    Hello {
        conn: ConnId,
        hello: Box<Hello>,
        verdict: Sender<Admission>,
    },
    /// An event for protocol `protocol`'s loop half from the session half of `conn` (or, with
    /// no `conn`, from one of the protocol's own tasks). Opaque here: the protocol downcasts it.
    Capability {
        protocol: usize,
        conn: Option<ConnId>,
        event: CapEvent,
    },
    /// What the session of `conn` read and wrote since its last report (metrics); sent at most
    /// once per `TRAFFIC_FLUSH_INTERVAL`, and once more just before `Closed`.
    Traffic {
        conn: ConnId,
        traffic: Box<crate::server::traffic::Traffic>,
    },
    /// The session is over; the loop forgets `conn`.
    Closed { conn: ConnId, reason: CloseReason },
}

/// The loop's answer at the Hello checkpoint.
pub enum Admission {
    /// Run the session; the loop writes through `queue`. `caps` are the shared capabilities' id
    /// ranges and size limits (an id in none of them ends the session); `sessions[i]` is the
    /// session half that serves `caps[i]`, if a protocol took it.
    Admit {
        queue: Receiver<Outgoing>,
        caps: Vec<CapRange>,
        sessions: Vec<Option<Box<dyn CapSession>>>,
    },
    /// Send Disconnect with this fault's reason and close.
    Refuse(Fault),
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Admission::Admit { caps, sessions, .. } => {
                let served = sessions.iter().filter(|s| s.is_some()).count();
                write!(f, "Admit({} capabilities, {served} served)", caps.len())
            }
            Admission::Refuse(fault) => write!(f, "Refuse({fault})"),
        }
    }
}

/// Which side of the handshake this task takes.
#[derive(Debug, Clone)]
pub enum Role {
    /// We dial `addr` and expect to meet `remote` there.
    Dial { addr: SocketAddr, remote: PublicKey },
    /// We accepted this socket.
    Accept(TcpStream),
}
