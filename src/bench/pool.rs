//! Figure group "pool": the transaction pool's memory at 10,000 pending transactions and its add
//! rate when full (go-ethereum `core/txpool/legacypool` as the model of the work).
//!
//! Memory is the growth of this process's resident set (`/proc/self/statm`) while the pool fills,
//! per transaction, printed beside the transaction's own network encoding: the ratio is what the
//! pool's indexes and the allocator add on top of the bytes it must hold anyway. The add rate is
//! measured on a full pool, so every add also evicts the cheapest transaction, and is printed
//! beside keccak-256 of one encoding, the least per-transaction work the validator does before the
//! pool sees it.

use ethpeer::crypto::keccak256;
use ethpeer::time::Mono;
use ethpeer::tx::PoolTx;
use ethpeer::tx::pool::{AddOutcome, Pool, PoolConfig};

use crate::timing::{Op, Rng, keep, rates};

/// Pending transactions held for both figures.
const PENDING: usize = 10_000;

/// Bytes of one transaction's network encoding: a typical transfer or token call is 110-250
/// bytes, so 200 stands for the common case.
const TX_BYTES: usize = 200;

/// `AT_PAGESZ` in the ELF auxiliary vector: the page size `statm` counts in.
const AT_PAGESZ: u64 = 6;

/// Runs the group and prints its two lines.
pub fn run() {
    let config = PoolConfig {
        txs_count_max: PENDING,
        ..PoolConfig::default()
    };
    let mut rng = Rng::new(11);
    let mut encoding = vec![0u8; TX_BYTES];
    rng.fill(&mut encoding);
    let mut pool = Pool::new(config);
    let before = rss_bytes();
    for i in 0..PENDING as u64 {
        let outcome = pool.add(Mono(0), make_tx(&encoding, i), false);
        assert_eq!(outcome, Ok(AddOutcome::Added { evicted: vec![] }));
    }
    let after = rss_bytes();
    assert_eq!((pool.len(), pool.bytes()), (PENDING, PENDING * TX_BYTES));
    match (before, after) {
        (Some(before), Some(after)) => {
            let per_tx = after.saturating_sub(before) as f64 / PENDING as f64;
            println!(
                "pool memory      {PENDING} pending: {per_tx:>7.0} B RSS/tx   tx encoding {TX_BYTES} B   ratio {:.2}",
                per_tx / TX_BYTES as f64
            );
        }
        _ => println!("pool memory      /proc/self/statm or auxv unreadable: no RSS figure"),
    }

    // Each add outbids everything held (rising tip), so the full pool evicts its cheapest.
    let mut next = PENDING as u64;
    let found = rates(vec![
        Op::new("add", || {
            let outcome = pool.add(Mono(0), make_tx(&encoding, next), false);
            assert!(
                matches!(&outcome, Ok(AddOutcome::Added { evicted }) if evicted.len() == 1),
                "add {next} into a full pool: {outcome:?}"
            );
            next += 1;
        }),
        Op::new("keccak", || keep(keccak256(&encoding))),
    ]);
    assert_eq!(pool.len(), PENDING, "the full pool changed size");
    let (adds, floor) = (found[0], found[1]);
    println!(
        "pool add+evict   {PENDING} pending: {adds:>9.0} adds/s   keccak-256 of {TX_BYTES} B {floor:>9.0} /s   ratio {:.2}",
        adds / floor
    );
}

/// The `i`-th transaction: its own sender, nonce 0, tip rising with `i`, a fresh copy of the
/// encoding (the pool owns its bytes). The hash is `i` itself rather than a keccak, so the add
/// figure times the pool, not the hashing the validator already did.
fn make_tx(encoding: &[u8], i: u64) -> PoolTx {
    let mut network_rlp = encoding.to_vec();
    network_rlp[..8].copy_from_slice(&i.to_be_bytes());
    let mut sender = [0u8; 20];
    sender[..8].copy_from_slice(&i.to_be_bytes());
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&i.to_be_bytes());
    PoolTx {
        hash,
        sender,
        nonce: 0,
        tx_type: 2,
        gas_limit: 21_000,
        fee_cap: u128::from(i) + 1_000,
        tip_cap: u128::from(i) + 1,
        blob_count: 0,
        blob_fee_cap: 0,
        cost: ethpeer::chain::header::U256::ZERO,
        size: TX_BYTES,
        network_rlp,
    }
}

/// This process's resident set in bytes: `statm`'s second field (pages) times the page size
/// from the auxiliary vector, so the figure is right on 4 KiB, 16 KiB and 64 KiB page kernels.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size()?)
}

/// `AT_PAGESZ` from `/proc/self/auxv` (pairs of native-endian words, 64-bit targets only).
fn page_size() -> Option<u64> {
    let auxv = std::fs::read("/proc/self/auxv").ok()?;
    auxv.chunks_exact(16).find_map(|pair| {
        let (key, value) = pair.split_at(8);
        let key = u64::from_ne_bytes(key.try_into().ok()?);
        let value = u64::from_ne_bytes(value.try_into().ok()?);
        (key == AT_PAGESZ).then_some(value)
    })
}
