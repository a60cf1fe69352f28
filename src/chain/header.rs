//! The block header (Ethereum Yellow Paper section 4.3 "The Block", with the fields later forks
//! appended: EIP-1559 `baseFeePerGas`, EIP-4895 `withdrawalsRoot`, EIP-4844 `blobGasUsed` and
//! `excessBlobGas`, EIP-4788 `parentBeaconBlockRoot`, EIP-7685 `requestsHash`), its RLP encoding
//! and its hash, plus [`U256`], the 256-bit quantity that difficulty, base fee and balances use.
//!
//! A header is the RLP list of its fields in that order; each fork's fields are present only
//! once the fork is active, so the list grows from 15 fields (Frontier) to 21 (Prague). The block
//! hash is keccak-256 of the encoding.

use std::fmt;

use rlp::{Decodable, DecoderError, Encodable, Rlp, RlpStream};

use crate::crypto::keccak256;
use crate::rlp::strict::{self, RlpError};

/// Fields of a Frontier header, the fewest a header has.
pub const HEADER_FIELDS_MIN: usize = 15;

/// Most fields decoded: the 21 of a Prague header plus room for fields of forks this version does
/// not know, which are kept as raw RLP ([`Header::extra_fields`]) so the hash stays right. No
/// fork has added more than three fields at once, so 32 is generous and still bounds the work.
pub const HEADER_FIELDS_MAX: usize = 32;

/// keccak256(rlp([])): the `ommersHash` of every block without ommers (all proof-of-stake
/// blocks, and every genesis).
pub const EMPTY_OMMERS_HASH: [u8; 32] = [
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
];

/// A 256-bit unsigned integer, big-endian. Only what headers and genesis files need: parsing,
/// conversion and the RLP form (the big-endian bytes without leading zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U256(pub [u8; 32]);

impl U256 {
    pub const ZERO: U256 = U256([0; 32]);

    pub fn from_u64(v: u64) -> Self {
        let mut b = [0u8; 32];
        b[24..].copy_from_slice(&v.to_be_bytes());
        U256(b)
    }

    /// From at most 32 big-endian bytes (shorter input is left-padded).
    pub fn from_be_slice(bytes: &[u8]) -> Option<Self> {
        let offset = 32usize.checked_sub(bytes.len())?;
        let mut b = [0u8; 32];
        b.get_mut(offset..)?.copy_from_slice(bytes);
        Some(U256(b))
    }

    /// The big-endian bytes without leading zeros (empty for zero): the RLP integer payload.
    pub fn trimmed(&self) -> &[u8] {
        let zeros = self.0.iter().take_while(|&&b| b == 0).count();
        self.0.get(zeros..).unwrap_or_default()
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// The value, when it fits in 64 bits.
    pub fn to_u64(&self) -> Option<u64> {
        let (high, low) = self.0.split_at(24);
        if high.iter().any(|&b| b != 0) {
            return None;
        }
        Some(u64::from_be_bytes(low.try_into().ok()?))
    }

    /// Parses `0x`-prefixed hex (1 to 64 digits, any case) or a decimal number; `None` on
    /// anything else, including overflow.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            if hex.is_empty() || hex.len() > 64 {
                return None;
            }
            let mut b = [0u8; 32];
            for (i, c) in hex.bytes().rev().enumerate() {
                let d = (c as char).to_digit(16)? as u8;
                let byte = b.get_mut(31 - i / 2)?;
                *byte |= if i % 2 == 0 { d } else { d << 4 };
            }
            return Some(U256(b));
        }
        if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut b = [0u8; 32];
        for c in text.bytes() {
            // b = b * 10 + digit, byte by byte from the low end; a carry out of the top is overflow.
            let mut carry = u32::from(c - b'0');
            for byte in b.iter_mut().rev() {
                let v = u32::from(*byte) * 10 + carry;
                *byte = v as u8;
                carry = v >> 8;
            }
            if carry != 0 {
                return None;
            }
        }
        Some(U256(b))
    }
}

impl Encodable for U256 {
    fn rlp_append(&self, s: &mut RlpStream) {
        // Through the encoder, not `s.append`: the caller's `append` counts this item itself.
        s.encoder().encode_value(self.trimmed());
    }
}

impl Decodable for U256 {
    fn decode(rlp: &Rlp<'_>) -> Result<Self, DecoderError> {
        let bytes = rlp.data()?;
        if bytes.first() == Some(&0) {
            return Err(DecoderError::RlpInvalidIndirection);
        }
        U256::from_be_slice(bytes).ok_or(DecoderError::RlpIsTooBig)
    }
}

/// A block header. The fork-dependent fields are `None` before their fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub parent_hash: [u8; 32],
    pub ommers_hash: [u8; 32],
    pub coinbase: [u8; 20],
    pub state_root: [u8; 32],
    pub transactions_root: [u8; 32],
    pub receipts_root: [u8; 32],
    pub logs_bloom: Box<[u8; 256]>,
    pub difficulty: U256,
    pub number: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub timestamp: u64,
    pub extra_data: Vec<u8>,
    pub mix_hash: [u8; 32],
    pub nonce: [u8; 8],
    /// EIP-1559 (London).
    pub base_fee_per_gas: Option<U256>,
    /// EIP-4895 (Shanghai).
    pub withdrawals_root: Option<[u8; 32]>,
    /// EIP-4844 (Cancun).
    pub blob_gas_used: Option<u64>,
    /// EIP-4844 (Cancun).
    pub excess_blob_gas: Option<u64>,
    /// EIP-4788 (Cancun).
    pub parent_beacon_block_root: Option<[u8; 32]>,
    /// EIP-7685 (Prague).
    pub requests_hash: Option<[u8; 32]>,
    /// Fields after `requestsHash`, from forks this version does not know, as raw RLP items.
    pub extra_fields: Vec<Vec<u8>>,
}

/// Why bytes are not a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Not canonical RLP.
    Rlp(RlpError),
    /// The item is a byte string, not a list.
    NotAList,
    /// Fewer than [`HEADER_FIELDS_MIN`] or more than [`HEADER_FIELDS_MAX`] fields.
    FieldCount(usize),
    /// The named field has the wrong type or size.
    Field(&'static str),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Rlp(e) => write!(f, "header: {e}"),
            HeaderError::NotAList => write!(f, "header is not an RLP list"),
            HeaderError::FieldCount(n) => write!(
                f,
                "header has {n} fields, expected {HEADER_FIELDS_MIN} to {HEADER_FIELDS_MAX}"
            ),
            HeaderError::Field(name) => write!(f, "header field {name} is malformed"),
        }
    }
}

impl std::error::Error for HeaderError {}

impl From<RlpError> for HeaderError {
    fn from(e: RlpError) -> Self {
        HeaderError::Rlp(e)
    }
}

impl Header {
    /// The RLP encoding. An optional field that is unset while a later one is set is written as
    /// its zero value, since the list is positional.
    pub fn rlp(&self) -> Vec<u8> {
        rlp::encode(self).to_vec()
    }

    /// The block hash: keccak-256 of the encoding.
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.rlp())
    }

    /// Number of optional (post-Frontier) fields the encoding carries.
    fn optional_count(&self) -> usize {
        let present = [
            self.base_fee_per_gas.is_some(),
            self.withdrawals_root.is_some(),
            self.blob_gas_used.is_some(),
            self.excess_blob_gas.is_some(),
            self.parent_beacon_block_root.is_some(),
            self.requests_hash.is_some(),
        ];
        if !self.extra_fields.is_empty() {
            return present.len();
        }
        present.iter().rposition(|&p| p).map_or(0, |i| i + 1)
    }

    /// Decodes one header that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Header, HeaderError> {
        strict::validate(bytes)?;
        Header::decode_item(&Rlp::new(bytes))
    }

    /// Decodes a header from an item of RLP that has already passed [`strict::validate`]
    /// (for example one element of a `BlockHeaders` message).
    pub fn decode_item(list: &Rlp<'_>) -> Result<Header, HeaderError> {
        if !list.is_list() {
            return Err(HeaderError::NotAList);
        }
        let count = list.item_count().map_err(|_| HeaderError::NotAList)?;
        if !(HEADER_FIELDS_MIN..=HEADER_FIELDS_MAX).contains(&count) {
            return Err(HeaderError::FieldCount(count));
        }
        let at = |i: usize| list.at(i).map_err(|_| HeaderError::FieldCount(count));
        let opt = |i: usize| if i < count { Some(at(i)) } else { None };
        let extra_fields = (21..count)
            .map(|i| Ok(at(i)?.as_raw().to_vec()))
            .collect::<Result<_, HeaderError>>()?;
        Ok(Header {
            parent_hash: fixed(&at(0)?, "parentHash")?,
            ommers_hash: fixed(&at(1)?, "ommersHash")?,
            coinbase: fixed(&at(2)?, "coinbase")?,
            state_root: fixed(&at(3)?, "stateRoot")?,
            transactions_root: fixed(&at(4)?, "transactionsRoot")?,
            receipts_root: fixed(&at(5)?, "receiptsRoot")?,
            logs_bloom: Box::new(fixed(&at(6)?, "logsBloom")?),
            difficulty: value(&at(7)?, "difficulty")?,
            number: value(&at(8)?, "number")?,
            gas_limit: value(&at(9)?, "gasLimit")?,
            gas_used: value(&at(10)?, "gasUsed")?,
            timestamp: value(&at(11)?, "timestamp")?,
            extra_data: value(&at(12)?, "extraData")?,
            mix_hash: fixed(&at(13)?, "mixHash")?,
            nonce: fixed(&at(14)?, "nonce")?,
            base_fee_per_gas: opt(15).map(|r| value(&r?, "baseFeePerGas")).transpose()?,
            withdrawals_root: opt(16).map(|r| fixed(&r?, "withdrawalsRoot")).transpose()?,
            blob_gas_used: opt(17).map(|r| value(&r?, "blobGasUsed")).transpose()?,
            excess_blob_gas: opt(18).map(|r| value(&r?, "excessBlobGas")).transpose()?,
            parent_beacon_block_root: opt(19)
                .map(|r| fixed(&r?, "parentBeaconBlockRoot"))
                .transpose()?,
            requests_hash: opt(20).map(|r| fixed(&r?, "requestsHash")).transpose()?,
            extra_fields,
        })
    }
}

impl Encodable for Header {
    fn rlp_append(&self, s: &mut RlpStream) {
        let optional = self.optional_count();
        s.begin_list(HEADER_FIELDS_MIN + optional + self.extra_fields.len());
        s.append(&self.parent_hash.as_slice());
        s.append(&self.ommers_hash.as_slice());
        s.append(&self.coinbase.as_slice());
        s.append(&self.state_root.as_slice());
        s.append(&self.transactions_root.as_slice());
        s.append(&self.receipts_root.as_slice());
        s.append(&self.logs_bloom.as_slice());
        s.append(&self.difficulty);
        s.append(&self.number);
        s.append(&self.gas_limit);
        s.append(&self.gas_used);
        s.append(&self.timestamp);
        s.append(&self.extra_data.as_slice());
        s.append(&self.mix_hash.as_slice());
        s.append(&self.nonce.as_slice());
        let zero = [0u8; 32];
        if optional > 0 {
            s.append(&self.base_fee_per_gas.unwrap_or_default());
        }
        if optional > 1 {
            s.append(&self.withdrawals_root.as_ref().unwrap_or(&zero).as_slice());
        }
        if optional > 2 {
            s.append(&self.blob_gas_used.unwrap_or_default());
        }
        if optional > 3 {
            s.append(&self.excess_blob_gas.unwrap_or_default());
        }
        if optional > 4 {
            let root = self.parent_beacon_block_root.as_ref().unwrap_or(&zero);
            s.append(&root.as_slice());
        }
        if optional > 5 {
            s.append(&self.requests_hash.as_ref().unwrap_or(&zero).as_slice());
        }
        for raw in &self.extra_fields {
            s.append_raw(raw, 1);
        }
    }
}

/// A byte string of exactly `N` bytes.
fn fixed<const N: usize>(item: &Rlp<'_>, name: &'static str) -> Result<[u8; N], HeaderError> {
    if !item.is_data() {
        return Err(HeaderError::Field(name));
    }
    item.data()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(HeaderError::Field(name))
}

/// A canonical RLP value (integers without leading zeros, byte strings).
fn value<T: Decodable>(item: &Rlp<'_>, name: &'static str) -> Result<T, HeaderError> {
    if !item.is_data() {
        return Err(HeaderError::Field(name));
    }
    item.as_val().map_err(|_| HeaderError::Field(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u256_parses_hex_and_decimal() {
        assert_eq!(U256::parse("0x0"), Some(U256::ZERO));
        assert_eq!(
            U256::parse("0x3b9aca00"),
            Some(U256::from_u64(1_000_000_000))
        );
        assert_eq!(
            U256::parse("1000000000"),
            Some(U256::from_u64(1_000_000_000))
        );
        assert_eq!(U256::parse("0xABC"), Some(U256::from_u64(0xabc)));
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(U256::parse(max), Some(U256([0xff; 32])));
        assert_eq!(
            U256::parse(&format!("0x{}", "f".repeat(64))),
            Some(U256([0xff; 32]))
        );
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        for bad in [
            over,
            "",
            "0x",
            "12a",
            "-1",
            "0xg",
            &format!("0x1{}", "0".repeat(64)),
        ] {
            assert_eq!(U256::parse(bad), None, "{bad:?}");
        }
        let ttd = U256::parse("58750000000000000000000").unwrap();
        let wide = 58750000000000000000000u128.to_be_bytes();
        assert_eq!(ttd.trimmed(), &wide[6..]);
        assert_eq!(ttd.to_u64(), None);
        assert_eq!(U256::from_u64(7).to_u64(), Some(7));
    }

    #[test]
    fn u256_rlp_is_the_trimmed_integer() {
        assert_eq!(rlp::encode(&U256::ZERO).to_vec(), [0x80]);
        assert_eq!(
            rlp::encode(&U256::from_u64(0x400)).to_vec(),
            [0x82, 0x04, 0x00]
        );
        assert_eq!(
            rlp::decode::<U256>(&[0x82, 0x04, 0x00]),
            Ok(U256::from_u64(0x400))
        );
        assert!(rlp::decode::<U256>(&[0x82, 0x00, 0x04]).is_err());
    }

    fn sample() -> Header {
        Header {
            parent_hash: [1; 32],
            ommers_hash: EMPTY_OMMERS_HASH,
            coinbase: [2; 20],
            state_root: [3; 32],
            transactions_root: [4; 32],
            receipts_root: [5; 32],
            logs_bloom: Box::new([0; 256]),
            difficulty: U256::from_u64(131_072),
            number: 9,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            timestamp: 1_700_000_000,
            extra_data: b"ethpeer".to_vec(),
            mix_hash: [6; 32],
            nonce: [0; 8],
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
            extra_fields: Vec::new(),
        }
    }

    #[test]
    fn every_fork_shape_round_trips() {
        let mut h = sample();
        let mut lengths = vec![];
        for step in 0..7 {
            match step {
                1 => h.base_fee_per_gas = Some(U256::from_u64(7)),
                2 => h.withdrawals_root = Some([8; 32]),
                3 => h.blob_gas_used = Some(131_072),
                4 => h.excess_blob_gas = Some(0),
                5 => h.parent_beacon_block_root = Some([9; 32]),
                6 => h.requests_hash = Some([10; 32]),
                _ => {}
            }
            let bytes = h.rlp();
            assert_eq!(Header::decode(&bytes).as_ref(), Ok(&h), "step {step}");
            assert_eq!(Rlp::new(&bytes).item_count(), Ok(15 + step));
            lengths.push(bytes.len());
        }
        h.extra_fields = vec![vec![0x01], vec![0xc0]];
        assert_eq!(Header::decode(&h.rlp()), Ok(h));
        assert!(lengths.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_gap_in_optional_fields_is_filled_with_zero() {
        let mut h = sample();
        h.withdrawals_root = Some([8; 32]);
        let decoded = Header::decode(&h.rlp()).unwrap();
        assert_eq!(decoded.base_fee_per_gas, Some(U256::ZERO));
        assert_eq!(decoded.withdrawals_root, Some([8; 32]));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let good = sample().rlp();
        assert!(matches!(
            Header::decode(&good[..good.len() - 1]),
            Err(HeaderError::Rlp(_))
        ));
        assert_eq!(Header::decode(&[0x80]), Err(HeaderError::NotAList));
        let mut s = RlpStream::new_list(14);
        for _ in 0..14 {
            s.append(&0u8);
        }
        assert_eq!(Header::decode(&s.out()), Err(HeaderError::FieldCount(14)));
        // A 31-byte parent hash.
        let mut h = sample().rlp();
        let short = Rlp::new(&h).at(0).unwrap().as_raw().len();
        assert_eq!(short, 33);
        h[3] = 0x9f; // the parent hash's string header, once the 3-byte list header is skipped
        assert!(Header::decode(&h).is_err());
    }
}
