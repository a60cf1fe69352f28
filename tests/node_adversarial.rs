//! Bad peers against a running node: each is disconnected with the right reason (or, before the
//! handshake completes, simply closed), the reason is logged at debug, and a well-behaved peer
//! connected all along keeps getting its Pongs.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::{RawPeer, Read_, closed_within};
use ethpeer::p2p::{self, DisconnectReason};

/// A node with one good peer already connected.
fn setup(name: &str) -> (NodeProc, RawPeer) {
    let node = NodeProc::start(&temp_dir(name), &[]);
    let mut good = RawPeer::connect(node.addr(), node.pubkey(), 1000).unwrap();
    good.hello(&[]).unwrap();
    (node, good)
}

/// The good peer still gets answers, and the node's loop is still admitting newcomers.
fn still_healthy(node: &NodeProc, good: &mut RawPeer) {
    good.ping(Duration::from_secs(5))
        .expect("the good peer is undisturbed");
    let mut fresh = RawPeer::connect(node.addr(), node.pubkey(), 2000).unwrap();
    fresh.hello(&[]).expect("a newcomer is still admitted");
    fresh.ping(Duration::from_secs(5)).unwrap();
}

/// A peer past Hello that then misbehaves.
fn admitted(node: &NodeProc, seed: u64) -> RawPeer {
    let mut p = RawPeer::connect(node.addr(), node.pubkey(), seed).unwrap();
    p.hello(&[]).unwrap();
    p
}

#[test]
fn garbage_instead_of_an_auth_is_closed() {
    let (node, mut good) = setup("garbage");
    let mut s = TcpStream::connect(node.addr()).unwrap();
    // A size prefix announcing 600 bytes, then 600 bytes of junk: ECIES must fail.
    let mut junk = vec![0x02, 0x58];
    junk.extend((0..600u32).map(|i| (i * 7 + 3) as u8));
    s.write_all(&junk).unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(5)),
        "garbage peer not closed"
    );
    node.wait_log(&["Connection closed", "handshake"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn an_oversized_auth_is_refused_before_it_is_read() {
    let (node, mut good) = setup("bigauth");
    let mut s = TcpStream::connect(node.addr()).unwrap();
    // 0xffff announces 64 KiB, over the 2 KiB limit: refused on the prefix alone.
    s.write_all(&[0xff, 0xff, 1, 2, 3]).unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5)));
    node.wait_log(&["Connection closed", "exceeds"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn a_peer_that_says_nothing_is_closed_after_the_handshake_deadline() {
    let (node, mut good) = setup("silent");
    let mut s = TcpStream::connect(node.addr()).unwrap();
    let start = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(10)));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(8),
        "closed after {waited:?}, expected the 5 s handshake deadline"
    );
    node.wait_log(
        &["Connection closed", "handshake timed out"],
        Duration::from_secs(2),
    );
    still_healthy(&node, &mut good);
}

#[test]
fn a_frame_with_a_wrong_mac_is_a_breach_of_protocol() {
    let (node, mut good) = setup("mac");
    let mut bad = admitted(&node, 1);
    let mut frame = bad.seal(
        p2p::PING_ID,
        &ethpeer::rlpx::snappy::compress(&[0xc0]).unwrap(),
    );
    let last = frame.len() - 1;
    frame[last] ^= 0x01;
    bad.send_bytes(&frame).unwrap();
    assert_eq!(
        bad.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::BreachOfProtocol)
    );
    node.wait_log(&["Bad frame from peer", "MAC"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn an_oversized_hello_frame_is_refused() {
    let (node, mut good) = setup("bighello");
    let mut bad = RawPeer::connect(node.addr(), node.pubkey(), 2).unwrap();
    // A Hello frame of 64 KiB, far over the 2 KiB a base-protocol message may take.
    let big = vec![0u8; 64 * 1024];
    bad.send_uncompressed(p2p::HELLO_ID, &big);
    assert_eq!(
        bad.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::BreachOfProtocol)
    );
    node.wait_log(&["Connection closed", "exceeds"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn a_snappy_bomb_is_refused_before_decompression() {
    let (node, mut good) = setup("bomb");
    let mut bad = admitted(&node, 3);
    // A varint announcing 1 GiB of decoded data, followed by a few bytes.
    let bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x01, 0x02];
    bad.send_uncompressed(0x10, &bomb);
    assert_eq!(
        bad.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::BreachOfProtocol)
    );
    node.wait_log(&["Bad snappy payload"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn a_second_hello_is_a_breach_of_protocol() {
    let (node, mut good) = setup("hello2");
    let mut bad = admitted(&node, 4);
    let hello = bad.our_hello(&[]).encode();
    bad.send(p2p::HELLO_ID, &hello);
    assert_eq!(
        bad.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::BreachOfProtocol)
    );
    node.wait_log(&["Second Hello from peer"], Duration::from_secs(5));
    still_healthy(&node, &mut good);
}

#[test]
fn a_hello_with_another_identity_is_refused() {
    let (node, mut good) = setup("identity");
    let mut bad = RawPeer::connect(node.addr(), node.pubkey(), 5).unwrap();
    let mut hello = bad.our_hello(&[]);
    hello.id = ethpeer::crypto::SecretKey::from_bytes(&[9; 32])
        .unwrap()
        .public_key();
    bad.send_uncompressed(p2p::HELLO_ID, &hello.encode());
    assert_eq!(
        bad.until_end(Duration::from_secs(5)),
        Read_::Disconnect(DisconnectReason::UnexpectedIdentity)
    );
    still_healthy(&node, &mut good);
}

#[test]
fn connecting_to_ourselves_is_refused() {
    let dir = temp_dir("self");
    let key = ethpeer::crypto::SecretKey::from_bytes(&[7; 32]).unwrap();
    let node = NodeProc::start(
        &dir,
        &["--nodekeyhex", &ethpeer::crypto::hex(&key.to_bytes())],
    );
    let mut me = RawPeer::connect_with_key(node.addr(), node.pubkey(), key, 6).unwrap();
    assert_eq!(
        me.hello(&[]).unwrap_err(),
        Read_::Disconnect(DisconnectReason::ConnectedToSelf)
    );
}

#[test]
fn a_duplicate_connection_is_refused_as_already_connected() {
    let (node, mut good) = setup("dup");
    let key = good.key.clone();
    let mut dup = RawPeer::connect_with_key(node.addr(), node.pubkey(), key, 7).unwrap();
    assert_eq!(
        dup.hello(&[]).unwrap_err(),
        Read_::Disconnect(DisconnectReason::AlreadyConnected)
    );
    good.ping(Duration::from_secs(5)).unwrap();
}
