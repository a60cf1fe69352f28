//! The library entry point: nodes started in-process with `server::start`, driven through their
//! `NodeHandle` (peers, add/remove, trusted, notices, chain, shutdown) the way JSON-RPC and an
//! embedding program will.

use std::time::Duration;

use async_channel::Receiver;
use ethpeer::server::{self, Config, PeerNotice};

/// The next notice within 10 s, or `None`.
fn next(rx: &Receiver<PeerNotice>) -> Option<PeerNotice> {
    futures_lite::future::block_on(futures_lite::future::or(
        async { rx.recv().await.ok() },
        async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            None
        },
    ))
}

#[test]
fn a_static_peer_added_by_request_connects_and_leaves_when_removed() {
    let a = server::start(Config::ephemeral()).unwrap();
    let b = server::start(Config::ephemeral()).unwrap();
    let a_id = a.enode().node_id();
    let b_id = b.enode().node_id();
    let notices = b.subscribe().unwrap();
    b.add_peer(a.enode()).unwrap();
    assert!(
        matches!(next(&notices), Some(PeerNotice::Added { id, .. }) if id == a_id),
        "b adds a"
    );
    let peers = b.peers().unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].id, a_id);
    assert!(peers[0].is_static && !peers[0].inbound && !peers[0].trusted);
    // `a` admits `b` on its own clock: wait for it, 10 s at most.
    let mut seen_by_a = Vec::new();
    for _ in 0..200 {
        seen_by_a = a.peers().unwrap();
        if !seen_by_a.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(seen_by_a.len(), 1);
    assert_eq!(seen_by_a[0].id, b_id);
    assert!(seen_by_a[0].inbound);
    // Removing it disconnects it, and the notice says why.
    assert_eq!(b.remove_peer(&a_id), Ok(true));
    match next(&notices) {
        Some(PeerNotice::Dropped { id, reason }) => {
            assert_eq!(id, a_id);
            assert!(
                reason.to_lowercase().contains("disconnect requested"),
                "{reason}"
            );
        }
        other => panic!("expected a drop notice, got {other:?}"),
    }
    assert!(b.peers().unwrap().is_empty());
    a.shutdown();
    b.shutdown();
}

#[test]
fn trust_is_granted_and_withdrawn_by_request() {
    let a = server::start(Config::ephemeral()).unwrap();
    let b = server::start(Config::ephemeral()).unwrap();
    let a_id = a.enode().node_id();
    b.add_trusted_peer(a.enode()).unwrap();
    let notices = b.subscribe().unwrap();
    b.add_peer(a.enode()).unwrap();
    assert!(matches!(next(&notices), Some(PeerNotice::Added { .. })));
    assert!(b.peers().unwrap()[0].trusted);
    assert_eq!(b.remove_trusted_peer(&a_id), Ok(true));
    assert!(
        !b.peers().unwrap()[0].trusted,
        "a connected peer stays, untrusted"
    );
    assert_eq!(b.remove_trusted_peer(&a_id), Ok(false));
    a.shutdown();
    b.shutdown();
}

#[test]
fn a_p2p_only_node_has_no_chain_and_a_stopped_node_says_so() {
    let a = server::start(Config::ephemeral()).unwrap();
    assert_eq!(a.chain(), Ok(None));
    assert!(a.listen_addr().is_some());
    assert!(a.discovery_addr().is_none() && a.record().is_none());
    a.shutdown();
}

#[test]
fn a_port_in_use_is_a_start_error() {
    let a = server::start(Config::ephemeral()).unwrap();
    let mut c = Config::ephemeral();
    c.listen = a.listen_addr().unwrap();
    let err = server::start(c).unwrap_err().to_string();
    assert!(err.contains("listening on"), "{err}");
    a.shutdown();
}
