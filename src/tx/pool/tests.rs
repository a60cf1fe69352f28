//! The pool's rules checked one by one (ordering, replacement bump, eviction order, local
//! senders, per-sender quotas, mined nonces) and its bounds under a seeded random workload.

use super::*;
use crate::crypto::keccak256;

/// A transaction with the given identity, prices and encoding size. Its hash is the keccak of
/// its fields, so two calls differing in any field give different hashes.
fn tx(sender: u8, nonce: u64, tip: u128, fee: u128, size: usize) -> PoolTx {
    let mut seed = vec![sender];
    seed.extend_from_slice(&nonce.to_be_bytes());
    seed.extend_from_slice(&tip.to_be_bytes());
    seed.extend_from_slice(&fee.to_be_bytes());
    seed.extend_from_slice(&(size as u64).to_be_bytes());
    PoolTx {
        hash: keccak256(&seed),
        sender: [sender; 20],
        nonce,
        tx_type: 2,
        gas_limit: 21_000,
        fee_cap: fee,
        tip_cap: tip,
        blob_count: 0,
        blob_fee_cap: 0,
        cost: crate::chain::header::U256::ZERO,
        size,
        network_rlp: vec![0xab; size],
    }
}

fn config(count: usize, bytes: usize, slots: usize) -> PoolConfig {
    PoolConfig {
        txs_count_max: count,
        bytes_max: bytes,
        account_slots: slots,
        price_bump_percent: PRICE_BUMP_PERCENT,
    }
}

fn evicted(outcome: AddOutcome) -> Vec<Hash> {
    match outcome {
        AddOutcome::Added { evicted } | AddOutcome::Replaced { evicted, .. } => evicted,
    }
}

impl Pool {
    /// Checks every index against the accounts and every total against its limit.
    fn check(&self) -> Result<(), String> {
        let (mut count, mut bytes) = (0, 0);
        let mut cheapest = BTreeSet::new();
        let mut per_sender: BTreeMap<Address, usize> = BTreeMap::new();
        for &(sender, _) in self.txs.keys() {
            *per_sender.entry(sender).or_default() += 1;
        }
        let counts: BTreeMap<Address, usize> =
            self.accounts.iter().map(|(s, a)| (*s, a.count)).collect();
        if per_sender != counts {
            return Err("account counts differ from the txs held".into());
        }
        let over: BTreeSet<(usize, Address)> = self
            .accounts
            .iter()
            .filter(|(_, a)| !a.local && a.count > self.config.account_slots)
            .map(|(s, a)| (a.count, *s))
            .collect();
        if over != self.over_quota {
            return Err("over-quota index differs from the accounts".into());
        }
        for (sender, account) in &self.accounts {
            for (&(_, nonce), entry) in self.txs.range(run(*sender, 0, None)) {
                let nonce = &nonce;
                if entry.tx.sender != *sender || entry.tx.nonce != *nonce {
                    return Err(format!("misfiled tx at {} {nonce}", sender[0]));
                }
                if self.by_hash.get(&entry.tx.hash) != Some(&(*sender, *nonce)) {
                    return Err(format!("by_hash misses {} {nonce}", sender[0]));
                }
                if !account.local {
                    cheapest.insert(price_key(&entry.tx));
                }
                count += 1;
                bytes += entry.tx.network_rlp.len();
            }
        }
        if count != self.count || count != self.by_hash.len() {
            return Err(format!(
                "count {count} vs {} / {}",
                self.count,
                self.by_hash.len()
            ));
        }
        if bytes != self.bytes {
            return Err(format!("bytes {bytes} vs {}", self.bytes));
        }
        if cheapest != self.cheapest {
            return Err("price index differs from the remote txs".into());
        }
        if count > self.config.txs_count_max || bytes > self.config.bytes_max {
            return Err(format!("limits exceeded: {count} txs, {bytes} bytes"));
        }
        Ok(())
    }
}

#[test]
fn pending_is_by_sender_then_nonce_whatever_the_arrival_order() {
    let mut pool = Pool::new(PoolConfig::default());
    for (s, n) in [(3, 2), (1, 7), (3, 0), (2, 5), (1, 1), (3, 1), (2, 4)] {
        pool.add(Mono(0), tx(s, n, 5, 10, 100), false).unwrap();
    }
    let order: Vec<(u8, u64)> = pool.pending().map(|t| (t.sender[0], t.nonce)).collect();
    assert_eq!(
        order,
        [(1, 1), (1, 7), (2, 4), (2, 5), (3, 0), (3, 1), (3, 2)]
    );
    assert_eq!(pool.len(), 7);
    assert_eq!(pool.bytes(), 700);
    let nonces: Vec<u64> = pool.sender_txs(&[3; 20]).map(|t| t.nonce).collect();
    assert_eq!(nonces, [0, 1, 2]);
    pool.check().unwrap();
}

#[test]
fn duplicate_hash_is_already_known_and_lookups_work() {
    let mut pool = Pool::new(PoolConfig::default());
    let t = tx(1, 0, 5, 10, 100);
    assert_eq!(
        pool.add(Mono(42), t.clone(), false),
        Ok(AddOutcome::Added { evicted: vec![] })
    );
    assert_eq!(
        pool.add(Mono(43), t.clone(), true),
        Err(PoolError::AlreadyKnown)
    );
    assert!(pool.contains(&t.hash));
    assert_eq!(pool.get(&t.hash), Some(&t));
    assert_eq!(pool.added_at(&t.hash), Some(Mono(42)));
    assert!(
        !pool.is_local(&t.sender),
        "the refused local add changed locality"
    );
    assert_eq!(pool.remove(&t.hash), Some(t.clone()));
    assert!(pool.is_empty() && pool.bytes() == 0 && !pool.contains(&t.hash));
    assert_eq!(pool.remove(&t.hash), None);
    pool.check().unwrap();
}

#[test]
fn replacement_needs_both_caps_raised_by_exactly_the_bump() {
    let mut pool = Pool::new(PoolConfig::default());
    let old = tx(1, 0, 100, 200, 100);
    pool.add(Mono(0), old.clone(), false).unwrap();
    // 10 % of 100 is 10 and of 200 is 20: one wei short on either cap is refused.
    for (tip, fee) in [(109, 220), (110, 219), (100, 300), (300, 200), (109, 219)] {
        assert_eq!(
            pool.add(Mono(1), tx(1, 0, tip, fee, 100), false),
            Err(PoolError::ReplacementUnderpriced),
            "tip {tip} fee {fee} should be refused"
        );
    }
    assert_eq!(pool.get(&old.hash), Some(&old));
    let new = tx(1, 0, 110, 220, 150);
    assert_eq!(
        pool.add(Mono(2), new.clone(), false),
        Ok(AddOutcome::Replaced {
            old: old.hash,
            evicted: vec![]
        })
    );
    assert!(!pool.contains(&old.hash));
    assert_eq!(pool.get(&new.hash), Some(&new));
    assert_eq!((pool.len(), pool.bytes()), (1, 150));
    pool.check().unwrap();
}

#[test]
fn replacement_bump_rounds_down_but_always_rises_and_never_overflows() {
    // 105 * 1.1 = 115.5: 115 is enough.
    assert!(outbids(115, 105, 10) && !outbids(114, 105, 10));
    // Below 10 wei the rounded bump is zero; the price must still rise.
    assert!(!outbids(5, 5, 10) && outbids(6, 5, 10));
    assert!(!outbids(0, 0, 10) && outbids(1, 0, 10));
    // Near the top of the range the threshold is computed exactly or found unreachable.
    assert!(!outbids(u128::MAX, u128::MAX, 10));
    let old = u128::MAX / 110 * 100;
    assert_eq!(bumped(old, 10), Some(old / 100 * 110));
    assert!(outbids(u128::MAX, old, 10));
    assert_eq!(bumped(u128::MAX / 100 * 91, 10), None);
    assert!(!outbids(u128::MAX, u128::MAX / 100 * 91, 10));
    // A zero bump still demands a strictly higher price; a huge bump does not overflow.
    assert!(!outbids(7, 7, 0) && outbids(8, 7, 0));
    assert!(!outbids(u128::MAX, 10u128.pow(22), u64::MAX));
    assert!(outbids(u128::MAX, 1_000, u64::MAX));
    assert_eq!(
        bumped(99, u64::MAX),
        Some(99 * (100 + u128::from(u64::MAX)) / 100)
    );
}

#[test]
fn full_pool_evicts_lowest_tip_then_lowest_fee_and_refuses_the_cheapest() {
    let mut pool = Pool::new(config(3, 1 << 20, 16));
    let a = tx(1, 0, 5, 100, 100);
    let b = tx(2, 0, 5, 50, 100);
    let c = tx(3, 0, 4, 500, 100);
    for t in [&a, &b, &c] {
        pool.add(Mono(0), t.clone(), false).unwrap();
    }
    // The cheapest is c (lowest tip, whatever its fee cap); a tx no better than c is refused.
    for (tip, fee) in [(4, 500), (4, 499), (3, 10_000)] {
        assert_eq!(
            pool.add(Mono(1), tx(9, 0, tip, fee, 100), false),
            Err(PoolError::Underpriced),
            "tip {tip} fee {fee}"
        );
    }
    assert_eq!(pool.len(), 3);
    let d = tx(4, 0, 4, 501, 100);
    assert_eq!(
        evicted(pool.add(Mono(1), d.clone(), false).unwrap()),
        [c.hash]
    );
    // Now d (tip 4) is cheapest, then b (tip 5, fee 50), then a.
    let e = tx(5, 0, 6, 60, 100);
    assert_eq!(
        evicted(pool.add(Mono(2), e.clone(), false).unwrap()),
        [d.hash]
    );
    let f = tx(6, 0, 6, 70, 100);
    assert_eq!(evicted(pool.add(Mono(3), f, false).unwrap()), [b.hash]);
    assert!(pool.contains(&a.hash) && pool.contains(&e.hash));
    pool.check().unwrap();
}

#[test]
fn eviction_cuts_the_senders_run_above_the_cheapest_and_frees_enough_bytes() {
    let mut pool = Pool::new(config(100, 1_000, 16));
    // Sender 1: nonce 0 pricey, nonce 1 cheapest, nonce 2 pricey again.
    let s0 = tx(1, 0, 50, 50, 200);
    let s1 = tx(1, 1, 1, 1, 200);
    let s2 = tx(1, 2, 50, 50, 200);
    let other = tx(2, 0, 10, 10, 300);
    for t in [&s0, &s1, &s2, &other] {
        pool.add(Mono(0), t.clone(), false).unwrap();
    }
    assert_eq!(pool.bytes(), 900);
    // 300 more bytes: cutting sender 1 at nonce 1 frees 400, enough.
    let new = tx(3, 0, 20, 20, 300);
    let gone = evicted(pool.add(Mono(1), new, false).unwrap());
    assert_eq!(gone, [s1.hash, s2.hash]);
    assert!(pool.contains(&s0.hash) && pool.contains(&other.hash));
    assert_eq!(pool.bytes(), 800);
    // A tx as large as the whole pool evicts everything cheaper, one larger is refused.
    assert_eq!(
        pool.add(Mono(2), tx(4, 0, 99, 99, 1_001), false),
        Err(PoolError::TooLarge)
    );
    let big = tx(4, 0, 99, 99, 1_000);
    assert_eq!(evicted(pool.add(Mono(2), big, false).unwrap()).len(), 3);
    assert_eq!((pool.len(), pool.bytes()), (1, 1_000));
    pool.check().unwrap();
}

#[test]
fn an_incoming_tx_never_cuts_its_own_run_below_itself() {
    let mut pool = Pool::new(config(2, 1 << 20, 16));
    pool.add(Mono(0), tx(1, 0, 1, 1, 100), false).unwrap();
    pool.add(Mono(0), tx(2, 0, 9, 9, 100), false).unwrap();
    // Sender 1's nonce 0 is the cheapest, but evicting it would leave nonce 1 behind a hole
    // it just created; sender 2 is pricier than the incoming, so the pool refuses.
    assert_eq!(
        pool.add(Mono(1), tx(1, 1, 5, 5, 100), false),
        Err(PoolError::Underpriced)
    );
    assert_eq!(pool.len(), 2);
    pool.check().unwrap();
}

#[test]
fn local_senders_are_never_evicted_and_make_room_whatever_their_price() {
    let mut pool = Pool::new(config(3, 1 << 20, 16));
    let l0 = tx(1, 0, 1, 1, 100);
    let cheap_remote = tx(2, 0, 2, 2, 100);
    let dear_remote = tx(3, 0, 90, 90, 100);
    pool.add(Mono(0), l0.clone(), true).unwrap();
    pool.add(Mono(0), cheap_remote.clone(), false).unwrap();
    pool.add(Mono(0), dear_remote.clone(), false).unwrap();
    assert!(pool.is_local(&l0.sender) && !pool.is_local(&cheap_remote.sender));
    // A remote from the local sender is protected too, and a local add ignores price.
    let l1 = tx(1, 1, 1, 1, 100);
    assert_eq!(
        evicted(pool.add(Mono(1), l1.clone(), false).unwrap()),
        [cheap_remote.hash]
    );
    let other_local = tx(4, 0, 1, 1, 100);
    assert_eq!(
        evicted(pool.add(Mono(2), other_local.clone(), true).unwrap()),
        [dear_remote.hash]
    );
    // Only locals left: nothing can make room, whoever asks.
    assert_eq!(
        pool.add(Mono(3), tx(5, 0, 1_000, 1_000, 100), false),
        Err(PoolError::PoolFull)
    );
    assert_eq!(
        pool.add(Mono(3), tx(5, 0, 1, 1, 100), true),
        Err(PoolError::PoolFull)
    );
    let locals: Vec<Hash> = pool.local_txs().map(|t| t.hash).collect();
    assert_eq!(locals, [l0.hash, l1.hash, other_local.hash]);
    pool.check().unwrap();
}

#[test]
fn a_remote_sender_turning_local_leaves_the_eviction_index() {
    let mut pool = Pool::new(config(2, 1 << 20, 16));
    pool.add(Mono(0), tx(1, 0, 1, 1, 100), false).unwrap();
    pool.add(Mono(0), tx(1, 1, 1, 1, 100), true).unwrap();
    pool.check().unwrap();
    assert_eq!(
        pool.add(Mono(1), tx(2, 0, 500, 500, 100), false),
        Err(PoolError::PoolFull)
    );
    // Once the sender has nothing left, its locality goes with it.
    assert_eq!(pool.set_sender_nonce([1; 20], 2).len(), 2);
    assert!(!pool.is_local(&[1; 20]));
    pool.add(Mono(2), tx(1, 2, 1, 1, 100), false).unwrap();
    assert!(!pool.is_local(&[1; 20]));
    pool.check().unwrap();
}

#[test]
fn a_sender_may_pass_its_slots_while_the_pool_has_room() {
    let mut pool = Pool::new(config(100, 1 << 20, 3));
    for n in 0..60 {
        pool.add(Mono(0), tx(1, n, 10, 10, 100), false).unwrap();
    }
    let replaced = pool.add(Mono(1), tx(1, 1, 11, 11, 100), false).unwrap();
    assert!(matches!(replaced, AddOutcome::Replaced { .. }));
    assert_eq!(pool.sender_txs(&[1; 20]).count(), 60);
    pool.check().unwrap();
}

#[test]
fn a_full_pool_cuts_the_largest_over_quota_sender_from_its_top_first() {
    let mut pool = Pool::new(config(10, 1 << 20, 3));
    for n in 0..6 {
        pool.add(Mono(0), tx(1, n, 50, 50, 100), false).unwrap();
    }
    for n in 0..4 {
        pool.add(Mono(0), tx(2, n, 50, 50, 100), false).unwrap();
    }
    // Sender 3 is within its slots: it takes over-quota room whatever its price, from the
    // sender holding the most, at that sender's highest nonce; a tie cuts the higher address.
    let cuts = [(1, 5), (1, 4), (2, 3)];
    for (i, (sender, nonce)) in cuts.into_iter().enumerate() {
        let gone = evicted(
            pool.add(Mono(1), tx(3, i as u64, 1, 1, 100), false)
                .unwrap(),
        );
        assert_eq!(gone, [tx(sender, nonce, 50, 50, 100).hash], "add {i}");
    }
    // Sender 3's fourth is over its own quota: it may still cut a sender holding at least as
    // many (sender 1, four) but never one within its slots.
    let gone = evicted(pool.add(Mono(2), tx(3, 3, 1, 1, 100), false).unwrap());
    assert_eq!(gone, [tx(1, 3, 50, 50, 100).hash]);
    assert_eq!(
        pool.add(Mono(3), tx(3, 4, 1_000, 1_000, 100), false),
        Err(PoolError::SenderFull)
    );
    // A replacement within an over-quota run is still a replacement.
    assert!(matches!(
        pool.add(Mono(3), tx(3, 3, 2, 2, 100), false),
        Ok(AddOutcome::Replaced { .. })
    ));
    // Sender 4, within its slots, cuts sender 3's over-quota top.
    let gone = evicted(pool.add(Mono(4), tx(4, 0, 1, 1, 100), false).unwrap());
    assert_eq!(gone, [tx(3, 3, 2, 2, 100).hash]);
    // Nobody is over quota now: a new sender meets price eviction.
    assert_eq!(
        pool.add(Mono(5), tx(5, 0, 1, 1, 100), false),
        Err(PoolError::Underpriced)
    );
    let gone = evicted(pool.add(Mono(5), tx(5, 0, 60, 60, 100), false).unwrap());
    assert_eq!(gone, [tx(3, 2, 1, 1, 100).hash]);
    assert_eq!((pool.len(), pool.sender_txs(&[3; 20]).count()), (10, 2));
    pool.check().unwrap();
}

#[test]
fn an_over_quota_sender_filling_a_gap_may_cut_its_own_higher_nonces() {
    let mut pool = Pool::new(config(5, 1 << 20, 2));
    for n in [0, 1, 2, 3, 5] {
        pool.add(Mono(0), tx(1, n, 50, 50, 100), false).unwrap();
    }
    let gone = evicted(pool.add(Mono(1), tx(1, 4, 50, 50, 100), false).unwrap());
    assert_eq!(gone, [tx(1, 5, 50, 50, 100).hash]);
    assert_eq!(
        pool.add(Mono(1), tx(1, 5, 50, 50, 100), false),
        Err(PoolError::SenderFull)
    );
    pool.check().unwrap();
}

#[test]
fn mined_and_account_nonces_drop_the_spent_prefix_only() {
    let mut pool = Pool::new(PoolConfig::default());
    for n in [0, 1, 2, 5, 9] {
        pool.add(Mono(0), tx(1, n, 10, 10, 100), false).unwrap();
    }
    pool.add(Mono(0), tx(2, 0, 10, 10, 100), false).unwrap();
    assert_eq!(
        pool.remove_mined([1; 20], 1),
        [tx(1, 0, 10, 10, 100).hash, tx(1, 1, 10, 10, 100).hash]
    );
    assert_eq!(pool.set_sender_nonce([1; 20], 6).len(), 2);
    let left: Vec<u64> = pool.sender_txs(&[1; 20]).map(|t| t.nonce).collect();
    assert_eq!(left, [9]);
    assert!(pool.set_sender_nonce([7; 20], 100).is_empty());
    assert_eq!(pool.remove_mined([1; 20], u64::MAX).len(), 1);
    assert_eq!((pool.len(), pool.bytes()), (1, 100));
    pool.check().unwrap();
}

/// 20,000 random adds (with replacements, locals, removals and mined nonces mixed in) on a
/// small pool: after every step the indexes agree, no limit is exceeded, a refusal changed
/// nothing, and no local transaction was evicted.
#[test]
fn bounds_hold_under_a_seeded_random_workload() {
    let mut seed = 0x7a09_2024_u64;
    let mut rand = |n: u64| crate::rng::splitmix64(&mut seed) % n;
    let mut pool = Pool::new(config(200, 40_000, 8));
    let mut locals: BTreeSet<Hash> = BTreeSet::new();
    let (mut refused, mut evictions, mut replaced) = (0, 0, 0);
    for step in 0..20_000u64 {
        let sender = rand(60) as u8;
        // Two senders are the local user's; they send rarely.
        let local = sender < 2 && rand(10) == 0;
        if sender < 2 && !local {
            continue;
        }
        let t = tx(
            sender,
            rand(12),
            u128::from(rand(40)),
            u128::from(rand(40)),
            1 + rand(600) as usize,
        );
        let before = (pool.len(), pool.bytes());
        match pool.add(Mono(step), t.clone(), local) {
            Ok(outcome) => {
                if let AddOutcome::Replaced { old, .. } = &outcome {
                    locals.remove(old);
                    replaced += 1;
                }
                let gone = evicted(outcome);
                evictions += gone.len();
                for h in &gone {
                    assert!(!locals.contains(h), "step {step}: evicted a local tx");
                    assert!(!pool.contains(h), "step {step}: evicted tx still held");
                }
                if pool.is_local(&t.sender) {
                    locals.insert(t.hash);
                }
            }
            Err(_) => {
                refused += 1;
                assert_eq!((pool.len(), pool.bytes()), before, "step {step}: refusal");
            }
        }
        match rand(50) {
            0 => {
                let s = [rand(60) as u8; 20];
                for h in pool.set_sender_nonce(s, rand(12)) {
                    locals.remove(&h);
                }
            }
            1 => {
                let pick = pool.pending().nth(rand(50) as usize).map(|t| t.hash);
                if let Some(h) = pick {
                    locals.remove(&h);
                    assert!(pool.remove(&h).is_some());
                }
            }
            _ => {}
        }
        if let Err(e) = pool.check() {
            panic!("step {step}: {e}");
        }
        for h in &locals {
            assert!(pool.contains(h), "step {step}: local tx lost");
        }
    }
    // The workload must have exercised every path it claims to.
    assert!(refused > 1_000 && evictions > 1_000 && replaced > 100 && !locals.is_empty());
}
