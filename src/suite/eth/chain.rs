//! The test chain the eth suite compares the node against: go-ethereum's ethtest chain directory
//! (hivechain's output, `cmd/devp2p/internal/ethtest/chain.go` reads the same files):
//! `genesis.json` (the chain spec, fork id), `chain.rlp` (blocks 1..head, concatenated RLP), and
//! when present: `headblock.json` (checked against chain.rlp's last block), `accounts.json` (keys
//! of funded senders; without it the transaction tests skip), `headstate.json` (nonces and
//! balances at the head) and `txinfo.json` (which block has receipts too large for one message).
//! `forkenv.json` is hive's environment for the client and is not needed here. Every block's
//! header is kept (as RLP) to check served headers.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::chain::genesis::Genesis;
use crate::chain::header::{Header, U256};
use crate::chain::import::{BLOCK_SIZE_MAX, RlpReader};
use crate::chain::json::{self, Json};
use crate::chain::spec::ChainSpec;
use crate::crypto::{SecretKey, unhex};
use crate::eth::wire::handshake::{ChainHead, our_status};
use crate::eth::{BlockOrigin, EthVersion, GetBlockHeaders, Hash, Status};
use crate::tx::Address;
use crate::tx::transaction::address_of;

/// The most blocks a chain dir may hold. The tester keeps every header (about 600 bytes) in
/// memory, as go-ethereum's suite keeps every block; hive's test chains have a few hundred.
pub const CHAIN_BLOCKS_MAX: usize = 1 << 20;

/// The largest JSON file of a chain dir read: 64 MiB (headstate.json of hive's chain is 370 KB).
pub const CHAIN_JSON_SIZE_MAX: u64 = 64 * 1024 * 1024;

/// One block of the test chain, as far as the tests need it.
#[derive(Debug, Clone)]
pub struct ChainBlock {
    pub number: u64,
    pub hash: Hash,
    /// The header's exact RLP, compared byte for byte with what the node serves.
    pub header_rlp: Vec<u8>,
    pub time: u64,
    pub tx_count: usize,
    pub receipts_root: Hash,
}

/// A funded account whose key the chain dir gives, with its next nonce (the tests that send
/// transactions move it on; each is an atomic of its own, so test threads share no lock).
#[derive(Debug)]
pub struct Sender {
    pub address: Address,
    pub key: SecretKey,
    next_nonce: AtomicU64,
}

/// The chain dir, loaded.
#[derive(Debug)]
pub struct TestChain {
    pub spec: ChainSpec,
    /// Block 0 (the genesis) to the head.
    pub blocks: Vec<ChainBlock>,
    /// The head's base fee (0 before London).
    pub base_fee: u128,
    /// Total difficulty at the head (eth/68's Status).
    pub td: U256,
    /// The funded senders, sorted by address (go-ethereum's `GetSender(i)` order).
    pub senders: Vec<Sender>,
    /// Balances at the head, from headstate.json (empty without it).
    pub balances: HashMap<Address, U256>,
    /// The block whose receipts exceed one message (txinfo.json `tx-largereceipt`).
    pub large_receipt_block: Option<u64>,
}

fn read_json(path: &Path) -> Result<Json, String> {
    use std::io::Read;
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    f.take(CHAIN_JSON_SIZE_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    json::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn address(text: &str) -> Option<Address> {
    unhex(text).ok()?.try_into().ok()
}

fn number(v: Option<&Json>) -> Option<u64> {
    let v = v?;
    let text = v.as_number().or(v.as_str())?;
    U256::parse(text)?.to_u64()
}

impl TestChain {
    /// Loads the chain dir `dir`.
    pub fn load(dir: &Path) -> Result<TestChain, String> {
        let genesis_path = dir.join("genesis.json");
        let text = std::fs::read_to_string(&genesis_path)
            .map_err(|e| format!("{}: {e}", genesis_path.display()))?;
        let genesis =
            Genesis::from_json(&text).map_err(|e| format!("{}: {e}", genesis_path.display()))?;
        let spec = ChainSpec::from_genesis(&genesis, None)
            .map_err(|e| format!("{}: {e}", genesis_path.display()))?;
        let g = &spec.genesis_header;
        let mut blocks = vec![ChainBlock {
            number: 0,
            hash: spec.genesis_hash,
            header_rlp: g.rlp(),
            time: g.timestamp,
            tx_count: 0,
            receipts_root: g.receipts_root,
        }];
        let mut td = small(&g.difficulty);
        let mut base_fee = g.base_fee_per_gas.and_then(|f| f.to_u64()).unwrap_or(0) as u128;
        let chain_path = dir.join("chain.rlp");
        let file = File::open(&chain_path).map_err(|e| format!("{}: {e}", chain_path.display()))?;
        let mut reader = RlpReader::new(BufReader::new(file), BLOCK_SIZE_MAX);
        let bad = |n: usize, e: &dyn std::fmt::Display| {
            format!("{}: block at index {n}: {e}", chain_path.display())
        };
        while let Some(raw) = reader.next_item().map_err(|e| bad(blocks.len(), &e))? {
            if blocks.len() > CHAIN_BLOCKS_MAX {
                return Err(format!(
                    "{}: more than {CHAIN_BLOCKS_MAX} blocks",
                    chain_path.display()
                ));
            }
            let block = rlp::Rlp::new(&raw);
            let (header_rlp, txs) = match (block.at(0), block.at(1)) {
                (Ok(h), Ok(t)) => (h.as_raw().to_vec(), t.item_count().unwrap_or(0)),
                _ => return Err(bad(blocks.len(), &"not a block")),
            };
            let header = Header::decode(&header_rlp).map_err(|e| bad(blocks.len(), &e))?;
            if header.number != blocks.len() as u64 {
                return Err(bad(blocks.len(), &format!("has number {}", header.number)));
            }
            td = td.saturating_add(small(&header.difficulty));
            base_fee = header
                .base_fee_per_gas
                .and_then(|f| f.to_u64())
                .unwrap_or(0) as u128;
            blocks.push(ChainBlock {
                number: header.number,
                hash: header.hash(),
                header_rlp,
                time: header.timestamp,
                tx_count: txs,
                receipts_root: header.receipts_root,
            });
        }
        let head = blocks.last().map(|b| b.hash).unwrap_or_default();
        // headblock.json only confirms the head; a chain dir made by `ethpeer export` has none.
        let headblock = dir.join("headblock.json");
        let headblock = match headblock.exists() {
            true => read_json(&headblock)?,
            false => Json::Null,
        };
        if let Some(want) = headblock.get("hash").and_then(Json::as_str)
            && unhex(want).ok().as_deref() != Some(&head[..])
        {
            return Err(format!(
                "headblock.json names head {want}, but chain.rlp ends at 0x{}",
                crate::crypto::hex(&head)
            ));
        }
        let mut chain = TestChain {
            spec,
            blocks,
            base_fee,
            td: U256::from_be_slice(&td.to_be_bytes()).unwrap_or_default(),
            senders: Vec::new(),
            balances: HashMap::new(),
            large_receipt_block: None,
        };
        chain.load_accounts(dir)?;
        if let Ok(info) = read_json(&dir.join("txinfo.json")) {
            chain.large_receipt_block = number(info.get_present("tx-largereceipt"));
        }
        Ok(chain)
    }

    fn load_accounts(&mut self, dir: &Path) -> Result<(), String> {
        let mut nonces = HashMap::new();
        let state_path = dir.join("headstate.json");
        if state_path.exists() {
            let state = read_json(&state_path)?;
            for (addr, acc) in state
                .get("accounts")
                .and_then(Json::as_object)
                .unwrap_or_default()
            {
                let Some(a) = address(addr) else { continue };
                if let Some(n) = number(acc.get("nonce")) {
                    nonces.insert(a, n);
                }
                if let Some(b) = acc
                    .get("balance")
                    .and_then(Json::as_str)
                    .and_then(U256::parse)
                {
                    self.balances.insert(a, b);
                }
            }
        }
        let accounts_path = dir.join("accounts.json");
        if !accounts_path.exists() {
            return Ok(());
        }
        let accounts = read_json(&accounts_path)?;
        for (addr, acc) in accounts.as_object().unwrap_or_default() {
            let bad = || format!("{}: account {addr}", accounts_path.display());
            let key = acc
                .get("key")
                .and_then(Json::as_str)
                .and_then(|k| unhex(k).ok())
                .and_then(|k| SecretKey::from_bytes(&k).ok())
                .ok_or_else(bad)?;
            let address = address_of(&key.public_key());
            if Some(address) != self::address(addr) {
                return Err(format!("{}: the key does not belong to it", bad()));
            }
            if let Some(n) = number(acc.get("nonce")) {
                nonces.insert(address, n);
            }
            let next_nonce = AtomicU64::new(nonces.get(&address).copied().unwrap_or(0));
            self.senders.push(Sender {
                address,
                key,
                next_nonce,
            });
        }
        self.senders.sort_by_key(|s| s.address);
        Ok(())
    }

    /// The head block.
    pub fn head(&self) -> &ChainBlock {
        // `load` always puts the genesis in.
        &self.blocks[self.blocks.len() - 1]
    }

    /// What a Status of ours says about the head.
    pub fn chain_head(&self) -> ChainHead {
        let head = self.head();
        ChainHead {
            number: head.number,
            hash: head.hash,
            time: head.time,
            td: self.td,
            earliest: 0,
        }
    }

    /// Our Status for `version`.
    pub fn status(&self, version: EthVersion) -> Status {
        our_status(version, &self.spec, &self.chain_head())
    }

    /// The block with this hash.
    pub fn by_hash(&self, hash: &Hash) -> Option<&ChainBlock> {
        self.blocks.iter().find(|b| &b.hash == hash)
    }

    /// The headers a correct node answers `req` with, when the chain holds them all (as
    /// go-ethereum's `Chain.GetHeaders`: an error when any is missing).
    pub fn headers(&self, req: &GetBlockHeaders) -> Result<Vec<&[u8]>, String> {
        let first = match req.origin {
            BlockOrigin::Hash(h) => self.by_hash(&h).map(|b| b.number),
            BlockOrigin::Number(n) => (n < self.blocks.len() as u64).then_some(n),
        }
        .ok_or_else(|| format!("the test chain lacks the origin {:?}", req.origin))?;
        let step = req.skip.saturating_add(1);
        let mut out = Vec::new();
        let mut n = first;
        for i in 0..req.amount {
            if i > 0 {
                n = if req.reverse {
                    n.checked_sub(step).ok_or("before the genesis")?
                } else {
                    n.checked_add(step).ok_or("past u64")?
                };
            }
            let b = self
                .blocks
                .get(n as usize)
                .ok_or_else(|| format!("the test chain lacks block {n}"))?;
            out.push(b.header_rlp.as_slice());
        }
        Ok(out)
    }

    /// Sender `i` (in address order) and its next nonce.
    pub fn sender(&self, i: usize) -> Option<(&Sender, u64)> {
        let s = self.senders.get(i)?;
        Some((s, s.next_nonce.load(Ordering::Relaxed)))
    }

    /// Moves sender `addr`'s next nonce on by `by` (its transactions were sent).
    pub fn use_nonces(&self, addr: Address, by: u64) {
        if let Ok(i) = self.senders.binary_search_by_key(&addr, |s| s.address) {
            self.senders[i].next_nonce.fetch_add(by, Ordering::Relaxed);
        }
    }
}

/// A difficulty as a u128 (test chains' are small; a larger one saturates).
fn small(d: &U256) -> u128 {
    let (high, low) = d.0.split_at(16);
    if high.iter().any(|&b| b != 0) {
        return u128::MAX;
    }
    u128::from_be_bytes(low.try_into().unwrap_or([0; 16]))
}
