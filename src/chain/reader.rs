//! Read access to the canonical chain, apart from where it is kept: [`ChainReader`] (point reads
//! of headers, bodies and receipts lists by hash or canonical number) is implemented by the
//! chain store and by in-memory chains in tests, and [`ChainReaderHandle`] is what the storage
//! thread exposes: it runs a read over its store on that thread and hands back the result. The
//! eth server (`eth::serve`) builds its replies over a [`ChainReader`] and asks the handle to run
//! them, so the store never learns the eth protocol; local readers (the import and export
//! commands, tests) use [`canonical_headers`] and [`bodies`] with the same bounds a peer gets.

use std::fmt;
use std::future::Future;

/// A 32-byte block hash.
type Hash = [u8; 32];
use crate::rlp::strict;

/// The most items one local read returns: the figure eth serves a peer with
/// (`eth::SERVE_COUNT_MAX`, go-ethereum's `maxHeadersServe`/`maxBodiesServe`: 1024).
pub const READ_COUNT_MAX: usize = 1024;

/// The soft cap on the bytes of one local read: the item that crosses it is still returned.
/// The figure eth serves a peer with (`eth::RESPONSE_SIZE_SOFT`, go-ethereum's
/// `softResponseLimit`: 2 MiB).
pub const READ_SIZE_SOFT: usize = 2 * 1024 * 1024;

/// A stored item that does not decode as what it should be: the store is corrupt. Readers turn
/// it into their own error type, so a reply (`eth::serve::answer`) reports it rather than sending a broken reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptItem {
    /// What was being read: "header", "body", "receipts".
    pub what: &'static str,
}

impl fmt::Display for CorruptItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stored {} does not decode", self.what)
    }
}

impl std::error::Error for CorruptItem {}

/// Read access to the canonical chain, implemented by the chain store (on its own thread) and by
/// in-memory chains in tests.
pub trait ChainReader {
    /// A storage failure; stored items that do not decode are reported through
    /// `From<CorruptItem>`.
    type Error: fmt::Display + From<CorruptItem>;
    /// The header RLP of block `hash`, canonical or not.
    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The header RLP of canonical block `number`.
    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The hash of canonical block `number`.
    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, Self::Error>;
    /// The body `[txs, ommers, withdrawals?]` RLP of block `hash`.
    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, Self::Error>;
    /// The receipts list of block `hash` in the consensus form (eth/68 form).
    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, Self::Error>;
}

/// A chain kept on another thread: [`ChainReaderHandle::read`] runs `read` over the chain
/// there and resolves to its result. The storage thread's handle implements it, so whoever
/// builds a reply (eth, for peers) runs its own code next to the data without the store knowing
/// what the reply is.
pub trait ChainReaderHandle {
    /// A storage failure, or the thread having stopped.
    type Error;
    /// Runs `read` over the chain on its thread.
    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, Self::Error>>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ChainReader<Error = Self::Error>) -> Result<T, Self::Error> + Send + 'static;
}

/// Canonical header RLPs from `first`, every `skip + 1`-th block, going down when `reverse`: at
/// most `count` and [`READ_COUNT_MAX`] headers, stopping at the first missing block or once
/// [`READ_SIZE_SOFT`] bytes are read (the header that crosses it is kept). Each header is checked
/// to be one canonical RLP item.
pub fn canonical_headers<R: ChainReader + ?Sized>(
    chain: &R,
    first: u64,
    count: usize,
    skip: u64,
    reverse: bool,
) -> Result<Vec<Vec<u8>>, R::Error> {
    let count = count.min(READ_COUNT_MAX);
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let mut next = Some(first);
    while let Some(number) = next {
        if out.len() >= count || bytes >= READ_SIZE_SOFT {
            break;
        }
        let Some(header) = chain.header_rlp_by_number(number)? else {
            break;
        };
        strict::validate(&header).map_err(|_| CorruptItem { what: "header" })?;
        bytes += header.len();
        out.push(header);
        next = skip.checked_add(1).and_then(|step| {
            if reverse {
                number.checked_sub(step)
            } else {
                number.checked_add(step)
            }
        });
    }
    Ok(out)
}

/// The bodies of the given blocks in order: stopping at the first unknown block, after
/// [`READ_COUNT_MAX`] bodies or once [`READ_SIZE_SOFT`] bytes are read (the body that crosses it
/// is kept). Each body is checked to be one canonical RLP item.
pub fn bodies<R: ChainReader + ?Sized>(
    chain: &R,
    hashes: &[Hash],
) -> Result<Vec<Vec<u8>>, R::Error> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    for hash in hashes {
        if out.len() >= READ_COUNT_MAX || bytes >= READ_SIZE_SOFT {
            break;
        }
        let Some(body) = chain.body_rlp(hash)? else {
            break;
        };
        strict::validate(&body).map_err(|_| CorruptItem { what: "body" })?;
        bytes += body.len();
        out.push(body);
    }
    Ok(out)
}
