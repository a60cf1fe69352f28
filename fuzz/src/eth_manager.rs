//! The `eth_manager` target: the eth protocol manager (`eth::manager::EthManager`; devp2p
//! caps/eth.md "Status", "Chain Synchronization", "Block Propagation" and EIP-7642's
//! BlockRangeUpdate) driven by a script of session events, checked against a model of which
//! peers are past their Status. The syncer and the transaction handler it owns have targets of
//! their own; this one checks what the manager itself decides: checkpoint 3, which messages
//! end a session, where messages may go, and our block range announcements.

use std::collections::VecDeque;
use std::sync::OnceLock;

use ethpeer::chain::block::Head;
use ethpeer::chain::forkid::ForkId;
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::spec::ChainSpec;
use ethpeer::eth::manager::{EthAction, EthConfig, EthManager, RANGE_UPDATE_BLOCKS};
use ethpeer::eth::sync::SyncConfig;
use ethpeer::eth::wire::handshake::ChainHead;
use ethpeer::eth::wire::{
    BlockHashNumber, BlockRangeUpdate, EthMessage, EthVersion, Status, decode,
};
use ethpeer::p2p::ConnId;
use ethpeer::p2p::fault::Fault;
use ethpeer::time::Mono;
use ethpeer::tx::pool::PoolConfig;

use super::Script;

/// Peers the script speaks for.
const MGR_PEERS: u8 = 5;

/// A chain past the Merge at genesis, with two time forks ahead of its head. Its times are
/// real timestamps (above EIP-2124's threshold), so that a head whose number the script moves
/// stays a head a chain could have (its time at least its number).
const MGR_GENESIS_MERGED: &str = r#"{"config": {"chainId": 4242, "londonBlock": 0,
    "shanghaiTime": 1700000000, "cancunTime": 1710000000, "terminalTotalDifficulty": 0},
    "timestamp": "0x5f5e1000", "alloc": {}}"#;

/// A proof-of-work chain (no terminal difficulty) with London ahead at block 3.
const MGR_GENESIS_POW: &str = r#"{"config": {"chainId": 4242, "homesteadBlock": 0,
    "londonBlock": 3}, "timestamp": "0x5", "difficulty": "0x20000", "alloc": {}}"#;

fn mgr_specs() -> &'static [ChainSpec; 2] {
    static SPECS: OnceLock<[ChainSpec; 2]> = OnceLock::new();
    SPECS.get_or_init(|| {
        [MGR_GENESIS_MERGED, MGR_GENESIS_POW].map(|text| {
            let g = Genesis::from_json(text).expect("the target's genesis");
            ChainSpec::from_genesis(&g, None).expect("the target's chain")
        })
    })
}

/// A made-up hash.
fn mgr_hash(b: u8) -> [u8; 32] {
    let mut h = [0xcc; 32];
    h[0] = b;
    h
}

/// How a script changes our own Status before a peer sends it back: (name, accepted).
/// 0 honest; 1 another version; 2 another network; 3 another genesis; 4 an unknown fork hash;
/// 5 (eth/69+) earliest past latest, (eth/68) another total difficulty; 6 another head;
/// 7 a fork at block 1000 or later announced as next: accepted while our head is below it
/// (EIP-2124: a peer whose next fork we have passed without it is stale).
fn mgr_status(ours: Status, how: u8, x: u8, head: u64) -> (Status, bool) {
    let next = 1_000 + u64::from(x);
    // The changes both forms share (2, 3, 4, 7), to the fields both have.
    let common = |network_id: &mut u64, genesis: &mut [u8; 32], fork_id: &mut ForkId| match how {
        2 => Some(mgr_change(network_id, |n| *n += 1, false)),
        3 => Some(mgr_change(genesis, |g| g[0] ^= 1, false)),
        4 => Some(mgr_change(fork_id, |f| f.hash[0] ^= 1, false)),
        7 => Some(mgr_change(fork_id, |f| f.next = next, head < next)),
        _ => None,
    };
    match ours {
        Status::Eth68(mut s) => {
            let ok = common(&mut s.network_id, &mut s.genesis, &mut s.fork_id);
            let ok = ok.unwrap_or_else(|| match how {
                1 => mgr_change(&mut s.version, |v| *v = 67, false),
                5 => mgr_change(&mut s.td, |td| td[31] ^= x | 1, true),
                6 => mgr_change(&mut s.head, |h| *h = mgr_hash(x), true),
                _ => true,
            });
            (Status::Eth68(s), ok)
        }
        Status::Eth69(mut s) => {
            let ok = common(&mut s.network_id, &mut s.genesis, &mut s.fork_id);
            let ok = ok.unwrap_or_else(|| match how {
                1 => mgr_change(
                    &mut s.version,
                    |v| *v = if *v == 69 { 70 } else { 69 },
                    false,
                ),
                5 => {
                    s.earliest = s.latest + 1 + u64::from(x);
                    false
                }
                6 => {
                    s.latest = u64::from(x);
                    s.latest_hash = mgr_hash(x);
                    true
                }
                _ => true,
            });
            (Status::Eth69(s), ok)
        }
    }
}

/// Applies `change` to `field` and says whether checkpoint 3 must accept the result.
fn mgr_change<T>(field: &mut T, change: impl FnOnce(&mut T), accepted: bool) -> bool {
    change(field);
    accepted
}

/// What the message a peer just sent must, may or must not cost it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Must,
    May,
    MustNot,
    /// Nothing at all happens (requests the session's task answers).
    Silent,
}

/// The manager driven by a script: a config byte (bit 0: sync on; bit 1: the proof-of-work
/// chain), then steps of a kind byte, a peer byte and arguments: a Status sent back to us (ours
/// as is or changed one way, at eth/68, 69 or 70), a message in wire bytes (id and payload,
/// decoded at the peer's version), a BlockRangeUpdate, a NewBlockHashes, a session closed, the
/// clock moving, a write finished (with sync off: a head of our own choosing). The model
/// checks, for any input: checkpoint 3 accepts exactly the Statuses that agree with ours
/// (version, network, genesis, fork id, a range whose earliest is not past its latest), and the
/// peer count and versions follow; a peer not past its Status is never sent to or judged, and
/// nothing it sends does anything; a disconnect goes to the peer whose message broke the
/// protocol (a second Status, a BlockRangeUpdate before eth/69 or with its range upside down,
/// block gossip after the Merge, a reply to nothing with sync off), and only the syncer's
/// timers may drop another; requests the session's task serves do nothing here; block requests
/// go out only with sync on; our BlockRangeUpdate goes, once, to every eth/69+ peer exactly
/// when the head has moved `RANGE_UPDATE_BLOCKS` past the last one; no timer is left due.
pub fn eth_manager(data: &[u8]) {
    let mut s = Script { rest: data };
    let flags = s.byte();
    let sync = flags & 1 == 1;
    let spec = mgr_specs()[usize::from(flags >> 1 & 1)].clone();
    let merged = spec.terminal_total_difficulty.is_some();
    let mut head = ChainHead::genesis(&spec);
    let header = spec.genesis_header.clone();
    let config = EthConfig {
        sync,
        sync_config: SyncConfig {
            min_peers: 1,
            request_timeout: 500,
            force_interval: 2_000,
            ..SyncConfig::default()
        },
        pool: PoolConfig::default(),
        seed: 3,
    };
    let mut m = EthManager::new(spec, head, &header, config);
    assert_eq!(m.post_merge(), merged);
    let mut now = Mono(1_000);
    // Each peer's version once past its Status.
    let mut peers: Vec<Option<EthVersion>> = vec![None; usize::from(MGR_PEERS)];
    let mut range_announced = 0u64;
    let mut writes_out = 0usize;

    for _ in 0..256 {
        if s.done() {
            break;
        }
        let op = s.byte() % 8;
        let p = usize::from(s.byte() % MGR_PEERS);
        let conn = ConnId(p as u64);
        let mut verdict = Verdict::MustNot;
        // Our BlockRangeUpdate, if this step must send it.
        let mut range: Option<BlockRangeUpdate> = None;
        match op {
            0 => {
                let (v, how, x) = (s.byte(), s.byte() % 8, s.byte());
                let version = EthVersion::ALL[usize::from(v % 3)];
                let (status, ok) = mgr_status(m.status_for(version), how, x, head.number);
                match peers[p] {
                    None => {
                        let r = m.handle_status(now, conn, version, &status);
                        assert_eq!(r.is_ok(), ok, "checkpoint 3, change {how}: {r:?}");
                        if ok {
                            peers[p] = Some(version);
                        }
                    }
                    Some(_) => {
                        verdict = Verdict::Must;
                        m.handle_message(now, conn, EthMessage::Status(status));
                    }
                }
            }
            1 | 2 | 6 => {
                let version = peers[p].unwrap_or(EthVersion::Eth69);
                let msg = match op {
                    1 => {
                        let id = u64::from(s.byte() % 0x12);
                        let len = usize::from(s.byte());
                        let payload: Vec<u8> = (0..len).map(|_| s.byte()).collect();
                        match decode(version, id, &payload) {
                            Ok(msg) => msg,
                            // The session's task refuses what does not decode.
                            Err(_) => continue,
                        }
                    }
                    2 => {
                        let (e, l) = (u64::from(s.byte()), u64::from(s.byte()));
                        EthMessage::BlockRangeUpdate(BlockRangeUpdate {
                            earliest: e,
                            latest: l,
                            latest_hash: mgr_hash(l as u8),
                        })
                    }
                    _ => {
                        let n = u64::from(s.byte());
                        EthMessage::NewBlockHashes(vec![BlockHashNumber {
                            hash: mgr_hash(n as u8),
                            number: n,
                        }])
                    }
                };
                verdict = match &msg {
                    _ if peers[p].is_none() => Verdict::Silent,
                    EthMessage::Status(_) => Verdict::Must,
                    EthMessage::BlockRangeUpdate(r) => {
                        if !version.has_block_range() || r.earliest > r.latest {
                            Verdict::Must
                        } else {
                            Verdict::MustNot
                        }
                    }
                    EthMessage::NewBlock(_) | EthMessage::NewBlockHashes(_) if merged => {
                        Verdict::Must
                    }
                    EthMessage::NewBlock(b) if b.header().is_err() => Verdict::Must,
                    EthMessage::NewBlock(_) | EthMessage::NewBlockHashes(_) => Verdict::MustNot,
                    EthMessage::BlockHeaders(_)
                    | EthMessage::BlockBodies(_)
                    | EthMessage::Receipts(_) => {
                        if sync {
                            Verdict::May
                        } else {
                            Verdict::Must
                        }
                    }
                    EthMessage::GetBlockHeaders(_)
                    | EthMessage::GetBlockBodies(_)
                    | EthMessage::GetReceipts(_) => Verdict::Silent,
                    EthMessage::GetPooledTransactions(_) => Verdict::MustNot,
                    EthMessage::Transactions(_)
                    | EthMessage::NewPooledTransactionHashes(_)
                    | EthMessage::PooledTransactions(_) => Verdict::May,
                };
                m.handle_message(now, conn, msg);
            }
            3 => {
                m.handle_closed(now, conn);
                peers[p] = None;
            }
            4 => {
                now += u64::from(s.byte()) * 40;
                m.handle_timeout(now);
            }
            _ => {
                let x = s.byte();
                if sync {
                    // The storage thread's answer to the oldest outstanding write, if any:
                    // here a failure (the syncer target follows successful writes).
                    if writes_out > 0 {
                        writes_out -= 1;
                        m.handle_written(now, Err("disk full".into()));
                    }
                } else {
                    // With sync off the head moves by imports of our own.
                    let number = head.number + u64::from(x % 64);
                    let written = Head {
                        number,
                        hash: mgr_hash(x),
                        td: head.td,
                    };
                    if number >= range_announced + RANGE_UPDATE_BLOCKS {
                        range_announced = number;
                        range = Some(BlockRangeUpdate {
                            earliest: 0,
                            latest: number,
                            latest_hash: written.hash,
                        });
                    }
                    m.handle_written(now, Ok(written));
                    head.number = number;
                    head.hash = written.hash;
                    assert_eq!((m.head().number, m.head().hash), (number, written.hash));
                }
            }
        }

        // The actions, in order; when they run out, the loop closes what was disconnected.
        let mut queue: VecDeque<EthAction> = std::iter::from_fn(|| m.poll_action()).collect();
        if verdict == Verdict::Silent {
            assert!(
                queue.is_empty(),
                "a message that does nothing here did {queue:?}"
            );
        }
        let mut closing: Vec<usize> = Vec::new();
        let mut ranges: Vec<usize> = Vec::new();
        loop {
            let Some(action) = queue.pop_front() else {
                for &q in &closing {
                    if peers[q].is_some() {
                        peers[q] = None;
                        m.handle_closed(now, ConnId(q as u64));
                    }
                }
                queue.extend(std::iter::from_fn(|| m.poll_action()));
                if queue.is_empty() {
                    break;
                }
                continue;
            };
            match action {
                EthAction::Send { peer, msg } => {
                    let q = usize::try_from(peer.0).expect("a peer of ours");
                    let version = peers.get(q).copied().flatten();
                    let version = version.expect("a message to a peer not past its Status");
                    if closing.contains(&q) {
                        continue;
                    }
                    match msg {
                        EthMessage::Transactions(_)
                        | EthMessage::NewPooledTransactionHashes(_)
                        | EthMessage::GetPooledTransactions(_)
                        | EthMessage::PooledTransactions(_) => {}
                        EthMessage::GetBlockHeaders(_)
                        | EthMessage::GetBlockBodies(_)
                        | EthMessage::GetReceipts(_) => {
                            assert!(sync, "a block request with sync off")
                        }
                        EthMessage::BlockRangeUpdate(r) => {
                            assert!(version.has_block_range(), "a range to an eth/68 peer");
                            assert_eq!(Some(r), range, "our range update");
                            assert!(!ranges.contains(&q), "two range updates to one peer");
                            ranges.push(q);
                        }
                        other => panic!("the manager sent {other:?}"),
                    }
                }
                EthAction::Disconnect { peer, fault, why } => {
                    let q = usize::try_from(peer.0).expect("a peer of ours");
                    assert!(
                        peers.get(q).copied().flatten().is_some(),
                        "a disconnect of a peer not past its Status"
                    );
                    assert!(
                        matches!(fault, Fault::CapabilityBreach | Fault::CapabilityUseless),
                        "{fault:?}: {why}"
                    );
                    if q == p && matches!(op, 0..=2 | 6) {
                        assert!(
                            matches!(verdict, Verdict::Must | Verdict::May),
                            "peer {p} disconnected for a message that must not cost it: {why}"
                        );
                    } else {
                        assert!(
                            sync && op == 4,
                            "peer {q} disconnected by step {op} of peer {p}: {why}"
                        );
                    }
                    if !closing.contains(&q) {
                        closing.push(q);
                    }
                }
                EthAction::Write(blocks) => {
                    assert!(
                        sync && !blocks.is_empty(),
                        "a write with sync off, or empty"
                    );
                    writes_out += 1;
                }
                EthAction::Log { .. } => {}
                EthAction::Journal(_) => panic!("a journal entry with no local transaction"),
            }
        }
        if verdict == Verdict::Must {
            assert!(
                closing.contains(&p),
                "peer {p} kept after breaking the protocol"
            );
        }
        if range.is_some() {
            let want: Vec<usize> = (0..peers.len())
                .filter(|&q| peers[q].is_some_and(|v| v.has_block_range()))
                .collect();
            ranges.sort_unstable();
            assert_eq!(ranges, want, "our range update to every eth/69+ peer");
        } else {
            assert!(
                ranges.is_empty(),
                "a range update before the head moved enough"
            );
        }
        assert_eq!(m.peer_count(), peers.iter().flatten().count(), "peer count");
        for (q, v) in peers.iter().enumerate() {
            assert_eq!(m.peer_version(ConnId(q as u64)), *v, "peer {q}'s version");
        }
        let _ = m.sync_target();
        if op == 4
            && let Some(t) = m.poll_timeout()
        {
            assert!(t > now, "a timer due at {t:?} left after {now:?}");
        }
    }
}
