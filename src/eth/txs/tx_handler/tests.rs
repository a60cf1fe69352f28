//! The transaction handler's rules one by one: relay and announce, invalid and known bodies,
//! local transactions, serving pooled ones, deliveries that contradict their announcement or
//! carry a broken blob sidecar, and the account checks of an imported state snapshot.

use super::*;
use crate::crypto::SecretKey;
use crate::tx::transaction::{Transaction, TxType};
use crate::tx::validate::Fork;

const CHAIN: u64 = 7;

fn signed(nonce: u64, chain: u64) -> Vec<u8> {
    let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
    let mut tx = Transaction {
        tx_type: TxType::DynamicFee,
        nonce,
        tip_cap: 1_000_000_000,
        fee_cap: 50_000_000_000,
        gas_limit: 21_000,
        to: Some([0x42; 20]),
        ..Transaction::default()
    };
    tx.sign(&key, chain);
    tx.encode_network()
}

fn handler() -> TxHandler {
    let mut h = TxHandler::new(
        PoolConfig::default(),
        Rules::new(CHAIN, Fork::Prague, 30_000_000),
        9,
    );
    for p in 1..=4 {
        h.add_peer(ConnId(p));
    }
    h
}

fn drain(h: &mut TxHandler) -> Vec<TxOut> {
    std::iter::from_fn(|| h.poll()).collect()
}

#[test]
fn a_relayed_tx_is_announced_to_the_others_and_never_back() {
    let mut h = handler();
    let list = RawList::from_items([signed(0, CHAIN)]).unwrap();
    h.handle_transactions(
        Mono(0),
        ConnId(1),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    let out = drain(&mut h);
    let mut told = Vec::new();
    for o in &out {
        match o {
            TxOut::Send {
                peer,
                msg: EthMessage::NewPooledTransactionHashes(a),
            } => {
                assert_eq!(a.hashes.len(), 1);
                told.push(*peer);
            }
            other => panic!("a relay only announces: {other:?}"),
        }
    }
    told.sort_unstable();
    assert_eq!(told, [ConnId(2), ConnId(3), ConnId(4)]);
    assert_eq!(h.stats().added, 1);
    // The same body again is a duplicate, and nothing more is sent.
    h.handle_transactions(
        Mono(1),
        ConnId(2),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    assert!(drain(&mut h).is_empty());
    assert_eq!(h.stats().duplicates, 1);
}

#[test]
fn an_invalid_tx_is_counted_and_goes_nowhere() {
    let mut h = handler();
    let list = RawList::from_items([signed(0, CHAIN + 1)]).unwrap();
    h.handle_transactions(
        Mono(0),
        ConnId(1),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    assert!(drain(&mut h).is_empty());
    assert_eq!((h.stats().invalid, h.stats().added), (1, 0));
}

#[test]
fn a_peer_sending_too_many_invalid_txs_is_dropped_and_the_rest_ignored() {
    let mut h = handler();
    let bad: Vec<Vec<u8>> = (0..INVALID_TXS_PER_PEER_MAX as u64 + 10)
        .map(|n| signed(n, CHAIN + 1))
        .collect();
    let list = RawList::from_items(&bad).unwrap();
    h.handle_transactions(
        Mono(0),
        ConnId(1),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    let out = drain(&mut h);
    assert!(
        matches!(
            out.as_slice(),
            [TxOut::Disconnect {
                peer: ConnId(1),
                ..
            }]
        ),
        "{out:?}"
    );
    assert_eq!(h.stats().invalid, u64::from(INVALID_TXS_PER_PEER_MAX) + 1);
    // Nothing more from it is even looked at.
    h.handle_transactions(
        Mono(1),
        ConnId(1),
        &RawList::from_items([signed(0, CHAIN)]).unwrap(),
        &[ConnId(1)],
    );
    assert_eq!(h.stats().added, 0);
}

#[test]
fn a_known_tx_is_not_checked_again() {
    let mut h = handler();
    let list = RawList::from_items([signed(0, CHAIN)]).unwrap();
    h.handle_transactions(
        Mono(0),
        ConnId(1),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    drain(&mut h);
    h.handle_transactions(
        Mono(1),
        ConnId(2),
        &list,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    assert_eq!((h.stats().added, h.stats().duplicates), (1, 1));
    assert!(drain(&mut h).is_empty(), "a duplicate is not relayed");
}

#[test]
fn a_local_tx_is_pushed_to_some_announced_to_the_rest_and_journaled() {
    let mut h = handler();
    h.add_local(
        Mono(0),
        &signed(0, CHAIN),
        true,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    )
    .unwrap();
    let out = drain(&mut h);
    let pushed = out
        .iter()
        .filter(|o| {
            matches!(
                o,
                TxOut::Send {
                    msg: EthMessage::Transactions(_),
                    ..
                }
            )
        })
        .count();
    let announced = out
        .iter()
        .filter(|o| {
            matches!(
                o,
                TxOut::Send {
                    msg: EthMessage::NewPooledTransactionHashes(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!((pushed, announced), (2, 2), "⌈√4⌉ = 2 get the body");
    assert!(out.iter().any(|o| matches!(o, TxOut::Journal(_))));
}

#[test]
fn pooled_txs_are_served_in_request_order_skipping_unknown_ones() {
    let mut h = handler();
    let a = validate(&h.rules, &signed(0, CHAIN)).unwrap().hash;
    let b = validate(&h.rules, &signed(1, CHAIN)).unwrap().hash;
    h.add_local(Mono(0), &signed(0, CHAIN), false, &[]).unwrap();
    h.add_local(Mono(0), &signed(1, CHAIN), false, &[]).unwrap();
    drain(&mut h);
    h.handle_get_pooled(
        ConnId(3),
        &HashesRequest {
            request_id: 5,
            hashes: vec![b, [0; 32], a],
        },
    );
    let out = drain(&mut h);
    let [
        TxOut::Send {
            peer: ConnId(3),
            msg: EthMessage::PooledTransactions(r),
        },
    ] = out.as_slice()
    else {
        panic!("{out:?}")
    };
    assert_eq!(r.request_id, 5);
    let got: Vec<Hash> = r
        .items
        .iter()
        .map(|i| validate(&h.rules, i).unwrap().hash)
        .collect();
    assert_eq!(got, [b, a]);
}

#[test]
fn a_delivery_that_contradicts_its_announcement_disconnects() {
    let mut h = handler();
    let bytes = signed(0, CHAIN);
    let tx = validate(&h.rules, &bytes).unwrap();
    let ann = NewPooledTransactionHashes {
        types: vec![tx.tx_type],
        sizes: vec![tx.size as u32 + 1],
        hashes: vec![tx.hash],
    };
    h.handle_announce(Mono(0), ConnId(1), &ann);
    h.handle_timeout(Mono(600));
    let out = drain(&mut h);
    let Some(id) = out.iter().find_map(|o| match o {
        TxOut::Send {
            peer: ConnId(1),
            msg: EthMessage::GetPooledTransactions(r),
        } => Some(r.request_id),
        _ => None,
    }) else {
        panic!("no fetch: {out:?}")
    };
    let resp = RawResponse {
        request_id: id,
        items: RawList::from_items([bytes]).unwrap(),
    };
    h.handle_pooled(
        Mono(700),
        ConnId(1),
        &resp,
        &[ConnId(1), ConnId(2), ConnId(3), ConnId(4)],
    );
    let out = drain(&mut h);
    assert!(
        out.iter().any(|o| matches!(
            o,
            TxOut::Disconnect {
                peer: ConnId(1),
                ..
            }
        )),
        "{out:?}"
    );
    assert!(
        !h.pool().contains(&tx.hash),
        "the contradicted body is thrown away"
    );
}

/// A blob transaction at nonce 0 from our key, with a one-blob sidecar, after `change`.
fn blob_tx(change: impl FnOnce(&mut Transaction)) -> Vec<u8> {
    use crate::tx::transaction::{BLOB_SIZE, BlobSidecar, versioned_hash};
    let key = SecretKey::from_bytes(&[0x11; 32]).unwrap();
    let mut tx = Transaction {
        tx_type: TxType::Blob,
        tip_cap: 1_000_000_000,
        fee_cap: 50_000_000_000,
        gas_limit: 21_000,
        to: Some([0x42; 20]),
        blob_fee_cap: 1,
        blob_versioned_hashes: vec![versioned_hash(&[7; 48])],
        sidecar: Some(BlobSidecar {
            version: 0,
            blobs: vec![vec![0; BLOB_SIZE]],
            commitments: vec![[7; 48]],
            proofs: vec![[8; 48]],
        }),
        ..Transaction::default()
    };
    change(&mut tx);
    tx.sign(&key, CHAIN);
    tx.encode_network()
}

/// A transaction's pool form and an honest announcement of it alone.
fn announcement_of(h: &TxHandler, bytes: &[u8]) -> (PoolTx, NewPooledTransactionHashes) {
    let tx = validate(&h.rules, bytes).unwrap();
    let ann = NewPooledTransactionHashes {
        types: vec![tx.tx_type],
        sizes: vec![tx.size as u32],
        hashes: vec![tx.hash],
    };
    (tx, ann)
}

/// The request id of the GetPooledTransactions sent to `peer` for `hash`, if one was sent.
fn request_to(out: &[TxOut], peer: ConnId, hash: &Hash) -> Option<u64> {
    out.iter().find_map(|o| match o {
        TxOut::Send {
            peer: p,
            msg: EthMessage::GetPooledTransactions(r),
        } if *p == peer && r.hashes.contains(hash) => Some(r.request_id),
        _ => None,
    })
}

/// Found by the `tx_handler` fuzz target: a transaction announced by a peer and then submitted
/// locally is no longer fetched once the announcement's wait ends.
#[test]
fn a_local_tx_ends_the_fetch_of_its_announcement() {
    let mut h = handler();
    let bytes = signed(0, CHAIN);
    let (tx, ann) = announcement_of(&h, &bytes);
    h.handle_announce(Mono(0), ConnId(1), &ann);
    h.add_local(Mono(10), &bytes, false, &[ConnId(2)]).unwrap();
    drain(&mut h);
    h.handle_timeout(Mono(600));
    assert_eq!(request_to(&drain(&mut h), ConnId(1), &tx.hash), None);
    // Control: without the local submission the same wait ends in a fetch.
    let mut h = handler();
    h.handle_announce(Mono(0), ConnId(1), &ann);
    h.handle_timeout(Mono(600));
    assert!(request_to(&drain(&mut h), ConnId(1), &tx.hash).is_some());
}

#[test]
fn a_blob_tx_delivered_with_a_missing_or_wrong_sidecar_disconnects_and_is_refetched() {
    use crate::tx::transaction::KZG_SIZE;
    let all = [ConnId(1), ConnId(2), ConnId(3), ConnId(4)];
    let good = blob_tx(|_| {});
    let no_sidecar = blob_tx(|t| t.sidecar = None);
    let mismatched = blob_tx(|t| {
        if let Some(sc) = t.sidecar.as_mut() {
            sc.commitments[0] = [0; KZG_SIZE];
        }
    });
    for (what, bad) in [("no sidecar", no_sidecar), ("mismatched", mismatched)] {
        let mut h = handler();
        let (tx, ann) = announcement_of(&h, &good);
        h.handle_announce(Mono(0), ConnId(1), &ann);
        h.handle_timeout(Mono(600));
        let out = drain(&mut h);
        let id = request_to(&out, ConnId(1), &tx.hash).expect("fetched from peer 1");
        // A second announcer while the first is asked.
        h.handle_announce(Mono(650), ConnId(2), &ann);
        let resp = RawResponse {
            request_id: id,
            items: RawList::from_items([&bad]).unwrap(),
        };
        h.handle_pooled(Mono(700), ConnId(1), &resp, &all);
        let out = drain(&mut h);
        assert!(
            out.iter().any(|o| matches!(
                o,
                TxOut::Disconnect {
                    peer: ConnId(1),
                    fault: Fault::CapabilityBreach,
                    ..
                }
            )),
            "{what}: {out:?}"
        );
        let id = request_to(&out, ConnId(2), &tx.hash)
            .unwrap_or_else(|| panic!("{what}: not refetched from peer 2: {out:?}"));
        // The honest announcer's delivery is pooled and it stays.
        let resp = RawResponse {
            request_id: id,
            items: RawList::from_items([&good]).unwrap(),
        };
        h.handle_pooled(Mono(800), ConnId(2), &resp, &all);
        let out = drain(&mut h);
        assert!(h.pool().contains(&tx.hash), "{what}");
        assert!(
            !out.iter().any(|o| matches!(o, TxOut::Disconnect { .. })),
            "{what}: {out:?}"
        );
    }
}

/// A peer that leaves while a hash is being fetched from it: the hash is asked of its other
/// announcer at once, with no further event needed (found by the tx_fetcher fuzz target).
#[test]
fn a_fetch_from_a_departing_peer_moves_to_another_announcer() {
    let mut h = handler();
    let bytes = signed(0, CHAIN);
    let (tx, ann) = announcement_of(&h, &bytes);
    h.handle_announce(Mono(0), ConnId(1), &ann);
    h.handle_timeout(Mono(600));
    let out = drain(&mut h);
    request_to(&out, ConnId(1), &tx.hash).expect("fetched from peer 1");
    h.handle_announce(Mono(650), ConnId(2), &ann);
    assert!(request_to(&drain(&mut h), ConnId(2), &tx.hash).is_none());
    h.remove_peer(Mono(700), ConnId(1));
    let out = drain(&mut h);
    assert!(
        request_to(&out, ConnId(2), &tx.hash).is_some(),
        "not asked of peer 2 after peer 1 left: {out:?}"
    );
}

#[test]
fn with_the_heads_state_a_spent_nonce_or_a_short_balance_is_refused() {
    use crate::chain::header::U256;
    use crate::tx::state::{AccountState, AccountsAt};
    let all = [ConnId(1), ConnId(2), ConnId(3), ConnId(4)];
    let sender = validate(&handler().rules, &signed(0, CHAIN))
        .unwrap()
        .sender;
    // signed() costs 21 000 gas at a fee cap of 50 gwei, value 0.
    let cost = 21_000u64 * 50_000_000_000;
    let state = |balance: u64| AccountsAt {
        number: 9,
        block_hash: [9; 32],
        root: [0; 32],
        accounts: [(
            sender,
            AccountState {
                nonce: 1,
                balance: U256::from_u64(balance),
            },
        )]
        .into(),
    };
    let relay = |h: &mut TxHandler, nonce: u64| {
        let list = RawList::from_items([signed(nonce, CHAIN)]).unwrap();
        h.handle_transactions(Mono(0), ConnId(1), &list, &all);
        drain(h)
    };
    let mut h = handler();
    h.set_state(state(cost - 1), [9; 32]);
    assert!(relay(&mut h, 0).is_empty(), "nonce 0 is spent");
    assert!(relay(&mut h, 1).is_empty(), "the balance is one wei short");
    assert!(h.add_local(Mono(0), &signed(1, CHAIN), false, &[]).is_err());
    assert_eq!((h.stats().added, h.stats().refused_by_state), (0, 2));
    assert_eq!(h.stats().invalid, 0, "not counted against the peer");
    let mut h = handler();
    h.set_state(state(cost), [9; 32]);
    assert!(!relay(&mut h, 1).is_empty(), "an exact balance is enough");
    // Once the head is another block, the snapshot says nothing: as without one.
    h.set_head([8; 32]);
    assert!(!relay(&mut h, 0).is_empty());
    // And a snapshot of another block than the head never applies.
    let mut h = handler();
    h.set_state(state(0), [7; 32]);
    assert!(!relay(&mut h, 0).is_empty());
}
