//! The gas price oracle against an independent computation from the blocks themselves. The
//! fixture chain pays a 1 wei tip everywhere (under geth's 2 wei floor), so the test first checks
//! that case, then extends the chain with 40 blocks of its own (signed transfers with chosen tips,
//! some from the block producer, some blocks empty or with a single transfer, chosen base fees),
//! imports them, and checks eth_maxPriorityFeePerGas, eth_gasPrice and eth_feeHistory against
//! what geth's rules give for those blocks, computed here from the blocks as built.

mod common;

use std::path::Path;

use common::fixture_chain::fixture_chain;
use common::fixture_node::imported_datadir;
use common::rpc::{fixture_config, http_config, result};
use common::{fixture_json, fixture_path, h};
use ethpeer::chain::header::{Header, U256};
use ethpeer::chain::trie::ordered_trie_root;
use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::eth::Receipt;
use ethpeer::server;
use ethpeer::tx::transaction::{Transaction, TxType};
use serde_json::{Value, json};

const CHAIN_ID: u64 = 3_503_995_874_084_926;
const GWEI: u128 = 1_000_000_000;

fn q(n: u128) -> Value {
    json!(format!("{n:#x}"))
}

/// One block as the test sees it: base fee, producer, and (tip, sender, gas used) per tx.
struct Built {
    base_fee: u128,
    coinbase: [u8; 20],
    gas_limit: u64,
    gas_used: u64,
    txs: Vec<(u128, [u8; 20], u64)>,
    /// The header's blob fields (the bodies carry no blob transaction; the node reports the
    /// header's figures and does not check them against the body).
    excess_blob_gas: u64,
    blob_gas_used: u64,
}

/// Prague's blob gas per block target and most (EIP-7691), in gas.
const BLOB_TARGET_GAS: u64 = 6 << 17;
const BLOB_MAX_GAS: u64 = 9 << 17;
/// Prague's blob base fee update fraction.
const BLOB_FRACTION: f64 = 5_007_716.0;

/// EIP-4844's price, e^(excess / fraction), computed here in floating point: the node's integer
/// series truncates each of its few dozen terms, so it may be that many wei lower.
fn blob_fee_close(got: &Value, excess: u64) {
    let got = u128::from_str_radix(got.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let want = (excess as f64 / BLOB_FRACTION).exp();
    assert!(
        (got as f64 - want).abs() <= 64.0,
        "blob base fee {got} at excess {excess}, e^x = {want}"
    );
}

/// geth's rules, written out here: per block the 3 lowest tips ≥ 2 wei not sent by the
/// producer; an empty sample counts as `last`; a block with ≤ 1 sample makes the oracle read
/// one more block while it holds fewer than 40 answers and requests; the 60th percentile,
/// at most 500 gwei. `blocks[0]` is the head.
fn expected_tip(blocks: &[Built], last: u128) -> u128 {
    let samples: Vec<Vec<u128>> = blocks
        .iter()
        .map(|b| {
            let mut tips: Vec<u128> = b
                .txs
                .iter()
                .filter(|(tip, from, _)| *tip >= 2 && *from != b.coinbase)
                .map(|t| t.0)
                .collect();
            tips.sort();
            tips.truncate(3);
            if tips.is_empty() { vec![last] } else { tips }
        })
        .collect();
    let mut all = Vec::new();
    let mut requested = 20.min(samples.len());
    let mut done = 0;
    while done < requested {
        let s = &samples[done];
        done += 1;
        let outstanding = requested - done;
        if s.len() == 1 && all.len() + 1 + outstanding < 40 && requested < samples.len() {
            requested += 1;
        }
        all.extend_from_slice(s);
    }
    all.sort();
    let p = if all.is_empty() {
        last
    } else {
        all[(all.len() - 1) * 60 / 100]
    };
    p.min(500 * GWEI)
}

fn keys() -> Vec<SecretKey> {
    fixture_json("chain/accounts.json")
        .as_object()
        .unwrap()
        .values()
        .map(|a| SecretKey::from_bytes(&h(a["key"].as_str().unwrap())).unwrap())
        .collect()
}

/// Builds 40 blocks on the fixture head; writes them and their receipts as import files.
fn extend_chain(dir: &Path) -> Vec<Built> {
    let keys = keys();
    let addr = |k: &SecretKey| ethpeer::tx::transaction::address_of(&k.public_key());
    let chain = fixture_chain();
    let mut parent = Header::decode(&chain.headers[600]).unwrap();
    let mut parent_hash = chain.hashes[600];
    let (mut blocks_rlp, mut receipts_rlp, mut built) = (Vec::new(), Vec::new(), Vec::new());
    let mut nonces = vec![0u64; keys.len()];
    for k in 0..40u64 {
        let base_fee = GWEI + u128::from(k) * 1000;
        let coinbase = addr(&keys[0]);
        // Tips: a mix per block; block k % 5 == 3 has one transfer, k % 7 == 4 none.
        let plan: Vec<(usize, u128)> = match (k % 5, k % 7) {
            (_, 4) => vec![],
            (3, _) => vec![(1, 3 * GWEI + u128::from(k))],
            _ => vec![
                (1, u128::from(k + 1) * 100_000_000),
                (2, 1),
                (0, 7), // the producer's own: left out
                (3, 2 * GWEI + u128::from(k) * 7),
                (4, 50 * GWEI),
                (2, 5 * GWEI),
            ],
        };
        let (mut txs, mut receipts, mut b) = (Vec::new(), Vec::new(), Vec::new());
        let mut cumulative = 0;
        for (i, (who, tip)) in plan.iter().enumerate() {
            let legacy = i % 3 == 1;
            let mut tx = Transaction {
                tx_type: if legacy {
                    TxType::Legacy
                } else {
                    TxType::DynamicFee
                },
                nonce: 10_000 + nonces[*who],
                tip_cap: *tip,
                fee_cap: base_fee + 100 * GWEI,
                gas_limit: 21_000,
                to: Some([0x42; 20]),
                ..Transaction::default()
            };
            if legacy {
                tx.fee_cap = base_fee + tip;
                tx.tip_cap = tx.fee_cap;
            }
            nonces[*who] += 1;
            tx.sign(&keys[*who], CHAIN_ID);
            // Gas used varies in odd blocks so the fee history's percentiles are weighted; even
            // blocks use 21000 each, so a percentile can land exactly on a transaction's end.
            let used = if k % 2 == 0 {
                21_000
            } else {
                21_000 + (i as u64) * 5_000
            };
            cumulative += used;
            let r = Receipt {
                tx_type: tx.tx_type.byte(),
                post_state_or_status: vec![1],
                cumulative_gas: cumulative,
                logs: vec![],
            };
            b.push((*tip, addr(&keys[*who]), used));
            receipts.push(r);
            txs.push(tx);
        }
        let mut header = parent.clone();
        header.parent_hash = parent_hash;
        header.number = parent.number + 1;
        header.timestamp = parent.timestamp + 12;
        header.coinbase = coinbase;
        header.gas_used = cumulative;
        header.base_fee_per_gas = Some(U256::from_u64(base_fee as u64));
        let encoded: Vec<Vec<u8>> = txs.iter().map(Transaction::encode_consensus).collect();
        header.transactions_root = ordered_trie_root(&encoded);
        let values: Vec<Vec<u8>> = receipts.iter().map(Receipt::trie_value).collect();
        header.receipts_root = ordered_trie_root(&values);
        header.withdrawals_root = Some(ordered_trie_root::<Vec<u8>>(&[]));
        // Blob gas: full blocks (9 blobs) but every fourth, which is empty, so the excess
        // climbs by 3 blobs a block and falls back by 6.
        // The first built block starts from a high excess (price ~e^10), so a wrong rule moves
        // the price by thousands of wei.
        let excess_blob_gas = match k {
            0 => 50_000_000,
            _ => (parent.excess_blob_gas.unwrap_or(0) + parent.blob_gas_used.unwrap_or(0))
                .saturating_sub(BLOB_TARGET_GAS),
        };
        let blob_gas_used = if k % 4 == 3 { 0 } else { BLOB_MAX_GAS };
        header.excess_blob_gas = Some(excess_blob_gas);
        header.blob_gas_used = Some(blob_gas_used);
        let mut s = rlp::RlpStream::new_list(4);
        s.append_raw(&header.rlp(), 1);
        s.begin_list(txs.len());
        for t in &txs {
            if t.tx_type == TxType::Legacy {
                s.append_raw(&t.encode_consensus(), 1);
            } else {
                s.append(&t.encode_consensus());
            }
        }
        s.begin_list(0);
        s.begin_list(0);
        blocks_rlp.extend_from_slice(&s.out());
        let mut r = rlp::RlpStream::new_list(receipts.len());
        for x in &receipts {
            r.append_raw(&x.to_consensus(), 1);
        }
        receipts_rlp.extend_from_slice(&r.out());
        parent_hash = keccak256(&header.rlp());
        built.push(Built {
            base_fee,
            coinbase,
            gas_limit: header.gas_limit,
            gas_used: header.gas_used,
            txs: b,
            excess_blob_gas,
            blob_gas_used,
        });
        parent = header;
    }
    let (bf, rf) = (dir.join("more.rlp"), dir.join("more-receipts.rlp"));
    std::fs::write(&bf, blocks_rlp).unwrap();
    std::fs::write(&rf, receipts_rlp).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ethpeer"))
        .arg("import")
        .arg(&bf)
        .arg("--receipts")
        .arg(&rf)
        .arg("--genesis")
        .arg(fixture_path("chain/genesis.json"))
        .arg("--datadir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    built
}

#[test]
fn the_fixture_chain_pays_only_dust_so_the_oracle_keeps_its_default() {
    let node = server::start(fixture_config("gpo-fixture", http_config("eth"))).unwrap();
    let a = node.http_addr().unwrap();
    let chain = fixture_chain();
    let blocks: Vec<Built> = (1..=600u64)
        .rev()
        .take(40)
        .map(|n| {
            let h = Header::decode(&chain.headers[n as usize]).unwrap();
            let base = h.base_fee_per_gas.unwrap().to_u64().unwrap() as u128;
            let txs = rlp::Rlp::new(&chain.bodies[n as usize])
                .at(0)
                .unwrap()
                .iter()
                .map(|i| {
                    let bytes = if i.is_list() {
                        i.as_raw().to_vec()
                    } else {
                        i.data().unwrap().to_vec()
                    };
                    let t = ethpeer::tx::transaction::decode_consensus(&bytes).unwrap();
                    (t.tip_cap.min(t.fee_cap - base), t.sender().unwrap(), 0)
                })
                .collect();
            Built {
                base_fee: base,
                coinbase: h.coinbase,
                gas_limit: h.gas_limit,
                gas_used: h.gas_used,
                txs,
                excess_blob_gas: h.excess_blob_gas.unwrap_or(0),
                blob_gas_used: h.blob_gas_used.unwrap_or(0),
            }
        })
        .collect();
    let want = expected_tip(&blocks, 1_000_000);
    assert_eq!(result(a, "eth_maxPriorityFeePerGas", json!([])), q(want));
    assert_eq!(
        result(a, "eth_gasPrice", json!([])),
        q(want + blocks[0].base_fee)
    );
    node.shutdown();
}

#[test]
fn the_oracle_and_fee_history_match_geths_rules_on_built_blocks() {
    let name = "gpo-built";
    let dir = imported_datadir(name);
    let built = extend_chain(&dir);
    // The node opens the same datadir (fixture_config copies a fresh one; use this one).
    let mut config = fixture_config(&format!("{name}-unused"), http_config("eth"));
    config.datadir = Some(ethpeer::server::datadir::Datadir::open(&dir).unwrap());
    let node = server::start(config).unwrap();
    let a = node.http_addr().unwrap();
    assert_eq!(result(a, "eth_blockNumber", json!([])), q(640));
    let newest_first: Vec<Built> = built.into_iter().rev().collect();
    let want = expected_tip(&newest_first, 1_000_000);
    assert!(
        want > 1_000_000,
        "the built blocks must move the oracle: {want}"
    );
    assert_eq!(result(a, "eth_maxPriorityFeePerGas", json!([])), q(want));
    assert_eq!(
        result(a, "eth_gasPrice", json!([])),
        q(want + newest_first[0].base_fee)
    );
    // Cached per head: the same answer again.
    assert_eq!(result(a, "eth_maxPriorityFeePerGas", json!([])), q(want));
    // Fee history over the last 6 blocks with four percentiles, weighted by gas used.
    let percentiles = [0.0, 40.0, 50.0, 90.0];
    let h = result(a, "eth_feeHistory", json!(["0x6", "latest", percentiles]));
    assert_eq!(h["oldestBlock"], q(635));
    let window: Vec<&Built> = newest_first[..6].iter().rev().collect();
    let mut bases: Vec<Value> = window.iter().map(|b| q(b.base_fee)).collect();
    let last = window[5];
    let target = u128::from(last.gas_limit / 2);
    let next = last.base_fee - last.base_fee * (target - u128::from(last.gas_used)) / target / 8;
    bases.push(q(next));
    assert_eq!(h["baseFeePerGas"], Value::Array(bases));
    // The blob fields: each block's price from its excess, the next block's from the newest's
    // excess and use; use over the most a block may hold.
    let fees = h["baseFeePerBlobGas"]
        .as_array()
        .expect("baseFeePerBlobGas");
    assert_eq!(fees.len(), 7);
    for (i, b) in window.iter().enumerate() {
        blob_fee_close(&fees[i], b.excess_blob_gas);
        assert_eq!(
            h["blobGasUsedRatio"][i],
            json!(b.blob_gas_used as f64 / BLOB_MAX_GAS as f64)
        );
    }
    blob_fee_close(
        &fees[6],
        (last.excess_blob_gas + last.blob_gas_used).saturating_sub(BLOB_TARGET_GAS),
    );
    for (i, b) in window.iter().enumerate() {
        assert_eq!(
            h["gasUsedRatio"][i],
            json!(b.gas_used as f64 / b.gas_limit as f64)
        );
        let mut txs: Vec<(u128, u64)> = b.txs.iter().map(|t| (t.0, t.2)).collect();
        txs.sort();
        let row: Vec<Value> = percentiles
            .iter()
            .map(|p| {
                if txs.is_empty() {
                    return q(0);
                }
                let threshold = (b.gas_used as f64 * p / 100.0) as u64;
                let mut sum = 0;
                for (tip, used) in &txs {
                    sum += used;
                    if sum >= threshold {
                        return q(*tip);
                    }
                }
                q(txs.last().unwrap().0)
            })
            .collect();
        assert_eq!(h["reward"][i], Value::Array(row), "block {}", 635 + i);
    }
    node.shutdown();
}
