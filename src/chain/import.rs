//! Chain import: reading concatenated RLP blocks (the `geth export` / hivechain `chain.rlp`
//! format, each block `[header, txs, ommers]` or `[header, txs, ommers, withdrawals]`) and
//! receipts lists from a stream with bounded memory, and checking every block against its header
//! (Yellow Paper section 4.3: `transactionsRoot`, `ommersHash`, `receiptsRoot`; EIP-4895
//! `withdrawalsRoot`; EIP-2718 typed transactions and receipts) before it is stored.
//!
//! [`RlpReader`] reads one top-level item at a time, checking its declared length against a
//! limit before allocating. [`verify_block`] turns one block item (and optionally its receipts
//! list) into a [`StoredBlock`], or a [`ImportError`] naming the block and the field. Linking
//! (parent hash, number) is checked by [`Linker`] against the previous block or the store head.

use std::fmt;
use std::io::{self, Read};

use rlp::{Rlp, RlpStream};

use super::header::{Header, HeaderError};
use super::store::{Head, StoredBlock};
use super::trie::ordered_trie_root;
use crate::crypto::{hex, keccak256};
use crate::rlp::strict;

/// Largest block item accepted: the eth protocol's 10 MiB message limit
/// ([`crate::eth::MESSAGE_SIZE_MAX`], which a block must fit in to be gossiped or served) plus
/// a 1 MiB margin for the header and list framing.
pub const BLOCK_SIZE_MAX: usize = crate::eth::MESSAGE_SIZE_MAX + 1024 * 1024;

/// Largest receipts list accepted for one block: 16 MiB. Receipts are not bounded by a message
/// (eth/70 splits them); the test chain's largest block of receipts is 10.6 MB, and a block's
/// gas limit bounds its logs to a few tens of MB at worst, so 16 MiB covers real chains today.
pub const RECEIPTS_SIZE_MAX: usize = 16 * 1024 * 1024;

/// Why a file's contents could not be imported.
#[derive(Debug)]
pub enum ImportError {
    /// Reading the file failed.
    Io(io::Error),
    /// An item's declared length exceeds its limit.
    TooLarge { index: u64, len: u64, limit: usize },
    /// The file ends inside an item.
    Truncated { index: u64 },
    /// An item is not canonical RLP or not the expected shape.
    Malformed {
        number: Option<u64>,
        index: u64,
        what: String,
    },
    /// A block's content does not match its header: `field` names the header field.
    Mismatch {
        number: u64,
        hash: [u8; 32],
        field: &'static str,
    },
    /// A block does not link to the one before it (or to the store head).
    Link {
        number: u64,
        hash: [u8; 32],
        what: &'static str,
    },
    /// The receipts file ended before the blocks file.
    MissingReceipts { number: u64 },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Io(e) => write!(f, "read failed: {e}"),
            ImportError::TooLarge { index, len, limit } => {
                write!(
                    f,
                    "item {index} is {len} bytes, over the {limit}-byte limit"
                )
            }
            ImportError::Truncated { index } => write!(f, "file ends inside item {index}"),
            ImportError::Malformed {
                number: Some(n),
                what,
                ..
            } => write!(f, "block {n}: {what}"),
            ImportError::Malformed {
                number: None,
                index,
                what,
            } => write!(f, "item {index}: {what}"),
            ImportError::Mismatch {
                number,
                hash,
                field,
            } => write!(
                f,
                "block {number} (0x{}): {field} does not match the block contents",
                hex(hash)
            ),
            ImportError::Link { number, hash, what } => {
                write!(f, "block {number} (0x{}): {what}", hex(hash))
            }
            ImportError::MissingReceipts { number } => {
                write!(f, "block {number}: the receipts file has no entry for it")
            }
        }
    }
}

impl std::error::Error for ImportError {}

/// Reads one top-level RLP item at a time from a stream, refusing items over a limit before
/// allocating for them.
pub struct RlpReader<R> {
    inner: R,
    limit: usize,
    /// Items read so far (0-based index of the next one, for error messages).
    index: u64,
}

impl<R: Read> RlpReader<R> {
    /// A reader of items of at most `limit` bytes (header included).
    pub fn new(inner: R, limit: usize) -> Self {
        RlpReader {
            inner,
            limit,
            index: 0,
        }
    }

    /// The next item, validated as canonical RLP; `None` at a clean end of the stream.
    pub fn next_item(&mut self) -> Result<Option<Vec<u8>>, ImportError> {
        let index = self.index;
        let mut first = [0u8; 1];
        if read_full(&mut self.inner, &mut first)? == 0 {
            return Ok(None);
        }
        let mut item = vec![first[0]];
        // The length of the length, for the long forms; the payload length otherwise.
        let (len_of_len, short_len) = match first[0] {
            0x00..=0x7f => (0, 0),
            b @ 0x80..=0xb7 => (0, u64::from(b - 0x80)),
            b @ 0xb8..=0xbf => (usize::from(b - 0xb7), 0),
            b @ 0xc0..=0xf7 => (0, u64::from(b - 0xc0)),
            b @ 0xf8..=0xff => (usize::from(b - 0xf7), 0),
        };
        let payload_len = if len_of_len > 0 {
            let mut buf = [0u8; 8];
            let slot = buf
                .get_mut(8 - len_of_len..)
                .ok_or(ImportError::Truncated { index })?;
            if read_full(&mut self.inner, slot)? != len_of_len {
                return Err(ImportError::Truncated { index });
            }
            item.extend_from_slice(slot);
            u64::from_be_bytes(buf)
        } else {
            short_len
        };
        let total = (item.len() as u64).saturating_add(payload_len);
        if total > self.limit as u64 {
            return Err(ImportError::TooLarge {
                index,
                len: total,
                limit: self.limit,
            });
        }
        let header_len = item.len();
        // Bounded by the check above.
        item.resize(total as usize, 0);
        let payload = item
            .get_mut(header_len..)
            .ok_or(ImportError::Truncated { index })?;
        if read_full(&mut self.inner, payload)? != payload.len() {
            return Err(ImportError::Truncated { index });
        }
        strict::validate(&item).map_err(|e| ImportError::Malformed {
            number: None,
            index,
            what: e.to_string(),
        })?;
        self.index += 1;
        Ok(Some(item))
    }
}

/// Fills `buf` as far as the stream allows; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, ImportError> {
    let mut done = 0;
    while done < buf.len() {
        let Some(rest) = buf.get_mut(done..) else {
            break;
        };
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ImportError::Io(e)),
        }
    }
    Ok(done)
}

/// Checks one block item (already validated RLP) against its header and, when given, its
/// consensus receipts list; `index` is its position in the file, for messages.
pub fn verify_block(
    raw: &[u8],
    receipts: Option<&[u8]>,
    index: u64,
) -> Result<StoredBlock, ImportError> {
    let malformed = |number: Option<u64>, what: String| ImportError::Malformed {
        number,
        index,
        what,
    };
    let block = Rlp::new(raw);
    let count = block
        .item_count()
        .map_err(|_| malformed(None, "block is not an RLP list".into()))?;
    if !(3..=4).contains(&count) {
        return Err(malformed(
            None,
            format!("block has {count} items, expected 3 or 4"),
        ));
    }
    let part = |i: usize| {
        block
            .at(i)
            .map_err(|_| malformed(None, format!("block item {i} is missing")))
    };
    let header_item = part(0)?;
    let header = Header::decode_item(&header_item)
        .map_err(|e: HeaderError| malformed(None, e.to_string()))?;
    let number = header.number;
    let header_rlp = header_item.as_raw().to_vec();
    let hash = keccak256(&header_rlp);
    let mismatch = |field| ImportError::Mismatch {
        number,
        hash,
        field,
    };
    let list = |i: usize, what: &str| -> Result<Rlp<'_>, ImportError> {
        let item = part(i).map_err(|_| malformed(Some(number), format!("{what} is missing")))?;
        if !item.is_list() {
            return Err(malformed(Some(number), format!("{what} is not a list")));
        }
        Ok(item)
    };

    // Transactions: a legacy transaction is an RLP list and its trie value is that list; a typed
    // one (EIP-2718) is a byte string holding `type || payload`, which is the trie value.
    let txs = list(1, "transactions")?;
    let tx_values = txs
        .iter()
        .map(|tx| {
            if tx.is_list() {
                Ok(tx.as_raw())
            } else {
                tx.data()
                    .map_err(|_| malformed(Some(number), "transaction is malformed".into()))
            }
        })
        .collect::<Result<Vec<&[u8]>, _>>()?;
    if ordered_trie_root(&tx_values) != header.transactions_root {
        return Err(mismatch("transactionsRoot"));
    }

    let ommers = list(2, "ommers")?;
    if keccak256(ommers.as_raw()) != header.ommers_hash {
        return Err(mismatch("ommersHash"));
    }

    match (header.withdrawals_root, count) {
        (Some(root), 4) => {
            let withdrawals = list(3, "withdrawals")?;
            let values: Vec<&[u8]> = withdrawals.iter().map(|w| w.as_raw()).collect();
            if ordered_trie_root(&values) != root {
                return Err(mismatch("withdrawalsRoot"));
            }
        }
        (Some(_), _) => {
            return Err(malformed(
                Some(number),
                "header has withdrawalsRoot but the block has no withdrawals".into(),
            ));
        }
        (None, 4) => {
            return Err(malformed(
                Some(number),
                "block has withdrawals but the header no withdrawalsRoot".into(),
            ));
        }
        (None, _) => {}
    }

    let receipts_rlp = match receipts {
        Some(list_raw) => {
            let list = Rlp::new(list_raw);
            if !list.is_list() {
                return Err(malformed(
                    Some(number),
                    "receipts entry is not a list".into(),
                ));
            }
            // A receipt's trie value is its consensus encoding: a legacy receipt's list as it
            // stands, a typed one's `type || rlp(...)` inside the RLP string. Hashing those bytes
            // as received is the whole check: the root commits to every byte (bloom included),
            // so nothing is decoded or re-encoded (block 11's 10.6 MB would be copied twice).
            let values = list
                .iter()
                .map(|r| {
                    if r.is_list() {
                        Ok(r.as_raw())
                    } else {
                        r.data()
                            .ok()
                            .filter(|d| d.first().is_some_and(|t| (1..0x80).contains(t)))
                            .ok_or_else(|| {
                                malformed(Some(number), "receipt: not a typed receipt".into())
                            })
                    }
                })
                .collect::<Result<Vec<&[u8]>, _>>()?;
            if values.len() != tx_values.len() {
                return Err(malformed(
                    Some(number),
                    format!(
                        "{} receipts for {} transactions",
                        values.len(),
                        tx_values.len()
                    ),
                ));
            }
            if ordered_trie_root(&values) != header.receipts_root {
                return Err(mismatch("receiptsRoot"));
            }
            Some(list_raw.to_vec())
        }
        None => None,
    };

    let mut body = RlpStream::new_list(count - 1);
    for i in 1..count {
        body.append_raw(part(i)?.as_raw(), 1);
    }
    Ok(StoredBlock {
        header,
        hash,
        header_rlp,
        body_rlp: body.out().to_vec(),
        receipts_rlp,
    })
}

/// Checks that each block names the previous one as parent and carries the next number.
#[derive(Debug, Clone, Copy)]
pub struct Linker {
    number: u64,
    hash: [u8; 32],
}

impl Linker {
    /// Starts from the store head: the first block must be its child.
    pub fn new(head: &Head) -> Self {
        Linker {
            number: head.number,
            hash: head.hash,
        }
    }

    /// Starts after block `number` with hash `hash` (a block already stored).
    pub fn at(number: u64, hash: [u8; 32]) -> Self {
        Linker { number, hash }
    }

    /// Accepts `block` as the next one, or says why it does not link.
    pub fn link(&mut self, block: &StoredBlock) -> Result<(), ImportError> {
        let number = block.header.number;
        if block.header.parent_hash != self.hash {
            return Err(ImportError::Link {
                number,
                hash: block.hash,
                what: if self.number.checked_add(1) == Some(number) {
                    "parentHash is not the hash of the previous block"
                } else {
                    "parentHash does not name the chain head (is the block already imported, or the chain another one?)"
                },
            });
        }
        if self.number.checked_add(1) != Some(number) {
            return Err(ImportError::Link {
                number,
                hash: block.hash,
                what: "number is not the parent's number plus one",
            });
        }
        self.number = number;
        self.hash = block.hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_splits_items_and_stops_cleanly() {
        let mut data = rlp::encode_list::<u64, u64>(&[1, 2, 3]).to_vec();
        data.extend_from_slice(&rlp::encode(&vec![0u8; 100]));
        data.push(0x05);
        let mut r = RlpReader::new(data.as_slice(), 1000);
        assert_eq!(r.next_item().unwrap().unwrap(), [0xc3, 1, 2, 3]);
        assert_eq!(r.next_item().unwrap().unwrap().len(), 102);
        assert_eq!(r.next_item().unwrap().unwrap(), [0x05]);
        assert!(r.next_item().unwrap().is_none());
    }

    #[test]
    fn reader_refuses_oversized_and_truncated_items_before_reading_them() {
        // A declared length of 2^40 bytes: refused from its header alone.
        let huge = [0xfd, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
        let mut r = RlpReader::new(&huge[..], 1 << 20);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::TooLarge { index: 0, .. })
        ));
        let cut = [0xc3, 0x01];
        let mut r = RlpReader::new(&cut[..], 100);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::Truncated { index: 0 })
        ));
        let cut_len = [0xf9, 0x01];
        let mut r = RlpReader::new(&cut_len[..], 1000);
        assert!(matches!(
            r.next_item(),
            Err(ImportError::Truncated { index: 0 })
        ));
        // Non-canonical: a single small byte wrapped in a string header.
        let bad = [0x81, 0x05];
        let mut r = RlpReader::new(&bad[..], 100);
        assert!(matches!(r.next_item(), Err(ImportError::Malformed { .. })));
    }
}
