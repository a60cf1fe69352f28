//! Transactions of every type: decoding, encoding, hashing, the signing hash and sender
//! recovery (EIP-2718 typed envelopes; legacy with and without EIP-155; EIP-2930 access lists;
//! EIP-1559 dynamic fees; EIP-4844 blob transactions and their network wrapper, including the
//! EIP-7594 cell-proof wrapper; EIP-7702 set-code transactions). Sans-IO.
//!
//! Two encodings exist. The *consensus* encoding is what a block's transaction trie holds and
//! what the hash covers: a legacy transaction is its RLP list, a typed one is `type ||
//! rlp(fields)`. The *network* encoding is an item of a Transactions or PooledTransactions list:
//! a legacy transaction is again its list, a typed one is an RLP byte string holding `type ||
//! rlp(payload)`, where a blob transaction's payload also carries its sidecar:
//! `[tx_payload_body, blobs, commitments, proofs]` (EIP-4844) or
//! `[tx_payload_body, wrapper_version, blobs, commitments, cell_proofs]` (EIP-7594).
//!
//! Decoding is strict: the bytes must be canonical RLP ([`crate::rlp::strict`]), integers have no
//! leading zeros, no field is missing or extra, every list that makes us allocate is counted
//! against a named limit first, and signature values are range-checked (r, s nonzero and below
//! the curve order, s in the lower half (EIP-2), y-parity 0 or 1, legacy `v` 27/28 or EIP-155).
//! So a decoded transaction re-encodes to exactly the bytes it came from. KZG proof verification
//! is out of scope: the sidecar's shape and the commitments' versioned hashes are checked, the
//! proofs are carried but not verified (that needs the trusted setup and a pairing library).

use std::fmt;

use rlp::RlpStream;

use super::{Address, Hash};
use crate::crypto::{CryptoError, PublicKey, SecretKey, Signature, keccak256};
use crate::rlp::cursor::{self as wire, Item, trim_uint256};
use crate::rlp::{RlpDecodeError, RlpError};

mod authorization;
mod blob;

pub use authorization::{AUTHORIZATION_MAGIC, Authorization};

pub use blob::{
    BLOB_SIZE, BlobSidecar, CELLS_PER_EXT_BLOB, KZG_SIZE, VERSIONED_HASH_VERSION_KZG,
    check_sidecar, versioned_hash,
};

/// A 256-bit unsigned integer, big-endian.
pub type U256 = [u8; 32];

/// The largest encoded transaction (either encoding) we decode: a transaction only ever arrives
/// inside one eth message, which is at most `MESSAGE_SIZE_MAX` (10 MiB) after decompression (a
/// unit test in `eth` keeps the two equal; tx sits below eth and does not import it).
pub const TX_ENCODED_SIZE_MAX: usize = 10 * 1024 * 1024;

/// The most access-list entries (addresses) in one transaction. Each costs 2400 gas (EIP-2930),
/// so 65,536 of them cost 157 million gas: more than any block gas limit a network has used, and
/// ten times Osaka's per-transaction cap (EIP-7825, 2^24). No includable transaction reaches it.
pub const ACCESS_LIST_ADDRESSES_MAX: usize = 1 << 16;

/// The most storage keys across all access-list entries of one transaction. Each costs 1900 gas
/// (EIP-2930): 262,144 keys cost 498 million gas, beyond any block gas limit.
pub const ACCESS_LIST_STORAGE_KEYS_MAX: usize = 1 << 18;

/// The most EIP-7702 authorizations in one transaction. Each costs 25,000 gas
/// (`PER_EMPTY_ACCOUNT_COST`): 8192 of them cost 205 million gas, beyond any block gas limit.
pub const AUTHORIZATIONS_MAX: usize = 1 << 13;

/// The most blobs any fork has let one transaction carry: 9, Prague's per-block maximum
/// (EIP-7691), which was also the per-transaction bound until Osaka set it to 6 (EIP-7594).
/// The decoder refuses more; the pool applies the active fork's figure
/// ([`crate::tx::validate::Rules::max_blobs_per_tx`]).
pub const BLOBS_PER_TX_MAX: usize = 9;

/// The secp256k1 group order n, big-endian.
const SECP256K1_N: U256 = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// n / 2 (rounded down): EIP-2 makes signatures with a larger s invalid.
const SECP256K1_HALF_N: U256 = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// The EIP-2718 transaction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TxType {
    /// Type 0: the original RLP-list transaction (with or without EIP-155 replay protection).
    #[default]
    Legacy = 0,
    /// Type 1: EIP-2930 access-list transaction.
    AccessList = 1,
    /// Type 2: EIP-1559 dynamic-fee transaction.
    DynamicFee = 2,
    /// Type 3: EIP-4844 blob transaction.
    Blob = 3,
    /// Type 4: EIP-7702 set-code transaction.
    SetCode = 4,
}

impl TxType {
    /// The type with this EIP-2718 type byte.
    pub fn from_byte(b: u8) -> Option<TxType> {
        Some(match b {
            0 => TxType::Legacy,
            1 => TxType::AccessList,
            2 => TxType::DynamicFee,
            3 => TxType::Blob,
            4 => TxType::SetCode,
            _ => return None,
        })
    }

    /// The type byte.
    pub fn byte(self) -> u8 {
        self as u8
    }
}

/// One EIP-2930 access-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessListItem {
    pub address: Address,
    pub storage_keys: Vec<Hash>,
}

/// A transaction of any type. Fields a type does not have stay at their zero value; legacy and
/// EIP-2930 transactions have one gas price, held in both `tip_cap` and `fee_cap` (the encoder
/// writes `fee_cap`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transaction {
    pub tx_type: TxType,
    /// `None` only for a legacy transaction signed without EIP-155 (v = 27/28).
    pub chain_id: Option<u64>,
    pub nonce: u64,
    /// `maxPriorityFeePerGas`, or the gas price for legacy and EIP-2930.
    pub tip_cap: u128,
    /// `maxFeePerGas`, or the gas price for legacy and EIP-2930.
    pub fee_cap: u128,
    pub gas_limit: u64,
    /// `None` creates a contract.
    pub to: Option<Address>,
    pub value: U256,
    pub input: Vec<u8>,
    pub access_list: Vec<AccessListItem>,
    /// EIP-4844 `maxFeePerBlobGas`.
    pub blob_fee_cap: u128,
    pub blob_versioned_hashes: Vec<Hash>,
    pub authorization_list: Vec<Authorization>,
    /// The signature's y-parity (for legacy: derived from `v`).
    pub y_parity: bool,
    pub r: U256,
    pub s: U256,
    /// A blob transaction's sidecar, present in the network encoding only.
    pub sidecar: Option<BlobSidecar>,
}

/// Why bytes are not a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes at all.
    Empty,
    /// Not the RLP shape of a transaction: not exactly one canonical item
    /// ([`RlpDecodeError::NonCanonical`]), a field missing, extra, or of the wrong kind or size
    /// ([`RlpDecodeError::Malformed`], the field is named), or the encoding or a list over its
    /// named limit ([`RlpDecodeError::TooLarge`]).
    Rlp(RlpDecodeError),
    /// An EIP-2718 type byte this code does not know.
    UnknownType(u8),
    /// A fee over 128 bits: no balance can pay it (the whole supply is under 2^88 wei).
    FeeTooLarge(&'static str),
    /// A signature value out of range (the rule is named).
    BadSignature(&'static str),
    /// A blob transaction in a network message without its sidecar.
    MissingSidecar,
    /// The sidecar's shape is wrong (the rule is named).
    BadSidecar(&'static str),
    /// Commitment `index` does not hash to the transaction's versioned hash `index`.
    VersionedHashMismatch { index: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty transaction"),
            DecodeError::Rlp(RlpDecodeError::NonCanonical(e)) => {
                write!(f, "transaction is not canonical RLP: {e}")
            }
            DecodeError::Rlp(RlpDecodeError::Malformed(what)) => {
                write!(f, "malformed transaction field: {what}")
            }
            DecodeError::Rlp(e @ RlpDecodeError::TooLarge { .. }) => write!(f, "{e}"),
            DecodeError::UnknownType(t) => write!(f, "unknown transaction type {t:#04x}"),
            DecodeError::FeeTooLarge(what) => write!(f, "{what} is over 128 bits"),
            DecodeError::BadSignature(rule) => write!(f, "invalid signature: {rule}"),
            DecodeError::MissingSidecar => {
                write!(
                    f,
                    "blob transaction without its sidecar in a network message"
                )
            }
            DecodeError::BadSidecar(rule) => write!(f, "invalid blob sidecar: {rule}"),
            DecodeError::VersionedHashMismatch { index } => {
                write!(
                    f,
                    "blob commitment {index} does not match its versioned hash"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// A field is missing, extra, or of the wrong kind or size.
    pub fn malformed(what: &'static str) -> Self {
        DecodeError::Rlp(RlpDecodeError::Malformed(what))
    }

    /// A blob transaction's sidecar is missing from its network form, malformed, or does not
    /// match the transaction's versioned hashes: the sender broke the protocol (EIP-4844
    /// "Networking"), which is more than an invalid transaction.
    pub fn is_sidecar_fault(&self) -> bool {
        matches!(
            self,
            DecodeError::MissingSidecar
                | DecodeError::BadSidecar(_)
                | DecodeError::VersionedHashMismatch { .. }
        )
    }

    /// The encoding or a list is over its named limit.
    pub fn too_large(what: &'static str, size: usize, max: usize) -> Self {
        DecodeError::Rlp(RlpDecodeError::TooLarge { what, size, max })
    }
}

impl From<RlpDecodeError> for DecodeError {
    fn from(e: RlpDecodeError) -> Self {
        DecodeError::Rlp(e)
    }
}

impl From<RlpError> for DecodeError {
    fn from(e: RlpError) -> Self {
        DecodeError::Rlp(RlpDecodeError::NonCanonical(e))
    }
}

/// Refuses an encoding over [`TX_ENCODED_SIZE_MAX`] before it is parsed.
fn check_size(bytes: &[u8]) -> Result<(), DecodeError> {
    if bytes.len() > TX_ENCODED_SIZE_MAX {
        return Err(DecodeError::too_large(
            "transaction encoding",
            bytes.len(),
            TX_ENCODED_SIZE_MAX,
        ));
    }
    Ok(())
}

/// Decodes one item of a Transactions or PooledTransactions list: a legacy transaction's RLP
/// list, or an RLP byte string holding `type || rlp(payload)` (a blob transaction with its
/// sidecar).
pub fn decode_network(item: &[u8]) -> Result<Transaction, DecodeError> {
    check_size(item)?;
    if item.is_empty() {
        return Err(DecodeError::Empty);
    }
    let top = wire::top(item)?;
    if top.is_list {
        return decode_legacy(top);
    }
    decode_typed(top.payload, true)
}

/// Decodes a consensus encoding, as a block's transaction trie holds it: a legacy transaction's
/// RLP list, or `type || rlp(fields)` (a blob transaction without its sidecar).
pub fn decode_consensus(bytes: &[u8]) -> Result<Transaction, DecodeError> {
    check_size(bytes)?;
    match bytes.first() {
        None => Err(DecodeError::Empty),
        // EIP-2718: a first byte of 0xc0 or more is an RLP list, so a legacy transaction.
        Some(&b) if b >= 0xc0 => decode_legacy(wire::top(bytes)?),
        Some(_) => decode_typed(bytes, false),
    }
}

/// Reads `type || rlp(payload)`.
fn decode_typed(bytes: &[u8], network: bool) -> Result<Transaction, DecodeError> {
    let (&type_byte, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    let tx_type = match TxType::from_byte(type_byte) {
        Some(TxType::Legacy) | None => return Err(DecodeError::UnknownType(type_byte)),
        Some(t) => t,
    };
    if rest.is_empty() {
        return Err(DecodeError::malformed("typed transaction payload"));
    }
    let payload = wire::top(rest)?;
    if tx_type != TxType::Blob || !network {
        return decode_typed_fields(tx_type, payload);
    }
    // The network form of a blob transaction wraps the fields with the sidecar.
    let mut outer = payload.list("blob transaction network wrapper")?;
    let count = outer.count_items()?;
    let body = outer.field("blob transaction body")?;
    if !body.is_list {
        return Err(DecodeError::MissingSidecar);
    }
    let mut tx = decode_typed_fields(tx_type, body)?;
    let sidecar = blob::decode_sidecar(count, outer)?;
    check_sidecar(&tx.blob_versioned_hashes, &sidecar)?;
    tx.sidecar = Some(sidecar);
    Ok(tx)
}

/// Reads the fields of a typed transaction (types 1 to 4), signature included.
fn decode_typed_fields(tx_type: TxType, item: Item<'_>) -> Result<Transaction, DecodeError> {
    let mut f = item.list("typed transaction fields")?;
    let mut tx = Transaction {
        tx_type,
        chain_id: Some(f.field("chainId")?.uint("chainId")?),
        nonce: f.field("nonce")?.uint("nonce")?,
        ..Transaction::default()
    };
    if tx_type == TxType::AccessList {
        tx.fee_cap = uint128(f.field("gasPrice")?, "gasPrice")?;
        tx.tip_cap = tx.fee_cap;
    } else {
        tx.tip_cap = uint128(f.field("maxPriorityFeePerGas")?, "maxPriorityFeePerGas")?;
        tx.fee_cap = uint128(f.field("maxFeePerGas")?, "maxFeePerGas")?;
    }
    tx.gas_limit = f.field("gasLimit")?.uint("gasLimit")?;
    tx.to = destination(f.field("to")?)?;
    tx.value = f.field("value")?.uint256("value")?;
    tx.input = f.field("data")?.bytes("data")?.to_vec();
    tx.access_list = decode_access_list(f.field("accessList")?)?;
    if tx_type == TxType::Blob {
        tx.blob_fee_cap = uint128(f.field("maxFeePerBlobGas")?, "maxFeePerBlobGas")?;
        tx.blob_versioned_hashes = wire::hashes(
            f.field("blobVersionedHashes")?,
            "blobVersionedHashes",
            BLOBS_PER_TX_MAX,
        )?;
    }
    if tx_type == TxType::SetCode {
        tx.authorization_list =
            authorization::decode_authorizations(f.field("authorizationList")?)?;
    }
    tx.y_parity = match f.field("yParity")?.uint("yParity")? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::BadSignature("y-parity is not 0 or 1")),
    };
    tx.r = f.field("r")?.uint256("r")?;
    tx.s = f.field("s")?.uint256("s")?;
    f.end("typed transaction has extra fields")?;
    check_signature_values(&tx.r, &tx.s)?;
    Ok(tx)
}

/// Reads a legacy transaction `[nonce, gasPrice, gasLimit, to, value, data, v, r, s]`.
fn decode_legacy(item: Item<'_>) -> Result<Transaction, DecodeError> {
    let mut f = item.list("legacy transaction")?;
    let mut tx = Transaction {
        tx_type: TxType::Legacy,
        nonce: f.field("nonce")?.uint("nonce")?,
        fee_cap: uint128(f.field("gasPrice")?, "gasPrice")?,
        ..Transaction::default()
    };
    tx.tip_cap = tx.fee_cap;
    tx.gas_limit = f.field("gasLimit")?.uint("gasLimit")?;
    tx.to = destination(f.field("to")?)?;
    tx.value = f.field("value")?.uint256("value")?;
    tx.input = f.field("data")?.bytes("data")?.to_vec();
    let v = f.field("v")?.uint256("v")?;
    tx.r = f.field("r")?.uint256("r")?;
    tx.s = f.field("s")?.uint256("s")?;
    f.end("legacy transaction has extra fields")?;
    (tx.chain_id, tx.y_parity) = split_v(&v)?;
    check_signature_values(&tx.r, &tx.s)?;
    Ok(tx)
}

/// A legacy `v`: 27/28 without replay protection, `chain_id * 2 + 35 + parity` with EIP-155.
fn split_v(v: &U256) -> Result<(Option<u64>, bool), DecodeError> {
    let too_large = DecodeError::BadSignature("EIP-155 chain id does not fit 64 bits");
    if v[..16].iter().any(|&b| b != 0) {
        return Err(too_large);
    }
    let mut low = [0u8; 16];
    low.copy_from_slice(&v[16..]);
    let v = u128::from_be_bytes(low);
    match v {
        27 | 28 => Ok((None, v == 28)),
        // 35 and 36 would mean chain id 0, which no network uses.
        37.. => {
            let chain_id = u64::try_from((v - 35) / 2).map_err(|_| too_large)?;
            Ok((Some(chain_id), (v - 35) % 2 == 1))
        }
        _ => Err(DecodeError::BadSignature("v is neither 27/28 nor EIP-155")),
    }
}

/// The legacy `v` for a chain id and parity.
fn join_v(chain_id: Option<u64>, y_parity: bool) -> u128 {
    match chain_id {
        None => 27 + u128::from(y_parity),
        Some(id) => u128::from(id) * 2 + 35 + u128::from(y_parity),
    }
}

/// r and s nonzero and below n, and s at most n/2 (EIP-2).
pub(super) fn check_signature_values(r: &U256, s: &U256) -> Result<(), DecodeError> {
    if *r == [0; 32] || *s == [0; 32] {
        return Err(DecodeError::BadSignature("r or s is zero"));
    }
    if *r >= SECP256K1_N {
        return Err(DecodeError::BadSignature("r is not below the curve order"));
    }
    if *s > SECP256K1_HALF_N {
        return Err(DecodeError::BadSignature(
            "s is above half the curve order (EIP-2)",
        ));
    }
    Ok(())
}

/// A canonical integer of up to 256 bits that must fit 128 bits (fees).
fn uint128(item: Item<'_>, what: &'static str) -> Result<u128, DecodeError> {
    let v = item.uint256(what)?;
    if v[..16].iter().any(|&b| b != 0) {
        return Err(DecodeError::FeeTooLarge(what));
    }
    let mut low = [0u8; 16];
    low.copy_from_slice(&v[16..]);
    Ok(u128::from_be_bytes(low))
}

/// `to`: empty for a contract creation, else 20 bytes.
fn destination(item: Item<'_>) -> Result<Option<Address>, DecodeError> {
    let bytes = item.bytes("to")?;
    if bytes.is_empty() {
        return Ok(None);
    }
    Ok(Some(item.fixed::<20>("to")?))
}

/// Reads an access list, counting entries and keys against their limits before allocating.
fn decode_access_list(item: Item<'_>) -> Result<Vec<AccessListItem>, DecodeError> {
    let (entries, count) = wire::bounded_list(item, "access list", ACCESS_LIST_ADDRESSES_MAX)?;
    let mut out = Vec::with_capacity(count);
    let mut keys_total = 0usize;
    for entry in entries {
        let mut f = entry?.list("access list entry")?;
        let address = f
            .field("access list address")?
            .fixed::<20>("access list address")?;
        let keys_item = f.field("access list storage keys")?;
        f.end("access list entry has extra fields")?;
        let keys_here = keys_item.list("access list storage keys")?.count_items()?;
        keys_total = keys_total.saturating_add(keys_here);
        if keys_total > ACCESS_LIST_STORAGE_KEYS_MAX {
            return Err(DecodeError::too_large(
                "access list storage keys",
                keys_total,
                ACCESS_LIST_STORAGE_KEYS_MAX,
            ));
        }
        let storage_keys = wire::hashes(
            keys_item,
            "access list storage keys",
            ACCESS_LIST_STORAGE_KEYS_MAX,
        )?;
        out.push(AccessListItem {
            address,
            storage_keys,
        });
    }
    Ok(out)
}

/// Recovers the address that signed `digest` with (r, s, parity).
pub(super) fn recover_address(
    r: &U256,
    s: &U256,
    y_parity: bool,
    digest: &Hash,
) -> Result<Address, CryptoError> {
    let mut sig = [0u8; 65];
    sig[..32].copy_from_slice(r);
    sig[32..64].copy_from_slice(s);
    sig[64] = u8::from(y_parity);
    Signature(sig).recover(digest).map(|pk| address_of(&pk))
}

/// An account address: the low 20 bytes of keccak256 of the 64-byte public key.
pub fn address_of(key: &PublicKey) -> Address {
    let h = keccak256(&key.to_bytes());
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

impl Transaction {
    /// Appends the fields before the signature (the signed fields).
    fn append_unsigned(&self, s: &mut RlpStream) {
        if self.tx_type != TxType::Legacy {
            s.append(&self.chain_id.unwrap_or(0));
        }
        s.append(&self.nonce);
        match self.tx_type {
            TxType::Legacy | TxType::AccessList => {
                s.append(&self.fee_cap);
            }
            _ => {
                s.append(&self.tip_cap);
                s.append(&self.fee_cap);
            }
        }
        s.append(&self.gas_limit);
        match &self.to {
            Some(a) => s.append(&&a[..]),
            None => s.append_empty_data(),
        };
        s.append(&trim_uint256(&self.value));
        s.append(&self.input.as_slice());
        if self.tx_type == TxType::Legacy {
            return;
        }
        s.begin_list(self.access_list.len());
        for e in &self.access_list {
            s.begin_list(2);
            s.append(&&e.address[..]);
            s.begin_list(e.storage_keys.len());
            for k in &e.storage_keys {
                s.append(&&k[..]);
            }
        }
        if self.tx_type == TxType::Blob {
            s.append(&self.blob_fee_cap);
            s.begin_list(self.blob_versioned_hashes.len());
            for h in &self.blob_versioned_hashes {
                s.append(&&h[..]);
            }
        }
        if self.tx_type == TxType::SetCode {
            s.begin_list(self.authorization_list.len());
            for a in &self.authorization_list {
                s.begin_list(6);
                s.append(&trim_uint256(&a.chain_id));
                s.append(&&a.address[..]);
                s.append(&a.nonce);
                s.append(&a.y_parity);
                s.append(&trim_uint256(&a.r));
                s.append(&trim_uint256(&a.s));
            }
        }
    }

    /// How many fields the signed encoding has (signature included).
    fn field_count(&self) -> usize {
        match self.tx_type {
            TxType::Legacy => 9,
            TxType::AccessList => 11,
            TxType::DynamicFee => 12,
            TxType::Blob => 14,
            TxType::SetCode => 13,
        }
    }

    /// The RLP list of all fields, signature included.
    fn fields_rlp(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(self.field_count());
        self.append_unsigned(&mut s);
        if self.tx_type == TxType::Legacy {
            s.append(&join_v(self.chain_id, self.y_parity));
        } else {
            s.append(&u8::from(self.y_parity));
        }
        s.append(&trim_uint256(&self.r));
        s.append(&trim_uint256(&self.s));
        s.out().to_vec()
    }

    /// The consensus encoding: the legacy RLP list, or `type || rlp(fields)` (no sidecar).
    pub fn encode_consensus(&self) -> Vec<u8> {
        let fields = self.fields_rlp();
        if self.tx_type == TxType::Legacy {
            return fields;
        }
        let mut out = Vec::with_capacity(1 + fields.len());
        out.push(self.tx_type.byte());
        out.extend_from_slice(&fields);
        out
    }

    /// The network encoding: one item of a Transactions or PooledTransactions list (a blob
    /// transaction with its sidecar when it has one).
    pub fn encode_network(&self) -> Vec<u8> {
        if self.tx_type == TxType::Legacy {
            return self.fields_rlp();
        }
        let inner = match &self.sidecar {
            Some(sc) if self.tx_type == TxType::Blob => {
                let mut out = vec![self.tx_type.byte()];
                out.extend_from_slice(&blob::encode_wrapper(&self.fields_rlp(), sc));
                out
            }
            _ => self.encode_consensus(),
        };
        rlp::encode(&inner.as_slice()).to_vec()
    }

    /// keccak256 of the consensus encoding: the transaction hash (a blob transaction's hash
    /// never covers its sidecar).
    pub fn hash(&self) -> Hash {
        keccak256(&self.encode_consensus())
    }

    /// The hash the sender signs: for legacy `rlp([nonce, gasPrice, gas, to, value, data])`, with
    /// `chainId, 0, 0` appended under EIP-155; for typed transactions `type || rlp(fields)`
    /// without the signature. The chain id is the transaction's own.
    pub fn signing_hash(&self) -> Hash {
        let extra = match (self.tx_type, self.chain_id) {
            (TxType::Legacy, Some(_)) => 3,
            _ => 0,
        };
        let mut s = RlpStream::new_list(self.field_count() - 3 + extra);
        self.append_unsigned(&mut s);
        if let (TxType::Legacy, Some(id)) = (self.tx_type, self.chain_id) {
            s.append(&id);
            s.append_empty_data();
            s.append_empty_data();
        }
        if self.tx_type == TxType::Legacy {
            keccak256(&s.out())
        } else {
            keccak256(&[&[self.tx_type.byte()][..], &s.out()].concat())
        }
    }

    /// Recovers the sender from the signature.
    pub fn sender(&self) -> Result<Address, CryptoError> {
        recover_address(&self.r, &self.s, self.y_parity, &self.signing_hash())
    }

    /// Signs with `key` for `chain_id`, replacing any signature. A legacy transaction becomes
    /// EIP-155 protected; [`Transaction::sign_unprotected`] makes the pre-EIP-155 kind.
    pub fn sign(&mut self, key: &SecretKey, chain_id: u64) {
        self.chain_id = Some(chain_id);
        self.sign_as_is(key);
    }

    /// Signs a legacy transaction without a chain id (v = 27/28), as before EIP-155.
    pub fn sign_unprotected(&mut self, key: &SecretKey) {
        self.tx_type = TxType::Legacy;
        self.chain_id = None;
        self.sign_as_is(key);
    }

    fn sign_as_is(&mut self, key: &SecretKey) {
        // k256 produces low-s signatures, so the result passes the EIP-2 check.
        let sig = key.sign_prehash(&self.signing_hash());
        self.r.copy_from_slice(&sig.0[..32]);
        self.s.copy_from_slice(&sig.0[32..64]);
        self.y_parity = sig.0[64] & 1 == 1;
    }

    /// Whether the transaction creates a contract.
    pub fn is_create(&self) -> bool {
        self.to.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[7u8; 32]).unwrap()
    }

    fn sample(tx_type: TxType) -> Transaction {
        let mut tx = Transaction {
            tx_type,
            nonce: 5,
            tip_cap: 2,
            fee_cap: 2,
            gas_limit: 100_000,
            to: Some([0x11; 20]),
            input: vec![0, 1, 2],
            ..Transaction::default()
        };
        tx.value[31] = 9;
        if tx_type != TxType::Legacy {
            tx.access_list = vec![AccessListItem {
                address: [0x22; 20],
                storage_keys: vec![[0x33; 32]],
            }];
        }
        if tx_type == TxType::Blob {
            tx.blob_fee_cap = 3;
            tx.blob_versioned_hashes = vec![versioned_hash(&[1; 48])];
        }
        if tx_type == TxType::SetCode {
            tx.authorization_list = vec![Authorization {
                chain_id: [0; 32],
                address: [0x44; 20],
                nonce: 1,
                y_parity: 0,
                r: [1; 32],
                s: [1; 32],
            }];
        }
        tx.sign(&key(), 1);
        tx
    }

    #[test]
    fn legacy_v_maps_to_chain_id() {
        assert_eq!(
            split_v(&{
                let mut v = [0; 32];
                v[31] = 27;
                v
            }),
            Ok((None, false))
        );
        assert_eq!(
            split_v(&{
                let mut v = [0; 32];
                v[31] = 38;
                v
            }),
            Ok((Some(1), true))
        );
        assert!(
            split_v(&{
                let mut v = [0; 32];
                v[31] = 35;
                v
            })
            .is_err()
        );
        assert!(
            split_v(&{
                let mut v = [0; 32];
                v[31] = 29;
                v
            })
            .is_err()
        );
        assert_eq!(join_v(Some(1), true), 38);
        assert_eq!(join_v(None, true), 28);
    }

    #[test]
    fn high_s_and_zero_r_are_refused() {
        let mut tx = sample(TxType::DynamicFee);
        tx.s = SECP256K1_HALF_N;
        tx.s[31] += 1;
        assert!(matches!(
            decode_consensus(&tx.encode_consensus()),
            Err(DecodeError::BadSignature(_))
        ));
        let mut tx = sample(TxType::DynamicFee);
        tx.r = [0; 32];
        assert!(matches!(
            decode_consensus(&tx.encode_consensus()),
            Err(DecodeError::BadSignature(_))
        ));
    }
}
