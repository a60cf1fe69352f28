//! Stateless transaction validation: the checks a pool makes before it looks at the sender's
//! account, turning untrusted network bytes into a [`PoolTx`]. Sans-IO.
//!
//! The rules follow the specs (Yellow Paper intrinsic gas; EIP-155; EIP-2028 calldata costs;
//! EIP-2930 access-list costs; EIP-3860 initcode; EIP-1559 fee caps; EIP-4844 blobs; EIP-7623
//! calldata floor; EIP-7702 authorizations; EIP-7825 per-transaction gas cap), in the order and
//! with the scope of go-ethereum's `core/txpool` `ValidateTransaction`: everything that needs no
//! state. Nonce, balance and replacement rules belong to the pool, which knows the accounts.
//!
//! Two choices worth knowing:
//! - Legacy transactions without EIP-155 replay protection are accepted by default, as
//!   go-ethereum's pool accepts them from peers (its `--rpc.allow-unprotected-txs` guards only
//!   local RPC submission). [`Rules::accept_unprotected`] turns them away.
//! - The base fee is not a validity rule: a transaction whose fee cap is below the current base
//!   fee is valid and waits in the pool until the fee falls, so the pool, not this check, weighs
//!   it against the base fee.

use std::fmt;

use super::transaction::{
    BLOB_SIZE, CELLS_PER_EXT_BLOB, DecodeError, KZG_SIZE, Transaction, TxType, decode_network,
};
use super::{Hash, PoolTx};

/// The largest transaction the pool takes, blob sidecar apart: 128 KiB, go-ethereum's
/// `txMaxSize` (four 32 KiB slots), measured on the consensus encoding.
pub const TX_SIZE_MAX: usize = 128 * 1024;

/// EIP-7825 (Osaka): no transaction may ask for more than 2^24 gas.
pub const TX_GAS_LIMIT_CAP: u64 = 1 << 24;

/// EIP-3860 (Shanghai): initcode is at most twice EIP-170's 24,576-byte code limit.
pub const INITCODE_SIZE_MAX: usize = 49_152;

/// Blobs per transaction at Cancun (EIP-4844 `MAX_BLOB_GAS_PER_BLOCK / GAS_PER_BLOB`).
pub const BLOBS_PER_TX_MAX_CANCUN: usize = 6;
/// Blobs per transaction at Prague (EIP-7691 raised the block maximum to 9).
pub const BLOBS_PER_TX_MAX_PRAGUE: usize = 9;
/// Blobs per transaction from Osaka (EIP-7594 `MAX_BLOBS_PER_TX`).
pub const BLOBS_PER_TX_MAX_OSAKA: usize = 6;

/// Gas every transaction pays (Yellow Paper `G_transaction`).
pub const TX_GAS: u64 = 21_000;
/// Gas a contract creation pays instead (`G_transaction + G_txcreate`, Homestead).
pub const TX_CREATE_GAS: u64 = 53_000;
/// Gas per zero calldata byte.
pub const TX_DATA_ZERO_GAS: u64 = 4;
/// Gas per non-zero calldata byte (EIP-2028).
pub const TX_DATA_NONZERO_GAS: u64 = 16;
/// Gas per access-list address (EIP-2930).
pub const ACCESS_LIST_ADDRESS_GAS: u64 = 2_400;
/// Gas per access-list storage key (EIP-2930).
pub const ACCESS_LIST_STORAGE_KEY_GAS: u64 = 1_900;
/// Gas per 32-byte word of initcode (EIP-3860).
pub const INITCODE_WORD_GAS: u64 = 2;
/// Gas per authorization (EIP-7702 `PER_EMPTY_ACCOUNT_COST`).
pub const AUTHORIZATION_GAS: u64 = 25_000;
/// Gas per calldata token in the EIP-7623 floor (`TOTAL_COST_FLOOR_PER_TOKEN`).
pub const FLOOR_GAS_PER_TOKEN: u64 = 10;

/// The forks whose rules change what a transaction may be, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fork {
    /// Legacy transactions only (Istanbul and earlier).
    Istanbul,
    /// EIP-2930 access-list transactions.
    Berlin,
    /// EIP-1559 dynamic-fee transactions.
    London,
    /// EIP-3860 initcode limit and cost.
    Shanghai,
    /// EIP-4844 blob transactions.
    Cancun,
    /// EIP-7702 set-code transactions, EIP-7623 calldata floor, EIP-7691 nine blobs.
    Prague,
    /// EIP-7825 gas cap, EIP-7594 cell-proof sidecars and six blobs per transaction.
    Osaka,
}

impl fmt::Display for Fork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What the chain's head says a transaction may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub chain_id: u64,
    /// The fork active at the head: which types are accepted and which costs apply.
    pub fork: Fork,
    /// The head block's gas limit: no transaction may ask for more.
    pub head_gas_limit: u64,
    /// Largest consensus encoding accepted (the sidecar does not count).
    pub max_tx_size: usize,
    /// The fork's blob count per transaction.
    pub max_blobs_per_tx: usize,
    /// Whether legacy transactions without EIP-155 are accepted.
    pub accept_unprotected: bool,
    /// The lowest tip accepted (go-ethereum's `--txpool.pricelimit`, 1 wei by default).
    pub min_tip: u128,
}

impl Rules {
    /// The rules of `fork` with go-ethereum's pool defaults.
    pub fn new(chain_id: u64, fork: Fork, head_gas_limit: u64) -> Rules {
        let max_blobs_per_tx = match fork {
            Fork::Cancun => BLOBS_PER_TX_MAX_CANCUN,
            Fork::Prague => BLOBS_PER_TX_MAX_PRAGUE,
            Fork::Osaka => BLOBS_PER_TX_MAX_OSAKA,
            _ => 0,
        };
        Rules {
            chain_id,
            fork,
            head_gas_limit,
            max_tx_size: TX_SIZE_MAX,
            max_blobs_per_tx,
            accept_unprotected: true,
            min_tip: 1,
        }
    }

    /// The first fork that accepts this type.
    fn type_fork(t: TxType) -> Fork {
        match t {
            TxType::Legacy => Fork::Istanbul,
            TxType::AccessList => Fork::Berlin,
            TxType::DynamicFee => Fork::London,
            TxType::Blob => Fork::Cancun,
            TxType::SetCode => Fork::Prague,
        }
    }

    /// The largest network encoding worth decoding: the size limit plus the largest sidecar
    /// the fork allows (blobs, commitments, cell proofs, and their RLP headers).
    fn network_size_max(&self) -> usize {
        let per_blob = BLOB_SIZE + 4 + (KZG_SIZE + 1) * (1 + CELLS_PER_EXT_BLOB);
        self.max_tx_size
            .saturating_add(self.max_blobs_per_tx.saturating_mul(per_blob))
            .saturating_add(64)
    }
}

/// Why a transaction is not valid for the pool; Display names the rule broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    /// The bytes are not a well-formed transaction.
    Decode(DecodeError),
    /// A transaction the caller already holds (see [`validate_unless_known`]).
    Known(Hash),
    /// The encoding is over the size limit.
    Oversized { size: usize, max: usize },
    /// The type is not active at this fork.
    TypeNotActive { tx_type: u8, fork: Fork },
    /// Signed for another chain.
    WrongChainId { got: u64, want: u64 },
    /// A legacy transaction without EIP-155 while those are refused.
    Unprotected,
    /// More gas than EIP-7825 allows one transaction.
    GasLimitAboveCap { gas_limit: u64, cap: u64 },
    /// More gas than the head block's limit.
    GasLimitAboveBlock { gas_limit: u64, block: u64 },
    /// `maxPriorityFeePerGas` above `maxFeePerGas`.
    TipAboveFeeCap { tip: u128, fee_cap: u128 },
    /// The tip is below the pool's minimum.
    Underpriced { tip: u128, min: u128 },
    /// A creation's initcode over EIP-3860's limit.
    InitcodeTooLarge { size: usize, max: usize },
    /// The gas limit does not cover the intrinsic gas.
    IntrinsicGas { needed: u64, gas_limit: u64 },
    /// The gas limit does not cover the EIP-7623 calldata floor.
    FloorDataGas { needed: u64, gas_limit: u64 },
    /// A blob or set-code transaction without a destination (creation is not allowed).
    CreateNotAllowed { tx_type: u8 },
    /// A blob transaction without blobs.
    NoBlobs,
    /// More blobs than the fork allows per transaction.
    TooManyBlobs { count: usize, max: usize },
    /// A blob transaction with `maxFeePerBlobGas` of zero.
    BlobFeeCapZero,
    /// A sidecar of the version the fork does not take (0 before Osaka, 1 from Osaka).
    WrongSidecarVersion { version: u8, fork: Fork },
    /// A set-code transaction with no authorizations.
    EmptyAuthorizations,
    /// No sender can be recovered from the signature.
    BadSignature,
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Decode(e) => write!(f, "{e}"),
            TxError::Known(h) => write!(f, "already known: 0x{}", crate::crypto::hex(h)),
            TxError::Oversized { size, max } => {
                write!(f, "transaction size {size} over the limit of {max}")
            }
            TxError::TypeNotActive { tx_type, fork } => {
                write!(f, "transaction type {tx_type} is not accepted at {fork}")
            }
            TxError::WrongChainId { got, want } => {
                write!(f, "chain id {got} is not this chain's {want} (EIP-155)")
            }
            TxError::Unprotected => {
                write!(f, "legacy transaction without EIP-155 replay protection")
            }
            TxError::GasLimitAboveCap { gas_limit, cap } => {
                write!(f, "gas limit {gas_limit} over the EIP-7825 cap of {cap}")
            }
            TxError::GasLimitAboveBlock { gas_limit, block } => {
                write!(f, "gas limit {gas_limit} over the block gas limit {block}")
            }
            TxError::TipAboveFeeCap { tip, fee_cap } => {
                write!(f, "tip {tip} above fee cap {fee_cap} (EIP-1559)")
            }
            TxError::Underpriced { tip, min } => {
                write!(f, "tip {tip} below the pool minimum {min}")
            }
            TxError::InitcodeTooLarge { size, max } => {
                write!(
                    f,
                    "initcode of {size} bytes over the EIP-3860 limit of {max}"
                )
            }
            TxError::IntrinsicGas { needed, gas_limit } => {
                write!(f, "gas limit {gas_limit} below the intrinsic gas {needed}")
            }
            TxError::FloorDataGas { needed, gas_limit } => {
                write!(
                    f,
                    "gas limit {gas_limit} below the EIP-7623 calldata floor {needed}"
                )
            }
            TxError::CreateNotAllowed { tx_type } => {
                write!(f, "type {tx_type} transaction cannot create a contract")
            }
            TxError::NoBlobs => write!(f, "blob transaction without blobs (EIP-4844)"),
            TxError::TooManyBlobs { count, max } => {
                write!(f, "{count} blobs, over the limit of {max} per transaction")
            }
            TxError::BlobFeeCapZero => write!(f, "blob transaction with a zero blob fee cap"),
            TxError::WrongSidecarVersion { version, fork } => {
                write!(f, "blob sidecar version {version} not accepted at {fork}")
            }
            TxError::EmptyAuthorizations => {
                write!(
                    f,
                    "set-code transaction with an empty authorization list (EIP-7702)"
                )
            }
            TxError::BadSignature => write!(f, "no sender recovers from the signature"),
        }
    }
}

impl std::error::Error for TxError {}

impl From<DecodeError> for TxError {
    fn from(e: DecodeError) -> Self {
        TxError::Decode(e)
    }
}

/// Intrinsic gas of a transaction (what it pays before executing anything), saturating at
/// `u64::MAX` so that an absurd transaction fails the gas-limit check rather than overflowing.
pub fn intrinsic_gas(tx: &Transaction, fork: Fork) -> u64 {
    let zeros = tx.input.iter().filter(|&&b| b == 0).count() as u64;
    let nonzeros = tx.input.len() as u64 - zeros;
    let mut gas = if tx.is_create() {
        TX_CREATE_GAS
    } else {
        TX_GAS
    };
    let add = |gas: &mut u64, more: u64| *gas = gas.saturating_add(more);
    add(&mut gas, zeros.saturating_mul(TX_DATA_ZERO_GAS));
    add(&mut gas, nonzeros.saturating_mul(TX_DATA_NONZERO_GAS));
    if tx.is_create() && fork >= Fork::Shanghai {
        let words = (tx.input.len() as u64).div_ceil(32);
        add(&mut gas, words.saturating_mul(INITCODE_WORD_GAS));
    }
    let keys: u64 = tx
        .access_list
        .iter()
        .map(|e| e.storage_keys.len() as u64)
        .sum();
    add(
        &mut gas,
        (tx.access_list.len() as u64).saturating_mul(ACCESS_LIST_ADDRESS_GAS),
    );
    add(&mut gas, keys.saturating_mul(ACCESS_LIST_STORAGE_KEY_GAS));
    add(
        &mut gas,
        (tx.authorization_list.len() as u64).saturating_mul(AUTHORIZATION_GAS),
    );
    gas
}

/// The EIP-7623 floor: `21000 + 10 * tokens`, tokens = zero bytes + 4 * non-zero bytes.
pub fn floor_data_gas(tx: &Transaction) -> u64 {
    let zeros = tx.input.iter().filter(|&&b| b == 0).count() as u64;
    let nonzeros = tx.input.len() as u64 - zeros;
    let tokens = zeros.saturating_add(nonzeros.saturating_mul(4));
    TX_GAS.saturating_add(tokens.saturating_mul(FLOOR_GAS_PER_TOKEN))
}

/// Decodes and checks one network-encoded transaction (an item of Transactions or
/// PooledTransactions) and builds its pool record.
pub fn validate(rules: &Rules, network_bytes: &[u8]) -> Result<PoolTx, TxError> {
    match validate_unless_known(rules, network_bytes, &|_| false)? {
        Checked::Valid(tx) => Ok(tx),
        // Unreachable: nothing is known to the closure above.
        Checked::Known(hash) => Err(TxError::Known(hash)),
    }
}

/// What [`validate_unless_known`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A valid transaction and its pool record.
    Valid(PoolTx),
    /// The caller already holds a transaction with this hash: it was not checked further.
    Known(Hash),
}

/// [`validate`], but a transaction whose hash `known` reports is returned as
/// [`Checked::Known`] before its sender is recovered: a relayed transaction arrives from many
/// peers, and the signature recovery (the costly step, ~70 µs) is then done once.
pub fn validate_unless_known(
    rules: &Rules,
    network_bytes: &[u8],
    known: &dyn Fn(&Hash) -> bool,
) -> Result<Checked, TxError> {
    // Refuse what could not be a valid transaction at this fork before parsing it.
    let network_max = rules.network_size_max();
    if network_bytes.len() > network_max {
        return Err(TxError::Oversized {
            size: network_bytes.len(),
            max: network_max,
        });
    }
    let tx = decode_network(network_bytes)?;
    let fork_needed = Rules::type_fork(tx.tx_type);
    if rules.fork < fork_needed {
        return Err(TxError::TypeNotActive {
            tx_type: tx.tx_type.byte(),
            fork: rules.fork,
        });
    }
    let consensus = tx.encode_consensus();
    if consensus.len() > rules.max_tx_size {
        return Err(TxError::Oversized {
            size: consensus.len(),
            max: rules.max_tx_size,
        });
    }
    let hash = crate::crypto::keccak256(&consensus);
    if known(&hash) {
        return Ok(Checked::Known(hash));
    }
    match tx.chain_id {
        Some(id) if id != rules.chain_id => {
            return Err(TxError::WrongChainId {
                got: id,
                want: rules.chain_id,
            });
        }
        None if !rules.accept_unprotected => return Err(TxError::Unprotected),
        _ => {}
    }
    check_gas_and_fees(rules, &tx)?;
    check_type_rules(rules, &tx)?;
    let sender = tx.sender().map_err(|_| TxError::BadSignature)?;
    // A blob transaction is announced and fetched with its sidecar, so its announced size is
    // that of `type || rlp([tx, blobs, commitments, proofs])`, as go-ethereum's `Size` counts it.
    let size = match tx.tx_type {
        TxType::Blob => rlp::Rlp::new(network_bytes)
            .data()
            .map_or(consensus.len(), <[u8]>::len),
        _ => consensus.len(),
    };
    Ok(Checked::Valid(PoolTx {
        hash,
        sender,
        nonce: tx.nonce,
        tx_type: tx.tx_type.byte(),
        gas_limit: tx.gas_limit,
        fee_cap: tx.fee_cap,
        tip_cap: tx.tip_cap,
        blob_count: tx.blob_versioned_hashes.len(),
        blob_fee_cap: tx.blob_fee_cap,
        cost: super::state::max_cost(
            &crate::chain::header::U256(tx.value),
            tx.gas_limit,
            tx.fee_cap,
            tx.blob_versioned_hashes.len(),
            tx.blob_fee_cap,
        ),
        size,
        network_rlp: network_bytes.to_vec(),
    }))
}

/// Gas limit against the caps, fees against each other, initcode, intrinsic gas and floor.
fn check_gas_and_fees(rules: &Rules, tx: &Transaction) -> Result<(), TxError> {
    if rules.fork >= Fork::Osaka && tx.gas_limit > TX_GAS_LIMIT_CAP {
        return Err(TxError::GasLimitAboveCap {
            gas_limit: tx.gas_limit,
            cap: TX_GAS_LIMIT_CAP,
        });
    }
    if tx.gas_limit > rules.head_gas_limit {
        return Err(TxError::GasLimitAboveBlock {
            gas_limit: tx.gas_limit,
            block: rules.head_gas_limit,
        });
    }
    if tx.tip_cap > tx.fee_cap {
        return Err(TxError::TipAboveFeeCap {
            tip: tx.tip_cap,
            fee_cap: tx.fee_cap,
        });
    }
    if tx.tip_cap < rules.min_tip {
        return Err(TxError::Underpriced {
            tip: tx.tip_cap,
            min: rules.min_tip,
        });
    }
    if tx.is_create() && rules.fork >= Fork::Shanghai && tx.input.len() > INITCODE_SIZE_MAX {
        return Err(TxError::InitcodeTooLarge {
            size: tx.input.len(),
            max: INITCODE_SIZE_MAX,
        });
    }
    let needed = intrinsic_gas(tx, rules.fork);
    if tx.gas_limit < needed {
        return Err(TxError::IntrinsicGas {
            needed,
            gas_limit: tx.gas_limit,
        });
    }
    if rules.fork >= Fork::Prague {
        let floor = floor_data_gas(tx);
        if tx.gas_limit < floor {
            return Err(TxError::FloorDataGas {
                needed: floor,
                gas_limit: tx.gas_limit,
            });
        }
    }
    Ok(())
}

/// The rules of blob and set-code transactions.
fn check_type_rules(rules: &Rules, tx: &Transaction) -> Result<(), TxError> {
    match tx.tx_type {
        TxType::Blob => {
            if tx.is_create() {
                return Err(TxError::CreateNotAllowed { tx_type: 3 });
            }
            let count = tx.blob_versioned_hashes.len();
            if count == 0 {
                return Err(TxError::NoBlobs);
            }
            if count > rules.max_blobs_per_tx {
                return Err(TxError::TooManyBlobs {
                    count,
                    max: rules.max_blobs_per_tx,
                });
            }
            if tx.blob_fee_cap == 0 {
                return Err(TxError::BlobFeeCapZero);
            }
            // decode_network only returns a blob transaction with its sidecar.
            let version = tx.sidecar.as_ref().map_or(0, |s| s.version);
            let wanted = u8::from(rules.fork >= Fork::Osaka);
            if version != wanted {
                return Err(TxError::WrongSidecarVersion {
                    version,
                    fork: rules.fork,
                });
            }
        }
        TxType::SetCode => {
            if tx.is_create() {
                return Err(TxError::CreateNotAllowed { tx_type: 4 });
            }
            if tx.authorization_list.is_empty() {
                return Err(TxError::EmptyAuthorizations);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::tx::transaction::{Authorization, BlobSidecar, address_of, versioned_hash};

    const CHAIN: u64 = 1337;

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[5u8; 32]).unwrap()
    }

    fn rules() -> Rules {
        Rules::new(CHAIN, Fork::Prague, 30_000_000)
    }

    /// A valid transaction of `tx_type` for [`rules`], after `change`, signed.
    fn tx(tx_type: TxType, change: impl FnOnce(&mut Transaction)) -> Vec<u8> {
        let mut tx = Transaction {
            tx_type,
            nonce: 3,
            tip_cap: 2,
            fee_cap: if tx_type <= TxType::AccessList { 2 } else { 10 },
            gas_limit: 100_000,
            to: Some([0x42; 20]),
            input: vec![1, 0, 2],
            ..Transaction::default()
        };
        if tx_type == TxType::Blob {
            tx.blob_fee_cap = 1;
            tx.blob_versioned_hashes = vec![versioned_hash(&[7; 48])];
            tx.sidecar = Some(BlobSidecar {
                version: 0,
                blobs: vec![vec![0; BLOB_SIZE]],
                commitments: vec![[7; 48]],
                proofs: vec![[8; 48]],
            });
        }
        if tx_type == TxType::SetCode {
            tx.authorization_list = vec![Authorization {
                address: [0x43; 20],
                r: [1; 32],
                s: [1; 32],
                ..Authorization::default()
            }];
        }
        change(&mut tx);
        tx.sign(&key(), CHAIN);
        tx.encode_network()
    }

    fn err(rules: &Rules, bytes: &[u8]) -> TxError {
        match validate(rules, bytes) {
            Ok(p) => panic!("accepted {p:?}"),
            Err(e) => {
                // Every error names its rule in a sentence.
                assert!(!e.to_string().is_empty());
                e
            }
        }
    }

    #[test]
    fn valid_transactions_of_every_type_become_pool_records() {
        for t in [
            TxType::Legacy,
            TxType::AccessList,
            TxType::DynamicFee,
            TxType::Blob,
            TxType::SetCode,
        ] {
            let bytes = tx(t, |_| {});
            let p = validate(&rules(), &bytes).unwrap_or_else(|e| panic!("{t:?}: {e}"));
            let decoded = decode_network(&bytes).unwrap();
            assert_eq!(p.hash, decoded.hash(), "{t:?}");
            assert_eq!(p.sender, address_of(&key().public_key()), "{t:?}");
            assert_eq!(p.tx_type, t.byte());
            // A blob tx is announced with its sidecar: the network form's payload.
            let announced = match t {
                TxType::Blob => rlp::Rlp::new(&bytes).data().unwrap().len(),
                _ => decoded.encode_consensus().len(),
            };
            assert_eq!(p.size, announced, "{t:?}");
            if t == TxType::Blob {
                assert!(p.size > 131_072, "the sidecar counts");
            }
            assert_eq!(p.network_rlp, bytes);
            assert_eq!(p.blob_count, usize::from(t == TxType::Blob));
        }
    }

    #[test]
    fn each_rule_refuses_its_case() {
        let r = rules();
        assert!(matches!(err(&r, &[0xc0]), TxError::Decode(_)));
        let big = tx(TxType::DynamicFee, |t| {
            t.input = vec![1; TX_SIZE_MAX];
            t.gas_limit = 29_000_000;
        });
        assert!(matches!(err(&r, &big), TxError::Oversized { .. }));
        let cancun = Rules::new(CHAIN, Fork::Cancun, 30_000_000);
        assert_eq!(
            err(&cancun, &tx(TxType::SetCode, |_| {})),
            TxError::TypeNotActive {
                tx_type: 4,
                fork: Fork::Cancun
            }
        );
        let berlin = Rules::new(CHAIN, Fork::Berlin, 30_000_000);
        assert!(matches!(
            err(&berlin, &tx(TxType::DynamicFee, |_| {})),
            TxError::TypeNotActive { tx_type: 2, .. }
        ));
        let mut other = tx(TxType::DynamicFee, |_| {});
        let mut t = decode_network(&other).unwrap();
        t.sign(&key(), CHAIN + 1);
        other = t.encode_network();
        assert_eq!(
            err(&r, &other),
            TxError::WrongChainId {
                got: CHAIN + 1,
                want: CHAIN
            }
        );
        let mut unprotected = decode_network(&tx(TxType::Legacy, |_| {})).unwrap();
        unprotected.sign_unprotected(&key());
        let strict = Rules {
            accept_unprotected: false,
            ..rules()
        };
        assert!(validate(&r, &unprotected.encode_network()).is_ok());
        assert_eq!(
            err(&strict, &unprotected.encode_network()),
            TxError::Unprotected
        );
        let osaka = Rules::new(CHAIN, Fork::Osaka, 60_000_000);
        assert!(matches!(
            err(
                &osaka,
                &tx(TxType::DynamicFee, |t| t.gas_limit = TX_GAS_LIMIT_CAP + 1)
            ),
            TxError::GasLimitAboveCap { .. }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::DynamicFee, |t| t.gas_limit = 30_000_001)),
            TxError::GasLimitAboveBlock { .. }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::DynamicFee, |t| t.tip_cap = 11)),
            TxError::TipAboveFeeCap {
                tip: 11,
                fee_cap: 10
            }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::DynamicFee, |t| t.tip_cap = 0)),
            TxError::Underpriced { .. }
        ));
        assert!(matches!(
            err(
                &r,
                &tx(TxType::DynamicFee, |t| {
                    t.to = None;
                    t.input = vec![0; INITCODE_SIZE_MAX + 1];
                    t.gas_limit = 1_000_000;
                })
            ),
            TxError::InitcodeTooLarge { .. }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::DynamicFee, |t| t.gas_limit = 20_999)),
            TxError::IntrinsicGas { .. }
        ));
        assert!(matches!(
            err(
                &r,
                &tx(TxType::SetCode, |t| t.gas_limit =
                    21_000 + 16 * 2 + 4 + 24_999)
            ),
            TxError::IntrinsicGas { .. }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::Blob, |t| t.to = None)),
            TxError::CreateNotAllowed { tx_type: 3 }
        ));
        assert!(matches!(
            err(&r, &tx(TxType::SetCode, |t| t.to = None)),
            TxError::CreateNotAllowed { tx_type: 4 }
        ));
        let no_blobs = tx(TxType::Blob, |t| {
            t.blob_versioned_hashes.clear();
            t.sidecar = Some(BlobSidecar::default());
        });
        assert_eq!(err(&r, &no_blobs), TxError::NoBlobs);
        let six = tx(TxType::Blob, |t| {
            let n = BLOBS_PER_TX_MAX_CANCUN + 1;
            t.blob_versioned_hashes = vec![versioned_hash(&[7; 48]); n];
            t.sidecar = Some(BlobSidecar {
                version: 0,
                blobs: vec![vec![0; BLOB_SIZE]; n],
                commitments: vec![[7; 48]; n],
                proofs: vec![[8; 48]; n],
            });
        });
        assert!(validate(&r, &six).is_ok(), "7 blobs are fine at Prague");
        assert_eq!(
            err(&cancun, &six),
            TxError::TooManyBlobs { count: 7, max: 6 }
        );
        assert_eq!(
            err(&r, &tx(TxType::Blob, |t| t.blob_fee_cap = 0)),
            TxError::BlobFeeCapZero
        );
        assert_eq!(
            err(&osaka, &tx(TxType::Blob, |_| {})),
            TxError::WrongSidecarVersion {
                version: 0,
                fork: Fork::Osaka
            }
        );
        assert_eq!(
            err(&r, &tx(TxType::SetCode, |t| t.authorization_list.clear())),
            TxError::EmptyAuthorizations
        );
    }

    #[test]
    fn calldata_floor_applies_from_prague() {
        // 1000 non-zero bytes: intrinsic 21000 + 16000 = 37000, floor 21000 + 40000 = 61000.
        let bytes = tx(TxType::DynamicFee, |t| {
            t.input = vec![1; 1000];
            t.gas_limit = 50_000;
        });
        assert_eq!(
            err(&rules(), &bytes),
            TxError::FloorDataGas {
                needed: 61_000,
                gas_limit: 50_000
            }
        );
        let cancun = Rules::new(CHAIN, Fork::Cancun, 30_000_000);
        assert!(validate(&cancun, &bytes).is_ok());
    }

    #[test]
    fn intrinsic_gas_adds_every_component() {
        let mut t = Transaction {
            to: None,
            input: vec![0, 0, 1, 1, 1],
            ..Transaction::default()
        };
        // 53000 + 2*4 + 3*16 + one initcode word * 2.
        assert_eq!(intrinsic_gas(&t, Fork::Shanghai), 53_000 + 8 + 48 + 2);
        assert_eq!(intrinsic_gas(&t, Fork::London), 53_000 + 8 + 48);
        t.to = Some([1; 20]);
        t.access_list = vec![crate::tx::transaction::AccessListItem {
            address: [2; 20],
            storage_keys: vec![[3; 32]; 2],
        }];
        t.authorization_list = vec![Authorization::default()];
        assert_eq!(
            intrinsic_gas(&t, Fork::Prague),
            21_000 + 8 + 48 + 2_400 + 2 * 1_900 + 25_000
        );
        // Tokens: 2 zero bytes + 4 * 3 non-zero bytes = 14.
        assert_eq!(floor_data_gas(&t), 21_000 + 140);
    }

    #[test]
    fn a_signature_that_recovers_no_key_is_refused() {
        // r = 5 passes the range checks, but 5 is not the x coordinate of any secp256k1 point
        // (5^3 + 7 is not a square modulo p), so no public key recovers from it.
        let mut t = decode_network(&tx(TxType::DynamicFee, |_| {})).unwrap();
        t.r = [0; 32];
        t.r[31] = 5;
        assert!(t.sender().is_err());
        assert_eq!(err(&rules(), &t.encode_network()), TxError::BadSignature);
    }
}
