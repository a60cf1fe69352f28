//! A chain's genesis, read from a go-ethereum `genesis.json`: the chain config (chain id, fork
//! activation points, blob schedule), the genesis allocation and its state root (Yellow Paper
//! section 4.1 "World State"), and the genesis block header with its hash.
//!
//! The state root is the root of the secure trie that maps `keccak(address)` to
//! `rlp([nonce, balance, storageRoot, codeHash])`, where `storageRoot` is the root of the secure
//! trie mapping `keccak(slot)` to `rlp(value)` (zero values are absent) and `codeHash` is
//! `keccak(code)`. The header carries each field of the forks active at genesis, with the
//! defaults go-ethereum gives a genesis header (`core/genesis.go`): a London genesis has a base
//! fee (1 gwei unless given), a Shanghai genesis the empty withdrawals root, a Cancun genesis
//! zero blob gas and a zero parent beacon block root, a Prague genesis the EIP-7685 hash of an
//! empty request list.

use std::collections::BTreeMap;
use std::fmt;

use rlp::RlpStream;

use crate::chain::forkid::ForkSchedule;
use crate::chain::header::{EMPTY_OMMERS_HASH, Header, U256};
use crate::chain::json::{self, Json, JsonError};
use crate::chain::trie::{EMPTY_ROOT, secure_trie_root};
use crate::crypto::{keccak256, unhex};

/// The base fee of a genesis block with London active and no `baseFeePerGas` given (EIP-1559
/// `INITIAL_BASE_FEE`, 1 gwei). This is why Sepolia's and Holesky's genesis headers carry a base
/// fee their genesis files do not mention (fixtures README trap 13).
pub const INITIAL_BASE_FEE: u64 = 1_000_000_000;

/// The gas limit of a genesis file that gives none (go-ethereum `params.GenesisGasLimit`).
pub const GENESIS_GAS_LIMIT_DEFAULT: u64 = 4_712_388;

/// The difficulty of a proof-of-work genesis that gives none (go-ethereum
/// `params.GenesisDifficulty`).
pub const GENESIS_DIFFICULTY_DEFAULT: u64 = 131_072;

/// The EIP-7685 `requestsHash` of a block without requests: sha256 of nothing, since the hash is
/// sha256 over the concatenated sha256 of each non-empty request list, and there are none.
pub const EMPTY_REQUESTS_HASH: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The blob parameters of one fork (EIP-7840 `blobSchedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobParams {
    pub target: u64,
    pub max: u64,
    pub base_fee_update_fraction: u64,
}

/// The `config` object of a genesis file.
///
/// Forks are kept by their JSON names: every member whose name ends in `Block` is a block fork
/// and every member ending in `Time` a time fork, as go-ethereum gathers fork ids from its own
/// config by those suffixes. A fork added later (say `amsterdamTime`) thus enters the fork id
/// without a code change here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainConfig {
    pub chain_id: u64,
    /// `(name, block)` in file order, e.g. `("londonBlock", 12965000)`.
    pub block_forks: Vec<(String, u64)>,
    /// `(name, timestamp)` in file order, e.g. `("cancunTime", 1710338135)`.
    pub time_forks: Vec<(String, u64)>,
    pub terminal_total_difficulty: Option<U256>,
    pub deposit_contract_address: Option<[u8; 20]>,
    /// `(fork name, parameters)` in file order, e.g. `("prague", …)`.
    pub blob_schedule: Vec<(String, BlobParams)>,
    /// Whether the config names the ethash engine (it affects the default genesis difficulty).
    pub ethash: bool,
}

impl ChainConfig {
    /// The activation block of the fork named `name` (its JSON name, e.g. `"londonBlock"`).
    pub fn block(&self, name: &str) -> Option<u64> {
        self.block_forks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| *b)
    }

    /// The activation time of the fork named `name` (its JSON name, e.g. `"shanghaiTime"`).
    pub fn time(&self, name: &str) -> Option<u64> {
        self.time_forks
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }

    /// Whether London (EIP-1559) is active at block `number`.
    pub fn is_london(&self, number: u64) -> bool {
        self.block("londonBlock").is_some_and(|b| b <= number)
    }

    /// Whether the time fork `name` is active for a block at `number`, `time`. Every time fork
    /// follows London, so it counts only once London is active too.
    pub fn is_time_active(&self, name: &str, number: u64, time: u64) -> bool {
        self.is_london(number) && self.time(name).is_some_and(|t| t <= time)
    }

    /// The fork schedule of the chain this config describes: every `…Block` member is a block
    /// fork and every `…Time` member a time fork.
    pub fn fork_schedule(&self, genesis_hash: [u8; 32], genesis_time: u64) -> ForkSchedule {
        ForkSchedule::new(
            genesis_hash,
            genesis_time,
            self.block_forks.iter().map(|(_, b)| *b),
            self.time_forks.iter().map(|(_, t)| *t),
        )
    }

    fn from_json(v: &Json) -> Result<Self, GenesisError> {
        let members = v
            .as_object()
            .ok_or_else(|| GenesisError::field("config", "not an object"))?;
        let mut config = ChainConfig {
            chain_id: u64_field(v, "chainId", "config.chainId")?.unwrap_or(0),
            ..ChainConfig::default()
        };
        for (name, value) in members {
            let is_block = name.ends_with("Block");
            if (is_block || name.ends_with("Time")) && !value.is_null() {
                let at = quantity(value)
                    .and_then(|q| q.to_u64())
                    .ok_or_else(|| GenesisError::field(name, "not a 64-bit number"))?;
                let list = if is_block {
                    &mut config.block_forks
                } else {
                    &mut config.time_forks
                };
                list.push((name.clone(), at));
            }
        }
        if let Some(ttd) = v.get_present("terminalTotalDifficulty") {
            let ttd = quantity(ttd)
                .ok_or_else(|| GenesisError::field("terminalTotalDifficulty", "not a number"))?;
            config.terminal_total_difficulty = Some(ttd);
        }
        if let Some(addr) = v.get_present("depositContractAddress") {
            config.deposit_contract_address = Some(fixed_hex(addr, "depositContractAddress")?);
        }
        if let Some(schedule) = v.get_present("blobSchedule") {
            let forks = schedule
                .as_object()
                .ok_or_else(|| GenesisError::field("blobSchedule", "not an object"))?;
            for (fork, p) in forks {
                let field = |key: &str| -> Result<u64, GenesisError> {
                    u64_field(p, key, &format!("blobSchedule.{fork}.{key}"))?.ok_or_else(|| {
                        GenesisError::field(&format!("blobSchedule.{fork}.{key}"), "missing")
                    })
                };
                let params = BlobParams {
                    target: field("target")?,
                    max: field("max")?,
                    base_fee_update_fraction: field("baseFeeUpdateFraction")?,
                };
                config.blob_schedule.push((fork.clone(), params));
            }
        }
        config.ethash = v.get_present("ethash").is_some();
        Ok(config)
    }
}

/// One account of the genesis allocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GenesisAccount {
    pub nonce: u64,
    pub balance: U256,
    pub code: Vec<u8>,
    /// Storage slots with non-zero values.
    pub storage: BTreeMap<[u8; 32], [u8; 32]>,
}

impl GenesisAccount {
    /// The root of this account's storage trie.
    pub fn storage_root(&self) -> [u8; 32] {
        secure_trie_root(self.storage.iter().map(|(slot, value)| {
            let trimmed = U256(*value);
            (slot.to_vec(), rlp::encode(&trimmed.trimmed()).to_vec())
        }))
    }

    /// The account's state-trie value: `rlp([nonce, balance, storageRoot, codeHash])`.
    pub fn rlp(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(4);
        s.append(&self.nonce);
        s.append(&self.balance);
        s.append(&self.storage_root().as_slice());
        s.append(&keccak256(&self.code).as_slice());
        s.out().to_vec()
    }
}

/// A parsed genesis file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Genesis {
    pub config: ChainConfig,
    pub nonce: u64,
    pub timestamp: u64,
    pub extra_data: Vec<u8>,
    pub gas_limit: u64,
    /// `None` when the file gives none (see [`Genesis::header`] for the default).
    pub difficulty: Option<U256>,
    pub mix_hash: [u8; 32],
    pub coinbase: [u8; 20],
    pub base_fee_per_gas: Option<U256>,
    pub excess_blob_gas: Option<u64>,
    pub blob_gas_used: Option<u64>,
    pub parent_hash: [u8; 32],
    pub number: u64,
    pub gas_used: u64,
    pub alloc: BTreeMap<[u8; 20], GenesisAccount>,
}

/// Why a genesis file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenesisError {
    /// The text is not JSON (or exceeds the reader's bounds).
    Json(JsonError),
    /// A member is missing or has the wrong form; `field` is its path, e.g. `alloc.0x…balance`.
    Field { field: String, why: &'static str },
}

impl GenesisError {
    fn field(field: &str, why: &'static str) -> Self {
        GenesisError::Field {
            field: field.to_string(),
            why,
        }
    }
}

impl fmt::Display for GenesisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenesisError::Json(e) => write!(f, "genesis: {e}"),
            GenesisError::Field { field, why } => write!(f, "genesis field {field}: {why}"),
        }
    }
}

impl std::error::Error for GenesisError {}

impl From<JsonError> for GenesisError {
    fn from(e: JsonError) -> Self {
        GenesisError::Json(e)
    }
}

impl Genesis {
    /// Parses a go-ethereum `genesis.json`. Numbers may be JSON numbers, `0x` hex strings or
    /// decimal strings; `null` counts as absent; unknown members are ignored.
    pub fn from_json(text: &str) -> Result<Genesis, GenesisError> {
        let root = json::parse(text)?;
        if root.as_object().is_none() {
            return Err(GenesisError::field("(root)", "not an object"));
        }
        let config = match root.get_present("config") {
            Some(c) => ChainConfig::from_json(c)?,
            None => ChainConfig::default(),
        };
        let u64_or_zero = |key: &str| u64_field(&root, key, key).map(|v| v.unwrap_or(0));
        let u256 = |key: &str| {
            root.get_present(key)
                .map(|v| quantity(v).ok_or_else(|| GenesisError::field(key, "not a number")))
                .transpose()
        };
        let hash = |key: &str| {
            root.get_present(key)
                .map(|v| fixed_hex::<32>(v, key))
                .transpose()
                .map(Option::unwrap_or_default)
        };
        Ok(Genesis {
            nonce: u64_or_zero("nonce")?,
            timestamp: u64_or_zero("timestamp")?,
            extra_data: root
                .get_present("extraData")
                .map(|v| bytes_hex(v, "extraData"))
                .transpose()?
                .unwrap_or_default(),
            gas_limit: u64_or_zero("gasLimit")?,
            difficulty: u256("difficulty")?,
            mix_hash: hash("mixHash")?,
            coinbase: root
                .get_present("coinbase")
                .map(|v| fixed_hex(v, "coinbase"))
                .transpose()?
                .unwrap_or_default(),
            base_fee_per_gas: u256("baseFeePerGas")?,
            excess_blob_gas: u64_field(&root, "excessBlobGas", "excessBlobGas")?,
            blob_gas_used: u64_field(&root, "blobGasUsed", "blobGasUsed")?,
            parent_hash: hash("parentHash")?,
            number: u64_or_zero("number")?,
            gas_used: u64_or_zero("gasUsed")?,
            alloc: match root.get_present("alloc") {
                Some(a) => alloc_from_json(a)?,
                None => BTreeMap::new(),
            },
            config,
        })
    }

    /// The state root of the genesis allocation. Every listed account is in the state, even an
    /// empty one, as go-ethereum commits the allocation without pruning empty accounts.
    pub fn state_root(&self) -> [u8; 32] {
        secure_trie_root(
            self.alloc
                .iter()
                .map(|(address, account)| (address.to_vec(), account.rlp())),
        )
    }

    /// The genesis block header.
    pub fn header(&self) -> Header {
        let config = &self.config;
        let (number, time) = (self.number, self.timestamp);
        let london = config.is_london(number);
        let shanghai = config.is_time_active("shanghaiTime", number, time);
        let cancun = config.is_time_active("cancunTime", number, time);
        let prague = config.is_time_active("pragueTime", number, time);
        // go-ethereum: a missing difficulty is 0 for a chain without ethash (proof of stake from
        // genesis), and the proof-of-work default when the mix hash is unset.
        let difficulty = self.difficulty.unwrap_or_else(|| {
            if config.ethash && self.mix_hash == [0; 32] {
                U256::from_u64(GENESIS_DIFFICULTY_DEFAULT)
            } else {
                U256::ZERO
            }
        });
        Header {
            parent_hash: self.parent_hash,
            ommers_hash: EMPTY_OMMERS_HASH,
            coinbase: self.coinbase,
            state_root: self.state_root(),
            transactions_root: EMPTY_ROOT,
            receipts_root: EMPTY_ROOT,
            logs_bloom: Box::new([0; 256]),
            difficulty,
            number,
            gas_limit: if self.gas_limit == 0 {
                GENESIS_GAS_LIMIT_DEFAULT
            } else {
                self.gas_limit
            },
            gas_used: self.gas_used,
            timestamp: time,
            extra_data: self.extra_data.clone(),
            mix_hash: self.mix_hash,
            nonce: self.nonce.to_be_bytes(),
            base_fee_per_gas: london.then(|| {
                self.base_fee_per_gas
                    .unwrap_or(U256::from_u64(INITIAL_BASE_FEE))
            }),
            withdrawals_root: shanghai.then_some(EMPTY_ROOT),
            blob_gas_used: cancun.then(|| self.blob_gas_used.unwrap_or(0)),
            excess_blob_gas: cancun.then(|| self.excess_blob_gas.unwrap_or(0)),
            parent_beacon_block_root: cancun.then_some([0; 32]),
            requests_hash: prague.then_some(EMPTY_REQUESTS_HASH),
            extra_fields: Vec::new(),
        }
    }

    /// The genesis block hash.
    pub fn hash(&self) -> [u8; 32] {
        self.header().hash()
    }

    /// The chain's EIP-2124 fork schedule.
    pub fn fork_schedule(&self) -> ForkSchedule {
        self.config.fork_schedule(self.hash(), self.timestamp)
    }
}

fn alloc_from_json(v: &Json) -> Result<BTreeMap<[u8; 20], GenesisAccount>, GenesisError> {
    let entries = v
        .as_object()
        .ok_or_else(|| GenesisError::field("alloc", "not an object"))?;
    let mut alloc = BTreeMap::new();
    for (key, entry) in entries {
        let path = format!("alloc.{key}");
        let address: [u8; 20] = unhex(key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| GenesisError::field(&path, "not a 20-byte hex address"))?;
        if entry.as_object().is_none() {
            return Err(GenesisError::field(&path, "not an object"));
        }
        let mut account = GenesisAccount {
            nonce: u64_field(entry, "nonce", &format!("{path}.nonce"))?.unwrap_or(0),
            ..GenesisAccount::default()
        };
        if let Some(balance) = entry.get_present("balance") {
            account.balance = quantity(balance)
                .ok_or_else(|| GenesisError::field(&format!("{path}.balance"), "not a number"))?;
        }
        if let Some(code) = entry.get_present("code") {
            account.code = bytes_hex(code, &format!("{path}.code"))?;
        }
        if let Some(storage) = entry.get_present("storage") {
            let slots = storage
                .as_object()
                .ok_or_else(|| GenesisError::field(&format!("{path}.storage"), "not an object"))?;
            for (slot, value) in slots {
                let slot_path = format!("{path}.storage.{slot}");
                let slot = word(slot).ok_or_else(|| GenesisError::field(&slot_path, "bad slot"))?;
                let value = value
                    .as_str()
                    .and_then(word)
                    .ok_or_else(|| GenesisError::field(&slot_path, "bad value"))?;
                if value != [0; 32] && account.storage.insert(slot, value).is_some() {
                    return Err(GenesisError::field(&slot_path, "slot given twice"));
                }
            }
        }
        if alloc.insert(address, account).is_some() {
            return Err(GenesisError::field(&path, "address given twice"));
        }
    }
    Ok(alloc)
}

/// A number: a JSON integer, or a string holding `0x` hex or decimal.
fn quantity(v: &Json) -> Option<U256> {
    match v {
        // The JSON grammar allows no `0x`, so `parse` reads decimal and refuses `-`, `.`, `e`.
        Json::Number(text) | Json::String(text) => U256::parse(text),
        _ => None,
    }
}

/// The optional 64-bit member `key` of `v`; `path` names it in errors.
fn u64_field(v: &Json, key: &str, path: &str) -> Result<Option<u64>, GenesisError> {
    v.get_present(key)
        .map(|x| {
            quantity(x)
                .and_then(|q| q.to_u64())
                .ok_or_else(|| GenesisError::field(path, "not a 64-bit number"))
        })
        .transpose()
}

/// A hex string of any length (`"0x"` and `""` are empty).
fn bytes_hex(v: &Json, path: &str) -> Result<Vec<u8>, GenesisError> {
    v.as_str()
        .and_then(|s| unhex(s).ok())
        .ok_or_else(|| GenesisError::field(path, "not a hex string"))
}

/// A hex string of exactly `N` bytes.
fn fixed_hex<const N: usize>(v: &Json, path: &str) -> Result<[u8; N], GenesisError> {
    bytes_hex(v, path)?
        .try_into()
        .map_err(|_| GenesisError::field(path, "wrong length"))
}

/// A storage key or value: hex of at most 32 bytes, left-padded (go-ethereum accepts short
/// words here, unlike for hashes elsewhere).
fn word(s: &str) -> Option<[u8; 32]> {
    U256::from_be_slice(&unhex(s).ok()?).map(|w| w.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn empty_requests_hash_is_sha256_of_nothing() {
        use sha2::Digest;
        let empty: [u8; 32] = sha2::Sha256::digest(b"").into();
        assert_eq!(EMPTY_REQUESTS_HASH, empty);
    }

    #[test]
    fn minimal_genesis_uses_the_defaults() {
        let g =
            Genesis::from_json(r#"{"config": {"chainId": 5, "ethash": {}}, "alloc": {}}"#).unwrap();
        let h = g.header();
        assert_eq!(g.config.chain_id, 5);
        assert_eq!(h.state_root, EMPTY_ROOT);
        assert_eq!(h.gas_limit, GENESIS_GAS_LIMIT_DEFAULT);
        assert_eq!(h.difficulty, U256::from_u64(GENESIS_DIFFICULTY_DEFAULT));
        assert_eq!(h.base_fee_per_gas, None);
        assert_eq!(h.withdrawals_root, None);
    }

    #[test]
    fn fork_fields_follow_activation_at_genesis() {
        let text = r#"{"config": {"chainId": 1, "londonBlock": 0, "shanghaiTime": 10,
            "cancunTime": 10, "pragueTime": 11}, "timestamp": "10", "alloc": {}}"#;
        let h = Genesis::from_json(text).unwrap().header();
        assert_eq!(
            h.difficulty,
            U256::ZERO,
            "no ethash: proof of stake from genesis"
        );
        assert_eq!(h.base_fee_per_gas, Some(U256::from_u64(INITIAL_BASE_FEE)));
        assert_eq!(h.withdrawals_root, Some(EMPTY_ROOT));
        assert_eq!((h.blob_gas_used, h.excess_blob_gas), (Some(0), Some(0)));
        assert_eq!(h.parent_beacon_block_root, Some([0; 32]));
        assert_eq!(h.requests_hash, None, "Prague starts after genesis");
        // Time forks without London are not active.
        let pre = r#"{"config": {"shanghaiTime": 0}, "alloc": {}}"#;
        assert_eq!(
            Genesis::from_json(pre).unwrap().header().withdrawals_root,
            None
        );
    }

    #[test]
    fn storage_zero_values_are_absent_and_short_words_padded() {
        let text = r#"{"alloc": {"0x00000000000000000000000000000000000000aa":
            {"balance": "1000", "storage": {"0x01": "0x02", "0x03": "0x00"}}}}"#;
        let g = Genesis::from_json(text).unwrap();
        let account = g.alloc.values().next().unwrap();
        assert_eq!(account.balance, U256::from_u64(1000));
        assert_eq!(account.storage.len(), 1);
        let mut slot = [0u8; 32];
        slot[31] = 1;
        let want = secure_trie_root([(slot.to_vec(), vec![0x02])]);
        assert_eq!(account.storage_root(), want);
    }

    #[test]
    fn malformed_files_are_refused_with_the_field() {
        for (text, field) in [
            (r#"{"alloc": {"0x12": {}}}"#, "alloc.0x12"),
            (r#"{"alloc": {"aa": 1}}"#, "alloc.aa"),
            (r#"{"gasLimit": "0x1ffffffffffffffff"}"#, "gasLimit"),
            (r#"{"mixHash": "0x00"}"#, "mixHash"),
            (r#"{"config": {"londonBlock": -1}}"#, "londonBlock"),
            (
                r#"{"config": {"blobSchedule": {"cancun": {"target": 3}}}}"#,
                "blobSchedule.cancun.max",
            ),
        ] {
            match Genesis::from_json(text) {
                Err(GenesisError::Field { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        let dup = r#"{"alloc": {"0xaa00000000000000000000000000000000000000": {},
            "AA00000000000000000000000000000000000000": {}}}"#;
        assert!(Genesis::from_json(dup).is_err());
        assert!(matches!(
            Genesis::from_json("[1"),
            Err(GenesisError::Json(_))
        ));
        assert!(unhex("0x").unwrap().is_empty());
    }
}
