//! The `eth` wire protocol messages of eth/68, eth/69 and eth/70 (devp2p caps/eth.md at its
//! eth/68, eth/69 and eth/70 revisions; EIP-5793, EIP-7642, EIP-7975): sans-IO codecs only.
//!
//! A message travels as a message id (relative to the `eth` capability's offset, see
//! [`crate::p2p::capability`]) and an RLP payload, snappy-compressed on the wire. The functions
//! here take and return the decompressed payload. The ids:
//!
//! | id   | message                    | versions | request-id |
//! |------|----------------------------|----------|------------|
//! | 0x00 | Status                     | all      | no         |
//! | 0x01 | NewBlockHashes             | all      | no         |
//! | 0x02 | Transactions               | all      | no         |
//! | 0x03 | GetBlockHeaders            | all      | yes        |
//! | 0x04 | BlockHeaders               | all      | yes        |
//! | 0x05 | GetBlockBodies             | all      | yes        |
//! | 0x06 | BlockBodies                | all      | yes        |
//! | 0x07 | NewBlock                   | all      | no         |
//! | 0x08 | NewPooledTransactionHashes | all      | no         |
//! | 0x09 | GetPooledTransactions      | all      | yes        |
//! | 0x0a | PooledTransactions         | all      | yes        |
//! | 0x0f | GetReceipts                | all      | yes        |
//! | 0x10 | Receipts                   | all      | yes        |
//! | 0x11 | BlockRangeUpdate           | 69, 70   | no         |
//!
//! Ids 0x0b..=0x0e are unused since eth/67 (0x0d/0x0e were GetNodeData/NodeData) but still count
//! toward the protocol length: eth/68 spans 17 ids, eth/69 and eth/70 span 18 (eth/70 added no
//! message; go-ethereum's `protocolLengths` agrees).
//!
//! What changed between the versions we speak:
//! - eth/69 (EIP-7642): Status drops the total difficulty and head hash and announces the
//!   served block range instead; BlockRangeUpdate (0x11) is new; receipts are sent as
//!   `[tx-type, post-state-or-status, cumulative-gas, logs]` for every type, without bloom.
//! - eth/70 (EIP-7975): GetReceipts carries `firstBlockReceiptIndex` and Receipts carries
//!   `lastBlockIncomplete`, so a block's receipt list larger than a message can be paged.
//!
//! Decoders take untrusted bytes: the payload is checked against [`MESSAGE_SIZE_MAX`] and
//! validated as canonical RLP ([`crate::rlp::strict`]) before anything reads it, every count that
//! makes us allocate is checked against a named limit, and nothing panics. Headers, bodies and
//! transactions stay raw RLP ([`RawList`]); [`HeaderInfo`] and [`Receipt`] read the fields a
//! syncing node needs.

pub mod handshake;
pub mod header;
pub mod message;
pub mod receipts;
pub mod status;

pub use crate::rlp::RawList;
pub use header::HeaderInfo;
pub use message::{
    BlockHashNumber, BlockOrigin, EthMessage, GetBlockHeaders, HashesRequest, NewBlock,
    NewPooledTransactionHashes, RawResponse, decode, encode,
};
pub use receipts::{
    Bloom, GetReceipts, Log, Receipt, ReceiptForm, Receipts, bloom, convert_block_receipts,
};
pub use status::{BlockRangeUpdate, Status, Status68, Status69};

use std::fmt;

use crate::rlp::cursor::{self, Item};
use crate::rlp::{RlpDecodeError, RlpError};

/// The largest eth message payload we accept, after snappy decompression: 10 MiB, the limit
/// devp2p caps/eth.md calls typical and go-ethereum's `maxMessageSize`. eth/70's
/// `lastBlockIncomplete` exists so that Receipts replies stay under this same figure.
pub const MESSAGE_SIZE_MAX: usize = 10 * 1024 * 1024;

/// The most block headers, bodies or receipt lists we serve for one request: go-ethereum's
/// `maxHeadersServe`/`maxBodiesServe`/`maxReceiptsServe` (1024). Larger requests are legal; a
/// server answers with at most this many items (see [`GetBlockHeaders::serve_count`]).
pub const SERVE_COUNT_MAX: usize = 1024;

/// The most hashes we accept in one GetBlockBodies, GetReceipts or GetPooledTransactions
/// request. Honest clients ask for far fewer (go-ethereum: at most 128 bodies, 256 receipt lists
/// and 256 pooled transactions per request; caps/eth.md recommends 256 pooled hashes); 4096 is
/// the figure caps/eth.md gives for the largest announcement, so a peer requesting everything it
/// was announced stays within it. Above it the request is refused as abusive.
pub const REQUEST_HASHES_COUNT_MAX: usize = 4096;

/// The most transactions announced in one NewPooledTransactionHashes: caps/eth.md's recommended
/// limit of 4096 items (go-ethereum's fetcher also tracks at most 4096 per peer).
pub const ANNOUNCEMENTS_COUNT_MAX: usize = 4096;

/// The most transactions in one Transactions message: go-ethereum refuses more than 5000
/// (`maxTransactionAnnouncements`).
pub const TRANSACTIONS_COUNT_MAX: usize = 5000;

/// The most block announcements in one NewBlockHashes. Block propagation is defunct since the
/// Merge and a PoW node announced a handful at a time; the serving cap is ample.
pub const BLOCK_ANNOUNCEMENTS_COUNT_MAX: usize = SERVE_COUNT_MAX;

/// The most topics in one log: the EVM's LOG0..LOG4 opcodes emit at most four.
pub const LOG_TOPICS_COUNT_MAX: usize = 4;

/// Status's message id.
pub const STATUS_ID: u64 = 0x00;
/// NewBlockHashes's message id.
pub const NEW_BLOCK_HASHES_ID: u64 = 0x01;
/// Transactions's message id.
pub const TRANSACTIONS_ID: u64 = 0x02;
/// GetBlockHeaders's message id.
pub const GET_BLOCK_HEADERS_ID: u64 = 0x03;
/// BlockHeaders's message id.
pub const BLOCK_HEADERS_ID: u64 = 0x04;
/// GetBlockBodies's message id.
pub const GET_BLOCK_BODIES_ID: u64 = 0x05;
/// BlockBodies's message id.
pub const BLOCK_BODIES_ID: u64 = 0x06;
/// NewBlock's message id.
pub const NEW_BLOCK_ID: u64 = 0x07;
/// NewPooledTransactionHashes's message id.
pub const NEW_POOLED_TRANSACTION_HASHES_ID: u64 = 0x08;
/// GetPooledTransactions's message id.
pub const GET_POOLED_TRANSACTIONS_ID: u64 = 0x09;
/// PooledTransactions's message id.
pub const POOLED_TRANSACTIONS_ID: u64 = 0x0a;
/// GetReceipts's message id.
pub const GET_RECEIPTS_ID: u64 = 0x0f;
/// Receipts's message id.
pub const RECEIPTS_ID: u64 = 0x10;
/// BlockRangeUpdate's message id (eth/69 and later).
pub const BLOCK_RANGE_UPDATE_ID: u64 = 0x11;

/// A version of the `eth` protocol we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EthVersion {
    /// eth/68 (EIP-5793): typed announcements, Status with total difficulty.
    Eth68,
    /// eth/69 (EIP-7642): Status with block range, BlockRangeUpdate, receipts without bloom.
    Eth69,
    /// eth/70 (EIP-7975): partial block receipt lists.
    Eth70,
}

impl EthVersion {
    /// Every version we speak, newest first (the order a Hello advertises them in does not
    /// matter; capability matching picks the highest shared one).
    pub const ALL: [EthVersion; 3] = [EthVersion::Eth70, EthVersion::Eth69, EthVersion::Eth68];

    /// The version number carried in Hello capabilities and in Status.
    pub fn number(self) -> u32 {
        match self {
            EthVersion::Eth68 => 68,
            EthVersion::Eth69 => 69,
            EthVersion::Eth70 => 70,
        }
    }

    /// The version with this number, if we speak it.
    pub fn from_number(number: u64) -> Option<EthVersion> {
        match number {
            68 => Some(EthVersion::Eth68),
            69 => Some(EthVersion::Eth69),
            70 => Some(EthVersion::Eth70),
            _ => None,
        }
    }

    /// How many message ids the version occupies above its capability offset.
    pub fn protocol_length(self) -> u64 {
        match self {
            EthVersion::Eth68 => 17,
            EthVersion::Eth69 | EthVersion::Eth70 => 18,
        }
    }

    /// Whether this version uses the eth/69 Status, BlockRangeUpdate and bloom-less receipts.
    pub fn has_block_range(self) -> bool {
        self >= EthVersion::Eth69
    }

    /// Whether this version pages receipts (eth/70's `firstBlockReceiptIndex` and
    /// `lastBlockIncomplete`).
    pub fn has_partial_receipts(self) -> bool {
        self >= EthVersion::Eth70
    }
}

impl fmt::Display for EthVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "eth/{}", self.number())
    }
}

/// The name of the message with this id in this version, or `None` when the version has no such
/// message.
pub fn message_name(version: EthVersion, id: u64) -> Option<&'static str> {
    Some(match id {
        STATUS_ID => "Status",
        NEW_BLOCK_HASHES_ID => "NewBlockHashes",
        TRANSACTIONS_ID => "Transactions",
        GET_BLOCK_HEADERS_ID => "GetBlockHeaders",
        BLOCK_HEADERS_ID => "BlockHeaders",
        GET_BLOCK_BODIES_ID => "GetBlockBodies",
        BLOCK_BODIES_ID => "BlockBodies",
        NEW_BLOCK_ID => "NewBlock",
        NEW_POOLED_TRANSACTION_HASHES_ID => "NewPooledTransactionHashes",
        GET_POOLED_TRANSACTIONS_ID => "GetPooledTransactions",
        POOLED_TRANSACTIONS_ID => "PooledTransactions",
        GET_RECEIPTS_ID => "GetReceipts",
        RECEIPTS_ID => "Receipts",
        BLOCK_RANGE_UPDATE_ID if version.has_block_range() => "BlockRangeUpdate",
        _ => return None,
    })
}

/// Why an eth message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthError {
    /// The payload is not the RLP shape of the message: not exactly one canonical item
    /// ([`RlpDecodeError::NonCanonical`]), a field missing, extra, or of the wrong type or size
    /// ([`RlpDecodeError::Malformed`]), or a payload or a count over its named limit
    /// ([`RlpDecodeError::TooLarge`]).
    Rlp(RlpDecodeError),
    /// The id is not a message of any version we speak (including the unused 0x0b..=0x0e).
    UnknownMessage(u64),
    /// The id names a message that this version does not have (BlockRangeUpdate in eth/68).
    NotInVersion { id: u64, version: EthVersion },
    /// The message's form cannot be sent in this version (an eth/68 Status on eth/69, a
    /// partial receipts request before eth/70, ...).
    WrongForm {
        what: &'static str,
        version: EthVersion,
    },
    /// A block range with `earliest > latest`; caps/eth.md says to disconnect such a peer.
    InvalidBlockRange { earliest: u64, latest: u64 },
}

impl EthError {
    /// A field of the message is missing, extra, or of the wrong type or size.
    pub fn malformed(what: &'static str) -> Self {
        EthError::Rlp(RlpDecodeError::Malformed(what))
    }

    /// A payload or a count of the message is over its named limit.
    pub fn too_large(what: &'static str, size: usize, max: usize) -> Self {
        EthError::Rlp(RlpDecodeError::TooLarge { what, size, max })
    }
}

impl fmt::Display for EthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EthError::Rlp(RlpDecodeError::NonCanonical(e)) => {
                write!(f, "bad RLP in eth message: {e}")
            }
            EthError::Rlp(RlpDecodeError::Malformed(what)) => {
                write!(f, "malformed eth message: {what}")
            }
            EthError::Rlp(e @ RlpDecodeError::TooLarge { .. }) => write!(f, "{e}"),
            EthError::UnknownMessage(id) => write!(f, "unknown eth message id {id:#x}"),
            EthError::NotInVersion { id, version } => {
                write!(f, "eth message id {id:#x} does not exist in {version}")
            }
            EthError::WrongForm { what, version } => {
                write!(f, "{what} cannot be sent in {version}")
            }
            EthError::InvalidBlockRange { earliest, latest } => {
                write!(f, "block range with earliest {earliest} > latest {latest}")
            }
        }
    }
}

impl std::error::Error for EthError {}

impl From<RlpDecodeError> for EthError {
    fn from(e: RlpDecodeError) -> Self {
        EthError::Rlp(e)
    }
}

impl From<RlpError> for EthError {
    fn from(e: RlpError) -> Self {
        EthError::Rlp(RlpDecodeError::NonCanonical(e))
    }
}

/// Checks the size of a whole message payload against [`MESSAGE_SIZE_MAX`] and that it is one
/// canonical RLP item, and returns that item: the first step of every eth decoder.
pub(crate) fn top(payload: &[u8]) -> Result<Item<'_>, EthError> {
    if payload.len() > MESSAGE_SIZE_MAX {
        return Err(EthError::too_large(
            "eth message payload",
            payload.len(),
            MESSAGE_SIZE_MAX,
        ));
    }
    Ok(cursor::top(payload)?)
}

/// A 32-byte hash (block, transaction, genesis).
pub type Hash = [u8; 32];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lengths_cover_the_highest_id() {
        for v in EthVersion::ALL {
            let highest = (0..64).filter(|&id| message_name(v, id).is_some()).max();
            assert_eq!(highest.map(|h| h + 1), Some(v.protocol_length()), "{v}");
        }
        assert_eq!(EthVersion::Eth68.protocol_length(), 17);
        assert_eq!(EthVersion::Eth69.protocol_length(), 18);
        assert_eq!(EthVersion::Eth70.protocol_length(), 18);
    }

    #[test]
    fn block_range_update_is_eth69_and_later() {
        assert_eq!(message_name(EthVersion::Eth68, BLOCK_RANGE_UPDATE_ID), None);
        assert!(message_name(EthVersion::Eth69, BLOCK_RANGE_UPDATE_ID).is_some());
        assert!(message_name(EthVersion::Eth70, BLOCK_RANGE_UPDATE_ID).is_some());
        for unused in 0x0b..=0x0e {
            assert_eq!(message_name(EthVersion::Eth70, unused), None);
        }
    }

    #[test]
    fn oversized_payload_is_refused_before_parsing() {
        let big = vec![0u8; MESSAGE_SIZE_MAX + 1];
        assert!(matches!(
            top(&big),
            Err(EthError::Rlp(RlpDecodeError::TooLarge { .. }))
        ));
    }

    #[test]
    fn a_transaction_may_fill_a_message() {
        assert_eq!(
            crate::tx::transaction::TX_ENCODED_SIZE_MAX,
            MESSAGE_SIZE_MAX
        );
    }

    #[test]
    fn an_imported_block_may_fill_a_message_and_its_framing() {
        assert_eq!(
            crate::chain::import::BLOCK_SIZE_MAX,
            MESSAGE_SIZE_MAX + 1024 * 1024
        );
    }

    #[test]
    fn version_numbers_round_trip() {
        for v in EthVersion::ALL {
            assert_eq!(EthVersion::from_number(u64::from(v.number())), Some(v));
        }
        assert_eq!(EthVersion::from_number(67), None);
        assert_eq!(EthVersion::from_number(71), None);
    }
}
