//! How a capability protocol plugs into the node (devp2p rlpx.md "Capability Messaging";
//! go-ethereum `p2p.Protocol`, whose `Run` serves one peer, and the service that owns the
//! protocol's shared state).
//!
//! A capability comes in two halves. The loop half, a [`Protocol`], owns the capability's state
//! (eth: the protocol manager) inside the event loop; it admits sessions, takes the events its
//! session halves post, and says what to write to whom. The session half, a [`CapSession`], runs
//! inside each connection task: it sends the capability's opening messages, decodes what arrives
//! in its message-id range, answers what it can answer alone (eth: chain requests, from the
//! storage thread) and posts the rest to its loop half through its [`CapLink`]. Messages the loop
//! half sends are [`WireMessage`]s that the connection task encodes as it writes them, so the
//! loop never spends its turn encoding. This file is the session side's vocabulary; the loop
//! half's trait and the link between the halves are in `server::protocol`. The event loop and the connection task know only these
//! traits: a second capability is one more `Protocol` from a service, and no change to them.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::p2p::Fault;

/// A future a session half returns; tasks run on the loop's thread, so it need not be `Send`.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// An event between a capability's halves, opaque to the loop and the task (each protocol
/// downcasts its own).
pub type CapEvent = Box<dyn Any>;

/// Why a capability ends a session: the fault (its reason comes from `p2p::fault`) and a line
/// for the log.
#[derive(Debug)]
pub struct CapEnd {
    pub fault: Fault,
    pub why: String,
}

impl CapEnd {
    /// A breach of the capability's rules ("subprotocol error").
    pub fn breach(why: impl Into<String>) -> CapEnd {
        CapEnd {
            fault: Fault::CapabilityBreach,
            why: why.into(),
        }
    }

    /// The loop is gone: the node is shutting down.
    pub fn quitting() -> CapEnd {
        CapEnd {
            fault: Fault::Quitting,
            why: "node shutting down".into(),
        }
    }
}

/// A message to write, encoded by the connection task that writes it.
pub trait WireMessage: std::fmt::Debug {
    /// The absolute message id (the capability's offset applied) and the RLP payload.
    fn encode(&self) -> Result<(u64, Vec<u8>), String>;
}

/// A reply a session half built itself: message id relative to its capability's offset.
pub type Reply = (u64, Vec<u8>);

/// The session half of a capability, inside one connection task.
pub trait CapSession {
    /// Messages to write before anything else (eth: our Status), ids relative to the offset.
    fn opening(&mut self) -> Result<Vec<Reply>, CapEnd>;
    /// A deadline sooner than the frame read deadline, and what missing it means (eth: the
    /// remote Status within 5 s).
    fn deadline(&self) -> Option<(Instant, Fault, &'static str)>;
    /// One message of this capability: id relative to the offset, payload decompressed and
    /// within the capability's size limit. May post to the loop half and wait for its answer;
    /// returns a reply to write, if any.
    fn handle<'a>(
        &'a mut self,
        id: u64,
        payload: Vec<u8>,
    ) -> LocalFuture<'a, Result<Option<Reply>, CapEnd>>;
    /// A word for log lines about this session's failures (eth: "Ethereum").
    fn label(&self) -> &'static str;
}
