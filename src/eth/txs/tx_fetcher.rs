//! Fetching announced transactions: the state machine behind NewPooledTransactionHashes and
//! GetPooledTransactions (devp2p caps/eth.md "Transaction Exchange", eth/68 typed announcements
//! of EIP-5793), with go-ethereum's transaction fetcher as the model of behaviour.
//!
//! A sans-IO core: time is the `now` (milliseconds) each call carries. An announced hash first
//! waits [`ARRIVE_TIMEOUT`], because most transactions also arrive pushed in full by some other
//! peer and fetching them would be a wasted round trip. Then it is requested from one of its
//! announcers, with at most one GetPooledTransactions in flight per peer, each at most
//! [`REQUEST_HASHES_MAX`] hashes or [`REQUEST_SIZE_MAX`] announced bytes. A request unanswered
//! after [`FETCH_TIMEOUT`], or answered without some of the hashes, sends those hashes to
//! another announcer; with none left they are dropped (an announcer will offer them again).
//! A delivered transaction whose type or size differs from what that same peer announced
//! proves the announcement false: the peer is disconnected and its body discarded.
//!
//! Memory is bounded: each peer has at most [`ANNOUNCED_PER_PEER_MAX`] hashes announced but not
//! yet fetched, and at most [`WAITING_COUNT_MAX`] hashes wait at once; the excess is dropped
//! and counted in [`FetchStats`].

use crate::time::Mono;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;

use super::broadcast::ConnId;
use crate::eth::wire::{ANNOUNCEMENTS_COUNT_MAX, Hash};

/// How long an announced hash waits for the full transaction to be pushed before it is
/// requested: go-ethereum's `txArriveTimeout` (500 ms), a few network latencies.
pub const ARRIVE_TIMEOUT: u64 = 500;

/// How long a GetPooledTransactions may go unanswered before its hashes are asked of another
/// announcer: go-ethereum's `txFetchTimeout` (5 s).
pub const FETCH_TIMEOUT: u64 = 5_000;

/// The most hashes in one GetPooledTransactions: go-ethereum's `maxTxRetrievals` (256), the
/// figure caps/eth.md recommends.
pub const REQUEST_HASHES_MAX: usize = 256;

/// The most announced bytes asked for in one GetPooledTransactions: go-ethereum's
/// `maxTxRetrievalSize` (128 KiB), so that a reply stays a modest message. One transaction
/// larger than this (a blob transaction with its sidecar) is still requested, alone.
pub const REQUEST_SIZE_MAX: usize = 128 * 1024;

/// The most hashes one peer may have announced to us that are not fetched yet: caps/eth.md's
/// 4096-item announcement and go-ethereum's `maxTxAnnounces`. More are dropped and counted.
pub const ANNOUNCED_PER_PEER_MAX: usize = ANNOUNCEMENTS_COUNT_MAX;

/// The most hashes waiting for [`ARRIVE_TIMEOUT`] at once, over all peers: 16 announcements'
/// worth. Mainnet carries a few hundred new transactions a second, so a full set means a flood;
/// new hashes are then dropped (and counted) until the wait drains.
pub const WAITING_COUNT_MAX: usize = 16 * ANNOUNCEMENTS_COUNT_MAX;

/// Why [`FetchAction::Disconnect`] is raised for a peer whose delivery contradicts its own
/// announcement.
pub const MISMATCH_REASON: &str = "announced type/size mismatch";

/// What the fetcher wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAction {
    /// Send GetPooledTransactions `[request_id, hashes]` to `peer`.
    Request {
        peer: ConnId,
        request_id: u64,
        hashes: Vec<Hash>,
    },
    /// Disconnect `peer` (a protocol breach); the fetcher has already forgotten it.
    Disconnect { peer: ConnId, why: &'static str },
}

impl fmt::Display for FetchAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchAction::Request {
                peer,
                request_id,
                hashes,
            } => write!(
                f,
                "request {} transactions from peer {peer} (id {request_id})",
                hashes.len()
            ),
            FetchAction::Disconnect { peer, why } => write!(f, "disconnect peer {peer}: {why}"),
        }
    }
}

/// Counters of what the fetcher dropped or gave up on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchStats {
    /// Announcements dropped because the peer had [`ANNOUNCED_PER_PEER_MAX`] outstanding.
    pub dropped_peer_full: u64,
    /// Announcements dropped because [`WAITING_COUNT_MAX`] hashes were waiting.
    pub dropped_waiting_full: u64,
    /// Hashes given up after every announcer failed to deliver them.
    pub unavailable: u64,
    /// Requests that went unanswered for [`FETCH_TIMEOUT`].
    pub timeouts: u64,
    /// Peers disconnected for a type/size mismatch.
    pub mismatches: u64,
    /// Requests sent.
    pub requests: u64,
}

/// A type and size as one peer announced them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    tx_type: u8,
    size: u32,
}

/// Where a tracked hash is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting until the given time for the body to be pushed.
    Waiting { until: Mono },
    /// Ready to be requested.
    Queued,
    /// Requested from this peer.
    Fetching { peer: ConnId },
}

/// One hash being fetched.
#[derive(Debug)]
struct Tracked {
    stage: Stage,
    /// Peers that announced it and are still connected.
    announcers: BTreeSet<ConnId>,
    /// Peers already asked that failed to deliver it.
    tried: Vec<ConnId>,
}

/// One request in flight.
#[derive(Debug)]
struct Request {
    id: u64,
    hashes: Vec<Hash>,
    deadline: Mono,
}

/// One announcing peer.
#[derive(Debug, Default)]
struct PeerState {
    /// Its outstanding announcements, with what it said of each and their arrival order.
    announced: HashMap<Hash, (u64, Meta)>,
    /// The same hashes by arrival order, so requests ask for the oldest first.
    order: BTreeMap<u64, Hash>,
    request: Option<Request>,
}

/// The transaction fetcher's state.
#[derive(Debug, Default)]
pub struct TxFetcher {
    tracked: HashMap<Hash, Tracked>,
    peers: BTreeMap<ConnId, PeerState>,
    /// Waiting hashes by deadline.
    waiting: BTreeSet<(Mono, Hash)>,
    /// How many tracked hashes are [`Stage::Queued`]; scheduling is skipped when none are.
    queued: usize,
    next_seq: u64,
    next_request_id: u64,
    actions: VecDeque<FetchAction>,
    stats: FetchStats,
}

impl TxFetcher {
    /// An empty fetcher.
    pub fn new() -> TxFetcher {
        TxFetcher::default()
    }

    /// The counters so far.
    pub fn stats(&self) -> FetchStats {
        self.stats
    }

    /// How many hashes are tracked (waiting, queued or being fetched).
    pub fn tracked_count(&self) -> usize {
        self.tracked.len()
    }

    /// How many hashes are waiting for [`ARRIVE_TIMEOUT`].
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<FetchAction> {
        self.actions.pop_front()
    }

    /// When [`TxFetcher::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Mono> {
        let wait = self.waiting.first().map(|(t, _)| *t);
        let requests = self
            .peers
            .values()
            .filter_map(|p| p.request.as_ref().map(|r| r.deadline))
            .min();
        match (wait, requests) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes a NewPooledTransactionHashes from `peer` (its three lists, of equal length once
    /// decoded). Hashes for which `is_known` says the pool has them are skipped.
    pub fn handle_announce(
        &mut self,
        now: Mono,
        peer: ConnId,
        types: &[u8],
        sizes: &[u32],
        hashes: &[Hash],
        is_known: &dyn Fn(&Hash) -> bool,
    ) {
        self.expire(now);
        for ((&tx_type, &size), hash) in types.iter().zip(sizes).zip(hashes) {
            if is_known(hash) {
                continue;
            }
            let state = self.peers.entry(peer).or_default();
            if state.announced.contains_key(hash) {
                continue;
            }
            if state.announced.len() >= ANNOUNCED_PER_PEER_MAX {
                self.stats.dropped_peer_full += 1;
                continue;
            }
            match self.tracked.get_mut(hash) {
                Some(t) => {
                    t.announcers.insert(peer);
                }
                None => {
                    if self.waiting.len() >= WAITING_COUNT_MAX {
                        self.stats.dropped_waiting_full += 1;
                        continue;
                    }
                    let until = now.saturating_add(ARRIVE_TIMEOUT);
                    self.waiting.insert((until, *hash));
                    self.tracked.insert(
                        *hash,
                        Tracked {
                            stage: Stage::Waiting { until },
                            announcers: BTreeSet::from([peer]),
                            tried: Vec::new(),
                        },
                    );
                }
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            state.announced.insert(*hash, (seq, Meta { tx_type, size }));
            state.order.insert(seq, *hash);
        }
        self.schedule(now);
    }

    /// A transaction arrived by other means (pushed in full, or accepted from any reply): stop
    /// waiting for or fetching it. A request already in flight for it is left to finish.
    pub fn handle_broadcast(&mut self, hash: &Hash) {
        self.forget(hash);
    }

    /// Takes a PooledTransactions from `peer`: for each transaction its hash, type and size
    /// (measured as announcements measure it). `request_id` is the reply's id; a reply to no
    /// request of ours still delivers its transactions. Returns the hashes whose bodies must be
    /// discarded because they contradict what this peer announced; the peer is then
    /// disconnected ([`FetchAction::Disconnect`]) and forgotten, and those hashes are asked of
    /// other announcers. Requested hashes missing from the reply go to other announcers too.
    pub fn handle_delivery(
        &mut self,
        now: Mono,
        peer: ConnId,
        request_id: Option<u64>,
        txs: &[(Hash, u8, usize)],
    ) -> Vec<Hash> {
        self.expire(now);
        // A hash any copy of which contradicts the announcement is refused whole, before any
        // other copy could end its tracking: its bodies are all discarded, so it must still be
        // fetched elsewhere.
        let mut rejected: Vec<Hash> = Vec::new();
        for (hash, tx_type, size) in txs {
            let announced = self
                .peers
                .get(&peer)
                .and_then(|p| p.announced.get(hash))
                .map(|(_, m)| *m);
            if announced.is_some_and(|m| m.tx_type != *tx_type || m.size as usize != *size)
                && !rejected.contains(hash)
            {
                rejected.push(*hash);
            }
        }
        for (hash, _, _) in txs {
            if !rejected.contains(hash) {
                self.forget(hash);
            }
        }
        let request = self.peers.get_mut(&peer).and_then(|p| {
            if p.request.as_ref().map(|r| r.id) == request_id && request_id.is_some() {
                p.request.take()
            } else {
                None
            }
        });
        if let Some(request) = request {
            for hash in &request.hashes {
                self.give_up_on(hash, peer);
            }
        }
        if !rejected.is_empty() {
            self.stats.mismatches += 1;
            self.remove_peer(peer);
            self.actions.push_back(FetchAction::Disconnect {
                peer,
                why: MISMATCH_REASON,
            });
        }
        self.schedule(now);
        rejected
    }

    /// Moves waiting hashes whose time is up to the queue and hands timed-out requests to other
    /// announcers, then schedules requests.
    pub fn handle_timeout(&mut self, now: Mono) {
        self.expire(now);
        self.schedule(now);
    }

    /// Forgets a peer: its announcements, and its request in flight, whose hashes go to other
    /// announcers (or are dropped when it was the last).
    pub fn remove_peer(&mut self, peer: ConnId) {
        let Some(state) = self.peers.remove(&peer) else {
            return;
        };
        for hash in state.order.values() {
            let Some(t) = self.tracked.get_mut(hash) else {
                continue;
            };
            t.announcers.remove(&peer);
            t.tried.retain(|p| *p != peer);
            if t.stage == (Stage::Fetching { peer }) {
                t.stage = Stage::Queued;
                self.queued += 1;
            }
            if t.announcers.is_empty() && !matches!(t.stage, Stage::Fetching { .. }) {
                self.forget(hash);
            } else {
                self.drop_if_exhausted(hash);
            }
        }
    }

    /// Forgets a peer we are disconnecting for a fault the fetcher did not see (a broken blob
    /// sidecar in its delivery): [`TxFetcher::remove_peer`], and its hashes are asked of other
    /// announcers at once rather than at the next timeout.
    pub fn drop_peer(&mut self, now: Mono, peer: ConnId) {
        self.remove_peer(peer);
        self.expire(now);
        self.schedule(now);
    }

    /// Expires waits and requests due by `now`.
    fn expire(&mut self, now: Mono) {
        while let Some(&(until, hash)) = self.waiting.first() {
            if until > now {
                break;
            }
            self.waiting.remove(&(until, hash));
            if let Some(t) = self.tracked.get_mut(&hash) {
                t.stage = Stage::Queued;
                self.queued += 1;
            }
        }
        let late: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.request.as_ref().is_some_and(|r| r.deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for peer in late {
            let request = self.peers.get_mut(&peer).and_then(|p| p.request.take());
            if let Some(request) = request {
                self.stats.timeouts += 1;
                for hash in &request.hashes {
                    self.give_up_on(hash, peer);
                }
            }
        }
    }

    /// `peer` was asked for `hash` and did not deliver it: ask someone else.
    fn give_up_on(&mut self, hash: &Hash, peer: ConnId) {
        let Some(t) = self.tracked.get_mut(hash) else {
            return;
        };
        if t.stage != (Stage::Fetching { peer }) {
            return;
        }
        t.tried.push(peer);
        t.stage = Stage::Queued;
        self.queued += 1;
        self.drop_if_exhausted(hash);
    }

    /// Drops a queued hash that no untried announcer is left to deliver.
    fn drop_if_exhausted(&mut self, hash: &Hash) {
        let exhausted = self.tracked.get(hash).is_some_and(|t| {
            t.stage == Stage::Queued && t.announcers.iter().all(|p| t.tried.contains(p))
        });
        if exhausted {
            self.stats.unavailable += 1;
            self.forget(hash);
        }
    }

    /// Stops tracking a hash everywhere.
    fn forget(&mut self, hash: &Hash) {
        let Some(t) = self.tracked.remove(hash) else {
            return;
        };
        match t.stage {
            Stage::Waiting { until } => {
                self.waiting.remove(&(until, *hash));
            }
            Stage::Queued => self.queued -= 1,
            Stage::Fetching { .. } => {}
        }
        for peer in &t.announcers {
            if let Some(p) = self.peers.get_mut(peer)
                && let Some((seq, _)) = p.announced.remove(hash)
            {
                p.order.remove(&seq);
            }
        }
    }

    /// Gives every idle peer a request for the queued hashes it announced and has not failed,
    /// oldest first, within [`REQUEST_HASHES_MAX`] and [`REQUEST_SIZE_MAX`].
    fn schedule(&mut self, now: Mono) {
        if self.queued == 0 {
            return;
        }
        let idle: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.request.is_none())
            .map(|(id, _)| *id)
            .collect();
        for peer in idle {
            if self.queued == 0 {
                break;
            }
            let Some(state) = self.peers.get(&peer) else {
                continue;
            };
            let mut hashes = Vec::new();
            let mut bytes = 0usize;
            for hash in state.order.values() {
                let Some(t) = self.tracked.get(hash) else {
                    continue;
                };
                if t.stage != Stage::Queued || t.tried.contains(&peer) {
                    continue;
                }
                let size = state
                    .announced
                    .get(hash)
                    .map_or(0, |(_, m)| m.size as usize);
                if !hashes.is_empty() && bytes.saturating_add(size) > REQUEST_SIZE_MAX {
                    break;
                }
                hashes.push(*hash);
                bytes = bytes.saturating_add(size);
                if hashes.len() >= REQUEST_HASHES_MAX {
                    break;
                }
            }
            if hashes.is_empty() {
                continue;
            }
            for hash in &hashes {
                if let Some(t) = self.tracked.get_mut(hash) {
                    t.stage = Stage::Fetching { peer };
                    self.queued -= 1;
                }
            }
            self.next_request_id = self.next_request_id.wrapping_add(1);
            let request_id = self.next_request_id;
            if let Some(state) = self.peers.get_mut(&peer) {
                state.request = Some(Request {
                    id: request_id,
                    hashes: hashes.clone(),
                    deadline: now.saturating_add(FETCH_TIMEOUT),
                });
            }
            self.stats.requests += 1;
            self.actions.push_back(FetchAction::Request {
                peer,
                request_id,
                hashes,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u32) -> Hash {
        let mut x = [0u8; 32];
        x[..4].copy_from_slice(&n.to_be_bytes());
        x
    }

    fn never(_: &Hash) -> bool {
        false
    }

    /// Announces `hashes` from `peer`, all type 2 with `size` bytes.
    fn announce(f: &mut TxFetcher, now: Mono, peer: ConnId, hashes: &[Hash], size: u32) {
        let types = vec![2u8; hashes.len()];
        let sizes = vec![size; hashes.len()];
        f.handle_announce(now, peer, &types, &sizes, hashes, &never);
    }

    fn requests(f: &mut TxFetcher) -> Vec<(ConnId, u64, Vec<Hash>)> {
        let mut out = Vec::new();
        while let Some(a) = f.poll_action() {
            match a {
                FetchAction::Request {
                    peer,
                    request_id,
                    hashes,
                } => out.push((peer, request_id, hashes)),
                other => panic!("unexpected {other}"),
            }
        }
        out
    }

    #[test]
    fn waits_for_the_push_then_requests() {
        let mut f = TxFetcher::new();
        announce(&mut f, Mono(1_000), ConnId(7), &[h(1), h(2)], 100);
        assert_eq!(f.poll_action(), None, "nothing before the arrive timeout");
        assert_eq!(f.poll_timeout(), Some(Mono(1_000 + ARRIVE_TIMEOUT)));
        f.handle_timeout(Mono(1_000 + ARRIVE_TIMEOUT - 1));
        assert_eq!(f.poll_action(), None);
        f.handle_timeout(Mono(1_000 + ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].0, &r[0].2), (ConnId(7), &vec![h(1), h(2)]));
        assert_eq!(f.poll_timeout(), Some(Mono(1_500 + FETCH_TIMEOUT)));
        let rejected = f.handle_delivery(
            Mono(1_600),
            ConnId(7),
            Some(r[0].1),
            &[(h(1), 2, 100), (h(2), 2, 100)],
        );
        assert!(rejected.is_empty());
        assert_eq!(f.tracked_count(), 0);
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn a_push_cancels_the_wait_and_known_hashes_are_skipped() {
        let mut f = TxFetcher::new();
        f.handle_announce(
            Mono(0),
            ConnId(1),
            &[2, 2],
            &[10, 10],
            &[h(1), h(2)],
            &|x| *x == h(2),
        );
        assert_eq!(f.tracked_count(), 1, "the known hash is not tracked");
        f.handle_broadcast(&h(1));
        assert_eq!(f.tracked_count(), 0);
        f.handle_timeout(Mono(10_000));
        assert_eq!(f.poll_action(), None);
    }

    #[test]
    fn requests_respect_the_count_and_size_caps() {
        let mut f = TxFetcher::new();
        let many: Vec<Hash> = (0..300).map(h).collect();
        announce(&mut f, Mono(0), ConnId(1), &many, 10);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        assert_eq!(r.len(), 1, "one request in flight per peer");
        assert_eq!(r[0].2, many[..REQUEST_HASHES_MAX].to_vec());
        let delivered: Vec<_> = r[0].2.iter().map(|x| (*x, 2u8, 10usize)).collect();
        f.handle_delivery(Mono(600), ConnId(1), Some(r[0].1), &delivered);
        let r = requests(&mut f);
        assert_eq!(r[0].2, many[REQUEST_HASHES_MAX..].to_vec());

        let mut f = TxFetcher::new();
        announce(&mut f, Mono(0), ConnId(1), &[h(1), h(2), h(3)], 60 * 1024);
        announce(&mut f, Mono(0), ConnId(2), &[h(9)], 200 * 1024);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        assert_eq!(
            r[0].2,
            vec![h(1), h(2)],
            "a third 60 KiB tx would pass 128 KiB"
        );
        assert_eq!(
            r[1].2,
            vec![h(9)],
            "a tx over the size cap is still asked for alone"
        );
    }

    #[test]
    fn a_timeout_moves_to_another_announcer_then_gives_up() {
        let mut f = TxFetcher::new();
        announce(&mut f, Mono(0), ConnId(1), &[h(1)], 10);
        announce(&mut f, Mono(100), ConnId(2), &[h(1)], 10);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let first = requests(&mut f);
        assert_eq!(first.len(), 1);
        let (asked, _, _) = first[0];
        f.handle_timeout(Mono(ARRIVE_TIMEOUT + FETCH_TIMEOUT));
        let second = requests(&mut f);
        assert_eq!(second.len(), 1);
        assert_ne!(second[0].0, asked, "retried from the other announcer");
        assert_eq!(f.stats().timeouts, 1);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT + 2 * FETCH_TIMEOUT));
        assert_eq!(f.poll_action(), None, "no announcer left");
        assert_eq!(f.tracked_count(), 0);
        assert_eq!(f.stats().unavailable, 1);
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn missing_hashes_in_a_reply_go_elsewhere_and_extra_ones_are_fine() {
        let mut f = TxFetcher::new();
        announce(&mut f, Mono(0), ConnId(1), &[h(1), h(2)], 10);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        announce(&mut f, Mono(600), ConnId(2), &[h(2)], 10);
        let rejected = f.handle_delivery(
            Mono(700),
            ConnId(1),
            Some(r[0].1),
            &[(h(1), 2, 10), (h(5), 0, 99)],
        );
        assert!(rejected.is_empty());
        // h(2) has waited out its push already: peer 2 is asked at once.
        let r = requests(&mut f);
        assert_eq!(r, vec![(ConnId(2), r[0].1, vec![h(2)])]);
    }

    #[test]
    fn a_lying_announcer_is_disconnected_and_the_tx_fetched_from_another() {
        let mut f = TxFetcher::new();
        f.handle_announce(Mono(0), ConnId(1), &[2], &[100], &[h(1)], &never);
        f.handle_announce(Mono(0), ConnId(2), &[3], &[131_200], &[h(1)], &never);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        assert_eq!(r[0].0, ConnId(1));
        let rejected = f.handle_delivery(Mono(600), ConnId(1), Some(r[0].1), &[(h(1), 3, 131_200)]);
        assert_eq!(rejected, vec![h(1)]);
        assert_eq!(
            f.poll_action(),
            Some(FetchAction::Disconnect {
                peer: ConnId(1),
                why: MISMATCH_REASON
            })
        );
        assert_eq!(
            f.poll_action(),
            Some(FetchAction::Request {
                peer: ConnId(2),
                request_id: r[0].1 + 1,
                hashes: vec![h(1)]
            })
        );
        assert_eq!(f.stats().mismatches, 1);
    }

    /// Found by the tx_fetcher fuzz target: a reply holding the hash twice, once as announced
    /// and once contradicting it, is refused for that hash, and the hash is still fetched from
    /// its other announcer (the matching copy used to end its tracking first).
    #[test]
    fn a_hash_delivered_both_as_announced_and_not_is_still_fetched_elsewhere() {
        for copies in [
            [(h(1), 3, 131_200), (h(1), 2, 100)],
            [(h(1), 2, 100), (h(1), 3, 131_200)],
        ] {
            let mut f = TxFetcher::new();
            f.handle_announce(Mono(0), ConnId(1), &[2], &[100], &[h(1)], &never);
            f.handle_announce(Mono(0), ConnId(2), &[2], &[100], &[h(1)], &never);
            f.handle_timeout(Mono(ARRIVE_TIMEOUT));
            let r = requests(&mut f);
            assert_eq!(r[0].0, ConnId(1));
            let rejected = f.handle_delivery(Mono(600), ConnId(1), Some(r[0].1), &copies);
            assert_eq!(rejected, vec![h(1)]);
            let mut actions = std::iter::from_fn(|| f.poll_action());
            assert!(matches!(
                actions.next(),
                Some(FetchAction::Disconnect { .. })
            ));
            assert_eq!(
                actions.next(),
                Some(FetchAction::Request {
                    peer: ConnId(2),
                    request_id: r[0].1 + 1,
                    hashes: vec![h(1)]
                }),
                "{copies:?}"
            );
        }
    }

    #[test]
    fn removing_a_peer_hands_its_request_on() {
        let mut f = TxFetcher::new();
        announce(&mut f, Mono(0), ConnId(1), &[h(1), h(2)], 10);
        announce(&mut f, Mono(0), ConnId(2), &[h(2)], 10);
        f.handle_timeout(Mono(ARRIVE_TIMEOUT));
        let r = requests(&mut f);
        assert_eq!(r.len(), 1, "peer 2 has nothing left to fetch: {r:?}");
        assert_eq!(r[0].0, ConnId(1));
        f.remove_peer(ConnId(1));
        assert_eq!(f.tracked_count(), 1, "h(1) had no other announcer");
        f.handle_timeout(Mono(600));
        assert_eq!(requests(&mut f)[0].2, vec![h(2)]);
    }

    #[test]
    fn announcements_are_bounded_per_peer_and_in_total() {
        let mut f = TxFetcher::new();
        let many: Vec<Hash> = (0..5_000).map(h).collect();
        announce(&mut f, Mono(0), ConnId(1), &many, 10);
        assert_eq!(f.tracked_count(), ANNOUNCED_PER_PEER_MAX);
        assert_eq!(
            f.stats().dropped_peer_full,
            (5_000 - ANNOUNCED_PER_PEER_MAX) as u64
        );
        let mut f = TxFetcher::new();
        let peers = (WAITING_COUNT_MAX / ANNOUNCED_PER_PEER_MAX + 1) as u64;
        for p in 0..peers {
            let base = (p as u32) * 100_000;
            let hs: Vec<Hash> = (base..base + ANNOUNCED_PER_PEER_MAX as u32)
                .map(h)
                .collect();
            announce(&mut f, Mono(0), ConnId(p), &hs, 10);
        }
        assert_eq!(f.waiting_count(), WAITING_COUNT_MAX);
        assert_eq!(
            f.stats().dropped_waiting_full,
            ANNOUNCED_PER_PEER_MAX as u64
        );
    }
}
