//! The dial scheduler: which node to dial next, when, and when to give up (go-ethereum
//! `p2p/dial.go` behaviour, see the module docs of [`crate::dial`]).
//!
//! The event loop drives it like this: after every `handle_*` call it drains
//! [`DialScheduler::poll_dial`] until `None`, starting each returned task; it then sleeps until
//! an I/O event or [`DialScheduler::poll_timeout`], and on waking by the timer calls
//! [`DialScheduler::handle_timeout`]. All state lives in ordered collections and the only
//! randomness (static backoff jitter) comes from the seed given to [`DialScheduler::new`], so the
//! same inputs always produce the same dials.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::history::ExpiryHistory;
use super::{
    CANDIDATES_MAX, ConnKind, DIAL_HISTORY_EXPIRY, DIAL_HISTORY_MAX, DIAL_TIMEOUT, DialCandidate,
    DialConfig, DialId, DialKind, DialOutcome, DialRefusal, DialTask, Millis, Mono, PeerRefusal,
    STATIC_BACKOFF_MAX, STATIC_NODES_MAX,
};
use crate::crypto::NodeId;

/// A configured static node and its redial state.
#[derive(Debug, Clone)]
struct StaticNode {
    node: DialCandidate,
    /// Consecutive failed dials since the node was last connected.
    failures: u32,
    /// No dial before this time (backoff after failures); 0 when not backing off.
    not_before: Mono,
}

/// A dial in flight.
#[derive(Debug, Clone, Copy)]
struct Dialing {
    dial: DialId,
    kind: DialKind,
    started: Mono,
    deadline: Mono,
}

/// A connected peer, as the scheduler counts it.
#[derive(Debug, Clone, Copy)]
struct Peer {
    kind: ConnKind,
    trusted: bool,
}

/// The dial scheduler state machine. See the module docs for how the loop drives it.
#[derive(Debug, Clone)]
pub struct DialScheduler {
    config: DialConfig,
    self_id: NodeId,
    statics: BTreeMap<NodeId, StaticNode>,
    candidates: VecDeque<DialCandidate>,
    queued: BTreeSet<NodeId>,
    dialing: BTreeMap<NodeId, Dialing>,
    dial_nodes: BTreeMap<DialId, NodeId>,
    peers: BTreeMap<NodeId, Peer>,
    history: ExpiryHistory<NodeId>,
    next_dial: u64,
    /// Latest time seen; [`DialScheduler::poll_timeout`] only reports times after it.
    now: Mono,
    rng: u64,
}

impl DialScheduler {
    /// A scheduler for the local node `self_id`. `seed` drives the backoff jitter; the loop passes
    /// OS randomness, tests a fixed value.
    pub fn new(config: DialConfig, self_id: NodeId, seed: u64) -> DialScheduler {
        DialScheduler {
            config,
            self_id,
            statics: BTreeMap::new(),
            candidates: VecDeque::new(),
            queued: BTreeSet::new(),
            dialing: BTreeMap::new(),
            dial_nodes: BTreeMap::new(),
            peers: BTreeMap::new(),
            history: ExpiryHistory::new(),
            next_dial: 0,
            now: Mono(0),
            rng: seed,
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &DialConfig {
        &self.config
    }

    /// Changes the local node id (it is never dialed); queued candidates equal to it are dropped
    /// when reached.
    pub fn set_self_id(&mut self, id: NodeId) {
        self.self_id = id;
    }

    /// Adds (or replaces the address of) a static node, to be kept connected.
    pub fn add_static(&mut self, now: Mono, node: DialCandidate) -> Result<(), DialRefusal> {
        self.tick(now);
        self.check_node(&node)?;
        if let Some(s) = self.statics.get_mut(&node.id()) {
            s.node = node;
            return Ok(());
        }
        if self.statics.len() >= STATIC_NODES_MAX {
            return Err(DialRefusal::TooManyStatic);
        }
        let id = node.id();
        self.statics.insert(
            id,
            StaticNode {
                node,
                failures: 0,
                not_before: Mono(0),
            },
        );
        Ok(())
    }

    /// Stops keeping `id` connected. A dial in flight runs to its end and an existing peer stays;
    /// the loop disconnects it if it wants to. Returns whether `id` was a static node.
    pub fn remove_static(&mut self, now: Mono, id: &NodeId) -> bool {
        self.tick(now);
        self.statics.remove(id).is_some()
    }

    /// Queues a dynamic dial candidate (a bootnode or a discovery result). Candidates are taken
    /// first-in first-out; when [`CANDIDATES_MAX`] are queued the oldest is dropped.
    pub fn add_candidate(&mut self, now: Mono, node: DialCandidate) -> Result<(), DialRefusal> {
        self.tick(now);
        self.check_node(&node)?;
        if self.statics.contains_key(&node.id()) {
            return Err(DialRefusal::IsStatic);
        }
        self.check_dial(&node, now)?;
        if self.queued.contains(&node.id()) {
            return Err(DialRefusal::AlreadyQueued);
        }
        if self.candidates.len() >= CANDIDATES_MAX
            && let Some(old) = self.candidates.pop_front()
        {
            self.queued.remove(&old.id());
        }
        self.queued.insert(node.id());
        self.candidates.push_back(node);
        Ok(())
    }

    /// Whether the dynamic side is idle for lack of candidates: slots are free and the queue is
    /// empty. The loop then feeds bootnodes again or asks discovery for more.
    pub fn wants_candidates(&self) -> bool {
        self.candidates.is_empty() && self.dyn_slot_free()
    }

    /// The post-handshake admission check of a new connection (go-ethereum's
    /// `postHandshakeChecks`): trusted and static-dialed peers may exceed `max_peers`; inbound
    /// peers may only take the slots not reserved for dialing.
    pub fn check_add_peer(
        &self,
        id: &NodeId,
        kind: ConnKind,
        trusted: bool,
    ) -> Result<(), PeerRefusal> {
        if *id == self.self_id {
            return Err(PeerRefusal::IsSelf);
        }
        if self.peers.contains_key(id) {
            return Err(PeerRefusal::AlreadyConnected);
        }
        let privileged = trusted || kind == ConnKind::StaticDialed;
        if !privileged && self.peers.len() >= self.config.max_peers {
            return Err(PeerRefusal::TooManyPeers);
        }
        if !trusted
            && kind == ConnKind::Inbound
            && self.count_peers(ConnKind::Inbound) >= self.config.max_inbound()
        {
            return Err(PeerRefusal::TooManyPeers);
        }
        Ok(())
    }

    /// A peer finished its handshakes and was added. A static node that connects (either way)
    /// has its backoff reset.
    pub fn handle_peer_added(&mut self, now: Mono, id: NodeId, kind: ConnKind, trusted: bool) {
        self.tick(now);
        self.peers.insert(id, Peer { kind, trusted });
        if let Some(s) = self.statics.get_mut(&id) {
            s.failures = 0;
            s.not_before = Mono(0);
        }
    }

    /// A peer disconnected. A static node becomes eligible again as soon as its dial history
    /// entry expires.
    pub fn handle_peer_removed(&mut self, now: Mono, id: &NodeId) {
        self.tick(now);
        self.peers.remove(id);
    }

    /// A dial ended. Returns `false` if the dial is unknown or was already timed out (its
    /// deadline is at or before `now`): the loop must then drop any connection it produced.
    pub fn handle_dial_done(&mut self, now: Mono, dial: DialId, outcome: DialOutcome) -> bool {
        self.tick(now);
        self.expire(now);
        let Some(id) = self.dial_nodes.get(&dial).copied() else {
            return false;
        };
        self.finish(id, outcome);
        true
    }

    /// The timer set from [`DialScheduler::poll_timeout`] fired: time out overdue dials and
    /// expire history.
    pub fn handle_timeout(&mut self, now: Mono) {
        self.tick(now);
        self.expire(now);
    }

    /// The next dial to start, if any. Static nodes come first (in node id order), then queued
    /// candidates (first in, first out) while dynamic slots are free; all within the bound on
    /// dials in flight.
    pub fn poll_dial(&mut self, now: Mono) -> Option<DialTask> {
        self.tick(now);
        self.expire(now);
        if self.dialing.len() >= self.config.dials_active_max()
            || self.history.len() >= DIAL_HISTORY_MAX
        {
            return None;
        }
        let ready = self
            .statics
            .iter()
            .find(|(id, s)| self.static_ready(id, s, now))
            .map(|(_, s)| s.node.clone());
        if let Some(node) = ready {
            return Some(self.start(now, node, DialKind::Static));
        }
        while self.dyn_slot_free() {
            let node = self.candidates.pop_front()?;
            self.queued.remove(&node.id());
            // The candidate was checked when queued, but it may since have connected, been
            // dialed, or become a static node.
            if self.check_dial(&node, now).is_ok() && !self.statics.contains_key(&node.id()) {
                return Some(self.start(now, node, DialKind::Dynamic));
            }
        }
        None
    }

    /// When the loop must call [`DialScheduler::handle_timeout`] next: the earliest dial deadline,
    /// history expiry or end of a static backoff that lies after the latest time seen.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let deadlines = self.dialing.values().map(|d| d.deadline);
        let backoffs = self
            .statics
            .iter()
            .filter(|(id, _)| !self.peers.contains_key(id) && !self.dialing.contains_key(id))
            .map(|(_, s)| s.not_before);
        deadlines
            .chain(backoffs)
            .chain(self.history.next_expiry())
            .filter(|&t| t > self.now)
            .min()
    }

    /// Dials in flight.
    pub fn dialing_count(&self) -> usize {
        self.dialing.len()
    }

    /// Whether a dial to `id` is in flight.
    pub fn is_dialing(&self, id: &NodeId) -> bool {
        self.dialing.contains_key(id)
    }

    /// Whether `id` is a connected peer.
    pub fn is_connected(&self, id: &NodeId) -> bool {
        self.peers.contains_key(id)
    }

    /// Whether `id` is a static node.
    pub fn is_static(&self, id: &NodeId) -> bool {
        self.statics.contains_key(id)
    }

    /// Connected peers of every kind.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Connected peers that we dialed to fill a dynamic slot.
    pub fn dyn_peer_count(&self) -> usize {
        self.count_peers(ConnKind::DynDialed)
    }

    /// Connected trusted peers.
    pub fn trusted_peer_count(&self) -> usize {
        self.peers.values().filter(|p| p.trusted).count()
    }

    /// Candidates waiting in the queue.
    pub fn candidate_count(&self) -> usize {
        self.candidates.len()
    }

    /// Configured static nodes.
    pub fn static_count(&self) -> usize {
        self.statics.len()
    }

    fn tick(&mut self, now: Mono) {
        self.now = self.now.max(now);
    }

    fn count_peers(&self, kind: ConnKind) -> usize {
        self.peers.values().filter(|p| p.kind == kind).count()
    }

    /// Dynamic dials may start while dynamically dialed peers plus dynamic dials in flight stay
    /// below `max_peers / dial_ratio`, and peers plus dials stay below `max_peers`.
    fn dyn_slot_free(&self) -> bool {
        let dyn_dials = self
            .dialing
            .iter()
            .filter(|(id, d)| d.kind == DialKind::Dynamic && !self.peers.contains_key(id))
            .count();
        self.dyn_peer_count() + dyn_dials < self.config.max_dyn_dialed()
            && self.peers.len() + self.dialing.len() < self.config.max_peers
    }

    /// Checks that hold for every node we would ever dial.
    fn check_node(&self, node: &DialCandidate) -> Result<(), DialRefusal> {
        let addr = node.addr();
        if node.id() == self.self_id {
            return Err(DialRefusal::IsSelf);
        }
        if addr.port() == 0 {
            return Err(DialRefusal::NoPort);
        }
        if addr.ip().is_unspecified() {
            return Err(DialRefusal::UnspecifiedAddr);
        }
        if let Some(list) = &self.config.netrestrict
            && !list.contains(addr.ip())
        {
            return Err(DialRefusal::NotInNetrestrict);
        }
        Ok(())
    }

    /// Checks that a dial of `node` may start now.
    fn check_dial(&self, node: &DialCandidate, now: Mono) -> Result<(), DialRefusal> {
        self.check_node(node)?;
        let id = node.id();
        if self.peers.contains_key(&id) {
            return Err(DialRefusal::AlreadyConnected);
        }
        if self.dialing.contains_key(&id) {
            return Err(DialRefusal::AlreadyDialing);
        }
        if self.history.contains(&id, now) {
            return Err(DialRefusal::RecentlyDialed);
        }
        Ok(())
    }

    fn static_ready(&self, id: &NodeId, s: &StaticNode, now: Mono) -> bool {
        debug_assert_eq!(*id, s.node.id());
        s.not_before <= now && self.check_dial(&s.node, now).is_ok()
    }

    fn start(&mut self, now: Mono, node: DialCandidate, kind: DialKind) -> DialTask {
        let dial = DialId(self.next_dial);
        self.next_dial += 1;
        let deadline = now.saturating_add(DIAL_TIMEOUT);
        let id = node.id();
        self.history
            .add(id, now.saturating_add(DIAL_HISTORY_EXPIRY));
        self.dialing.insert(
            id,
            Dialing {
                dial,
                kind,
                started: now,
                deadline,
            },
        );
        self.dial_nodes.insert(dial, id);
        DialTask {
            dial,
            node,
            kind,
            deadline,
        }
    }

    /// Times out dials whose deadline has come and drops expired history.
    fn expire(&mut self, now: Mono) {
        self.history.expire(now, |_| {});
        let overdue: Vec<NodeId> = self
            .dialing
            .iter()
            .filter(|(_, d)| d.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            self.finish(id, DialOutcome::Failed);
        }
    }

    fn finish(&mut self, id: NodeId, outcome: DialOutcome) {
        let Some(d) = self.dialing.remove(&id) else {
            return;
        };
        self.dial_nodes.remove(&d.dial);
        if outcome == DialOutcome::Failed && !self.peers.contains_key(&id) {
            let jitter_seed = self.next_random();
            if let Some(s) = self.statics.get_mut(&id) {
                s.failures = s.failures.saturating_add(1);
                s.not_before = d
                    .started
                    .saturating_add(static_backoff(s.failures, jitter_seed));
            }
        }
    }

    /// SplitMix64 over the seeded state: enough for jitter, and replayable.
    fn next_random(&mut self) -> u64 {
        crate::rng::splitmix64(&mut self.rng)
    }
}

/// The delay from the start of a static node's `failures`-th consecutive failed dial to its next
/// dial: [`DIAL_HISTORY_EXPIRY`] doubled per further failure, capped at [`STATIC_BACKOFF_MAX`],
/// plus up to an eighth of that as jitter so that static nodes failing together (a network
/// outage) do not all retry in the same instant.
pub(super) fn static_backoff(failures: u32, random: u64) -> Millis {
    let doublings = failures.saturating_sub(1).min(16);
    let base = DIAL_HISTORY_EXPIRY
        .saturating_mul(1 << doublings)
        .min(STATIC_BACKOFF_MAX);
    base + random % (base / 8 + 1)
}

#[cfg(test)]
mod tests;
