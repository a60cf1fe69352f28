//! Merkle-Patricia trie roots against ethereum/tests `TrieTests` (`fixtures/trie/*.json`), and
//! the ordered (list) trie against the transactions and withdrawals roots of the test chain.

mod common;

use std::collections::BTreeMap;

use common::{fixture_json, fixture_path, h, hv};
use ethpeer::chain::trie::{EMPTY_ROOT, ordered_trie_root, secure_trie_root, trie_root};
use ethpeer::crypto::keccak256;
use rlp::Rlp;
use serde_json::Value;

/// A key or value as the trie tests write it: `0x`-prefixed hex, else the ASCII bytes.
fn bytes_of(s: &str) -> Vec<u8> {
    if s.starts_with("0x") {
        h(s)
    } else {
        s.as_bytes().to_vec()
    }
}

/// The final contents after applying a test's `in`: an ordered list of `[key, value]` where a
/// null value deletes, or a map (order irrelevant).
fn contents(name: &str, input: &Value) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    let mut apply = |k: &str, v: &Value| match v {
        Value::Null => {
            map.remove(&bytes_of(k));
        }
        Value::String(s) => {
            map.insert(bytes_of(k), bytes_of(s));
        }
        other => panic!("{name}: unexpected value {other}"),
    };
    match input {
        Value::Array(ops) => {
            for op in ops {
                let pair = op
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: bad op {op}"));
                apply(pair[0].as_str().expect("key"), &pair[1]);
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                apply(k, v);
            }
        }
        other => panic!("{name}: unexpected input {other}"),
    }
    map
}

fn check_file(file: &str, secure: bool, expected_cases: usize) {
    let json = fixture_json(file);
    let cases = json.as_object().expect("object of cases");
    assert_eq!(cases.len(), expected_cases, "{file}: case count changed");
    for (name, case) in cases {
        let map = contents(name, &case["in"]);
        let got = if secure {
            secure_trie_root(map)
        } else {
            trie_root(map)
        };
        assert_eq!(got.to_vec(), hv(&case["root"]), "{file} {name}");
    }
}

#[test]
fn trietest() {
    check_file("trie/trietest.json", false, 5);
}

#[test]
fn trieanyorder() {
    check_file("trie/trieanyorder.json", false, 7);
}

#[test]
fn trietest_secure() {
    check_file("trie/trietest_secureTrie.json", true, 3);
}

#[test]
fn trieanyorder_secure() {
    check_file("trie/trieanyorder_secureTrie.json", true, 7);
}

#[test]
fn hex_encoded_secure() {
    check_file("trie/hex_encoded_securetrie_test.json", true, 3);
}

#[test]
fn any_insertion_order_gives_the_same_root() {
    let json = fixture_json("trie/trieanyorder.json");
    let mut rng = common::TestRng::new(0x7e1e);
    for (name, case) in json.as_object().expect("cases") {
        let mut items: Vec<_> = contents(name, &case["in"]).into_iter().collect();
        for round in 0..8 {
            for i in (1..items.len()).rev() {
                items.swap(i, rng.below(i as u64 + 1) as usize);
            }
            let got = trie_root(items.iter().cloned());
            assert_eq!(got.to_vec(), hv(&case["root"]), "{name} shuffle {round}");
        }
    }
}

/// The first blocks of `chain.rlp` that carry transactions and withdrawals: their
/// `transactionsRoot` and `withdrawalsRoot` are the ordered-trie roots of the body lists, each
/// item in its consensus encoding (a typed transaction is the bytes of its RLP string).
#[test]
fn chain_blocks_transactions_and_withdrawals_roots() {
    let data = std::fs::read(fixture_path("chain/chain.rlp")).expect("chain.rlp");
    let index = fixture_json("chain/chain_index.json");
    let rows = index["blocks"].as_array().expect("blocks");
    let mut rest = &data[..];
    let (mut blocks, mut with_txs, mut with_withdrawals) = (0, 0, 0);
    while !rest.is_empty() {
        let info = Rlp::new(rest).payload_info().expect("block header");
        let len = info.header_len + info.value_len;
        let block = Rlp::new(&rest[..len]);
        let header = block.at(0).unwrap();
        let item_bytes = |list: Rlp<'_>| -> Vec<Vec<u8>> {
            list.iter()
                .map(|t| {
                    if t.is_list() {
                        t.as_raw().to_vec()
                    } else {
                        t.data().unwrap().to_vec()
                    }
                })
                .collect()
        };
        let txs = item_bytes(block.at(1).unwrap());
        let tx_root: Vec<u8> = header.at(4).unwrap().data().unwrap().to_vec();
        assert_eq!(
            ordered_trie_root(&txs).to_vec(),
            tx_root,
            "block {} txs root",
            blocks + 1
        );
        if let Ok(w) = block.at(3) {
            let withdrawals = item_bytes(w);
            let root: Vec<u8> = header.at(16).unwrap().data().unwrap().to_vec();
            assert_eq!(
                ordered_trie_root(&withdrawals).to_vec(),
                root,
                "block {} withdrawals",
                blocks + 1
            );
            with_withdrawals += usize::from(!withdrawals.is_empty());
        }
        assert_eq!(
            keccak256(header.as_raw()).to_vec(),
            hv(&rows[blocks]["hash"]),
            "block {} hash",
            blocks + 1
        );
        with_txs += usize::from(!txs.is_empty());
        blocks += 1;
        rest = &rest[len..];
    }
    assert_eq!(blocks, 600);
    assert!(with_txs > 100, "only {with_txs} blocks with transactions");
    assert!(with_withdrawals > 0, "no block with withdrawals");
    assert_eq!(ordered_trie_root::<Vec<u8>>(&[]), EMPTY_ROOT);
}
