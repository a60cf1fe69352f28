//! Checking blocks without storing them: [`verify_block`] turns one block item (and optionally
//! its consensus receipts list) into a [`StoredBlock`] after checking it against its header
//! (Yellow Paper section 4.3: `transactionsRoot`, `ommersHash`, `receiptsRoot`; EIP-4895
//! `withdrawalsRoot`; EIP-2718 typed transactions and receipts), and [`Linker`] checks that each
//! block names the one before it (parent hash, number). [`ImportError`] names the block and the
//! field; it also carries the stream reader's failures (`import.rs`'s `RlpReader`), so a chain
//! file's one error type covers reading and checking. Pure: the syncer and the import command
//! both call it.

use std::fmt;
use std::io;

use rlp::{Rlp, RlpStream};

use super::block::{Head, StoredBlock};
use super::header::{Header, HeaderError};
use super::trie::ordered_trie_root;
use crate::crypto::{hex, keccak256};

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
