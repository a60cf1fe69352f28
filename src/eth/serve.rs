//! Serving chain data to eth peers: the replies to GetBlockHeaders, GetBlockBodies and
//! GetReceipts (devp2p caps/eth.md "GetBlockHeaders (0x03)", "GetBlockBodies (0x05)",
//! "GetReceipts (0x0f)" at the eth/68, eth/69 and eth/70 revisions; EIP-7642 receipts without
//! bloom; EIP-7975 partial receipt lists), built over any [`ChainReader`]. Sans-IO: the chain
//! store implements the reader on its own thread, tests use chains in memory.
//!
//! Every reply is a prefix of what was asked: the first unknown block ends it, because a reply
//! that skipped one would no longer line up with the request and the requester could not tell
//! which item is which. Three bounds stop a reply early, as caps/eth.md allows ("the recipient
//! may return fewer"):
//! - [`SERVE_COUNT_MAX`] items;
//! - [`RESPONSE_SIZE_SOFT`] bytes of items: the item that crosses it is still sent, so one large
//!   body or receipt list can always be served;
//! - [`MESSAGE_SIZE_MAX`] bytes of encoded reply: an item that would push the reply over it is
//!   never sent, since the peer would drop the whole message (for eth/68 and eth/69 the fixture
//!   chain's 10.6 MB receipt list of block 11 is therefore never served; eth/70 pages it).
//!
//! GetBlockHeaders by hash: the origin header is served whether or not it is canonical. When it
//! is canonical the walk continues along canonical numbers, as for a query by number. When it is
//! not, the reply is that one header: our store keeps only the canonical chain, so a side-chain
//! header can only come from another reader, and a peer walking a side chain can ask again by
//! the parent hash the header carries (go-ethereum walks side-chain parents in reverse queries;
//! we leave that out rather than add a second traversal for a case our store never has).
//!
//! Receipts are stored in the consensus form. eth/68 sends them as stored; eth/69 and eth/70 send
//! the network form ([`ReceiptForm::Network`]). eth/70 (EIP-7975) also pages inside a block: the
//! first block's receipts before `firstBlockReceiptIndex` are left out, and when the soft limit
//! is crossed inside a block (or its next receipt would break the hard limit) the reply ends
//! with that block's receipts so far and `lastBlockIncomplete = true`. Asking again from that
//! block with the count received as the index continues where the reply stopped.

use std::fmt;
use std::future::Future;

use rlp::Rlp;

use super::wire::message::{BlockOrigin, GetBlockHeaders, HashesRequest, RawResponse};
use super::wire::receipts::{GetReceipts, Receipt, ReceiptForm, Receipts};
use super::{
    EthError, EthMessage, EthVersion, HeaderInfo, MESSAGE_SIZE_MAX, RawList, SERVE_COUNT_MAX,
};
pub use crate::chain::reader::{ChainReader, ChainReaderHandle, CorruptItem};
use crate::rlp::cursor::Item;
use crate::rlp::strict;

/// Soft cap on the bytes of the items of one reply: 2 MiB, go-ethereum's `softResponseLimit`
/// for eth replies. The item that crosses it is still included, so one large body or receipt
/// list is always servable (within [`MESSAGE_SIZE_MAX`]).
pub const RESPONSE_SIZE_SOFT: usize = 2 * 1024 * 1024;

/// The reply to a GetBlockHeaders, GetBlockBodies or GetReceipts in `version`'s form, or `None`
/// for any other message. Never fails on unknown items (they end the answer); `Err` only on a
/// storage error or a stored item that does not decode.
pub fn answer<R: ChainReader + ?Sized>(
    chain: &R,
    version: EthVersion,
    request: &EthMessage,
) -> Result<Option<EthMessage>, R::Error> {
    Ok(Some(match request {
        EthMessage::GetBlockHeaders(q) => EthMessage::BlockHeaders(block_headers(chain, q)?),
        EthMessage::GetBlockBodies(q) => EthMessage::BlockBodies(block_bodies(chain, q)?),
        EthMessage::GetReceipts(q) => EthMessage::Receipts(receipts(chain, version, q)?),
        _ => return Ok(None),
    }))
}

/// Whether [`answer`] answers this message, without reading anything.
pub fn is_served(request: &EthMessage) -> bool {
    matches!(
        request,
        EthMessage::GetBlockHeaders(_) | EthMessage::GetBlockBodies(_) | EthMessage::GetReceipts(_)
    )
}

/// Answering peers from a chain kept on another thread (the storage thread's handle): the reply
/// is built by [`answer`] on that thread, next to the data, and only the finished message comes
/// back.
pub trait ServeChain {
    /// A storage failure, or the thread having stopped.
    type Error;
    /// The reply to a GetBlockHeaders, GetBlockBodies or GetReceipts in `version`'s form, or
    /// `None` for any other message.
    fn serve(
        &self,
        version: EthVersion,
        request: EthMessage,
    ) -> impl Future<Output = Result<Option<EthMessage>, Self::Error>>;
}

impl<H> ServeChain for H
where
    H: ChainReaderHandle,
    H::Error: fmt::Display + From<CorruptItem> + Send + 'static,
{
    type Error = H::Error;

    fn serve(
        &self,
        version: EthVersion,
        request: EthMessage,
    ) -> impl Future<Output = Result<Option<EthMessage>, H::Error>> {
        self.read(move |chain| answer(chain, version, &request))
    }
}

fn corrupt<E>(what: &'static str) -> impl Fn(E) -> CorruptItem {
    move |_| CorruptItem { what }
}

/// The length of an RLP string or list header for a payload of `len` bytes (a list header here;
/// a string of more than one byte has the same header length).
fn header_len(len: usize) -> usize {
    if len < 56 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// The encoded length of a list whose items take `payload` bytes.
fn list_len(payload: usize) -> usize {
    header_len(payload).saturating_add(payload)
}

/// The encoded length of an RLP unsigned integer.
fn uint_len(value: u64) -> usize {
    if value < 0x80 {
        1
    } else {
        1 + (u64::BITS - value.leading_zeros()).div_ceil(8) as usize
    }
}

/// The items of a reply being built and the exact size of the encoded reply they make:
/// `[request-id, (flag,) [item, ...]]`.
struct Reply {
    /// Encoded bytes before the item list: the request id, and eth/70's flag in Receipts.
    prefix: usize,
    items: Vec<Vec<u8>>,
    /// Encoded bytes of the items.
    bytes: usize,
}

impl Reply {
    fn new(request_id: u64, has_flag: bool) -> Self {
        Reply {
            prefix: uint_len(request_id) + usize::from(has_flag),
            items: Vec::new(),
            bytes: 0,
        }
    }

    /// Whether an item of `len` encoded bytes keeps the reply within [`MESSAGE_SIZE_MAX`].
    fn fits(&self, len: usize) -> bool {
        let items = list_len(self.bytes.saturating_add(len));
        list_len(self.prefix.saturating_add(items)) <= MESSAGE_SIZE_MAX
    }

    /// Whether the reply takes no more items: the count or the soft size is reached.
    fn full(&self) -> bool {
        self.items.len() >= SERVE_COUNT_MAX || self.bytes >= RESPONSE_SIZE_SOFT
    }

    /// Adds `item` if it fits under the hard limit; false (and nothing added) if not.
    fn push(&mut self, item: Vec<u8>) -> bool {
        if !self.fits(item.len()) {
            return false;
        }
        self.bytes += item.len();
        self.items.push(item);
        true
    }

    /// The items as a list, each checked to be one canonical RLP item.
    fn list(self, what: &'static str) -> Result<RawList, CorruptItem> {
        RawList::from_items(self.items).map_err(corrupt(what))
    }
}

/// The next block number of a header query, or `None` past either end of the number range.
fn step(number: u64, skip: u64, reverse: bool) -> Option<u64> {
    let step = skip.checked_add(1)?;
    if reverse {
        number.checked_sub(step)
    } else {
        number.checked_add(step)
    }
}

fn block_headers<R: ChainReader + ?Sized>(
    chain: &R,
    q: &GetBlockHeaders,
) -> Result<RawResponse, R::Error> {
    let count = q.serve_count();
    let mut reply = Reply::new(q.request_id, false);
    let mut next = match q.origin {
        BlockOrigin::Number(number) => Some(number),
        BlockOrigin::Hash(_) if count == 0 => None,
        BlockOrigin::Hash(hash) => match chain.header_rlp_by_hash(&hash)? {
            None => None,
            Some(header) => {
                let number = HeaderInfo::parse(&header)
                    .map_err(corrupt("header"))?
                    .number;
                let canonical = chain.canonical_hash(number)? == Some(hash);
                // Past the origin only canonical headers are served: see the module docs.
                if reply.push(header) && canonical {
                    step(number, q.skip, q.reverse)
                } else {
                    None
                }
            }
        },
    };
    while let Some(number) = next {
        if reply.items.len() >= count || reply.full() {
            break;
        }
        let Some(header) = chain.header_rlp_by_number(number)? else {
            break;
        };
        if !reply.push(header) {
            break;
        }
        next = step(number, q.skip, q.reverse);
    }
    Ok(RawResponse {
        request_id: q.request_id,
        items: reply.list("header")?,
    })
}

fn block_bodies<R: ChainReader + ?Sized>(
    chain: &R,
    q: &HashesRequest,
) -> Result<RawResponse, R::Error> {
    let mut reply = Reply::new(q.request_id, false);
    for hash in &q.hashes {
        if reply.full() {
            break;
        }
        let Some(body) = chain.body_rlp(hash)? else {
            break;
        };
        if !reply.push(body) {
            break;
        }
    }
    Ok(RawResponse {
        request_id: q.request_id,
        items: reply.list("body")?,
    })
}

/// One stored consensus receipts list, checked to be canonical RLP as a whole, and its count of
/// receipts. The list may be larger than a message, so it is not read through `eth::top`, whose
/// message-size check would refuse it.
fn stored_receipts(list: &[u8]) -> Result<(Rlp<'_>, usize), EthError> {
    strict::validate(list)?;
    let rlp = Rlp::new(list);
    let count = rlp
        .item_count()
        .map_err(|_| EthError::malformed("block receipts is not a list"))?;
    Ok((rlp, count))
}

/// One consensus receipt from a list [`stored_receipts`] checked, in the network form (eth/69
/// and later).
fn to_network(consensus: &Rlp<'_>) -> Result<Vec<u8>, EthError> {
    let raw = consensus.as_raw();
    let info = consensus
        .payload_info()
        .map_err(|_| EthError::malformed("receipt"))?;
    let item = Item {
        raw,
        is_list: consensus.is_list(),
        payload: raw
            .get(info.header_len..)
            .ok_or(EthError::malformed("receipt"))?,
    };
    Ok(Receipt::decode_consensus(item)?.0.to_network())
}

fn receipts<R: ChainReader + ?Sized>(
    chain: &R,
    version: EthVersion,
    q: &GetReceipts,
) -> Result<Receipts, R::Error> {
    let form = ReceiptForm::of(version);
    let partial = version.has_partial_receipts();
    let mut reply = Reply::new(q.request_id, partial);
    let mut incomplete = false;
    for (i, hash) in q.hashes.iter().enumerate() {
        if reply.full() {
            break;
        }
        let Some(stored) = chain.receipts_rlp(hash)? else {
            break;
        };
        if !partial {
            let list = match form {
                ReceiptForm::Consensus => stored,
                ReceiptForm::Network => {
                    let (rlp, _) = stored_receipts(&stored).map_err(corrupt("receipts"))?;
                    let items = rlp.iter().map(|r| to_network(&r));
                    let items = items
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(corrupt("receipts"))?;
                    RawList::from_items(items)
                        .map_err(corrupt("receipts"))?
                        .as_rlp()
                        .to_vec()
                }
            };
            if !reply.push(list) {
                break;
            }
            continue;
        }
        // eth/70: the first block starts at the index asked for. An index at or past the end
        // of the list leaves nothing of that block to send: its list is empty.
        let first = if i == 0 {
            usize::try_from(q.first_block_receipt_index).unwrap_or(usize::MAX)
        } else {
            0
        };
        let (rlp, count) = stored_receipts(&stored).map_err(corrupt("receipts"))?;
        let left = count.saturating_sub(first);
        let (mut taken, mut bytes) = (Vec::new(), 0usize);
        for r in rlp.iter().skip(first) {
            let r = to_network(&r).map_err(corrupt("receipts"))?;
            if !reply.fits(list_len(bytes.saturating_add(r.len()))) {
                break;
            }
            bytes += r.len();
            taken.push(r);
            if reply.bytes.saturating_add(list_len(bytes)) >= RESPONSE_SIZE_SOFT {
                break;
            }
        }
        if (taken.is_empty() && left > 0) || !reply.fits(list_len(bytes)) {
            // Not even one receipt fits: the reply ends before this block, which stays
            // unrequested rather than being announced as an incomplete empty list.
            break;
        }
        incomplete = taken.len() < left;
        let list = RawList::from_items(taken).map_err(corrupt("receipts"))?;
        reply.bytes += list.as_rlp().len();
        reply.items.push(list.as_rlp().to_vec());
        if incomplete {
            break;
        }
    }
    let blocks = reply.list("receipts")?;
    Ok(Receipts {
        request_id: q.request_id,
        last_block_incomplete: incomplete,
        form,
        blocks,
    })
}

#[cfg(test)]
mod tests;
