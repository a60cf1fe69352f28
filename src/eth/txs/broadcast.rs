//! Who hears about a new transaction or block, and how: the push/announce propagation policy of
//! devp2p caps/eth.md "Transaction Exchange" and "Block Propagation" (eth/68+ typed
//! announcements, EIP-5793), with go-ethereum's handler as the model of behaviour.
//!
//! A sans-IO core. For every peer it remembers a bounded set of transaction and block hashes
//! that the peer is known to have (we sent it, it sent it to us, or it announced it), so that
//! nothing is sent twice to the same peer. For each new transaction it sends the full body to
//! ⌈√n⌉ of the n candidate peers and an announcement (hash, type, size) to the others; the
//! full-body peers are ranked by `keccak256(sender || peer salt)`, so every transaction of one
//! sender goes to the same peers (nonce order survives, no gaps) while the salts, drawn per
//! peer by the caller, make the choice differ from node to node. Blob transactions and
//! transactions larger than [`TX_BROADCAST_SIZE_MAX`] are only announced: a peer fetches them
//! once, from one announcer, instead of receiving them √n times.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::crypto::keccak256_concat;
use crate::eth::wire::{ANNOUNCEMENTS_COUNT_MAX, Hash, NewPooledTransactionHashes};
use crate::tx::{Address, PoolTx};

pub use crate::p2p::ConnId;

/// Transaction hashes remembered per peer: go-ethereum's `maxKnownTxs` (32768). At 32 bytes a
/// hash this is 1 MiB per peer, enough to cover several minutes of mainnet traffic, which is as
/// long as a hash is likely to come round again.
pub const KNOWN_TXS_MAX: usize = 32_768;

/// Block hashes remembered per peer: go-ethereum's `maxKnownBlocks` (1024).
pub const KNOWN_BLOCKS_MAX: usize = 1_024;

/// The largest transaction (its network encoding) pushed in full: go-ethereum's
/// `txMaxBroadcastSize` (4 KiB). Larger ones are only announced, so that a big transaction
/// crosses each link once, on request.
pub const TX_BROADCAST_SIZE_MAX: usize = 4 * 1024;

/// The EIP-2718 type of blob transactions (EIP-4844), which are never pushed: their sidecars
/// are large and caps/eth.md says they must only be announced.
pub const BLOB_TX_TYPE: u8 = 3;

/// The most bytes of announcement entries in one NewPooledTransactionHashes we build: 100 KiB,
/// go-ethereum's `maxTxPacketSize` soft limit for transaction packets. An entry costs 34 to 39
/// bytes, so a pack stops near 2,700 entries, under [`ANNOUNCEMENTS_COUNT_MAX`].
pub const ANNOUNCEMENT_PACK_SIZE_MAX: usize = 100 * 1024;

/// One transaction as announced: what NewPooledTransactionHashes carries for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    /// The transaction hash.
    pub hash: Hash,
    /// Its EIP-2718 type.
    pub tx_type: u8,
    /// Its size as announced (go-ethereum sends 32 bits).
    pub size: u32,
}

impl Announced {
    /// The announcement of a pooled transaction.
    pub fn of(tx: &PoolTx) -> Announced {
        Announced {
            hash: tx.hash,
            tx_type: tx.tx_type,
            size: u32::try_from(tx.size).unwrap_or(u32::MAX),
        }
    }

    /// The bytes this entry adds to the three lists of an announcement: the type byte, the
    /// size as an RLP integer and the hash as a 32-byte RLP string.
    fn encoded_size(&self) -> usize {
        let size_len = match self.size {
            0..=0x7f => 1,
            s => 1 + (4 - s.leading_zeros() as usize / 8),
        };
        1 + size_len + 33
    }
}

/// What to send one peer about a batch of transactions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Transactions to send in full (a Transactions message of their network encodings).
    pub full: Vec<Hash>,
    /// Transactions to announce (NewPooledTransactionHashes).
    pub announce: Vec<Announced>,
}

impl Plan {
    /// The announcements as messages, each within the count and size caps.
    pub fn announcements(&self) -> Vec<NewPooledTransactionHashes> {
        announcement_packs(&self.announce)
    }
}

/// What to send about a new block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockPlan {
    /// Peers that get the whole block (NewBlock).
    pub new_block: Vec<ConnId>,
    /// Peers that get its hash and number (NewBlockHashes).
    pub announce: Vec<ConnId>,
}

/// Splits announcement entries into NewPooledTransactionHashes messages of at most
/// [`ANNOUNCEMENTS_COUNT_MAX`] entries and [`ANNOUNCEMENT_PACK_SIZE_MAX`] bytes, in order.
pub fn announcement_packs(items: &[Announced]) -> Vec<NewPooledTransactionHashes> {
    let mut packs = Vec::new();
    let mut pack = empty_pack();
    let mut bytes = 0;
    for item in items {
        let cost = item.encoded_size();
        let full = pack.hashes.len() >= ANNOUNCEMENTS_COUNT_MAX
            || (!pack.hashes.is_empty() && bytes + cost > ANNOUNCEMENT_PACK_SIZE_MAX);
        if full {
            packs.push(std::mem::replace(&mut pack, empty_pack()));
            bytes = 0;
        }
        pack.types.push(item.tx_type);
        pack.sizes.push(item.size);
        pack.hashes.push(item.hash);
        bytes += cost;
    }
    if !pack.hashes.is_empty() {
        packs.push(pack);
    }
    packs
}

fn empty_pack() -> NewPooledTransactionHashes {
    NewPooledTransactionHashes {
        types: Vec::new(),
        sizes: Vec::new(),
        hashes: Vec::new(),
    }
}

/// The smallest k with k² ≥ n: how many peers get a full body or block.
fn ceil_sqrt(n: usize) -> usize {
    let mut k = n.isqrt();
    if k * k < n {
        k += 1;
    }
    k
}

/// A set of hashes that forgets the oldest once it holds `cap`.
#[derive(Debug)]
struct KnownSet {
    set: HashSet<Hash>,
    order: VecDeque<Hash>,
    cap: usize,
}

impl KnownSet {
    fn new(cap: usize) -> KnownSet {
        KnownSet {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn contains(&self, hash: &Hash) -> bool {
        self.set.contains(hash)
    }

    fn insert(&mut self, hash: Hash) {
        if !self.set.insert(hash) {
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    fn len(&self) -> usize {
        self.set.len()
    }
}

/// What we remember of one peer.
#[derive(Debug)]
struct PeerKnown {
    salt: u64,
    txs: KnownSet,
    blocks: KnownSet,
}

/// The propagation policy's state: per peer, its salt and what it knows.
#[derive(Debug, Default)]
pub struct Broadcaster {
    peers: BTreeMap<ConnId, PeerKnown>,
}

impl Broadcaster {
    /// An empty broadcaster.
    pub fn new() -> Broadcaster {
        Broadcaster::default()
    }

    /// Starts tracking a peer. `salt` must be random per peer (from the node's seed): it decides
    /// which senders' transactions this peer receives in full. Re-adding a peer resets it.
    pub fn add_peer(&mut self, peer: ConnId, salt: u64) {
        self.peers.insert(
            peer,
            PeerKnown {
                salt,
                txs: KnownSet::new(KNOWN_TXS_MAX),
                blocks: KnownSet::new(KNOWN_BLOCKS_MAX),
            },
        );
    }

    /// Forgets a peer.
    pub fn remove_peer(&mut self, peer: ConnId) {
        self.peers.remove(&peer);
    }

    /// How many peers are tracked.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// Records that `peer` has the transaction (it sent, announced or requested it).
    pub fn mark_known(&mut self, peer: ConnId, hash: Hash) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.txs.insert(hash);
        }
    }

    /// Whether `peer` is known to have the transaction.
    pub fn knows(&self, peer: ConnId, hash: &Hash) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.txs.contains(hash))
    }

    /// How many transaction hashes are remembered for `peer`.
    pub fn known_count(&self, peer: ConnId) -> usize {
        self.peers.get(&peer).map_or(0, |p| p.txs.len())
    }

    /// Records that `peer` has the block (it announced or sent it).
    pub fn mark_block_known(&mut self, peer: ConnId, hash: Hash) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.blocks.insert(hash);
        }
    }

    /// Decides what each of `peers` (the candidates; unknown ids are skipped) gets of `txs`, and
    /// marks everything planned as known to its peer. A peer that already knows a transaction
    /// gets nothing for it. Of the candidates, the ⌈√n⌉ ranked first for the transaction's
    /// sender get the body, unless it is a blob transaction or its network encoding is over
    /// [`TX_BROADCAST_SIZE_MAX`]; the rest get an announcement. A full-body peer that already
    /// knows the transaction is not replaced by the next one: whoever told it will have
    /// forwarded the transaction along its own choice, and replacing would only add copies.
    /// Peers appear in the result in the order given, those with nothing to send left out.
    ///
    /// `push` is true for transactions that entered the network at this node (local ones):
    /// only those are pushed whole; a relay announces everything. Pushing at every hop would
    /// deliver a small transaction about ⌈√deg⌉ times to each node (2.3–2.5 bodies per node per
    /// transaction in the 50-node simulation); pushing at the origin only delivers it once,
    /// at the cost of one announce-and-fetch round trip per relay hop.
    pub fn plan_txs(
        &mut self,
        txs: &[&PoolTx],
        peers: &[ConnId],
        push: bool,
    ) -> Vec<(ConnId, Plan)> {
        let candidates: Vec<ConnId> = {
            let mut seen = HashSet::new();
            peers
                .iter()
                .copied()
                .filter(|p| self.peers.contains_key(p) && seen.insert(*p))
                .collect()
        };
        let direct_count = ceil_sqrt(candidates.len());
        let mut direct_by_sender: HashMap<Address, HashSet<ConnId>> = HashMap::new();
        let mut plans: Vec<Plan> = vec![Plan::default(); candidates.len()];
        for tx in txs {
            let pushable =
                push && tx.tx_type != BLOB_TX_TYPE && tx.network_rlp.len() <= TX_BROADCAST_SIZE_MAX;
            let direct = if pushable {
                Some(
                    direct_by_sender
                        .entry(tx.sender)
                        .or_insert_with(|| self.rank(&tx.sender, &candidates, direct_count)),
                )
            } else {
                None
            };
            for (i, peer) in candidates.iter().enumerate() {
                let Some(known) = self.peers.get_mut(peer) else {
                    continue;
                };
                if known.txs.contains(&tx.hash) {
                    continue;
                }
                known.txs.insert(tx.hash);
                let Some(plan) = plans.get_mut(i) else {
                    continue;
                };
                if direct.as_ref().is_some_and(|d| d.contains(peer)) {
                    plan.full.push(tx.hash);
                } else {
                    plan.announce.push(Announced::of(tx));
                }
            }
        }
        candidates
            .into_iter()
            .zip(plans)
            .filter(|(_, p)| !p.full.is_empty() || !p.announce.is_empty())
            .collect()
    }

    /// The `count` candidates ranked first for `sender`: lowest `keccak256(sender || salt)`.
    fn rank(&self, sender: &Address, candidates: &[ConnId], count: usize) -> HashSet<ConnId> {
        let mut scored: Vec<(Hash, ConnId)> = candidates
            .iter()
            .filter_map(|p| {
                let salt = self.peers.get(p)?.salt.to_be_bytes();
                Some((keccak256_concat(&[sender, &salt]), *p))
            })
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(count).map(|(_, p)| p).collect()
    }

    /// What a peer that just connected should be told of our pending transactions (the new-peer
    /// sync): announcements of those it does not know, in packs within the count and size caps.
    /// Everything announced is marked known.
    pub fn initial_announcements(
        &mut self,
        peer: ConnId,
        pending: &[Announced],
    ) -> Vec<NewPooledTransactionHashes> {
        let Some(known) = self.peers.get_mut(&peer) else {
            return Vec::new();
        };
        let mut fresh = Vec::new();
        for a in pending {
            if !known.txs.contains(&a.hash) {
                known.txs.insert(a.hash);
                fresh.push(*a);
            }
        }
        announcement_packs(&fresh)
    }

    /// Decides who gets a new block whole and who only its hash: of the candidates that do not
    /// know it, ⌈√n⌉ (ranked by `keccak256(block hash || salt)`) get NewBlock, the rest
    /// NewBlockHashes. Marks the block known to all of them.
    pub fn plan_block(&mut self, hash: Hash, peers: &[ConnId]) -> BlockPlan {
        let mut lacking: Vec<(Hash, ConnId)> = Vec::new();
        for p in peers {
            if let Some(known) = self.peers.get_mut(p)
                && !known.blocks.contains(&hash)
            {
                known.blocks.insert(hash);
                let salt = known.salt.to_be_bytes();
                lacking.push((keccak256_concat(&[&hash, &salt]), *p));
            }
        }
        let count = ceil_sqrt(lacking.len());
        let mut ranked = lacking.clone();
        ranked.sort_unstable();
        let chosen: HashSet<ConnId> = ranked.iter().take(count).map(|(_, p)| *p).collect();
        let mut plan = BlockPlan::default();
        for (_, p) in lacking {
            if chosen.contains(&p) {
                plan.new_block.push(p);
            } else {
                plan.announce.push(p);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(n: u8, sender: u8, tx_type: u8, len: usize) -> PoolTx {
        PoolTx {
            hash: [n; 32],
            sender: [sender; 20],
            nonce: 0,
            tx_type,
            gas_limit: 21_000,
            fee_cap: 1,
            tip_cap: 1,
            blob_count: 0,
            blob_fee_cap: 0,
            cost: crate::chain::header::U256::ZERO,
            size: len,
            network_rlp: vec![0; len],
        }
    }

    fn with_peers(n: u64) -> (Broadcaster, Vec<ConnId>) {
        let mut b = Broadcaster::new();
        for p in 0..n {
            b.add_peer(ConnId(p), p.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
        (b, (0..n).map(ConnId).collect())
    }

    fn full_peers(plans: &[(ConnId, Plan)], hash: Hash) -> Vec<ConnId> {
        plans
            .iter()
            .filter(|(_, p)| p.full.contains(&hash))
            .map(|(id, _)| *id)
            .collect()
    }

    #[test]
    fn ceil_sqrt_is_the_smallest_root_above() {
        let want = [0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4];
        for (n, k) in want.iter().enumerate() {
            assert_eq!(ceil_sqrt(n), *k, "n = {n}");
        }
        assert_eq!(ceil_sqrt(1 << 40), 1 << 20);
    }

    #[test]
    fn small_txs_go_in_full_to_root_n_peers_and_once_only() {
        let (mut b, peers) = with_peers(10);
        let t = tx(1, 1, 2, 200);
        let plans = b.plan_txs(&[&t], &peers, true);
        assert_eq!(plans.len(), 10);
        assert_eq!(full_peers(&plans, t.hash).len(), 4);
        let announced = plans.iter().filter(|(_, p)| p.announce.len() == 1).count();
        assert_eq!(announced, 6);
        for (_, plan) in plans.iter().filter(|(_, p)| !p.announce.is_empty()) {
            assert_eq!(
                plan.announce,
                vec![Announced {
                    hash: t.hash,
                    tx_type: 2,
                    size: 200
                }]
            );
        }
        assert!(
            b.plan_txs(&[&t], &peers, true).is_empty(),
            "every peer knows it now"
        );
    }

    #[test]
    fn a_relay_announces_everything() {
        let mut b = Broadcaster::new();
        let peers: Vec<ConnId> = (1..=9).map(ConnId).collect();
        for p in &peers {
            b.add_peer(*p, p.0 * 7);
        }
        let t = tx(1, 0, 2, 200);
        let plans = b.plan_txs(&[&t], &peers, false);
        assert_eq!(plans.len(), 9);
        assert!(
            plans
                .iter()
                .all(|(_, p)| p.full.is_empty() && p.announce.len() == 1)
        );
    }

    #[test]
    fn blob_and_large_txs_are_only_announced() {
        let (mut b, peers) = with_peers(9);
        let blob = tx(1, 1, BLOB_TX_TYPE, 300);
        let large = tx(2, 1, 2, TX_BROADCAST_SIZE_MAX + 1);
        let edge = tx(3, 1, 2, TX_BROADCAST_SIZE_MAX);
        let plans = b.plan_txs(&[&blob, &large, &edge], &peers, true);
        assert!(full_peers(&plans, blob.hash).is_empty());
        assert!(full_peers(&plans, large.hash).is_empty());
        assert_eq!(full_peers(&plans, edge.hash).len(), 3);
        for (peer, plan) in &plans {
            let hashes: Vec<Hash> = plan.announce.iter().map(|a| a.hash).collect();
            assert!(
                hashes.contains(&blob.hash) && hashes.contains(&large.hash),
                "{peer}"
            );
            assert_eq!(plan.announce[0].tx_type, BLOB_TX_TYPE);
        }
    }

    #[test]
    fn the_choice_is_stable_per_sender_and_differs_between_nodes() {
        let (mut b, peers) = with_peers(16);
        let a1 = tx(1, 7, 2, 100);
        let a2 = tx(2, 7, 2, 100);
        let first = full_peers(&b.plan_txs(&[&a1], &peers, true), a1.hash);
        let second = full_peers(&b.plan_txs(&[&a2], &peers, true), a2.hash);
        assert_eq!(first.len(), 4);
        assert_eq!(first, second, "same sender, same peers");
        let mut other = Broadcaster::new();
        for p in &peers {
            other.add_peer(
                *p,
                p.0.wrapping_add(12345).wrapping_mul(0xbf58_476d_1ce4_e5b9),
            );
        }
        let differs = (0..20u8).any(|s| {
            let t = tx(100 + s, s, 2, 100);
            full_peers(&b.plan_txs(&[&t], &peers, true), t.hash)
                != full_peers(&other.plan_txs(&[&t], &peers, true), t.hash)
        });
        assert!(differs, "salts must change the choice");
    }

    #[test]
    fn peers_that_know_a_tx_are_skipped_not_replaced() {
        let (mut b, peers) = with_peers(9);
        let probe = tx(1, 5, 2, 100);
        let chosen = full_peers(&b.plan_txs(&[&probe], &peers, true), probe.hash);
        let t = tx(2, 5, 2, 100);
        b.mark_known(chosen[0], t.hash);
        let plans = b.plan_txs(&[&t], &peers, true);
        assert_eq!(plans.len(), 8);
        assert_eq!(full_peers(&plans, t.hash), chosen[1..].to_vec());
        assert!(b.knows(chosen[0], &t.hash));
        b.remove_peer(chosen[0]);
        assert!(!b.knows(chosen[0], &t.hash));
    }

    #[test]
    fn known_sets_forget_the_oldest() {
        let (mut b, _) = with_peers(1);
        for i in 0..=KNOWN_TXS_MAX as u32 {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&i.to_be_bytes());
            b.mark_known(ConnId(0), hash);
        }
        assert_eq!(b.known_count(ConnId(0)), KNOWN_TXS_MAX);
        assert!(!b.knows(ConnId(0), &[0; 32]), "the first hash was evicted");
        let mut last = [0u8; 32];
        last[..4].copy_from_slice(&(KNOWN_TXS_MAX as u32).to_be_bytes());
        assert!(b.knows(ConnId(0), &last));
    }

    #[test]
    fn announcement_packs_respect_both_caps_and_keep_order() {
        let items: Vec<Announced> = (0..10_000u32)
            .map(|i| {
                let mut hash = [0u8; 32];
                hash[..4].copy_from_slice(&i.to_be_bytes());
                Announced {
                    hash,
                    tx_type: 2,
                    size: if i % 2 == 0 { 100 } else { 131_072 },
                }
            })
            .collect();
        let packs = announcement_packs(&items);
        let mut all = Vec::new();
        for p in &packs {
            assert!(p.hashes.len() <= ANNOUNCEMENTS_COUNT_MAX);
            let bytes: usize = p
                .hashes
                .iter()
                .zip(&p.sizes)
                .map(|(h, s)| {
                    Announced {
                        hash: *h,
                        tx_type: 2,
                        size: *s,
                    }
                    .encoded_size()
                })
                .sum();
            assert!(bytes <= ANNOUNCEMENT_PACK_SIZE_MAX, "{bytes}");
            assert_eq!(p.types.len(), p.hashes.len());
            all.extend(p.hashes.iter().copied());
        }
        assert!(packs.len() >= 4);
        assert_eq!(all, items.iter().map(|a| a.hash).collect::<Vec<_>>());
    }

    #[test]
    fn initial_announcements_skip_known_and_mark() {
        let (mut b, _) = with_peers(1);
        let pending: Vec<Announced> = (0..5u8).map(|i| Announced::of(&tx(i, 1, 2, 50))).collect();
        b.mark_known(ConnId(0), pending[1].hash);
        let packs = b.initial_announcements(ConnId(0), &pending);
        assert_eq!(packs.len(), 1);
        assert_eq!(packs[0].hashes.len(), 4);
        assert!(!packs[0].hashes.contains(&pending[1].hash));
        assert!(b.initial_announcements(ConnId(0), &pending).is_empty());
        assert!(
            b.initial_announcements(ConnId(9), &pending).is_empty(),
            "unknown peer"
        );
    }

    #[test]
    fn blocks_go_whole_to_root_n_peers() {
        let (mut b, peers) = with_peers(16);
        b.mark_block_known(ConnId(3), [9; 32]);
        let plan = b.plan_block([9; 32], &peers);
        assert_eq!(plan.new_block.len(), 4);
        assert_eq!(plan.announce.len(), 11);
        assert!(!plan.new_block.contains(&ConnId(3)) && !plan.announce.contains(&ConnId(3)));
        assert_eq!(b.plan_block([9; 32], &peers), BlockPlan::default());
    }
}
