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
    DialConfig, DialId, DialKind, DialOutcome, DialRefusal, DialTask, Millis, PeerRefusal,
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
    not_before: Millis,
}

/// A dial in flight.
#[derive(Debug, Clone, Copy)]
struct Dialing {
    dial: DialId,
    kind: DialKind,
    started: Millis,
    deadline: Millis,
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
    now: Millis,
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
            now: 0,
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
    pub fn add_static(&mut self, now: Millis, node: DialCandidate) -> Result<(), DialRefusal> {
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
                not_before: 0,
            },
        );
        Ok(())
    }

    /// Stops keeping `id` connected. A dial in flight runs to its end and an existing peer stays;
    /// the loop disconnects it if it wants to. Returns whether `id` was a static node.
    pub fn remove_static(&mut self, now: Millis, id: &NodeId) -> bool {
        self.tick(now);
        self.statics.remove(id).is_some()
    }

    /// Queues a dynamic dial candidate (a bootnode or a discovery result). Candidates are taken
    /// first-in first-out; when [`CANDIDATES_MAX`] are queued the oldest is dropped.
    pub fn add_candidate(&mut self, now: Millis, node: DialCandidate) -> Result<(), DialRefusal> {
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
    pub fn handle_peer_added(&mut self, now: Millis, id: NodeId, kind: ConnKind, trusted: bool) {
        self.tick(now);
        self.peers.insert(id, Peer { kind, trusted });
        if let Some(s) = self.statics.get_mut(&id) {
            s.failures = 0;
            s.not_before = 0;
        }
    }

    /// A peer disconnected. A static node becomes eligible again as soon as its dial history
    /// entry expires.
    pub fn handle_peer_removed(&mut self, now: Millis, id: &NodeId) {
        self.tick(now);
        self.peers.remove(id);
    }

    /// A dial ended. Returns `false` if the dial is unknown or was already timed out (its
    /// deadline is at or before `now`): the loop must then drop any connection it produced.
    pub fn handle_dial_done(&mut self, now: Millis, dial: DialId, outcome: DialOutcome) -> bool {
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
    pub fn handle_timeout(&mut self, now: Millis) {
        self.tick(now);
        self.expire(now);
    }

    /// The next dial to start, if any. Static nodes come first (in node id order), then queued
    /// candidates (first in, first out) while dynamic slots are free; all within the bound on
    /// dials in flight.
    pub fn poll_dial(&mut self, now: Millis) -> Option<DialTask> {
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
    pub fn poll_timeout(&self) -> Option<Millis> {
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

    fn tick(&mut self, now: Millis) {
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
    fn check_dial(&self, node: &DialCandidate, now: Millis) -> Result<(), DialRefusal> {
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

    fn static_ready(&self, id: &NodeId, s: &StaticNode, now: Millis) -> bool {
        debug_assert_eq!(*id, s.node.id());
        s.not_before <= now && self.check_dial(&s.node, now).is_ok()
    }

    fn start(&mut self, now: Millis, node: DialCandidate, kind: DialKind) -> DialTask {
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
    fn expire(&mut self, now: Millis) {
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
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::dial::DIALS_ACTIVE_MAX;
    use std::net::SocketAddr;

    fn node(i: u8, addr: &str) -> DialCandidate {
        let sk = SecretKey::from_bytes(&[i.max(1); 32]).unwrap();
        DialCandidate::new(sk.public_key(), addr.parse::<SocketAddr>().unwrap())
    }

    fn n(i: u8) -> DialCandidate {
        node(i, &format!("10.0.0.{i}:30303"))
    }

    fn sched(config: DialConfig) -> DialScheduler {
        DialScheduler::new(config, NodeId([0xee; 32]), 7)
    }

    fn drain(s: &mut DialScheduler, now: Millis) -> Vec<DialTask> {
        std::iter::from_fn(|| s.poll_dial(now)).collect()
    }

    /// Follows the timer like the event loop would until a dial comes out; returns its time.
    fn next_dial(s: &mut DialScheduler) -> (Millis, DialTask) {
        loop {
            let at = s.poll_timeout().expect("a timer is pending");
            s.handle_timeout(at);
            if let Some(t) = s.poll_dial(at) {
                return (at, t);
            }
        }
    }

    #[test]
    fn candidates_dialed_in_order_with_deadline() {
        let mut s = sched(DialConfig::default());
        for i in 1..=3 {
            s.add_candidate(0, n(i)).unwrap();
        }
        let tasks = drain(&mut s, 1_000);
        let ids: Vec<_> = tasks.iter().map(|t| t.node.id()).collect();
        assert_eq!(ids, vec![n(1).id(), n(2).id(), n(3).id()]);
        assert!(tasks.iter().all(|t| t.deadline == 1_000 + DIAL_TIMEOUT));
        assert!(tasks.iter().all(|t| t.kind == DialKind::Dynamic));
        assert_eq!(s.dialing_count(), 3);
    }

    #[test]
    fn never_dials_self() {
        let mut s = sched(DialConfig::default());
        let me = n(9);
        s.set_self_id(me.id());
        assert_eq!(s.add_candidate(0, me.clone()), Err(DialRefusal::IsSelf));
        assert_eq!(s.add_static(0, me), Err(DialRefusal::IsSelf));
        assert!(s.poll_dial(0).is_none());
        assert_eq!(
            s.check_add_peer(&n(9).id(), ConnKind::Inbound, true),
            Err(PeerRefusal::IsSelf)
        );
    }

    #[test]
    fn refuses_bad_endpoints_and_netrestrict() {
        let mut s = sched(DialConfig {
            netrestrict: Some("10.0.0.0/8".parse().unwrap()),
            ..DialConfig::default()
        });
        assert_eq!(
            s.add_candidate(0, node(1, "10.0.0.1:0")),
            Err(DialRefusal::NoPort)
        );
        assert_eq!(
            s.add_candidate(0, node(1, "0.0.0.0:1")),
            Err(DialRefusal::UnspecifiedAddr)
        );
        assert_eq!(
            s.add_candidate(0, node(1, "192.168.0.1:1")),
            Err(DialRefusal::NotInNetrestrict)
        );
        assert_eq!(
            s.add_static(0, node(2, "[fd00::1]:1")),
            Err(DialRefusal::NotInNetrestrict)
        );
        assert!(s.add_candidate(0, node(1, "10.1.1.1:1")).is_ok());
    }

    #[test]
    fn no_redial_within_history() {
        let mut s = sched(DialConfig::default());
        s.add_candidate(0, n(1)).unwrap();
        let t = s.poll_dial(0).unwrap();
        assert!(s.handle_dial_done(100, t.dial, DialOutcome::Failed));
        assert_eq!(s.add_candidate(200, n(1)), Err(DialRefusal::RecentlyDialed));
        assert_eq!(s.poll_timeout(), Some(DIAL_HISTORY_EXPIRY));
        assert!(s.add_candidate(DIAL_HISTORY_EXPIRY, n(1)).is_ok());
        assert_eq!(s.poll_dial(DIAL_HISTORY_EXPIRY).unwrap().node, n(1));
    }

    #[test]
    fn queued_candidate_rechecked_when_taken() {
        let mut s = sched(DialConfig::default());
        s.add_candidate(0, n(1)).unwrap();
        s.add_candidate(0, n(2)).unwrap();
        assert_eq!(s.add_candidate(0, n(1)), Err(DialRefusal::AlreadyQueued));
        s.handle_peer_added(1, n(1).id(), ConnKind::Inbound, false);
        assert_eq!(s.poll_dial(2).unwrap().node, n(2), "connected node skipped");
        assert!(s.poll_dial(2).is_none());
        assert_eq!(s.add_candidate(3, n(2)), Err(DialRefusal::AlreadyDialing));
        assert_eq!(s.add_candidate(3, n(1)), Err(DialRefusal::AlreadyConnected));
    }

    #[test]
    fn candidate_queue_bounded_drops_oldest() {
        let mut s = sched(DialConfig {
            max_peers: 0,
            ..DialConfig::default()
        });
        for i in 0..=CANDIDATES_MAX {
            let addr: SocketAddr = ([10, 0, (i >> 8) as u8, i as u8], 30303).into();
            let mut secret = [0u8; 32];
            secret[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            let key = SecretKey::from_bytes(&secret).unwrap().public_key();
            s.add_candidate(0, DialCandidate::new(key, addr)).unwrap();
        }
        assert_eq!(s.candidate_count(), CANDIDATES_MAX);
        assert_eq!(s.queued.len(), CANDIDATES_MAX);
        let first: Vec<NodeId> = s.candidates.iter().take(1).map(|c| c.id()).collect();
        let mut secret = [0u8; 32];
        secret[31] = 1;
        let oldest = SecretKey::from_bytes(&secret)
            .unwrap()
            .public_key()
            .node_id();
        assert!(!s.queued.contains(&oldest), "oldest dropped");
        assert_ne!(first, vec![oldest]);
        assert!(s.poll_dial(0).is_none(), "maxpeers 0: no dynamic dials");
    }

    #[test]
    fn active_dials_bounded() {
        let mut s = sched(DialConfig {
            max_peers: 200,
            dial_ratio: 1,
            ..DialConfig::default()
        });
        for i in 1..=40 {
            s.add_candidate(0, n(i)).unwrap();
        }
        let first = drain(&mut s, 0);
        assert_eq!(first.len(), DIALS_ACTIVE_MAX);
        assert!(s.handle_dial_done(5, first[0].dial, DialOutcome::Failed));
        assert_eq!(drain(&mut s, 5).len(), 1, "one slot freed, one dial");
    }

    #[test]
    fn dynamic_slots_bounded_by_ratio() {
        // 9 peers / ratio 3 = 3 dynamic slots.
        let mut s = sched(DialConfig {
            max_peers: 9,
            dial_ratio: 3,
            ..DialConfig::default()
        });
        for i in 1..=10 {
            s.add_candidate(0, n(i)).unwrap();
        }
        let tasks = drain(&mut s, 0);
        assert_eq!(tasks.len(), 3);
        for t in &tasks[..2] {
            s.handle_peer_added(10, t.node.id(), ConnKind::DynDialed, false);
            assert!(s.handle_dial_done(10, t.dial, DialOutcome::Connected));
        }
        assert!(
            drain(&mut s, 10).is_empty(),
            "2 peers + 1 dial fill 3 slots"
        );
        // Inbound and static peers do not take dynamic slots.
        s.handle_peer_added(11, n(50).id(), ConnKind::Inbound, false);
        assert!(drain(&mut s, 11).is_empty());
        s.handle_peer_removed(12, &tasks[0].node.id());
        assert_eq!(drain(&mut s, 12).len(), 1, "a dropped peer frees its slot");
        assert_eq!(s.dyn_peer_count(), 1);
    }

    #[test]
    fn no_dynamic_dial_when_peers_full() {
        let mut s = sched(DialConfig {
            max_peers: 3,
            dial_ratio: 1,
            ..DialConfig::default()
        });
        for i in 1..=3 {
            s.handle_peer_added(0, n(100 + i).id(), ConnKind::Inbound, false);
        }
        s.add_candidate(0, n(1)).unwrap();
        assert!(s.poll_dial(0).is_none());
        assert!(!s.wants_candidates());
    }

    #[test]
    fn static_dialed_first_and_beyond_dynamic_limit() {
        let mut s = sched(DialConfig {
            max_peers: 0,
            ..DialConfig::default()
        });
        s.add_candidate(0, n(1)).unwrap();
        s.add_static(0, n(2)).unwrap();
        let t = s.poll_dial(0).unwrap();
        assert_eq!((t.node.id(), t.kind), (n(2).id(), DialKind::Static));
        assert!(s.poll_dial(0).is_none(), "no dynamic slot with maxpeers 0");
        assert_eq!(s.add_candidate(0, n(2)), Err(DialRefusal::IsStatic));
        s.handle_peer_added(1, n(2).id(), ConnKind::StaticDialed, false);
        assert!(
            s.check_add_peer(&n(3).id(), ConnKind::StaticDialed, false)
                .is_ok()
        );
        assert_eq!(
            s.check_add_peer(&n(3).id(), ConnKind::DynDialed, false),
            Err(PeerRefusal::TooManyPeers)
        );
    }

    #[test]
    fn static_redialed_after_drop() {
        let mut s = sched(DialConfig::default());
        s.add_static(0, n(1)).unwrap();
        let t = s.poll_dial(0).unwrap();
        s.handle_peer_added(50, n(1).id(), ConnKind::StaticDialed, false);
        assert!(s.handle_dial_done(50, t.dial, DialOutcome::Connected));
        assert!(s.poll_dial(60).is_none(), "connected");
        s.handle_peer_removed(1_000, &n(1).id());
        assert!(s.poll_dial(1_000).is_none(), "history still holds it");
        assert_eq!(s.poll_timeout(), Some(DIAL_HISTORY_EXPIRY));
        s.handle_timeout(DIAL_HISTORY_EXPIRY);
        let again = s.poll_dial(DIAL_HISTORY_EXPIRY).unwrap();
        assert_eq!(again.node, n(1));
    }

    #[test]
    fn static_backoff_doubles_to_cap() {
        let mut s = sched(DialConfig::default());
        s.add_static(0, n(1)).unwrap();
        let mut now = 0;
        let mut t = s.poll_dial(now).expect("static dial due");
        let mut gaps = Vec::new();
        for _ in 0..8 {
            assert!(s.handle_dial_done(now + 10, t.dial, DialOutcome::Failed));
            let (at, next) = next_dial(&mut s);
            gaps.push(at - now);
            (now, t) = (at, next);
        }
        for (i, g) in gaps.iter().enumerate() {
            let base = (DIAL_HISTORY_EXPIRY << i).min(STATIC_BACKOFF_MAX);
            assert!(
                *g >= base && *g <= base + base / 8,
                "gap {i} = {g}, base {base}"
            );
        }
        assert_eq!(
            gaps[7],
            gaps[7].clamp(STATIC_BACKOFF_MAX, STATIC_BACKOFF_MAX * 9 / 8)
        );
        // Connecting resets the backoff: after a drop only the 35 s history applies.
        s.handle_peer_added(now + 10, n(1).id(), ConnKind::StaticDialed, false);
        assert!(s.handle_dial_done(now + 10, t.dial, DialOutcome::Connected));
        s.handle_peer_removed(now + 20, &n(1).id());
        let (at, again) = next_dial(&mut s);
        assert_eq!(again.node, n(1));
        assert_eq!(at, now + DIAL_HISTORY_EXPIRY);
    }

    #[test]
    fn dial_times_out_and_late_completion_is_stale() {
        let mut s = sched(DialConfig::default());
        s.add_static(0, n(1)).unwrap();
        let t = s.poll_dial(0).unwrap();
        assert_eq!(s.poll_timeout(), Some(DIAL_TIMEOUT));
        s.handle_timeout(DIAL_TIMEOUT);
        assert_eq!(s.dialing_count(), 0);
        assert!(!s.handle_dial_done(DIAL_TIMEOUT + 1, t.dial, DialOutcome::Connected));
        // The timeout counted as a failure: backoff (with jitter) runs from the dial start.
        let (at, again) = next_dial(&mut s);
        assert_eq!(again.node, n(1));
        assert!((DIAL_HISTORY_EXPIRY..=DIAL_HISTORY_EXPIRY * 9 / 8).contains(&at));
    }

    #[test]
    fn inbound_slots_limited_unless_trusted() {
        let mut s = sched(DialConfig {
            max_peers: 3,
            dial_ratio: 3,
            ..DialConfig::default()
        });
        // 3 peers, 1 dialed slot: 2 inbound slots.
        s.handle_peer_added(0, n(1).id(), ConnKind::Inbound, false);
        s.handle_peer_added(0, n(2).id(), ConnKind::Inbound, false);
        assert_eq!(
            s.check_add_peer(&n(3).id(), ConnKind::Inbound, false),
            Err(PeerRefusal::TooManyPeers)
        );
        assert!(
            s.check_add_peer(&n(3).id(), ConnKind::Inbound, true)
                .is_ok()
        );
        assert!(
            s.check_add_peer(&n(3).id(), ConnKind::DynDialed, false)
                .is_ok()
        );
        assert_eq!(
            s.check_add_peer(&n(1).id(), ConnKind::DynDialed, true),
            Err(PeerRefusal::AlreadyConnected)
        );
        assert_eq!(s.trusted_peer_count(), 0);
    }

    #[test]
    fn wants_candidates_when_idle() {
        let mut s = sched(DialConfig::default());
        assert!(s.wants_candidates());
        s.add_candidate(0, n(1)).unwrap();
        assert!(!s.wants_candidates());
        s.poll_dial(0).unwrap();
        assert!(s.wants_candidates());
    }

    #[test]
    fn removed_static_not_redialed() {
        let mut s = sched(DialConfig::default());
        s.add_static(0, n(1)).unwrap();
        assert!(s.remove_static(0, &n(1).id()));
        assert!(!s.remove_static(0, &n(1).id()));
        assert!(s.poll_dial(0).is_none());
        assert_eq!(s.static_count(), 0);
    }

    #[test]
    fn same_seed_same_dials() {
        let run = || {
            let mut s = sched(DialConfig::default());
            let mut log = Vec::new();
            for i in 1..=5 {
                s.add_static(0, n(i)).unwrap();
            }
            let mut now = 0;
            for _ in 0..20 {
                for t in drain(&mut s, now) {
                    log.push((now, t.node.id()));
                    s.handle_dial_done(now + 1, t.dial, DialOutcome::Failed);
                }
                now = s.poll_timeout().unwrap();
            }
            log
        };
        assert_eq!(run(), run());
    }
}
