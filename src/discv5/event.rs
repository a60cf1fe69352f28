//! What the discovery v5 state machine reports (devp2p `discv5-theory.md`): answers to our
//! requests, sessions established, and the reasons an incoming datagram was dropped.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::message::{MessageError, RequestId};
use super::packet::PacketError;
use crate::crypto::NodeId;
use crate::enr::{EnrError, Record};
use crate::time::UnixMs;

/// What the state machine tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Our PING was answered: the remote's record sequence number, and the address our PING
    /// came from as the remote saw it (a vote for our external endpoint).
    Pong {
        request: RequestId,
        from: NodeId,
        enr_seq: u64,
        ip: IpAddr,
        port: u16,
    },
    /// Our FINDNODE was answered: every record at the requested distances, gathered over all
    /// `total` NODES messages (or those that came before the request timed out).
    Nodes {
        request: RequestId,
        from: NodeId,
        records: Vec<Record>,
    },
    /// Our TALKREQ was answered.
    TalkResp {
        request: RequestId,
        from: NodeId,
        response: Vec<u8>,
    },
    /// A request of ours got no (complete) answer.
    RequestFailed {
        request: RequestId,
        to: NodeId,
        reason: Failure,
    },
    /// A handshake completed (either side). `record` is the remote's, when we hold it.
    Session {
        node: NodeId,
        addr: SocketAddr,
        record: Option<Record>,
    },
    /// A node answered us (a handshake or a response) from the endpoint its record names, at
    /// `at`: its record is one for the node database (what seeds the table at the next start).
    Seen { record: Record, at: UnixMs },
    /// A newer record of a node, learned from the node itself (after a PONG announced it).
    RecordUpdated(Record),
    /// A node a lookup learned of (new to that lookup): a dial candidate, a crawler's find.
    Discovered(Record),
    /// A lookup ended: the records of the closest nodes that answered, closest first, and the
    /// longest chain of answers it followed.
    LookupDone {
        id: u64,
        target: NodeId,
        records: Vec<Record>,
        rounds: u32,
    },
}

/// Why a request of ours failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the timeout, after the retries.
    Timeout,
    /// The remote kept answering with WHOAREYOU: the handshake did not complete.
    HandshakeFailed,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => write!(f, "timeout"),
            Failure::HandshakeFailed => write!(f, "handshake failed"),
        }
    }
}

/// Why a request could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The record has no UDP endpoint (or no key).
    NoEndpoint,
    /// The record is ours.
    IsSelf,
    /// Too many requests in flight.
    TooManyRequests,
    /// The message would not fit a handshake packet.
    TooLarge,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NoEndpoint => write!(f, "record has no UDP endpoint"),
            RequestError::IsSelf => write!(f, "record is the local node"),
            RequestError::TooManyRequests => write!(f, "too many requests in flight"),
            RequestError::TooLarge => write!(f, "message too large for a handshake packet"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Why an incoming datagram was dropped (counted, never answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    RateLimited,
    Packet(PacketError),
    FromSelf,
    /// A WHOAREYOU that answers no packet of ours.
    UnsolicitedWhoAreYou,
    /// A handshake for which we hold no challenge (expired, or never sent).
    NoChallenge,
    /// A handshake without a record when we hold none, or with one that is not the sender's.
    BadRecord(Option<EnrError>),
    /// A handshake whose id signature or ephemeral key does not verify.
    BadHandshake,
    /// A message that did not open under the session (or handshake) keys.
    Undecryptable,
    Message(MessageError),
    /// A response nobody asked for, or from another node than asked.
    Unsolicited,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dropped::RateLimited => write!(f, "rate limited"),
            Dropped::Packet(e) => write!(f, "bad packet: {e}"),
            Dropped::FromSelf => write!(f, "from ourselves"),
            Dropped::UnsolicitedWhoAreYou => write!(f, "WHOAREYOU for no request"),
            Dropped::NoChallenge => write!(f, "handshake without a challenge"),
            Dropped::BadRecord(e) => write!(f, "bad handshake record: {e:?}"),
            Dropped::BadHandshake => write!(f, "bad id signature or ephemeral key"),
            Dropped::Undecryptable => write!(f, "message does not authenticate"),
            Dropped::Message(e) => write!(f, "bad message: {e}"),
            Dropped::Unsolicited => write!(f, "unsolicited response"),
        }
    }
}
