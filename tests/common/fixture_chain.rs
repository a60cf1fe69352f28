//! The fixture chain (fixtures/chain/: chain.rlp, receipts.rlp, chain_index.json) split into
//! what a serving peer needs: headers, bodies and consensus receipts by number, loaded once.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::sync::OnceLock;

use ethpeer::chain::header::Header;
use ethpeer::chain::import::{BLOCK_SIZE_MAX, RECEIPTS_SIZE_MAX, RlpReader};
use ethpeer::chain::verify::verify_block;
use ethpeer::eth::Receipt;

use super::{fixture_json, fixture_path, h, h32};

/// Blocks 0 (genesis) to 600, each piece indexed by number.
pub struct FixtureChain {
    /// Header RLP.
    pub headers: Vec<Vec<u8>>,
    /// Body RLP `[txs, ommers, withdrawals]`.
    pub bodies: Vec<Vec<u8>>,
    /// Block hashes.
    pub hashes: Vec<[u8; 32]>,
    /// The consensus receipts list RLP (as in receipts.rlp).
    pub receipts: Vec<Vec<u8>>,
    /// The same receipts, decoded.
    pub decoded: Vec<Vec<Receipt>>,
    /// Number by hash.
    pub by_hash: HashMap<[u8; 32], u64>,
    /// The genesis header, decoded.
    pub genesis: Header,
}

impl FixtureChain {
    /// The head number (600).
    pub fn head(&self) -> u64 {
        self.hashes.len() as u64 - 1
    }
}

fn items(rel: &str, limit: usize) -> Vec<Vec<u8>> {
    let file = BufReader::new(File::open(fixture_path(rel)).unwrap());
    let mut r = RlpReader::new(file, limit);
    let mut out = Vec::new();
    while let Some(item) = r.next_item().unwrap() {
        out.push(item);
    }
    out
}

/// The fixture chain, read and checked once per test binary.
pub fn fixture_chain() -> &'static FixtureChain {
    static CHAIN: OnceLock<FixtureChain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let index = fixture_json("chain/chain_index.json");
        let genesis_rlp = h(index["genesis"]["header_rlp"].as_str().unwrap());
        let genesis_hash = h32(index["genesis"]["hash"].as_str().unwrap());
        let genesis = Header::decode(&genesis_rlp).unwrap();
        assert_eq!(genesis.hash(), genesis_hash, "genesis header hash");
        let blocks = items("chain/chain.rlp", BLOCK_SIZE_MAX);
        let receipts = items("chain/receipts.rlp", RECEIPTS_SIZE_MAX);
        assert_eq!(blocks.len(), 600);
        assert_eq!(receipts.len(), 600);
        let mut chain = FixtureChain {
            headers: vec![genesis_rlp],
            bodies: vec![rlp::encode_list::<Vec<u8>, Vec<u8>>(&[vec![], vec![], vec![]]).to_vec()],
            hashes: vec![genesis_hash],
            receipts: vec![vec![0xc0]],
            decoded: vec![vec![]],
            by_hash: HashMap::new(),
            genesis,
        };
        for (i, (block, list)) in blocks.iter().zip(&receipts).enumerate() {
            // Bodies are checked against their headers here; receipts against their roots
            // only where a test needs it (block 11's 10.6 MB take seconds to hash in debug).
            let b = verify_block(block, None, i as u64 + 1).unwrap();
            chain.headers.push(b.header_rlp);
            chain.bodies.push(b.body_rlp);
            chain.hashes.push(b.hash);
            chain.receipts.push(list.clone());
            let decoded = rlp::Rlp::new(list)
                .iter()
                .map(|r| Receipt::from_consensus(r.as_raw()).unwrap())
                .collect();
            chain.decoded.push(decoded);
        }
        for (n, hash) in chain.hashes.iter().enumerate() {
            chain.by_hash.insert(*hash, n as u64);
        }
        chain
    })
}
