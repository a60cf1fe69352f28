//! The eth messages as one enum, and the per-version dispatch from a message id and payload to
//! it and back (devp2p caps/eth.md "Protocol Messages" at the eth/68, eth/69 and eth/70
//! revisions; EIP-2481 request ids; EIP-5793 typed announcements).
//!
//! Headers, bodies, blocks and transactions stay raw RLP: decoding checks their outer shape
//! (a header is a list, a body is `[txs, ommers]` or `[txs, ommers, withdrawals]`, a
//! transaction is a legacy list or a byte string starting with its EIP-2718 type) and keeps the
//! exact bytes, which are what hashes and tries are computed over.

use std::cmp::min;

use rlp::RlpStream;

use super::top;
use super::{
    ANNOUNCEMENTS_COUNT_MAX, BLOCK_ANNOUNCEMENTS_COUNT_MAX, BLOCK_BODIES_ID, BLOCK_HEADERS_ID,
    BLOCK_RANGE_UPDATE_ID, BlockRangeUpdate, EthError, EthVersion, GET_BLOCK_BODIES_ID,
    GET_BLOCK_HEADERS_ID, GET_POOLED_TRANSACTIONS_ID, GET_RECEIPTS_ID, GetReceipts, Hash,
    HeaderInfo, NEW_BLOCK_HASHES_ID, NEW_BLOCK_ID, NEW_POOLED_TRANSACTION_HASHES_ID,
    POOLED_TRANSACTIONS_ID, RECEIPTS_ID, REQUEST_HASHES_COUNT_MAX, RawList, Receipts,
    SERVE_COUNT_MAX, STATUS_ID, Status, TRANSACTIONS_COUNT_MAX, TRANSACTIONS_ID, message_name,
};
use crate::rlp::cursor::{Item, bounded_list, hashes, trim_uint256};

/// Where a GetBlockHeaders query starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockOrigin {
    /// The block with this hash.
    Hash(Hash),
    /// The canonical block with this number.
    Number(u64),
}

/// GetBlockHeaders: `[request-id, [startblock: {P, B_32}, limit, skip, reverse: {0, 1}]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetBlockHeaders {
    /// Mirrored in the reply.
    pub request_id: u64,
    /// The first header wanted.
    pub origin: BlockOrigin,
    /// At most this many headers.
    pub amount: u64,
    /// Blocks left out between consecutive headers.
    pub skip: u64,
    /// Falling block numbers when true.
    pub reverse: bool,
}

impl GetBlockHeaders {
    /// How many headers a server answers with at most: `amount`, capped at
    /// [`SERVE_COUNT_MAX`]. Asking for more is legal, so the request is not refused.
    pub fn serve_count(&self) -> usize {
        min(
            usize::try_from(self.amount).unwrap_or(usize::MAX),
            SERVE_COUNT_MAX,
        )
    }
}

/// A request for items by hash (GetBlockBodies, GetPooledTransactions): `[request-id, [hash,
/// ...]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashesRequest {
    /// Mirrored in the reply.
    pub request_id: u64,
    /// The items wanted, at most [`REQUEST_HASHES_COUNT_MAX`].
    pub hashes: Vec<Hash>,
}

/// A reply of raw items (BlockHeaders, BlockBodies, PooledTransactions): `[request-id,
/// [item, ...]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The request id of the request this answers.
    pub request_id: u64,
    /// The headers, bodies or transactions, each as its RLP.
    pub items: RawList,
}

impl RawResponse {
    /// The identifying fields of every header, for a BlockHeaders reply.
    pub fn headers(&self) -> Result<Vec<HeaderInfo>, EthError> {
        self.items
            .items()
            .map(|h| HeaderInfo::from_item(h?))
            .collect()
    }
}

/// One NewBlockHashes entry: `[hash, number]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHashNumber {
    /// The announced block's hash.
    pub hash: Hash,
    /// Its number.
    pub number: u64,
}

/// NewBlock: `[block, td]`, with `block = [header, txs, ommers, withdrawals?]` kept raw.
/// Defunct since the Merge, but still part of eth/68..70.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBlock {
    /// The block's RLP.
    pub block: Vec<u8>,
    /// Total difficulty including this block, 256-bit big-endian.
    pub td: [u8; 32],
}

impl NewBlock {
    /// The block's header fields.
    pub fn header(&self) -> Result<HeaderInfo, EthError> {
        let block = top(&self.block)?;
        HeaderInfo::from_item(block.list("block is not a list")?.field("block header")?)
    }
}

/// NewPooledTransactionHashes (eth/68 to eth/71): `[txtypes: B, [txsize: P, ...], [txhash: B_32,
/// ...]]`, three parallel lists of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPooledTransactionHashes {
    /// One EIP-2718 type byte per transaction.
    pub types: Vec<u8>,
    /// Each transaction's size in its consensus encoding (go-ethereum uses 32 bits).
    pub sizes: Vec<u32>,
    /// Each transaction's hash.
    pub hashes: Vec<Hash>,
}

/// Any eth message of the versions we speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthMessage {
    /// 0x00: the handshake message, in the form of the negotiated version.
    Status(Status),
    /// 0x01: `[[hash, number], ...]` (block propagation, defunct since the Merge).
    NewBlockHashes(Vec<BlockHashNumber>),
    /// 0x02: transactions, each as its RLP (`[tx, ...]`, no request id).
    Transactions(RawList),
    /// 0x03: a header query.
    GetBlockHeaders(GetBlockHeaders),
    /// 0x04: headers, each as its RLP.
    BlockHeaders(RawResponse),
    /// 0x05: bodies wanted by block hash.
    GetBlockBodies(HashesRequest),
    /// 0x06: bodies, each `[txs, ommers, withdrawals?]` as its RLP.
    BlockBodies(RawResponse),
    /// 0x07: a whole block and its total difficulty (defunct since the Merge).
    NewBlock(NewBlock),
    /// 0x08: typed transaction announcements.
    NewPooledTransactionHashes(NewPooledTransactionHashes),
    /// 0x09: pooled transactions wanted by hash.
    GetPooledTransactions(HashesRequest),
    /// 0x0a: pooled transactions, each as its RLP.
    PooledTransactions(RawResponse),
    /// 0x0f: receipt lists wanted by block hash.
    GetReceipts(GetReceipts),
    /// 0x10: receipt lists, one per block.
    Receipts(Receipts),
    /// 0x11 (eth/69+): the sender's served block range moved.
    BlockRangeUpdate(BlockRangeUpdate),
}

impl EthMessage {
    /// The message id, relative to the eth capability's offset.
    pub fn id(&self) -> u64 {
        match self {
            EthMessage::Status(_) => STATUS_ID,
            EthMessage::NewBlockHashes(_) => NEW_BLOCK_HASHES_ID,
            EthMessage::Transactions(_) => TRANSACTIONS_ID,
            EthMessage::GetBlockHeaders(_) => GET_BLOCK_HEADERS_ID,
            EthMessage::BlockHeaders(_) => BLOCK_HEADERS_ID,
            EthMessage::GetBlockBodies(_) => GET_BLOCK_BODIES_ID,
            EthMessage::BlockBodies(_) => BLOCK_BODIES_ID,
            EthMessage::NewBlock(_) => NEW_BLOCK_ID,
            EthMessage::NewPooledTransactionHashes(_) => NEW_POOLED_TRANSACTION_HASHES_ID,
            EthMessage::GetPooledTransactions(_) => GET_POOLED_TRANSACTIONS_ID,
            EthMessage::PooledTransactions(_) => POOLED_TRANSACTIONS_ID,
            EthMessage::GetReceipts(_) => GET_RECEIPTS_ID,
            EthMessage::Receipts(_) => RECEIPTS_ID,
            EthMessage::BlockRangeUpdate(_) => BLOCK_RANGE_UPDATE_ID,
        }
    }

    /// The request id of a request or reply; `None` for announcements and Status.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            EthMessage::GetBlockHeaders(m) => Some(m.request_id),
            EthMessage::BlockHeaders(m)
            | EthMessage::BlockBodies(m)
            | EthMessage::PooledTransactions(m) => Some(m.request_id),
            EthMessage::GetBlockBodies(m) | EthMessage::GetPooledTransactions(m) => {
                Some(m.request_id)
            }
            EthMessage::GetReceipts(m) => Some(m.request_id),
            EthMessage::Receipts(m) => Some(m.request_id),
            _ => None,
        }
    }
}

/// Checks one transaction item: a legacy transaction is a list; a typed one is a byte string
/// whose first byte is its type, 0x01..=0x7f (EIP-2718).
fn check_transaction(item: Item<'_>) -> Result<(), EthError> {
    if item.is_list {
        return Ok(());
    }
    match item.payload.first() {
        Some(1..=0x7f) => Ok(()),
        _ => Err(EthError::malformed(
            "transaction is neither a list nor typed",
        )),
    }
}

/// Reads a list of transactions, refusing more than `max`.
fn transactions(item: Item<'_>, what: &'static str, max: usize) -> Result<RawList, EthError> {
    let (items, _) = bounded_list(item, what, max)?;
    for tx in items {
        check_transaction(tx?)?;
    }
    Ok(RawList::from_item(item, what)?)
}

/// Checks a block body: `[txs, ommers]`, or `[txs, ommers, withdrawals]` from Shanghai on.
fn check_body(item: Item<'_>) -> Result<(), EthError> {
    let mut f = item.list("block body is not a list")?;
    for tx in f
        .field("block body transactions")?
        .list("block body transactions")?
    {
        check_transaction(tx?)?;
    }
    for ommer in f.field("block body ommers")?.list("block body ommers")? {
        ommer?.list("ommer header is not a list")?;
    }
    if let Some(withdrawals) = f.next() {
        for w in withdrawals?.list("block body withdrawals")? {
            w?.list("withdrawal is not a list")?;
        }
    }
    Ok(f.end("extra block body fields")?)
}

/// Reads `[request-id, [item, ...]]`, checking every item with `check`.
fn raw_response(
    item: Item<'_>,
    what: &'static str,
    check: fn(Item<'_>) -> Result<(), EthError>,
) -> Result<RawResponse, EthError> {
    let mut f = item.list(what)?;
    let request_id = f.field(what)?.uint(what)?;
    let list = f.field(what)?;
    f.end(what)?;
    for i in list.list(what)? {
        check(i?)?;
    }
    Ok(RawResponse {
        request_id,
        items: RawList::from_item(list, what)?,
    })
}

/// Reads `[request-id, [hash, ...]]`.
fn hashes_request(item: Item<'_>, what: &'static str) -> Result<HashesRequest, EthError> {
    let mut f = item.list(what)?;
    let request_id = f.field(what)?.uint(what)?;
    let hashes = hashes(f.field(what)?, what, REQUEST_HASHES_COUNT_MAX)?;
    f.end(what)?;
    Ok(HashesRequest { request_id, hashes })
}

fn get_block_headers(item: Item<'_>) -> Result<GetBlockHeaders, EthError> {
    let mut f = item.list("GetBlockHeaders is not a list")?;
    let request_id = f
        .field("GetBlockHeaders request-id")?
        .uint("GetBlockHeaders request-id")?;
    let mut q = f
        .field("GetBlockHeaders query")?
        .list("GetBlockHeaders query")?;
    f.end("extra GetBlockHeaders fields")?;
    let start = q.field("GetBlockHeaders startblock")?;
    // A 32-byte string is a hash; anything up to 8 bytes a number (go-ethereum reads it so).
    let origin = match start.bytes("GetBlockHeaders startblock")?.len() {
        32 => BlockOrigin::Hash(start.hash("GetBlockHeaders startblock")?),
        _ => BlockOrigin::Number(start.uint("GetBlockHeaders startblock")?),
    };
    let amount = q
        .field("GetBlockHeaders limit")?
        .uint("GetBlockHeaders limit")?;
    let skip = q
        .field("GetBlockHeaders skip")?
        .uint("GetBlockHeaders skip")?;
    let reverse = q
        .field("GetBlockHeaders reverse")?
        .boolean("GetBlockHeaders reverse")?;
    q.end("extra GetBlockHeaders query fields")?;
    Ok(GetBlockHeaders {
        request_id,
        origin,
        amount,
        skip,
        reverse,
    })
}

fn new_block_hashes(item: Item<'_>) -> Result<Vec<BlockHashNumber>, EthError> {
    let (items, count) = bounded_list(item, "NewBlockHashes", BLOCK_ANNOUNCEMENTS_COUNT_MAX)?;
    let mut out = Vec::with_capacity(count);
    for entry in items {
        let mut f = entry?.list("NewBlockHashes entry")?;
        let hash = f
            .field("NewBlockHashes hash")?
            .hash("NewBlockHashes hash")?;
        let number = f
            .field("NewBlockHashes number")?
            .uint("NewBlockHashes number")?;
        f.end("extra NewBlockHashes entry fields")?;
        out.push(BlockHashNumber { hash, number });
    }
    Ok(out)
}

fn new_block(item: Item<'_>) -> Result<NewBlock, EthError> {
    let mut f = item.list("NewBlock is not a list")?;
    let block = f.field("NewBlock block")?;
    let td = f.field("NewBlock td")?.uint256("NewBlock td")?;
    f.end("extra NewBlock fields")?;
    let mut b = block.list("NewBlock block")?;
    b.field("block header")?
        .list("block header is not a list")?;
    // The rest of a block is a body: transactions, ommers and, from Shanghai, withdrawals.
    let body_items = b.count_items()?;
    if !(2..=3).contains(&body_items) {
        return Err(EthError::malformed("NewBlock block field count"));
    }
    for field in b {
        field?.list("NewBlock block field is not a list")?;
    }
    Ok(NewBlock {
        block: block.raw.to_vec(),
        td,
    })
}

fn new_pooled_transaction_hashes(item: Item<'_>) -> Result<NewPooledTransactionHashes, EthError> {
    let what = "NewPooledTransactionHashes";
    let mut f = item.list("NewPooledTransactionHashes is not a list")?;
    let types = f.field("NewPooledTransactionHashes types")?;
    let sizes = f.field("NewPooledTransactionHashes sizes")?;
    let hash_list = f.field("NewPooledTransactionHashes hashes")?;
    f.end("extra NewPooledTransactionHashes fields")?;
    let types = types.bytes("NewPooledTransactionHashes types")?;
    if types.len() > ANNOUNCEMENTS_COUNT_MAX {
        return Err(EthError::too_large(
            what,
            types.len(),
            ANNOUNCEMENTS_COUNT_MAX,
        ));
    }
    let sizes_items = sizes.list("NewPooledTransactionHashes sizes")?;
    if sizes_items.count_items()? != types.len() {
        return Err(EthError::malformed(
            "NewPooledTransactionHashes lists differ in length",
        ));
    }
    let mut size_values = Vec::with_capacity(types.len());
    for s in sizes_items {
        let size = s?.uint("NewPooledTransactionHashes size")?;
        size_values.push(
            u32::try_from(size)
                .map_err(|_| EthError::malformed("NewPooledTransactionHashes size"))?,
        );
    }
    let hashes = hashes(hash_list, "NewPooledTransactionHashes hashes", types.len())?;
    if hashes.len() != types.len() {
        return Err(EthError::malformed(
            "NewPooledTransactionHashes lists differ in length",
        ));
    }
    Ok(NewPooledTransactionHashes {
        types: types.to_vec(),
        sizes: size_values,
        hashes,
    })
}

/// Decodes the payload (decompressed) of the message with this id, in this version.
pub fn decode(version: EthVersion, id: u64, payload: &[u8]) -> Result<EthMessage, EthError> {
    if message_name(version, id).is_none() {
        // An id some version we speak knows is a version mismatch; anything else is unknown.
        let known = EthVersion::ALL
            .iter()
            .any(|&v| message_name(v, id).is_some());
        return Err(if known {
            EthError::NotInVersion { id, version }
        } else {
            EthError::UnknownMessage(id)
        });
    }
    let item = top(payload)?;
    Ok(match id {
        STATUS_ID => EthMessage::Status(Status::decode(version, item)?),
        NEW_BLOCK_HASHES_ID => EthMessage::NewBlockHashes(new_block_hashes(item)?),
        TRANSACTIONS_ID => {
            EthMessage::Transactions(transactions(item, "Transactions", TRANSACTIONS_COUNT_MAX)?)
        }
        GET_BLOCK_HEADERS_ID => EthMessage::GetBlockHeaders(get_block_headers(item)?),
        BLOCK_HEADERS_ID => EthMessage::BlockHeaders(raw_response(item, "BlockHeaders", |h| {
            Ok(h.list("header is not a list").map(drop)?)
        })?),
        GET_BLOCK_BODIES_ID => EthMessage::GetBlockBodies(hashes_request(item, "GetBlockBodies")?),
        BLOCK_BODIES_ID => EthMessage::BlockBodies(raw_response(item, "BlockBodies", check_body)?),
        NEW_BLOCK_ID => EthMessage::NewBlock(new_block(item)?),
        NEW_POOLED_TRANSACTION_HASHES_ID => {
            EthMessage::NewPooledTransactionHashes(new_pooled_transaction_hashes(item)?)
        }
        GET_POOLED_TRANSACTIONS_ID => {
            EthMessage::GetPooledTransactions(hashes_request(item, "GetPooledTransactions")?)
        }
        POOLED_TRANSACTIONS_ID => EthMessage::PooledTransactions(raw_response(
            item,
            "PooledTransactions",
            check_transaction,
        )?),
        GET_RECEIPTS_ID => EthMessage::GetReceipts(GetReceipts::decode(version, item)?),
        RECEIPTS_ID => EthMessage::Receipts(Receipts::decode(version, item)?),
        BLOCK_RANGE_UPDATE_ID => EthMessage::BlockRangeUpdate(BlockRangeUpdate::decode(item)?),
        _ => return Err(EthError::UnknownMessage(id)),
    })
}

fn encode_hashes(request_id: u64, hashes: &[Hash]) -> Vec<u8> {
    let mut s = RlpStream::new_list(2);
    s.append(&request_id);
    s.begin_list(hashes.len());
    for h in hashes {
        s.append(&h.as_slice());
    }
    s.out().to_vec()
}

fn encode_raw(request_id: u64, items: &RawList) -> Vec<u8> {
    let mut s = RlpStream::new_list(2);
    s.append(&request_id);
    s.append_raw(items.as_rlp(), 1);
    s.out().to_vec()
}

/// Encodes a message for this version: its id and its payload (before snappy). Fails when the
/// message does not exist in the version or its form belongs to another version.
pub fn encode(version: EthVersion, msg: &EthMessage) -> Result<(u64, Vec<u8>), EthError> {
    let id = msg.id();
    if message_name(version, id).is_none() {
        return Err(EthError::NotInVersion { id, version });
    }
    let payload = match msg {
        EthMessage::Status(s) => s.encode(version)?,
        EthMessage::NewBlockHashes(entries) => {
            let mut s = RlpStream::new_list(entries.len());
            for e in entries {
                s.begin_list(2);
                s.append(&e.hash.as_slice());
                s.append(&e.number);
            }
            s.out().to_vec()
        }
        EthMessage::Transactions(txs) => txs.as_rlp().to_vec(),
        EthMessage::GetBlockHeaders(q) => {
            let mut s = RlpStream::new_list(2);
            s.append(&q.request_id);
            s.begin_list(4);
            match &q.origin {
                BlockOrigin::Hash(h) => s.append(&h.as_slice()),
                BlockOrigin::Number(n) => s.append(n),
            };
            s.append(&q.amount);
            s.append(&q.skip);
            s.append(&q.reverse);
            s.out().to_vec()
        }
        EthMessage::BlockHeaders(r)
        | EthMessage::BlockBodies(r)
        | EthMessage::PooledTransactions(r) => encode_raw(r.request_id, &r.items),
        EthMessage::GetBlockBodies(r) | EthMessage::GetPooledTransactions(r) => {
            encode_hashes(r.request_id, &r.hashes)
        }
        EthMessage::NewBlock(b) => {
            let mut s = RlpStream::new_list(2);
            s.append_raw(&b.block, 1);
            s.append(&trim_uint256(&b.td));
            s.out().to_vec()
        }
        EthMessage::NewPooledTransactionHashes(a) => {
            if a.sizes.len() != a.types.len() || a.hashes.len() != a.types.len() {
                return Err(EthError::malformed(
                    "NewPooledTransactionHashes lists differ in length",
                ));
            }
            let mut s = RlpStream::new_list(3);
            s.append(&a.types.as_slice());
            s.begin_list(a.sizes.len());
            for size in &a.sizes {
                s.append(size);
            }
            s.begin_list(a.hashes.len());
            for h in &a.hashes {
                s.append(&h.as_slice());
            }
            s.out().to_vec()
        }
        EthMessage::GetReceipts(r) => r.encode(version)?,
        EthMessage::Receipts(r) => r.encode(version)?,
        EthMessage::BlockRangeUpdate(u) => u.encode(),
    };
    Ok((id, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rlp::RlpDecodeError;

    #[test]
    fn ids_outside_the_version_are_refused() {
        assert_eq!(
            decode(EthVersion::Eth68, BLOCK_RANGE_UPDATE_ID, &[0xc0]),
            Err(EthError::NotInVersion {
                id: BLOCK_RANGE_UPDATE_ID,
                version: EthVersion::Eth68
            })
        );
        for id in [0x0b, 0x0d, 0x0e, 0x12, 0x1000] {
            assert_eq!(
                decode(EthVersion::Eth70, id, &[0xc0]),
                Err(EthError::UnknownMessage(id))
            );
        }
        let update = EthMessage::BlockRangeUpdate(BlockRangeUpdate {
            earliest: 0,
            latest: 1,
            latest_hash: [1; 32],
        });
        assert!(encode(EthVersion::Eth68, &update).is_err());
        let (id, payload) = encode(EthVersion::Eth69, &update).unwrap();
        assert_eq!(decode(EthVersion::Eth69, id, &payload), Ok(update));
    }

    #[test]
    fn serve_count_is_capped() {
        let mut q = GetBlockHeaders {
            request_id: 1,
            origin: BlockOrigin::Number(0),
            amount: u64::MAX,
            skip: 0,
            reverse: false,
        };
        assert_eq!(q.serve_count(), SERVE_COUNT_MAX);
        q.amount = 10;
        assert_eq!(q.serve_count(), 10);
    }

    #[test]
    fn announcement_lists_must_agree() {
        let mut a = NewPooledTransactionHashes {
            types: vec![2, 3],
            sizes: vec![100, 200],
            hashes: vec![[1; 32], [2; 32]],
        };
        let msg = EthMessage::NewPooledTransactionHashes(a.clone());
        let (id, payload) = encode(EthVersion::Eth68, &msg).unwrap();
        assert_eq!(decode(EthVersion::Eth68, id, &payload), Ok(msg));
        a.hashes.pop();
        let mut s = RlpStream::new_list(3);
        s.append(&a.types.as_slice());
        s.append_list(&a.sizes);
        s.begin_list(1).append(&[1u8; 32].as_slice());
        assert!(matches!(
            decode(
                EthVersion::Eth68,
                NEW_POOLED_TRANSACTION_HASHES_ID,
                &s.out()
            ),
            Err(EthError::Rlp(RlpDecodeError::Malformed(_)))
        ));
        assert!(
            encode(
                EthVersion::Eth68,
                &EthMessage::NewPooledTransactionHashes(a)
            )
            .is_err()
        );
    }

    #[test]
    fn origin_of_odd_length_is_refused() {
        let mut s = RlpStream::new_list(2);
        s.append(&1u64);
        s.begin_list(4);
        s.append(&[7u8; 20].as_slice())
            .append(&1u64)
            .append(&0u64)
            .append(&false);
        assert!(decode(EthVersion::Eth68, GET_BLOCK_HEADERS_ID, &s.out()).is_err());
    }

    #[test]
    fn typed_transaction_needs_a_type_byte() {
        let mut s = RlpStream::new_list(1);
        s.append(&[0x80u8, 1, 2].as_slice());
        assert!(decode(EthVersion::Eth68, TRANSACTIONS_ID, &s.out()).is_err());
        let mut s = RlpStream::new_list(1);
        s.append(&[0x02u8, 0xc0].as_slice());
        assert!(decode(EthVersion::Eth68, TRANSACTIONS_ID, &s.out()).is_ok());
    }
}
