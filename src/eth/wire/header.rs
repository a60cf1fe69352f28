//! A block header's identifying fields, read from its raw RLP (devp2p caps/eth.md "Block
//! Encoding and Validity"; the Yellow Paper's header, extended by EIP-1559, EIP-4895, EIP-4844,
//! EIP-4788 and EIP-7685).
//!
//! `[parent-hash, ommers-hash, coinbase, state-root, txs-root, receipts-root, bloom, difficulty,
//! number, gas-limit, gas-used, time, extradata, mix-digest, block-nonce, basefee-per-gas?,
//! withdrawals-root?, blob-gas-used?, excess-blob-gas?, parent-beacon-root?, requests-hash?]`
//!
//! eth messages carry headers as raw RLP ([`super::RawList`]); syncing needs only a few of their
//! fields (to link headers, and to check bodies and receipts against their roots), so this
//! reads those and keeps the hash, which is keccak-256 of the exact bytes received.

use super::top;
use super::{EthError, Hash};
use crate::crypto::keccak256;
use crate::rlp::cursor::Item;

/// The fields of a pre-London header (15); later forks append optional ones.
const LEGACY_FIELD_COUNT: usize = 15;

/// The most fields a header has today (Prague: 21). A few more are allowed so a future fork's
/// appended fields do not make us refuse headers we only need to link.
const HEADER_FIELD_COUNT_MAX: usize = 32;

/// What sync needs from a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderInfo {
    /// keccak-256 of the header's RLP: the block hash.
    pub hash: Hash,
    /// The parent block's hash.
    pub parent_hash: Hash,
    /// keccak-256 of the RLP of the ommers list (the empty-list hash since the Merge).
    pub ommers_hash: Hash,
    /// Root of the state trie after the block.
    pub state_root: Hash,
    /// Root of the transactions trie.
    pub transactions_root: Hash,
    /// Root of the receipts trie.
    pub receipts_root: Hash,
    /// The block number.
    pub number: u64,
    /// The block's timestamp (seconds), which selects the fork for time-based forks.
    pub time: u64,
    /// Root of the withdrawals trie, present from Shanghai (EIP-4895).
    pub withdrawals_root: Option<Hash>,
    /// How many fields the header has, which tells which fork's layout it uses.
    pub field_count: usize,
}

impl HeaderInfo {
    /// Reads a header from its RLP encoding (one BlockHeaders item).
    pub fn parse(raw: &[u8]) -> Result<HeaderInfo, EthError> {
        Self::from_item(top(raw)?)
    }

    /// Reads a header from an item of a validated payload.
    pub(crate) fn from_item(item: Item<'_>) -> Result<HeaderInfo, EthError> {
        let fields = item.list("header is not a list")?;
        let field_count = fields.count_items()?;
        if !(LEGACY_FIELD_COUNT..=HEADER_FIELD_COUNT_MAX).contains(&field_count) {
            return Err(EthError::malformed("header field count"));
        }
        let mut f = fields;
        let parent_hash = f.field("header parent-hash")?.hash("header parent-hash")?;
        let ommers_hash = f.field("header ommers-hash")?.hash("header ommers-hash")?;
        f.field("header coinbase")?.fixed::<20>("header coinbase")?;
        let state_root = f.field("header state-root")?.hash("header state-root")?;
        let transactions_root = f.field("header txs-root")?.hash("header txs-root")?;
        let receipts_root = f
            .field("header receipts-root")?
            .hash("header receipts-root")?;
        f.field("header bloom")?.fixed::<256>("header bloom")?;
        f.field("header difficulty")?.uint256("header difficulty")?;
        let number = f.field("header number")?.uint("header number")?;
        f.field("header gas-limit")?.uint("header gas-limit")?;
        f.field("header gas-used")?.uint("header gas-used")?;
        let time = f.field("header time")?.uint("header time")?;
        f.field("header extradata")?.bytes("header extradata")?;
        f.field("header mix-digest")?.hash("header mix-digest")?;
        f.field("header block-nonce")?
            .fixed::<8>("header block-nonce")?;
        let withdrawals_root = if field_count > 16 {
            f.field("header basefee-per-gas")?
                .uint256("header basefee-per-gas")?;
            Some(
                f.field("header withdrawals-root")?
                    .hash("header withdrawals-root")?,
            )
        } else {
            None
        };
        Ok(HeaderInfo {
            hash: keccak256(item.raw),
            parent_hash,
            ommers_hash,
            state_root,
            transactions_root,
            receipts_root,
            number,
            time,
            withdrawals_root,
            field_count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlp::RlpStream;

    /// A header with `fields` fields (the first 15 always the legacy layout).
    fn header(fields: usize, number: u64) -> Vec<u8> {
        let enc = |f: &dyn Fn(&mut RlpStream)| {
            let mut s = RlpStream::new();
            f(&mut s);
            s.out().to_vec()
        };
        let mut items: Vec<Vec<u8>> = Vec::new();
        for h in [[1u8; 32], [2; 32]] {
            items.push(enc(&|s| {
                s.append(&h.as_slice());
            }));
        }
        items.push(enc(&|s| {
            s.append(&[3u8; 20].as_slice());
        }));
        for h in [[4u8; 32], [5; 32], [6; 32]] {
            items.push(enc(&|s| {
                s.append(&h.as_slice());
            }));
        }
        items.push(enc(&|s| {
            s.append(&[0u8; 256].as_slice());
        }));
        for n in [0u64, number, 30_000_000, 0, 1234] {
            items.push(enc(&|s| {
                s.append(&n);
            }));
        }
        items.push(enc(&|s| {
            s.append(&b"x".as_slice());
        }));
        items.push(enc(&|s| {
            s.append(&[0u8; 32].as_slice());
        }));
        items.push(enc(&|s| {
            s.append(&[0u8; 8].as_slice());
        }));
        items.push(enc(&|s| {
            s.append(&7u64);
        }));
        while items.len() < fields {
            items.push(enc(&|s| {
                s.append(&[9u8; 32].as_slice());
            }));
        }
        items.truncate(fields);
        let mut s = RlpStream::new_list(items.len());
        for item in &items {
            s.append_raw(item, 1);
        }
        s.out().to_vec()
    }

    #[test]
    fn reads_the_fields_sync_needs() {
        let raw = header(17, 42);
        let info = HeaderInfo::parse(&raw).unwrap();
        assert_eq!(info.hash, keccak256(&raw));
        assert_eq!(info.parent_hash, [1; 32]);
        assert_eq!(info.ommers_hash, [2; 32]);
        assert_eq!(info.state_root, [4; 32]);
        assert_eq!(info.transactions_root, [5; 32]);
        assert_eq!(info.receipts_root, [6; 32]);
        assert_eq!(info.number, 42);
        assert_eq!(info.time, 1234);
        assert_eq!(info.withdrawals_root, Some([9; 32]));
        assert_eq!(info.field_count, 17);
        let legacy = HeaderInfo::parse(&header(15, 1)).unwrap();
        assert_eq!(legacy.withdrawals_root, None);
        let london = HeaderInfo::parse(&header(16, 1)).unwrap();
        assert_eq!(london.withdrawals_root, None);
    }

    #[test]
    fn short_headers_are_refused() {
        assert_eq!(
            HeaderInfo::parse(&header(14, 1)),
            Err(EthError::malformed("header field count"))
        );
        assert!(HeaderInfo::parse(&[0x80]).is_err());
    }
}
