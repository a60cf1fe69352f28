//! The `tx_handler` target: the transaction side of the eth protocol manager
//! (`eth::txs::TxHandler`; devp2p caps/eth.md "Transaction Exchange", EIP-2464 and EIP-5793)
//! driven by a script of what six peers send, checked against a model of what each peer knows.
//!
//! The bodies come from a fixed set signed once (signing is slow): 28 valid transactions from
//! three senders (four of them replacements of others at a higher price), four that no rule
//! accepts (another chain, a gas limit over the block's, a tip over the fee cap) and two RLP items
//! that are no transaction at all. Hashes beyond the set are made up.

use std::collections::{BTreeSet, VecDeque};
use std::sync::OnceLock;

use ethpeer::crypto::SecretKey;
use ethpeer::eth::txs::tx_fetcher::MISMATCH_REASON;
use ethpeer::eth::txs::tx_handler::{
    INVALID_TXS_PER_PEER_MAX, TX_PACKET_SIZE_SOFT, TxHandler, TxOut,
};
use ethpeer::eth::wire::{
    EthMessage, HashesRequest, NewPooledTransactionHashes, RawList, RawResponse,
};
use ethpeer::p2p::ConnId;
use ethpeer::p2p::fault::Fault;
use ethpeer::time::Mono;
use ethpeer::tx::pool::PoolConfig;
use ethpeer::tx::transaction::{Transaction, TxType};
use ethpeer::tx::validate::{Fork, Rules, validate};

use super::Script;

/// The chain the handler validates for.
const TXH_CHAIN: u64 = 7;

/// The head's gas limit the rules check against.
const TXH_GAS_LIMIT: u64 = 30_000_000;

/// Peers the script speaks for.
const TXH_PEERS: u8 = 6;

/// Fixed bodies: valid ones first, then those refused, then the two non-transactions.
const TXH_VALID: usize = 28;
const TXH_BODIES: usize = 34;

type Hash = [u8; 32];

/// One fixed body and what the model knows of it.
struct TxBody {
    bytes: Vec<u8>,
    /// The transaction's hash; a non-transaction's is made up (nothing can announce it).
    hash: Hash,
    tx_type: u8,
    /// Its consensus encoding's length: what an honest announcement says.
    size: u32,
    valid: bool,
}

fn txh_rules() -> Rules {
    Rules::new(TXH_CHAIN, Fork::Prague, TXH_GAS_LIMIT)
}

/// The fixed bodies, signed once; each one's validity as the model believes it is checked
/// against the validator here, so the model cannot drift from it.
fn txh_bodies() -> &'static [TxBody] {
    static BODIES: OnceLock<Vec<TxBody>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let types = [TxType::Legacy, TxType::AccessList, TxType::DynamicFee];
        let tx = |sender: u8, nonce: u64, bump: u128, chain: u64, gas: u64, tip: u128| {
            let key = SecretKey::from_bytes(&[0x31 + sender; 32]).expect("a valid key");
            let tx_type = types[(usize::from(sender) + nonce as usize) % 3];
            let price = 10_000_000_000 * bump / 100;
            let mut t = Transaction {
                tx_type,
                nonce,
                tip_cap: if tx_type == TxType::DynamicFee {
                    tip * bump / 100
                } else {
                    price
                },
                fee_cap: price,
                gas_limit: gas,
                to: Some([0x42; 20]),
                ..Transaction::default()
            };
            t.sign(&key, chain);
            t
        };
        let mut txs = Vec::new();
        for sender in 0..3u8 {
            for nonce in 0..8 {
                txs.push(tx(sender, nonce, 100, TXH_CHAIN, 21_000, 1_000_000_000));
            }
        }
        // Replacements: the same sender and nonce, both prices 20 % higher.
        for nonce in 0..4 {
            txs.push(tx(0, nonce, 120, TXH_CHAIN, 21_000, 1_000_000_000));
        }
        txs.push(tx(1, 9, 100, TXH_CHAIN + 1, 21_000, 1_000_000_000));
        txs.push(tx(2, 9, 100, TXH_CHAIN + 2, 21_000, 1_000_000_000));
        txs.push(tx(0, 9, 100, TXH_CHAIN, TXH_GAS_LIMIT + 1, 1_000_000_000));
        // A dynamic-fee transaction (sender 1, nonce 10: 1 + 10 = 11, 11 % 3 = 2) whose tip
        // exceeds its fee cap.
        txs.push(tx(1, 10, 100, TXH_CHAIN, 21_000, 20_000_000_000));
        let mut bodies: Vec<TxBody> = txs
            .iter()
            .enumerate()
            .map(|(i, t)| TxBody {
                bytes: t.encode_network(),
                hash: t.hash(),
                tx_type: t.tx_type.byte(),
                size: t.encode_consensus().len() as u32,
                valid: i < TXH_VALID,
            })
            .collect();
        for (k, junk) in [[0x80u8], [0xc0]].into_iter().enumerate() {
            bodies.push(TxBody {
                bytes: junk.to_vec(),
                hash: txh_made_up(0xf0 + k as u8),
                tx_type: 0,
                size: 1,
                valid: false,
            });
        }
        assert_eq!(bodies.len(), TXH_BODIES);
        let rules = txh_rules();
        for (i, b) in bodies.iter().enumerate() {
            assert_eq!(validate(&rules, &b.bytes).is_ok(), b.valid, "body {i}");
        }
        bodies
    })
}

/// A hash no fixed body has.
fn txh_made_up(b: u8) -> Hash {
    let mut h = [0xdd; 32];
    h[0] = b;
    h
}

/// The body with this hash, if any.
fn txh_index(h: &Hash) -> Option<usize> {
    txh_bodies().iter().position(|b| &b.hash == h)
}

/// A script byte as a hash: a fixed body's (0..34) or a made-up one.
fn txh_hash_of(b: u8) -> Hash {
    let i = usize::from(b % 40);
    match txh_bodies().get(i) {
        Some(body) => body.hash,
        None => txh_made_up(b),
    }
}

/// One peer as the model sees it.
#[derive(Default)]
struct TxhPeer {
    live: bool,
    /// What the handler must believe the peer has: what it sent us or announced, and what we
    /// sent, served or announced to it.
    knows: BTreeSet<Hash>,
    /// What it announced to us.
    announced: BTreeSet<Hash>,
    /// Its invalid bodies so far, and whether that got it disconnected.
    invalid: u32,
    dropped: bool,
    /// Our last request to it: id and hashes.
    asked: Option<(u64, Vec<Hash>)>,
}

/// The model's bookkeeping of one received body, as the handler's `take` does it: a dropped
/// peer's bodies are ignored, an invalid one counts against its sender, any other is known to
/// it. Returns whether the body crossed the sender's limit.
fn txh_take(peer: &mut TxhPeer, body: &TxBody, received: &mut u64, invalid: &mut u64) -> bool {
    if peer.dropped {
        return false;
    }
    *received += 1;
    if body.valid {
        peer.knows.insert(body.hash);
        return false;
    }
    *invalid += 1;
    peer.invalid += 1;
    if peer.invalid > INVALID_TXS_PER_PEER_MAX {
        peer.dropped = true;
        return true;
    }
    false
}

/// The transaction handler driven by a script of steps, each a kind byte, a peer byte and its
/// arguments: a peer connects or leaves, pushes Transactions (fixed bodies by index), announces
/// hashes (honestly, with a wrong size or type, or made up), answers our request (or a made-up
/// one) with PooledTransactions, asks GetPooledTransactions; the clock moves; a local
/// transaction is submitted. The model checks every output, for any input: a message goes only
/// to a connected peer; no transaction is sent or announced to a peer known to have it, and a
/// transaction newly pooled reaches every connected peer that lacks it, whole or by hash; what
/// is announced or sent is in the pool, with its true type and size, in messages within
/// `TX_PACKET_SIZE_SOFT`; a GetPooledTransactions asks only for hashes the peer announced and
/// the pool lacks; a PooledTransactions reply echoes the request id and holds exactly the pooled
/// transactions asked for, in order; a disconnect goes only to the peer whose message it judged,
/// for its invalid bodies past `INVALID_TXS_PER_PEER_MAX` or a delivery contradicting its
/// announcement; the journal gets exactly the accepted local transactions; the pool holds only
/// valid transactions; the counters agree with the model; no timer is left due.
pub fn tx_handler(data: &[u8]) {
    let bodies = txh_bodies();
    let mut h = TxHandler::new(PoolConfig::default(), txh_rules(), 0x7a);
    let mut s = Script { rest: data };
    let mut now = Mono(1_000);
    let mut peers: Vec<TxhPeer> = (0..TXH_PEERS).map(|_| TxhPeer::default()).collect();
    let (mut received, mut invalid, mut sent, mut announced) = (0u64, 0u64, 0u64, 0u64);

    for _ in 0..256 {
        if s.done() {
            break;
        }
        let op = s.byte() % 8;
        let p = usize::from(s.byte() % TXH_PEERS);
        let conn = ConnId(p as u64);
        let live: Vec<ConnId> = (0..peers.len())
            .filter(|&q| peers[q].live)
            .map(|q| ConnId(q as u64))
            .collect();
        // A message from a peer that is not connected never reaches the handler.
        if (2..=5).contains(&op) && !peers[p].live {
            continue;
        }
        let pooled_before: Vec<bool> = bodies.iter().map(|b| h.pool().contains(&b.hash)).collect();
        // What the step may do besides sending: disconnect `p` (op 2: invalid bodies; op 4:
        // those or a contradicted announcement), journal a local transaction (op 7).
        let mut may_drop = false;
        let mut mismatch_possible = false;
        let mut journal: Option<Vec<u8>> = None;
        let mut get_pooled: Option<HashesRequest> = None;
        match op {
            0 => {
                if !peers[p].live {
                    peers[p] = TxhPeer {
                        live: true,
                        ..TxhPeer::default()
                    };
                    h.add_peer(conn);
                }
            }
            1 => {
                if peers[p].live {
                    peers[p] = TxhPeer::default();
                    h.remove_peer(now, conn);
                }
            }
            2 => {
                let n = s.byte() % 9;
                let idx: Vec<usize> = (0..n).map(|_| usize::from(s.byte()) % TXH_BODIES).collect();
                for &i in &idx {
                    may_drop |= txh_take(&mut peers[p], &bodies[i], &mut received, &mut invalid);
                }
                let list = RawList::from_items(idx.iter().map(|&i| &bodies[i].bytes))
                    .expect("fixed bodies are RLP items");
                h.handle_transactions(now, conn, &list, &live);
            }
            3 => {
                let n = s.byte() % 9;
                let mut ann = NewPooledTransactionHashes {
                    types: Vec::new(),
                    sizes: Vec::new(),
                    hashes: Vec::new(),
                };
                for _ in 0..n {
                    let (b, lie) = (s.byte(), s.byte());
                    let hash = txh_hash_of(b);
                    let (t, size) =
                        txh_index(&hash).map_or((2, 200), |i| (bodies[i].tx_type, bodies[i].size));
                    ann.types.push(if lie & 1 == 1 { (t + 1) % 3 } else { t });
                    ann.sizes.push(if lie & 2 == 2 { size + 7 } else { size });
                    ann.hashes.push(hash);
                    peers[p].knows.insert(hash);
                    peers[p].announced.insert(hash);
                }
                h.handle_announce(now, conn, &ann);
            }
            4 => {
                let sel = s.byte();
                let n = s.byte() % 9;
                let idx: Vec<usize> = (0..n).map(|_| usize::from(s.byte()) % TXH_BODIES).collect();
                for &i in &idx {
                    may_drop |= txh_take(&mut peers[p], &bodies[i], &mut received, &mut invalid);
                }
                mismatch_possible = true;
                let request_id = match (sel % 2, &peers[p].asked) {
                    (1, Some((id, _))) => *id,
                    _ => u64::from(sel) << 32,
                };
                let items = RawList::from_items(idx.iter().map(|&i| &bodies[i].bytes))
                    .expect("fixed bodies are RLP items");
                h.handle_pooled(now, conn, &RawResponse { request_id, items }, &live);
            }
            5 => {
                let request_id = u64::from(s.byte());
                let n = s.byte() % 9;
                let hashes: Vec<Hash> = (0..n).map(|_| txh_hash_of(s.byte())).collect();
                let req = HashesRequest { request_id, hashes };
                h.handle_get_pooled(conn, &req);
                get_pooled = Some(req);
            }
            6 => {
                now += u64::from(s.byte()) * 50;
                h.handle_timeout(now);
            }
            _ => {
                let i = usize::from(s.byte()) % TXH_BODIES;
                let r = h.add_local(now, &bodies[i].bytes, true, &live);
                assert_eq!(
                    r.is_ok(),
                    bodies[i].valid && !pooled_before[i] && h.pool().contains(&bodies[i].hash),
                    "add_local of body {i}: {r:?}"
                );
                if let Ok(hash) = r {
                    assert_eq!(hash, bodies[i].hash);
                    journal = Some(bodies[i].bytes.clone());
                }
            }
        }

        // Outputs in order; when they run out, the loop closes what was disconnected and the
        // handler hears of it (what was being fetched from it goes to its other announcers).
        let mut closing: Vec<usize> = Vec::new();
        let mut replied = false;
        let mut journaled = None;
        let mut queue: VecDeque<TxOut> = std::iter::from_fn(|| h.poll()).collect();
        loop {
            let Some(out) = queue.pop_front() else {
                for &q in &closing {
                    if peers[q].live {
                        peers[q] = TxhPeer::default();
                        h.remove_peer(now, ConnId(q as u64));
                    }
                }
                queue.extend(std::iter::from_fn(|| h.poll()));
                if queue.is_empty() {
                    break;
                }
                continue;
            };
            match out {
                TxOut::Send { peer, msg } => {
                    let q = usize::try_from(peer.0).expect("a peer of ours");
                    assert!(
                        q < peers.len() && peers[q].live,
                        "a message to peer {q}, not connected"
                    );
                    if closing.contains(&q) {
                        // Being disconnected: the loop drops what is still queued for it.
                        continue;
                    }
                    let pool = h.pool();
                    let tell = |hash: Hash, peer: &mut TxhPeer| {
                        assert!(pool.contains(&hash), "told of a hash not pooled");
                        assert!(
                            peer.knows.insert(hash),
                            "peer {q} told of a transaction it has"
                        );
                    };
                    match msg {
                        EthMessage::Transactions(list) => {
                            let items: Vec<&[u8]> = list.iter().collect();
                            assert!(!items.is_empty(), "an empty Transactions");
                            let bytes: usize = items.iter().map(|i| i.len()).sum();
                            assert!(
                                items.len() == 1 || bytes <= TX_PACKET_SIZE_SOFT,
                                "Transactions of {bytes} bytes"
                            );
                            for item in items {
                                let i = bodies.iter().position(|b| b.bytes == item);
                                let i = i.expect("a body sent is a fixed one");
                                tell(bodies[i].hash, &mut peers[q]);
                                sent += 1;
                            }
                        }
                        EthMessage::NewPooledTransactionHashes(a) => {
                            assert!(!a.hashes.is_empty(), "an empty announcement");
                            assert_eq!(a.types.len(), a.hashes.len());
                            assert_eq!(a.sizes.len(), a.hashes.len());
                            for (j, hash) in a.hashes.iter().enumerate() {
                                let i = txh_index(hash).expect("an announced hash is a body's");
                                assert_eq!(a.types[j], bodies[i].tx_type, "announced type");
                                assert_eq!(a.sizes[j], bodies[i].size, "announced size");
                                tell(*hash, &mut peers[q]);
                                announced += 1;
                            }
                        }
                        EthMessage::GetPooledTransactions(req) => {
                            assert!(!req.hashes.is_empty(), "an empty request");
                            for hash in &req.hashes {
                                assert!(
                                    peers[q].announced.contains(hash),
                                    "asked peer {q} for a hash it never announced"
                                );
                                assert!(!pool.contains(hash), "asked for a pooled hash");
                            }
                            peers[q].asked = Some((req.request_id, req.hashes));
                        }
                        EthMessage::PooledTransactions(resp) => {
                            let req = get_pooled.as_ref().expect("a reply nobody asked for");
                            assert!(q == p && !replied, "a reply to another peer, or two");
                            replied = true;
                            assert_eq!(resp.request_id, req.request_id, "the reply's id");
                            let want: Vec<&[u8]> = req
                                .hashes
                                .iter()
                                .filter_map(|hash| pool.get(hash))
                                .map(|t| &t.network_rlp[..])
                                .collect();
                            let got: Vec<&[u8]> = resp.items.iter().collect();
                            assert_eq!(got, want, "the reply holds what was asked, in order");
                            for item in got {
                                let i = bodies.iter().position(|b| b.bytes == item);
                                peers[q].knows.insert(bodies[i.expect("a fixed body")].hash);
                                sent += 1;
                            }
                        }
                        other => panic!("the handler sent {other:?}"),
                    }
                }
                TxOut::Disconnect { peer, fault, why } => {
                    let q = usize::try_from(peer.0).expect("a peer of ours");
                    assert_eq!(q, p, "a disconnect of a peer that did not speak");
                    assert!(!closing.contains(&q), "two disconnects");
                    assert_eq!(fault, Fault::CapabilityUseless, "{why}");
                    let crossed = may_drop && peers[q].dropped;
                    assert!(
                        crossed || (mismatch_possible && why == MISMATCH_REASON),
                        "a disconnect without cause: {why}"
                    );
                    closing.push(q);
                }
                TxOut::Journal(bytes) => {
                    assert!(journaled.is_none(), "journaled twice");
                    journaled = Some(bytes);
                }
            }
        }
        if may_drop {
            assert!(closing.contains(&p), "peer {p} past the invalid limit kept");
        }
        assert!(
            get_pooled.is_none() || replied,
            "GetPooledTransactions unanswered"
        );
        assert_eq!(journaled, journal, "the journal gets the local transaction");

        // Every transaction newly pooled reaches every connected peer that lacked it.
        for (i, b) in bodies.iter().enumerate() {
            assert!(
                b.valid || !h.pool().contains(&b.hash),
                "an invalid body pooled"
            );
            if pooled_before[i] || !h.pool().contains(&b.hash) {
                continue;
            }
            for (q, peer) in peers.iter().enumerate() {
                if peer.live {
                    assert!(
                        peer.knows.contains(&b.hash),
                        "peer {q} never told of new transaction {i}"
                    );
                }
            }
        }
        let stats = h.stats();
        assert_eq!(stats.received, received, "bodies received");
        assert_eq!(stats.invalid, invalid, "invalid bodies");
        assert_eq!(stats.sent, sent, "bodies sent");
        assert_eq!(stats.announced, announced, "hashes announced");
        assert!(h.pool().len() <= TXH_VALID);
        if op == 6
            && let Some(t) = h.poll_timeout()
        {
            assert!(t > now, "a timer due at {t:?} left after {now:?}");
        }
    }
}
