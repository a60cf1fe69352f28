//! The transaction pool: valid transactions kept per sender in nonce order, bounded in count and
//! bytes, with price-bump replacement, per-sender quotas and cheapest-first eviction (go-ethereum
//! `core/txpool/legacypool` as the model; devp2p caps/eth.md "Transactions" for what the pool
//! feeds to peers).
//!
//! The pool is sans-IO: it holds [`PoolTx`] records the validator already checked, takes the time
//! as an argument and keeps every index in a `BTreeMap`/`BTreeSet`, so the same calls in the same
//! order always give the same pool.
//!
//! Without account state the pool cannot tell which nonce a sender is at: it keeps whatever
//! nonces arrive, gaps included, and drops a sender's transactions only when the caller says they
//! were mined ([`Pool::remove_mined`], [`Pool::set_sender_nonce`]) or when eviction needs room.
//!
//! Locality belongs to the sender, as in go-ethereum: once a transaction is added as local (it
//! came from our own user, not from a peer), every transaction of that sender is protected from
//! eviction and counted as local until the sender has nothing left in the pool. This keeps a
//! sender's run whole: eviction cuts a remote sender's run at the cheapest transaction and drops
//! everything above it, never leaving a local transaction stranded above a hole.
//!
//! Quotas, as go-ethereum's `AccountSlots`: every sender is guaranteed [`ACCOUNT_SLOTS`]
//! transactions, and may hold more while the pool has room. When the pool is full, room is
//! taken first from remote senders over their quota, the one holding the most first, at its
//! highest nonce (its least executable transaction), whatever the prices; only when no sender
//! is over quota does price decide. A sender over its own quota may cut senders holding at least
//! as many as it will (so over-quota senders even out, as go-ethereum's `truncatePending` evens
//! them) but never displaces a sender within its slots: a full pool refuses it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Bound, RangeBounds};

use super::{Address, Hash, PoolTx};
use crate::time::Mono;

/// Default most transactions held: 5,120, go-ethereum's `GlobalSlots` (4,096) plus `GlobalQueue`
/// (1,024). go-ethereum counts 32 KiB slots, so its pool may hold 160 MiB; here the count only
/// bounds the per-transaction bookkeeping (a few hundred bytes each, about 2.5 MiB at the limit)
/// and [`BYTES_MAX`] bounds the payload, which is what scales the pool down for small boards.
pub const TXS_COUNT_MAX: usize = 5_120;

/// Default most bytes of network encodings held: 32 MiB, one fifth of go-ethereum's worst case
/// (5,120 slots of 32 KiB), so a board with 512 MiB of RAM spends a small, known share on it.
pub const BYTES_MAX: usize = 32 << 20;

/// Default transactions each sender is guaranteed: 16, go-ethereum's `AccountSlots`. A sender
/// may hold more while the pool has room (a batch of thousands from one account is normal for
/// exchanges and tests), but what it holds beyond this is the first to go when the pool is full,
/// so one sender can never keep others out. The count and byte limits bound the pool whatever
/// one sender does.
pub const ACCOUNT_SLOTS: usize = 16;

/// Default price bump a replacement must offer, in percent: 10, go-ethereum's `PriceBump`. Below
/// it, re-sending the same nonce at a trivially higher price would make every peer re-gossip for
/// free.
pub const PRICE_BUMP_PERCENT: u64 = 10;

/// The pool's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions held in all ([`TXS_COUNT_MAX`] by default).
    pub txs_count_max: usize,
    /// Most bytes of network encodings held in all ([`BYTES_MAX`] by default).
    pub bytes_max: usize,
    /// Transactions each sender is guaranteed ([`ACCOUNT_SLOTS`] by default); more are held
    /// while there is room, and evicted first when there is not.
    pub account_slots: usize,
    /// Percent by which a replacement must raise both the fee cap and the tip cap
    /// ([`PRICE_BUMP_PERCENT`] by default).
    pub price_bump_percent: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            txs_count_max: TXS_COUNT_MAX,
            bytes_max: BYTES_MAX,
            account_slots: ACCOUNT_SLOTS,
            price_bump_percent: PRICE_BUMP_PERCENT,
        }
    }
}

/// What [`Pool::add`] did with an accepted transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// The transaction is new; `evicted` are the hashes dropped to make room for it.
    Added { evicted: Vec<Hash> },
    /// The transaction replaced the one with hash `old` (same sender and nonce); `evicted` are
    /// the hashes dropped to make room for the larger encoding, if it was larger.
    Replaced { old: Hash, evicted: Vec<Hash> },
}

/// Why [`Pool::add`] refused a transaction. A refusal leaves the pool unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// A transaction with this hash is already in the pool.
    AlreadyKnown,
    /// The sender already has a transaction at this nonce and the new one does not raise both
    /// caps by the price bump.
    ReplacementUnderpriced,
    /// The pool is full and the transaction does not pay more than the cheapest one it would
    /// have to evict.
    Underpriced,
    /// The pool is full and the sender already holds more than its `account_slots`: an
    /// over-quota sender never displaces a sender within its slots.
    SenderFull,
    /// The pool is full and nothing in it may be evicted (everything left is local).
    PoolFull,
    /// The encoding alone is larger than the pool's byte limit.
    TooLarge,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PoolError::AlreadyKnown => "already known",
            PoolError::ReplacementUnderpriced => "replacement transaction underpriced",
            PoolError::Underpriced => "transaction underpriced",
            PoolError::SenderFull => "sender has too many pending transactions",
            PoolError::PoolFull => "transaction pool is full of local transactions",
            PoolError::TooLarge => "transaction larger than the pool",
        })
    }
}

impl std::error::Error for PoolError {}

/// One held transaction and when it arrived.
#[derive(Debug, Clone)]
struct Entry {
    tx: PoolTx,
    added: Mono,
}

/// What the pool keeps per sender besides its transactions.
#[derive(Debug, Default, Clone, Copy)]
struct Account {
    /// Transactions held for this sender.
    count: usize,
    /// Whether any transaction of this sender came in as local.
    local: bool,
}

/// The key range of one sender's transactions from nonce `from` (inclusive) to `to` (exclusive,
/// `None` for no upper end).
fn run(sender: Address, from: u64, to: Option<u64>) -> impl RangeBounds<(Address, u64)> {
    let end = match to {
        Some(to) => Bound::Excluded((sender, to)),
        None => Bound::Included((sender, u64::MAX)),
    };
    (Bound::Included((sender, from)), end)
}

/// Eviction order of a remote transaction: lowest tip cap first, then lowest fee cap; among
/// equal prices the highest nonce first, so cutting the run drops as little as possible; the
/// sender last, only to make the order total.
type PriceKey = (u128, u128, Reverse<u64>, Address);

fn price_key(tx: &PoolTx) -> PriceKey {
    (tx.tip_cap, tx.fee_cap, Reverse(tx.nonce), tx.sender)
}

/// The transaction pool. See the module documentation for its rules.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    /// Every transaction, by sender then nonce. One map for all senders rather than one per
    /// sender: most senders hold a single transaction, and a map per sender would spend a whole
    /// B-tree node (eleven slots) on it.
    txs: BTreeMap<(Address, u64), Entry>,
    /// Senders with at least one transaction held.
    accounts: BTreeMap<Address, Account>,
    by_hash: BTreeMap<Hash, (Address, u64)>,
    /// Every transaction of a non-local sender, cheapest first: the eviction candidates.
    cheapest: BTreeSet<PriceKey>,
    /// Non-local senders holding more than `account_slots`, by how many they hold: the first
    /// eviction candidates.
    over_quota: BTreeSet<(usize, Address)>,
    count: usize,
    bytes: usize,
}

impl Pool {
    /// An empty pool with these limits.
    pub fn new(config: PoolConfig) -> Pool {
        Pool {
            config,
            txs: BTreeMap::new(),
            accounts: BTreeMap::new(),
            by_hash: BTreeMap::new(),
            cheapest: BTreeSet::new(),
            over_quota: BTreeSet::new(),
            count: 0,
            bytes: 0,
        }
    }

    /// The pool's limits.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Adds a validated transaction at time `now`. `local` marks a transaction from our own user
    /// (RPC or the journal) rather than from a peer: its sender's transactions are never evicted
    /// and a full pool makes room for it whatever its price.
    pub fn add(&mut self, now: Mono, tx: PoolTx, local: bool) -> Result<AddOutcome, PoolError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let size = tx.network_rlp.len();
        if size > self.config.bytes_max {
            return Err(PoolError::TooLarge);
        }
        let account = self.accounts.get(&tx.sender);
        let old = self.txs.get(&(tx.sender, tx.nonce)).map(|e| &e.tx);
        if let Some(old) = old {
            let bump = self.config.price_bump_percent;
            if !outbids(tx.fee_cap, old.fee_cap, bump) || !outbids(tx.tip_cap, old.tip_cap, bump) {
                return Err(PoolError::ReplacementUnderpriced);
            }
        }
        let protected = local || account.is_some_and(|a| a.local);
        let (old_count, old_bytes) = old.map_or((0, 0), |o| (1, o.network_rlp.len()));
        // Both sums stay within the limits plus one transaction, far below usize::MAX.
        let count_after = self.count + 1 - old_count;
        let bytes_after = self.bytes + size - old_bytes;
        let replaced = old.is_some();
        let cuts = self.plan_eviction(&tx, protected, count_after, bytes_after)?;

        let mut evicted = Vec::new();
        for (sender, nonce) in cuts {
            self.cut(sender, nonce, &mut evicted);
        }
        let old_hash = if replaced {
            self.remove_at(tx.sender, tx.nonce).map(|e| e.tx.hash)
        } else {
            None
        };
        self.insert(now, tx, local);
        Ok(match old_hash {
            Some(old) => AddOutcome::Replaced { old, evicted },
            None => AddOutcome::Added { evicted },
        })
    }

    /// Chooses which runs to cut so that `count_after` transactions of `bytes_after` bytes fit,
    /// without changing anything. Each cut is (sender, lowest nonce dropped). Over-quota senders
    /// are cut first ([`Pool::plan_quota_cuts`]); then, unless the incoming sender is over its
    /// own quota, by price: a remote incoming transaction must pay more than every transaction a
    /// price cut starts at; the higher nonces a cut drops with it may pay more, since without
    /// their predecessor they could not be mined. The walk visits at most the transactions it
    /// drops plus the incoming sender's own run.
    fn plan_eviction(
        &self,
        tx: &PoolTx,
        protected: bool,
        count_after: usize,
        bytes_after: usize,
    ) -> Result<BTreeMap<Address, u64>, PoolError> {
        let fits = |count: usize, bytes: usize| {
            count <= self.config.txs_count_max && bytes <= self.config.bytes_max
        };
        if fits(count_after, bytes_after) {
            return Ok(BTreeMap::new());
        }
        let mut cuts: BTreeMap<Address, u64> = BTreeMap::new();
        let (mut count, mut bytes) = (count_after, bytes_after);
        let sender_after = self.plan_quota_cuts(tx, protected, &mut cuts, &mut count, &mut bytes);
        if fits(count, bytes) {
            return Ok(cuts);
        }
        if !protected && sender_after > self.config.account_slots {
            return Err(PoolError::SenderFull);
        }
        let incoming = (tx.tip_cap, tx.fee_cap);
        for &(tip, fee, Reverse(nonce), sender) in &self.cheapest {
            if count <= self.config.txs_count_max && bytes <= self.config.bytes_max {
                break;
            }
            // Never cut the incoming sender's run at or below the incoming nonce: that would
            // strand the new transaction (or remove the one it replaces) behind a hole.
            if sender == tx.sender && nonce <= tx.nonce {
                continue;
            }
            let planned = cuts.get(&sender).copied();
            if planned.is_some_and(|p| p <= nonce) {
                continue; // Already dropped with a cheaper cut of the same run.
            }
            if !protected && incoming <= (tip, fee) {
                return Err(PoolError::Underpriced);
            }
            for entry in self.txs.range(run(sender, nonce, planned)).map(|(_, e)| e) {
                count -= 1;
                bytes -= entry.tx.network_rlp.len();
            }
            cuts.insert(sender, nonce);
        }
        if count <= self.config.txs_count_max && bytes <= self.config.bytes_max {
            Ok(cuts)
        } else {
            Err(PoolError::PoolFull)
        }
    }

    /// Plans cuts from remote senders over their quota until `count` and `bytes` fit or no
    /// such sender may be cut: always the one holding the most (the incoming sender counted
    /// with `tx`, unless it is protected), at its highest nonce; on a tie another sender before
    /// the incoming one, then the higher address. The incoming sender is cut only above `tx`'s
    /// nonce. Each step drops one transaction, so the walk is at most the transactions dropped
    /// plus one step per over-quota sender. Returns how many the incoming sender holds after.
    fn plan_quota_cuts(
        &self,
        tx: &PoolTx,
        protected: bool,
        cuts: &mut BTreeMap<Address, u64>,
        count: &mut usize,
        bytes: &mut usize,
    ) -> usize {
        let slots = self.config.account_slots;
        let held = self.accounts.get(&tx.sender).map_or(0, |a| a.count);
        let replaces = self.txs.contains_key(&(tx.sender, tx.nonce));
        let mut incoming_after = held + usize::from(!replaces);
        let mut over = self.over_quota.clone();
        // A protected sender is never cut; the incoming one is counted with its new tx.
        over.remove(&(held, tx.sender));
        if !protected && incoming_after > slots {
            over.insert((incoming_after, tx.sender));
        }
        while *count > self.config.txs_count_max || *bytes > self.config.bytes_max {
            let Some(&(most, _)) = over.last() else {
                break;
            };
            // Among those holding the most, another sender before the incoming one.
            let pick = over
                .range((most, [0; 20])..)
                .rev()
                .find(|(_, s)| *s != tx.sender)
                .or_else(|| over.last())
                .copied();
            let Some((held, sender)) = pick else {
                break;
            };
            let top = self
                .txs
                .range(run(sender, 0, cuts.get(&sender).copied()))
                .next_back()
                .map(|(_, e)| e);
            let top = match top {
                Some(e) if sender != tx.sender || e.tx.nonce > tx.nonce => e,
                // Nothing of it may go (the incoming sender's run ends at the incoming tx).
                _ => break,
            };
            *count -= 1;
            *bytes -= top.tx.network_rlp.len();
            cuts.insert(sender, top.tx.nonce);
            if sender == tx.sender {
                incoming_after -= 1;
            }
            over.remove(&(held, sender));
            if held - 1 > slots {
                over.insert((held - 1, sender));
            }
        }
        incoming_after
    }

    /// Drops `sender`'s transactions from `nonce` up, appending their hashes to `evicted`.
    fn cut(&mut self, sender: Address, nonce: u64, evicted: &mut Vec<Hash>) {
        evicted.extend(self.remove_run(sender, nonce, None));
    }

    /// Removes `sender`'s transactions with nonces in `from..to` from every index and returns
    /// their hashes.
    fn remove_run(&mut self, sender: Address, from: u64, to: Option<u64>) -> Vec<Hash> {
        let keys: Vec<(Address, u64)> = self
            .txs
            .range(run(sender, from, to))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|(sender, nonce)| self.remove_at(sender, nonce))
            .map(|e| e.tx.hash)
            .collect()
    }

    /// Removes the transaction at (sender, nonce) from every index.
    fn remove_at(&mut self, sender: Address, nonce: u64) -> Option<Entry> {
        let entry = self.txs.remove(&(sender, nonce))?;
        if let Some(account) = self.accounts.get_mut(&sender) {
            let before = *account;
            account.count -= 1;
            let after = *account;
            if account.count == 0 {
                self.accounts.remove(&sender);
            }
            self.requota(sender, before, after);
        }
        self.by_hash.remove(&entry.tx.hash);
        self.cheapest.remove(&price_key(&entry.tx));
        self.count -= 1;
        self.bytes -= entry.tx.network_rlp.len();
        Some(entry)
    }

    /// Puts a transaction whose slot is free into every index.
    fn insert(&mut self, now: Mono, tx: PoolTx, local: bool) {
        let account = self.accounts.entry(tx.sender).or_default();
        let before = *account;
        account.count += 1;
        if local && !account.local {
            account.local = true;
            for entry in self.txs.range(run(tx.sender, 0, None)).map(|(_, e)| e) {
                self.cheapest.remove(&price_key(&entry.tx));
            }
        }
        if !account.local {
            self.cheapest.insert(price_key(&tx));
        }
        let after = *account;
        self.requota(tx.sender, before, after);
        self.by_hash.insert(tx.hash, (tx.sender, tx.nonce));
        self.count += 1;
        self.bytes += tx.network_rlp.len();
        self.txs
            .insert((tx.sender, tx.nonce), Entry { tx, added: now });
    }

    /// Keeps `over_quota` right after `sender`'s account went from `before` to `after`.
    fn requota(&mut self, sender: Address, before: Account, after: Account) {
        let slots = self.config.account_slots;
        if !before.local && before.count > slots {
            self.over_quota.remove(&(before.count, sender));
        }
        if !after.local && after.count > slots {
            self.over_quota.insert((after.count, sender));
        }
    }

    /// Removes one transaction by hash. The sender's higher nonces stay: they become executable
    /// again if the removed one is mined elsewhere.
    pub fn remove(&mut self, hash: &Hash) -> Option<PoolTx> {
        let &(sender, nonce) = self.by_hash.get(hash)?;
        self.remove_at(sender, nonce).map(|e| e.tx)
    }

    /// Drops `sender`'s transactions with a nonce up to and including `nonce`: a block included
    /// that nonce, so it and every lower one are spent. Returns the dropped hashes.
    pub fn remove_mined(&mut self, sender: Address, nonce: u64) -> Vec<Hash> {
        match nonce.checked_add(1) {
            Some(next) => self.set_sender_nonce(sender, next),
            None => self.remove_run(sender, 0, None),
        }
    }

    /// Drops `sender`'s transactions with a nonce below `next_nonce`, the sender's account nonce
    /// after the latest block. Returns the dropped hashes.
    pub fn set_sender_nonce(&mut self, sender: Address, next_nonce: u64) -> Vec<Hash> {
        self.remove_run(sender, 0, Some(next_nonce))
    }

    /// The transaction with this hash.
    pub fn get(&self, hash: &Hash) -> Option<&PoolTx> {
        self.entry(hash).map(|e| &e.tx)
    }

    /// When the transaction with this hash was added (the `now` given to [`Pool::add`]).
    pub fn added_at(&self, hash: &Hash) -> Option<Mono> {
        self.entry(hash).map(|e| e.added)
    }

    fn entry(&self, hash: &Hash) -> Option<&Entry> {
        self.txs.get(self.by_hash.get(hash)?)
    }

    /// Whether a transaction with this hash is held.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Whether this sender's transactions are local (never evicted, journaled).
    pub fn is_local(&self, sender: &Address) -> bool {
        self.accounts.get(sender).is_some_and(|a| a.local)
    }

    /// Number of transactions held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the pool holds nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of network encodings held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Every transaction, by sender then nonce.
    pub fn pending(&self) -> impl Iterator<Item = &PoolTx> {
        self.txs.values().map(|e| &e.tx)
    }

    /// One sender's transactions, by nonce.
    pub fn sender_txs(&self, sender: &Address) -> impl Iterator<Item = &PoolTx> {
        self.txs.range(run(*sender, 0, None)).map(|(_, e)| &e.tx)
    }

    /// The transactions of local senders, by sender then nonce: what the journal keeps.
    pub fn local_txs(&self) -> impl Iterator<Item = &PoolTx> {
        self.accounts
            .iter()
            .filter(|(_, a)| a.local)
            .flat_map(|(sender, _)| self.txs.range(run(*sender, 0, None)).map(|(_, e)| &e.tx))
    }
}

/// Whether `new` outbids `old` by at least `bump_percent`: `new >= old * (100 + bump) / 100`
/// (rounded down, in exact integer arithmetic) and strictly more than `old`, so that a cap below
/// 10 wei, where the rounded bump is zero, still has to rise.
fn outbids(new: u128, old: u128, bump_percent: u64) -> bool {
    new > old && bumped(old, bump_percent).is_some_and(|threshold| new >= threshold)
}

/// `old * (100 + bump) / 100` rounded down, or `None` when it exceeds `u128::MAX` (no value can
/// reach it). Splitting `old` into hundreds and a remainder keeps every product in range.
fn bumped(old: u128, bump_percent: u64) -> Option<u128> {
    let factor = 100 + u128::from(bump_percent);
    let (hundreds, rest) = (old / 100, old % 100);
    hundreds
        .checked_mul(factor)?
        .checked_add(rest * factor / 100)
}

#[cfg(test)]
mod tests;
