//! The serving rules checked over a chain in memory: prefixes, the count and size bounds, the
//! side-chain origin, receipts in each version's form and eth/70's pages.

use std::collections::HashMap;

use rlp::RlpStream;

use crate::eth::Hash;

use super::*;
use crate::crypto::keccak256;
use crate::eth::wire::receipts::Log;
use crate::eth::{RECEIPTS_ID, decode, encode};

const MIB: usize = 1024 * 1024;

#[derive(Debug, PartialEq)]
enum TestError {
    Corrupt(CorruptItem),
    Disk,
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<CorruptItem> for TestError {
    fn from(e: CorruptItem) -> Self {
        TestError::Corrupt(e)
    }
}

/// A chain in memory: block `n` of `canonical` is canonical; `headers` may hold side blocks.
#[derive(Default)]
struct MemChain {
    headers: HashMap<Hash, Vec<u8>>,
    canonical: Vec<Hash>,
    bodies: HashMap<Hash, Vec<u8>>,
    receipts: HashMap<Hash, Vec<u8>>,
    failing: bool,
}

impl ChainReader for MemChain {
    type Error = TestError;

    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, TestError> {
        self.check()?;
        Ok(self.headers.get(hash).cloned())
    }

    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, TestError> {
        match self.canonical_hash(number)? {
            Some(h) => self.header_rlp_by_hash(&h),
            None => Ok(None),
        }
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, TestError> {
        self.check()?;
        let i = usize::try_from(number).unwrap_or(usize::MAX);
        Ok(self.canonical.get(i).copied())
    }

    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, TestError> {
        self.check()?;
        Ok(self.bodies.get(hash).cloned())
    }

    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, TestError> {
        self.check()?;
        Ok(self.receipts.get(hash).cloned())
    }
}

/// A 15-field (pre-London) header with `extra` bytes of extra data.
fn header(number: u64, parent: Hash, extra: usize) -> Vec<u8> {
    let mut s = RlpStream::new_list(15);
    s.append(&parent.as_slice());
    s.append(&[1u8; 32].as_slice());
    s.append(&[2u8; 20].as_slice());
    for h in [[3u8; 32], [4; 32], [5; 32]] {
        s.append(&h.as_slice());
    }
    s.append(&[0u8; 256].as_slice());
    s.append(&1u64);
    s.append(&number);
    s.append(&30_000_000u64);
    s.append(&0u64);
    s.append(&(number * 12));
    s.append(&vec![0xee; extra].as_slice());
    s.append(&[6u8; 32].as_slice());
    s.append(&[0u8; 8].as_slice());
    s.out().to_vec()
}

/// A body whose one "transaction" is a byte string of `size` bytes.
fn body(size: usize) -> Vec<u8> {
    let mut s = RlpStream::new_list(2);
    s.begin_list(1).append(&vec![0x02; size.max(1)].as_slice());
    s.begin_list(0);
    s.out().to_vec()
}

fn receipt(tx_type: u8, data: usize) -> Receipt {
    Receipt {
        tx_type,
        post_state_or_status: vec![1],
        cumulative_gas: 21_000 + data as u64,
        logs: vec![Log {
            address: [0x11; 20],
            topics: vec![[0x22; 32]],
            data: vec![0xab; data],
        }],
    }
}

fn consensus_list(receipts: &[Receipt]) -> Vec<u8> {
    let items = receipts.iter().map(Receipt::to_consensus);
    RawList::from_items(items).unwrap().as_rlp().to_vec()
}

fn network_list(receipts: &[Receipt]) -> Vec<u8> {
    let items = receipts.iter().map(Receipt::to_network);
    RawList::from_items(items).unwrap().as_rlp().to_vec()
}

impl MemChain {
    /// Blocks 0..n, canonical, with `extra` bytes of extra data in each header, empty
    /// bodies and no receipts.
    fn new(n: u64, extra: usize) -> Self {
        let mut chain = MemChain::default();
        let mut parent = [0u8; 32];
        for number in 0..n {
            let h = header(number, parent, extra);
            parent = keccak256(&h);
            chain.headers.insert(parent, h);
            chain.canonical.push(parent);
            chain.bodies.insert(parent, body(0));
            chain.receipts.insert(parent, vec![0xc0]);
        }
        chain
    }

    fn hash(&self, number: u64) -> Hash {
        self.canonical[number as usize]
    }

    /// A header at `number` that is not canonical.
    fn add_side(&mut self, number: u64) -> Hash {
        let h = header(number, self.hash(number - 1), 7);
        let hash = keccak256(&h);
        self.headers.insert(hash, h);
        hash
    }

    fn check(&self) -> Result<(), TestError> {
        if self.failing {
            Err(TestError::Disk)
        } else {
            Ok(())
        }
    }
}

fn get_headers(origin: BlockOrigin, amount: u64, skip: u64, reverse: bool) -> EthMessage {
    EthMessage::GetBlockHeaders(GetBlockHeaders {
        request_id: 7,
        origin,
        amount,
        skip,
        reverse,
    })
}

fn serve(chain: &MemChain, version: EthVersion, request: &EthMessage) -> EthMessage {
    let reply = answer(chain, version, request).unwrap().unwrap();
    assert_eq!(reply.request_id(), request.request_id(), "{request:?}");
    // Every reply encodes in the version's form, within the message limit, and decodes.
    let (id, payload) = encode(version, &reply).unwrap();
    assert!(payload.len() <= MESSAGE_SIZE_MAX, "{request:?}");
    assert_eq!(decode(version, id, &payload).as_ref(), Ok(&reply));
    reply
}

fn numbers(reply: &EthMessage) -> Vec<u64> {
    let EthMessage::BlockHeaders(r) = reply else {
        panic!("not BlockHeaders: {reply:?}");
    };
    r.headers().unwrap().iter().map(|h| h.number).collect()
}

fn by_number(chain: &MemChain, n: u64, amount: u64, skip: u64, reverse: bool) -> Vec<u64> {
    let q = get_headers(BlockOrigin::Number(n), amount, skip, reverse);
    numbers(&serve(chain, EthVersion::Eth68, &q))
}

#[test]
fn rlp_lengths_match_the_encoder() {
    for len in [0usize, 1, 55, 56, 255, 256, 65_535, 65_536, 16 * MIB] {
        let mut s = RlpStream::new();
        s.begin_unbounded_list();
        s.append_raw(&vec![0x01; len], len);
        s.finalize_unbounded_list();
        assert_eq!(list_len(len), s.out().len(), "list of {len}");
    }
    for v in [0u64, 1, 0x7f, 0x80, 0xff, 0x100, u64::MAX] {
        assert_eq!(uint_len(v), rlp::encode(&v).len(), "uint {v}");
    }
}

#[test]
fn headers_by_number_skip_reverse_and_past_the_head() {
    let chain = MemChain::new(20, 0);
    assert_eq!(by_number(&chain, 3, 4, 1, false), [3, 5, 7, 9]);
    assert_eq!(by_number(&chain, 12, 100, 0, true).len(), 13);
    assert_eq!(by_number(&chain, 10, 10, 2, true), [10, 7, 4, 1]);
    assert_eq!(by_number(&chain, 18, 5, 0, false), [18, 19]);
    assert_eq!(by_number(&chain, 20, 5, 0, false), Vec::<u64>::new());
    assert_eq!(by_number(&chain, 3, 0, 0, false), Vec::<u64>::new());
}

#[test]
fn overflowing_numbers_end_the_walk() {
    let chain = MemChain::new(20, 0);
    for reverse in [false, true] {
        assert_eq!(
            by_number(&chain, 5, 10, u64::MAX, reverse),
            [5],
            "{reverse}"
        );
        assert_eq!(by_number(&chain, 1, 10, u64::MAX - 1, reverse), [1]);
        assert!(by_number(&chain, u64::MAX, u64::MAX, u64::MAX, reverse).is_empty());
    }
    assert_eq!(by_number(&chain, 3, 10, 5, true), [3]);
}

#[test]
fn header_count_is_capped() {
    let chain = MemChain::new(1100, 0);
    assert_eq!(by_number(&chain, 0, 1025, 0, false).len(), SERVE_COUNT_MAX);
    assert_eq!(
        by_number(&chain, 1099, u64::MAX, 0, true).len(),
        SERVE_COUNT_MAX
    );
    assert_eq!(
        by_number(&chain, 5, 1024, 0, false),
        (5..1029).collect::<Vec<_>>()
    );
}

#[test]
fn headers_by_hash_follow_canonical_numbers_only_from_a_canonical_origin() {
    let mut chain = MemChain::new(20, 0);
    let q = |h, reverse| get_headers(BlockOrigin::Hash(h), 3, 1, reverse);
    let v = EthVersion::Eth69;
    assert_eq!(
        numbers(&serve(&chain, v, &q(chain.hash(5), false))),
        [5, 7, 9]
    );
    assert_eq!(
        numbers(&serve(&chain, v, &q(chain.hash(5), true))),
        [5, 3, 1]
    );
    assert_eq!(
        numbers(&serve(&chain, v, &q([9; 32], false))),
        Vec::<u64>::new()
    );
    let side = chain.add_side(5);
    for reverse in [false, true] {
        let EthMessage::BlockHeaders(r) = serve(&chain, v, &q(side, reverse)) else {
            panic!("not BlockHeaders");
        };
        let hashes: Vec<Hash> = r.headers().unwrap().iter().map(|h| h.hash).collect();
        assert_eq!(hashes, [side], "reverse {reverse}");
    }
    let zero = get_headers(BlockOrigin::Hash(chain.hash(5)), 0, 0, false);
    assert!(numbers(&serve(&chain, v, &zero)).is_empty());
}

#[test]
fn request_ids_are_echoed() {
    let chain = MemChain::new(3, 0);
    for id in [0, 1, 0x80, u64::MAX] {
        let q = EthMessage::GetBlockHeaders(GetBlockHeaders {
            request_id: id,
            origin: BlockOrigin::Number(0),
            amount: 2,
            skip: 0,
            reverse: false,
        });
        // `serve` checks the echo and the round trip.
        serve(&chain, EthVersion::Eth68, &q);
        let q = EthMessage::GetBlockBodies(HashesRequest {
            request_id: id,
            hashes: vec![chain.hash(1)],
        });
        serve(&chain, EthVersion::Eth68, &q);
        let q = EthMessage::GetReceipts(GetReceipts {
            request_id: id,
            first_block_receipt_index: 0,
            hashes: vec![chain.hash(1)],
        });
        for v in EthVersion::ALL {
            serve(&chain, v, &q);
        }
    }
}

#[test]
fn the_soft_limit_keeps_the_item_that_crosses_it() {
    let chain = MemChain::new(1100, 8 * 1024);
    let got = by_number(&chain, 0, 1024, 0, false);
    let size = chain.headers[&chain.hash(0)].len();
    let n = got.len();
    assert!((n - 1) * size < RESPONSE_SIZE_SOFT, "{n} headers of {size}");
    assert!(n * size >= RESPONSE_SIZE_SOFT, "{n} headers of {size}");
}

#[test]
fn bodies_stop_at_an_unknown_block_and_at_the_hard_limit() {
    let mut chain = MemChain::new(5, 0);
    let request = |hashes: Vec<Hash>| {
        EthMessage::GetBlockBodies(HashesRequest {
            request_id: 0,
            hashes,
        })
    };
    let count = |chain: &MemChain, hashes| match serve(chain, EthVersion::Eth70, &request(hashes)) {
        EthMessage::BlockBodies(r) => r.items.len(),
        other => panic!("not BlockBodies: {other:?}"),
    };
    let (h1, h2, h3) = (chain.hash(1), chain.hash(2), chain.hash(3));
    assert_eq!(count(&chain, vec![h1, h2, [9; 32], h3]), 2);
    assert_eq!(count(&chain, vec![[9; 32], h1]), 0);
    // 1.5 MiB is under the soft limit; 9 MiB more would break the hard one.
    chain.bodies.insert(h1, body(3 * MIB / 2));
    chain.bodies.insert(h2, body(9 * MIB));
    assert_eq!(count(&chain, vec![h1, h2, h3]), 1);
    // A body that is too large on its own is never sent.
    chain.bodies.insert(h1, body(MESSAGE_SIZE_MAX));
    assert_eq!(count(&chain, vec![h1, h3]), 0);
    // Past the soft limit with room under the hard one, the crossing body is the last.
    chain.bodies.insert(h1, body(MIB));
    chain.bodies.insert(h2, body(MIB + 1));
    assert_eq!(count(&chain, vec![h1, h2, h3]), 2);
}

fn get_receipts(index: u64, hashes: Vec<Hash>) -> EthMessage {
    EthMessage::GetReceipts(GetReceipts {
        request_id: 3,
        first_block_receipt_index: index,
        hashes,
    })
}

fn lists(reply: &EthMessage) -> (bool, Vec<Vec<u8>>) {
    let EthMessage::Receipts(r) = reply else {
        panic!("not Receipts: {reply:?}");
    };
    let lists = r.blocks.iter().map(<[u8]>::to_vec).collect();
    (r.last_block_incomplete, lists)
}

#[test]
fn receipts_are_sent_in_each_versions_form() {
    let mut chain = MemChain::new(4, 0);
    let blocks = [
        vec![receipt(0, 10), receipt(2, 0), receipt(3, 5)],
        vec![],
        vec![receipt(1, 1), receipt(4, 2)],
    ];
    for (i, b) in blocks.iter().enumerate() {
        chain
            .receipts
            .insert(chain.hash(i as u64 + 1), consensus_list(b));
    }
    let hashes: Vec<Hash> = (1..=3).map(|n| chain.hash(n)).collect();
    let q = get_receipts(0, hashes);
    let consensus: Vec<Vec<u8>> = blocks.iter().map(|b| consensus_list(b)).collect();
    let network: Vec<Vec<u8>> = blocks.iter().map(|b| network_list(b)).collect();
    assert_eq!(
        lists(&serve(&chain, EthVersion::Eth68, &q)),
        (false, consensus)
    );
    assert_eq!(
        lists(&serve(&chain, EthVersion::Eth69, &q)),
        (false, network.clone())
    );
    assert_eq!(
        lists(&serve(&chain, EthVersion::Eth70, &q)),
        (false, network)
    );
    // An unknown block ends the list.
    let q = get_receipts(0, vec![chain.hash(1), [9; 32], chain.hash(3)]);
    assert_eq!(lists(&serve(&chain, EthVersion::Eth69, &q)).1.len(), 1);
}

/// Pages through `hashes` in eth/70 as a requester would: ask from the first block not yet
/// complete with the count of its receipts received so far.
fn page_through(chain: &MemChain, hashes: &[Hash]) -> (Vec<Vec<Vec<u8>>>, usize) {
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); hashes.len()];
    let (mut block, mut index, mut pages) = (0, 0, 0);
    while block < hashes.len() {
        let q = get_receipts(index as u64, hashes[block..].to_vec());
        let (incomplete, lists) = lists(&serve(chain, EthVersion::Eth70, &q));
        assert!(
            !lists.is_empty(),
            "no progress at block {block} index {index}"
        );
        pages += 1;
        let last = lists.len() - 1;
        for (i, list) in lists.iter().enumerate() {
            let rlp = Rlp::new(list);
            got[block + i].extend(rlp.iter().map(|r| r.as_raw().to_vec()));
        }
        if incomplete {
            block += last;
            index = got[block].len();
        } else {
            block += lists.len();
            index = 0;
        }
    }
    (got, pages)
}

#[test]
fn eth70_pages_a_large_block_and_reassembles_it() {
    let mut chain = MemChain::new(4, 0);
    let big: Vec<Receipt> = (0..30).map(|i| receipt((i % 3) as u8, 190_000)).collect();
    let small = vec![receipt(2, 3)];
    chain.receipts.insert(chain.hash(1), consensus_list(&small));
    chain.receipts.insert(chain.hash(2), consensus_list(&big));
    chain.receipts.insert(chain.hash(3), consensus_list(&small));
    let hashes = [chain.hash(1), chain.hash(2), chain.hash(3)];
    let (got, pages) = page_through(&chain, &hashes);
    for (i, b) in [&small, &big, &small].iter().enumerate() {
        let want: Vec<Vec<u8>> = b.iter().map(Receipt::to_network).collect();
        assert_eq!(got[i], want, "block {}", i + 1);
    }
    // About 5.7 MB of receipts in pages that stop once past 2 MiB.
    assert_eq!(pages, 3);
    // The first page crosses the soft limit with its last receipt, not before.
    let (incomplete, first) = lists(&serve(
        &chain,
        EthVersion::Eth70,
        &get_receipts(0, hashes.to_vec()),
    ));
    assert!(incomplete);
    let bytes: usize = first.iter().map(Vec::len).sum();
    assert!(bytes >= RESPONSE_SIZE_SOFT);
    assert!(bytes - big[0].to_network().len() < RESPONSE_SIZE_SOFT);
    // eth/69 sends the same block whole.
    let (_, whole) = lists(&serve(
        &chain,
        EthVersion::Eth69,
        &get_receipts(0, hashes.to_vec()),
    ));
    assert_eq!(whole.len(), 2);
}

#[test]
fn eth70_index_past_the_end_sends_an_empty_first_list() {
    let mut chain = MemChain::new(4, 0);
    chain
        .receipts
        .insert(chain.hash(1), consensus_list(&[receipt(0, 1)]));
    chain
        .receipts
        .insert(chain.hash(2), consensus_list(&[receipt(2, 1)]));
    for index in [1, 2, u64::MAX] {
        let q = get_receipts(index, vec![chain.hash(1), chain.hash(2)]);
        let (incomplete, got) = lists(&serve(&chain, EthVersion::Eth70, &q));
        assert!(!incomplete);
        assert_eq!(
            got,
            [vec![0xc0], network_list(&[receipt(2, 1)])],
            "index {index}"
        );
    }
    // Before eth/70 there is no index: a request carrying one is served whole.
    let q = get_receipts(1, vec![chain.hash(1)]);
    let (_, got) = lists(&answer(&chain, EthVersion::Eth69, &q).unwrap().unwrap());
    assert_eq!(got, [network_list(&[receipt(0, 1)])]);
}

#[test]
fn the_hard_limit_holds_inside_a_block() {
    let mut chain = MemChain::new(4, 0);
    let block = [receipt(0, MIB), receipt(2, 9 * MIB + MIB / 2)];
    chain.receipts.insert(chain.hash(1), consensus_list(&block));
    let hashes = [chain.hash(1)];
    let (got, pages) = page_through(&chain, &hashes);
    assert_eq!(pages, 2);
    let want: Vec<Vec<u8>> = block.iter().map(Receipt::to_network).collect();
    assert_eq!(got[0], want);
    // Before eth/70 the block (10.5 MiB) is never sent.
    for v in [EthVersion::Eth68, EthVersion::Eth69] {
        let (_, got) = lists(&serve(&chain, v, &get_receipts(0, hashes.to_vec())));
        assert!(got.is_empty(), "{v}");
    }
    // A receipt that fits no message: nothing is sent, and nothing is announced incomplete.
    chain.receipts.insert(
        chain.hash(2),
        consensus_list(&[receipt(0, MESSAGE_SIZE_MAX)]),
    );
    let q = get_receipts(0, vec![chain.hash(2), chain.hash(3)]);
    assert_eq!(
        lists(&serve(&chain, EthVersion::Eth70, &q)),
        (false, vec![])
    );
    // After a small block, a block whose first receipt does not fit ends the reply
    // before it.
    chain
        .receipts
        .insert(chain.hash(3), consensus_list(&[receipt(0, MIB)]));
    chain.receipts.insert(
        chain.hash(2),
        consensus_list(&[receipt(0, 9 * MIB + MIB / 2)]),
    );
    let q = get_receipts(0, vec![chain.hash(3), chain.hash(2)]);
    let (incomplete, got) = lists(&serve(&chain, EthVersion::Eth70, &q));
    assert_eq!((incomplete, got.len()), (false, 1));
}

#[test]
fn storage_errors_and_corrupt_items_are_errors() {
    let mut chain = MemChain::new(4, 0);
    let q = get_headers(BlockOrigin::Number(0), 2, 0, false);
    chain.failing = true;
    assert_eq!(answer(&chain, EthVersion::Eth68, &q), Err(TestError::Disk));
    chain.failing = false;
    let h1 = chain.hash(1);
    chain.headers.insert(h1, vec![0xc2, 0x80, 0x80]);
    let by_hash = get_headers(BlockOrigin::Hash(h1), 2, 0, false);
    assert_eq!(
        answer(&chain, EthVersion::Eth68, &by_hash),
        Err(TestError::Corrupt(CorruptItem { what: "header" }))
    );
    chain.receipts.insert(h1, vec![0xc1, 0x05]);
    let q = get_receipts(0, vec![h1]);
    assert!(answer(&chain, EthVersion::Eth69, &q).is_err());
    chain.receipts.insert(h1, vec![0x81, 0x05]);
    for v in EthVersion::ALL {
        assert!(answer(&chain, v, &q).is_err(), "{v}");
    }
}

#[test]
fn other_messages_are_not_answered() {
    let chain = MemChain::new(2, 0);
    let msg = EthMessage::Transactions(RawList::new());
    assert_eq!(answer(&chain, EthVersion::Eth68, &msg), Ok(None));
    assert!(!is_served(&msg));
    let reply = serve(
        &chain,
        EthVersion::Eth70,
        &get_receipts(0, vec![chain.hash(1)]),
    );
    assert_eq!(reply.id(), RECEIPTS_ID);
    assert_eq!(answer(&chain, EthVersion::Eth70, &reply), Ok(None));
}
