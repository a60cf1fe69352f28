//! The transaction side of the protocol manager (go-ethereum `eth/handler.go` txBroadcastLoop and
//! `handler_eth.go`'s transaction handlers, devp2p caps/eth.md "Transaction Exchange"): what comes
//! in (Transactions, NewPooledTransactionHashes, GetPooledTransactions, PooledTransactions) goes
//! through stateless validation into the pool, and what the pool gains goes out by the
//! [`Broadcaster`]'s policy; announced hashes are fetched by the [`TxFetcher`]. Sans-IO.
//!
//! Invalid transactions are counted and dropped, never relayed (go-ethereum does not disconnect
//! for them either: a peer may relay a transaction that became invalid on its way). A delivery
//! whose type or size contradicts its announcement disconnects the peer, and so does a
//! PooledTransactions reply holding a blob transaction whose sidecar is missing or does not
//! match its versioned hashes (EIP-4844 "Networking": the network form always carries it, so no
//! honest relay sends one; go-ethereum's handler refuses the message the same way). The
//! transaction is then fetched from another announcer.

use crate::time::Mono;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::broadcast::{Announced, BlockPlan, Broadcaster, announcement_packs};
use super::tx_fetcher::{FetchAction, TxFetcher};
use crate::eth::wire::{
    EthMessage, HashesRequest, NewPooledTransactionHashes, RawList, RawResponse,
};
use crate::tx::pool::{Pool, PoolConfig};
use crate::tx::state::AccountsAt;
use crate::tx::validate::{Checked, Rules, TxError, validate, validate_unless_known};
use crate::tx::{Hash, PoolTx};

pub use crate::p2p::ConnId;
use crate::p2p::Fault;

/// A Transactions message we send holds this many bytes of transactions at most (go-ethereum's
/// `maxTxPacketSize`: 100 KiB); more goes in further messages.
pub const TX_PACKET_SIZE_SOFT: usize = 100 * 1024;

/// A PooledTransactions reply holds this many bytes at most, past the first transaction
/// (go-ethereum's `softResponseLimit`: 2 MiB).
pub const POOLED_RESPONSE_SIZE_SOFT: usize = 2 * 1024 * 1024;

/// Counters for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Transaction bodies received (pushed or fetched).
    pub received: u64,
    /// Of those, bodies of transactions already in the pool.
    pub duplicates: u64,
    /// Of those, bodies that failed validation.
    pub invalid: u64,
    /// Transactions the pool took.
    pub added: u64,
    /// Valid transactions refused by the sender's account (nonce spent, balance short).
    pub refused_by_state: u64,
    /// Bodies we sent (pushed or served).
    pub sent: u64,
    /// Hashes we announced.
    pub announced: u64,
}

/// What the handler asks the loop to do.
#[derive(Debug)]
pub enum TxOut {
    /// Send this message to the peer.
    Send { peer: ConnId, msg: EthMessage },
    /// Disconnect the peer for `fault` (it lied about a transaction, or broke the protocol),
    /// saying why.
    Disconnect {
        peer: ConnId,
        fault: Fault,
        why: String,
    },
    /// Append this local transaction (network encoding) to the journal.
    Journal(Vec<u8>),
}

/// Pool, propagation and fetching.
pub struct TxHandler {
    pool: Pool,
    rules: Rules,
    broadcaster: Broadcaster,
    fetcher: TxFetcher,
    out: VecDeque<TxOut>,
    stats: TxStats,
    /// Draws per-peer salts for the broadcaster (splitmix64 over the seed).
    salt_state: u64,
    /// Invalid transactions received per peer (peers we know of only).
    invalid: BTreeMap<ConnId, u32>,
    /// Peers disconnected for invalid transactions, whose further bodies are ignored.
    dropped: BTreeSet<ConnId>,
    /// The accounts of an imported state snapshot, and whether its block is the head (only
    /// then do its nonces and balances hold).
    state: Option<AccountsAt>,
    state_active: bool,
}

/// What one received body turned out to be.
enum Taken {
    Valid(PoolTx),
    /// Already in the pool.
    Known(Hash),
    Invalid(TxError),
    /// The peer is being disconnected: ignore the rest of its message.
    PeerDropped,
}

/// Invalid transactions a peer may send before it is disconnected as useless: 128. Stateless
/// invalidity (bad signature, wrong chain, malformed) never heals on the way, so an honest relay
/// sends none; the bound caps the signature recoveries one peer can make the loop do.
pub const INVALID_TXS_PER_PEER_MAX: u32 = 128;

impl TxHandler {
    /// A handler validating by `rules`, with a pool bounded by `pool`; `seed` makes the push
    /// choice differ between nodes.
    pub fn new(pool: PoolConfig, rules: Rules, seed: u64) -> TxHandler {
        TxHandler {
            pool: Pool::new(pool),
            rules,
            broadcaster: Broadcaster::new(),
            fetcher: TxFetcher::new(),
            out: VecDeque::new(),
            stats: TxStats::default(),
            salt_state: seed,
            invalid: BTreeMap::new(),
            dropped: BTreeSet::new(),
            state: None,
            state_active: false,
        }
    }

    /// Gives the pool the accounts at one block; they are checked while `head` is that block.
    pub fn set_state(&mut self, state: AccountsAt, head: Hash) {
        self.state_active = state.block_hash == head;
        self.state = Some(state);
    }

    /// The head moved: a state snapshot of another block no longer says anything.
    pub fn set_head(&mut self, head: Hash) {
        self.state_active = self.state.as_ref().is_some_and(|s| s.block_hash == head);
    }

    /// The accounts to check transactions against: the snapshot's, while its block is the head.
    fn accounts(&self) -> Option<&AccountsAt> {
        self.state.as_ref().filter(|_| self.state_active)
    }

    /// The rules follow the head (fork, gas limit).
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// The counters so far.
    pub fn stats(&self) -> TxStats {
        self.stats
    }

    /// The pool (read-only).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A peer finished its Status: it gets our pending hashes (the seed's txsyncLoop).
    pub fn add_peer(&mut self, peer: ConnId) {
        let salt = crate::rng::splitmix64(&mut self.salt_state);
        self.broadcaster.add_peer(peer, salt);
        let pending: Vec<Announced> = self.pool.pending().map(Announced::of).collect();
        for pack in self.broadcaster.initial_announcements(peer, &pending) {
            self.stats.announced += pack.hashes.len() as u64;
            self.out.push_back(TxOut::Send {
                peer,
                msg: EthMessage::NewPooledTransactionHashes(pack),
            });
        }
    }

    /// The peer has this block (it announced or sent it).
    pub fn mark_block_known(&mut self, peer: ConnId, hash: Hash) {
        self.broadcaster.mark_block_known(peer, hash);
    }

    /// Who gets a new block whole and who its hash (see [`Broadcaster::plan_block`]).
    pub fn plan_block(&mut self, hash: Hash, peers: &[ConnId]) -> BlockPlan {
        self.broadcaster.plan_block(hash, peers)
    }

    /// A peer left (its counters go with it).
    pub fn remove_peer(&mut self, now: Mono, peer: ConnId) {
        self.broadcaster.remove_peer(peer);
        // `drop_peer`, not `remove_peer`: what was being fetched from it goes straight to its
        // other announcers (or gets a timer), not back to a queue nothing wakes.
        self.fetcher.drop_peer(now, peer);
        self.invalid.remove(&peer);
        self.dropped.remove(&peer);
        self.drain_fetcher();
    }

    /// A transaction submitted to this node (`--txs`, or the journal at start): validated,
    /// pooled as local, journaled when `journal`, and pushed to ⌈√n⌉ of `peers`.
    pub fn add_local(
        &mut self,
        now: Mono,
        bytes: &[u8],
        journal: bool,
        peers: &[ConnId],
    ) -> Result<Hash, String> {
        let tx = validate(&self.rules, bytes).map_err(|e| e.to_string())?;
        if let Some(state) = self.accounts() {
            state.check(&tx).map_err(|e| e.to_string())?;
        }
        let hash = tx.hash;
        self.pool.add(now, tx, true).map_err(|e| e.to_string())?;
        self.stats.added += 1;
        // Peers may have announced it: it is no longer to be fetched.
        self.fetcher.handle_broadcast(&hash);
        if journal {
            self.out.push_back(TxOut::Journal(bytes.to_vec()));
        }
        self.propagate(&[hash], peers, true);
        Ok(hash)
    }

    /// Transactions (0x02) pushed by `peer`.
    pub fn handle_transactions(
        &mut self,
        now: Mono,
        peer: ConnId,
        txs: &RawList,
        peers: &[ConnId],
    ) {
        let mut fresh = Vec::new();
        for item in txs.iter() {
            match self.take(peer, item) {
                Taken::Valid(tx) => {
                    self.fetcher.handle_broadcast(&tx.hash);
                    self.pool_add(now, tx, &mut fresh);
                }
                Taken::Known(hash) => self.fetcher.handle_broadcast(&hash),
                Taken::Invalid(_) => {}
                Taken::PeerDropped => break,
            }
        }
        self.propagate(&fresh, peers, false);
        self.drain_fetcher();
    }

    /// NewPooledTransactionHashes (0x08) from `peer`.
    pub fn handle_announce(&mut self, now: Mono, peer: ConnId, ann: &NewPooledTransactionHashes) {
        for h in &ann.hashes {
            self.broadcaster.mark_known(peer, *h);
        }
        let pool = &self.pool;
        self.fetcher
            .handle_announce(now, peer, &ann.types, &ann.sizes, &ann.hashes, &|h| {
                pool.contains(h)
            });
        self.drain_fetcher();
    }

    /// GetPooledTransactions (0x09): the ones we have, in request order, within the soft size.
    pub fn handle_get_pooled(&mut self, peer: ConnId, req: &HashesRequest) {
        let mut items: Vec<&[u8]> = Vec::new();
        let mut bytes = 0;
        for h in &req.hashes {
            if bytes >= POOLED_RESPONSE_SIZE_SOFT {
                break;
            }
            if let Some(tx) = self.pool.get(h) {
                bytes += tx.network_rlp.len();
                items.push(&tx.network_rlp);
                self.broadcaster.mark_known(peer, *h);
            }
        }
        self.stats.sent += items.len() as u64;
        // Pool entries were validated as RLP when they came in, so this cannot fail.
        let items = RawList::from_items(items).unwrap_or_default();
        self.out.push_back(TxOut::Send {
            peer,
            msg: EthMessage::PooledTransactions(RawResponse {
                request_id: req.request_id,
                items,
            }),
        });
    }

    /// PooledTransactions (0x0a) from `peer`: the answer to one of the fetcher's requests.
    pub fn handle_pooled(&mut self, now: Mono, peer: ConnId, resp: &RawResponse, peers: &[ConnId]) {
        let mut valid = Vec::new();
        let mut delivered: Vec<(Hash, u8, usize)> = Vec::new();
        for item in resp.items.iter() {
            match self.take(peer, item) {
                Taken::Valid(tx) => {
                    delivered.push((tx.hash, tx.tx_type, tx.size));
                    valid.push(tx);
                }
                // Already pooled (it came another way meanwhile): still a delivery.
                Taken::Known(hash) => {
                    if let Some(t) = self.pool.get(&hash) {
                        delivered.push((hash, t.tx_type, t.size));
                    }
                }
                Taken::Invalid(TxError::Decode(e)) if e.is_sidecar_fault() => {
                    // The whole reply is refused, as go-ethereum's handler refuses it.
                    self.dropped.insert(peer);
                    self.out.push_back(TxOut::Disconnect {
                        peer,
                        fault: Fault::CapabilityBreach,
                        why: format!("PooledTransactions: {e}"),
                    });
                    self.fetcher.drop_peer(now, peer);
                    self.drain_fetcher();
                    return;
                }
                Taken::Invalid(_) => {}
                Taken::PeerDropped => return,
            }
        }
        let rejected = self
            .fetcher
            .handle_delivery(now, peer, Some(resp.request_id), &delivered);
        let mut fresh = Vec::new();
        for tx in valid {
            if !rejected.contains(&tx.hash) {
                self.pool_add(now, tx, &mut fresh);
            }
        }
        self.propagate(&fresh, peers, false);
        self.drain_fetcher();
    }

    /// The fetcher's timers.
    pub fn handle_timeout(&mut self, now: Mono) {
        self.fetcher.handle_timeout(now);
        self.drain_fetcher();
    }

    /// When [`TxHandler::handle_timeout`] wants to run.
    pub fn poll_timeout(&self) -> Option<Mono> {
        self.fetcher.poll_timeout()
    }

    /// The next thing for the loop to do.
    pub fn poll(&mut self) -> Option<TxOut> {
        self.out.pop_front()
    }

    /// Checks one received body (the sender is recovered only for a transaction not already
    /// pooled) and marks it known to its sender. A peer past [`INVALID_TXS_PER_PEER_MAX`] invalid
    /// transactions is disconnected: each can cost a signature recovery on the event loop.
    fn take(&mut self, peer: ConnId, item: &[u8]) -> Taken {
        if self.dropped.contains(&peer) {
            return Taken::PeerDropped;
        }
        self.stats.received += 1;
        let pool = &self.pool;
        match validate_unless_known(&self.rules, item, &|h| pool.contains(h)) {
            Ok(Checked::Valid(tx)) => {
                self.broadcaster.mark_known(peer, tx.hash);
                Taken::Valid(tx)
            }
            Ok(Checked::Known(hash)) => {
                self.stats.duplicates += 1;
                self.broadcaster.mark_known(peer, hash);
                Taken::Known(hash)
            }
            Err(err) => {
                self.stats.invalid += 1;
                let count = self.invalid.entry(peer).or_insert(0);
                *count += 1;
                if *count > INVALID_TXS_PER_PEER_MAX {
                    self.dropped.insert(peer);
                    self.out.push_back(TxOut::Disconnect {
                        peer,
                        fault: Fault::CapabilityUseless,
                        why: format!("more than {INVALID_TXS_PER_PEER_MAX} invalid transactions"),
                    });
                    return Taken::PeerDropped;
                }
                Taken::Invalid(err)
            }
        }
    }

    fn pool_add(&mut self, now: Mono, tx: PoolTx, fresh: &mut Vec<Hash>) {
        // The same body twice in one message: the first one is in by now.
        if self.pool.contains(&tx.hash) {
            self.stats.duplicates += 1;
            return;
        }
        // Not counted against the peer: a transaction valid where the peer is may be spent
        // here, as go-ethereum does not punish it either.
        if let Some(state) = self.accounts()
            && state.check(&tx).is_err()
        {
            self.stats.refused_by_state += 1;
            return;
        }
        let hash = tx.hash;
        if self.pool.add(now, tx, false).is_ok() {
            self.stats.added += 1;
            fresh.push(hash);
        }
    }

    /// Sends what the broadcaster plans for `hashes` (still in the pool) to `peers`.
    fn propagate(&mut self, hashes: &[Hash], peers: &[ConnId], push: bool) {
        let txs: Vec<&PoolTx> = hashes.iter().filter_map(|h| self.pool.get(h)).collect();
        if txs.is_empty() {
            return;
        }
        let plans = self.broadcaster.plan_txs(&txs, peers, push);
        for (peer, plan) in plans {
            let mut batch: Vec<&[u8]> = Vec::new();
            let mut bytes = 0;
            for h in &plan.full {
                let Some(tx) = self.pool.get(h) else {
                    continue;
                };
                if !batch.is_empty() && bytes + tx.network_rlp.len() > TX_PACKET_SIZE_SOFT {
                    Self::send_txs(&mut self.out, peer, &batch);
                    batch.clear();
                    bytes = 0;
                }
                bytes += tx.network_rlp.len();
                batch.push(&tx.network_rlp);
            }
            if !batch.is_empty() {
                Self::send_txs(&mut self.out, peer, &batch);
            }
            self.stats.sent += plan.full.len() as u64;
            for pack in announcement_packs(&plan.announce) {
                self.stats.announced += pack.hashes.len() as u64;
                self.out.push_back(TxOut::Send {
                    peer,
                    msg: EthMessage::NewPooledTransactionHashes(pack),
                });
            }
        }
    }

    fn send_txs(out: &mut VecDeque<TxOut>, peer: ConnId, batch: &[&[u8]]) {
        if let Ok(items) = RawList::from_items(batch) {
            out.push_back(TxOut::Send {
                peer,
                msg: EthMessage::Transactions(items),
            });
        }
    }

    fn drain_fetcher(&mut self) {
        while let Some(a) = self.fetcher.poll_action() {
            self.out.push_back(match a {
                FetchAction::Request {
                    peer,
                    request_id,
                    hashes,
                } => TxOut::Send {
                    peer,
                    msg: EthMessage::GetPooledTransactions(HashesRequest { request_id, hashes }),
                },
                FetchAction::Disconnect { peer, why } => TxOut::Disconnect {
                    peer,
                    fault: Fault::CapabilityUseless,
                    why: why.to_string(),
                },
            });
        }
    }
}

#[cfg(test)]
mod tests;
