//! The requests the discovery state machine has in flight (discv4.md "Endpoint Proof"): sent
//! and waiting for an answer, or waiting for the remote to bond with us first.

use std::net::SocketAddr;

use crate::crypto::NodeId;
use crate::time::UnixMs;

use super::event::LookupId;
use super::table::Node;

/// Why we sent a Ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingPurpose {
    /// To bond before a request, or after the node pinged us unbonded.
    Bond,
    /// A table revalidation.
    Revalidate,
    /// Asked for by the owner (`Discovery::ping`).
    Explicit,
}

/// A request we sent and wait for an answer to.
#[derive(Debug, Clone)]
pub enum Pending {
    Ping {
        hash: [u8; 32],
        to: NodeId,
        node: Option<Node>,
        addr: SocketAddr,
        purpose: PingPurpose,
        deadline: UnixMs,
    },
    FindNode {
        to: NodeId,
        addr: SocketAddr,
        lookup: LookupId,
        nodes: Vec<Node>,
        deadline: UnixMs,
    },
    EnrRequest {
        hash: [u8; 32],
        to: NodeId,
        addr: SocketAddr,
        node: Option<Node>,
        deadline: UnixMs,
    },
}

impl Pending {
    pub fn deadline(&self) -> UnixMs {
        match self {
            Pending::Ping { deadline, .. }
            | Pending::FindNode { deadline, .. }
            | Pending::EnrRequest { deadline, .. } => *deadline,
        }
    }
}

/// A request waiting for the remote to ping us back (so it holds a proof of our endpoint).
#[derive(Debug, Clone)]
pub struct Deferred {
    pub node: Node,
    pub request: DeferredRequest,
    pub deadline: UnixMs,
}

#[derive(Debug, Clone)]
pub enum DeferredRequest {
    FindNode { lookup: LookupId, target: [u8; 64] },
    Enr,
}
