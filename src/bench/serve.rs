//! Figure group "serve": the time to answer a GetBlockHeaders for 1,024 headers (devp2p
//! caps/eth.md "GetBlockHeaders (0x03)"; target 2 ms), built with `eth::serve::answer` on the
//! chain store itself and through the storage thread's round trip
//! (`ChainStoreHandle::serve`), beside the floor of the lookups alone: 1,024 canonical-number
//! point reads plus 1,024 header point reads on the same fjall store.
//!
//! The fixture chain has only 600 blocks, so the store holds a synthetic chain of
//! [`BLOCKS`] Prague-shaped headers (21 fields, 32 bytes of extra data: 600-odd bytes each, like
//! mainnet's) with empty bodies. Two stores with the same chain are written, one read directly
//! and one owned by a storage thread, so all three figures are timed in the same interleaved
//! rounds. Both fit fjall's block cache: the figures are for a warm store, which is what serving
//! recent headers to syncing peers sees.

use std::path::PathBuf;

use ethpeer::chain::block::StoredBlock;
use ethpeer::chain::header::{Header, U256};
use ethpeer::chain::store::ChainStore;
use ethpeer::chain::store_handle::ChainStoreHandle;
use ethpeer::eth::wire::message::{BlockOrigin, GetBlockHeaders};
use ethpeer::eth::{EthMessage, EthVersion, SERVE_COUNT_MAX, ServeChain, answer};
use futures_lite::future::block_on;

use crate::timing::{Op, Rng, keep, rates};

/// Blocks in the synthetic chain after the genesis: enough for one full request from block 1.
const BLOCKS: u64 = 1_100;
/// Target time for answering a 1,024-header request.
const TARGET_MS: f64 = 2.0;

/// A Prague header (every optional field present) on `parent`.
fn header(number: u64, parent: [u8; 32], rng: &mut Rng) -> Header {
    let mut h32 = || {
        let mut b = [0u8; 32];
        rng.fill(&mut b);
        b
    };
    Header {
        parent_hash: parent,
        ommers_hash: h32(),
        coinbase: [0x42; 20],
        state_root: h32(),
        transactions_root: h32(),
        receipts_root: h32(),
        logs_bloom: Box::new([0x11; 256]),
        difficulty: U256::ZERO,
        number,
        gas_limit: 36_000_000,
        gas_used: 12_345_678,
        timestamp: 1_700_000_000 + number * 12,
        extra_data: h32().to_vec(),
        mix_hash: h32(),
        nonce: [0; 8],
        base_fee_per_gas: Some(U256::from_u64(7_000_000_000)),
        withdrawals_root: Some(h32()),
        blob_gas_used: Some(131_072),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(h32()),
        requests_hash: Some(h32()),
        extra_fields: Vec::new(),
    }
}

/// A fresh store in `dir` holding the genesis and [`BLOCKS`] blocks of the same seeded chain.
fn chain_store(dir: &PathBuf) -> ChainStore {
    let _ = std::fs::remove_dir_all(dir);
    let store = ChainStore::open_path(dir).expect("opening a fresh store");
    let mut rng = Rng::new(11);
    let genesis = header(0, [0; 32], &mut rng);
    let mut parent = store.init_genesis(&genesis).expect("genesis").hash;
    let empty_body = vec![0xc3, 0xc0, 0xc0, 0xc0];
    let mut blocks = Vec::new();
    for number in 1..=BLOCKS {
        let h = header(number, parent, &mut rng);
        parent = h.hash();
        blocks.push(StoredBlock {
            hash: parent,
            header_rlp: h.rlp(),
            header: h,
            body_rlp: empty_body.clone(),
            receipts_rlp: Some(vec![0xc0]),
        });
    }
    store.insert_blocks(&blocks).expect("inserting the chain");
    store
}

fn request() -> EthMessage {
    EthMessage::GetBlockHeaders(GetBlockHeaders {
        request_id: 1,
        origin: BlockOrigin::Number(1),
        amount: SERVE_COUNT_MAX as u64,
        skip: 0,
        reverse: false,
    })
}

fn served(reply: Option<EthMessage>) -> usize {
    match reply {
        Some(EthMessage::BlockHeaders(r)) => r.items.len(),
        other => panic!("not BlockHeaders: {other:?}"),
    }
}

/// Runs the group and prints its line.
pub fn run() {
    let base = std::env::temp_dir().join(format!("ethpeer-bench-serve-{}", std::process::id()));
    let direct = chain_store(&base.join("direct"));
    let handle = ChainStoreHandle::spawn(chain_store(&base.join("thread"))).expect("thread");
    let q = request();
    let header_bytes: usize = (1..=SERVE_COUNT_MAX as u64)
        .map(|n| {
            direct
                .header_rlp_by_number(n)
                .ok()
                .flatten()
                .map_or(0, |h| h.len())
        })
        .sum();
    assert_eq!(
        served(answer(&direct, EthVersion::Eth69, &q).expect("answer")),
        SERVE_COUNT_MAX
    );
    assert_eq!(
        served(block_on(handle.serve(EthVersion::Eth69, q.clone())).expect("serve")),
        SERVE_COUNT_MAX
    );
    let found = rates(vec![
        Op::new("answer", || keep(answer(&direct, EthVersion::Eth69, &q))),
        Op::new("handle", || {
            keep(block_on(handle.serve(EthVersion::Eth69, q.clone())))
        }),
        Op::new("point reads", || {
            for n in 1..=SERVE_COUNT_MAX as u64 {
                keep(direct.header_rlp_by_number(n));
            }
        }),
    ]);
    let ms = |rate: f64| 1000.0 / rate;
    let (answer_ms, handle_ms, floor_ms) = (ms(found[0]), ms(found[1]), ms(found[2]));
    // Ratios only to the floor timed in the same rounds; the fixed target is printed beside.
    println!(
        "serve 1024 hdrs  answer {answer_ms:.3} ms ({:.2}x floor)   \
         via thread {handle_ms:.3} ms ({:.2}x floor)   \
         floor 2048 point reads {floor_ms:.3} ms   {} kB of headers   target {TARGET_MS} ms (fixed)",
        answer_ms / floor_ms,
        handle_ms / floor_ms,
        header_bytes / 1024,
    );
    drop(handle);
    let _ = direct.close();
    let _ = std::fs::remove_dir_all(&base);
}
