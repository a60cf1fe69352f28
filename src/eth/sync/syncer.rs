//! The syncer: when to sync and with whom, as a sans-IO core (the role of go-ethereum's
//! `chainSyncer`; devp2p caps/eth.md "Chain Synchronization", "Status", "BlockRangeUpdate";
//! EIP-7642 for the eth/69 block range).
//!
//! It keeps what each peer's Status and BlockRangeUpdate said about its head, picks the best
//! peer, and starts a [`Downloader`] run when a peer arrives and enough peers are there, or on a
//! timer with any peer, if that peer is ahead of our head. It owns the requests: it assigns the
//! request ids, matches replies to them, times them out and retries the work on another peer,
//! and turns the run's findings into [`SyncAction`]s for the event loop.
//!
//! An eth/68 Status names the peer's head by hash only; its number is learned with a
//! `GetBlockHeaders { origin: hash, amount: 1 }` before the peer can be synced from.

use crate::time::Mono;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use super::downloader::{Downloader, Outcome};
use super::sync_work::{ConnId, Event, PeerView, SyncConfig, Want};
use crate::chain::block::{Head, StoredBlock};
use crate::chain::header::U256;
use crate::crypto::hex;
use crate::eth::wire::{BlockOrigin, EthMessage, EthVersion, GetBlockHeaders, Hash, RawResponse};

/// Timed-out request ids remembered so that their late replies are ignored rather than taken
/// for unsolicited ones: 1024, a few minutes of requests at a busy sync's pace. An id is
/// forgotten once its late reply arrives, so a second reply to it, or a reply later still,
/// counts as unsolicited.
pub const LATE_IDS_MAX: usize = 1024;

/// A peer whose requests time out this often is dropped as stalled (go-ethereum drops a peer
/// on its first stall; three forgives a slow moment).
pub const TIMEOUTS_MAX: u32 = 3;

/// Requests in flight to one peer at most: 3. Pipelining hides the round trip (a lone serving
/// peer otherwise answers headers, bodies and receipts strictly one after another), while a
/// slow peer still holds only a few pieces of work.
pub const REQUESTS_PER_PEER_MAX: usize = 3;

/// Our chain head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHead {
    pub number: u64,
    pub hash: Hash,
    pub td: U256,
}

/// A peer's head, from its Status or BlockRangeUpdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerHead {
    /// The negotiated eth version.
    pub version: EthVersion,
    /// eth/68: the Status head hash; eth/69+: the latest block hash.
    pub hash: Hash,
    /// The head number; `None` on eth/68 until learned from the header.
    pub number: Option<u64>,
    /// eth/68: the total difficulty of the head.
    pub td: Option<U256>,
    /// eth/69+: the earliest block served (0 on eth/68).
    pub earliest: u64,
}

/// What the event loop should do.
#[derive(Debug, Clone)]
pub enum SyncAction {
    /// Send this request (request id already assigned by the syncer) to `peer`.
    Request { peer: ConnId, msg: EthMessage },
    /// The peer served wrong data or stalled repeatedly: disconnect it (reason UselessPeer),
    /// logging `why`.
    Drop { peer: ConnId, why: String },
    /// Verified blocks, contiguous, in order, continuing the head; write them atomically and
    /// call [`Syncer::handle_written`].
    Write(Vec<StoredBlock>),
    /// A progress line for the log, at info level; `peer` is the session it is about (the shell
    /// names it by node id).
    Log {
        msg: &'static str,
        peer: Option<ConnId>,
        fields: Vec<(&'static str, String)>,
    },
}

/// A reply the peer had no business sending: the loop disconnects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncError {
    /// No request of ours to this peer has this id (or it asked for something else).
    Unsolicited { request_id: u64 },
    /// Not a BlockHeaders, BlockBodies or Receipts message.
    NotAReply(&'static str),
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Unsolicited { request_id } => {
                write!(f, "reply to request {request_id}, which we never sent it")
            }
            SyncError::NotAReply(what) => write!(f, "{what} is not a sync reply"),
        }
    }
}

impl std::error::Error for SyncError {}

#[derive(Debug)]
struct PeerState {
    head: PeerHead,
    timeouts: u32,
    /// Requests in flight to it (at most [`REQUESTS_PER_PEER_MAX`]).
    in_flight: usize,
    /// Its header at our head's number was another block.
    foreign: bool,
}

#[derive(Debug)]
enum Asked {
    /// eth/68: the header of the peer's head hash, to learn its number.
    HeadNumber(Hash),
    /// Work of sync run `run`.
    Work { run: u64, want: Want },
}

#[derive(Debug)]
struct Pending {
    peer: ConnId,
    deadline: Mono,
    asked: Asked,
}

/// The sync driver.
#[derive(Debug)]
pub struct Syncer {
    config: SyncConfig,
    local: LocalHead,
    peers: BTreeMap<ConnId, PeerState>,
    /// Peers the user named (static or trusted): one of them ahead starts a sync at once, without
    /// waiting for `min_peers` or the force timer (a CI peer with one server behind it).
    preferred: BTreeSet<ConnId>,
    /// Requests in flight by id: at most one per peer.
    pending: BTreeMap<u64, Pending>,
    /// Timed-out requests, whose replies are ignored.
    late: VecDeque<(u64, ConnId)>,
    next_id: u64,
    /// When the timer next starts a sync.
    force_at: Option<Mono>,
    run: Option<(u64, ConnId, Downloader)>,
    runs: u64,
    /// Blocks in each Write not yet confirmed, oldest first.
    writes: VecDeque<usize>,
    actions: VecDeque<SyncAction>,
}

impl Syncer {
    /// A syncer at our head.
    pub fn new(config: SyncConfig, local: LocalHead) -> Syncer {
        Syncer {
            config,
            local,
            peers: BTreeMap::new(),
            preferred: BTreeSet::new(),
            pending: BTreeMap::new(),
            late: VecDeque::new(),
            next_id: 1,
            force_at: None,
            run: None,
            runs: 0,
            writes: VecDeque::new(),
            actions: VecDeque::new(),
        }
    }

    /// Our head as the store last confirmed it.
    pub fn local_head(&self) -> LocalHead {
        self.local
    }

    /// Whether a sync run is going on.
    pub fn syncing(&self) -> bool {
        self.run.is_some()
    }

    /// The highest head number a peer has told us of (for `eth_syncing`).
    pub fn highest_peer_head(&self) -> Option<u64> {
        self.peers.values().filter_map(|p| p.head.number).max()
    }

    /// Blocks fetched and checked but not yet confirmed written (the memory bound's measure).
    pub fn buffered(&self) -> usize {
        let fetched = self.run.as_ref().map_or(0, |(_, _, d)| d.buffered());
        fetched + self.writes.iter().sum::<usize>()
    }

    /// A peer finished its Status exchange.
    pub fn add_peer(&mut self, now: Mono, peer: ConnId, head: PeerHead) {
        self.force_at
            .get_or_insert(now + self.config.force_interval);
        self.peers.insert(
            peer,
            PeerState {
                head,
                timeouts: 0,
                in_flight: 0,
                foreign: false,
            },
        );
        if head.number.is_none() {
            let id = self.new_request_id();
            let msg = EthMessage::GetBlockHeaders(GetBlockHeaders {
                request_id: id,
                origin: BlockOrigin::Hash(head.hash),
                amount: 1,
                skip: 0,
                reverse: false,
            });
            self.send(now, peer, id, Asked::HeadNumber(head.hash), msg);
            return;
        }
        self.maybe_start(false);
        self.pump(now);
    }

    /// A BlockRangeUpdate: the peer's head moved.
    pub fn update_peer(&mut self, now: Mono, peer: ConnId, latest: u64, hash: Hash) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.head.number = Some(latest);
            p.head.hash = hash;
        }
        self.pump(now);
    }

    /// The peer announced a new block (NewBlock with its total difficulty, or NewBlockHashes):
    /// its head moves there, and a sync starts at once if that puts it ahead of us (an
    /// announced block is reason enough not to wait for the force timer).
    pub fn announce(&mut self, now: Mono, peer: ConnId, number: u64, hash: Hash, td: Option<U256>) {
        if let Some(p) = self.peers.get_mut(&peer) {
            if p.head.number.is_none_or(|n| number >= n) {
                p.head.number = Some(number);
                p.head.hash = hash;
            }
            if let Some(td) = td
                && p.head.td.is_none_or(|old| td > old)
            {
                p.head.td = Some(td);
            }
        }
        self.maybe_start(true);
        self.pump(now);
    }

    /// Marks a peer the user named (static or trusted); call before [`Syncer::add_peer`].
    pub fn prefer_peer(&mut self, peer: ConnId) {
        self.preferred.insert(peer);
    }

    /// The peer disconnected; its requests go to others.
    pub fn remove_peer(&mut self, now: Mono, peer: ConnId) {
        self.preferred.remove(&peer);
        self.forget_peer(peer);
        self.pump(now);
    }

    fn forget_peer(&mut self, peer: ConnId) {
        if self.peers.remove(&peer).is_none() {
            return;
        }
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.peer == peer)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            if let Some(p) = self.pending.remove(&id) {
                self.give_back(&p, false);
            }
        }
        if let Some((_, _, d)) = self.run.as_mut() {
            d.peer_gone(peer);
        }
    }

    /// A BlockHeaders, BlockBodies or Receipts message from `peer`.
    pub fn handle_response(
        &mut self,
        now: Mono,
        peer: ConnId,
        msg: EthMessage,
    ) -> Result<(), SyncError> {
        let request_id = match &msg {
            EthMessage::BlockHeaders(r) | EthMessage::BlockBodies(r) => r.request_id,
            EthMessage::Receipts(r) => r.request_id,
            _ => return Err(SyncError::NotAReply(msg_name(&msg))),
        };
        let matches = self.pending.get(&request_id).is_some_and(|p| {
            p.peer == peer
                && matches!(
                    (&p.asked, &msg),
                    (Asked::HeadNumber(_), EthMessage::BlockHeaders(_))
                        | (
                            Asked::Work {
                                want: Want::Headers { .. },
                                ..
                            },
                            EthMessage::BlockHeaders(_)
                        )
                        | (
                            Asked::Work {
                                want: Want::Bodies(_),
                                ..
                            },
                            EthMessage::BlockBodies(_)
                        )
                        | (
                            Asked::Work {
                                want: Want::Receipts { .. },
                                ..
                            },
                            EthMessage::Receipts(_)
                        )
                )
        });
        if !matches {
            // A late reply is ignored once; the id is then used up, so a second reply to it
            // counts as unsolicited like any other.
            if let Some(i) = self.late.iter().position(|l| *l == (request_id, peer)) {
                self.late.remove(i);
                return Ok(());
            }
            return Err(SyncError::Unsolicited { request_id });
        }
        let Some(pending) = self.pending.remove(&request_id) else {
            return Err(SyncError::Unsolicited { request_id });
        };
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_flight = p.in_flight.saturating_sub(1);
        }
        match (pending.asked, msg) {
            (Asked::HeadNumber(hash), EthMessage::BlockHeaders(r)) => {
                self.head_number(peer, hash, &r)
            }
            (Asked::Work { run, want }, msg) => self.deliver(peer, run, want, msg),
            _ => {}
        }
        self.pump(now);
        Ok(())
    }

    /// The storage thread finished the oldest outstanding Write.
    pub fn handle_written(&mut self, now: Mono, result: Result<Head, String>) {
        let blocks = self.writes.pop_front().unwrap_or(0);
        match result {
            Ok(head) => {
                self.local = LocalHead {
                    number: head.number,
                    hash: head.hash,
                    td: head.td,
                };
                self.log(
                    "Imported new chain segment",
                    vec![
                        ("number", head.number.to_string()),
                        ("hash", format!("0x{}", hex(&head.hash))),
                        ("blocks", blocks.to_string()),
                    ],
                );
                if let Some((_, _, d)) = self.run.as_mut() {
                    d.written(head.number);
                }
            }
            Err(e) => {
                if self.run.take().is_some() {
                    self.log("Sync failed", vec![("err", format!("write failed: {e}"))]);
                }
            }
        }
        self.pump(now);
    }

    /// Time passed: expire requests, and start a sync on the timer.
    pub fn handle_timeout(&mut self, now: Mono) {
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            let Some(p) = self.pending.remove(&id) else {
                continue;
            };
            if self.late.len() >= LATE_IDS_MAX {
                self.late.pop_front();
            }
            self.late.push_back((id, p.peer));
            self.give_back(&p, true);
            let peer = p.peer;
            let stalled = self.peers.get_mut(&peer).is_some_and(|s| {
                s.in_flight = s.in_flight.saturating_sub(1);
                s.timeouts += 1;
                s.timeouts >= TIMEOUTS_MAX
            });
            if stalled {
                self.drop_peer(peer, format!("stalled: {TIMEOUTS_MAX} requests timed out"));
            }
        }
        if self.force_at.is_some_and(|t| t <= now) {
            self.force_at = Some(now + self.config.force_interval);
            self.maybe_start(true);
        }
        self.pump(now);
    }

    /// When [`Syncer::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let deadline = self.pending.values().map(|p| p.deadline).min();
        match (deadline, self.force_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next thing for the loop to do.
    pub fn poll_action(&mut self) -> Option<SyncAction> {
        self.actions.pop_front()
    }

    fn log(&mut self, msg: &'static str, fields: Vec<(&'static str, String)>) {
        self.actions.push_back(SyncAction::Log {
            msg,
            peer: None,
            fields,
        });
    }

    fn log_peer(&mut self, msg: &'static str, peer: ConnId, fields: Vec<(&'static str, String)>) {
        self.actions.push_back(SyncAction::Log {
            msg,
            peer: Some(peer),
            fields,
        });
    }

    fn new_request_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn send(&mut self, now: Mono, peer: ConnId, id: u64, asked: Asked, msg: EthMessage) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.in_flight += 1;
        }
        self.pending.insert(
            id,
            Pending {
                peer,
                deadline: now + self.config.request_timeout,
                asked,
            },
        );
        self.actions.push_back(SyncAction::Request { peer, msg });
    }

    /// Returns a request's work to the run.
    fn give_back(&mut self, p: &Pending, failed: bool) {
        if let (Asked::Work { run, want }, Some((current, _, d))) = (&p.asked, self.run.as_mut())
            && run == current
        {
            d.release(want, p.peer, failed);
        }
    }

    fn drop_peer(&mut self, peer: ConnId, why: String) {
        if self.peers.contains_key(&peer) {
            self.actions.push_back(SyncAction::Drop { peer, why });
            self.forget_peer(peer);
        }
    }

    /// eth/68: the reply giving the peer's head number.
    fn head_number(&mut self, peer: ConnId, hash: Hash, reply: &RawResponse) {
        match reply.headers().as_deref() {
            Ok([h]) if h.hash == hash => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.head.number = Some(h.number);
                }
                self.maybe_start(false);
            }
            // A peer may not serve its head's header yet; it stays no sync candidate.
            Ok([]) => {}
            _ => self.drop_peer(peer, "header does not match its head hash".to_string()),
        }
    }

    fn deliver(&mut self, peer: ConnId, run: u64, want: Want, msg: EthMessage) {
        let Some((current, _, d)) = self.run.as_mut() else {
            return;
        };
        if *current != run {
            return;
        }
        match (want, msg) {
            (Want::Headers { start, count }, EthMessage::BlockHeaders(r)) => {
                d.deliver_headers(peer, start, count, &r)
            }
            (Want::Bodies(numbers), EthMessage::BlockBodies(r)) => {
                d.deliver_bodies(peer, &numbers, &r)
            }
            (
                Want::Receipts {
                    numbers,
                    first_index,
                },
                EthMessage::Receipts(r),
            ) => d.deliver_receipts(peer, &numbers, first_index, &r),
            _ => {}
        }
    }

    /// The best sync candidate: by total difficulty among eth/68 peers before the merge,
    /// otherwise by head number; of equals the lowest connection id, which is the peer that
    /// connected first.
    fn best_peer(&self) -> Option<(ConnId, u64, Option<U256>)> {
        let mut best: Option<(ConnId, u64, Option<U256>)> = None;
        for (&id, p) in &self.peers {
            let Some(number) = p.head.number else {
                continue;
            };
            if p.foreign {
                continue;
            }
            let td = if self.config.merged { None } else { p.head.td };
            let better = match &best {
                None => true,
                Some((_, n, t)) => match (td, t) {
                    (Some(a), Some(b)) if a != *b => a > *b,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    _ => number > *n,
                },
            };
            if better {
                best = Some((id, number, td));
            }
        }
        best
    }

    /// Starts a run with the best peer if it is ahead of us and the moment is right.
    fn maybe_start(&mut self, forced: bool) {
        if self.run.is_some() || !self.writes.is_empty() {
            return;
        }
        let named = self.peers.keys().any(|p| self.preferred.contains(p));
        if !forced && !named && self.peers.len() < self.config.min_peers {
            return;
        }
        let Some((peer, number, td)) = self.best_peer() else {
            return;
        };
        let ahead = match td {
            Some(t) if t != self.local.td => t > self.local.td,
            _ => number > self.local.number,
        };
        if !ahead {
            return;
        }
        self.runs += 1;
        self.log_peer(
            "Block synchronisation started",
            peer,
            vec![
                ("from", self.local.number.to_string()),
                ("target", number.to_string()),
            ],
        );
        let d = Downloader::new(self.config, self.local.number, self.local.hash, number);
        self.run = Some((self.runs, peer, d));
    }

    /// The peers the run may use: connected, head known, chain containing our head.
    fn views(&self) -> Vec<PeerView> {
        self.peers
            .iter()
            .filter(|(_, p)| !p.foreign)
            .filter_map(|(&id, p)| {
                Some(PeerView {
                    id,
                    version: p.head.version,
                    number: p.head.number?,
                    earliest: p.head.earliest,
                })
            })
            .collect()
    }

    /// Carries out what the run found (drops, foreign peers, logs); false when there is no run
    /// left.
    fn take_events(&mut self) -> bool {
        loop {
            let Some((_, master, d)) = self.run.as_mut() else {
                return false;
            };
            let master = *master;
            let Some(event) = d.poll_event() else {
                return true;
            };
            match event {
                Event::Drop { peer, why } => self.drop_peer(peer, why),
                Event::Foreign {
                    peer,
                    number,
                    theirs,
                } => {
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.foreign = true;
                    }
                    self.log_peer(
                        "Peer's chain does not contain our head",
                        peer,
                        vec![
                            ("number", number.to_string()),
                            ("ours", format!("0x{}", hex(&self.local.hash))),
                            ("theirs", format!("0x{}", hex(&theirs))),
                        ],
                    );
                    if peer == master {
                        self.run = None;
                        return false;
                    }
                }
                Event::ReceiptsUnavailable { number, hash } => self.log(
                    "Receipts unavailable",
                    vec![
                        ("number", number.to_string()),
                        ("hash", format!("0x{}", hex(&hash))),
                        (
                            "why",
                            "no capable peer served them (a list over 10 MiB cannot travel before eth/70)".into(),
                        ),
                    ],
                ),
            }
        }
    }

    /// Carries out what the run found, hands out writes and requests, and ends the run.
    fn pump(&mut self, now: Mono) {
        if !self.take_events() {
            return;
        }
        let views = self.views();
        let Some((_, _, d)) = self.run.as_mut() else {
            return;
        };
        d.check(&views);
        // What the check found (receipts nobody has) is told before those blocks go out.
        if !self.take_events() {
            return;
        }
        let Some((run, master, d)) = self.run.as_mut() else {
            return;
        };
        let (run, master) = (*run, *master);
        while let Some(batch) = d.take_write(self.writes.len()) {
            self.writes.push_back(batch.len());
            self.actions.push_back(SyncAction::Write(batch));
        }
        match d.outcome().cloned() {
            Some(Outcome::Finished) => {
                self.run = None;
                self.log(
                    "Sync finished",
                    vec![
                        ("number", self.local.number.to_string()),
                        ("hash", format!("0x{}", hex(&self.local.hash))),
                    ],
                );
                return;
            }
            Some(Outcome::Failed(why)) => {
                self.run = None;
                self.log("Sync failed", vec![("err", why)]);
                return;
            }
            None => {}
        }
        // The master first, so the chunk holding our head goes to the peer chosen for it.
        let mut order: Vec<&PeerView> = views.iter().filter(|v| v.id == master).collect();
        order.extend(views.iter().filter(|v| v.id != master));
        let mut requests = Vec::new();
        for v in order {
            let Some(p) = self.peers.get(&v.id) else {
                continue;
            };
            for _ in p.in_flight..REQUESTS_PER_PEER_MAX {
                match d.next_request(v, &views) {
                    Some(want) => requests.push((v.id, want)),
                    None => break,
                }
            }
        }
        for (peer, want) in requests {
            let id = self.new_request_id();
            let Some((_, _, d)) = self.run.as_ref() else {
                return;
            };
            let msg = d.request_message(&want, id);
            self.send(now, peer, id, Asked::Work { run, want }, msg);
        }
    }
}

fn msg_name(msg: &EthMessage) -> &'static str {
    crate::eth::wire::message_name(EthVersion::Eth70, msg.id()).unwrap_or("message")
}

#[cfg(test)]
mod tests;
