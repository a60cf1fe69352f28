//! Outbound dial scheduling and inbound admission for the p2p server, as sans-IO state machines.
//!
//! There is no devp2p spec for this; the behaviour follows go-ethereum's `p2p/dial.go` and the
//! inbound checks of `p2p/server.go`:
//! - [`DialScheduler`] decides whom to dial: static nodes (kept connected, redialed with backoff)
//!   and dynamic candidates (bootnodes, later discovery results) up to `max_peers / dial_ratio`
//!   dialed peers, never more than [`DIALS_ACTIVE_MAX`] dials at once, never a node dialed within
//!   [`DIAL_HISTORY_EXPIRY`], each dial bounded by [`DIAL_TIMEOUT`].
//! - [`InboundThrottle`] decides whether an accepted connection may start its handshake.
//!
//! Time is [`Mono`]: the node's monotonic clock (milliseconds since the event loop started);
//! spans are [`Millis`]. Nothing here reads a clock, opens a socket or draws OS randomness;
//! the loop feeds events in and asks for the next action and the next wake-up time.

pub mod history;
pub mod inbound;
mod scheduler;

use std::fmt;
use std::net::SocketAddr;

use crate::crypto::{NodeId, PublicKey};
use crate::netutil::Netlist;

pub use inbound::{
    INBOUND_HISTORY_MAX, INBOUND_THROTTLE, InboundPermit, InboundRefusal, InboundThrottle,
    PENDING_INBOUND_MAX_DEFAULT,
};
pub use scheduler::DialScheduler;

pub use crate::time::{Millis, Mono};

/// How long a dialed node stays ineligible for another dial, counted from the start of the dial:
/// 35 s, go-ethereum's `dialHistoryExpiration` (its inbound throttle time plus 5 s, so that our
/// redial is never refused by the remote's own 30 s inbound throttle).
pub const DIAL_HISTORY_EXPIRY: Millis = 35_000;

/// Deadline of one dial (TCP connect, RLPx handshake and `Hello`): 15 s, go-ethereum's
/// `defaultDialTimeout`. A dial still running at its deadline counts as failed.
pub const DIAL_TIMEOUT: Millis = 15_000;

/// Default bound on dials in flight: 16, go-ethereum's `maxActiveDialTasks` (releases before the
/// 2020 dial scheduler rewrite, which reused `MaxPendingPeers` = 50 instead). 16 keeps the burst
/// of half-open sockets small on a 2-core machine and still fills 16 dynamic slots in one round.
pub const DIALS_ACTIVE_MAX: usize = 16;

/// Default `max_peers`: 50, go-ethereum's default `MaxPeers`.
pub const PEERS_MAX_DEFAULT: usize = 50;

/// Default dial ratio: a third of the peer slots may be dialed by us, go-ethereum's
/// `defaultDialRatio`.
pub const DIAL_RATIO_DEFAULT: usize = 3;

/// Most dynamic candidates queued at once. When full, the oldest is dropped for the newest: fresh
/// discovery results are likelier to be online. 512 is many rounds of [`DIALS_ACTIVE_MAX`] dials
/// and a few kilobytes per hundred entries.
pub const CANDIDATES_MAX: usize = 512;

/// Most static nodes. Static nodes come from configuration or the admin API, not the wire; 1024
/// bounds the per-poll scan and is far above any sane `--staticnodes` list.
pub const STATIC_NODES_MAX: usize = 1024;

/// Most entries in the dial history. Every dial adds one for [`DIAL_HISTORY_EXPIRY`]; when full,
/// no new dial starts until the oldest expires, which keeps the "no redial within 35 s" promise
/// and bounds the dial rate at 4096 per 35 s (about 117/s) even if every dial fails instantly.
pub const DIAL_HISTORY_MAX: usize = 4096;

/// Upper bound on a static node's redial delay after repeated failures: 10 minutes. The delay
/// starts at [`DIAL_HISTORY_EXPIRY`] after the first failure and doubles per further consecutive
/// failure; an unreachable static node thus costs one dial per 10 minutes in the long run while a
/// briefly unreachable one is retried within about a minute.
pub const STATIC_BACKOFF_MAX: Millis = 10 * 60_000;

/// A node the scheduler may dial: its key (for the RLPx handshake), id and TCP endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialCandidate {
    id: NodeId,
    key: PublicKey,
    addr: SocketAddr,
}

impl DialCandidate {
    /// A candidate from the node's public key and TCP address; the id is derived from the key.
    pub fn new(key: PublicKey, addr: SocketAddr) -> DialCandidate {
        DialCandidate {
            id: key.node_id(),
            key,
            addr,
        }
    }

    /// The node id (keccak-256 of the key).
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The TCP endpoint to dial.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Identifies one dial, so that a completion arriving after the scheduler timed the dial out is
/// recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DialId(pub u64);

/// Why a node is dialed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialKind {
    /// A configured static node, kept connected.
    Static,
    /// A candidate filling a dynamic slot.
    Dynamic,
}

/// What the event loop should do: dial `node` and report back with
/// [`DialScheduler::handle_dial_done`] quoting `dial`, giving up at `deadline`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialTask {
    /// The dial's identity, quoted back on completion.
    pub dial: DialId,
    /// Whom to dial.
    pub node: DialCandidate,
    /// Static or dynamic; the resulting peer is added as [`ConnKind::StaticDialed`] or
    /// [`ConnKind::DynDialed`] accordingly.
    pub kind: DialKind,
    /// When the loop must abandon the dial (start + [`DIAL_TIMEOUT`]).
    pub deadline: Mono,
}

/// The result of a dial as the loop reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    /// The connection completed its handshakes and the peer was added.
    Connected,
    /// Connect, handshake or admission failed.
    Failed,
}

/// How a peer connection came about (go-ethereum's connection flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// The remote dialed us.
    Inbound,
    /// We dialed it to fill a dynamic slot.
    DynDialed,
    /// We dialed it because it is a static node.
    StaticDialed,
}

impl ConnKind {
    /// The connection kind a dial of `kind` produces.
    pub fn of_dial(kind: DialKind) -> ConnKind {
        match kind {
            DialKind::Static => ConnKind::StaticDialed,
            DialKind::Dynamic => ConnKind::DynDialed,
        }
    }
}

/// Why a node was not accepted as a static node or candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialRefusal {
    /// The node is us.
    IsSelf,
    /// The TCP port is 0.
    NoPort,
    /// The IP address is unspecified (`0.0.0.0` or `::`).
    UnspecifiedAddr,
    /// The IP address is outside the `--netrestrict` networks.
    NotInNetrestrict,
    /// The node is a static node; static nodes are dialed on their own schedule.
    IsStatic,
    /// The node is already a peer.
    AlreadyConnected,
    /// A dial to the node is in flight.
    AlreadyDialing,
    /// The node was dialed within [`DIAL_HISTORY_EXPIRY`].
    RecentlyDialed,
    /// The node is already queued as a candidate.
    AlreadyQueued,
    /// [`STATIC_NODES_MAX`] static nodes are configured.
    TooManyStatic,
}

impl fmt::Display for DialRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DialRefusal::IsSelf => "node is self",
            DialRefusal::NoPort => "node has no TCP port",
            DialRefusal::UnspecifiedAddr => "node has an unspecified IP address",
            DialRefusal::NotInNetrestrict => "node is not in netrestrict list",
            DialRefusal::IsStatic => "node is a static node",
            DialRefusal::AlreadyConnected => "node is already connected",
            DialRefusal::AlreadyDialing => "node is already being dialed",
            DialRefusal::RecentlyDialed => "node was dialed recently",
            DialRefusal::AlreadyQueued => "node is already queued",
            DialRefusal::TooManyStatic => "too many static nodes",
        })
    }
}

impl std::error::Error for DialRefusal {}

/// Why a connection that finished its handshakes may not become a peer (go-ethereum's
/// post-handshake checks); the loop sends the matching `Disconnect` reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRefusal {
    /// The remote is us (`Disconnect` reason "connected to self").
    IsSelf,
    /// The remote is already a peer ("already connected").
    AlreadyConnected,
    /// All `max_peers` slots are taken, or all inbound slots for an inbound peer
    /// ("too many peers").
    TooManyPeers,
}

impl fmt::Display for PeerRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerRefusal::IsSelf => "connected to self",
            PeerRefusal::AlreadyConnected => "already connected",
            PeerRefusal::TooManyPeers => "too many peers",
        })
    }
}

impl std::error::Error for PeerRefusal {}

/// Scheduler settings. Zero values mean the defaults, as in go-ethereum's `Config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialConfig {
    /// Peer slots in total (`--maxpeers`); 0 disables dynamic dialing (static dials still run).
    pub max_peers: usize,
    /// One in `dial_ratio` peer slots may be dialed by us; 0 means [`DIAL_RATIO_DEFAULT`].
    pub dial_ratio: usize,
    /// Bound on dials in flight; 0 means [`DIALS_ACTIVE_MAX`].
    pub max_active_dials: usize,
    /// If set, only nodes inside these networks are dialed.
    pub netrestrict: Option<Netlist>,
}

impl Default for DialConfig {
    fn default() -> Self {
        DialConfig {
            max_peers: PEERS_MAX_DEFAULT,
            dial_ratio: DIAL_RATIO_DEFAULT,
            max_active_dials: DIALS_ACTIVE_MAX,
            netrestrict: None,
        }
    }
}

impl DialConfig {
    /// Most peers we keep from dynamic dials: `max_peers / dial_ratio`, at least 1 when
    /// `max_peers` is not 0 (go-ethereum's `maxDialedConns`).
    pub fn max_dyn_dialed(&self) -> usize {
        if self.max_peers == 0 {
            return 0;
        }
        let ratio = if self.dial_ratio == 0 {
            DIAL_RATIO_DEFAULT
        } else {
            self.dial_ratio
        };
        (self.max_peers / ratio).max(1)
    }

    /// Most inbound peers (not counting trusted ones): the slots not reserved for dialing.
    pub fn max_inbound(&self) -> usize {
        self.max_peers.saturating_sub(self.max_dyn_dialed())
    }

    /// The bound on dials in flight after applying the default.
    pub fn dials_active_max(&self) -> usize {
        if self.max_active_dials == 0 {
            DIALS_ACTIVE_MAX
        } else {
            self.max_active_dials
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_slots_from_ratio() {
        let mut c = DialConfig::default();
        assert_eq!(c.max_dyn_dialed(), 16, "50 / 3");
        assert_eq!(c.max_inbound(), 34);
        c.dial_ratio = 0;
        assert_eq!(c.max_dyn_dialed(), 16, "ratio 0 means 3");
        c.dial_ratio = 2;
        assert_eq!(c.max_dyn_dialed(), 25);
        c.max_peers = 1;
        assert_eq!(c.max_dyn_dialed(), 1, "at least one dialed peer");
        c.max_peers = 0;
        assert_eq!(c.max_dyn_dialed(), 0, "maxpeers 0 dials nothing dynamic");
    }

    #[test]
    fn active_dials_default() {
        let c = DialConfig {
            max_active_dials: 0,
            ..DialConfig::default()
        };
        assert_eq!(c.dials_active_max(), DIALS_ACTIVE_MAX);
    }
}
