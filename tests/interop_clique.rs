//! Our node on a live pre-merge chain: the pinned @ethereumjs/client seals a Clique (London,
//! proof-of-authority) block every 2 s from tests/clique/genesis.json, and our node, started from
//! the same file, (a) agrees on the genesis, handshakes over eth/68 and syncs the client's chain
//! by total difficulty, every block hash equal to the client's; (b) relays the client's new
//! blocks to a second peer with NewBlock or NewBlockHashes (devp2p caps/eth.md "Block
//! Propagation"): a block the client sealed after our node's own sync finished, so not the block
//! that ends that sync, which our node announces too.

mod common;

use std::time::{Duration, Instant};

use common::clique::{self, CliquePeer};
use common::node_proc::{NodeProc, temp_dir};
use common::raw_peer::{RawPeer, Read_};
use ethpeer::chain::header::U256;
use ethpeer::chain::store::ChainStore;
use ethpeer::eth::wire::handshake::{ChainHead, our_status};
use ethpeer::eth::{self, EthMessage, EthVersion, RawList, RawResponse};
use ethpeer::p2p;

/// The eth range starts right after the base protocol when eth is the only capability.
const ETH: u64 = 0x10;

/// Blocks the client must have sealed before our node starts (the brief: at least three).
const BLOCKS_BEFORE_START: u64 = 3;

/// Our node with the Clique genesis, syncing from one peer at once, dialling `enode` only.
fn our_node(name: &str, enode: &str) -> NodeProc {
    NodeProc::start(
        &temp_dir(name),
        &[
            "--genesis",
            &clique::genesis_arg(),
            "--nodiscover",
            "--sync.minpeers",
            "1",
            "--staticnodes",
            enode,
        ],
    )
}

/// The highest `number=` on our node's "Imported new chain segment" lines.
fn imported_number(node: &NodeProc) -> Option<u64> {
    let log = node.log.lock().unwrap();
    log.iter()
        .filter(|l| l.contains("Imported new chain segment"))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("number="))
                .and_then(|n| n.parse().ok())
        })
        .max()
}

#[test]
fn our_node_agrees_on_the_genesis_and_syncs_the_clique_chain() {
    let peer = CliquePeer::start("sync");
    let spec = clique::spec();
    assert_eq!(
        peer.genesis_hash,
        spec.genesis_hash,
        "the client and our node built different genesis blocks from {}; the client's: {}",
        clique::genesis_arg(),
        peer.events_named("genesis")[0]
    );
    let target = peer.wait_head(BLOCKS_BEFORE_START, Duration::from_secs(60))["number"]
        .as_u64()
        .unwrap();

    let mut node = our_node("clique-sync", &peer.enode);
    node.wait_log(
        &["Ethereum peer connected", "version=68"],
        Duration::from_secs(30),
    );
    // The client never answers GetReceipts, so each sync round waits out the receipt timeout.
    let end = Instant::now() + Duration::from_secs(120);
    while imported_number(&node).is_none_or(|n| n < target) {
        assert!(
            Instant::now() < end,
            "our node did not import up to block {target}; its log:\n{}\nclient log tail:\n{}",
            node.log_text(),
            peer.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(node.terminate().success(), "{}", node.log_text());

    let store = ChainStore::open(&node.datadir).unwrap();
    let head = store.head().unwrap().unwrap();
    assert!(head.number >= target, "head {} < {target}", head.number);
    for number in 0..=head.number {
        let ours = store.canonical_hash(number).unwrap();
        assert_eq!(
            ours,
            peer.block_hash(number),
            "block {number}: our canonical hash differs from the client's"
        );
    }
}

/// Connects a raw eth/68 peer to our node, reads its Status and answers with a Status at the
/// Clique genesis (total difficulty 1), so that our node has a peer behind it to relay to.
fn raw_peer_at_genesis(node: &NodeProc) -> RawPeer {
    let spec = clique::spec();
    let mut p = RawPeer::connect(node.addr(), node.pubkey(), 0xc11c).unwrap();
    p.hello(&[("eth", 68)]).unwrap();
    p.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let theirs = loop {
        match p.recv() {
            Read_::Message(ETH, payload) => match eth::decode(EthVersion::Eth68, 0, &payload) {
                Ok(EthMessage::Status(s)) => break s,
                other => panic!("expected Status, got {other:?}"),
            },
            Read_::Message(..) => continue,
            other => panic!("expected Status, got {other:?}"),
        }
    };
    assert_eq!(theirs.genesis(), spec.genesis_hash, "our node's Status");
    let head = ChainHead::genesis(&spec);
    assert_eq!(head.td, U256::from_u64(1), "Clique genesis difficulty");
    let ours = our_status(EthVersion::Eth68, &spec, &head);
    let (_, payload) = eth::encode(EthVersion::Eth68, &EthMessage::Status(ours)).unwrap();
    p.send(ETH, &payload);
    p
}

/// Answers a request from our node with an empty reply (the raw peer has only the genesis).
fn answer_empty(p: &mut RawPeer, msg: &EthMessage) {
    let reply = match msg {
        EthMessage::GetBlockHeaders(r) => EthMessage::BlockHeaders(RawResponse {
            request_id: r.request_id,
            items: RawList::new(),
        }),
        EthMessage::GetBlockBodies(r) => EthMessage::BlockBodies(RawResponse {
            request_id: r.request_id,
            items: RawList::new(),
        }),
        _ => return,
    };
    let (id, payload) = eth::encode(EthVersion::Eth68, &reply).unwrap();
    p.send(ETH + id, &payload);
}

#[test]
fn our_node_relays_the_clique_blocks_to_a_second_peer() {
    let peer = CliquePeer::start("relay");
    // Our node first syncs to the client's head by the total difficulty in its Status (a peer
    // met at equal difficulty is ahead only by what its NewBlock messages say), then takes each
    // new block from the client's NewBlock, as a node at the head of the chain does.
    peer.wait_head(BLOCKS_BEFORE_START, Duration::from_secs(60));
    let node = our_node("clique-relay", &peer.enode);
    node.wait_log(
        &["Ethereum peer connected", "version=68"],
        Duration::from_secs(30),
    );
    let mut p = raw_peer_at_genesis(&node);
    p.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();

    // Our node announces the block that ends its own sync too, so that proves nothing about
    // relaying: only a block the client sealed after that sync finished counts. When the test
    // first sees our node's "Sync finished" line, every block sealed so far is at most the
    // client's head at that moment; a block above both that head and the synced number was
    // sealed later, reached our node as the client's announcement, and then reached this peer.
    let mut sealed_before_sync_end: Option<u64> = None;
    // Announcements `(number, hash, how)` our node sent this peer.
    let mut announced: Vec<(u64, [u8; 32], &str)> = Vec::new();
    let end = Instant::now() + Duration::from_secs(90);
    let relayed = loop {
        if sealed_before_sync_end.is_none()
            && let Some(synced) = sync_finished_number(&node)
        {
            sealed_before_sync_end = Some(synced.max(peer.head().0));
        }
        let verified = sealed_before_sync_end.and_then(|bound| {
            announced.iter().find(|(number, hash, _)| {
                *number > bound && peer.block_hash(*number) == Some(*hash)
            })
        });
        if let Some(found) = verified {
            break *found;
        }
        assert!(
            Instant::now() < end,
            "no NewBlock or NewBlockHashes from our node of a client block sealed after our sync \
             finished (blocks up to {sealed_before_sync_end:?} were sealed before); announced \
             {announced:?}\nour log:\n{}\nclient head: {:?}",
            node.log_text(),
            peer.head()
        );
        match p.recv() {
            Read_::Message(code, _) if code == p2p::PING_ID => p.send(p2p::PONG_ID, &[0xc0]),
            Read_::Message(code, payload) if code > ETH => {
                let msg = eth::decode(EthVersion::Eth68, code - ETH, &payload)
                    .unwrap_or_else(|e| panic!("undecodable eth message {code:#x}: {e}"));
                match &msg {
                    EthMessage::NewBlock(b) => {
                        let h = b.header().unwrap();
                        announced.push((h.number, h.hash, "NewBlock"));
                    }
                    EthMessage::NewBlockHashes(list) => {
                        announced.extend(list.iter().map(|a| (a.number, a.hash, "NewBlockHashes")));
                    }
                    other => answer_empty(&mut p, other),
                }
            }
            Read_::Message(..) | Read_::Timeout => {}
            other => panic!(
                "our node ended the session: {other:?}; its log:\n{}",
                node.log_text()
            ),
        }
    };
    let (number, _, how) = relayed;
    eprintln!(
        "relayed block {number} via {how}; blocks up to {sealed_before_sync_end:?} were sealed \
         before our sync finished"
    );
}

/// The `number=` of our node's first "Sync finished" line: where its own sync ended.
fn sync_finished_number(node: &NodeProc) -> Option<u64> {
    let log = node.log.lock().unwrap();
    log.iter()
        .find(|l| l.contains("Sync finished"))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("number="))
                .and_then(|n| n.parse().ok())
        })
}
