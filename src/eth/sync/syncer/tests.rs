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
