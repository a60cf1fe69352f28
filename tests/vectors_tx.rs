//! Transactions against real data and random ones: every one of the 603 transactions of the
//! fixture chain (all five types) decodes, re-encodes byte for byte, hashes into the block's
//! transactions root, recovers to a funded fixture account and passes stateless validation under
//! its block's fork; the go-ethereum sample transactions of eth/messages.json decode to their
//! published hashes and sizes; random transactions of every type, signed with random keys, round
//! trip and recover; mutated and truncated encodings never panic and, when accepted, re-encode
//! to the mutated bytes; and lists over their named limits are refused.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::BufReader;

use common::{TestRng, fixture_json, fixture_path, h, hv};
use ethpeer::chain::header::Header;
use ethpeer::chain::import::{BLOCK_SIZE_MAX, RlpReader};
use ethpeer::chain::trie::ordered_trie_root;
use ethpeer::crypto::{SecretKey, keccak256};
use ethpeer::rlp::RlpDecodeError;
use ethpeer::tx::transaction::{
    ACCESS_LIST_ADDRESSES_MAX, ACCESS_LIST_STORAGE_KEYS_MAX, AUTHORIZATIONS_MAX, AccessListItem,
    Authorization, BLOB_SIZE, BLOBS_PER_TX_MAX, BlobSidecar, CELLS_PER_EXT_BLOB, DecodeError,
    TX_ENCODED_SIZE_MAX, Transaction, TxType, address_of, decode_consensus, decode_network,
    versioned_hash,
};
use ethpeer::tx::validate::{Fork, Rules, validate};
use rlp::Rlp;

/// Every block of chain.rlp, in order (block 1 first).
fn blocks() -> Vec<Vec<u8>> {
    let file = BufReader::new(File::open(fixture_path("chain/chain.rlp")).unwrap());
    let mut r = RlpReader::new(file, BLOCK_SIZE_MAX);
    let mut out = Vec::new();
    while let Some(item) = r.next_item().unwrap() {
        out.push(item);
    }
    out
}

/// The addresses of the fixture's funded accounts, derived from their keys (and checked against
/// the addresses the file lists them under).
fn accounts() -> HashSet<[u8; 20]> {
    let json = fixture_json("chain/accounts.json");
    let mut out = HashSet::new();
    for (listed, entry) in json.as_object().unwrap() {
        let key = SecretKey::from_bytes(&hv(&entry["key"])).unwrap();
        let address = address_of(&key.public_key());
        assert_eq!(address.to_vec(), h(listed), "accounts.json key of {listed}");
        out.insert(address);
    }
    out
}

/// The fork of the fixture chain at a block time (forkenv.json: Cancun at 60, Prague at 120).
fn fork_at(time: u64) -> Fork {
    match time {
        0..60 => Fork::Shanghai,
        60..120 => Fork::Cancun,
        _ => Fork::Prague,
    }
}

#[test]
fn every_chain_transaction_decodes_reencodes_hashes_and_recovers() {
    let index = fixture_json("chain/chain_index.json");
    let chain_id = index["chain_id"].as_u64().unwrap();
    let senders = accounts();
    let mut counts: BTreeMap<u8, u64> = BTreeMap::new();
    let mut validated = 0usize;
    for (i, block) in blocks().iter().enumerate() {
        let number = i + 1;
        let row = &index["blocks"][i];
        let block = Rlp::new(block);
        let header = Header::decode(block.at(0).unwrap().as_raw()).unwrap();
        let rules = Rules::new(chain_id, fork_at(header.timestamp), header.gas_limit);
        let mut reencoded = Vec::new();
        for (j, item) in block.at(1).unwrap().iter().enumerate() {
            let name = format!("block {number} tx {j}");
            // A block body holds legacy transactions as lists, typed ones as byte strings.
            let consensus = if item.is_list() {
                item.as_raw()
            } else {
                item.data().unwrap()
            };
            let tx = decode_consensus(consensus).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(tx.encode_consensus(), consensus, "{name}: re-encoding");
            assert_eq!(tx.hash(), keccak256(consensus), "{name}: hash");
            assert_eq!(
                u64::from(tx.tx_type.byte()),
                row["tx_types"][j].as_u64().unwrap(),
                "{name}: type against chain_index.json"
            );
            let sender = tx.sender().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                senders.contains(&sender),
                "{name}: sender not a fixture account"
            );
            if let Some(id) = tx.chain_id {
                assert_eq!(id, chain_id, "{name}: chain id");
            }
            // The network form: the body's own item, except that a blob transaction needs its
            // sidecar there, which blocks do not carry.
            if tx.tx_type == TxType::Blob {
                assert_eq!(
                    decode_network(item.as_raw()),
                    Err(DecodeError::MissingSidecar),
                    "{name}"
                );
            } else {
                assert_eq!(decode_network(item.as_raw()).as_ref(), Ok(&tx), "{name}");
                assert_eq!(tx.encode_network(), item.as_raw(), "{name}: network form");
                let pooled = validate(&rules, item.as_raw())
                    .unwrap_or_else(|e| panic!("{name}: validation: {e}"));
                assert_eq!(pooled.hash, tx.hash(), "{name}");
                assert_eq!(pooled.sender, sender, "{name}");
                assert_eq!(pooled.size, consensus.len(), "{name}");
                validated += 1;
            }
            reencoded.push(tx.encode_consensus());
            *counts.entry(tx.tx_type.byte()).or_default() += 1;
        }
        assert_eq!(
            ordered_trie_root(&reencoded),
            header.transactions_root,
            "block {number}: transactions root"
        );
    }
    for (t, n) in index["tx_type_counts"].as_object().unwrap() {
        let t: u8 = t.parse().unwrap();
        assert_eq!(
            counts.get(&t).copied().unwrap_or(0),
            n.as_u64().unwrap(),
            "type {t}"
        );
    }
    assert_eq!(counts.values().sum::<u64>(), 603);
    assert_eq!(validated, 603 - counts[&3] as usize);
}

#[test]
fn eth_sample_transactions_match_their_hashes_sizes_and_message() {
    let json = fixture_json("eth/messages.json");
    let samples = json["sample_transactions"].as_array().unwrap();
    for (i, sample) in samples.iter().enumerate() {
        let raw = hv(&sample["rlp"]);
        let tx = decode_network(&raw).unwrap_or_else(|e| panic!("sample {i}: {e}"));
        assert_eq!(tx.hash().to_vec(), hv(&sample["hash"]), "sample {i}: hash");
        assert_eq!(
            tx.encode_consensus().len() as u64,
            sample["size"].as_u64().unwrap(),
            "sample {i}: size"
        );
        assert_eq!(tx.encode_network(), raw, "sample {i}: re-encoding");
        assert_eq!(tx.chain_id, Some(1), "sample {i}: EIP-155 chain id 1");
    }
    // The PooledTransactions vectors carry the same transactions after the request id.
    for v in json["vectors"].as_array().unwrap() {
        if v["message"] != "PooledTransactions" {
            continue;
        }
        let payload = hv(&v["rlp"]);
        let list = Rlp::new(&payload).at(1).unwrap();
        assert_eq!(list.item_count().unwrap(), samples.len(), "{}", v["name"]);
        for (item, sample) in list.iter().zip(samples) {
            assert_eq!(item.as_raw(), hv(&sample["rlp"]), "{}", v["name"]);
            let tx = decode_network(item.as_raw()).unwrap();
            assert_eq!(tx.hash().to_vec(), hv(&sample["hash"]), "{}", v["name"]);
        }
    }
}

/// A random transaction of `tx_type`, unsigned.
fn random_tx(rng: &mut TestRng, tx_type: TxType) -> Transaction {
    let mut tx = Transaction {
        tx_type,
        nonce: rng.next_u64() >> rng.below(64),
        tip_cap: u128::from(rng.next_u64()) >> rng.below(64),
        gas_limit: rng.next_u64() >> rng.below(64),
        ..Transaction::default()
    };
    tx.fee_cap = if matches!(tx_type, TxType::Legacy | TxType::AccessList) {
        tx.tip_cap
    } else {
        tx.tip_cap + (u128::from(rng.next_u64()) << rng.below(60))
    };
    if rng.below(4) != 0 || matches!(tx_type, TxType::Blob | TxType::SetCode) {
        let mut to = [0u8; 20];
        rng.fill(&mut to);
        tx.to = Some(to);
    }
    let lead = rng.below(33) as usize;
    rng.fill(&mut tx.value[lead..]);
    tx.input = vec![0; rng.below(300) as usize];
    rng.fill(&mut tx.input);
    if tx_type != TxType::Legacy {
        for _ in 0..rng.below(4) {
            let mut e = AccessListItem::default();
            rng.fill(&mut e.address);
            for _ in 0..rng.below(4) {
                let mut k = [0u8; 32];
                rng.fill(&mut k);
                e.storage_keys.push(k);
            }
            tx.access_list.push(e);
        }
    }
    if tx_type == TxType::Blob {
        tx.blob_fee_cap = u128::from(rng.next_u64());
        let n = 1 + rng.below(3) as usize;
        let version = rng.below(2) as u8;
        let mut sc = BlobSidecar {
            version,
            ..BlobSidecar::default()
        };
        for _ in 0..n {
            let mut blob = vec![0u8; BLOB_SIZE];
            rng.fill(&mut blob[..64]);
            let mut c = [0u8; 48];
            rng.fill(&mut c);
            tx.blob_versioned_hashes.push(versioned_hash(&c));
            sc.blobs.push(blob);
            sc.commitments.push(c);
            let proofs = if version == 1 { CELLS_PER_EXT_BLOB } else { 1 };
            for _ in 0..proofs {
                let mut p = [0u8; 48];
                rng.fill(&mut p);
                sc.proofs.push(p);
            }
        }
        tx.sidecar = Some(sc);
    }
    if tx_type == TxType::SetCode {
        for _ in 0..1 + rng.below(3) {
            let mut a = Authorization {
                nonce: rng.next_u64(),
                y_parity: rng.below(2) as u8,
                ..Authorization::default()
            };
            rng.fill(&mut a.chain_id[24..]);
            rng.fill(&mut a.address);
            rng.fill(&mut a.r);
            rng.fill(&mut a.s[1..]);
            tx.authorization_list.push(a);
        }
    }
    tx
}

const TYPES: [TxType; 5] = [
    TxType::Legacy,
    TxType::AccessList,
    TxType::DynamicFee,
    TxType::Blob,
    TxType::SetCode,
];

#[test]
fn random_signed_transactions_round_trip_and_recover() {
    for seed in 0..200u64 {
        let mut rng = TestRng::new(seed);
        let key = SecretKey::generate(|b| rng.fill(b));
        let who = address_of(&key.public_key());
        let tx_type = TYPES[(seed % 5) as usize];
        let mut tx = random_tx(&mut rng, tx_type);
        let chain_id = rng.next_u64() >> rng.below(64);
        if tx_type == TxType::Legacy && rng.below(3) == 0 {
            tx.sign_unprotected(&key);
        } else {
            tx.sign(&key, chain_id.max(1));
        }
        let network = tx.encode_network();
        let back = decode_network(&network).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(back, tx, "seed {seed}");
        assert_eq!(back.sender(), Ok(who), "seed {seed}: sender");
        let consensus = tx.encode_consensus();
        let mut plain = decode_consensus(&consensus).unwrap();
        assert_eq!(plain.hash(), keccak256(&consensus), "seed {seed}");
        plain.sidecar = tx.sidecar.clone();
        assert_eq!(plain, tx, "seed {seed}: consensus form");
        // A different signer never recovers to the same address.
        let mut other = tx.clone();
        other.nonce ^= 1;
        assert_ne!(other.sender().ok(), Some(who), "seed {seed}: changed tx");
    }
}

#[test]
fn mutated_and_truncated_encodings_never_panic() {
    for seed in 0..100u64 {
        let mut rng = TestRng::new(1000 + seed);
        let key = SecretKey::generate(|b| rng.fill(b));
        let tx_type = TYPES[(seed % 5) as usize];
        let mut tx = random_tx(&mut rng, tx_type);
        // Keep blob sidecars out: flipping bytes inside 128 KiB blobs teaches little.
        tx.sidecar = None;
        tx.sign(&key, 7);
        let bytes = tx.encode_consensus();
        for _ in 0..50 {
            let mut m = bytes.clone();
            let at = rng.below(m.len() as u64) as usize;
            m[at] ^= 1 << rng.below(8);
            // Strict decoding is a bijection: whatever is accepted re-encodes to its bytes.
            if let Ok(t) = decode_consensus(&m) {
                assert_eq!(t.encode_consensus(), m, "seed {seed}: flip at {at}");
                let _ = t.sender();
            }
            let _ = decode_network(&m);
        }
        for cut in 0..bytes.len() {
            assert!(
                decode_consensus(&bytes[..cut]).is_err(),
                "seed {seed}: truncated at {cut} accepted"
            );
        }
    }
}

/// Encodes a transaction with a too-long list and checks the decoder names that list.
fn assert_refused(tx: &Transaction, what: &str) {
    match decode_consensus(&tx.encode_consensus()) {
        Err(DecodeError::Rlp(RlpDecodeError::TooLarge { what: w, .. })) => assert_eq!(w, what),
        other => panic!("{what}: expected TooLarge, got {other:?}"),
    }
}

#[test]
fn lists_over_their_limits_are_refused() {
    let key = SecretKey::from_bytes(&[9u8; 32]).unwrap();
    let mut tx = Transaction {
        tx_type: TxType::AccessList,
        to: Some([1; 20]),
        access_list: vec![AccessListItem::default(); ACCESS_LIST_ADDRESSES_MAX + 1],
        ..Transaction::default()
    };
    tx.sign(&key, 1);
    assert_refused(&tx, "access list");

    // The key limit counts across entries: two entries each under it, together over it.
    let half = ACCESS_LIST_STORAGE_KEYS_MAX / 2 + 1;
    let entry = AccessListItem {
        address: [2; 20],
        storage_keys: vec![[3; 32]; half],
    };
    let mut tx = Transaction {
        tx_type: TxType::DynamicFee,
        to: Some([1; 20]),
        access_list: vec![entry.clone(), entry],
        ..Transaction::default()
    };
    tx.sign(&key, 1);
    assert_refused(&tx, "access list storage keys");

    let mut tx = Transaction {
        tx_type: TxType::SetCode,
        to: Some([1; 20]),
        authorization_list: vec![Authorization::default(); AUTHORIZATIONS_MAX + 1],
        ..Transaction::default()
    };
    tx.sign(&key, 1);
    assert_refused(&tx, "authorization list");

    let mut tx = Transaction {
        tx_type: TxType::Blob,
        to: Some([1; 20]),
        blob_versioned_hashes: vec![[1; 32]; BLOBS_PER_TX_MAX + 1],
        ..Transaction::default()
    };
    tx.sign(&key, 1);
    assert_refused(&tx, "blobVersionedHashes");

    let mut tx = Transaction {
        tx_type: TxType::DynamicFee,
        to: Some([1; 20]),
        input: vec![0; TX_ENCODED_SIZE_MAX],
        ..Transaction::default()
    };
    tx.sign(&key, 1);
    assert_refused(&tx, "transaction encoding");
}
