//! The eth protocol on a running node serving the fixture chain, seen from a raw peer: the Status
//! exchange per version, serving headers/bodies/receipts, and every eth breach ending in
//! "subprotocol error" (or "read timeout" for a missing Status) while a good peer is undisturbed.

mod common;

use std::time::Duration;

use common::fixture_node::{
    fixture_hash, fixture_head, fixture_spec, fixture_status, genesis_arg, imported_datadir,
};
use common::node_proc::NodeProc;
use common::raw_peer::{RawPeer, Read_};
use ethpeer::eth::{
    self, BlockOrigin, BlockRangeUpdate, EthMessage, EthVersion, GetBlockHeaders, GetReceipts,
    HashesRequest, Status,
};
use ethpeer::p2p::DisconnectReason;

/// The eth range starts right after the base protocol when eth is the only capability.
const ETH: u64 = 0x10;

fn serving_node(name: &str) -> NodeProc {
    let dir = imported_datadir(name);
    NodeProc::start(
        &dir,
        &[
            "--genesis",
            &genesis_arg(),
            "--syncmode",
            "none",
            "--nodiscover",
        ],
    )
}

/// Connects, says Hello with eth `version`, and reads the node's Status.
fn connect(node: &NodeProc, seed: u64, version: EthVersion) -> (RawPeer, Status) {
    let mut p = RawPeer::connect(node.addr(), node.pubkey(), seed).unwrap();
    p.hello(&[("eth", version.number())]).unwrap();
    p.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    loop {
        match p.recv() {
            Read_::Message(ETH, payload) => match eth::decode(version, 0, &payload).unwrap() {
                EthMessage::Status(s) => return (p, s),
                other => panic!("expected Status, got {other:?}"),
            },
            Read_::Message(..) => continue,
            other => panic!("expected Status, got {other:?}"),
        }
    }
}

/// A peer past the Status exchange.
fn eth_peer(node: &NodeProc, seed: u64, version: EthVersion) -> RawPeer {
    let (mut p, _) = connect(node, seed, version);
    p.send(ETH, &fixture_status(version, |_| {}));
    p
}

/// Sends a request and reads its reply (skipping other messages).
fn ask(p: &mut RawPeer, version: EthVersion, msg: &EthMessage) -> EthMessage {
    let (id, payload) = eth::encode(version, msg).unwrap();
    p.send(ETH + id, &payload);
    p.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    loop {
        match p.recv() {
            Read_::Message(code, payload) if code > ETH => {
                let m = eth::decode(version, code - ETH, &payload).unwrap();
                if matches!(m, EthMessage::BlockRangeUpdate(_)) {
                    continue;
                }
                return m;
            }
            Read_::Message(..) => continue,
            other => panic!("no reply to {}: {other:?}", msg.id()),
        }
    }
}

fn headers(first: u64, amount: u64, id: u64) -> EthMessage {
    EthMessage::GetBlockHeaders(GetBlockHeaders {
        request_id: id,
        origin: BlockOrigin::Number(first),
        amount,
        skip: 0,
        reverse: false,
    })
}

#[test]
fn status_is_exchanged_in_each_version_and_the_chain_is_served() {
    let node = serving_node("eth-serve");
    let spec = fixture_spec();
    let head = fixture_head();
    for (i, version) in [EthVersion::Eth68, EthVersion::Eth69, EthVersion::Eth70]
        .into_iter()
        .enumerate()
    {
        let (mut p, status) = connect(&node, 10 + i as u64, version);
        assert_eq!(status.version(), version.number());
        assert_eq!(status.network_id(), spec.network_id);
        assert_eq!(status.genesis(), spec.genesis_hash);
        assert_eq!(status.fork_id().hash, [0x37, 0x7a, 0xaa, 0x78], "{version}");
        match status {
            Status::Eth68(s) => assert_eq!(s.head, head.hash),
            Status::Eth69(s) => {
                assert_eq!((s.earliest, s.latest, s.latest_hash), (0, 600, head.hash))
            }
        }
        p.send(ETH, &fixture_status(version, |_| {}));
        // Request id 0 is legal and echoed.
        let EthMessage::BlockHeaders(r) = ask(&mut p, version, &headers(0, 128, 0)) else {
            panic!("not BlockHeaders")
        };
        assert_eq!(r.request_id, 0);
        let got = r.headers().unwrap();
        assert_eq!(got.len(), 128);
        for (n, h) in got.iter().enumerate() {
            assert_eq!(h.hash, fixture_hash(n as u64), "{version}: header {n}");
        }
        // Past the head: what exists, then nothing.
        let EthMessage::BlockHeaders(r) = ask(&mut p, version, &headers(590, 50, 7)) else {
            panic!("not BlockHeaders")
        };
        assert_eq!((r.request_id, r.headers().unwrap().len()), (7, 11));
        // Bodies and receipts by hash; an unknown hash ends the answer, never the session.
        let hashes: Vec<_> = (1..=5).map(fixture_hash).collect();
        let EthMessage::BlockBodies(b) = ask(
            &mut p,
            version,
            &EthMessage::GetBlockBodies(HashesRequest {
                request_id: 8,
                hashes: hashes.clone(),
            }),
        ) else {
            panic!("not BlockBodies")
        };
        assert_eq!((b.request_id, b.items.len()), (8, 5));
        let EthMessage::Receipts(r) = ask(
            &mut p,
            version,
            &EthMessage::GetReceipts(GetReceipts {
                request_id: 9,
                first_block_receipt_index: 0,
                hashes: hashes.clone(),
            }),
        ) else {
            panic!("not Receipts")
        };
        assert_eq!((r.request_id, r.blocks.len()), (9, 5));
        let EthMessage::BlockBodies(b) = ask(
            &mut p,
            version,
            &EthMessage::GetBlockBodies(HashesRequest {
                request_id: 10,
                hashes: vec![[0xee; 32]],
            }),
        ) else {
            panic!("not BlockBodies")
        };
        assert!(b.items.is_empty());
        p.ping(Duration::from_secs(5)).unwrap();
    }
}

/// Runs `misbehave` on a fresh eth peer and checks the session ends with `reason` and the node
/// logs `log`, while a good eth peer keeps being served.
fn breach(
    name: &str,
    reason: DisconnectReason,
    log: &[&str],
    misbehave: impl FnOnce(&mut RawPeer),
) {
    let node = serving_node(name);
    let v = EthVersion::Eth69;
    let mut good = eth_peer(&node, 1, v);
    let (mut bad, _) = connect(&node, 2, v);
    misbehave(&mut bad);
    assert_eq!(
        bad.until_end(Duration::from_secs(8)),
        Read_::Disconnect(reason),
        "{name}"
    );
    node.wait_log(log, Duration::from_secs(5));
    let EthMessage::BlockHeaders(r) = ask(&mut good, v, &headers(1, 3, 5)) else {
        panic!("good peer not served")
    };
    assert_eq!(
        r.headers().unwrap().len(),
        3,
        "{name}: good peer undisturbed"
    );
}

#[test]
fn a_wrong_genesis_is_refused_and_the_log_says_genesis() {
    breach(
        "eth-genesis",
        DisconnectReason::SubprotocolError,
        &["Ethereum handshake failed", "genesis mismatch"],
        |p| {
            p.send(
                ETH,
                &fixture_status(EthVersion::Eth69, |s| {
                    if let Status::Eth69(s) = s {
                        s.genesis = [1; 32];
                    }
                }),
            );
        },
    );
}

#[test]
fn a_wrong_network_id_is_refused() {
    breach(
        "eth-network",
        DisconnectReason::SubprotocolError,
        &["Ethereum handshake failed", "network id mismatch"],
        |p| {
            p.send(
                ETH,
                &fixture_status(EthVersion::Eth69, |s| {
                    if let Status::Eth69(s) = s {
                        s.network_id = 1;
                    }
                }),
            );
        },
    );
}

#[test]
fn an_incompatible_fork_id_is_refused() {
    breach(
        "eth-fork",
        DisconnectReason::SubprotocolError,
        &["Ethereum handshake failed", "fork id rejected"],
        |p| {
            p.send(
                ETH,
                &fixture_status(EthVersion::Eth69, |s| {
                    if let Status::Eth69(s) = s {
                        s.fork_id.hash = [0xde, 0xad, 0xbe, 0xef];
                    }
                }),
            );
        },
    );
}

#[test]
fn no_status_within_five_seconds_is_a_read_timeout() {
    breach(
        "eth-silent",
        DisconnectReason::PingTimeout,
        &["Ethereum handshake failed", "no Status"],
        |_| {},
    );
}

#[test]
fn a_request_before_status_is_a_breach() {
    breach(
        "eth-early",
        DisconnectReason::SubprotocolError,
        &["Ethereum handshake failed", "before Status"],
        |p| {
            let (id, payload) = eth::encode(EthVersion::Eth69, &headers(0, 1, 1)).unwrap();
            p.send(ETH + id, &payload);
        },
    );
}

#[test]
fn a_second_status_is_a_breach() {
    breach(
        "eth-status2",
        DisconnectReason::SubprotocolError,
        &["Ethereum protocol breach", "second Status"],
        |p| {
            let s = fixture_status(EthVersion::Eth69, |_| {});
            p.send(ETH, &s);
            p.send(ETH, &s);
        },
    );
}

#[test]
fn an_undecodable_message_is_a_breach() {
    breach(
        "eth-garbage",
        DisconnectReason::SubprotocolError,
        &["Ethereum protocol breach", "GetBlockHeaders"],
        |p| {
            p.send(ETH, &fixture_status(EthVersion::Eth69, |_| {}));
            p.send(ETH + 0x03, &[0xc3, 0x01, 0x02, 0x03]);
        },
    );
}

#[test]
fn an_unknown_message_code_is_a_breach() {
    breach(
        "eth-code",
        DisconnectReason::SubprotocolError,
        &["Message code out of range"],
        |p| {
            p.send(ETH, &fixture_status(EthVersion::Eth69, |_| {}));
            p.send(ETH + 0x30, &[0xc0]);
        },
    );
}

#[test]
fn a_message_over_ten_mib_is_a_breach() {
    breach(
        "eth-big",
        DisconnectReason::SubprotocolError,
        &["Message too large"],
        |p| {
            p.send(ETH, &fixture_status(EthVersion::Eth69, |_| {}));
            // 10 MiB + 1 of Transactions: within the 16 MiB frame, over the eth limit.
            let mut big = vec![0u8; eth::MESSAGE_SIZE_MAX + 1];
            big[0] = 0xf9;
            p.send(ETH + 0x02, &big);
        },
    );
}

#[test]
fn an_inverted_block_range_is_a_breach() {
    breach(
        "eth-range",
        DisconnectReason::SubprotocolError,
        &["Ethereum protocol breach", "earliest 10 > latest 5"],
        |p| {
            p.send(ETH, &fixture_status(EthVersion::Eth69, |_| {}));
            let update = EthMessage::BlockRangeUpdate(BlockRangeUpdate {
                earliest: 10,
                latest: 5,
                latest_hash: [0; 32],
            });
            let (id, payload) = eth::encode(EthVersion::Eth69, &update).unwrap_or_else(|_| {
                // The encoder may refuse an invalid range; write it by hand then.
                let mut s = rlp::RlpStream::new_list(3);
                s.append(&10u64).append(&5u64).append(&[0u8; 32].as_slice());
                (0x11, s.out().to_vec())
            });
            p.send(ETH + id, &payload);
        },
    );
}

#[test]
fn a_block_announcement_after_the_merge_is_a_breach() {
    breach(
        "eth-newblock",
        DisconnectReason::SubprotocolError,
        &["Dropping eth peer", "block announcement after the Merge"],
        |p| {
            p.send(ETH, &fixture_status(EthVersion::Eth69, |_| {}));
            let msg = EthMessage::NewBlockHashes(vec![eth::BlockHashNumber {
                hash: [9; 32],
                number: 601,
            }]);
            let (id, payload) = eth::encode(EthVersion::Eth69, &msg).unwrap();
            p.send(ETH + id, &payload);
        },
    );
}

#[test]
fn requests_sharing_an_id_are_each_answered_with_it() {
    let node = serving_node("eth-dupid");
    let v = EthVersion::Eth68;
    let mut p = eth_peer(&node, 3, v);
    for (first, want) in [(1, 1), (2, 2)] {
        let EthMessage::BlockHeaders(r) = ask(&mut p, v, &headers(first, 1, 42)) else {
            panic!("not BlockHeaders")
        };
        assert_eq!(r.request_id, 42);
        assert_eq!(r.headers().unwrap()[0].number, want);
    }
}
