//! What the discovery state machine reports (discv4.md): events for its owner, records for the
//! node database, and the reasons an incoming datagram was dropped.

use std::net::SocketAddr;

use crate::crypto::NodeId;
use crate::enr::{EnrError, Record};
use crate::time::UnixMs;

use super::packet::PacketError;
use super::table::Node;

/// Identifies a lookup started with `Discovery::start_lookup`.
pub type LookupId = u64;

/// What the node database should remember (written by the shell, off the event loop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// A node answered our Ping: keep it, with the time.
    Verified { node: Node, at: UnixMs },
    /// A node pinged us.
    PingReceived { id: NodeId, at: UnixMs },
    /// A node's FindNode failure count changed.
    FindnodeFailures { id: NodeId, count: u32 },
    /// A node's record.
    Enr { id: NodeId, record: Vec<u8> },
}

/// What the state machine tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A node we learned of in a lookup (a dial candidate once it has a TCP port).
    Discovered(Node),
    /// A node's ENR, fetched and verified.
    Enr(Node, Record),
    /// A lookup ended: the closest nodes that answered, and how many rounds it took.
    LookupDone {
        id: LookupId,
        target: NodeId,
        result: Vec<Node>,
        rounds: u32,
    },
    /// An explicit `Discovery::ping` was answered (or not).
    PingResult {
        to: SocketAddr,
        pong: Option<(NodeId, Option<u64>)>,
    },
    /// An explicit `Discovery::request_enr` was answered (or not).
    EnrResult {
        to: SocketAddr,
        record: Option<Record>,
    },
    /// Something for the node database.
    Store(StoreOp),
}

/// Why an incoming datagram was dropped (counted, never answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    RateLimited,
    /// A request past the budget all senders share (`ratelimit::REQUESTS_PER_SEC`).
    OverBudget,
    Packet(PacketError),
    Expired,
    FromSelf,
    NotInNetrestrict,
    /// A FindNode or ENRRequest from a node without a valid endpoint proof.
    NoBond,
    /// A reply nobody asked for.
    Unsolicited,
    /// An ENRResponse whose record is not the sender's.
    WrongRecord(Option<EnrError>),
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::RateLimited => write!(f, "rate limited"),
            Dropped::OverBudget => write!(f, "over the request budget"),
            Dropped::Packet(e) => write!(f, "bad packet: {e}"),
            Dropped::Expired => write!(f, "expired"),
            Dropped::FromSelf => write!(f, "from ourselves"),
            Dropped::NotInNetrestrict => write!(f, "sender not in netrestrict"),
            Dropped::NoBond => write!(f, "no endpoint proof"),
            Dropped::Unsolicited => write!(f, "unsolicited reply"),
            Dropped::WrongRecord(e) => write!(f, "record does not match sender: {e:?}"),
        }
    }
}
