//! The syncer's unit tests: when a sync starts, whom it follows, timeouts and late replies.
use super::*;

fn head(version: EthVersion, number: u64, td: Option<u64>) -> PeerHead {
    PeerHead {
        version,
        hash: [number as u8; 32],
        number: Some(number),
        td: td.map(U256::from_u64),
        earliest: 0,
    }
}

fn syncer(merged: bool) -> Syncer {
    let config = SyncConfig {
        min_peers: 10,
        merged,
        ..SyncConfig::default()
    };
    let local = LocalHead {
        number: 2,
        hash: [2; 32],
        td: U256::from_u64(5),
    };
    Syncer::new(config, local)
}

#[test]
fn before_the_merge_total_difficulty_ranks_peers() {
    let mut s = syncer(false);
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth68, 50, Some(10)));
    s.add_peer(Mono(0), ConnId(2), head(EthVersion::Eth68, 40, Some(20)));
    s.add_peer(Mono(0), ConnId(3), head(EthVersion::Eth69, 60, None));
    assert_eq!(s.best_peer().map(|b| b.0), Some(ConnId(2)));
    let mut s = syncer(true);
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth68, 50, Some(10)));
    s.add_peer(Mono(0), ConnId(2), head(EthVersion::Eth68, 40, Some(20)));
    s.add_peer(Mono(0), ConnId(3), head(EthVersion::Eth69, 60, None));
    assert_eq!(s.best_peer().map(|b| b.0), Some(ConnId(3)));
}

#[test]
fn of_equal_peers_the_first_wins_and_behind_peers_start_nothing() {
    let mut s = syncer(true);
    s.add_peer(Mono(0), ConnId(4), head(EthVersion::Eth69, 2, None));
    s.add_peer(Mono(0), ConnId(7), head(EthVersion::Eth70, 2, None));
    assert_eq!(s.best_peer().map(|b| b.0), Some(ConnId(4)));
    // Timer due, but nobody is ahead of our head at 2.
    s.handle_timeout(s.poll_timeout().unwrap());
    assert!(!s.syncing());
    assert!(s.poll_action().is_none());
    s.update_peer(Mono(20_000), ConnId(7), 3, [3; 32]);
    s.handle_timeout(s.poll_timeout().unwrap());
    assert!(s.syncing());
    assert!(matches!(s.poll_action(), Some(SyncAction::Log { .. })));
    assert!(matches!(
        s.poll_action(),
        Some(SyncAction::Request {
            peer: ConnId(7),
            ..
        })
    ));
}

#[test]
fn a_named_peer_ahead_starts_a_sync_at_once() {
    // min_peers is 10: an unnamed peer ahead waits for the force timer...
    let mut s = syncer(true);
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth69, 50, None));
    assert!(
        !s.syncing(),
        "an unnamed peer waits for min_peers or the timer"
    );
    // ...a static or trusted one does not.
    let mut s = syncer(true);
    s.prefer_peer(ConnId(1));
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth69, 50, None));
    assert!(
        s.syncing(),
        "a named peer ahead starts the sync when it arrives"
    );
    assert!(matches!(s.poll_action(), Some(SyncAction::Log { .. })));
    // A named peer behind us starts nothing.
    let mut s = syncer(true);
    s.prefer_peer(ConnId(1));
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth69, 1, None));
    assert!(!s.syncing());
}

#[test]
fn late_ids_are_bounded() {
    let mut s = syncer(true);
    s.add_peer(Mono(0), ConnId(1), head(EthVersion::Eth69, 100_000, None));
    let mut now = 0;
    // A run gives up on its first chunk after two timeouts; the timer starts the next.
    for _ in 0..(3 * LATE_IDS_MAX) {
        now += s.config.request_timeout;
        s.handle_timeout(Mono(now));
        // Keep the peer from being dropped as stalled: forget its timeouts.
        if let Some(p) = s.peers.get_mut(&ConnId(1)) {
            p.timeouts = 0;
        }
    }
    assert_eq!(
        s.late.len(),
        LATE_IDS_MAX,
        "every timeout remembered, up to the bound"
    );
    assert!(s.pending.len() <= s.peers.len());
}

/// Each action's kind, a Log by its message, for ordering checks.
fn kinds(actions: &[SyncAction]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| match a {
            SyncAction::Log { msg, .. } => *msg,
            SyncAction::Write(_) => "Write",
            SyncAction::Request { .. } => "Request",
            SyncAction::Drop { .. } => "Drop",
        })
        .collect()
}

/// Blocks 1 and 2 of the fixture chain, as (header RLP, body RLP, hash).
fn fixture_blocks() -> Vec<(Vec<u8>, Vec<u8>, Hash)> {
    fixture_raw_blocks(2)
        .iter()
        .zip(1..)
        .map(|(raw, n)| {
            let b = crate::chain::verify::verify_block(raw, None, n).unwrap();
            (b.header_rlp, b.body_rlp, b.hash)
        })
        .collect()
}

/// The first `n` blocks of the fixture chain file (blocks 1 to n), as raw RLP items split with
/// the strict validator (the import reader and files are the shell's; the file is built in).
fn fixture_raw_blocks(n: usize) -> Vec<Vec<u8>> {
    let data: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/chain/chain.rlp"
    ));
    let mut rest = data;
    (0..n)
        .map(|_| {
            let len = crate::rlp::strict::validate_prefix(rest).unwrap();
            let (item, tail) = rest.split_at(len);
            rest = tail;
            item.to_vec()
        })
        .collect()
}

/// The request id of the one Request among `actions`.
fn request_id(actions: &[SyncAction]) -> u64 {
    let ids: Vec<u64> = actions
        .iter()
        .filter_map(|a| match a {
            SyncAction::Request { msg, .. } => Some(match msg {
                EthMessage::GetBlockHeaders(q) => q.request_id,
                EthMessage::GetBlockBodies(q) => q.request_id,
                EthMessage::GetReceipts(q) => q.request_id,
                _ => panic!("not a sync request"),
            }),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "{actions:?}");
    ids[0]
}

fn drain(s: &mut Syncer) -> Vec<SyncAction> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

/// Found by the `syncer` fuzz target: receipts nobody serves were logged only on the pump after
/// the block went out in a Write (and not at all when the run ended first).
#[test]
fn receipts_unavailable_is_told_before_the_block_is_written() {
    use crate::eth::wire::{RawList, Receipts};
    let blocks = fixture_blocks();
    let config = SyncConfig {
        min_peers: 1,
        ..SyncConfig::default()
    };
    let local = LocalHead {
        number: 1,
        hash: blocks[0].2,
        td: U256::from_u64(1),
    };
    let mut s = Syncer::new(config, local);
    let peer = ConnId(1);
    let status = PeerHead {
        version: EthVersion::Eth69,
        hash: blocks[1].2,
        number: Some(2),
        td: None,
        earliest: 0,
    };
    s.add_peer(Mono(0), peer, status);
    let id = request_id(&drain(&mut s));
    let headers = RawList::from_items([&blocks[0].0, &blocks[1].0]).unwrap();
    let reply = EthMessage::BlockHeaders(RawResponse {
        request_id: id,
        items: headers,
    });
    s.handle_response(Mono(1), peer, reply).unwrap();
    let id = request_id(&drain(&mut s));
    let bodies = RawList::from_items([&blocks[1].1]).unwrap();
    let reply = EthMessage::BlockBodies(RawResponse {
        request_id: id,
        items: bodies,
    });
    s.handle_response(Mono(2), peer, reply).unwrap();
    // The only peer answers empty for the receipts twice: nobody has them.
    let mut actions = drain(&mut s);
    for t in 3..5 {
        let id = request_id(&actions);
        let empty = Receipts::from_receipts(EthVersion::Eth69, id, false, &[]).unwrap();
        s.handle_response(Mono(t), peer, EthMessage::Receipts(empty))
            .unwrap();
        actions = drain(&mut s);
    }
    let at = |want: &dyn Fn(&SyncAction) -> bool| actions.iter().position(want);
    let kinds = kinds(&actions);
    let told = at(&|a| {
        matches!(
            a,
            SyncAction::Log {
                msg: "Receipts unavailable",
                ..
            }
        )
    });
    let written = at(&|a| matches!(a, SyncAction::Write(_)));
    assert!(written.is_some(), "block 2 not written: {kinds:?}");
    assert!(
        told.is_some_and(|t| Some(t) < written),
        "told after the write: {kinds:?}"
    );
}

/// Found by the `syncer` fuzz target: when the check that gave up on a block's receipts also
/// failed the run (a later body no peer serves), the ReceiptsUnavailable it had found was
/// dropped, and the block went out in the failed run's last Write with no word of it.
#[test]
fn receipts_given_up_as_the_run_fails_are_still_told() {
    use crate::eth::wire::{RawList, Receipts};
    let config = SyncConfig {
        min_peers: 1,
        ..SyncConfig::default()
    };
    let chain: Vec<StoredBlock> = fixture_raw_blocks(3)
        .iter()
        .zip(1..)
        .map(|(raw, n)| crate::chain::verify::verify_block(raw, None, n).unwrap())
        .collect();
    let local = LocalHead {
        number: 1,
        hash: chain[0].hash,
        td: U256::from_u64(1),
    };
    let mut s = Syncer::new(config, local);
    let peer = ConnId(1);
    let status = PeerHead {
        version: EthVersion::Eth69,
        hash: chain[2].hash,
        number: Some(3),
        td: None,
        earliest: 0,
    };
    s.add_peer(Mono(0), peer, status);
    let id = request_id(&drain(&mut s));
    let headers = RawList::from_items(chain.iter().map(|b| &b.header_rlp)).unwrap();
    let reply = EthMessage::BlockHeaders(RawResponse {
        request_id: id,
        items: headers,
    });
    s.handle_response(Mono(1), peer, reply).unwrap();
    // Bodies 2 and 3 asked; only 2 comes (a short reply).
    let id = request_id(&drain(&mut s));
    let reply = EthMessage::BlockBodies(RawResponse {
        request_id: id,
        items: RawList::from_items([&chain[1].body_rlp]).unwrap(),
    });
    s.handle_response(Mono(2), peer, reply).unwrap();
    // Receipts of 2 and body 3 asked: the receipts come back empty once, and are asked again.
    let receipts_id = |actions: &[SyncAction]| {
        actions.iter().find_map(|a| match a {
            SyncAction::Request {
                msg: EthMessage::GetReceipts(q),
                ..
            } => Some(q.request_id),
            _ => None,
        })
    };
    let id = receipts_id(&drain(&mut s)).expect("receipts asked");
    let empty = Receipts::from_receipts(EthVersion::Eth69, id, false, &[]).unwrap();
    s.handle_response(Mono(3), peer, EthMessage::Receipts(empty))
        .unwrap();
    assert!(
        receipts_id(&drain(&mut s)).is_some(),
        "receipts asked again"
    );
    // The peer's head drops below 3, and both requests time out: receipts of 2 are given up
    // and block 3's body has nobody to serve it, in one check.
    s.update_peer(Mono(4), peer, 2, chain[1].hash);
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(Mono(10_000));
    let actions = drain(&mut s);
    let kinds = kinds(&actions);
    let told = kinds.iter().position(|k| *k == "Receipts unavailable");
    let written = kinds.iter().position(|k| *k == "Write");
    assert!(written.is_some(), "block 2 not written: {kinds:?}");
    assert!(
        told.is_some_and(|t| Some(t) < written),
        "not told: {kinds:?}"
    );
    assert!(!s.syncing(), "the run failed: {kinds:?}");
}
