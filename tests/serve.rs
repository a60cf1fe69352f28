//! Serving the fixture chain (fixtures/chain: 600 blocks and their receipts, imported into a real
//! chain store) to eth peers: headers by number, by hash, with skip, reversed and past the head;
//! bodies that rebuild the fixture blocks; receipts in each version's form whose receipts roots
//! match the headers; block 11's 10.6 MB of receipts never sent whole in eth/68 and eth/69 and
//! paged in eth/70 back to the fixture's bytes; the same replies through the storage thread.

mod common;

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use common::{fixture_json, fixture_path, h32};
use ethpeer::chain::block::{StoredBlock, join_block};
use ethpeer::chain::genesis::Genesis;
use ethpeer::chain::import::{BLOCK_SIZE_MAX, RECEIPTS_SIZE_MAX, RlpReader};
use ethpeer::chain::store::ChainStore;
use ethpeer::chain::store_handle::ChainStoreHandle;
use ethpeer::chain::trie::ordered_trie_root;
use ethpeer::chain::verify::verify_block;
use ethpeer::eth::wire::message::{BlockOrigin, GetBlockHeaders, HashesRequest};
use ethpeer::eth::{
    EthMessage, EthVersion, GetReceipts, HeaderInfo, MESSAGE_SIZE_MAX, RESPONSE_SIZE_SOFT,
    ReceiptForm, Receipts, ServeChain, answer, decode, encode,
};
use futures_lite::future::block_on;
use rlp::Rlp;

/// The block whose receipts (56 receipts of one 190 kB log each) exceed a message.
const LARGE_RECEIPTS_BLOCK: u64 = 11;

fn read_all(rel: &str, limit: usize) -> Vec<Vec<u8>> {
    let mut r = RlpReader::new(
        BufReader::new(File::open(fixture_path(rel)).unwrap()),
        limit,
    );
    let mut out = Vec::new();
    while let Some(item) = r.next_item().unwrap() {
        out.push(item);
    }
    out
}

/// The fixture chain: its blocks and receipts lists as in the files, and a store holding them.
struct Fixture {
    dir: PathBuf,
    blocks: Vec<Vec<u8>>,
    receipts: Vec<Vec<u8>>,
    store: Option<ChainStore>,
}

impl Fixture {
    fn import(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("ethpeer-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blocks = read_all("chain/chain.rlp", BLOCK_SIZE_MAX);
        let receipts = read_all("chain/receipts.rlp", RECEIPTS_SIZE_MAX);
        assert_eq!((blocks.len(), receipts.len()), (600, 600));
        let text = std::fs::read_to_string(fixture_path("chain/genesis.json")).unwrap();
        let store = ChainStore::open_path(&dir).unwrap();
        store
            .init_genesis(&Genesis::from_json(&text).unwrap().header())
            .unwrap();
        let verified: Vec<StoredBlock> = blocks
            .iter()
            .zip(&receipts)
            .enumerate()
            .map(|(i, (b, r))| verify_block(b, Some(r), i as u64).unwrap())
            .collect();
        let head = store.insert_blocks(&verified).unwrap();
        assert_eq!(head.number, 600);
        Fixture {
            dir,
            blocks,
            receipts,
            store: Some(store),
        }
    }

    fn store(&self) -> &ChainStore {
        self.store.as_ref().unwrap()
    }

    /// The reply to `request`, checked to echo its request id and to encode within the message
    /// limit and decode back in `version`.
    fn serve(&self, version: EthVersion, request: &EthMessage) -> EthMessage {
        let reply = answer(self.store(), version, request).unwrap().unwrap();
        check_reply(version, request, &reply);
        reply
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(store) = self.store.take() {
            let _ = store.close();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check_reply(version: EthVersion, request: &EthMessage, reply: &EthMessage) {
    assert_eq!(reply.request_id(), request.request_id(), "{request:?}");
    let (id, payload) = encode(version, reply).unwrap();
    assert!(
        payload.len() <= MESSAGE_SIZE_MAX,
        "{version} {request:?}: {} bytes",
        payload.len()
    );
    assert_eq!(decode(version, id, &payload).as_ref(), Ok(reply));
}

fn index_hash(number: u64) -> [u8; 32] {
    let index = fixture_json("chain/chain_index.json");
    if number == 0 {
        return h32(index["genesis"]["hash"].as_str().unwrap());
    }
    let row = &index["blocks"][number as usize - 1];
    assert_eq!(row["number"], number);
    h32(row["hash"].as_str().unwrap())
}

fn get_headers(
    request_id: u64,
    origin: BlockOrigin,
    amount: u64,
    skip: u64,
    reverse: bool,
) -> EthMessage {
    EthMessage::GetBlockHeaders(GetBlockHeaders {
        request_id,
        origin,
        amount,
        skip,
        reverse,
    })
}

fn headers(reply: &EthMessage) -> Vec<HeaderInfo> {
    match reply {
        EthMessage::BlockHeaders(r) => r.headers().unwrap(),
        other => panic!("not BlockHeaders: {other:?}"),
    }
}

fn numbers(reply: &EthMessage) -> Vec<u64> {
    headers(reply).iter().map(|h| h.number).collect()
}

fn get_receipts(index: u64, numbers: &[u64]) -> EthMessage {
    EthMessage::GetReceipts(GetReceipts {
        request_id: 5,
        first_block_receipt_index: index,
        hashes: numbers.iter().map(|&n| index_hash(n)).collect(),
    })
}

fn receipts(reply: &EthMessage) -> &Receipts {
    match reply {
        EthMessage::Receipts(r) => r,
        other => panic!("not Receipts: {other:?}"),
    }
}

/// The receipts-trie values of one block's receipts list in `form`.
fn trie_values(list: &[u8], form: ReceiptForm) -> Vec<Vec<u8>> {
    let one = Receipts {
        request_id: 0,
        last_block_incomplete: false,
        form,
        blocks: ethpeer::eth::RawList::from_items([list]).unwrap(),
    };
    let decoded = one.receipts().unwrap();
    decoded[0].iter().map(|r| r.trie_value()).collect()
}

#[test]
fn headers_by_number_hash_skip_reverse_and_past_the_head() {
    let f = Fixture::import("headers");
    let v = EthVersion::Eth70;
    let q = get_headers(0, BlockOrigin::Number(3), 4, 1, false);
    assert_eq!(numbers(&f.serve(v, &q)), [3, 5, 7, 9]);

    // The whole chain, head down to genesis: 601 headers although 1,025 were asked for, each
    // the fixture's block and each the parent of the one before.
    let q = get_headers(1, BlockOrigin::Number(600), 1025, 0, true);
    let all = headers(&f.serve(v, &q));
    assert_eq!(all.len(), 601);
    for (h, n) in all.iter().zip((0..=600).rev()) {
        assert_eq!((h.number, h.hash), (n, index_hash(n)), "block {n}");
    }
    for pair in all.windows(2) {
        assert_eq!(
            pair[0].parent_hash, pair[1].hash,
            "block {}",
            pair[0].number
        );
    }

    let q = get_headers(2, BlockOrigin::Hash(index_hash(100)), 3, 9, false);
    assert_eq!(numbers(&f.serve(v, &q)), [100, 110, 120]);
    let q = get_headers(2, BlockOrigin::Hash(index_hash(100)), 3, 49, true);
    assert_eq!(numbers(&f.serve(v, &q)), [100, 50, 0]);
    let q = get_headers(3, BlockOrigin::Number(598), 10, 0, false);
    assert_eq!(numbers(&f.serve(v, &q)), [598, 599, 600]);
    let q = get_headers(3, BlockOrigin::Number(590), 10, 5, false);
    assert_eq!(numbers(&f.serve(v, &q)), [590, 596]);
    for origin in [BlockOrigin::Number(601), BlockOrigin::Hash([0x5a; 32])] {
        let q = get_headers(4, origin, 10, 0, false);
        assert!(numbers(&f.serve(v, &q)).is_empty(), "{origin:?}");
    }
    let q = get_headers(
        u64::MAX,
        BlockOrigin::Number(600),
        u64::MAX,
        u64::MAX,
        false,
    );
    assert_eq!(numbers(&f.serve(v, &q)), [600]);
}

#[test]
fn bodies_rebuild_the_fixture_blocks() {
    let f = Fixture::import("bodies");
    let wanted: Vec<u64> = (1..=600).step_by(7).collect();
    let q = EthMessage::GetBlockBodies(HashesRequest {
        request_id: 0,
        hashes: wanted.iter().map(|&n| index_hash(n)).collect(),
    });
    for v in EthVersion::ALL {
        let EthMessage::BlockBodies(r) = f.serve(v, &q) else {
            panic!("not BlockBodies");
        };
        assert_eq!(r.items.len(), wanted.len(), "{v}");
        for (body, &n) in r.items.iter().zip(&wanted) {
            let raw = &f.blocks[n as usize - 1];
            let header = Rlp::new(raw).at(0).unwrap().as_raw().to_vec();
            assert_eq!(&join_block(&header, body).unwrap(), raw, "{v} block {n}");
        }
    }
    // An unknown block ends the reply; one first leaves it empty.
    let hashes = vec![index_hash(1), index_hash(2), [0x5a; 32], index_hash(3)];
    let q = EthMessage::GetBlockBodies(HashesRequest {
        request_id: 9,
        hashes: hashes.clone(),
    });
    let EthMessage::BlockBodies(r) = f.serve(EthVersion::Eth68, &q) else {
        panic!("not BlockBodies");
    };
    assert_eq!(r.items.len(), 2);
    let q = EthMessage::GetBlockBodies(HashesRequest {
        request_id: 9,
        hashes: hashes[2..].to_vec(),
    });
    let EthMessage::BlockBodies(r) = f.serve(EthVersion::Eth68, &q) else {
        panic!("not BlockBodies");
    };
    assert!(r.items.is_empty());
}

#[test]
fn receipts_in_each_versions_form_match_the_receipts_roots() {
    let f = Fixture::import("receipts");
    // Every block but the large one, in requests of 50 blocks.
    let all: Vec<u64> = (1..=600).filter(|&n| n != LARGE_RECEIPTS_BLOCK).collect();
    for v in EthVersion::ALL {
        let mut served = 0;
        for chunk in all.chunks(50) {
            let q = get_receipts(0, chunk);
            let reply = f.serve(v, &q);
            let r = receipts(&reply);
            assert_eq!(r.form, ReceiptForm::of(v));
            assert!(!r.last_block_incomplete, "{v}");
            assert_eq!(r.blocks.len(), chunk.len(), "{v} from block {}", chunk[0]);
            for (list, &n) in r.blocks.iter().zip(chunk) {
                let q = get_headers(0, BlockOrigin::Number(n), 1, 0, false);
                let header = headers(&f.serve(v, &q))[0];
                let values = trie_values(list, r.form);
                assert_eq!(
                    ordered_trie_root(&values),
                    header.receipts_root,
                    "{v} block {n}"
                );
                if v == EthVersion::Eth68 {
                    assert_eq!(list, f.receipts[n as usize - 1].as_slice(), "block {n}");
                }
                served += 1;
            }
        }
        assert_eq!(served, 599, "{v}");
    }
    // Unknown blocks end the reply.
    let q = EthMessage::GetReceipts(GetReceipts {
        request_id: 0,
        first_block_receipt_index: 0,
        hashes: vec![[0x5a; 32], index_hash(1)],
    });
    for v in EthVersion::ALL {
        assert!(receipts(&f.serve(v, &q)).blocks.is_empty(), "{v}");
    }
}

#[test]
fn block_11_is_never_sent_whole_and_is_paged_in_eth70() {
    let f = Fixture::import("large");
    let big = &f.receipts[LARGE_RECEIPTS_BLOCK as usize - 1];
    assert!(
        big.len() > MESSAGE_SIZE_MAX,
        "block 11 receipts are {} bytes",
        big.len()
    );

    // eth/68 and eth/69: the reply stops before block 11, and is empty when it comes first.
    for v in [EthVersion::Eth68, EthVersion::Eth69] {
        let reply = f.serve(v, &get_receipts(0, &[10, 11, 12]));
        assert_eq!(receipts(&reply).blocks.len(), 1, "{v}");
        let reply = f.serve(v, &get_receipts(0, &[11, 12]));
        assert!(receipts(&reply).blocks.is_empty(), "{v}");
    }

    // eth/70: page through blocks 10..=12 as a requester does, asking again from the incomplete
    // block with the count of its receipts received so far.
    let wanted = [10u64, 11, 12];
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); wanted.len()];
    let (mut block, mut index, mut pages) = (0usize, 0usize, 0);
    while block < wanted.len() {
        let reply = f.serve(
            EthVersion::Eth70,
            &get_receipts(index as u64, &wanted[block..]),
        );
        let r = receipts(&reply);
        assert!(
            !r.blocks.is_empty(),
            "no progress at block {} index {index}",
            wanted[block]
        );
        pages += 1;
        let lists: Vec<&[u8]> = r.blocks.iter().collect();
        // Every page but the last stops once past the soft limit.
        let bytes: usize = lists.iter().map(|l| l.len()).sum();
        if r.last_block_incomplete {
            assert!(bytes >= RESPONSE_SIZE_SOFT, "page {pages}: {bytes} bytes");
        }
        for (i, list) in lists.iter().enumerate() {
            let rlp = Rlp::new(list);
            got[block + i].extend(rlp.iter().map(|x| x.as_raw().to_vec()));
        }
        if r.last_block_incomplete {
            block += lists.len() - 1;
            index = got[block].len();
        } else {
            block += lists.len();
            index = 0;
        }
    }
    // Each page ends with the receipt that crosses 2 MiB, so it holds at most 2 MiB plus one
    // receipt, and at least 2 MiB except the last.
    let largest = Rlp::new(big)
        .iter()
        .map(|r| r.as_raw().len())
        .max()
        .unwrap();
    let fewest = big.len().div_ceil(RESPONSE_SIZE_SOFT + largest);
    let most = big.len() / RESPONSE_SIZE_SOFT + 2;
    assert!(
        (fewest..=most).contains(&pages),
        "{pages} pages, {fewest}..={most} expected"
    );
    for (received, &n) in got.iter().zip(&wanted) {
        let network = ethpeer::eth::RawList::from_items(received).unwrap();
        let values = trie_values(network.as_rlp(), ReceiptForm::Network);
        let stored = &f.receipts[n as usize - 1];
        assert_eq!(
            values,
            trie_values(stored, ReceiptForm::Consensus),
            "block {n}"
        );
        let q = get_headers(0, BlockOrigin::Number(n), 1, 0, false);
        let header = headers(&f.serve(EthVersion::Eth70, &q))[0];
        assert_eq!(
            ordered_trie_root(&values),
            header.receipts_root,
            "block {n}"
        );
    }
    assert_eq!(got[1].len(), 56);
}

#[test]
fn the_storage_thread_serves_the_same_replies() {
    let mut f = Fixture::import("handle");
    let requests = [
        (
            EthVersion::Eth68,
            get_headers(0, BlockOrigin::Number(0), 1024, 0, false),
        ),
        (
            EthVersion::Eth69,
            get_headers(7, BlockOrigin::Hash(index_hash(300)), 5, 2, true),
        ),
        (
            EthVersion::Eth70,
            EthMessage::GetBlockBodies(HashesRequest {
                request_id: 8,
                hashes: vec![index_hash(1), index_hash(600)],
            }),
        ),
        (EthVersion::Eth68, get_receipts(0, &[1, 2, 3])),
        (EthVersion::Eth69, get_receipts(0, &[10, 11])),
        (EthVersion::Eth70, get_receipts(20, &[11, 12])),
    ];
    let direct: Vec<EthMessage> = requests.iter().map(|(v, q)| f.serve(*v, q)).collect();
    let handle = ChainStoreHandle::spawn(f.store.take().unwrap()).unwrap();
    block_on(async {
        for ((v, q), want) in requests.iter().zip(&direct) {
            let got = handle.serve(*v, q.clone()).await.unwrap();
            assert_eq!(got.as_ref(), Some(want), "{v} {q:?}");
        }
        let other = EthMessage::Transactions(ethpeer::eth::RawList::new());
        assert_eq!(handle.serve(EthVersion::Eth68, other).await.unwrap(), None);
    });
    handle.close().unwrap();
}
