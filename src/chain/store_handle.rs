//! [`ChainStoreHandle`]: a dedicated storage thread that owns the [`ChainStore`] and answers the
//! event loop over a bounded channel, so disk reads, block writes and fjall's write stalls never
//! run on the event loop (the same arrangement as the node database's handle).
//!
//! Reads answer what the eth protocol serves (devp2p caps/eth.md `GetBlockHeaders`,
//! `GetBlockBodies`, `GetReceipts`): raw RLP straight from the store, capped at
//! [`SERVE_COUNT_MAX`] items and, past the first item, at [`RESPONSE_SIZE_SOFT`] bytes. Writes
//! (block batches) are answered once the batch is in the journal and handed to the OS.

use std::path::Path;
use std::thread::JoinHandle;

use async_channel::{Receiver, Sender};

use super::header::U256;
use super::store::{ChainStore, Head, StoreError, StoredBlock};
use crate::eth::SERVE_COUNT_MAX;
use crate::log;

/// Commands the queue holds before senders wait: 64. Reads are small and answered in
/// microseconds; a block batch may take longer, and senders then wait rather than queue
/// unbounded work.
pub const QUEUE_LEN: usize = 64;

/// Soft cap on the bytes of one answer: 2 MiB, go-ethereum's `softResponseLimit` for eth
/// replies. The item that crosses it is still included, so one huge body is always servable.
pub const RESPONSE_SIZE_SOFT: usize = 2 * 1024 * 1024;

type Reply<T> = Sender<Result<T, StoreError>>;

/// What the storage thread is asked to do.
enum Command {
    Head(Reply<Option<Head>>),
    HeaderByHash([u8; 32], Reply<Option<Vec<u8>>>),
    HeaderByNumber(u64, Reply<Option<Vec<u8>>>),
    Headers {
        first: u64,
        count: usize,
        skip: u64,
        reverse: bool,
        reply: Reply<Vec<Vec<u8>>>,
    },
    CanonicalHash(u64, Reply<Option<[u8; 32]>>),
    Td([u8; 32], Reply<Option<U256>>),
    Bodies(Vec<[u8; 32]>, Reply<Vec<Vec<u8>>>),
    Receipts(Vec<[u8; 32]>, Reply<Vec<Vec<u8>>>),
    Insert(Vec<StoredBlock>, Reply<Head>),
    Sync(Reply<()>),
    Close(Reply<()>),
}

/// The event loop's side of the storage thread. Dropping it closes the store and joins the
/// thread, as [`ChainStoreHandle::close`] does.
pub struct ChainStoreHandle {
    tx: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ChainStoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStoreHandle").finish()
    }
}

impl ChainStoreHandle {
    /// Opens the store at `<datadir>/chain` on a new storage thread and waits until it is open.
    pub fn open(datadir: &Path) -> Result<ChainStoreHandle, StoreError> {
        let store = ChainStore::open(datadir)?;
        Self::spawn(store)
    }

    /// Moves an open store onto a new storage thread.
    pub fn spawn(store: ChainStore) -> Result<ChainStoreHandle, StoreError> {
        let (tx, rx) = async_channel::bounded(QUEUE_LEN);
        let thread = std::thread::Builder::new()
            .name("chainstore".into())
            .spawn(move || run(store, rx))
            .map_err(|e| StoreError::Io("chainstore thread".into(), e))?;
        Ok(ChainStoreHandle {
            tx,
            thread: Some(thread),
        })
    }

    async fn request<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let (reply, answer) = async_channel::bounded(1);
        self.tx
            .send(command(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.recv().await.map_err(|_| StoreError::Closed)?
    }

    /// The canonical head (`None` before a genesis is stored).
    pub async fn head(&self) -> Result<Option<Head>, StoreError> {
        self.request(Command::Head).await
    }

    /// The header RLP of block `hash`.
    pub async fn header_by_hash(&self, hash: [u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.request(|r| Command::HeaderByHash(hash, r)).await
    }

    /// The header RLP of canonical block `number`.
    pub async fn header_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.request(|r| Command::HeaderByNumber(number, r)).await
    }

    /// The hash of canonical block `number`.
    pub async fn canonical_hash(&self, number: u64) -> Result<Option<[u8; 32]>, StoreError> {
        self.request(|r| Command::CanonicalHash(number, r)).await
    }

    /// Total difficulty at block `hash`.
    pub async fn td(&self, hash: [u8; 32]) -> Result<Option<U256>, StoreError> {
        self.request(|r| Command::Td(hash, r)).await
    }

    /// Canonical header RLPs from `first`, every `skip + 1`-th block, going down when `reverse`,
    /// stopping at the first missing block, after `count` (capped at [`SERVE_COUNT_MAX`]) or past
    /// [`RESPONSE_SIZE_SOFT`] bytes: the answer to `GetBlockHeaders` by number.
    pub async fn headers(
        &self,
        first: u64,
        count: usize,
        skip: u64,
        reverse: bool,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.request(|reply| Command::Headers {
            first,
            count,
            skip,
            reverse,
            reply,
        })
        .await
    }

    /// Bodies of the given blocks in order, stopping at the first unknown one or past the soft
    /// size cap: the answer to `GetBlockBodies`.
    pub async fn bodies(&self, hashes: Vec<[u8; 32]>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.request(|r| Command::Bodies(hashes, r)).await
    }

    /// Consensus receipts lists of the given blocks, as [`ChainStoreHandle::bodies`].
    pub async fn receipts(&self, hashes: Vec<[u8; 32]>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.request(|r| Command::Receipts(hashes, r)).await
    }

    /// Appends verified blocks on the head in one atomic batch; see
    /// [`ChainStore::insert_blocks`].
    pub async fn insert_blocks(&self, blocks: Vec<StoredBlock>) -> Result<Head, StoreError> {
        self.request(|r| Command::Insert(blocks, r)).await
    }

    /// Syncs every write so far to disk.
    pub async fn sync(&self) -> Result<(), StoreError> {
        self.request(Command::Sync).await
    }

    /// Closes the store (syncing it) and joins the thread. Blocks: for shutdown.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), StoreError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let (reply, answer) = async_channel::bounded(1);
        let result = match self.tx.send_blocking(Command::Close(reply)) {
            Ok(()) => answer.recv_blocking().unwrap_or(Err(StoreError::Closed)),
            Err(_) => Err(StoreError::Closed),
        };
        if thread.join().is_err() {
            return Err(StoreError::Closed);
        }
        result
    }
}

impl Drop for ChainStoreHandle {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            log::error("Chain store close failed", &[("err", &e)]);
        }
    }
}

/// The storage thread: answers commands until closed or every handle is gone.
fn run(store: ChainStore, rx: Receiver<Command>) {
    while let Ok(command) = rx.recv_blocking() {
        let s = &store;
        match command {
            Command::Head(r) => answer(&r, s.head()),
            Command::HeaderByHash(h, r) => answer(&r, s.header_rlp(&h)),
            Command::HeaderByNumber(n, r) => answer(&r, s.header_rlp_by_number(n)),
            Command::CanonicalHash(n, r) => answer(&r, s.canonical_hash(n)),
            Command::Td(h, r) => answer(&r, s.td(&h)),
            Command::Headers {
                first,
                count,
                skip,
                reverse,
                reply,
            } => answer(&reply, headers(s, first, count, skip, reverse)),
            Command::Bodies(hashes, r) => answer(&r, by_hashes(&hashes, |h| s.body_rlp(h))),
            Command::Receipts(hashes, r) => answer(&r, by_hashes(&hashes, |h| s.receipts_rlp(h))),
            Command::Insert(blocks, r) => answer(&r, s.insert_blocks(&blocks)),
            Command::Sync(r) => answer(&r, s.sync()),
            Command::Close(r) => {
                answer(&r, store.close());
                return;
            }
        }
    }
    if let Err(e) = store.close() {
        log::error("Chain store close failed", &[("err", &e)]);
    }
}

fn answer<T>(reply: &Reply<T>, result: Result<T, StoreError>) {
    // The asker may have given up (its task was cancelled); nothing to do then.
    let _ = reply.try_send(result);
}

/// Collects items while the count and the soft size cap allow.
struct Collector {
    items: Vec<Vec<u8>>,
    bytes: usize,
    count_max: usize,
}

impl Collector {
    fn new(count: usize) -> Self {
        Collector {
            items: Vec::new(),
            bytes: 0,
            count_max: count.min(SERVE_COUNT_MAX),
        }
    }

    fn full(&self) -> bool {
        self.items.len() >= self.count_max || self.bytes >= RESPONSE_SIZE_SOFT
    }

    fn push(&mut self, item: Vec<u8>) {
        self.bytes += item.len();
        self.items.push(item);
    }
}

fn headers(
    store: &ChainStore,
    first: u64,
    count: usize,
    skip: u64,
    reverse: bool,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Collector::new(count);
    let step = skip.saturating_add(1);
    let mut number = Some(first);
    while let Some(n) = number {
        if out.full() {
            break;
        }
        let Some(header) = store.header_rlp_by_number(n)? else {
            break;
        };
        out.push(header);
        number = if reverse {
            n.checked_sub(step)
        } else {
            n.checked_add(step)
        };
    }
    Ok(out.items)
}

fn by_hashes(
    hashes: &[[u8; 32]],
    get: impl Fn(&[u8; 32]) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Collector::new(hashes.len());
    for hash in hashes {
        if out.full() {
            break;
        }
        match get(hash)? {
            Some(item) => out.push(item),
            None => break,
        }
    }
    Ok(out.items)
}
