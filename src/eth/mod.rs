//! The `eth` capability (devp2p caps/eth.md at its eth/68, eth/69 and eth/70 revisions), its
//! codecs apart from its behaviour, as go-ethereum keeps `eth/protocols/eth` apart from its
//! downloader and fetchers:
//!
//! - [`wire`]: the messages, Status and the handshake's checks, receipts in both forms; sans-IO
//!   codecs that know nothing of peers or chains beyond what a message carries.
//! - [`sync`]: chain synchronization ("Chain Synchronization"): the best peer, the downloader and
//!   the vocabulary of a sync run.
//! - [`txs`]: transaction exchange ("Transaction Exchange"): the propagation policy, the fetcher
//!   of announced transactions and the handler that ties them to the pool.
//! - [`serve`]: answering GetBlockHeaders, GetBlockBodies and GetReceipts over a chain reader.
//! - [`manager`]: the protocol manager the event loop owns: eth peers, checkpoint 3, block
//!   propagation before the Merge, and the dispatch to the syncer and the transaction handler.
//!
//! Arrows point down: `manager` uses `sync`, `txs` and `wire`; `sync`, `txs` and `serve` use
//! `wire`; `wire` uses only [`crate::rlp`], [`crate::chain`] and [`crate::tx`] codecs. The codec
//! items are re-exported here, so `eth::EthMessage` names the same type as
//! `eth::wire::EthMessage`.

pub mod manager;
pub mod serve;
pub mod sync;
pub mod txs;
pub mod wire;

pub use serve::{ChainReader, CorruptItem, RESPONSE_SIZE_SOFT, ServeChain, answer};
pub use wire::{
    ANNOUNCEMENTS_COUNT_MAX, BLOCK_ANNOUNCEMENTS_COUNT_MAX, BLOCK_BODIES_ID, BLOCK_HEADERS_ID,
    BLOCK_RANGE_UPDATE_ID, BlockHashNumber, BlockOrigin, BlockRangeUpdate, Bloom, EthError,
    EthMessage, EthVersion, GET_BLOCK_BODIES_ID, GET_BLOCK_HEADERS_ID, GET_POOLED_TRANSACTIONS_ID,
    GET_RECEIPTS_ID, GetBlockHeaders, GetReceipts, Hash, HashesRequest, HeaderInfo,
    LOG_TOPICS_COUNT_MAX, Log, MESSAGE_SIZE_MAX, NEW_BLOCK_HASHES_ID, NEW_BLOCK_ID,
    NEW_POOLED_TRANSACTION_HASHES_ID, NewBlock, NewPooledTransactionHashes, POOLED_TRANSACTIONS_ID,
    RECEIPTS_ID, REQUEST_HASHES_COUNT_MAX, RawList, RawResponse, Receipt, ReceiptForm, Receipts,
    SERVE_COUNT_MAX, STATUS_ID, Status, Status68, Status69, TRANSACTIONS_COUNT_MAX,
    TRANSACTIONS_ID, bloom, convert_block_receipts, decode, encode, message_name,
};
