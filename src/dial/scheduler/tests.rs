//! Unit tests of `scheduler.rs`.
use super::*;
use crate::crypto::SecretKey;
use crate::dial::DIALS_ACTIVE_MAX;
use std::net::SocketAddr;

fn node(i: u8, addr: &str) -> DialCandidate {
    let sk = SecretKey::from_bytes(&[i.max(1); 32]).unwrap();
    DialCandidate::new(sk.public_key(), addr.parse::<SocketAddr>().unwrap())
}

fn n(i: u8) -> DialCandidate {
    node(i, &format!("10.0.0.{i}:30303"))
}

fn sched(config: DialConfig) -> DialScheduler {
    DialScheduler::new(config, NodeId([0xee; 32]), 7)
}

fn drain(s: &mut DialScheduler, now: Mono) -> Vec<DialTask> {
    std::iter::from_fn(|| s.poll_dial(now)).collect()
}

/// Follows the timer like the event loop would until a dial comes out; returns its time.
fn next_dial(s: &mut DialScheduler) -> (Mono, DialTask) {
    loop {
        let at = s.poll_timeout().expect("a timer is pending");
        s.handle_timeout(at);
        if let Some(t) = s.poll_dial(at) {
            return (at, t);
        }
    }
}

#[test]
fn candidates_dialed_in_order_with_deadline() {
    let mut s = sched(DialConfig::default());
    for i in 1..=3 {
        s.add_candidate(Mono(0), n(i)).unwrap();
    }
    let tasks = drain(&mut s, Mono(1_000));
    let ids: Vec<_> = tasks.iter().map(|t| t.node.id()).collect();
    assert_eq!(ids, vec![n(1).id(), n(2).id(), n(3).id()]);
    assert!(
        tasks
            .iter()
            .all(|t| t.deadline == Mono(1_000 + DIAL_TIMEOUT))
    );
    assert!(tasks.iter().all(|t| t.kind == DialKind::Dynamic));
    assert_eq!(s.dialing_count(), 3);
}

#[test]
fn never_dials_self() {
    let mut s = sched(DialConfig::default());
    let me = n(9);
    s.set_self_id(me.id());
    assert_eq!(
        s.add_candidate(Mono(0), me.clone()),
        Err(DialRefusal::IsSelf)
    );
    assert_eq!(s.add_static(Mono(0), me), Err(DialRefusal::IsSelf));
    assert!(s.poll_dial(Mono(0)).is_none());
    assert_eq!(
        s.check_add_peer(&n(9).id(), ConnKind::Inbound, true),
        Err(PeerRefusal::IsSelf)
    );
}

#[test]
fn refuses_bad_endpoints_and_netrestrict() {
    let mut s = sched(DialConfig {
        netrestrict: Some("10.0.0.0/8".parse().unwrap()),
        ..DialConfig::default()
    });
    assert_eq!(
        s.add_candidate(Mono(0), node(1, "10.0.0.1:0")),
        Err(DialRefusal::NoPort)
    );
    assert_eq!(
        s.add_candidate(Mono(0), node(1, "0.0.0.0:1")),
        Err(DialRefusal::UnspecifiedAddr)
    );
    assert_eq!(
        s.add_candidate(Mono(0), node(1, "192.168.0.1:1")),
        Err(DialRefusal::NotInNetrestrict)
    );
    assert_eq!(
        s.add_static(Mono(0), node(2, "[fd00::1]:1")),
        Err(DialRefusal::NotInNetrestrict)
    );
    assert!(s.add_candidate(Mono(0), node(1, "10.1.1.1:1")).is_ok());
}

#[test]
fn no_redial_within_history() {
    let mut s = sched(DialConfig::default());
    s.add_candidate(Mono(0), n(1)).unwrap();
    let t = s.poll_dial(Mono(0)).unwrap();
    assert!(s.handle_dial_done(Mono(100), t.dial, DialOutcome::Failed));
    assert_eq!(
        s.add_candidate(Mono(200), n(1)),
        Err(DialRefusal::RecentlyDialed)
    );
    assert_eq!(s.poll_timeout(), Some(Mono(DIAL_HISTORY_EXPIRY)));
    assert!(s.add_candidate(Mono(DIAL_HISTORY_EXPIRY), n(1)).is_ok());
    assert_eq!(s.poll_dial(Mono(DIAL_HISTORY_EXPIRY)).unwrap().node, n(1));
}

#[test]
fn queued_candidate_rechecked_when_taken() {
    let mut s = sched(DialConfig::default());
    s.add_candidate(Mono(0), n(1)).unwrap();
    s.add_candidate(Mono(0), n(2)).unwrap();
    assert_eq!(
        s.add_candidate(Mono(0), n(1)),
        Err(DialRefusal::AlreadyQueued)
    );
    s.handle_peer_added(Mono(1), n(1).id(), ConnKind::Inbound, false);
    assert_eq!(
        s.poll_dial(Mono(2)).unwrap().node,
        n(2),
        "connected node skipped"
    );
    assert!(s.poll_dial(Mono(2)).is_none());
    assert_eq!(
        s.add_candidate(Mono(3), n(2)),
        Err(DialRefusal::AlreadyDialing)
    );
    assert_eq!(
        s.add_candidate(Mono(3), n(1)),
        Err(DialRefusal::AlreadyConnected)
    );
}

#[test]
fn candidate_queue_bounded_drops_oldest() {
    let mut s = sched(DialConfig {
        max_peers: 0,
        ..DialConfig::default()
    });
    for i in 0..=CANDIDATES_MAX {
        let addr: SocketAddr = ([10, 0, (i >> 8) as u8, i as u8], 30303).into();
        let mut secret = [0u8; 32];
        secret[24..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        let key = SecretKey::from_bytes(&secret).unwrap().public_key();
        s.add_candidate(Mono(0), DialCandidate::new(key, addr))
            .unwrap();
    }
    assert_eq!(s.candidate_count(), CANDIDATES_MAX);
    assert_eq!(s.queued.len(), CANDIDATES_MAX);
    let first: Vec<NodeId> = s.candidates.iter().take(1).map(|c| c.id()).collect();
    let mut secret = [0u8; 32];
    secret[31] = 1;
    let oldest = SecretKey::from_bytes(&secret)
        .unwrap()
        .public_key()
        .node_id();
    assert!(!s.queued.contains(&oldest), "oldest dropped");
    assert_ne!(first, vec![oldest]);
    assert!(
        s.poll_dial(Mono(0)).is_none(),
        "maxpeers 0: no dynamic dials"
    );
}

#[test]
fn active_dials_bounded() {
    let mut s = sched(DialConfig {
        max_peers: 200,
        dial_ratio: 1,
        ..DialConfig::default()
    });
    for i in 1..=40 {
        s.add_candidate(Mono(0), n(i)).unwrap();
    }
    let first = drain(&mut s, Mono(0));
    assert_eq!(first.len(), DIALS_ACTIVE_MAX);
    assert!(s.handle_dial_done(Mono(5), first[0].dial, DialOutcome::Failed));
    assert_eq!(drain(&mut s, Mono(5)).len(), 1, "one slot freed, one dial");
}

#[test]
fn dynamic_slots_bounded_by_ratio() {
    // 9 peers / ratio 3 = 3 dynamic slots.
    let mut s = sched(DialConfig {
        max_peers: 9,
        dial_ratio: 3,
        ..DialConfig::default()
    });
    for i in 1..=10 {
        s.add_candidate(Mono(0), n(i)).unwrap();
    }
    let tasks = drain(&mut s, Mono(0));
    assert_eq!(tasks.len(), 3);
    for t in &tasks[..2] {
        s.handle_peer_added(Mono(10), t.node.id(), ConnKind::DynDialed, false);
        assert!(s.handle_dial_done(Mono(10), t.dial, DialOutcome::Connected));
    }
    assert!(
        drain(&mut s, Mono(10)).is_empty(),
        "2 peers + 1 dial fill 3 slots"
    );
    // Inbound and static peers do not take dynamic slots.
    s.handle_peer_added(Mono(11), n(50).id(), ConnKind::Inbound, false);
    assert!(drain(&mut s, Mono(11)).is_empty());
    s.handle_peer_removed(Mono(12), &tasks[0].node.id());
    assert_eq!(
        drain(&mut s, Mono(12)).len(),
        1,
        "a dropped peer frees its slot"
    );
    assert_eq!(s.dyn_peer_count(), 1);
}

#[test]
fn no_dynamic_dial_when_peers_full() {
    let mut s = sched(DialConfig {
        max_peers: 3,
        dial_ratio: 1,
        ..DialConfig::default()
    });
    for i in 1..=3 {
        s.handle_peer_added(Mono(0), n(100 + i).id(), ConnKind::Inbound, false);
    }
    s.add_candidate(Mono(0), n(1)).unwrap();
    assert!(s.poll_dial(Mono(0)).is_none());
    assert!(!s.wants_candidates());
}

#[test]
fn static_dialed_first_and_beyond_dynamic_limit() {
    let mut s = sched(DialConfig {
        max_peers: 0,
        ..DialConfig::default()
    });
    s.add_candidate(Mono(0), n(1)).unwrap();
    s.add_static(Mono(0), n(2)).unwrap();
    let t = s.poll_dial(Mono(0)).unwrap();
    assert_eq!((t.node.id(), t.kind), (n(2).id(), DialKind::Static));
    assert!(
        s.poll_dial(Mono(0)).is_none(),
        "no dynamic slot with maxpeers 0"
    );
    assert_eq!(s.add_candidate(Mono(0), n(2)), Err(DialRefusal::IsStatic));
    s.handle_peer_added(Mono(1), n(2).id(), ConnKind::StaticDialed, false);
    assert!(
        s.check_add_peer(&n(3).id(), ConnKind::StaticDialed, false)
            .is_ok()
    );
    assert_eq!(
        s.check_add_peer(&n(3).id(), ConnKind::DynDialed, false),
        Err(PeerRefusal::TooManyPeers)
    );
}

#[test]
fn static_redialed_after_drop() {
    let mut s = sched(DialConfig::default());
    s.add_static(Mono(0), n(1)).unwrap();
    let t = s.poll_dial(Mono(0)).unwrap();
    s.handle_peer_added(Mono(50), n(1).id(), ConnKind::StaticDialed, false);
    assert!(s.handle_dial_done(Mono(50), t.dial, DialOutcome::Connected));
    assert!(s.poll_dial(Mono(60)).is_none(), "connected");
    s.handle_peer_removed(Mono(1_000), &n(1).id());
    assert!(s.poll_dial(Mono(1_000)).is_none(), "history still holds it");
    assert_eq!(s.poll_timeout(), Some(Mono(DIAL_HISTORY_EXPIRY)));
    s.handle_timeout(Mono(DIAL_HISTORY_EXPIRY));
    let again = s.poll_dial(Mono(DIAL_HISTORY_EXPIRY)).unwrap();
    assert_eq!(again.node, n(1));
}

#[test]
fn static_backoff_doubles_to_cap() {
    let mut s = sched(DialConfig::default());
    s.add_static(Mono(0), n(1)).unwrap();
    let mut now = Mono(0);
    let mut t = s.poll_dial(now).expect("static dial due");
    let mut gaps = Vec::new();
    for _ in 0..8 {
        assert!(s.handle_dial_done(now + 10, t.dial, DialOutcome::Failed));
        let (at, next) = next_dial(&mut s);
        gaps.push(at - now);
        (now, t) = (at, next);
    }
    for (i, g) in gaps.iter().enumerate() {
        let base = (DIAL_HISTORY_EXPIRY << i).min(STATIC_BACKOFF_MAX);
        assert!(
            *g >= base && *g <= base + base / 8,
            "gap {i} = {g}, base {base}"
        );
    }
    assert_eq!(
        gaps[7],
        gaps[7].clamp(STATIC_BACKOFF_MAX, STATIC_BACKOFF_MAX * 9 / 8)
    );
    // Connecting resets the backoff: after a drop only the 35 s history applies.
    s.handle_peer_added(now + 10, n(1).id(), ConnKind::StaticDialed, false);
    assert!(s.handle_dial_done(now + 10, t.dial, DialOutcome::Connected));
    s.handle_peer_removed(now + 20, &n(1).id());
    let (at, again) = next_dial(&mut s);
    assert_eq!(again.node, n(1));
    assert_eq!(at, now + DIAL_HISTORY_EXPIRY);
}

#[test]
fn dial_times_out_and_late_completion_is_stale() {
    let mut s = sched(DialConfig::default());
    s.add_static(Mono(0), n(1)).unwrap();
    let t = s.poll_dial(Mono(0)).unwrap();
    assert_eq!(s.poll_timeout(), Some(Mono(DIAL_TIMEOUT)));
    s.handle_timeout(Mono(DIAL_TIMEOUT));
    assert_eq!(s.dialing_count(), 0);
    assert!(!s.handle_dial_done(Mono(DIAL_TIMEOUT + 1), t.dial, DialOutcome::Connected));
    // The timeout counted as a failure: backoff (with jitter) runs from the dial start.
    let (at, again) = next_dial(&mut s);
    assert_eq!(again.node, n(1));
    assert!((DIAL_HISTORY_EXPIRY..=DIAL_HISTORY_EXPIRY * 9 / 8).contains(&at.0));
}

#[test]
fn inbound_slots_limited_unless_trusted() {
    let mut s = sched(DialConfig {
        max_peers: 3,
        dial_ratio: 3,
        ..DialConfig::default()
    });
    // 3 peers, 1 dialed slot: 2 inbound slots.
    s.handle_peer_added(Mono(0), n(1).id(), ConnKind::Inbound, false);
    s.handle_peer_added(Mono(0), n(2).id(), ConnKind::Inbound, false);
    assert_eq!(
        s.check_add_peer(&n(3).id(), ConnKind::Inbound, false),
        Err(PeerRefusal::TooManyPeers)
    );
    assert!(
        s.check_add_peer(&n(3).id(), ConnKind::Inbound, true)
            .is_ok()
    );
    assert!(
        s.check_add_peer(&n(3).id(), ConnKind::DynDialed, false)
            .is_ok()
    );
    assert_eq!(
        s.check_add_peer(&n(1).id(), ConnKind::DynDialed, true),
        Err(PeerRefusal::AlreadyConnected)
    );
    assert_eq!(s.trusted_peer_count(), 0);
}

#[test]
fn wants_candidates_when_idle() {
    let mut s = sched(DialConfig::default());
    assert!(s.wants_candidates());
    s.add_candidate(Mono(0), n(1)).unwrap();
    assert!(!s.wants_candidates());
    s.poll_dial(Mono(0)).unwrap();
    assert!(s.wants_candidates());
}

#[test]
fn removed_static_not_redialed() {
    let mut s = sched(DialConfig::default());
    s.add_static(Mono(0), n(1)).unwrap();
    assert!(s.remove_static(Mono(0), &n(1).id()));
    assert!(!s.remove_static(Mono(0), &n(1).id()));
    assert!(s.poll_dial(Mono(0)).is_none());
    assert_eq!(s.static_count(), 0);
}

#[test]
fn same_seed_same_dials() {
    let run = || {
        let mut s = sched(DialConfig::default());
        let mut log = Vec::new();
        for i in 1..=5 {
            s.add_static(Mono(0), n(i)).unwrap();
        }
        let mut now = Mono(0);
        for _ in 0..20 {
            for t in drain(&mut s, now) {
                log.push((now, t.node.id()));
                s.handle_dial_done(now + 1, t.dial, DialOutcome::Failed);
            }
            now = s.poll_timeout().unwrap();
        }
        log
    };
    assert_eq!(run(), run());
}
