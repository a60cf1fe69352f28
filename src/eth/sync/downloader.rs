//! The block downloader: one sync run from our head to a target number, as a sans-IO core (the
//! role of go-ethereum's `eth/downloader`; devp2p caps/eth.md "Chain Synchronization",
//! "GetBlockHeaders", "GetBlockBodies", "GetReceipts"; EIP-7975 for eth/70 partial receipts).
//!
//! The run fetches headers in chunks of consecutive numbers, links them from our head forward
//! (the first chunk starts AT our head, which checks that the peer's chain contains it), then
//! fetches each block's body and receipts by hash and checks them against the header with
//! [`verify_block`](crate::chain::verify::verify_block). Blocks leave in order, as batches that continue our head.
//!
//! The syncer (`syncer.rs`) decides who is asked and when; this module decides
//! what: [`Downloader::next_request`] hands out the next piece of work for one idle peer, and
//! the `deliver_*` methods take the replies. Everything the run wants the syncer to do (drop a
//! peer, log) is queued as an [`Event`].
//!
//! Bodies and receipts (eth/70 pages included) are taken in `deliver.rs`.
//!
//! Work items remember which peers failed them ([`Fails`]): a peer that answered empty or timed
//! out once is asked again only when no other peer could serve the item, and twice never. Blocks
//! are kept only within a window above the stored head, so memory stays bounded by
//! [`SyncConfig::blocks_buffered_max`] blocks and [`SyncConfig::headers_buffered_max`] headers.

use std::collections::{BTreeMap, VecDeque};

mod deliver;

use super::sync_work::{ConnId, Event, Fails, PeerView, SyncConfig, Want};
use crate::chain::block::StoredBlock;
use crate::eth::wire::{
    BlockOrigin, EthMessage, GetBlockHeaders, GetReceipts, Hash, HashesRequest, HeaderInfo,
    RawResponse,
};

/// A run of consecutive headers fetched as one request.
#[derive(Debug)]
struct Chunk {
    count: u64,
    state: ChunkState,
    fails: Fails,
}

#[derive(Debug)]
enum ChunkState {
    Idle,
    Asked(ConnId),
    /// Verified within itself, waiting to be linked to the header tip.
    Got {
        peer: ConnId,
        headers: Vec<(HeaderInfo, Vec<u8>)>,
    },
}

/// eth/70: the first receipts of a block whose list did not fit one reply.
#[derive(Debug)]
struct Partial {
    peer: ConnId,
    /// Consensus-encoded receipts so far.
    items: Vec<Vec<u8>>,
}

/// One block above the handed-over point, from its linked header on.
#[derive(Debug)]
struct Slot {
    info: HeaderInfo,
    header_rlp: Vec<u8>,
    /// The block once its body checked out (receipts added when they do).
    block: Option<StoredBlock>,
    tx_count: usize,
    body_asked: Option<ConnId>,
    body_fails: Fails,
    /// Receipts verified, or given up on.
    receipts_done: bool,
    receipts_asked: Option<ConnId>,
    receipts_fails: Fails,
    partial: Option<Partial>,
}

/// How a run ended, once it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every block up to the target was handed over.
    Finished,
    /// The run cannot go on.
    Failed(String),
}

/// One sync run.
#[derive(Debug)]
pub struct Downloader {
    config: SyncConfig,
    /// Our head number when the run started: the first chunk starts here.
    origin: u64,
    origin_hash: Hash,
    target: u64,
    /// The head the store confirmed.
    written: u64,
    /// The last block handed over in a Write.
    handed: u64,
    /// The last linked header.
    tip: (u64, Hash),
    /// Whether the first chunk, which holds our head, was checked and linked.
    anchored: bool,
    next_chunk: u64,
    chunks: BTreeMap<u64, Chunk>,
    /// Blocks `handed + 1 ..= tip.0`.
    slots: VecDeque<Slot>,
    events: VecDeque<Event>,
    outcome: Option<Outcome>,
}

impl Downloader {
    /// A run from our head (`number`, `hash`) to `target`.
    pub fn new(config: SyncConfig, number: u64, hash: Hash, target: u64) -> Downloader {
        let h = config.headers_per_request.max(2);
        let mut chunks = BTreeMap::new();
        let count = h.min(target.saturating_sub(number).saturating_add(1));
        chunks.insert(
            number,
            Chunk {
                count,
                state: ChunkState::Idle,
                fails: Fails::default(),
            },
        );
        Downloader {
            config,
            origin: number,
            origin_hash: hash,
            target,
            written: number,
            handed: number,
            tip: (number, hash),
            anchored: false,
            next_chunk: number.saturating_add(count),
            chunks,
            slots: VecDeque::new(),
            events: VecDeque::new(),
            outcome: None,
        }
    }

    /// The number the run syncs to.
    pub fn target(&self) -> u64 {
        self.target
    }

    /// The next thing to tell the syncer.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// How the run ended, if it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Blocks fetched (body checked) and not yet handed over.
    pub fn buffered(&self) -> usize {
        self.slots.iter().filter(|s| s.block.is_some()).count()
    }

    fn slot(&self, number: u64) -> Option<&Slot> {
        let i = number.checked_sub(self.handed.checked_add(1)?)?;
        self.slots.get(usize::try_from(i).ok()?)
    }

    fn slot_mut(&mut self, number: u64) -> Option<&mut Slot> {
        let i = number.checked_sub(self.handed.checked_add(1)?)?;
        self.slots.get_mut(usize::try_from(i).ok()?)
    }

    /// The highest number whose body may be fetched now: the memory bound.
    fn body_window_end(&self) -> u64 {
        self.written
            .saturating_add(self.config.blocks_buffered_max as u64)
    }

    /// Creates header chunks up to the target, within the header window.
    fn fill_chunks(&mut self) {
        if !self.anchored {
            return;
        }
        let h = self.config.headers_per_request.max(1);
        let end = self
            .written
            .saturating_add(self.config.headers_buffered_max as u64);
        while self.next_chunk <= self.target && self.next_chunk <= end {
            let start = self.next_chunk;
            let count = h.min(self.target - start + 1);
            self.chunks.insert(
                start,
                Chunk {
                    count,
                    state: ChunkState::Idle,
                    fails: Fails::default(),
                },
            );
            self.next_chunk = start + count;
        }
    }

    /// The next request for `peer` (idle), or `None` when nothing suits it. `peers` are all the
    /// peers the run may use, `peer` among them.
    pub fn next_request(&mut self, peer: &PeerView, peers: &[PeerView]) -> Option<Want> {
        if self.outcome.is_some() {
            return None;
        }
        self.fill_chunks();
        // eth/70: a block's receipt list continues on the peer that sent its start, while that
        // peer still says it has the block; once its head has moved below it (found by the
        // `syncer` fuzz target), the pages it sent are dropped and the list starts again on
        // whoever serves the block.
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let number = self.handed + 1 + i as u64;
            if let Some(p) = &slot.partial
                && p.peer == peer.id
                && slot.receipts_asked.is_none()
            {
                if !peer.serves(number, number) {
                    slot.partial = None;
                    continue;
                }
                slot.receipts_asked = Some(peer.id);
                return Some(Want::Receipts {
                    numbers: vec![number],
                    first_index: p.items.len() as u64,
                });
            }
        }
        if self.config.receipts {
            let numbers = self.pick(self.config.receipts_per_request, |s| {
                s.block.is_some()
                    && !s.receipts_done
                    && s.receipts_asked.is_none()
                    && s.partial.is_none()
                    && s.receipts_fails
                        .may_ask(peer, s.info.number, s.info.number, peers)
            });
            if !numbers.is_empty() {
                for &n in &numbers {
                    if let Some(s) = self.slot_mut(n) {
                        s.receipts_asked = Some(peer.id);
                    }
                }
                return Some(Want::Receipts {
                    numbers,
                    first_index: 0,
                });
            }
        }
        let window = self.body_window_end();
        let numbers = self.pick(self.config.bodies_per_request, |s| {
            s.info.number <= window
                && s.block.is_none()
                && s.body_asked.is_none()
                && s.body_fails
                    .may_ask(peer, s.info.number, s.info.number, peers)
        });
        if !numbers.is_empty() {
            for &n in &numbers {
                if let Some(s) = self.slot_mut(n) {
                    s.body_asked = Some(peer.id);
                }
            }
            return Some(Want::Bodies(numbers));
        }
        for (&start, chunk) in self.chunks.iter_mut() {
            let end = start + chunk.count.saturating_sub(1);
            if matches!(chunk.state, ChunkState::Idle)
                && chunk.fails.may_ask(peer, start, end, peers)
            {
                chunk.state = ChunkState::Asked(peer.id);
                return Some(Want::Headers {
                    start,
                    count: chunk.count,
                });
            }
        }
        None
    }

    /// Up to `max` slot numbers that pass `want`, lowest first.
    fn pick(&self, max: usize, want: impl Fn(&Slot) -> bool) -> Vec<u64> {
        self.slots
            .iter()
            .filter(|s| want(s))
            .take(max.max(1))
            .map(|s| s.info.number)
            .collect()
    }

    /// The message for `want` with request id `id`.
    pub fn request_message(&self, want: &Want, id: u64) -> EthMessage {
        match want {
            Want::Headers { start, count } => EthMessage::GetBlockHeaders(GetBlockHeaders {
                request_id: id,
                origin: BlockOrigin::Number(*start),
                amount: *count,
                skip: 0,
                reverse: false,
            }),
            Want::Bodies(numbers) => EthMessage::GetBlockBodies(HashesRequest {
                request_id: id,
                hashes: self.hashes(numbers),
            }),
            Want::Receipts {
                numbers,
                first_index,
            } => EthMessage::GetReceipts(GetReceipts {
                request_id: id,
                first_block_receipt_index: *first_index,
                hashes: self.hashes(numbers),
            }),
        }
    }

    fn hashes(&self, numbers: &[u64]) -> Vec<Hash> {
        numbers
            .iter()
            .filter_map(|&n| self.slot(n).map(|s| s.info.hash))
            .collect()
    }

    /// Gives the work of a request back; with `failed`, the peer is charged one failure for
    /// each item (a timeout).
    pub fn release(&mut self, want: &Want, peer: ConnId, failed: bool) {
        match want {
            Want::Headers { start, .. } => {
                if let Some(chunk) = self.chunks.get_mut(start)
                    && matches!(chunk.state, ChunkState::Asked(p) if p == peer)
                {
                    chunk.state = ChunkState::Idle;
                    if failed {
                        chunk.fails.add(peer);
                    }
                }
            }
            Want::Bodies(numbers) => {
                for &n in numbers {
                    if let Some(s) = self.slot_mut(n)
                        && s.body_asked == Some(peer)
                    {
                        s.body_asked = None;
                        if failed {
                            s.body_fails.add(peer);
                        }
                    }
                }
            }
            Want::Receipts { numbers, .. } => {
                for &n in numbers {
                    if let Some(s) = self.slot_mut(n)
                        && s.receipts_asked == Some(peer)
                    {
                        s.receipts_asked = None;
                        if failed {
                            s.receipts_fails.add(peer);
                        }
                    }
                }
            }
        }
    }

    /// The peer left: forget the receipts it started paging (it alone can continue them).
    pub fn peer_gone(&mut self, peer: ConnId) {
        for s in self.slots.iter_mut() {
            if s.partial.as_ref().is_some_and(|p| p.peer == peer) {
                s.partial = None;
            }
        }
    }

    fn drop_peer(&mut self, peer: ConnId, why: String) {
        self.events.push_back(Event::Drop { peer, why });
    }

    /// A BlockHeaders reply to `Want::Headers { start, count }`.
    pub fn deliver_headers(&mut self, peer: ConnId, start: u64, count: u64, reply: &RawResponse) {
        let want = Want::Headers { start, count };
        let headers = match reply.headers() {
            Ok(h) => h,
            Err(e) => {
                self.release(&want, peer, false);
                return self.drop_peer(peer, format!("undecodable header: {e}"));
            }
        };
        if headers.is_empty() {
            return self.release(&want, peer, true);
        }
        if headers.len() as u64 > count {
            self.release(&want, peer, false);
            return self.drop_peer(
                peer,
                format!("{} headers for a request of {count}", headers.len()),
            );
        }
        let first_chunk = start == self.origin && !self.anchored;
        if first_chunk && let Some(h) = headers.first().filter(|h| h.hash != self.origin_hash) {
            // The first chunk starts at our head: the peer's chain must contain it.
            let (number, theirs) = (h.number, h.hash);
            self.release(&want, peer, false);
            if number != start {
                return self.drop_peer(peer, format!("header chain broken at {start}"));
            }
            self.events.push_back(Event::Foreign {
                peer,
                number,
                theirs,
            });
            return;
        }
        // Consecutive numbers from `start`, each naming the one before as its parent.
        let mut expected = start;
        let mut parent: Option<Hash> = None;
        for h in &headers {
            if h.number != expected || parent.is_some_and(|p| p != h.parent_hash) {
                self.release(&want, peer, false);
                return self.drop_peer(peer, format!("header chain broken at {expected}"));
            }
            parent = Some(h.hash);
            expected += 1;
        }
        let mut got: Vec<(HeaderInfo, Vec<u8>)> = headers
            .into_iter()
            .zip(reply.items.iter().map(<[u8]>::to_vec))
            .collect();
        if first_chunk {
            // Our head itself, checked above.
            got.remove(0);
        }
        let served = expected - start;
        let Some(chunk) = self.chunks.get_mut(&start) else {
            return;
        };
        if !matches!(chunk.state, ChunkState::Asked(p) if p == peer) {
            return;
        }
        if served < count {
            // A short reply: keep what came, ask for the rest as a chunk of its own.
            chunk.count = served;
            self.chunks.insert(
                start + served,
                Chunk {
                    count: count - served,
                    state: ChunkState::Idle,
                    fails: Fails::default(),
                },
            );
        }
        if let Some(chunk) = self.chunks.get_mut(&start) {
            chunk.state = ChunkState::Got { peer, headers: got };
        }
        self.link();
    }

    /// Moves received chunks that continue the header tip into slots.
    fn link(&mut self) {
        loop {
            let first = if self.anchored {
                self.tip.0 + 1
            } else {
                self.origin
            };
            let Some(chunk) = self.chunks.get(&first) else {
                return;
            };
            let ChunkState::Got { peer, headers } = &chunk.state else {
                return;
            };
            let peer = *peer;
            if let Some((h, _)) = headers.first()
                && h.parent_hash != self.tip.1
            {
                // The tip is anchored at our head, so this chunk is the wrong one.
                let number = h.number;
                if let Some(chunk) = self.chunks.get_mut(&first) {
                    chunk.state = ChunkState::Idle;
                    chunk.fails.add(peer);
                }
                return self.drop_peer(peer, format!("header chain broken at {number}"));
            }
            let Some(Chunk {
                state: ChunkState::Got { headers, .. },
                ..
            }) = self.chunks.remove(&first)
            else {
                return;
            };
            for (info, header_rlp) in headers {
                self.tip = (info.number, info.hash);
                self.slots.push_back(Slot {
                    info,
                    header_rlp,
                    block: None,
                    tx_count: 0,
                    body_asked: None,
                    body_fails: Fails::default(),
                    receipts_done: !self.config.receipts,
                    receipts_asked: None,
                    receipts_fails: Fails::default(),
                    partial: None,
                });
            }
            self.anchored = true;
        }
    }

    /// Looks for work no peer can do: receipts no peer has (stored without), headers no peer
    /// has (the target comes down to what exists), and bodies or headers no peer could serve
    /// (the run fails).
    pub fn check(&mut self, peers: &[PeerView]) {
        if self.outcome.is_some() {
            return;
        }
        if peers.is_empty() {
            self.outcome = Some(Outcome::Failed("no peers to sync from".into()));
            return;
        }
        let mut unavailable = Vec::new();
        let mut failed = None;
        for s in self.slots.iter_mut() {
            let n = s.info.number;
            if s.block.is_none() && s.body_asked.is_none() {
                if !peers.iter().any(|p| p.serves(n, n)) || s.body_fails.all_gave_up(n, n, peers) {
                    failed = Some(format!("no peer serves the body of block {n}"));
                    break;
                }
            } else if s.block.is_some()
                && !s.receipts_done
                && s.receipts_asked.is_none()
                && s.partial.is_none()
            {
                if s.receipts_fails.all_gave_up(n, n, peers) {
                    s.receipts_done = true;
                    unavailable.push(Event::ReceiptsUnavailable {
                        number: n,
                        hash: s.info.hash,
                    });
                } else if !peers.iter().any(|p| p.serves(n, n)) {
                    failed = Some(format!("no peer serves the receipts of block {n}"));
                    break;
                }
            }
        }
        // Blocks given up on before a failure still go out (they are verified): say so first.
        self.events.extend(unavailable);
        if let Some(why) = failed {
            self.outcome = Some(Outcome::Failed(why));
            return;
        }
        let idle_chunk = self
            .chunks
            .iter()
            .find(|(_, c)| matches!(c.state, ChunkState::Idle))
            .map(|(&start, c)| (start, start + c.count.saturating_sub(1)));
        if let Some((start, end)) = idle_chunk {
            let chunk_fails = self.chunks.get(&start).map(|c| c.fails.clone());
            let gave_up = chunk_fails.is_some_and(|f| f.all_gave_up(start, end, peers));
            if gave_up && start > self.origin {
                // Nobody has these headers (the target was a claim): sync to what exists.
                self.target = start - 1;
                self.chunks.retain(|&s, _| s < start);
                self.next_chunk = start;
            } else if gave_up || !peers.iter().any(|p| p.serves(start, end)) {
                self.outcome = Some(Outcome::Failed(format!(
                    "no peer serves the headers from {start}"
                )));
                return;
            }
        }
        if self.handed >= self.target && self.written >= self.target {
            self.outcome = Some(Outcome::Finished);
        }
    }

    /// The next batch to write, if one should go now: up to `write_batch_max` ready blocks
    /// continuing the last handed-over one. A partial batch goes when nothing else is being
    /// written or it reaches the target. `writing` is how many writes are outstanding.
    pub fn take_write(&mut self, writing: usize) -> Option<Vec<StoredBlock>> {
        if writing >= self.config.writes_in_flight_max.max(1) {
            return None;
        }
        let max = self.config.write_batch_max.max(1);
        let ready = self
            .slots
            .iter()
            .take(max)
            .take_while(|s| s.block.is_some() && s.receipts_done)
            .count();
        if ready == 0 {
            return None;
        }
        let reaches_target = self.handed + ready as u64 >= self.target;
        if ready < max && writing > 0 && !reaches_target {
            return None;
        }
        let batch: Vec<StoredBlock> = self.slots.drain(..ready).filter_map(|s| s.block).collect();
        self.handed += batch.len() as u64;
        Some(batch)
    }

    /// The store wrote up to `number`.
    pub fn written(&mut self, number: u64) {
        self.written = self.written.max(number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth::sync::sync_work::tests::view;

    #[test]
    fn the_first_request_is_the_chunk_holding_our_head() {
        let config = SyncConfig::default();
        let mut d = Downloader::new(config, 7, [7; 32], 1000);
        let peers = [view(ConnId(1), 1000, 0)];
        let want = d.next_request(&peers[0], &peers);
        assert_eq!(
            want,
            Some(Want::Headers {
                start: 7,
                count: config.headers_per_request
            })
        );
        // Nothing else until that chunk links our head.
        let peers2 = [view(ConnId(1), 1000, 0), view(ConnId(2), 1000, 0)];
        assert_eq!(d.next_request(&peers2[1], &peers2), None);
    }
}
