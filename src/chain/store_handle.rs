//! [`ChainStoreHandle`]: a dedicated storage thread that owns the [`ChainStore`] and answers the
//! event loop over a bounded channel, so disk reads, block writes and fjall's write stalls never
//! run on the event loop (the same arrangement as the node database's handle).
//!
//! The handle is a [`ChainReaderHandle`]: [`ChainStoreHandle::read`] runs a closure over the
//! store as a [`ChainReader`] on the storage thread. eth answers peers' GetBlockHeaders,
//! GetBlockBodies and GetReceipts that way, so the lookups, receipt conversion and encoding of
//! a reply all run here while the store knows nothing of eth. Writes (block batches) are
//! answered once the batch is in the journal and handed to the OS.

use std::cell::RefCell;
use std::future::Future;
use std::path::Path;
use std::thread::JoinHandle;

use async_channel::{Receiver, Sender};

use super::block::{Head, StoredBlock};
use super::header::U256;
use super::reader::{
    self, ChainReader, ChainReaderHandle, CorruptItem, READ_COUNT_MAX, READ_SIZE_SOFT,
};
use super::store::{ChainStore, StoreError};
use crate::log;

/// A 32-byte block hash.
type Hash = [u8; 32];

/// Commands the queue holds before senders wait: 64. Reads are small and answered in
/// microseconds; a block batch may take longer, and senders then wait rather than queue
/// unbounded work.
pub const QUEUE_LEN: usize = 64;

type Reply<T> = Sender<Result<T, StoreError>>;

/// A read to run over the store on the storage thread; it sends its own reply.
type Read = Box<dyn FnOnce(&dyn ChainReader<Error = StoreError>) + Send>;

/// What the storage thread is asked to do.
enum Command {
    Head(Reply<Option<Head>>),
    HeaderByHash([u8; 32], Reply<Option<Vec<u8>>>),
    HeaderByNumber(u64, Reply<Option<Vec<u8>>>),
    CanonicalHash(u64, Reply<Option<[u8; 32]>>),
    Td([u8; 32], Reply<Option<U256>>),
    Read(Read),
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

    /// Runs `read` over the store (with its receipts cache) on the storage thread and returns
    /// its result; see [`ChainReaderHandle`].
    pub fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>> + '_
    where
        T: Send + 'static,
        F: FnOnce(&dyn ChainReader<Error = StoreError>) -> Result<T, StoreError> + Send + 'static,
    {
        self.request(move |reply: Reply<T>| {
            Command::Read(Box::new(move |chain| {
                let _ = reply.try_send(read(chain));
            }))
        })
    }

    /// Canonical header RLPs from `first`, every `skip + 1`-th block, going down when `reverse`
    /// ([`reader::canonical_headers`]: the bounds a peer's query by number gets, without the
    /// message limit).
    pub async fn headers(
        &self,
        first: u64,
        count: usize,
        skip: u64,
        reverse: bool,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(move |chain| reader::canonical_headers(chain, first, count, skip, reverse))
            .await
    }

    /// Bodies of the given blocks in order ([`reader::bodies`]: the bounds a peer's
    /// GetBlockBodies gets, without the message limit).
    pub async fn bodies(&self, hashes: Vec<[u8; 32]>) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(move |chain| reader::bodies(chain, &hashes)).await
    }

    /// The stored consensus receipts lists of the given blocks, for local readers: stopping at
    /// the first unknown block, after [`READ_COUNT_MAX`] lists or past [`READ_SIZE_SOFT`]
    /// bytes, but without the message limit a peer's reply has (eth answers peers through
    /// [`ChainStoreHandle::read`]).
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

impl ChainReaderHandle for ChainStoreHandle {
    type Error = StoreError;

    fn read<T, F>(&self, read: F) -> impl Future<Output = Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&dyn ChainReader<Error = StoreError>) -> Result<T, StoreError> + Send + 'static,
    {
        ChainStoreHandle::read(self, read)
    }
}

impl Drop for ChainStoreHandle {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            log::error("Chain store close failed", &[("err", &e)]);
        }
    }
}

/// A stored receipts list at least this large is kept after it is read: an eth/70 peer pages
/// such a block (fixture block 11: 10.6 MB in ~2 MiB pages), and without the copy every page
/// would read and decompress the whole list again.
pub const RECEIPTS_CACHE_SIZE_MIN: usize = 1024 * 1024;

/// The kept list is dropped after this many commands without a read of it: a paging peer
/// pipelines headers and bodies between its pages, so "the next command" would be too soon,
/// while an idle node should not hold up to 16 MiB for nothing.
pub const RECEIPTS_CACHE_IDLE_MAX: u32 = 64;

/// The chain store as the storage thread serves it: one large receipts list remembered while
/// it is being read (at most one list, ≤ 16 MiB, dropped after [`RECEIPTS_CACHE_IDLE_MAX`]
/// commands that did not read it).
struct ServingStore<'a> {
    store: &'a ChainStore,
    receipts: RefCell<Option<(Hash, Vec<u8>)>>,
    /// Commands since the kept list was last read.
    idle: std::cell::Cell<u32>,
}

impl ChainReader for ServingStore<'_> {
    type Error = StoreError;

    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.header_rlp(hash)
    }

    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.header_rlp_by_number(number)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, StoreError> {
        self.store.canonical_hash(number)
    }

    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.body_rlp(hash)
    }

    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some((h, list)) = self.receipts.borrow().as_ref()
            && h == hash
        {
            self.idle.set(0);
            return Ok(Some(list.clone()));
        }
        let list = self.store.receipts_rlp(hash)?;
        if let Some(l) = &list
            && l.len() >= RECEIPTS_CACHE_SIZE_MIN
        {
            *self.receipts.borrow_mut() = Some((*hash, l.clone()));
            self.idle.set(0);
        }
        Ok(list)
    }
}

/// The storage thread: answers commands until closed or every handle is gone.
fn run(store: ChainStore, rx: Receiver<Command>) {
    let serving = ServingStore {
        store: &store,
        receipts: RefCell::new(None),
        idle: std::cell::Cell::new(0),
    };
    let mut closer = None;
    while let Ok(command) = rx.recv_blocking() {
        let s = &store;
        let idle = serving.idle.get().saturating_add(1);
        serving.idle.set(idle);
        if idle > RECEIPTS_CACHE_IDLE_MAX {
            serving.receipts.borrow_mut().take();
        }
        match command {
            Command::Head(r) => answer(&r, s.head()),
            Command::HeaderByHash(h, r) => answer(&r, s.header_rlp(&h)),
            Command::HeaderByNumber(n, r) => answer(&r, s.header_rlp_by_number(n)),
            Command::CanonicalHash(n, r) => answer(&r, s.canonical_hash(n)),
            Command::Td(h, r) => answer(&r, s.td(&h)),
            Command::Read(read) => read(&serving),
            Command::Receipts(hashes, r) => answer(&r, stored_receipts(s, &hashes)),
            Command::Insert(blocks, r) => answer(&r, s.insert_blocks(&blocks)),
            Command::Sync(r) => answer(&r, s.sync()),
            Command::Close(r) => {
                closer = Some(r);
                break;
            }
        }
    }
    drop(serving);
    let closed = store.close();
    match closer {
        Some(r) => answer(&r, closed),
        None => {
            if let Err(e) = closed {
                log::error("Chain store close failed", &[("err", &e)]);
            }
        }
    }
}

fn answer<T>(reply: &Reply<T>, result: Result<T, StoreError>) {
    // The asker may have given up (its task was cancelled); nothing to do then.
    let _ = reply.try_send(result);
}

fn stored_receipts(store: &ChainStore, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, StoreError> {
    let (mut out, mut bytes) = (Vec::new(), 0usize);
    for hash in hashes.iter().take(READ_COUNT_MAX) {
        if bytes >= READ_SIZE_SOFT {
            break;
        }
        let Some(list) = store.receipts_rlp(hash)? else {
            break;
        };
        bytes += list.len();
        out.push(list);
    }
    Ok(out)
}

impl From<CorruptItem> for StoreError {
    fn from(e: CorruptItem) -> Self {
        StoreError::Corrupt(e.what)
    }
}

/// The store is what peers are served from; every lookup is a point read (see
/// [`ChainStore`]'s layout).
impl ChainReader for ChainStore {
    type Error = StoreError;

    fn header_rlp_by_hash(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.header_rlp(hash)
    }

    fn header_rlp_by_number(&self, number: u64) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::header_rlp_by_number(self, number)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash>, StoreError> {
        ChainStore::canonical_hash(self, number)
    }

    fn body_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::body_rlp(self, hash)
    }

    fn receipts_rlp(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        ChainStore::receipts_rlp(self, hash)
    }
}
