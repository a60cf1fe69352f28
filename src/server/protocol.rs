//! The loop half of a capability and the link its session halves post through (go-ethereum
//! `p2p.Protocol` as `srv.run` sees it; the session side is `server::capability`).
//!
//! The event loop keeps a list of [`Protocol`]s, one per capability a service brings. It asks
//! each to admit the sessions that share its capability, hands it the events its session halves
//! post (opaque [`CapEvent`]s the protocol downcasts), ticks it, and drains what it wants written.
//! The loop never names a capability.

use std::any::Any;

use async_channel::Sender;
use async_executor::LocalExecutor;

use crate::crypto::NodeId;
use crate::enr::Record;
use crate::node::ConnId;
use crate::p2p::SharedCapability;
use crate::server::capability::{CapEnd, CapEvent, CapSession};
use crate::server::events::{Outgoing, PeerEvent};
use crate::time::Mono;

/// A session half's way to its loop half.
#[derive(Debug, Clone)]
pub struct CapLink {
    /// Which protocol of the loop's list.
    protocol: usize,
    conn: Option<ConnId>,
    events: Sender<PeerEvent>,
}

impl CapLink {
    /// A link for `conn` (or for the protocol's own tasks, `None`) to protocol `protocol`.
    pub(crate) fn new(protocol: usize, conn: Option<ConnId>, events: Sender<PeerEvent>) -> Self {
        CapLink {
            protocol,
            conn,
            events,
        }
    }

    /// Posts `event` to the loop half; waits while the loop's event queue is full.
    pub async fn post(&self, event: CapEvent) -> Result<(), CapEnd> {
        let ev = PeerEvent::Capability {
            protocol: self.protocol,
            conn: self.conn,
            event,
        };
        self.events.send(ev).await.map_err(|_| CapEnd::quitting())
    }

    /// The session this link speaks for.
    pub fn conn(&self) -> Option<ConnId> {
        self.conn
    }
}

/// What the loop knows of a peer at admission.
#[derive(Debug, Clone, Copy)]
pub struct PeerMeta {
    pub conn: ConnId,
    pub id: NodeId,
    /// A static or trusted peer: one the user named.
    pub named: bool,
}

/// The loop half of a capability. Called only from the event loop; never awaits.
pub trait Protocol {
    /// The capability name (`eth`).
    fn name(&self) -> &'static str;
    /// Spawns the protocol's own tasks (eth: the block writer), once, before the loop runs;
    /// `link` posts their results back as events with no session.
    fn start(&mut self, ex: &LocalExecutor<'_>, link: CapLink);
    /// A session shares `cap` with us (the highest version both speak): its session half, or
    /// `None` to leave the range unserved.
    fn admit(
        &mut self,
        now: Mono,
        peer: PeerMeta,
        cap: &SharedCapability,
        link: CapLink,
    ) -> Option<Box<dyn CapSession>>;
    /// An event a session half (`Some(conn)`) or one of the protocol's tasks posted.
    fn handle_event(&mut self, now: Mono, conn: Option<ConnId>, event: CapEvent);
    /// The session is over.
    fn handle_closed(&mut self, now: Mono, conn: ConnId);
    /// The loop's timers fired (or its idle tick).
    fn handle_tick(&mut self, now: Mono);
    /// The next time [`Protocol::handle_tick`] is wanted.
    fn poll_timeout(&self) -> Option<Mono>;
    /// The next message or disconnect for a peer, drained after every input.
    fn poll_output(&mut self) -> Option<(ConnId, Outgoing)>;
    /// Whether a discovered node with this record is worth a dial (eth: its fork id).
    fn accepts_record(&self, _record: &Record) -> bool {
        true
    }
    /// Entries for our node record (eth: its fork id, EIP-2124).
    fn enr_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        Vec::new()
    }
    /// Fields for the periodic status line (eth: head, txs).
    fn status(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The loop is stopping: a last log line, if any.
    fn stop(&mut self) {}
    /// The protocol's state, for requests from outside the loop that know its type (the node
    /// handle's chain queries downcast it).
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
