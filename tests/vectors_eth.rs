//! eth wire-message vectors (fixtures/eth/messages.json: go-ethereum's TestMessages payloads,
//! devp2p caps/eth.md Status formats, derived examples) and the Prague test chain
//! (fixtures/chain/) carried through BlockHeaders, BlockBodies and NewBlock; random and mutated
//! payloads never panic; over-limit inputs are refused.

mod common;

use common::{TestRng, fixture_json, fixture_path, h, h32, hv};
use ethpeer::crypto::keccak256;
use ethpeer::enr::ForkId;
use ethpeer::eth::{
    self, ANNOUNCEMENTS_COUNT_MAX, BlockOrigin, EthError, EthMessage, EthVersion, GetBlockHeaders,
    HashesRequest, HeaderInfo, MESSAGE_SIZE_MAX, NewBlock, REQUEST_HASHES_COUNT_MAX, RawList,
    RawResponse, Receipt, ReceiptForm, Status, Status69, TRANSACTIONS_COUNT_MAX, decode, encode,
    message_name,
};
use ethpeer::rlp::RlpDecodeError;
use rlp::RlpStream;
use serde_json::Value;

fn fx() -> Value {
    fixture_json("eth/messages.json")
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("fixture field {key} missing in {v}"))
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("fixture field {key} missing in {v}"))
}

/// The versions a vector's `versions` text names, among those we speak: "eth/66+ (68, 69)" is
/// every version from 66 on, "eth/66..69" a range, "eth/69" one version.
fn versions_of(text: &str) -> Vec<EthVersion> {
    let spec = text
        .split_whitespace()
        .next()
        .and_then(|s| s.strip_prefix("eth/"))
        .unwrap_or_else(|| panic!("unexpected versions text {text:?}"));
    let (lo, hi) = if let Some(lo) = spec.strip_suffix('+') {
        (lo.parse::<u64>().unwrap(), u64::MAX)
    } else if let Some((lo, hi)) = spec.split_once("..") {
        (lo.parse().unwrap(), hi.parse().unwrap())
    } else {
        let v = spec.parse().unwrap();
        (v, v)
    };
    let out: Vec<_> = EthVersion::ALL
        .into_iter()
        .filter(|v| (lo..=hi).contains(&u64::from(v.number())))
        .collect();
    assert!(!out.is_empty(), "no version we speak in {text:?}");
    out
}

/// The message name as our id table spells it, from names like "Receipts (eth/68 and eth/69)".
fn bare_name(name: &str) -> &str {
    name.split(['(', ' ']).next().unwrap_or(name)
}

fn id_of(fx: &Value, name: &str) -> u64 {
    let codes = fx["message_codes"]["codes"].as_object().unwrap();
    codes
        .iter()
        .find(|(k, _)| bare_name(k) == name)
        .and_then(|(_, v)| v.as_u64())
        .unwrap_or_else(|| panic!("no code for {name}"))
}

#[test]
fn code_table_and_protocol_lengths_match_the_fixture() {
    let fx = fx();
    for (name, code) in fx["message_codes"]["codes"].as_object().unwrap() {
        let code = code.as_u64().unwrap();
        let only69 = name.contains("eth/69 only");
        for v in EthVersion::ALL {
            let expect = if only69 && v == EthVersion::Eth68 {
                None
            } else {
                Some(bare_name(name))
            };
            assert_eq!(message_name(v, code), expect, "{name} in {v}");
        }
    }
    for (v, len) in fx["message_codes"]["protocol_length"].as_object().unwrap() {
        let number = v.strip_prefix("eth/").unwrap().parse().unwrap();
        let version = EthVersion::from_number(number).unwrap();
        assert_eq!(version.protocol_length(), len.as_u64().unwrap(), "{v}");
    }
    // eth/70 added no message, so it spans the same ids as eth/69.
    assert_eq!(
        EthVersion::Eth70.protocol_length(),
        EthVersion::Eth69.protocol_length()
    );
}

#[test]
fn message_vectors_decode_and_reencode_exactly() {
    let fx = fx();
    let request_id = u64_of(&fx, "request_id");
    let mut checked = 0;
    for vec in fx["vectors"].as_array().unwrap() {
        let name = str_of(vec, "name");
        let id = u64_of(vec, "eth_message_code");
        let payload = hv(&vec["rlp"]);
        assert_eq!(
            u64_of(vec, "wire_message_code_when_eth_is_only_capability"),
            ethpeer::p2p::BASE_PROTOCOL_LENGTH + id,
            "{name}: wire code"
        );
        for v in versions_of(str_of(vec, "versions")) {
            let msg = decode(v, id, &payload).unwrap_or_else(|e| panic!("{name} in {v}: {e}"));
            assert_eq!(
                message_name(v, msg.id()),
                Some(str_of(vec, "message")),
                "{name}"
            );
            assert_eq!(msg.request_id(), Some(request_id), "{name} in {v}");
            let (out_id, out) = encode(v, &msg).unwrap_or_else(|e| panic!("{name} in {v}: {e}"));
            assert_eq!(out_id, id, "{name} in {v}");
            assert_eq!(out, payload, "{name} in {v}: re-encoding differs");
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} vector/version pairs checked");
}

#[test]
fn vector_contents_match_their_descriptions() {
    let fx = fx();
    let vectors = fx["vectors"].as_array().unwrap();
    let find = |name: &str| {
        vectors
            .iter()
            .find(|v| str_of(v, "name") == name)
            .unwrap_or_else(|| panic!("no vector {name}"))
    };
    let by_hash = find("GetBlockHeaders (origin by hash)");
    let msg = decode(EthVersion::Eth68, 3, &hv(&by_hash["rlp"])).unwrap();
    let mut hash = [0u8; 32];
    hash[28..].copy_from_slice(&[0xde, 0xad, 0xc0, 0xde]);
    assert_eq!(
        msg,
        EthMessage::GetBlockHeaders(GetBlockHeaders {
            request_id: 1111,
            origin: BlockOrigin::Hash(hash),
            amount: 5,
            skip: 5,
            reverse: false
        })
    );
    let by_number = find("GetBlockHeaders (origin by number)");
    let msg = decode(EthVersion::Eth69, 3, &hv(&by_number["rlp"])).unwrap();
    let EthMessage::GetBlockHeaders(q) = msg else {
        panic!("not GetBlockHeaders")
    };
    assert_eq!(q.origin, BlockOrigin::Number(9999));

    let headers = find("BlockHeaders (one pre-London header)");
    let EthMessage::BlockHeaders(r) = decode(EthVersion::Eth68, 4, &hv(&headers["rlp"])).unwrap()
    else {
        panic!("not BlockHeaders")
    };
    let infos = r.headers().unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!((infos[0].number, infos[0].time), (3333, 6666));
    assert_eq!(infos[0].field_count, 15);

    // The pooled transactions are the fixture's two sample transactions, byte for byte.
    let samples: Vec<_> = fx["sample_transactions"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let pooled = find("PooledTransactions (2 legacy txs)");
    let EthMessage::PooledTransactions(r) =
        decode(EthVersion::Eth70, 10, &hv(&pooled["rlp"])).unwrap()
    else {
        panic!("not PooledTransactions")
    };
    let txs: Vec<&[u8]> = r.items.iter().collect();
    assert_eq!(txs.len(), samples.len());
    for (tx, sample) in txs.iter().zip(&samples) {
        assert_eq!(*tx, hv(&sample["rlp"]).as_slice());
        assert_eq!(keccak256(tx).to_vec(), hv(&sample["hash"]));
        assert_eq!(tx.len() as u64, u64_of(sample, "size"));
    }
}

#[test]
fn eth69_receipts_convert_back_to_the_eth68_bytes_with_their_blooms() {
    let fx = fx();
    let vectors = fx["vectors"].as_array().unwrap();
    let payload_of = |name: &str| {
        hv(&vectors
            .iter()
            .find(|v| str_of(v, "name") == name)
            .unwrap_or_else(|| panic!("no vector {name}"))["rlp"])
    };
    let p68 = payload_of("Receipts eth/68 (consensus encoding with bloom)");
    let p69 = payload_of("Receipts eth/69 (no bloom, type as first list element)");
    let EthMessage::Receipts(r68) = decode(EthVersion::Eth68, 16, &p68).unwrap() else {
        panic!("not Receipts")
    };
    let EthMessage::Receipts(r69) = decode(EthVersion::Eth69, 16, &p69).unwrap() else {
        panic!("not Receipts")
    };
    assert_eq!(r68.form, ReceiptForm::Consensus);
    assert_eq!(r69.form, ReceiptForm::Network);

    // eth/69 -> consensus recomputes every bloom; the result must be the eth/68 vector.
    let back = r69.to_form(ReceiptForm::Consensus).unwrap();
    let (_, bytes) = encode(EthVersion::Eth68, &EthMessage::Receipts(back)).unwrap();
    assert_eq!(bytes, p68, "eth/69 receipts converted to eth/68");
    let forth = r68.to_form(ReceiptForm::Network).unwrap();
    let (_, bytes) = encode(EthVersion::Eth69, &EthMessage::Receipts(forth)).unwrap();
    assert_eq!(bytes, p69, "eth/68 receipts converted to eth/69");

    // The same receipts, decoded either way; the bloom each eth/68 receipt carries is the one
    // computed from its logs.
    let decoded = r69.receipts().unwrap();
    assert_eq!(r68.receipts().unwrap(), decoded);
    let all: Vec<&Receipt> = decoded.iter().flatten().collect();
    assert_eq!(all.iter().map(|r| r.tx_type).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(all[0].post_state_or_status, Vec::<u8>::new());
    assert_eq!(all[1].post_state_or_status, vec![1]);
    for (block, receipts) in r68.blocks.iter().zip(&decoded) {
        let items = RawList::from_items([block]).unwrap();
        let list = items.iter().next().unwrap();
        for (i, r) in receipts.iter().enumerate() {
            let bloom = r.bloom();
            assert!(
                list.windows(256).any(|w| w == bloom),
                "receipt {i}: computed bloom not found in the eth/68 bytes"
            );
            assert_ne!(bloom, [0u8; 256], "receipt {i} has logs");
        }
    }

    // Each form is refused where the other belongs.
    assert!(decode(EthVersion::Eth69, 16, &p68).is_err());
    assert!(decode(EthVersion::Eth68, 16, &p69).is_err());
    // eth/70 wraps the same lists with lastBlockIncomplete.
    assert!(decode(EthVersion::Eth70, 16, &p69).is_err());
    let mut r70 = r69.clone();
    r70.last_block_incomplete = true;
    let (_, bytes) = encode(EthVersion::Eth70, &EthMessage::Receipts(r70.clone())).unwrap();
    assert_eq!(
        decode(EthVersion::Eth70, 16, &bytes),
        Ok(EthMessage::Receipts(r70))
    );
}

#[test]
fn empty_messages() {
    let fx = fx();
    let payload = hv(&fx["empty_messages"]["rlp"]);
    let names = fx["empty_messages"]["messages"].as_array().unwrap();
    for name in names {
        let name = bare_name(name.as_str().unwrap());
        let id = id_of(&fx, name);
        for v in [EthVersion::Eth68, EthVersion::Eth69] {
            let got = decode(v, id, &payload);
            if name == "GetBlockHeaders" {
                // go-ethereum writes a nil query as an empty list; a query with no origin is
                // not something we can answer, so it is refused rather than guessed at.
                assert!(
                    matches!(got, Err(EthError::Rlp(RlpDecodeError::Malformed(_)))),
                    "{name} in {v}"
                );
                continue;
            }
            let msg = got.unwrap_or_else(|e| panic!("{name} in {v}: {e}"));
            assert_eq!(msg.request_id(), Some(1111), "{name} in {v}");
            assert_eq!(encode(v, &msg).unwrap().1, payload, "{name} in {v}");
        }
    }
}

#[test]
fn derived_new_pooled_transaction_hashes() {
    let fx = fx();
    let payload = hv(&fx["derived_examples"]["NewPooledTransactionHashes"]);
    let samples = fx["sample_transactions"].as_array().unwrap();
    for v in EthVersion::ALL {
        let msg = decode(v, 8, &payload).unwrap_or_else(|e| panic!("{v}: {e}"));
        let EthMessage::NewPooledTransactionHashes(a) = &msg else {
            panic!("not NewPooledTransactionHashes")
        };
        assert_eq!(a.types, vec![0; samples.len()], "{v}: legacy types");
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(u64::from(a.sizes[i]), u64_of(s, "size"), "{v}: size {i}");
            assert_eq!(a.hashes[i].to_vec(), hv(&s["hash"]), "{v}: hash {i}");
        }
        assert_eq!(encode(v, &msg).unwrap(), (8, payload.clone()), "{v}");
    }
}

#[test]
fn derived_eth69_status_for_the_chain_head() {
    let fx = fx();
    let ex = &fx["derived_examples"]["Status_eth69_for_ethtest_chain_head"];
    let f = &ex["fields"];
    let payload = hv(&ex["rlp"]);
    let expect = Status69 {
        version: u64_of(f, "version") as u32,
        network_id: u64_of(f, "networkid"),
        genesis: h32(str_of(f, "genesis")),
        fork_id: ForkId {
            hash: h(str_of(&f["forkid"], "hash")).try_into().unwrap(),
            next: u64_of(&f["forkid"], "next"),
        },
        earliest: u64_of(f, "earliest"),
        latest: u64_of(f, "latest"),
        latest_hash: h32(str_of(f, "latestHash")),
    };
    // The example agrees with the chain it describes.
    let index = fixture_json("chain/chain_index.json");
    assert_eq!(expect.genesis, h32(str_of(&index["genesis"], "hash")));
    assert_eq!(expect.latest_hash, h32(str_of(&index, "head")));
    assert_eq!(expect.latest, u64_of(&index, "head_number"));
    assert_eq!(expect.network_id, u64_of(&index, "network_id"));
    for v in [EthVersion::Eth69, EthVersion::Eth70] {
        let msg = decode(v, 0, &payload).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(msg, EthMessage::Status(Status::Eth69(expect)), "{v}");
        assert_eq!(encode(v, &msg).unwrap(), (0, payload.clone()), "{v}");
    }
    assert!(decode(EthVersion::Eth68, 0, &payload).is_err());
    let msg = EthMessage::Status(Status::Eth69(expect));
    assert!(matches!(
        encode(EthVersion::Eth68, &msg),
        Err(EthError::WrongForm { .. })
    ));
}

/// The blocks of fixtures/chain/chain.rlp, each as its RLP.
fn chain_blocks() -> Vec<Vec<u8>> {
    let data = std::fs::read(fixture_path("chain/chain.rlp")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let info = rlp::PayloadInfo::from(rest).unwrap();
        let (block, tail) = rest.split_at(info.total());
        blocks.push(block.to_vec());
        rest = tail;
    }
    blocks
}

#[test]
fn chain_headers_and_bodies_travel_through_messages() {
    let index = fixture_json("chain/chain_index.json");
    let rows = index["blocks"].as_array().unwrap();
    let blocks = chain_blocks();
    assert_eq!(blocks.len(), rows.len());
    let mut headers = Vec::new();
    let mut bodies = Vec::new();
    for block in &blocks {
        let r = rlp::Rlp::new(block);
        headers.push(r.at(0).unwrap().as_raw().to_vec());
        let mut body = RlpStream::new_list(r.item_count().unwrap() - 1);
        for i in 1..r.item_count().unwrap() {
            body.append_raw(r.at(i).unwrap().as_raw(), 1);
        }
        bodies.push(body.out().to_vec());
    }

    let msg = EthMessage::BlockHeaders(RawResponse {
        request_id: 7,
        items: RawList::from_items(&headers).unwrap(),
    });
    let (id, payload) = encode(EthVersion::Eth69, &msg).unwrap();
    let decoded = decode(EthVersion::Eth69, id, &payload).unwrap();
    assert_eq!(decoded, msg);
    let EthMessage::BlockHeaders(r) = decoded else {
        panic!("not BlockHeaders")
    };
    let genesis = HeaderInfo::parse(&hv(&index["genesis"]["header_rlp"])).unwrap();
    assert_eq!(genesis.hash, h32(str_of(&index["genesis"], "hash")));
    assert_eq!(genesis.number, 0);
    let mut parent = genesis.hash;
    for (info, row) in r.headers().unwrap().iter().zip(rows) {
        let n = u64_of(row, "number");
        assert_eq!(info.number, n, "block {n}");
        assert_eq!(info.hash, h32(str_of(row, "hash")), "block {n}");
        assert_eq!(info.time, u64_of(row, "timestamp"), "block {n}");
        assert_eq!(
            info.field_count as u64,
            u64_of(row, "header_fields"),
            "block {n}"
        );
        assert_eq!(info.parent_hash, parent, "block {n} links to its parent");
        assert!(
            info.withdrawals_root.is_some(),
            "block {n} is post-Shanghai"
        );
        parent = info.hash;
    }

    // Bodies carry transactions of every type (legacy lists, typed strings) and withdrawals.
    let msg = EthMessage::BlockBodies(RawResponse {
        request_id: 8,
        items: RawList::from_items(&bodies).unwrap(),
    });
    for v in EthVersion::ALL {
        let (id, payload) = encode(v, &msg).unwrap();
        assert!(payload.len() < MESSAGE_SIZE_MAX);
        assert_eq!(decode(v, id, &payload).as_ref(), Ok(&msg), "{v}");
    }
    for (body, row) in bodies.iter().zip(rows) {
        let txs = rlp::Rlp::new(body).at(0).unwrap().item_count().unwrap();
        assert_eq!(txs as u64, u64_of(row, "tx_count"));
    }

    // The head block as a (defunct) NewBlock.
    let head = NewBlock {
        block: blocks.last().unwrap().clone(),
        td: [0; 32],
    };
    assert_eq!(head.header().unwrap().hash, h32(str_of(&index, "head")));
    let msg = EthMessage::NewBlock(head);
    let (id, payload) = encode(EthVersion::Eth68, &msg).unwrap();
    assert_eq!(decode(EthVersion::Eth68, id, &payload), Ok(msg));
}

fn hashes_request(count: usize) -> EthMessage {
    EthMessage::GetPooledTransactions(HashesRequest {
        request_id: 1,
        hashes: vec![[0x5a; 32]; count],
    })
}

#[test]
fn over_limit_inputs_are_refused() {
    // Hash requests: the limit itself passes, one more is refused.
    for (id, name) in [
        (5, "GetBlockBodies"),
        (9, "GetPooledTransactions"),
        (15, "GetReceipts"),
    ] {
        let (_, ok) = encode(EthVersion::Eth69, &hashes_request(REQUEST_HASHES_COUNT_MAX)).unwrap();
        assert!(decode(EthVersion::Eth69, id, &ok).is_ok(), "{name}");
        let (_, over) = encode(
            EthVersion::Eth69,
            &hashes_request(REQUEST_HASHES_COUNT_MAX + 1),
        )
        .unwrap();
        assert!(
            matches!(
                decode(EthVersion::Eth69, id, &over),
                Err(EthError::Rlp(RlpDecodeError::TooLarge { size, max, .. }))
                    if size == REQUEST_HASHES_COUNT_MAX + 1 && max == REQUEST_HASHES_COUNT_MAX
            ),
            "{name}"
        );
    }

    let tx = hv(&fx()["sample_transactions"][0]["rlp"]);
    let txs = |n: usize| EthMessage::Transactions(RawList::from_items(vec![&tx; n]).unwrap());
    let (_, ok) = encode(EthVersion::Eth68, &txs(TRANSACTIONS_COUNT_MAX)).unwrap();
    assert!(decode(EthVersion::Eth68, 2, &ok).is_ok());
    let (_, over) = encode(EthVersion::Eth68, &txs(TRANSACTIONS_COUNT_MAX + 1)).unwrap();
    assert!(matches!(
        decode(EthVersion::Eth68, 2, &over),
        Err(EthError::Rlp(RlpDecodeError::TooLarge { .. }))
    ));

    let n = ANNOUNCEMENTS_COUNT_MAX + 1;
    let ann = EthMessage::NewPooledTransactionHashes(eth::NewPooledTransactionHashes {
        types: vec![2; n],
        sizes: vec![100; n],
        hashes: vec![[1; 32]; n],
    });
    let (_, over) = encode(EthVersion::Eth70, &ann).unwrap();
    assert!(matches!(
        decode(EthVersion::Eth70, 8, &over),
        Err(EthError::Rlp(RlpDecodeError::TooLarge { .. }))
    ));

    // A payload over 10 MiB is refused before it is parsed, whatever it holds.
    let mut big = RlpStream::new_list(2);
    big.append(&1u64);
    big.append(&vec![0u8; MESSAGE_SIZE_MAX].as_slice());
    let big = big.out().to_vec();
    for id in [4, 6, 10, 16] {
        assert!(matches!(
            decode(EthVersion::Eth70, id, &big),
            Err(EthError::Rlp(RlpDecodeError::TooLarge {
                max: MESSAGE_SIZE_MAX,
                ..
            }))
        ));
    }
}

/// Every id from 0 to 0x20 in every version: decoding `payload` may fail but must not panic.
fn decode_everything(payload: &[u8]) {
    for v in EthVersion::ALL {
        for id in 0..0x20 {
            let _ = decode(v, id, payload);
        }
    }
}

#[test]
fn random_payloads_never_panic() {
    let mut rng = TestRng::new(0x0e7a_6869);
    for _ in 0..3000 {
        let len = rng.below(200) as usize;
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf);
        // Half the time make it look like a list, so decoders get past the first check.
        if rng.below(2) == 0 && len > 2 {
            buf[0] = 0xf8;
            buf[1] = (len - 2) as u8;
        }
        decode_everything(&buf);
    }
}

/// A random RLP tree of canonical items: lists of up to five items, strings of the sizes eth
/// fields have (hashes, addresses, blooms, small integers), so decoders get past the shape
/// checks that random bytes rarely pass.
fn random_rlp(rng: &mut TestRng, depth: u32, s: &mut RlpStream) {
    if depth < 5 && rng.below(2) == 0 {
        let n = rng.below(6) as usize;
        s.begin_list(n);
        for _ in 0..n {
            random_rlp(rng, depth + 1, s);
        }
        return;
    }
    let len = [0, 1, 2, 4, 8, 9, 20, 32, 33, 256][rng.below(10) as usize];
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes);
    if rng.below(2) == 0 {
        // Small values, so integer fields are often canonical.
        bytes.truncate(1);
        if let Some(b) = bytes.first_mut() {
            *b = (*b % 3).max(1);
        }
    }
    s.append(&bytes.as_slice());
}

#[test]
fn random_rlp_trees_never_panic() {
    let mut rng = TestRng::new(0x7ee5);
    for _ in 0..4000 {
        let mut s = RlpStream::new();
        random_rlp(&mut rng, 0, &mut s);
        decode_everything(&s.out());
    }
}

#[test]
fn mutated_vectors_never_panic() {
    let fx = fx();
    let mut payloads: Vec<Vec<u8>> = fx["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| hv(&v["rlp"]))
        .collect();
    payloads.push(hv(&fx["derived_examples"]["NewPooledTransactionHashes"]));
    payloads.push(hv(
        &fx["derived_examples"]["Status_eth69_for_ethtest_chain_head"]["rlp"],
    ));
    let mut rng = TestRng::new(0x5eed_0070);
    for (n, original) in payloads.iter().enumerate() {
        for round in 0..150 {
            let mut p = original.clone();
            match rng.below(3) {
                0 => {
                    let i = rng.below(p.len() as u64) as usize;
                    p[i] ^= 1 << rng.below(8);
                }
                1 => p.truncate(rng.below(p.len() as u64) as usize),
                _ => {
                    let i = rng.below(p.len() as u64) as usize;
                    p[i] = rng.next_u64() as u8;
                }
            }
            let result = std::panic::catch_unwind(|| decode_everything(&p));
            assert!(result.is_ok(), "payload {n}, round {round}: {p:02x?}");
        }
    }
}
