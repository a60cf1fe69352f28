//! The syncer and downloader driven by an in-process simulation: simulated time, seeded
//! latencies, and fake peers that serve the fixture chain the way a server does (at most 1024
//! headers, a 2 MiB soft limit, eth/70 paging of block 11's 10.6 MB of receipts, eth/68 and
//! eth/69 answering empty for them, empty for unknown items), some of them lying or silent.

mod common;

use std::collections::{BTreeMap, VecDeque};

use common::TestRng;
use common::fixture_chain::{FixtureChain, fixture_chain};
use ethpeer::chain::block::{Head, StoredBlock};
use ethpeer::eth::sync::{ConnId, LocalHead, PeerHead, SyncAction, SyncConfig, Syncer};
use ethpeer::eth::{
    BlockOrigin, EthMessage, EthVersion, MESSAGE_SIZE_MAX, RawList, RawResponse, Receipt, Receipts,
    SERVE_COUNT_MAX, decode, encode,
};
use ethpeer::time::Mono;

/// go-ethereum's `softResponseLimit`: a server stops adding items once a reply passes 2 MiB.
const SOFT_LIMIT: usize = 2 * 1024 * 1024;

/// Block 11 carries 10.6 MB of receipts.
const LARGE_RECEIPTS_BLOCK: u64 = 11;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Honest,
    /// Serves the next block's body in place of each asked one.
    CorruptBodies,
    /// Raises the first receipt's cumulative gas in every list.
    CorruptReceipts,
    /// Never answers.
    Silent,
    /// Its block 0 is another genesis.
    OtherGenesis,
}

struct FakePeer {
    version: EthVersion,
    behaviour: Behaviour,
    head: u64,
}

impl FakePeer {
    fn new(version: EthVersion, behaviour: Behaviour) -> FakePeer {
        FakePeer {
            version,
            behaviour,
            head: fixture_chain().head(),
        }
    }

    fn status(&self, chain: &FixtureChain) -> PeerHead {
        let eth68 = self.version == EthVersion::Eth68;
        PeerHead {
            version: self.version,
            hash: self.header_hash(chain, self.head),
            number: (!eth68).then_some(self.head),
            td: eth68.then_some(chain.genesis.difficulty),
            earliest: 0,
        }
    }

    fn header(&self, chain: &FixtureChain, n: u64) -> Vec<u8> {
        if n == 0 && self.behaviour == Behaviour::OtherGenesis {
            let mut g = chain.genesis.clone();
            g.extra_data = b"another chain".to_vec();
            return g.rlp();
        }
        chain.headers[n as usize].clone()
    }

    fn header_hash(&self, chain: &FixtureChain, n: u64) -> [u8; 32] {
        ethpeer::crypto::keccak256(&self.header(chain, n))
    }

    /// The reply a server would send, if any.
    fn serve(&self, chain: &FixtureChain, msg: &EthMessage) -> Option<EthMessage> {
        if self.behaviour == Behaviour::Silent {
            return None;
        }
        let known = |hash: &[u8; 32]| chain.by_hash.get(hash).copied().filter(|&n| n <= self.head);
        Some(match msg {
            EthMessage::GetBlockHeaders(q) => {
                let origin = match q.origin {
                    BlockOrigin::Number(n) => Some(n),
                    BlockOrigin::Hash(h) => (0..=self.head)
                        .find(|&n| self.header_hash(chain, n) == h)
                        .or_else(|| known(&h)),
                };
                let mut items = Vec::new();
                let mut size = 0;
                let mut n = origin;
                while let Some(at) = n.filter(|&x| x <= self.head) {
                    if items.len() >= q.serve_count() || size >= SOFT_LIMIT {
                        break;
                    }
                    let h = self.header(chain, at);
                    size += h.len();
                    items.push(h);
                    let step = q.skip + 1;
                    n = if q.reverse {
                        at.checked_sub(step)
                    } else {
                        at.checked_add(step)
                    };
                }
                EthMessage::BlockHeaders(RawResponse {
                    request_id: q.request_id,
                    items: RawList::from_items(items).unwrap(),
                })
            }
            EthMessage::GetBlockBodies(q) => {
                let mut items = Vec::new();
                let mut size = 0;
                for n in q.hashes.iter().filter_map(known) {
                    if size >= SOFT_LIMIT || items.len() >= SERVE_COUNT_MAX {
                        break;
                    }
                    let served = match self.behaviour {
                        Behaviour::CorruptBodies => n % chain.head() + 1,
                        _ => n,
                    };
                    let body = chain.bodies[served as usize].clone();
                    size += body.len();
                    items.push(body);
                }
                EthMessage::BlockBodies(RawResponse {
                    request_id: q.request_id,
                    items: RawList::from_items(items).unwrap(),
                })
            }
            EthMessage::GetReceipts(q) => {
                let mut blocks: Vec<Vec<Receipt>> = Vec::new();
                let mut size = 0;
                let mut incomplete = false;
                for (i, n) in q.hashes.iter().filter_map(known).enumerate() {
                    if size >= SOFT_LIMIT || blocks.len() >= SERVE_COUNT_MAX {
                        break;
                    }
                    let all = &chain.decoded[n as usize];
                    let skip = if i == 0 {
                        q.first_block_receipt_index as usize
                    } else {
                        0
                    };
                    let rest = all.get(skip..).unwrap_or(&[]);
                    let sizes: Vec<usize> = rest.iter().map(|r| r.to_network().len()).collect();
                    let whole: usize = sizes.iter().sum();
                    if self.version.has_partial_receipts() {
                        // eth/70: cut the list once the reply passes the soft limit.
                        let mut list = Vec::new();
                        for (r, s) in rest.iter().zip(&sizes) {
                            if size >= SOFT_LIMIT {
                                incomplete = true;
                                break;
                            }
                            size += s;
                            list.push(r.clone());
                        }
                        blocks.push(list);
                        if incomplete {
                            break;
                        }
                    } else {
                        // eth/68-69 cannot carry a list over the message limit: the reply
                        // ends before it.
                        if size + whole > MESSAGE_SIZE_MAX - 1024 {
                            break;
                        }
                        size += whole;
                        blocks.push(rest.to_vec());
                    }
                }
                if self.behaviour == Behaviour::CorruptReceipts {
                    for list in &mut blocks {
                        if let Some(r) = list.first_mut() {
                            r.cumulative_gas += 1;
                        }
                    }
                }
                EthMessage::Receipts(
                    Receipts::from_receipts(self.version, q.request_id, incomplete, &blocks)
                        .unwrap(),
                )
            }
            _ => return None,
        })
    }
}

/// Through the wire codec and back, as the loop would see it.
fn round_trip(version: EthVersion, msg: &EthMessage) -> EthMessage {
    let (id, payload) = encode(version, msg).unwrap();
    assert!(payload.len() <= MESSAGE_SIZE_MAX, "a message over 10 MiB");
    decode(version, id, &payload).unwrap()
}

struct Sim {
    chain: &'static FixtureChain,
    config: SyncConfig,
    syncer: Syncer,
    peers: BTreeMap<ConnId, FakePeer>,
    now: u64,
    rng: TestRng,
    seq: u64,
    inbox: Vec<(u64, u64, ConnId, EthMessage)>,
    writes: VecDeque<(u64, Result<Head, String>)>,
    /// The head as of the last Write handed over.
    write_tip: (u64, [u8; 32]),
    stored: Vec<StoredBlock>,
    dropped: Vec<(ConnId, String)>,
    logs: Vec<(&'static str, Vec<(&'static str, String)>)>,
    requests: Vec<(u64, ConnId, EthMessage)>,
    max_buffered: usize,
    write_latency: u64,
    fail_writes_from: Option<u64>,
}

impl Sim {
    fn new(config: SyncConfig, seed: u64) -> Sim {
        let chain = fixture_chain();
        let local = LocalHead {
            number: 0,
            hash: chain.hashes[0],
            td: chain.genesis.difficulty,
        };
        Sim {
            chain,
            config,
            syncer: Syncer::new(config, local),
            peers: BTreeMap::new(),
            now: 0,
            rng: TestRng::new(seed),
            seq: 0,
            inbox: Vec::new(),
            writes: VecDeque::new(),
            write_tip: (0, chain.hashes[0]),
            stored: Vec::new(),
            dropped: Vec::new(),
            logs: Vec::new(),
            requests: Vec::new(),
            max_buffered: 0,
            write_latency: 20,
            fail_writes_from: None,
        }
    }

    fn add(&mut self, id: ConnId, peer: FakePeer) {
        let status = peer.status(self.chain);
        self.peers.insert(id, peer);
        self.syncer.add_peer(Mono(self.now), id, status);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(action) = self.syncer.poll_action() {
            self.max_buffered = self.max_buffered.max(self.syncer.buffered());
            match action {
                SyncAction::Request { peer, msg } => {
                    self.requests.push((self.now, peer, msg.clone()));
                    let Some(p) = self.peers.get(&peer) else {
                        continue;
                    };
                    let msg = round_trip(p.version, &msg);
                    if let Some(reply) = p.serve(self.chain, &msg) {
                        let reply = round_trip(p.version, &reply);
                        let at = self.now + 5 + self.rng.below(60);
                        self.seq += 1;
                        self.inbox.push((at, self.seq, peer, reply));
                    }
                }
                SyncAction::Drop { peer, why } => {
                    assert!(self.peers.remove(&peer).is_some(), "dropped twice: {peer}");
                    self.dropped.push((peer, why));
                    self.syncer.remove_peer(Mono(self.now), peer);
                }
                SyncAction::Write(blocks) => {
                    assert!(!blocks.is_empty(), "an empty write");
                    assert!(blocks.len() <= self.config.write_batch_max);
                    for b in &blocks {
                        assert_eq!(b.header.number, self.write_tip.0 + 1, "write skips");
                        assert_eq!(b.header.parent_hash, self.write_tip.1, "write unlinked");
                        self.write_tip = (b.header.number, b.hash);
                    }
                    let fail = self.fail_writes_from.is_some_and(|n| self.write_tip.0 >= n);
                    let result = if fail {
                        Err("disk full".to_string())
                    } else {
                        self.stored.extend(blocks);
                        Ok(Head {
                            number: self.write_tip.0,
                            hash: self.write_tip.1,
                            td: self.chain.genesis.difficulty,
                        })
                    };
                    assert!(self.writes.len() < self.config.writes_in_flight_max);
                    self.writes
                        .push_back((self.now + self.write_latency, result));
                }
                SyncAction::Log { msg, fields } => self.logs.push((msg, fields)),
            }
        }
    }

    /// Advances to the next event; false when nothing is left before `until`.
    fn step(&mut self, until: u64) -> bool {
        self.drain();
        let next = [
            self.inbox.iter().map(|m| m.0).min(),
            self.writes.front().map(|w| w.0),
            self.syncer.poll_timeout().map(|t| t.0),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(t) = next.filter(|&t| t <= until) else {
            return false;
        };
        self.now = self.now.max(t);
        self.inbox.sort_by_key(|m| (m.0, m.1));
        while self.inbox.first().is_some_and(|m| m.0 <= self.now) {
            let (_, _, peer, msg) = self.inbox.remove(0);
            if self.peers.contains_key(&peer) {
                let r = self.syncer.handle_response(Mono(self.now), peer, msg);
                assert_eq!(r, Ok(()), "reply from {peer} refused");
                self.drain();
            }
        }
        while self.writes.front().is_some_and(|w| w.0 <= self.now) {
            if let Some((_, result)) = self.writes.pop_front() {
                self.syncer.handle_written(Mono(self.now), result);
                self.drain();
            }
        }
        if self
            .syncer
            .poll_timeout()
            .is_some_and(|t| t <= Mono(self.now))
        {
            self.syncer.handle_timeout(Mono(self.now));
        }
        self.drain();
        true
    }

    /// Runs until the sync finishes or fails, or `until`.
    fn run(&mut self, until: u64) {
        while self.step(until) {
            if self
                .logs
                .iter()
                .any(|(m, _)| *m == "Sync finished" || *m == "Sync failed")
            {
                break;
            }
        }
        self.drain();
    }

    fn logged(&self, msg: &str) -> Vec<&Vec<(&'static str, String)>> {
        self.logs
            .iter()
            .filter(|(m, _)| *m == msg)
            .map(|(_, f)| f)
            .collect()
    }

    /// Asserts the whole chain was stored, receipts and all, except those of `without`.
    fn assert_synced(&self, context: &str, without: &[u64]) {
        let chain = self.chain;
        assert_eq!(
            self.syncer.local_head().number,
            chain.head(),
            "{context}: head"
        );
        assert_eq!(self.stored.len() as u64, chain.head(), "{context}: blocks");
        for b in &self.stored {
            let n = b.header.number as usize;
            assert_eq!(b.hash, chain.hashes[n], "{context}: hash of {n}");
            assert_eq!(b.body_rlp, chain.bodies[n], "{context}: body of {n}");
            if without.contains(&(n as u64)) {
                assert!(b.receipts_rlp.is_none(), "{context}: receipts of {n}");
            } else {
                // Compared as a bool: block 11's list is 10 MB, too much for a failure message.
                let equal = b.receipts_rlp.as_deref() == Some(chain.receipts[n].as_slice());
                assert!(
                    equal,
                    "{context}: receipts of {n} differ from the fixture's"
                );
            }
        }
        assert_eq!(self.logged("Sync finished").len(), 1, "{context}");
        assert!(
            self.max_buffered <= self.config.blocks_buffered_max,
            "{context}: {} blocks buffered",
            self.max_buffered
        );
    }
}

/// One honest peer of `version` alone: the force timer starts the sync, and every block arrives.
fn one_honest_peer_syncs_the_whole_chain(version: EthVersion, seed: u64) {
    let context = format!("{version}");
    let mut sim = Sim::new(SyncConfig::default(), seed);
    sim.add(ConnId(1), FakePeer::new(version, Behaviour::Honest));
    sim.run(120_000);
    assert!(sim.dropped.is_empty(), "{context}: {:?}", sim.dropped);
    let unavailable = sim.logged("Receipts unavailable");
    if version.has_partial_receipts() {
        sim.assert_synced(&context, &[]);
        assert!(unavailable.is_empty(), "{context}");
        // Block 11's receipts came in pages, each continuing where the last stopped.
        let pages = sim
            .requests
            .iter()
            .filter(|(_, _, m)| {
                matches!(m, EthMessage::GetReceipts(r) if r.first_block_receipt_index > 0)
            })
            .count();
        assert!(pages >= 4, "{context}: {pages} continuation pages");
    } else {
        sim.assert_synced(&context, &[LARGE_RECEIPTS_BLOCK]);
        assert_eq!(unavailable.len(), 1, "{context}");
        assert_eq!(unavailable[0][0], ("number", "11".to_string()), "{context}");
    }
    assert!(
        !sim.logged("Imported new chain segment").is_empty(),
        "{context}"
    );
}

#[test]
fn one_honest_eth68_peer_syncs_the_whole_chain_but_block_11_receipts() {
    one_honest_peer_syncs_the_whole_chain(EthVersion::Eth68, 1);
}

#[test]
fn one_honest_eth69_peer_syncs_the_whole_chain_but_block_11_receipts() {
    one_honest_peer_syncs_the_whole_chain(EthVersion::Eth69, 2);
}

#[test]
fn one_honest_eth70_peer_syncs_the_whole_chain_with_paged_receipts() {
    one_honest_peer_syncs_the_whole_chain(EthVersion::Eth70, 3);
}

#[test]
fn lying_and_silent_peers_are_dropped_and_the_sync_completes() {
    let mut sim = Sim::new(SyncConfig::default(), 7);
    // No eth/70 peer here: checking block 11's 10.6 MB of receipts takes seconds in a debug
    // build, and the eth/70 paging has its own case above.
    let peers = [
        (1, EthVersion::Eth69, Behaviour::CorruptBodies),
        (2, EthVersion::Eth68, Behaviour::CorruptReceipts),
        (3, EthVersion::Eth69, Behaviour::Silent),
        (4, EthVersion::Eth68, Behaviour::Honest),
        (5, EthVersion::Eth69, Behaviour::Honest),
        (6, EthVersion::Eth69, Behaviour::Honest),
        (7, EthVersion::Eth68, Behaviour::Honest),
    ];
    for (id, version, behaviour) in peers {
        sim.add(ConnId(id), FakePeer::new(version, behaviour));
    }
    sim.run(300_000);
    sim.assert_synced("mixed peers", &[LARGE_RECEIPTS_BLOCK]);
    let why = |peer: ConnId| {
        sim.dropped
            .iter()
            .find(|(p, _)| *p == peer)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| panic!("peer {peer} not dropped: {:?}", sim.dropped))
    };
    assert!(
        why(ConnId(1)).starts_with("body of block "),
        "{}",
        why(ConnId(1))
    );
    assert!(
        why(ConnId(1)).ends_with(" does not match its header"),
        "{}",
        why(ConnId(1))
    );
    assert!(
        why(ConnId(2)).starts_with("receipts root mismatch at "),
        "{}",
        why(ConnId(2))
    );
    assert!(why(ConnId(3)).starts_with("stalled"), "{}", why(ConnId(3)));
    assert_eq!(
        sim.dropped.len(),
        3,
        "honest peers dropped: {:?}",
        sim.dropped
    );
}

#[test]
fn a_peer_whose_chain_lacks_our_head_is_not_synced_from() {
    let config = SyncConfig {
        min_peers: 1,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, 3);
    sim.add(
        ConnId(1),
        FakePeer::new(EthVersion::Eth69, Behaviour::OtherGenesis),
    );
    while sim.step(40_000) {}
    let foreign = sim.logged("Peer's chain does not contain our head");
    assert_eq!(foreign.len(), 1, "{:?}", sim.logs);
    assert_eq!(foreign[0][0], ("peer", "1".to_string()));
    assert!(sim.stored.is_empty());
    assert!(sim.dropped.is_empty(), "{:?}", sim.dropped);
    // Only the one header request; the timer does not try it again.
    assert_eq!(sim.requests.len(), 1, "{:?}", sim.requests.len());
    assert_eq!(sim.logged("Block synchronisation started").len(), 1);
    // An honest peer arriving is synced from.
    sim.add(
        ConnId(2),
        FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
    );
    sim.run(200_000);
    sim.assert_synced("after a foreign peer", &[LARGE_RECEIPTS_BLOCK]);
    assert!(
        sim.requests.iter().skip(1).all(|(_, p, _)| *p == ConnId(2)),
        "the foreign peer was asked again"
    );
}

#[test]
fn min_peers_start_a_sync_at_once_and_the_timer_with_fewer() {
    let config = SyncConfig {
        min_peers: 3,
        ..SyncConfig::default()
    };
    let started = |sim: &Sim| sim.logged("Block synchronisation started").len();
    // Two peers: nothing until the force timer, 10 s after the first arrived.
    let mut sim = Sim::new(config, 11);
    sim.now = 1_000;
    let mut behind = FakePeer::new(EthVersion::Eth69, Behaviour::Honest);
    behind.head = 300;
    sim.add(ConnId(1), behind);
    sim.add(
        ConnId(2),
        FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
    );
    assert_eq!(started(&sim), 0);
    assert!(sim.requests.is_empty());
    assert_eq!(sim.syncer.poll_timeout(), Some(Mono(11_000)));
    sim.step(10_999);
    assert_eq!(started(&sim), 0, "started before the timer");
    sim.step(11_000);
    assert_eq!(sim.now, 11_000);
    assert_eq!(started(&sim), 1);
    // The best peer (head 600) gets the first header request, at our head.
    let (_, peer, first) = &sim.requests[0];
    assert_eq!(*peer, ConnId(2));
    assert!(
        matches!(first, EthMessage::GetBlockHeaders(q) if q.origin == BlockOrigin::Number(0)),
        "{first:?}"
    );

    // The third peer starts it at once.
    let mut sim = Sim::new(config, 12);
    for id in 1..=2 {
        sim.add(
            ConnId(id),
            FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
        );
    }
    assert_eq!(started(&sim), 0);
    sim.now = 500;
    sim.add(
        ConnId(3),
        FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
    );
    assert_eq!(started(&sim), 1);
    sim.run(200_000);
    sim.assert_synced("three peers", &[LARGE_RECEIPTS_BLOCK]);

    // A peer not ahead of us is never synced from, timer or not.
    let mut sim = Sim::new(config, 13);
    let mut level = FakePeer::new(EthVersion::Eth69, Behaviour::Honest);
    level.head = 0;
    sim.add(ConnId(1), level);
    while sim.step(35_000) {}
    assert_eq!(started(&sim), 0);
    assert!(sim.requests.is_empty());
}

#[test]
fn an_eth68_peer_is_asked_for_its_head_number_first() {
    let mut sim = Sim::new(SyncConfig::default(), 5);
    sim.add(
        ConnId(1),
        FakePeer::new(EthVersion::Eth68, Behaviour::Honest),
    );
    let (_, peer, msg) = &sim.requests[0];
    assert_eq!(*peer, ConnId(1));
    match msg {
        EthMessage::GetBlockHeaders(q) => {
            assert_eq!(q.origin, BlockOrigin::Hash(sim.chain.hashes[600]));
            assert_eq!(q.amount, 1);
        }
        other => panic!("{other:?}"),
    }
    sim.run(100_000);
    sim.assert_synced("eth/68 head number", &[LARGE_RECEIPTS_BLOCK]);
}

#[test]
fn replies_to_no_request_are_errors_and_late_ones_are_ignored() {
    let config = SyncConfig {
        min_peers: 1,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, 9);
    let mut silent = FakePeer::new(EthVersion::Eth69, Behaviour::Silent);
    silent.head = 600;
    sim.add(ConnId(1), silent);
    sim.add(
        ConnId(2),
        FakePeer::new(EthVersion::Eth69, Behaviour::Silent),
    );
    let headers = |id| {
        EthMessage::BlockHeaders(RawResponse {
            request_id: id,
            items: RawList::new(),
        })
    };
    let (_, asked, first) = sim.requests[0].clone();
    let id = first.request_id().unwrap();
    let other = if asked == ConnId(1) { 2 } else { 1 };
    // An id we never used, and ours but from the wrong peer.
    assert!(
        sim.syncer
            .handle_response(Mono(0), asked, headers(id + 100))
            .is_err()
    );
    assert!(
        sim.syncer
            .handle_response(Mono(0), ConnId(other), headers(id))
            .is_err()
    );
    // The right kind matters too.
    let bodies = EthMessage::BlockBodies(RawResponse {
        request_id: id,
        items: RawList::new(),
    });
    assert!(sim.syncer.handle_response(Mono(0), asked, bodies).is_err());
    // After the timeout the reply is late: ignored, not an error.
    sim.step(config.request_timeout);
    assert_eq!(sim.now, config.request_timeout);
    assert_eq!(
        sim.syncer
            .handle_response(Mono(sim.now), asked, headers(id)),
        Ok(())
    );
    // A second reply to the same late id is: the first one used it up.
    assert!(
        sim.syncer
            .handle_response(Mono(sim.now), asked, headers(id))
            .is_err(),
        "a second reply to late id {id} was taken"
    );
    assert!(
        sim.syncer
            .handle_response(
                Mono(sim.now),
                asked,
                EthMessage::Transactions(RawList::new())
            )
            .is_err()
    );
}

#[test]
fn memory_stays_within_the_buffer_bound_with_slow_writes() {
    let config = SyncConfig {
        min_peers: 2,
        blocks_buffered_max: 40,
        headers_buffered_max: 100,
        headers_per_request: 32,
        write_batch_max: 8,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, 21);
    sim.write_latency = 400;
    sim.add(
        ConnId(1),
        FakePeer::new(EthVersion::Eth68, Behaviour::Honest),
    );
    sim.add(
        ConnId(2),
        FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
    );
    sim.run(600_000);
    sim.assert_synced("slow writes", &[LARGE_RECEIPTS_BLOCK]);
    assert!(
        sim.max_buffered >= 20,
        "{} buffered at most",
        sim.max_buffered
    );
    assert!(
        sim.max_buffered <= 40,
        "{} buffered at most",
        sim.max_buffered
    );
}

#[test]
fn a_failed_write_stops_the_sync() {
    let config = SyncConfig {
        min_peers: 1,
        ..SyncConfig::default()
    };
    let mut sim = Sim::new(config, 4);
    sim.fail_writes_from = Some(200);
    sim.add(
        ConnId(1),
        FakePeer::new(EthVersion::Eth69, Behaviour::Honest),
    );
    sim.run(100_000);
    let failed = sim.logged("Sync failed");
    assert_eq!(failed.len(), 1, "{:?}", sim.logs);
    assert!(failed[0][0].1.contains("disk full"), "{:?}", failed[0]);
    assert!(sim.syncer.local_head().number < 200);
    assert!(!sim.syncer.syncing());
}
